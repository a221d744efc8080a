"""The event types of ``parley_events`` are the spec's.

mypy (strict, with ``warn_unused_ignores``) checks this file before the tests run: each
``type: ignore`` below fails the check if the mistake it marks were accepted, so ``data``
must be typed by the event's name.
"""

import json
from pathlib import Path
from typing import get_args

from parley_client.models import EventType, Note

from parley_events import Event, _decode

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
    return f"at {event.data.position}"


def mistakes(event: Event) -> None:
    """Never run: mypy must refuse each line (an unneeded ignore fails the check)."""
    if event.event == "note.deleted":
        print(event.data.title)  # type: ignore[attr-defined]
    if event.event == "message.deleted":
        print(event.data.message)  # type: ignore[attr-defined]
    if event.event == "ready":
        print(event.data.key)  # type: ignore[attr-defined]


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
    assert _decode("presence.joined", None, "x").event is None
