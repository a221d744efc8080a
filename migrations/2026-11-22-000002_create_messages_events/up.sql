CREATE TABLE messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace TEXT NOT NULL,
    room TEXT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES users (id),
    message TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Newest first within a room, and a cursor on id.
CREATE INDEX messages_room_idx ON messages (namespace, room, id DESC);

-- The event log (transactional outbox). A row's position is (xid, id): the writing
-- transaction's id, then the row's own sequence number. Readers only read rows whose
-- xid is below the oldest transaction still running, so a transaction that commits
-- late can never slip in behind a position a reader has already passed. See
-- docs/event-log.md.
CREATE TABLE events (
    xid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    id BIGINT GENERATED ALWAYS AS IDENTITY,
    namespace TEXT NOT NULL,
    room TEXT NOT NULL,
    event_type TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (xid, id)
);
CREATE INDEX events_room_idx ON events (namespace, room, xid, id);
CREATE INDEX events_namespace_idx ON events (namespace, xid, id);
CREATE INDEX events_created_at_idx ON events (created_at);

-- The newest position retention has deleted: a client resuming from before it may have
-- missed events and is told to start over (`event: reset`).
CREATE TABLE event_log_floor (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    xid BIGINT NOT NULL,
    id BIGINT NOT NULL
);
INSERT INTO event_log_floor (singleton, xid, id) VALUES (TRUE, 0, 0);
