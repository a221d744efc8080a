from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.note import Note
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    key: str,
    *,
    if_none_match: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(if_none_match, Unset):
        headers["If-None-Match"] = if_none_match

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/notes/{key}".format(
            key=quote(str(key), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | Note | Problem | None:
    if response.status_code == 200:
        response_200 = Note.from_dict(response.json())

        return response_200

    if response.status_code == 304:
        response_304 = cast(Any, None)
        return response_304

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | Note | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    key: str,
    *,
    client: AuthenticatedClient | Client,
    if_none_match: str | Unset = UNSET,
) -> Response[Any | Note | Problem]:
    """Read a note

     With `If-None-Match` holding the current `ETag`, answers 304 with no body.

    Args:
        key (str): 1–100 characters from `A–Z a–z 0–9 _ . - ~`, other than `.` and `..`.
        if_none_match (str | Unset): `*`, or a comma-separated list of entity tags (`"…"` or weak
            `W/"…"`), as in RFC 9110.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Note | Problem]
    """

    kwargs = _get_kwargs(
        key=key,
        if_none_match=if_none_match,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    key: str,
    *,
    client: AuthenticatedClient | Client,
    if_none_match: str | Unset = UNSET,
) -> Any | Note | Problem | None:
    """Read a note

     With `If-None-Match` holding the current `ETag`, answers 304 with no body.

    Args:
        key (str): 1–100 characters from `A–Z a–z 0–9 _ . - ~`, other than `.` and `..`.
        if_none_match (str | Unset): `*`, or a comma-separated list of entity tags (`"…"` or weak
            `W/"…"`), as in RFC 9110.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Note | Problem
    """

    return sync_detailed(
        key=key,
        client=client,
        if_none_match=if_none_match,
    ).parsed


async def asyncio_detailed(
    key: str,
    *,
    client: AuthenticatedClient | Client,
    if_none_match: str | Unset = UNSET,
) -> Response[Any | Note | Problem]:
    """Read a note

     With `If-None-Match` holding the current `ETag`, answers 304 with no body.

    Args:
        key (str): 1–100 characters from `A–Z a–z 0–9 _ . - ~`, other than `.` and `..`.
        if_none_match (str | Unset): `*`, or a comma-separated list of entity tags (`"…"` or weak
            `W/"…"`), as in RFC 9110.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Note | Problem]
    """

    kwargs = _get_kwargs(
        key=key,
        if_none_match=if_none_match,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    key: str,
    *,
    client: AuthenticatedClient | Client,
    if_none_match: str | Unset = UNSET,
) -> Any | Note | Problem | None:
    """Read a note

     With `If-None-Match` holding the current `ETag`, answers 304 with no body.

    Args:
        key (str): 1–100 characters from `A–Z a–z 0–9 _ . - ~`, other than `.` and `..`.
        if_none_match (str | Unset): `*`, or a comma-separated list of entity tags (`"…"` or weak
            `W/"…"`), as in RFC 9110.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Note | Problem
    """

    return (
        await asyncio_detailed(
            key=key,
            client=client,
            if_none_match=if_none_match,
        )
    ).parsed
