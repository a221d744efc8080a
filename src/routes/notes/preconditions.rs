//! `ETag`, `If-Match` and `If-None-Match` for notes.

use actix_web::HttpRequest;
use actix_web::http::header;
use chrono::{DateTime, Utc};

use crate::error::ApiError;

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
pub fn check_if_match(if_match: Option<&[String]>, current: &str) -> Result<(), ApiError> {
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
