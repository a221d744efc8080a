from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    namespace: str,
    room: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/rooms/{namespace}/{room}/typing".format(
            namespace=quote(str(namespace), safe=""),
            room=quote(str(room), safe=""),
        ),
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | Problem | None:
    if response.status_code == 202:
        response_202 = cast(Any, None)
        return response_202

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Any | Problem]:
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
) -> Response[Any | Problem]:
    """Say you are typing

     Sends `typing` (`{user, expires_in_ms}`) to every open stream of the room, on every
    server: ephemeral, without `id:`, never stored or replayed. Send it again every couple
    of seconds while typing; a client shows it until `expires_in_ms` after the last one.
    No body. At most 5 at once per user, then one a second.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
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
    client: AuthenticatedClient,
) -> Any | Problem | None:
    """Say you are typing

     Sends `typing` (`{user, expires_in_ms}`) to every open stream of the room, on every
    server: ephemeral, without `id:`, never stored or replayed. Send it again every couple
    of seconds while typing; a client shows it until `expires_in_ms` after the last one.
    No body. At most 5 at once per user, then one a second.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
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
    client: AuthenticatedClient,
) -> Response[Any | Problem]:
    """Say you are typing

     Sends `typing` (`{user, expires_in_ms}`) to every open stream of the room, on every
    server: ephemeral, without `id:`, never stored or replayed. Send it again every couple
    of seconds while typing; a client shows it until `expires_in_ms` after the last one.
    No body. At most 5 at once per user, then one a second.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
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
    client: AuthenticatedClient,
) -> Any | Problem | None:
    """Say you are typing

     Sends `typing` (`{user, expires_in_ms}`) to every open stream of the room, on every
    server: ephemeral, without `id:`, never stored or replayed. Send it again every couple
    of seconds while typing; a client shows it until `expires_in_ms` after the last one.
    No body. At most 5 at once per user, then one a second.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return (
        await asyncio_detailed(
            namespace=namespace,
            room=room,
            client=client,
        )
    ).parsed
