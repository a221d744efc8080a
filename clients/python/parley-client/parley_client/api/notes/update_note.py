from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.note import Note
from ...models.problem import Problem
from ...models.update_note import UpdateNote
from ...types import UNSET, Response, Unset


def _get_kwargs(
    key: str,
    *,
    body: UpdateNote,
    if_match: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(if_match, Unset):
        headers["If-Match"] = if_match

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/notes/{key}".format(
            key=quote(str(key), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Note | Problem | None:
    if response.status_code == 200:
        response_200 = Note.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 408:
        response_408 = Problem.from_dict(response.json())

        return response_408

    if response.status_code == 412:
        response_412 = Problem.from_dict(response.json())

        return response_412

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Note | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    key: str,
    *,
    client: AuthenticatedClient,
    body: UpdateNote,
    if_match: str | Unset = UNSET,
) -> Response[Note | Problem]:
    """Update a note

     Only its author may. Send `If-Match` with the `ETag` you read to be sure you do not
    overwrite someone else's change: a stale one gets 412.

    Args:
        key (str): 1–100 characters from `A–Z a–z 0–9 _ . - ~`, other than `.` and `..`.
        if_match (str | Unset): `*`, or a comma-separated list of entity tags (`"…"` or weak
            `W/"…"`), as in RFC 9110.
        body (UpdateNote): The new content of a note.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Note | Problem]
    """

    kwargs = _get_kwargs(
        key=key,
        body=body,
        if_match=if_match,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    key: str,
    *,
    client: AuthenticatedClient,
    body: UpdateNote,
    if_match: str | Unset = UNSET,
) -> Note | Problem | None:
    """Update a note

     Only its author may. Send `If-Match` with the `ETag` you read to be sure you do not
    overwrite someone else's change: a stale one gets 412.

    Args:
        key (str): 1–100 characters from `A–Z a–z 0–9 _ . - ~`, other than `.` and `..`.
        if_match (str | Unset): `*`, or a comma-separated list of entity tags (`"…"` or weak
            `W/"…"`), as in RFC 9110.
        body (UpdateNote): The new content of a note.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Note | Problem
    """

    return sync_detailed(
        key=key,
        client=client,
        body=body,
        if_match=if_match,
    ).parsed


async def asyncio_detailed(
    key: str,
    *,
    client: AuthenticatedClient,
    body: UpdateNote,
    if_match: str | Unset = UNSET,
) -> Response[Note | Problem]:
    """Update a note

     Only its author may. Send `If-Match` with the `ETag` you read to be sure you do not
    overwrite someone else's change: a stale one gets 412.

    Args:
        key (str): 1–100 characters from `A–Z a–z 0–9 _ . - ~`, other than `.` and `..`.
        if_match (str | Unset): `*`, or a comma-separated list of entity tags (`"…"` or weak
            `W/"…"`), as in RFC 9110.
        body (UpdateNote): The new content of a note.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Note | Problem]
    """

    kwargs = _get_kwargs(
        key=key,
        body=body,
        if_match=if_match,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    key: str,
    *,
    client: AuthenticatedClient,
    body: UpdateNote,
    if_match: str | Unset = UNSET,
) -> Note | Problem | None:
    """Update a note

     Only its author may. Send `If-Match` with the `ETag` you read to be sure you do not
    overwrite someone else's change: a stale one gets 412.

    Args:
        key (str): 1–100 characters from `A–Z a–z 0–9 _ . - ~`, other than `.` and `..`.
        if_match (str | Unset): `*`, or a comma-separated list of entity tags (`"…"` or weak
            `W/"…"`), as in RFC 9110.
        body (UpdateNote): The new content of a note.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Note | Problem
    """

    return (
        await asyncio_detailed(
            key=key,
            client=client,
            body=body,
            if_match=if_match,
        )
    ).parsed
