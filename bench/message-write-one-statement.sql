-- The same work as message-write.sql in one statement (one round trip, no BEGIN and
-- COMMIT): a measure of what a single-statement write path could gain. Parley does not
-- do this yet (docs/performance.md).
WITH author AS (SELECT u.id, u.username FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = decode(:token, 'hex') AND s.expires_at > now()), message AS (INSERT INTO messages (namespace, room, author_id, message) SELECT 'chat', 'pgbench', author.id, 'hello there' FROM author RETURNING id, namespace, room, author_id, message, created_at, updated_at), event AS (INSERT INTO events (namespace, room, event_type, data) SELECT namespace, room, 'message.created', '{"id":' || id || ',"message":"hello there"}' FROM message) SELECT * FROM message;
