-- Presence (docs/presence.md). Each server process registers a fresh row at start and
-- heartbeats it; another process that finds its heartbeat stale announces the leaves of its
-- members and deletes it.
CREATE TABLE servers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A signed-in user's open streams of one room on one server process. A member is present
-- while any server holds a row for them (and for a grace period after the last one goes).
-- `sessions` is written lazily (within a second); the row's existence is written before the
-- stream's response.
CREATE TABLE presence_sessions (
    namespace TEXT NOT NULL,
    room TEXT NOT NULL,
    username TEXT NOT NULL,
    server_id BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    sessions INTEGER NOT NULL,
    PRIMARY KEY (namespace, room, username, server_id)
);
CREATE INDEX presence_sessions_server_idx ON presence_sessions (server_id);

-- Anonymous streams of one room on one server process, written lazily (within a second).
CREATE TABLE presence_anonymous (
    namespace TEXT NOT NULL,
    room TEXT NOT NULL,
    server_id BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    streams INTEGER NOT NULL,
    PRIMARY KEY (namespace, room, server_id)
);
CREATE INDEX presence_anonymous_server_idx ON presence_anonymous (server_id);

-- Membership intervals: a member joined at the position of its `presence.joined` event and
-- left at the position of its `presence.left` (NULL while present). Written in the same
-- transactions as those events, so the membership at any committed position h is exactly
-- the intervals with joined <= h < left, without reading the log.
CREATE TABLE presence_intervals (
    namespace TEXT NOT NULL,
    room TEXT NOT NULL,
    username TEXT NOT NULL,
    joined_xid BIGINT NOT NULL,
    joined_id BIGINT NOT NULL,
    since TIMESTAMPTZ NOT NULL,
    left_xid BIGINT,
    left_id BIGINT,
    PRIMARY KEY (namespace, room, username, joined_xid, joined_id)
);
CREATE UNIQUE INDEX presence_intervals_open_idx
    ON presence_intervals (namespace, room, username) WHERE left_xid IS NULL;
CREATE INDEX presence_intervals_left_idx
    ON presence_intervals (left_xid, left_id) WHERE left_xid IS NOT NULL;

-- Rooms with messages or members, for `GET /api/rooms/{namespace}`. `members` is kept by
-- the presence transactions; `last_activity` also by a background pass over the log (each
-- process, about once a second, from the shared watermark below), so that posting a
-- message writes nothing more.
CREATE TABLE rooms (
    namespace TEXT NOT NULL,
    room TEXT NOT NULL,
    last_activity TIMESTAMPTZ NOT NULL,
    members INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (namespace, room)
);
CREATE INDEX rooms_activity_idx ON rooms (namespace, last_activity DESC, room);
INSERT INTO rooms (namespace, room, last_activity)
    SELECT namespace, room, max(created_at) FROM messages GROUP BY namespace, room;

-- The log position up to which `rooms.last_activity` has taken the log's messages in.
CREATE TABLE rooms_watermark (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    xid BIGINT NOT NULL,
    id BIGINT NOT NULL
);
INSERT INTO rooms_watermark (singleton, xid, id) VALUES (TRUE, 0, 0);
