"""Presence and typing against the real server (started with a 1 s `--presence-grace`)."""

from __future__ import annotations

from conftest import Account, sign_up, unique
from parley_client import AuthenticatedClient
from parley_client.api.messages import create_message
from parley_client.api.presence import create_typing, list_rooms, read_presence
from parley_client.models import (
    Message,
    MessageBody,
    PresenceJoined,
    PresenceLeft,
    PresenceSnapshot,
    Problem,
    RoomPage,
    StreamMarker,
    Typing,
)

from parley_events import READY, EventStream, EventType, Presence, StreamEvent, subscribe


def ready(events: EventStream) -> StreamMarker:
    event = next(events)
    assert event.type == READY and isinstance(event.data, StreamMarker), event
    return event.data


def next_event(events: EventStream, me: str) -> StreamEvent:
    """The next event past `me`'s own join, which may follow `ready` (docs/presence.md)."""
    for event in events:
        if not (isinstance(event.data, PresenceJoined) and event.data.user == me):
            return event
    raise AssertionError("the stream ended")


def members(presence: Presence | None) -> list[str]:
    assert presence is not None
    return sorted(presence.members)


def test_two_users_see_each_other_join_type_talk_and_leave(user: Account, base_url: str) -> None:
    alice, bob = user, sign_up(base_url)
    room = unique("room")
    with subscribe(base_url, "chat", room, token=alice.token) as mine:
        greeting = ready(mine)
        assert greeting.you == alice.username
        assert isinstance(greeting.presence, PresenceSnapshot) and not greeting.presence.large
        assert mine.presence is not None and mine.presence.you == alice.username

        with subscribe(base_url, "chat", room, token=bob.token) as his:
            assert ready(his).you == bob.username
            joined = next_event(mine, alice.username)
            assert joined.type == EventType.PRESENCE_JOINED and joined.id is not None
            assert isinstance(joined.data, PresenceJoined) and joined.data.user == bob.username
            assert members(mine.presence) == sorted([alice.username, bob.username])

            # bob types: alice hears it, without an id, and her resume position stays.
            position = mine.last_event_id
            sent = create_typing.sync_detailed("chat", room, client=bob.client)
            assert sent.status_code == 202
            typing = next_event(mine, alice.username)
            assert typing.type == EventType.TYPING and typing.id is None
            assert isinstance(typing.data, Typing) and typing.data.user == bob.username
            assert typing.data.expires_in_ms > 0
            assert mine.last_event_id == position

            create_message.sync("chat", room, client=bob.client, body=MessageBody("hi alice"))
            said = next_event(mine, alice.username)
            assert isinstance(said.data, Message) and said.data.from_ == bob.username

        # bob's only stream is closed: after the grace period, alice hears that he left.
        left = next_event(mine, alice.username)
        assert left.type == EventType.PRESENCE_LEFT and isinstance(left.data, PresenceLeft)
        assert left.data.user == bob.username
        assert members(mine.presence) == [alice.username]

    # Resumed from alice's ready: the join, the message and the leave, never the typing.
    with subscribe(base_url, "chat", room, last_event_id=greeting.position) as replay:
        replayed: list[StreamEvent] = []
        while not replayed or replayed[-1].type != READY:
            replayed.append(next_event(replay, alice.username))
        assert [e.type for e in replayed] == [
            EventType.PRESENCE_JOINED,
            EventType.MESSAGE_CREATED,
            EventType.PRESENCE_LEFT,
            READY,
        ]
        assert members(replay.presence) == [alice.username]
        assert replay.presence is not None and replay.presence.you is None  # anonymous


def test_presence_snapshot_rooms_and_typing_calls(user: Account, base_url: str) -> None:
    room = unique("room")
    with subscribe(base_url, "chat", room, token=user.token) as mine:
        ready(mine)
        answer = read_presence.sync_detailed("chat", room, client=user.client)
        snapshot = answer.parsed
        assert isinstance(snapshot, PresenceSnapshot) and not snapshot.large
        # The join committed before the stream's 200: any read after it shows the member.
        assert [(m.user, m.sessions) for m in snapshot.members] == [(user.username, 1)]
        position = answer.headers["stream-position"]

        # The snapshot, then the room's events from its position: exact, with no gap.
        tracker = Presence()
        tracker.reset(snapshot)
        other = sign_up(base_url)
        with subscribe(base_url, "chat", room, last_event_id=position) as follower:
            with subscribe(base_url, "chat", room, token=other.token) as theirs:
                ready(theirs)
                joined = next(follower)  # replayed from `position`, or live
                assert joined.type == EventType.PRESENCE_JOINED and tracker.apply(joined)
                assert members(tracker) == sorted([user.username, other.username])
                assert members(follower.presence) == [other.username]  # no snapshot yet
                ready(follower)
                assert members(follower.presence) == members(tracker)

        page = list_rooms.sync("chat", client=user.client, limit=100)
        assert isinstance(page, RoomPage)
        (listed,) = [r for r in page.items if r.room == room]
        assert listed.members >= 1 and listed.last_activity is not None

    # The generated call needs an AuthenticatedClient: one whose token the server never issued.
    stranger = AuthenticatedClient(base_url, token="not-a-session")
    refused = create_typing.sync_detailed("chat", room, client=stranger)
    assert refused.status_code == 401 and isinstance(refused.parsed, Problem)
