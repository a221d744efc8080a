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
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    event_log_floor,
    events,
    messages,
    notes,
    sessions,
    users,
);
