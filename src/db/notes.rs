use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Binary, Nullable, Text, Timestamptz};

use super::outbox::{Outcome, Statement};
use super::schema::{notes, users};
use super::sessions;
use crate::api_types::{Note, NoteSummary};
use crate::domain::{Namespace, NoteKey};
use crate::event::EventType;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = notes)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct NoteRow {
    pub key: String,
    pub title: String,
    pub body: String,
    pub author_id: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl NoteRow {
    pub fn into_note(self, author: String) -> Note {
        Note {
            key: self.key,
            title: self.title,
            body: self.body,
            author,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = notes)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct SummaryRow {
    key: String,
    title: String,
    updated_at: DateTime<Utc>,
}

/// A note to create as the user of a session: the session lookup, the insert, its
/// `note.created` event and the commit in one statement, as [`super::messages::Post`]
/// does for messages (see there, and docs/event-log.md). A taken key fails the whole
/// statement with the `notes_pkey` violation, as a plain insert would.
pub struct Create {
    pub token_hash: Vec<u8>,
    pub key: NoteKey,
    pub title: String,
    pub body: String,
}

/// Why a [`Create`] wrote nothing: no live session has its token.
#[derive(Debug)]
pub struct NoSession;

/// What both statements return for each note: the author (none: no live session), and
/// the new row's timestamps and version (none: nothing written).
type CreateRow = (
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<i64>,
);

type CreateRowSql = (
    Nullable<Text>,
    Nullable<Timestamptz>,
    Nullable<Timestamptz>,
    Nullable<BigInt>,
);

impl Create {
    fn outcome(&self, row: CreateRow) -> QueryResult<Outcome<Self>> {
        match row {
            (None, ..) => Ok(Err(NoSession)),
            (Some(author), Some(created_at), Some(updated_at), Some(version)) => Ok(Ok(Note {
                key: self.key.as_str().to_owned(),
                title: self.title.clone(),
                body: self.body.clone(),
                author,
                created_at,
                updated_at,
                version,
            })),
            (Some(_), ..) => Err(diesel::result::Error::DeserializationError(
                "creating a note returned no row".into(),
            )),
        }
    }
}

impl Statement for Create {
    const EVENT: EventType = EventType::NoteCreated;
    type Written = Note;
    type Refused = NoSession;

    fn run(&self, conn: &mut PgConnection) -> QueryResult<Outcome<Self>> {
        let row = CreateQuery(self).get_result::<CreateRow>(conn)?;
        self.outcome(row)
    }

    fn run_batch(
        batch: &[Self],
        conn: &mut PgConnection,
    ) -> QueryResult<Vec<QueryResult<Outcome<Self>>>> {
        let query = CreateBatchQuery {
            tokens: batch
                .iter()
                .map(|note| note.token_hash.as_slice())
                .collect(),
            keys: batch.iter().map(|note| note.key.as_str()).collect(),
            titles: batch.iter().map(|note| note.title.as_str()).collect(),
            bodies: batch.iter().map(|note| note.body.as_str()).collect(),
        };
        let rows = query.load::<CreateRow>(conn)?;
        Ok(batch
            .iter()
            .zip(rows)
            .map(|(note, row)| note.outcome(row))
            .collect())
    }
}

/// The event's payload, built in SQL from the `note` and `author` rows: the fields of
/// `Note`, in its order, as serde_json writes them. One text for the single statement and
/// the batch, so that both write the same bytes.
const NOTE_JSON_SQL: &str = "'{\"key\":' || to_json(note.key) \
    || ',\"title\":' || to_json(note.title) \
    || ',\"body\":' || to_json(note.body) \
    || ',\"author\":' || to_json(author.username) \
    || ',\"created_at\":\"' || parley_json_timestamp(note.created_at) \
    || '\",\"updated_at\":\"' || parley_json_timestamp(note.updated_at) \
    || '\",\"version\":' || note.version \
    || '}'";

/// The SQL of [`Create`], a query type of its own so that diesel keeps it prepared.
struct CreateQuery<'q>(&'q Create);

impl QueryId for CreateQuery<'_> {
    type QueryId = CreateQuery<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for CreateQuery<'_> {
    type SqlType = CreateRowSql;
}

impl RunQueryDsl<PgConnection> for CreateQuery<'_> {}

impl QueryFragment<Pg> for CreateQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let create = self.0;
        out.push_sql("WITH author AS (");
        out.push_sql(sessions::USER_OF_TOKEN_SQL);
        out.push_bind_param::<Binary, _>(&create.token_hash)?;
        out.push_sql("), note AS (INSERT INTO notes (key, title, body, author_id) SELECT ");
        out.push_bind_param::<Text, _>(create.key.as_str())?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&create.title)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&create.body)?;
        out.push_sql(
            ", author.id FROM author \
                RETURNING key, title, body, created_at, updated_at, version), \
            event AS (\
                INSERT INTO events (namespace, room, event_type, data) SELECT ",
        );
        out.push_bind_param::<Text, _>(Namespace::NOTES)?;
        out.push_sql(", note.key, ");
        out.push_bind_param::<Text, _>(Create::EVENT.as_str())?;
        out.push_sql(", ");
        out.push_sql(NOTE_JSON_SQL);
        out.push_sql(
            " FROM note, author) \
            SELECT author.username, note.created_at, note.updated_at, note.version \
            FROM (SELECT) AS always LEFT JOIN author ON TRUE LEFT JOIN note ON TRUE",
        );
        Ok(())
    }
}

