from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    namespace: str,
    *,
    last_event_id_query: str | Unset = UNSET,
    types: str | Unset = UNSET,
    last_event_id_header: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id_header, Unset):
        headers["Last-Event-ID"] = last_event_id_header

    params: dict[str, Any] = {}

    params["last_event_id"] = last_event_id_query

    params["types"] = types

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/rooms/{namespace}/events".format(
            namespace=quote(str(namespace), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | str | None:
    if response.status_code == 200:
        response_200 = response.text
        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    namespace: str,
    *,
    client: AuthenticatedClient | Client,
    last_event_id_query: str | Unset = UNSET,
    types: str | Unset = UNSET,
    last_event_id_header: str | Unset = UNSET,
) -> Response[Problem | str]:
    """Stream a namespace's events

     Every change in every room of a namespace: the notes home page follows `notes`.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        last_event_id_query (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).
        types (str | Unset):
        last_event_id_header (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | str]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
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
    *,
    client: AuthenticatedClient | Client,
    last_event_id_query: str | Unset = UNSET,
    types: str | Unset = UNSET,
    last_event_id_header: str | Unset = UNSET,
) -> Problem | str | None:
    """Stream a namespace's events

     Every change in every room of a namespace: the notes home page follows `notes`.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        last_event_id_query (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).
        types (str | Unset):
        last_event_id_header (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | str
    """

    return sync_detailed(
        namespace=namespace,
        client=client,
        last_event_id_query=last_event_id_query,
        types=types,
        last_event_id_header=last_event_id_header,
    ).parsed


async def asyncio_detailed(
    namespace: str,
    *,
    client: AuthenticatedClient | Client,
    last_event_id_query: str | Unset = UNSET,
    types: str | Unset = UNSET,
    last_event_id_header: str | Unset = UNSET,
) -> Response[Problem | str]:
    """Stream a namespace's events

     Every change in every room of a namespace: the notes home page follows `notes`.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        last_event_id_query (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).
        types (str | Unset):
        last_event_id_header (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | str]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        last_event_id_query=last_event_id_query,
        types=types,
        last_event_id_header=last_event_id_header,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    namespace: str,
    *,
    client: AuthenticatedClient | Client,
    last_event_id_query: str | Unset = UNSET,
    types: str | Unset = UNSET,
    last_event_id_header: str | Unset = UNSET,
) -> Problem | str | None:
    """Stream a namespace's events

     Every change in every room of a namespace: the notes home page follows `notes`.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        last_event_id_query (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).
        types (str | Unset):
        last_event_id_header (str | Unset): A position in the event log, as the server hands them
            out (`id:` of an event, `Stream-Position`, `ready`'s `position`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | str
    """

    return (
        await asyncio_detailed(
            namespace=namespace,
            client=client,
            last_event_id_query=last_event_id_query,
            types=types,
            last_event_id_header=last_event_id_header,
        )
    ).parsed
