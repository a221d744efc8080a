from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.message_page import MessagePage
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    namespace: str,
    room: str,
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
        "url": "/api/rooms/{namespace}/{room}/messages".format(
            namespace=quote(str(namespace), safe=""),
            room=quote(str(room), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> MessagePage | Problem | None:
    if response.status_code == 200:
        response_200 = MessagePage.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[MessagePage | Problem]:
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
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> Response[MessagePage | Problem]:
    """List a room's messages

     Newest first. `Stream-Position` is the log position this list reflects: subscribe to
    the room's events with it as `Last-Event-ID` to miss nothing that happens after.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.
        limit (int | Unset):
        cursor (str | Unset): A page's `next_cursor`, passed back unchanged: opaque, and valid
            only as this server returned it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[MessagePage | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        room=room,
        limit=limit,
        cursor=cursor,
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
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> MessagePage | Problem | None:
    """List a room's messages

     Newest first. `Stream-Position` is the log position this list reflects: subscribe to
    the room's events with it as `Last-Event-ID` to miss nothing that happens after.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.
        limit (int | Unset):
        cursor (str | Unset): A page's `next_cursor`, passed back unchanged: opaque, and valid
            only as this server returned it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        MessagePage | Problem
    """

    return sync_detailed(
        namespace=namespace,
        room=room,
        client=client,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    namespace: str,
    room: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> Response[MessagePage | Problem]:
    """List a room's messages

     Newest first. `Stream-Position` is the log position this list reflects: subscribe to
    the room's events with it as `Last-Event-ID` to miss nothing that happens after.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.
        limit (int | Unset):
        cursor (str | Unset): A page's `next_cursor`, passed back unchanged: opaque, and valid
            only as this server returned it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[MessagePage | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        room=room,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    namespace: str,
    room: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> MessagePage | Problem | None:
    """List a room's messages

     Newest first. `Stream-Position` is the log position this list reflects: subscribe to
    the room's events with it as `Last-Event-ID` to miss nothing that happens after.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.
        limit (int | Unset):
        cursor (str | Unset): A page's `next_cursor`, passed back unchanged: opaque, and valid
            only as this server returned it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        MessagePage | Problem
    """

    return (
        await asyncio_detailed(
            namespace=namespace,
            room=room,
            client=client,
            limit=limit,
            cursor=cursor,
        )
    ).parsed
