"""`parley_events.subscribe` against the real server: live, resume, filters, reconnect."""

from __future__ import annotations

from itertools import islice

import pytest
from conftest import Account, ParleyServer, Server, unique
from parley_client.api.messages import create_message, delete_message, update_message
from parley_client.api.notes import create_note, delete_note, read_note, update_note
from parley_client.models import (
    CreateNote,
    DeletedMessage,
    DeletedNote,
    Message,
    MessageBody,
    Note,
    StreamMarker,
    UpdateNote,
)

from parley_events import READY, EventStream, EventType, StreamError, StreamEvent, subscribe


def take(events: EventStream, count: int) -> list[StreamEvent]:
    return list(islice(events, count))


def until(events: EventStream, kind: str) -> list[StreamEvent]:
    """Every event up to and including the first one of type `kind`."""
    taken: list[StreamEvent] = []
    for event in events:
        taken.append(event)
        if event.type == kind:
            return taken
    raise AssertionError("the stream ended")


def ready(events: EventStream) -> StreamEvent:
    event = next(events)
    assert event.type == READY and isinstance(event.data, StreamMarker), event
    assert event.id == event.data.position
    return event


def new_note(user: Account, key: str, body: str = "") -> Note:
    note = create_note.sync(client=user.client, body=CreateNote(key=key, title=key, body=body))
    assert isinstance(note, Note)
    return note


def comment(user: Account, key: str, text: str) -> Message:
    message = create_message.sync("notes", key, client=user.client, body=MessageBody(text))
    assert isinstance(message, Message)
    return message


def edit(user: Account, key: str, body: str) -> None:
    note = update_note.sync(key, client=user.client, body=UpdateNote(title=key, body=body))
    assert isinstance(note, Note)


def test_a_note_room_and_the_namespace_see_every_change_in_order(
    user: Account, base_url: str
) -> None:
    key = unique("live")
    with subscribe(base_url, "notes", key) as room, subscribe(base_url, "notes") as home:
        ready(room), ready(home)
        new_note(user, key, "milk")
        edit(user, key, "oat milk")
        posted = comment(user, key, "milk?")
        update_message.sync(posted.id, client=user.client, body=MessageBody("oat milk?"))
        delete_message.sync_detailed(posted.id, client=user.client)
        delete_note.sync_detailed(key, client=user.client)

        events = take(room, 6)
        assert [e.type for e in events] == [
            EventType.NOTE_CREATED,
            EventType.NOTE_UPDATED,
            EventType.MESSAGE_CREATED,
            EventType.MESSAGE_UPDATED,
            EventType.MESSAGE_DELETED,
            EventType.NOTE_DELETED,
        ]
        created, updated, message, edited, removed, gone = (e.data for e in events)
        assert isinstance(created, Note) and (created.key, created.body) == (key, "milk")
        assert (created.author, created.version) == (user.username, 1)
        assert isinstance(updated, Note) and (updated.body, updated.version) == ("oat milk", 2)
        assert isinstance(message, Message) and message.from_ == user.username
        assert (message.id, message.room, message.message) == (posted.id, key, "milk?")
        assert isinstance(edited, Message) and edited.message == "oat milk?"
        assert isinstance(removed, DeletedMessage)
        assert (removed.id, removed.namespace, removed.room) == (posted.id, "notes", key)
        assert isinstance(gone, DeletedNote) and gone.key == key
        ids = [e.id for e in events]
        assert None not in ids and len(set(ids)) == 6
        assert room.last_event_id == ids[-1]

        assert take(home, 6) == events  # same events, same ids, same order


def test_resume_replays_exactly_what_was_missed(user: Account, base_url: str) -> None:
    key = unique("resume")
    with subscribe(base_url, "notes", key) as events:
        ready(events)
        new_note(user, key)
        (created,) = take(events, 1)
        position = events.last_event_id
    assert created.type == EventType.NOTE_CREATED and position == created.id

    edit(user, key, "while away")
    missed = comment(user, key, "did you see this?")

    with subscribe(base_url, "notes", key, last_event_id=position) as events:
        replayed = until(events, READY)
        edit(user, key, "back again")  # after `ready`: the next event must be this one
        (live,) = take(events, 1)
    assert [e.type for e in replayed] == [EventType.NOTE_UPDATED, EventType.MESSAGE_CREATED, READY]
    update, message, marker = (e.data for e in replayed)
    assert isinstance(update, Note) and (update.body, update.version) == ("while away", 2)
    assert isinstance(message, Message) and message.id == missed.id
    assert isinstance(marker, StreamMarker) and marker.position == replayed[1].id
    assert isinstance(live.data, Note) and live.data.version == 3

    # List (or read), then subscribe from its Stream-Position: nothing is missed.
    read = read_note.sync_detailed(key, client=user.client)
    with subscribe(base_url, "notes", last_event_id=read.headers["stream-position"]) as events:
        ready(events)
        delete_note.sync_detailed(key, client=user.client)
        its_comment, deleted = take(events, 2)  # a note's comments go first, in one transaction
    assert isinstance(its_comment.data, DeletedMessage) and its_comment.data.id == missed.id
    assert isinstance(deleted.data, DeletedNote) and deleted.data.key == key


def test_types_filter(user: Account, base_url: str) -> None:
    key = unique("filtered")
    wanted = [EventType.NOTE_UPDATED, "note.deleted"]
    with subscribe(base_url, "notes", types=wanted) as events:
        ready(events)
        new_note(user, key)
        comment(user, key, "not this")
        edit(user, key, "this")
        delete_note.sync_detailed(key, client=user.client)
        updated, deleted = take(events, 2)
    assert updated.type == EventType.NOTE_UPDATED and isinstance(updated.data, Note)
    assert deleted.type == EventType.NOTE_DELETED and isinstance(deleted.data, DeletedNote)


def test_refused_streams_raise_with_the_problem(base_url: str) -> None:
    with subscribe(base_url, "notes", types=["note.renamed"]) as events:
        with pytest.raises(StreamError) as refused:
            next(events)
    assert refused.value.status == 422 and refused.value.problem is not None
    assert refused.value.problem.type_ == "urn:parley:problem:validation"
    assert [e.field for e in refused.value.problem.errors or []] == ["types"]

    with subscribe(base_url, "chat", "general", last_event_id="banana") as events:
        with pytest.raises(StreamError) as bad_position:
            next(events)
    assert bad_position.value.status == 400


def test_reconnects_with_last_event_id_after_the_server_restarts(
    parley: ParleyServer, user: Account
) -> None:
    """A second server on the same database stops and comes back on the same port."""
    database = f"postgresql:///parley?host={parley.data_dir}/postgres&user=parley"
    other = Server("--database-url", database)
    room = unique("room")
    with subscribe(other.url, "chat", room) as events:
        marker = ready(events)
        assert other.stop() == 0  # ends the stream cleanly
        sent = create_message.sync("chat", room, client=user.client, body=MessageBody("missed?"))
        back = Server("--database-url", database, listen=f"127.0.0.1:{other.port}")
        try:
            # The stream ended: the iterator waits `retry:` ms, then resumes from `ready`'s id.
            assert events.last_event_id == marker.id and 2000 <= events.retry_ms <= 3000
            message, caught_up = take(events, 2)
        finally:
            back.stop()
    assert isinstance(sent, Message) and isinstance(message.data, Message)
    assert message.type == EventType.MESSAGE_CREATED and message.data.id == sent.id
    assert caught_up.type == READY and caught_up.id == message.id
