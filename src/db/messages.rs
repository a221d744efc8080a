use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::{messages, users};
use crate::models::Message;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = messages)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct MessageRow {
    pub id: i64,
    pub namespace: String,
    pub room: String,
    pub author_id: i64,
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl MessageRow {
    pub fn into_message(self, from: String) -> Message {
        Message {
            id: self.id,
            from,
            namespace: self.namespace,
            room: self.room,
            message: self.message,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

pub struct NewMessage<'a> {
    pub namespace: &'a str,
    pub room: &'a str,
    pub author_id: i64,
    pub message: &'a str,
}

pub fn insert(conn: &mut PgConnection, message: &NewMessage<'_>) -> QueryResult<MessageRow> {
    // A tuple of columns, unlike a derived `Insertable`, lets diesel keep the statement
    // prepared on the connection: no parsing and planning on every post.
    diesel::insert_into(messages::table)
        .values((
            messages::namespace.eq(message.namespace),
            messages::room.eq(message.room),
            messages::author_id.eq(message.author_id),
            messages::message.eq(message.message),
        ))
        .returning(MessageRow::as_returning())
        .get_result(conn)
}

pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Option<Message>> {
    messages::table
        .inner_join(users::table)
        .filter(messages::id.eq(id))
        .select((MessageRow::as_select(), users::username))
        .first::<(MessageRow, String)>(conn)
        .optional()
        .map(|found| found.map(|(row, from)| row.into_message(from)))
}

/// Locks the message's row for the rest of the transaction.
pub fn lock(conn: &mut PgConnection, id: i64) -> QueryResult<Option<MessageRow>> {
    messages::table
        .filter(messages::id.eq(id))
        .select(MessageRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Up to `limit` messages of a room older than `before` (an id), newest first.
pub fn list(
    conn: &mut PgConnection,
    namespace: &str,
    room: &str,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Message>> {
    let mut query = messages::table
        .inner_join(users::table)
        .filter(messages::namespace.eq(namespace))
        .filter(messages::room.eq(room))
        .select((MessageRow::as_select(), users::username))
        .order(messages::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(messages::id.lt(before));
    }
    query.load::<(MessageRow, String)>(conn).map(|rows| {
        rows.into_iter()
            .map(|(row, from)| row.into_message(from))
            .collect()
    })
}

pub fn update(conn: &mut PgConnection, id: i64, text: &str) -> QueryResult<MessageRow> {
    diesel::update(messages::table.find(id))
        .set((
            messages::message.eq(text),
            messages::updated_at.eq(diesel::dsl::now),
        ))
        .returning(MessageRow::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(messages::table.find(id)).execute(conn)
}

/// Deletes every message of a room, returning their ids in the order they were posted.
pub fn delete_room(conn: &mut PgConnection, namespace: &str, room: &str) -> QueryResult<Vec<i64>> {
    let mut ids: Vec<i64> = diesel::delete(
        messages::table
            .filter(messages::namespace.eq(namespace))
            .filter(messages::room.eq(room)),
    )
    .returning(messages::id)
    .get_results(conn)?;
    ids.sort_unstable();
    Ok(ids)
}
