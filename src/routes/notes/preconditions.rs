//! `ETag`, `If-Match` and `If-None-Match` for notes: the entity tag is the note's version.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::error::ApiError;

pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
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

/// `If-Match`: the change goes ahead only if the client saw the current version.
pub fn check_if_match(if_match: Option<&[String]>, version: i64) -> Result<(), ApiError> {
    let current = etag(version);
    match if_match {
        None => Ok(()),
        Some(tags) if tags.iter().any(|tag| tag == "*" || *tag == current) => Ok(()),
        Some(_) => Err(ApiError::PreconditionFailed(format!(
            "the note has changed since you read it: its version is now {version} (ETag {current}); read it again and retry"
        ))),
    }
}

/// `If-None-Match` on a read: true when the client's copy is current (answer 304).
pub fn is_not_modified(if_none_match: Option<&[String]>, version: i64) -> bool {
    let current = etag(version);
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

    #[test]
    fn if_match_compares_strongly() {
        assert!(check_if_match(None, 3).is_ok());
        assert!(check_if_match(Some(&tags(&["\"3\""])), 3).is_ok());
        assert!(check_if_match(Some(&tags(&["\"1\"", "\"3\""])), 3).is_ok());
        assert!(check_if_match(Some(&tags(&["*"])), 3).is_ok());
        assert!(check_if_match(Some(&tags(&["\"2\""])), 3).is_err());
        assert!(check_if_match(Some(&tags(&["W/\"3\""])), 3).is_err());
    }

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(is_not_modified(Some(&tags(&["W/\"3\""])), 3));
        assert!(!is_not_modified(Some(&tags(&["\"2\""])), 3));
        assert!(!is_not_modified(None, 3));
    }
}
