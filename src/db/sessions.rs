use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::{sessions, users};

#[derive(Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub token_hash: &'a [u8],
    pub user_id: i64,
    pub expires_at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, session: &NewSession<'_>) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(session)
        .execute(conn)
        .map(drop)
}

/// The start of a query for the user (`id`, `username`) of a live session, for the
/// single-statement writes (`messages::Post`, `notes::Create`) to use as a CTE; the token's
/// hash is bound right after it. The same condition as [`find_user`].
pub(super) const USER_OF_TOKEN_SQL: &str = "SELECT users.id, users.username FROM sessions \
    JOIN users ON users.id = sessions.user_id \
    WHERE sessions.expires_at > now() AND sessions.token_hash = ";

/// The user (id, username) a live session belongs to.
pub fn find_user(conn: &mut PgConnection, token_hash: &[u8]) -> QueryResult<Option<(i64, String)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(diesel::dsl::now))
        .select((users::id, users::username))
        .first(conn)
        .optional()
}

pub fn delete(conn: &mut PgConnection, token_hash: &[u8]) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(token_hash)).execute(conn)
}

/// Ends every session of a user ("log out everywhere").
pub fn delete_for_user(conn: &mut PgConnection, user_id: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// Expired sessions can never be used again; keep the table small.
pub fn delete_expired(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(diesel::dsl::now))).execute(conn)
}
