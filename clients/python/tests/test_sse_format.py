"""The SSE wire format and reconnection, against canned responses (no server needed)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from parley_client.models import DeletedNote, Note, StreamMarker

from parley_events import READY, EventStream, StreamError, subscribe

NOTE = {
    "key": "k",
    "title": "T",
    "body": "line one\u2028still line one",
    "author": "alice",
    "created_at": "2026-11-22T03:15:24.410429Z",
    "updated_at": "2026-11-22T03:15:24.410429Z",
    "version": 1,
}

Handler = Callable[[httpx.Request], httpx.Response]


def sse(*chunks: str) -> httpx.Response:
    body: Iterator[bytes] = (chunk.encode() for chunk in chunks)
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


def stream(
    handler: Handler, last_event_id: str | None = None, types: list[str] | None = None
) -> EventStream:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return subscribe(
        "http://parley.test", "notes", "k", last_event_id=last_event_id, types=types, client=client
    )


def test_fields_comments_line_endings_and_multi_line_data() -> None:
    text = json.dumps(NOTE, ensure_ascii=False)
    half = len(text) // 2
    responses = [
        sse(
            "\ufeffretry: 2500\r\n\r\n: keep-alive\r\n\r",  # CRLF split across two chunks
            "\nid: 1-1\nevent: note.created\ndata: ",
            text[:half],
            text[half:] + "\n\n",
            'id: 1-2\revent: note.deleted\rdata: {"key":\r',  # CR line endings
            'data:  "k"}\r\r',  # a second data line; one space after the colon is dropped
            "id: 1-3\nevent: note.moved\ndata: one\ndata: two\n\n",
            'id: 1-3\nevent: ready\ndata: {"position": "1-3"}\nunknown: field\n\n',
            "id: 1-4\n\n",  # no data: nothing to dispatch, but the id counts
        )
    ]
    with stream(lambda request: responses.pop(0)) as events:
        created, deleted, unknown, ready = (next(events) for _ in range(4))
        assert events.retry_ms == 2500
    assert (created.type, created.id) == ("note.created", "1-1")
    assert created.data == Note.from_dict(NOTE)
    assert (deleted.type, deleted.id, deleted.data) == ("note.deleted", "1-2", DeletedNote("k"))
    assert (unknown.type, unknown.data) == ("note.moved", "one\ntwo")
    assert (ready.type, ready.data) == (READY, StreamMarker("1-3"))


def test_reconnects_after_the_retry_hint_with_the_last_id() -> None:
    requests: list[httpx.Request] = []
    responses = [
        sse("retry: 10\n\n", 'id: 5-1\nevent: ready\ndata: {"position":"5-1"}\n\n'),
        httpx.Response(503, json={"type": "urn:parley:problem:unavailable"}),
        sse('id: 6-2\nevent: note.deleted\ndata: {"key":"k"}\n\nid: 7-3\nevent: note.del'),
        sse('id: 8-4\nevent: note.deleted\ndata: {"key":"k"}\n\n'),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return responses.pop(0)

    with stream(handler, last_event_id="4-0", types=["note.deleted", "ready"]) as events:
        ids = [next(events).id for _ in range(3)]
    assert ids == ["5-1", "6-2", "8-4"]
    assert [r.headers["last-event-id"] for r in requests] == ["4-0", "5-1", "5-1", "6-2"]
    assert all(r.url.params["types"] == "note.deleted,ready" for r in requests)
    assert requests[0].url.path == "/api/rooms/notes/k/events"


def test_a_refusal_raises_with_the_problem() -> None:
    problem = {"type": "urn:parley:problem:bad-request", "title": "Bad request", "status": 400}
    refusal = httpx.Response(400, json={**problem, "detail": "not a position"})
    with stream(lambda request: refusal) as events, pytest.raises(StreamError) as raised:
        next(events)
    assert raised.value.problem is not None and raised.value.problem.detail == "not a position"
    assert str(raised.value) == "400: not a position"


def test_close_ends_the_iteration() -> None:
    events = stream(lambda request: sse('id: 1-1\nevent: ready\ndata: {"position":"1-1"}\n\n'))
    assert next(events).type == READY
    events.close()
    assert list(events) == []
