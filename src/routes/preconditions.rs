//! What must hold before a note or a message changes ([`lock_for_change`], the one check
//! every update and delete makes), and the notes' `ETag`, `If-Match` and `If-None-Match`.

use actix_web::HttpRequest;
use actix_web::http::header;
use chrono::{DateTime, Utc};
use diesel::{PgConnection, QueryResult};

use crate::auth::{CurrentUser, SessionToken};
use crate::db::messages::{self, MessageRow};
use crate::db::notes::{self, NoteRow};
use crate::domain::Namespace;
use crate::error::ApiError;

/// What a request does to a row that not everyone may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Update,
    Delete,
}

/// A row that only some users may change: who, and how it is locked and tagged.
pub trait Owned: Sized {
    type Key: ?Sized;
    /// What a 404 calls it.
    const NAME: &'static str;

    /// Locks the row for the rest of the transaction, so that what is checked is still
    /// true when the change is made.
    fn lock(conn: &mut PgConnection, key: &Self::Key) -> QueryResult<Option<Self>>;

    /// Ok if `user` may do `action` to it, else the 403 saying who may.
    fn allow(&self, conn: &mut PgConnection, action: Action, user: i64) -> Result<(), ApiError>;

    /// Its `ETag`, for `If-Match`; a row without one ignores `If-Match`.
    fn etag(&self) -> Option<String>;
}

/// Checks, in the change's transaction and in this order, that the session is live (401),
/// the row exists (404; it stays locked until the transaction ends), the user may do
/// `action` to it (403) and the client saw its current version (`If-Match`, 412). Returns
/// the user and the row as it is before the change.
pub fn lock_for_change<R: Owned>(
    conn: &mut PgConnection,
    token: &SessionToken,
    key: &R::Key,
    action: Action,
    if_match: Option<&[String]>,
) -> Result<(CurrentUser, R), ApiError> {
    let user = token.user(conn)?;
    let row = R::lock(conn, key)?.ok_or_else(|| ApiError::not_found(R::NAME))?;
    row.allow(conn, action, user.id)?;
    if let Some(current) = row.etag() {
        check_if_match(if_match, &current)?;
    }
    Ok((user, row))
}

impl Owned for NoteRow {
    type Key = str;
    const NAME: &'static str = "the note";

    fn lock(conn: &mut PgConnection, key: &str) -> QueryResult<Option<Self>> {
        notes::lock(conn, key)
    }

    fn allow(&self, _: &mut PgConnection, action: Action, user: i64) -> Result<(), ApiError> {
        if self.author_id == user {
            return Ok(());
        }
        Err(ApiError::Forbidden(match action {
            Action::Update => "only the note's author may change it",
            Action::Delete => "only the note's author may delete it",
        }))
    }

    fn etag(&self) -> Option<String> {
        Some(etag(self.version, self.created_at))
    }
}

/// Messages carry no version, so no `ETag`.
impl Owned for MessageRow {
    type Key = i64;
    const NAME: &'static str = "the message";

    fn lock(conn: &mut PgConnection, id: &i64) -> QueryResult<Option<Self>> {
        messages::lock(conn, *id)
    }

    /// Only its author edits a message; a note's author may also delete the comments on it.
    fn allow(&self, conn: &mut PgConnection, action: Action, user: i64) -> Result<(), ApiError> {
        if self.author_id == user {
            return Ok(());
        }
        match action {
            Action::Update => Err(ApiError::Forbidden("only the message's author may edit it")),
            Action::Delete
                if self.namespace == Namespace::NOTES
                    && notes::find_author(conn, &self.room)? == Some(user) =>
            {
                Ok(())
            }
            Action::Delete => Err(ApiError::Forbidden(
                "only the message's author, or the author of the note it is on, may delete it",
            )),
        }
    }

    fn etag(&self) -> Option<String> {
        None
    }
}

/// The note's version, plus its creation time so that a note deleted and created again
/// under the same key never repeats an old tag (a stale `If-Match` must not match it).
pub fn etag(version: i64, created_at: DateTime<Utc>) -> String {
    format!("\"{version}-{}\"", created_at.timestamp_micros())
}

/// The tags an `If-Match` or `If-None-Match` header lists (`None` without the header).
/// `*` is kept as is; weak tags (`W/"…"`) are kept with their prefix so they never match
/// a strong comparison.
pub fn listed_tags(
    req: &HttpRequest,
    name: header::HeaderName,
) -> Result<Option<Vec<String>>, ApiError> {
    let Some(value) = req.headers().get(&name) else {
        return Ok(None);
    };
    let malformed = || {
        ApiError::BadRequest(format!(
            "{name} must list entity tags such as \"3\", or be *"
        ))
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let tags = value
        .split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(|tag| {
            let quoted = tag.strip_prefix("W/").unwrap_or(tag);
            let valid = tag == "*"
                || (quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'));
            valid.then(|| tag.to_owned()).ok_or_else(malformed)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if tags.is_empty() {
        return Err(malformed());
    }
    Ok(Some(tags))
}

/// `If-Match`: the change goes ahead only if the client saw the `current` tag.
fn check_if_match(if_match: Option<&[String]>, current: &str) -> Result<(), ApiError> {
    match if_match {
        None => Ok(()),
        Some(tags) if tags.iter().any(|tag| tag == "*" || tag == current) => Ok(()),
        Some(_) => Err(ApiError::PreconditionFailed(format!(
            "the note has changed since you read it: its ETag is now {current}; read it again and retry"
        ))),
    }
}

/// `If-None-Match` on a read: true when the client's copy is `current` (answer 304).
pub fn is_not_modified(if_none_match: Option<&[String]>, current: &str) -> bool {
    if_none_match.is_some_and(|tags| {
        tags.iter()
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|tag| (*tag).to_owned()).collect()
    }

    const CURRENT: &str = "\"3-100\"";

    #[test]
    fn if_match_compares_strongly() {
        assert!(check_if_match(None, CURRENT).is_ok());
        assert!(check_if_match(Some(&tags(&[CURRENT])), CURRENT).is_ok());
        assert!(check_if_match(Some(&tags(&["\"1-100\"", CURRENT])), CURRENT).is_ok());
        assert!(check_if_match(Some(&tags(&["*"])), CURRENT).is_ok());
        assert!(check_if_match(Some(&tags(&["\"2-100\""])), CURRENT).is_err());
        assert!(check_if_match(Some(&tags(&["W/\"3-100\""])), CURRENT).is_err());
    }

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(is_not_modified(Some(&tags(&["W/\"3-100\""])), CURRENT));
        assert!(!is_not_modified(Some(&tags(&["\"2-100\""])), CURRENT));
        assert!(!is_not_modified(None, CURRENT));
    }

    #[test]
    fn a_recreated_note_gets_a_new_tag() {
        let first = DateTime::from_timestamp_micros(1).expect("time");
        let second = DateTime::from_timestamp_micros(2).expect("time");
        assert_ne!(etag(1, first), etag(1, second));
    }
}
