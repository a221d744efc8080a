DROP TABLE event_log_floor;
DROP TABLE events;
DROP TABLE messages;
