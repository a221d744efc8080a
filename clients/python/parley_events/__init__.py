"""Typed Server-Sent Events for Parley.

``subscribe()`` follows one room (``notes/<key>``, ``chat/general``) or a whole namespace
(``notes``) and yields a ``StreamEvent`` per event, its ``data`` decoded into the models of
the generated ``parley_client`` package. When the connection drops it waits for the
server's ``retry:`` hint and reconnects with ``Last-Event-ID`` set to the last id received,
so nothing is missed and nothing is repeated. A room's stream also keeps ``presence``, who
is in the room, exact at the last event received.

This package is hand-written and lives outside ``parley-client/``, which ``generate.sh``
replaces whole. (The generated stream operations would wait forever for the end of an
endless body.)
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Final, Self, TypeAlias, get_args
from urllib.parse import quote

import httpx
from parley_client.models import (
    DeletedMessage,
    DeletedNote,
    EventType,
    Message,
    MessageCreatedEvent,
    MessageDeletedEvent,
    MessageUpdatedEvent,
    Note,
    NoteCreatedEvent,
    NoteDeletedEvent,
    NoteUpdatedEvent,
    PresenceCount,
    PresenceCountEvent,
    PresenceJoined,
    PresenceJoinedEvent,
    PresenceLeft,
    PresenceLeftEvent,
    PresenceSnapshot,
    Problem,
    ReadyEvent,
    ResetEvent,
    StreamMarker,
    Typing,
    TypingEvent,
)

__all__ = [
    "EPHEMERAL",
    "READY",
    "RESET",
    "Event",
    "EventStream",
    "EventType",
    "Member",
    "Payload",
    "Presence",
    "StreamError",
    "StreamEvent",
    "subscribe",
]

READY: Final = "ready"
"""Caught up: every earlier event is behind you. ``data`` is a ``StreamMarker``."""
RESET: Final = "reset"
"""Your position is older than the log keeps: refetch state, then carry on."""

Event: TypeAlias = (
    NoteCreatedEvent
    | NoteUpdatedEvent
    | NoteDeletedEvent
    | MessageCreatedEvent
    | MessageUpdatedEvent
    | MessageDeletedEvent
    | PresenceJoinedEvent
    | PresenceLeftEvent
    | TypingEvent
    | PresenceCountEvent
    | ReadyEvent
    | ResetEvent
)
"""One event as the spec's ``StreamEvent`` describes it: the generated models, told apart by
their ``event`` name (a ``Literal``), so ``if e.event == "note.deleted"`` narrows ``e.data`` to
``DeletedNote``. ``tests/test_event_types.py`` checks this union against the spec."""

_EVENT_MODELS: Final[tuple[type[Event], ...]] = get_args(Event)

Payload: TypeAlias = (
    Note
    | DeletedNote
    | Message
    | DeletedMessage
    | PresenceJoined
    | PresenceLeft
    | Typing
    | PresenceCount
    | StreamMarker
    | str
)
"""An event's ``data``: a generated model, or the raw text for a type this SDK does not know."""

EPHEMERAL: Final = frozenset({EventType.TYPING, EventType.PRESENCE_COUNT})
"""The event types that are never stored: sent without ``id:``, never replayed, and they
never move the position a stream resumes from (their ``StreamEvent.id`` is None).
``tests/test_event_types.py`` checks this set against the spec (the schemas without ``id``)."""

DEFAULT_RETRY_MS: Final = 3000
"""The reconnection delay until the server sends its ``retry:`` hint."""

