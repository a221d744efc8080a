-- What one create-message costs PostgreSQL, without Parley: the statements the server
-- sends for POST /api/rooms/chat/{room}/messages, one round trip each, prepared
-- (see docs/performance.md, "The database's own cost of a message").
-- pgbench -n -M prepared -D token=<session token hash, hex> -D author=<user id> ...
BEGIN;
SELECT u.id, u.username FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = decode(:token, 'hex') AND s.expires_at > now() LIMIT 1;
INSERT INTO messages (namespace, room, author_id, message) VALUES ('chat', 'pgbench', :author, 'hello there') RETURNING id, namespace, room, author_id, message, created_at, updated_at;
INSERT INTO events (namespace, room, event_type, data) VALUES ('chat', 'pgbench', 'message.created', '{"id":1,"from":"pgbench","namespace":"chat","room":"pgbench","message":"hello there","created_at":"2026-11-22T00:00:00.000001Z","updated_at":"2026-11-22T00:00:00.000001Z"}');
COMMIT;
