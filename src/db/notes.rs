use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::{notes, users};
use crate::models::{Note, NoteSummary};

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

#[derive(Insertable)]
#[diesel(table_name = notes)]
pub struct NewNote<'a> {
    pub key: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub author_id: i64,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = notes)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct SummaryRow {
    key: String,
    title: String,
    updated_at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, note: &NewNote<'_>) -> QueryResult<NoteRow> {
    diesel::insert_into(notes::table)
        .values(note)
        .returning(NoteRow::as_returning())
        .get_result(conn)
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
