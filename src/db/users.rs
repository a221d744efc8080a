use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::users;

#[diesel::declare_sql_function]
extern "SQL" {
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
}

pub fn insert(conn: &mut PgConnection, user: &NewUser<'_>) -> QueryResult<UserRow> {
    diesel::insert_into(users::table)
        .values(user)
        .returning(UserRow::as_returning())
        .get_result(conn)
}

/// Usernames are unique regardless of case; look them up the same way.
pub fn find_by_username(conn: &mut PgConnection, username: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(lower(users::username).eq(lower(username)))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<UserRow> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
}
