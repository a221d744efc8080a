from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.presence_snapshot import PresenceSnapshot
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    namespace: str,
    room: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/rooms/{namespace}/{room}/presence".format(
            namespace=quote(str(namespace), safe=""),
            room=quote(str(room), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PresenceSnapshot | Problem | None:
    if response.status_code == 200:
        response_200 = PresenceSnapshot.from_dict(response.json())

        return response_200

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[PresenceSnapshot | Problem]:
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
    client: AuthenticatedClient | Client,
) -> Response[PresenceSnapshot | Problem]:
    """Who is in a room

     The room's members (signed-in users with a stream of it open, or closed less than
    `--presence-grace` ago), each with their number of streams and when they joined, and
    the number of anonymous streams. The member list is exact at `Stream-Position`: open
    the room's stream with it as `Last-Event-ID`, and apply its `presence.joined` and
    `presence.left`, to keep it exact with no gap.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PresenceSnapshot | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        room=room,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    namespace: str,
    room: str,
    *,
    client: AuthenticatedClient | Client,
) -> PresenceSnapshot | Problem | None:
    """Who is in a room

     The room's members (signed-in users with a stream of it open, or closed less than
    `--presence-grace` ago), each with their number of streams and when they joined, and
    the number of anonymous streams. The member list is exact at `Stream-Position`: open
    the room's stream with it as `Last-Event-ID`, and apply its `presence.joined` and
    `presence.left`, to keep it exact with no gap.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PresenceSnapshot | Problem
    """

    return sync_detailed(
        namespace=namespace,
        room=room,
        client=client,
    ).parsed


async def asyncio_detailed(
    namespace: str,
    room: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[PresenceSnapshot | Problem]:
    """Who is in a room

     The room's members (signed-in users with a stream of it open, or closed less than
    `--presence-grace` ago), each with their number of streams and when they joined, and
    the number of anonymous streams. The member list is exact at `Stream-Position`: open
    the room's stream with it as `Last-Event-ID`, and apply its `presence.joined` and
    `presence.left`, to keep it exact with no gap.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PresenceSnapshot | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        room=room,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    namespace: str,
    room: str,
    *,
    client: AuthenticatedClient | Client,
) -> PresenceSnapshot | Problem | None:
    """Who is in a room

     The room's members (signed-in users with a stream of it open, or closed less than
    `--presence-grace` ago), each with their number of streams and when they joined, and
    the number of anonymous streams. The member list is exact at `Stream-Position`: open
    the room's stream with it as `Last-Event-ID`, and apply its `presence.joined` and
    `presence.left`, to keep it exact with no gap.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PresenceSnapshot | Problem
    """

    return (
        await asyncio_detailed(
            namespace=namespace,
            room=room,
            client=client,
        )
    ).parsed
