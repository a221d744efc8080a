from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.room_page import RoomPage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    namespace: str,
    *,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["cursor"] = cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/rooms/{namespace}".format(
            namespace=quote(str(namespace), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | RoomPage | None:
    if response.status_code == 200:
        response_200 = RoomPage.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | RoomPage]:
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
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> Response[Problem | RoomPage]:
    """List a namespace's rooms

     The rooms with messages or members, most recently active first (a message, a join or
    a leave), with how many members each has now. A room's new messages show in its
    `last_activity` within a `--presence-heartbeat` (2 s); joins and leaves at once.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        limit (int | Unset):
        cursor (str | Unset): A page's `next_cursor`, passed back unchanged: opaque, and valid
            only as this server returned it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RoomPage]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    namespace: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> Problem | RoomPage | None:
    """List a namespace's rooms

     The rooms with messages or members, most recently active first (a message, a join or
    a leave), with how many members each has now. A room's new messages show in its
    `last_activity` within a `--presence-heartbeat` (2 s); joins and leaves at once.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        limit (int | Unset):
        cursor (str | Unset): A page's `next_cursor`, passed back unchanged: opaque, and valid
            only as this server returned it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RoomPage
    """

    return sync_detailed(
        namespace=namespace,
        client=client,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    namespace: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> Response[Problem | RoomPage]:
    """List a namespace's rooms

     The rooms with messages or members, most recently active first (a message, a join or
    a leave), with how many members each has now. A room's new messages show in its
    `last_activity` within a `--presence-heartbeat` (2 s); joins and leaves at once.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        limit (int | Unset):
        cursor (str | Unset): A page's `next_cursor`, passed back unchanged: opaque, and valid
            only as this server returned it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RoomPage]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    namespace: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> Problem | RoomPage | None:
    """List a namespace's rooms

     The rooms with messages or members, most recently active first (a message, a join or
    a leave), with how many members each has now. A room's new messages show in its
    `last_activity` within a `--presence-heartbeat` (2 s); joins and leaves at once.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        limit (int | Unset):
        cursor (str | Unset): A page's `next_cursor`, passed back unchanged: opaque, and valid
            only as this server returned it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RoomPage
    """

    return (
        await asyncio_detailed(
            namespace=namespace,
            client=client,
            limit=limit,
            cursor=cursor,
        )
    ).parsed
