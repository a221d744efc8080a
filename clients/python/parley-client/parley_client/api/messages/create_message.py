from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.message import Message
from ...models.message_body import MessageBody
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    namespace: str,
    room: str,
    *,
    body: MessageBody,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/rooms/{namespace}/{room}/messages".format(
            namespace=quote(str(namespace), safe=""),
            room=quote(str(room), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Message | Problem | None:
    if response.status_code == 201:
        response_201 = Message.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 408:
        response_408 = Problem.from_dict(response.json())

        return response_408

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Message | Problem]:
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
    body: MessageBody,
) -> Response[Message | Problem]:
    """Post a message

     `from` is always the signed-in user. In namespace `notes` the room must be an existing
    note's key: the message is a comment on it.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.
        body (MessageBody): The text of a new or edited message.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Message | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        room=room,
        body=body,
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
    body: MessageBody,
) -> Message | Problem | None:
    """Post a message

     `from` is always the signed-in user. In namespace `notes` the room must be an existing
    note's key: the message is a comment on it.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.
        body (MessageBody): The text of a new or edited message.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Message | Problem
    """

    return sync_detailed(
        namespace=namespace,
        room=room,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    namespace: str,
    room: str,
    *,
    client: AuthenticatedClient,
    body: MessageBody,
) -> Response[Message | Problem]:
    """Post a message

     `from` is always the signed-in user. In namespace `notes` the room must be an existing
    note's key: the message is a comment on it.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.
        body (MessageBody): The text of a new or edited message.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Message | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        room=room,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    namespace: str,
    room: str,
    *,
    client: AuthenticatedClient,
    body: MessageBody,
) -> Message | Problem | None:
    """Post a message

     `from` is always the signed-in user. In namespace `notes` the room must be an existing
    note's key: the message is a comment on it.

    Args:
        namespace (str): 1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g.
            `notes` or `chat`.
        room (str): 1–200 characters without control characters; in namespace `notes`, a note's
            key.
        body (MessageBody): The text of a new or edited message.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Message | Problem
    """

    return (
        await asyncio_detailed(
            namespace=namespace,
            room=room,
            client=client,
            body=body,
        )
    ).parsed
