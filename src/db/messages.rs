use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Binary, Bool, Nullable, Text, Timestamptz};

use super::outbox::{Outcome, Statement};
use super::schema::{messages, users};
use super::sessions;
use crate::api_types::Message;
use crate::domain::{Namespace, Room};
use crate::event::EventType;

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
    // Inside a `Db::write` transaction (the tests hold one open mid-write); the API posts
    // through [`Post`]. A tuple of columns, unlike a derived `Insertable`, lets diesel keep
    // the statement prepared on the connection.
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

/// A message to post as the user of a session: the session lookup, the note check (for
/// a comment), the message, its `message.created` event and the commit in one statement
/// with no `BEGIN` or `COMMIT` (docs/performance.md measured 1.4–2.2× the throughput of
/// the five statements this takes inside [`crate::db::Db::write`]). Both rows commit
/// together or not at all, as the event log requires.
///
/// The event's payload is built in SQL, since the message's id and timestamps exist only
/// inside the statement; it must equal the API's JSON for [`Message`], which the tests
/// check (`parley_json_timestamp` prints timestamps as chrono does).
pub struct Post {
    pub token_hash: Vec<u8>,
    pub namespace: Namespace,
    pub room: Room,
    pub message: String,
}

/// Why a [`Post`] wrote nothing.
#[derive(Debug)]
pub enum PostRefused {
    /// No live session has that token.
    NoSession,
    /// In `notes`, no note has the room's key.
    NoNote,
}

/// What both statements return for each message: the author (none: no live session),
/// whether the room allows it (a comment's note exists), and the new row's id and
/// timestamps (none: nothing written).
type PostRow = (
    Option<String>,
    bool,
    Option<i64>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

type PostRowSql = (
    Nullable<Text>,
    Bool,
    Nullable<BigInt>,
    Nullable<Timestamptz>,
    Nullable<Timestamptz>,
);

impl Post {
    fn outcome(&self, row: PostRow) -> QueryResult<Outcome<Self>> {
        Ok(match row {
            (None, ..) => Err(PostRefused::NoSession),
            (Some(_), false, ..) => Err(PostRefused::NoNote),
            (Some(from), true, Some(id), Some(created_at), Some(updated_at)) => Ok(Message {
                id,
                from,
                namespace: self.namespace.as_str().to_owned(),
                room: self.room.as_str().to_owned(),
                message: self.message.clone(),
                created_at,
                updated_at,
            }),
            (Some(_), true, ..) => {
                return Err(diesel::result::Error::DeserializationError(
                    "posting a message returned no row".into(),
                ));
            }
        })
    }
}

impl Statement for Post {
    const EVENT: EventType = EventType::MessageCreated;
    type Written = Message;
    type Refused = PostRefused;

    fn run(&self, conn: &mut PgConnection) -> QueryResult<Outcome<Self>> {
        let row = if self.namespace.is_notes() {
            PostQuery::<true>(self).get_result::<PostRow>(conn)?
        } else {
            PostQuery::<false>(self).get_result::<PostRow>(conn)?
        };
        self.outcome(row)
    }

    fn run_batch(
        batch: &[Self],
        conn: &mut PgConnection,
    ) -> QueryResult<Vec<QueryResult<Outcome<Self>>>> {
        let query = PostBatchQuery {
            tokens: batch
                .iter()
                .map(|post| post.token_hash.as_slice())
                .collect(),
            namespaces: batch.iter().map(|post| post.namespace.as_str()).collect(),
            rooms: batch.iter().map(|post| post.room.as_str()).collect(),
            messages: batch.iter().map(|post| post.message.as_str()).collect(),
        };
        let rows = query.load::<PostRow>(conn)?;
        Ok(batch
            .iter()
            .zip(rows)
            .map(|(post, row)| post.outcome(row))
            .collect())
    }
}

/// The event's payload, built in SQL from the `message` and `author` rows: the fields of
/// `Message`, in its order, as serde_json writes them. One text for the single statement
/// and the batch, so that both write the same bytes.
const MESSAGE_JSON_SQL: &str = "'{\"id\":' || message.id \
    || ',\"from\":' || to_json(author.username) \
    || ',\"namespace\":' || to_json(message.namespace) \
    || ',\"room\":' || to_json(message.room) \
    || ',\"message\":' || to_json(message.message) \
    || ',\"created_at\":\"' || parley_json_timestamp(message.created_at) \
    || '\",\"updated_at\":\"' || parley_json_timestamp(message.updated_at) \
    || '\"}'";

/// The SQL of [`Post`]: a query type of its own, with a static query id, so that
/// diesel keeps it prepared on each connection (it never caches `sql_query`). A comment on
/// a note (`COMMENT`) and a chat line are two statements rather than one with a `CASE` on
/// the namespace: PostgreSQL would then find a plan specialised to each call's namespace
/// cheaper than the prepared generic one and plan every call again (0.3–0.7 ms each).
struct PostQuery<'q, const COMMENT: bool>(&'q Post);

impl<const COMMENT: bool> QueryId for PostQuery<'_, COMMENT> {
    type QueryId = PostQuery<'static, COMMENT>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const COMMENT: bool> Query for PostQuery<'_, COMMENT> {
    type SqlType = PostRowSql;
}