/// The SQL of [`Create::run_batch`]: the notes as arrays, one row per note (`n`, from 1,
/// their order), matched back to their rows by key. Two notes of one batch with the same
/// key fail the whole statement on `notes_pkey`, as a taken key does; each then runs alone.
struct CreateBatchQuery<'q> {
    tokens: Vec<&'q [u8]>,
    keys: Vec<&'q str>,
    titles: Vec<&'q str>,
    bodies: Vec<&'q str>,
}

impl QueryId for CreateBatchQuery<'_> {
    type QueryId = CreateBatchQuery<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for CreateBatchQuery<'_> {
    type SqlType = CreateRowSql;
}

impl RunQueryDsl<PgConnection> for CreateBatchQuery<'_> {}

impl QueryFragment<Pg> for CreateBatchQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH input AS (SELECT * FROM unnest(");
        out.push_bind_param::<Array<Binary>, _>(&self.tokens)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.keys)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.titles)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.bodies)?;
        out.push_sql(
            ") WITH ORDINALITY AS input (token_hash, key, title, body, n)), \
            author AS (SELECT input.n, users.id, users.username FROM input \
                JOIN sessions ON sessions.token_hash = input.token_hash \
                    AND sessions.expires_at > now() \
                JOIN users ON users.id = sessions.user_id), \
            note AS (INSERT INTO notes (key, title, body, author_id) \
                SELECT input.key, input.title, input.body, author.id \
                FROM input JOIN author ON author.n = input.n ORDER BY input.n \
                RETURNING key, title, body, created_at, updated_at, version), \
            event AS (\
                INSERT INTO events (namespace, room, event_type, data) SELECT ",
        );
        out.push_bind_param::<Text, _>(Namespace::NOTES)?;
        out.push_sql(", note.key, ");
        out.push_bind_param::<Text, _>(Create::EVENT.as_str())?;
        out.push_sql(", ");
        out.push_sql(NOTE_JSON_SQL);
        out.push_sql(
            " FROM note JOIN input ON input.key = note.key \
                JOIN author ON author.n = input.n ORDER BY input.n) \
            SELECT author.username, note.created_at, note.updated_at, note.version \
            FROM input LEFT JOIN author ON author.n = input.n \
            LEFT JOIN note ON note.key = input.key AND author.n IS NOT NULL \
            ORDER BY input.n",
        );
        Ok(())
    }
}

pub fn find(conn: &mut PgConnection, key: &str) -> QueryResult<Option<Note>> {
    notes::table
        .inner_join(users::table)
        .filter(notes::key.eq(key))
        .select((NoteRow::as_select(), users::username))
        .first::<(NoteRow, String)>(conn)
        .optional()
        .map(|found| found.map(|(row, author)| row.into_note(author)))
}

/// Locks the note's row for the rest of the transaction, so the author and version
/// checked are still true when the change is made.
pub fn lock(conn: &mut PgConnection, key: &str) -> QueryResult<Option<NoteRow>> {
    notes::table
        .filter(notes::key.eq(key))
        .select(NoteRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Whether the note exists, holding a share lock on it until the transaction ends so it
/// cannot be deleted meanwhile.
pub fn lock_shared(conn: &mut PgConnection, key: &str) -> QueryResult<bool> {
    notes::table
        .filter(notes::key.eq(key))
        .select(notes::key)
        .for_key_share()
        .first::<String>(conn)
        .optional()
        .map(|found| found.is_some())
}

pub fn find_author(conn: &mut PgConnection, key: &str) -> QueryResult<Option<i64>> {
    notes::table
        .find(key)
        .select(notes::author_id)
        .first(conn)
        .optional()
}

/// Up to `limit` notes with keys after `after`, in key order.
pub fn list(
    conn: &mut PgConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<NoteSummary>> {
    let mut query = notes::table
        .inner_join(users::table)
        .select((SummaryRow::as_select(), users::username))
        .order(notes::key.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(notes::key.gt(after.to_owned()));
    }
    query.load::<(SummaryRow, String)>(conn).map(|rows| {
        rows.into_iter()
            .map(|(row, author)| NoteSummary {
                key: row.key,
                title: row.title,
                author,
                updated_at: row.updated_at,
            })
            .collect()
    })
}

pub fn update(conn: &mut PgConnection, key: &str, title: &str, body: &str) -> QueryResult<NoteRow> {
    diesel::update(notes::table.find(key))
        .set((
            notes::title.eq(title),
            notes::body.eq(body),
            notes::version.eq(notes::version + 1),
            notes::updated_at.eq(diesel::dsl::now),
        ))
        .returning(NoteRow::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, key: &str) -> QueryResult<usize> {
    diesel::delete(notes::table.find(key)).execute(conn)
}
