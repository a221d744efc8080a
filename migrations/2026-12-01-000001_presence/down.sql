DROP TABLE rooms_watermark;
DROP TABLE rooms;
DROP TABLE presence_intervals;
DROP TABLE presence_anonymous;
DROP TABLE presence_sessions;
DROP TABLE servers;
