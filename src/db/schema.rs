// @generated automatically by Diesel CLI.

diesel::table! {
    event_log_floor (singleton) {
        singleton -> Bool,
        xid -> Int8,
        id -> Int8,
    }
}

diesel::table! {
    events (xid, id) {
        xid -> Int8,
        id -> Int8,
        namespace -> Text,
        room -> Text,
        event_type -> Text,
        data -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    messages (id) {
        id -> Int8,
        namespace -> Text,
        room -> Text,
        author_id -> Int8,
        message -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    notes (key) {
        key -> Text,
        title -> Text,
        body -> Text,
        author_id -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
    }
}

diesel::table! {
    presence_anonymous (namespace, room, server_id) {
        namespace -> Text,
        room -> Text,
        server_id -> Int8,
        streams -> Int4,
    }
}

diesel::table! {
    presence_intervals (namespace, room, username, joined_xid, joined_id) {
        namespace -> Text,
        room -> Text,
        username -> Text,
        joined_xid -> Int8,
        joined_id -> Int8,
        since -> Timestamptz,
        left_xid -> Nullable<Int8>,
        left_id -> Nullable<Int8>,
    }
}

diesel::table! {
    presence_sessions (namespace, room, username, server_id) {
        namespace -> Text,
        room -> Text,
        username -> Text,
        server_id -> Int8,
        sessions -> Int4,
    }
}

diesel::table! {
    rooms (namespace, room) {
        namespace -> Text,
        room -> Text,
        last_activity -> Timestamptz,
        members -> Int4,
    }
}

diesel::table! {
    rooms_watermark (singleton) {
        singleton -> Bool,
        xid -> Int8,
        id -> Int8,
    }
}

diesel::table! {
    servers (id) {
        id -> Int8,
        started_at -> Timestamptz,
        heartbeat_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Bytea,
        user_id -> Int8,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        username -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(messages -> users (author_id));
diesel::joinable!(notes -> users (author_id));
diesel::joinable!(presence_anonymous -> servers (server_id));
diesel::joinable!(presence_sessions -> servers (server_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    event_log_floor,
    events,
    messages,
    notes,
    presence_anonymous,
    presence_intervals,
    presence_sessions,
    rooms,
    rooms_watermark,
    servers,
    sessions,
    users,
);