_EOL = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event: ``type`` is an ``EventType`` value, ``"ready"`` or ``"reset"``.

    ``id`` is the event's position (``None`` for an ``EPHEMERAL`` one). ``event`` is the same
    event as the generated model of its type (``None`` for a type this SDK does not know):
    match on ``event.event`` to get ``data`` typed by the event's name.
    """

    type: str
    id: str | None
    data: Payload
    event: Event | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """A signed-in member of a room: one per user, however many streams they have open."""

    user: str
    since: datetime


class Presence:
    """Who is in one room, kept exact from a snapshot plus the room's events after it.

    ``ready``'s ``presence`` (or ``GET .../presence`` with its ``Stream-Position``) replaces
    it; ``presence.joined`` and ``presence.left`` update it, in order with the room's other
    events. In a large room (``large``) the server sends ``presence.count`` instead of joins
    and leaves: then only ``count`` and ``anonymous`` are known, and ``members`` is empty
    (a list that could not be kept current would be wrong). ``you`` is the stream's
    signed-in user (``ready``'s ``you``), or None for an anonymous stream.
    """

    def __init__(self) -> None:
        self.you: str | None = None
        self.members: dict[str, Member] = {}
        self.anonymous = 0
        self.large = False
        self.known = False
        """Whether a snapshot has arrived (before it, only changes are known)."""
        self._large_count = 0

    @property
    def count(self) -> int:
        """Signed-in members: ``len(members)``, or in a large room the snapshot's
        ``members_count`` and then the last ``presence.count``."""
        return self._large_count if self.large else len(self.members)

    def reset(self, snapshot: PresenceSnapshot) -> None:
        """Replace everything with ``snapshot``."""
        self.members = {m.user: Member(m.user, m.since) for m in snapshot.members}
        self.anonymous, self.large = snapshot.anonymous, snapshot.large
        self._large_count = snapshot.members_count
        self.known = True

    def apply(self, event: StreamEvent) -> bool:
        """Take one event of the room's stream; True when the membership changed."""
        data = event.data
        if isinstance(data, StreamMarker):
            if event.type != READY:
                return False
            if isinstance(data.you, str):
                self.you = data.you
            if not isinstance(data.presence, PresenceSnapshot):
                return False
            self.reset(data.presence)
        elif isinstance(data, PresenceJoined):
            self.members[data.user] = Member(data.user, data.since)
        elif isinstance(data, PresenceLeft):
            return self.members.pop(data.user, None) is not None
        elif isinstance(data, PresenceCount):
            self.large, self._large_count, self.anonymous = True, data.members, data.anonymous
            self.members = {}
        else:
            return False
        return True


class StreamError(Exception):
    """The server refused the stream (a 4xx), e.g. 422 for an unknown type in ``types``."""

    def __init__(self, status: int, problem: Problem | None, body: str) -> None:
        super().__init__(f"{status}: {problem.detail if problem else body}")
        self.status = status
        self.problem = problem
        self.body = body


def subscribe(
    base_url: str,
    namespace: str,
    room: str | None = None,
    *,
    last_event_id: str | None = None,
    types: Iterable[str] | None = None,
    token: str | None = None,
    timeout: float = 60.0,
    headers: Mapping[str, str] | None = None,
    client: httpx.Client | None = None,
) -> EventStream:
    """Follow one room, or every room of ``namespace`` when ``room`` is None.

    ``last_event_id``: resume after this position (an event's ``id`` or a
    ``Stream-Position`` header); without it the stream starts live. ``types``: only these
    event types (``EventType`` members or their names). ``token``: a session token, sent as
    ``Authorization: Bearer``: the stream then makes you a member of the room; without one
    the stream is anonymous (counted, not named). ``timeout``: seconds to connect, and
    seconds without a byte (keep-alives count) before the connection is taken for dead and
    re-established. ``client``: an ``httpx.Client`` to use (it is not closed for you).

    The connection opens on the first ``next()``; a refusal raises ``StreamError`` there.
    """
    path = f"/api/rooms/{quote(namespace, safe='')}"
    if room is not None:
        path += f"/{quote(room, safe='')}"
    wanted = ",".join(types or [])
    auth = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return EventStream(
        f"{base_url.rstrip('/')}{path}/events",
        last_event_id=last_event_id,
        params={"types": wanted} if wanted else {},
        headers={**auth, **(headers or {})},
        timeout=timeout,
        client=client,
        presence=Presence() if room is not None else None,
    )


class EventStream:
    """An endless iterator of ``StreamEvent``; close it, or use it in a ``with`` block.

    ``last_event_id`` is the id of the last event received (``ready`` and ``reset`` included,
    ephemeral events have none): keep it to resume later with
    ``subscribe(..., last_event_id=...)``. ``presence`` is who is in the room, exact at the
    last event yielded (None for a namespace's stream, whose presence events do not say
    which room they are about).
    """

    def __init__(
        self,
        url: str,
        *,
        last_event_id: str | None,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        timeout: float,
        client: httpx.Client | None,
        presence: Presence | None = None,
    ) -> None:
        self.url = url
        self.last_event_id = last_event_id
        self.presence = presence
        self.retry_ms = DEFAULT_RETRY_MS
        self._params = dict(params)
        self._headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", **headers}
        self._timeout = httpx.Timeout(timeout)
        self._client = client or httpx.Client()
        self._owns_client = client is None
        self._closed = threading.Event()
        self._response: httpx.Response | None = None
        self._events = self._run()

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> StreamEvent:
        return next(self._events)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop: the iterator ends, and the connection is closed."""
        self._closed.set()
        if (response := self._response) is not None:
            response.close()
        try:
            self._events.close()
        except ValueError:  # iterating in another thread: it stops after its current read
            pass
        if self._owns_client:
            self._client.close()

    def _run(self) -> Generator[StreamEvent]:
        while not self._closed.is_set():
            try:
                yield from self._connect()
            except httpx.TransportError:  # refused, reset or silent for too long: try again
                pass
            if self._closed.wait(self.retry_ms / 1000):
                return

    def _connect(self) -> Generator[StreamEvent]:
        headers = dict(self._headers)
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        request = self._client.build_request(
            "GET", self.url, params=self._params, headers=headers, timeout=self._timeout
        )
        response = self._client.send(request, stream=True)
        self._response = response
        try:
            if response.status_code >= 500:  # e.g. 503 while the server shuts down: retry
                return
            content_type = response.headers.get("content-type", "")
            if response.status_code != 200 or not content_type.startswith("text/event-stream"):
                raise _refusal(response)
            response.encoding = "utf-8"  # the SSE format is always UTF-8
            parser = _Parser(self.last_event_id)
            for line in _lines(response.iter_text()):
                frame = parser.feed(line)
                self.last_event_id = parser.last_id
                if parser.retry_ms is not None:
                    self.retry_ms = parser.retry_ms
                if frame is not None:
                    event = _decode(*frame)
                    if self.presence is not None:
                        self.presence.apply(event)
                    yield event
        finally:
            self._response = None
            response.close()


class _Parser:
    """The ``text/event-stream`` field rules (WHATWG HTML, "Event stream interpretation")."""

    def __init__(self, last_id: str | None) -> None:
        self.last_id = last_id  # updated when an event is complete, as EventSource does
        self.retry_ms: int | None = None
        self._id = last_id
        self._type = ""
        self._data: list[str] = []

    def feed(self, line: str) -> tuple[str, str | None, str] | None:
        """Take one line; at a blank line, return a complete ``(type, id, data)``."""
        if not line:
            self.last_id = self._id
            kind, data = self._type or "message", self._data
            self._type, self._data = "", []
            return (kind, self.last_id, "\n".join(data)) if data else None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._type = value
        elif name == "id" and "\0" not in value:
            self._id = value or None
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry_ms = int(value)
        return None  # comments (":…") and unknown fields are ignored


def _lines(chunks: Iterable[str]) -> Iterator[str]:
    """Split on CRLF, LF or CR only (``str.splitlines`` also splits on U+2028 and others)."""
    pending, at_start = "", True
    for chunk in chunks:
        pending += chunk
        if at_start and pending:  # a byte order mark may open the stream
            pending, at_start = pending.removeprefix("\ufeff"), False
        start = 0
        for end in _EOL.finditer(pending):
            if end.group() == "\r" and end.end() == len(pending):
                break  # maybe the first half of a CRLF split across chunks
            yield pending[start : end.start()]
            start = end.end()
        pending = pending[start:]


def _decode(kind: str, event_id: str | None, data: str) -> StreamEvent:
    try:
        payload, invalid = json.loads(data), None
    except ValueError as error:  # fine for a type this SDK does not know
        payload, invalid = None, error
    # An ephemeral frame has no id of its own (`event_id` is the previous event's).
    own_id = None if kind in EPHEMERAL else event_id
    frame: dict[str, object] = {"event": kind, "data": payload}
    if kind not in EPHEMERAL:
        frame["id"] = event_id or ""
    for model in _EVENT_MODELS:
        try:
            # A model refuses another event's name before it looks at `data`.
            event = model.from_dict(frame)
        except ValueError as refused:
            if "must match const" in str(refused):
                continue
            raise
        except (TypeError, AttributeError, KeyError):
            if invalid is not None:
                raise invalid from None
            raise
        return StreamEvent(kind, own_id, event.data, event)
    return StreamEvent(kind, event_id, data)


def _refusal(response: httpx.Response) -> StreamError:
    body = response.read().decode("utf-8", "replace")
    try:
        problem = Problem.from_dict(json.loads(body))
    except (ValueError, KeyError, TypeError):
        problem = None
    return StreamError(response.status_code, problem, body)
