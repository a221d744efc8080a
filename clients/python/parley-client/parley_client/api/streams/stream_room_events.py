from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.event_type import EventType
from ...models.message_created_event import MessageCreatedEvent
from ...models.message_deleted_event import MessageDeletedEvent
from ...models.message_updated_event import MessageUpdatedEvent
from ...models.note_created_event import NoteCreatedEvent
from ...models.note_deleted_event import NoteDeletedEvent
from ...models.note_updated_event import NoteUpdatedEvent
from ...models.presence_count_event import PresenceCountEvent
from ...models.presence_joined_event import PresenceJoinedEvent
from ...models.presence_left_event import PresenceLeftEvent
from ...models.problem import Problem
from ...models.ready_event import ReadyEvent
from ...models.reset_event import ResetEvent
from ...models.typing_event import TypingEvent
from ...types import UNSET, Response, Unset


def _get_kwargs(
    namespace: str,
    room: str,
    *,
    last_event_id_query: str | Unset = UNSET,
    types: list[EventType] | Unset = UNSET,
    last_event_id_header: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id_header, Unset):
        headers["Last-Event-ID"] = last_event_id_header

    params: dict[str, Any] = {}

    params["last_event_id"] = last_event_id_query

    json_types: list[str] | Unset = UNSET
    if not isinstance(types, Unset):
        json_types = []
        for types_item_data in types:
            types_item = types_item_data.value
            json_types.append(types_item)

    params["types"] = json_types

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/rooms/{namespace}/{room}/events".format(
            namespace=quote(str(namespace), safe=""),
            room=quote(str(room), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> (
    MessageCreatedEvent
    | MessageDeletedEvent
    | MessageUpdatedEvent
    | NoteCreatedEvent
    | NoteDeletedEvent
    | NoteUpdatedEvent
    | PresenceCountEvent
    | PresenceJoinedEvent
    | PresenceLeftEvent
    | ReadyEvent
    | ResetEvent
    | TypingEvent
    | Problem
    | None
):
    if response.status_code == 200:

        def _parse_response_200(
            data: object,
        ) -> (
            MessageCreatedEvent
            | MessageDeletedEvent
            | MessageUpdatedEvent
            | NoteCreatedEvent
            | NoteDeletedEvent
            | NoteUpdatedEvent
            | PresenceCountEvent
            | PresenceJoinedEvent
            | PresenceLeftEvent
            | ReadyEvent
            | ResetEvent
            | TypingEvent
        ):
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_stream_event_type_0 = NoteCreatedEvent.from_dict(data)

                return componentsschemas_stream_event_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_stream_event_type_1 = NoteUpdatedEvent.from_dict(data)

                return componentsschemas_stream_event_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_stream_event_type_2 = NoteDeletedEvent.from_dict(data)

                return componentsschemas_stream_event_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_stream_event_type_3 = MessageCreatedEvent.from_dict(data)

                return componentsschemas_stream_event_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_stream_event_type_4 = MessageUpdatedEvent.from_dict(data)

                return componentsschemas_stream_event_type_4
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_stream_event_type_5 = MessageDeletedEvent.from_dict(data)

                return componentsschemas_stream_event_type_5
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_stream_event_type_6 = PresenceJoinedEvent.from_dict(data)

                return componentsschemas_stream_event_type_6
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_stream_event_type_7 = PresenceLeftEvent.from_dict(data)

                return componentsschemas_stream_event_type_7
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_stream_event_type_8 = TypingEvent.from_dict(data)

                return componentsschemas_stream_event_type_8
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_stream_event_type_9 = PresenceCountEvent.from_dict(data)

                return componentsschemas_stream_event_type_9
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_stream_event_type_10 = ReadyEvent.from_dict(data)

                return componentsschemas_stream_event_type_10
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_stream_event_type_11 = ResetEvent.from_dict(data)

            return componentsschemas_stream_event_type_11

        response_200 = _parse_response_200(response.text)

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[
    MessageCreatedEvent
    | MessageDeletedEvent
    | MessageUpdatedEvent
    | NoteCreatedEvent
    | NoteDeletedEvent
    | NoteUpdatedEvent
    | PresenceCountEvent
    | PresenceJoinedEvent
    | PresenceLeftEvent
    | ReadyEvent
    | ResetEvent
    | TypingEvent
    | Problem
]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    namespace: str,
    room: str,
    *,
    client: AuthenticatedClient,
    last_event_id_query: str | Unset = UNSET,
    types: list[EventType] | Unset = UNSET,
    last_event_id_header: str | Unset = UNSET,
) -> Response[
    MessageCreatedEvent
    | MessageDeletedEvent
    | MessageUpdatedEvent
    | NoteCreatedEvent
    | NoteDeletedEvent
    | NoteUpdatedEvent
    | PresenceCountEvent
    | PresenceJoinedEvent
    | PresenceLeftEvent
    | ReadyEvent
    | ResetEvent
    | TypingEvent
    | Problem
]:
    """Stream a room's events

     Every change in one room: for namespace `notes` and room `k`, the note `k` itself and
    its comments. The stream is presence: signed in (bearer token or session cookie), you
    are a member of the room from before the response until your last stream of it has
    been closed for `--presence-grace`; anonymous streams are counted, not named. `ready`
    carries who is here; `presence.joined` and `presence.left` follow (or `presence.count`
    in a large room), and `typing`.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.
        last_event_id_query (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).
        types (list[EventType] | Unset):
        last_event_id_header (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[MessageCreatedEvent | MessageDeletedEvent | MessageUpdatedEvent | NoteCreatedEvent | NoteDeletedEvent | NoteUpdatedEvent | PresenceCountEvent | PresenceJoinedEvent | PresenceLeftEvent | ReadyEvent | ResetEvent | TypingEvent | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        room=room,
        last_event_id_query=last_event_id_query,
        types=types,
        last_event_id_header=last_event_id_header,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    namespace: str,
    room: str,
    *,
    client: AuthenticatedClient,
    last_event_id_query: str | Unset = UNSET,
    types: list[EventType] | Unset = UNSET,
    last_event_id_header: str | Unset = UNSET,
) -> (
    MessageCreatedEvent
    | MessageDeletedEvent
    | MessageUpdatedEvent
    | NoteCreatedEvent
    | NoteDeletedEvent
    | NoteUpdatedEvent
    | PresenceCountEvent
    | PresenceJoinedEvent
    | PresenceLeftEvent
    | ReadyEvent
    | ResetEvent
    | TypingEvent
    | Problem
    | None
):
    """Stream a room's events

     Every change in one room: for namespace `notes` and room `k`, the note `k` itself and
    its comments. The stream is presence: signed in (bearer token or session cookie), you
    are a member of the room from before the response until your last stream of it has
    been closed for `--presence-grace`; anonymous streams are counted, not named. `ready`
    carries who is here; `presence.joined` and `presence.left` follow (or `presence.count`
    in a large room), and `typing`.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.
        last_event_id_query (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).
        types (list[EventType] | Unset):
        last_event_id_header (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        MessageCreatedEvent | MessageDeletedEvent | MessageUpdatedEvent | NoteCreatedEvent | NoteDeletedEvent | NoteUpdatedEvent | PresenceCountEvent | PresenceJoinedEvent | PresenceLeftEvent | ReadyEvent | ResetEvent | TypingEvent | Problem
    """

    return sync_detailed(
        namespace=namespace,
        room=room,
        client=client,
        last_event_id_query=last_event_id_query,
        types=types,
        last_event_id_header=last_event_id_header,
    ).parsed


async def asyncio_detailed(
    namespace: str,
    room: str,
    *,
    client: AuthenticatedClient,
    last_event_id_query: str | Unset = UNSET,
    types: list[EventType] | Unset = UNSET,
    last_event_id_header: str | Unset = UNSET,
) -> Response[
    MessageCreatedEvent
    | MessageDeletedEvent
    | MessageUpdatedEvent
    | NoteCreatedEvent
    | NoteDeletedEvent
    | NoteUpdatedEvent
    | PresenceCountEvent
    | PresenceJoinedEvent
    | PresenceLeftEvent
    | ReadyEvent
    | ResetEvent
    | TypingEvent
    | Problem
]:
    """Stream a room's events

     Every change in one room: for namespace `notes` and room `k`, the note `k` itself and
    its comments. The stream is presence: signed in (bearer token or session cookie), you
    are a member of the room from before the response until your last stream of it has
    been closed for `--presence-grace`; anonymous streams are counted, not named. `ready`
    carries who is here; `presence.joined` and `presence.left` follow (or `presence.count`
    in a large room), and `typing`.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.
        last_event_id_query (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).
        types (list[EventType] | Unset):
        last_event_id_header (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[MessageCreatedEvent | MessageDeletedEvent | MessageUpdatedEvent | NoteCreatedEvent | NoteDeletedEvent | NoteUpdatedEvent | PresenceCountEvent | PresenceJoinedEvent | PresenceLeftEvent | ReadyEvent | ResetEvent | TypingEvent | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        room=room,
        last_event_id_query=last_event_id_query,
        types=types,
        last_event_id_header=last_event_id_header,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    namespace: str,
    room: str,
    *,
    client: AuthenticatedClient,
    last_event_id_query: str | Unset = UNSET,
    types: list[EventType] | Unset = UNSET,
    last_event_id_header: str | Unset = UNSET,
) -> (
    MessageCreatedEvent
    | MessageDeletedEvent
    | MessageUpdatedEvent
    | NoteCreatedEvent
    | NoteDeletedEvent
    | NoteUpdatedEvent
    | PresenceCountEvent
    | PresenceJoinedEvent
    | PresenceLeftEvent
    | ReadyEvent
    | ResetEvent
    | TypingEvent
    | Problem
    | None
):
    """Stream a room's events

     Every change in one room: for namespace `notes` and room `k`, the note `k` itself and
    its comments. The stream is presence: signed in (bearer token or session cookie), you
    are a member of the room from before the response until your last stream of it has
    been closed for `--presence-grace`; anonymous streams are counted, not named. `ready`
    carries who is here; `presence.joined` and `presence.left` follow (or `presence.count`
    in a large room), and `typing`.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.
        last_event_id_query (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).
        types (list[EventType] | Unset):
        last_event_id_header (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        MessageCreatedEvent | MessageDeletedEvent | MessageUpdatedEvent | NoteCreatedEvent | NoteDeletedEvent | NoteUpdatedEvent | PresenceCountEvent | PresenceJoinedEvent | PresenceLeftEvent | ReadyEvent | ResetEvent | TypingEvent | Problem
    """

    return (
        await asyncio_detailed(
            namespace=namespace,
            room=room,
            client=client,
            last_event_id_query=last_event_id_query,
            types=types,
            last_event_id_header=last_event_id_header,
        )
    ).parsed