impl<const COMMENT: bool> RunQueryDsl<PgConnection> for PostQuery<'_, COMMENT> {}

impl<const COMMENT: bool> QueryFragment<Pg> for PostQuery<'_, COMMENT> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let post = self.0;
        out.push_sql("WITH author AS (");
        out.push_sql(sessions::USER_OF_TOKEN_SQL);
        out.push_bind_param::<Binary, _>(&post.token_hash)?;
        if COMMENT {
            // The note is locked until commit, so that a concurrent delete of the note
            // cannot leave the comment behind.
            out.push_sql("), room AS (SELECT EXISTS (SELECT 1 FROM notes WHERE key = ");
            out.push_bind_param::<Text, _>(post.room.as_str())?;
            out.push_sql(" FOR KEY SHARE) AS allowed");
        } else {
            out.push_sql("), room AS (SELECT TRUE AS allowed");
        }
        out.push_sql(
            "), message AS (\
                INSERT INTO messages (namespace, room, author_id, message) SELECT ",
        );
        out.push_bind_param::<Text, _>(post.namespace.as_str())?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(post.room.as_str())?;
        out.push_sql(", author.id, ");
        out.push_bind_param::<Text, _>(&post.message)?;
        out.push_sql(
            " FROM author, room WHERE room.allowed \
                RETURNING id, namespace, room, message, created_at, updated_at), \
            event AS (\
                INSERT INTO events (namespace, room, event_type, data) \
                SELECT message.namespace, message.room, ",
        );
        out.push_bind_param::<Text, _>(Post::EVENT.as_str())?;
        out.push_sql(", ");
        out.push_sql(MESSAGE_JSON_SQL);
        out.push_sql(
            " FROM message, author) \
            SELECT author.username, room.allowed, message.id, message.created_at, \
                message.updated_at \
            FROM room LEFT JOIN author ON TRUE LEFT JOIN message ON TRUE",
        );
        Ok(())
    }
}

/// The SQL of [`Post::run_batch`]: the posts as arrays, one row per post (`n`, from 1,
/// their order). Each message's id is taken from the sequence before the insert, so that
/// each row of the answer is matched to its post by id rather than by the order of an
/// `INSERT … RETURNING`. The events are inserted in id order, so within the batch's
/// transaction the log's order is the messages' order.
struct PostBatchQuery<'q> {
    tokens: Vec<&'q [u8]>,
    namespaces: Vec<&'q str>,
    rooms: Vec<&'q str>,
    messages: Vec<&'q str>,
}

impl QueryId for PostBatchQuery<'_> {
    type QueryId = PostBatchQuery<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for PostBatchQuery<'_> {
    type SqlType = PostRowSql;
}

impl RunQueryDsl<PgConnection> for PostBatchQuery<'_> {}

impl QueryFragment<Pg> for PostBatchQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH input AS (SELECT * FROM unnest(");
        out.push_bind_param::<Array<Binary>, _>(&self.tokens)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.namespaces)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.rooms)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.messages)?;
        out.push_sql(
            ") WITH ORDINALITY AS input (token_hash, namespace, room, message, n)), \
            author AS (SELECT input.n, users.id, users.username FROM input \
                JOIN sessions ON sessions.token_hash = input.token_hash \
                    AND sessions.expires_at > now() \
                JOIN users ON users.id = sessions.user_id), \
            room AS (SELECT input.n, CASE WHEN input.namespace = ",
        );
        out.push_bind_param::<Text, _>(Namespace::NOTES)?;
        // As in the single statement, a comment's note is locked until commit.
        out.push_sql(
            " THEN EXISTS (SELECT 1 FROM notes WHERE notes.key = input.room FOR KEY SHARE) \
                ELSE TRUE END AS allowed FROM input), \
            written AS (SELECT n, nextval('messages_id_seq') AS id FROM (\
                SELECT input.n FROM input \
                JOIN author ON author.n = input.n \
                JOIN room ON room.n = input.n \
                WHERE room.allowed ORDER BY input.n) AS allowed), \
            message AS (\
                INSERT INTO messages (id, namespace, room, author_id, message) \
                OVERRIDING SYSTEM VALUE \
                SELECT written.id, input.namespace, input.room, author.id, input.message \
                FROM written JOIN input ON input.n = written.n \
                JOIN author ON author.n = written.n ORDER BY written.id \
                RETURNING id, namespace, room, message, created_at, updated_at), \
            event AS (\
                INSERT INTO events (namespace, room, event_type, data) \
                SELECT message.namespace, message.room, ",
        );
        out.push_bind_param::<Text, _>(Post::EVENT.as_str())?;
        out.push_sql(", ");
        out.push_sql(MESSAGE_JSON_SQL);
        out.push_sql(
            " FROM message JOIN written ON written.id = message.id \
                JOIN author ON author.n = written.n ORDER BY message.id) \
            SELECT author.username, room.allowed, message.id, message.created_at, \
                message.updated_at \
            FROM input JOIN room ON room.n = input.n \
            LEFT JOIN author ON author.n = input.n \
            LEFT JOIN written ON written.n = input.n \
            LEFT JOIN message ON message.id = written.id \
            ORDER BY input.n",
        );
        Ok(())
    }
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
