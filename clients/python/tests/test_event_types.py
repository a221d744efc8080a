"""The event types of ``parley_events`` are the spec's.

mypy (strict, with ``warn_unused_ignores``) checks this file before the tests run: each
``type: ignore`` below fails the check if the mistake it marks were accepted, so ``data``
must be typed by the event's name.
"""

import json
from pathlib import Path
from typing import get_args

from parley_client.models import EventType, Note

from parley_events import EPHEMERAL, Event, Presence, _decode

SPEC = Path(__file__).resolve().parents[3] / "openapi" / "openapi.json"


def describe(event: Event) -> str:
    if event.event == "note.deleted":
        return f"deleted {event.data.key}"
    if event.event == "note.created" or event.event == "note.updated":
        return f"{event.data.key}: {event.data.title}"
    if event.event == "message.deleted":
        return f"deleted {event.data.id}"
    if event.event == "message.created" or event.event == "message.updated":
        return f"{event.data.from_}: {event.data.message}"
    if event.event == "presence.joined":
        return f"{event.data.user} joined at {event.data.since}"
    if event.event == "presence.left":
        return f"{event.data.user} left"
    if event.event == "typing":
        return f"{event.data.user} is typing"
    if event.event == "presence.count":
        return f"{event.data.members} members"
    return f"at {event.data.position}"


def mistakes(event: Event) -> None:
    """Never run: mypy must refuse each line (an unneeded ignore fails the check)."""
    if event.event == "note.deleted":
        print(event.data.title)  # type: ignore[attr-defined]
    if event.event == "message.deleted":
        print(event.data.message)  # type: ignore[attr-defined]
    if event.event == "ready":
        print(event.data.key)  # type: ignore[attr-defined]
    if event.event == "presence.left":
        print(event.data.since)  # type: ignore[attr-defined]
    if event.event == "typing":
        print(event.id)  # type: ignore[attr-defined]


def test_the_event_union_is_the_specs_stream_event() -> None:
    schemas = json.loads(SPEC.read_text())["components"]["schemas"]
    mapping = schemas["StreamEvent"]["discriminator"]["mapping"]
    models = {model.__name__ for model in get_args(Event)}
    assert models == {target.rsplit("/", 1)[1] for target in mapping.values()}
    assert set(mapping) == {kind.value for kind in EventType} | {"ready", "reset"}


def test_an_event_is_decoded_into_the_model_its_name_says() -> None:
    decoded = _decode("note.deleted", "1-2", '{"key": "k"}')
    assert decoded.event is not None and decoded.event.event == "note.deleted"
    assert describe(decoded.event) == "deleted k"
    note = {
        "key": "k",
        "title": "T",
        "body": "",
        "author": "a",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "version": 1,
    }
    created = _decode("note.created", "1-1", json.dumps(note))
    assert isinstance(created.data, Note) and created.event is not None
    assert describe(created.event) == "k: T"
    assert _decode("note.moved", None, "x").event is None


def test_the_ephemeral_types_are_the_specs_events_without_an_id() -> None:
    schemas = json.loads(SPEC.read_text())["components"]["schemas"]
    mapping = schemas["StreamEvent"]["discriminator"]["mapping"]
    without_id = {
        kind.value
        for kind in EventType
        if "id" not in schemas[mapping[kind.value].rsplit("/", 1)[1]]["required"]
    }
    assert {kind.value for kind in EPHEMERAL} == without_id == {"typing", "presence.count"}
    typing = _decode("typing", "7-1", '{"user": "bob", "expires_in_ms": 5000}')
    assert typing.id is None and typing.event is not None and typing.event.event == "typing"


def test_a_large_rooms_snapshot_gives_its_count_before_any_presence_count() -> None:
    presence = Presence()
    snapshot = {"members": [], "members_count": 140, "anonymous": 3, "large": True}
    ready = {"position": "5-1", "presence": snapshot}
    assert presence.apply(_decode("ready", "5-1", json.dumps(ready)))
    assert (presence.large, presence.count, presence.anonymous, presence.members) == (
        True,
        140,
        3,
        {},
    )


def test_presence_follows_snapshot_joins_leaves_and_counts() -> None:
    presence = Presence()
    snapshot = {
        "members": [{"user": "alice", "sessions": 2, "since": "2026-01-01T00:00:00Z"}],
        "members_count": 1,
        "anonymous": 1,
        "large": False,
    }
    ready = {"position": "5-1", "you": "alice", "presence": snapshot}
    assert presence.apply(_decode("ready", "5-1", json.dumps(ready)))
    assert (presence.you, sorted(presence.members), presence.count) == ("alice", ["alice"], 1)
    where = {"namespace": "chat", "room": "general"}
    joined = json.dumps({**where, "user": "bob", "since": "2026-01-01T00:01:00Z"})
    assert presence.apply(_decode("presence.joined", "6-1", joined))
    assert sorted(presence.members) == ["alice", "bob"]
    alice_left, nobody_left = ({**where, "user": user} for user in ("alice", "nobody"))
    assert presence.apply(_decode("presence.left", "7-1", json.dumps(alice_left)))
    assert not presence.apply(_decode("presence.left", "7-2", json.dumps(nobody_left)))
    assert not presence.apply(_decode("typing", None, '{"user": "bob", "expires_in_ms": 1}'))
    assert sorted(presence.members) == ["bob"]
    assert presence.apply(_decode("presence.count", None, '{"members": 150, "anonymous": 9}'))
    assert (presence.large, presence.count, presence.anonymous, presence.members) == (
        True,
        150,
        9,
        {},
    )
