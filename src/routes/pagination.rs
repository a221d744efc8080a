//! Page sizes and opaque cursors: [`Page`], the one helper every list endpoint uses.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::Checker;
use crate::error::{ApiError, FieldError};

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// A list request's page size, from `?limit=`; its starting point, from `?cursor=`, is
/// returned beside it by [`Page::parse`].
#[derive(Debug, Clone, Copy)]
pub struct Page {
    limit: i64,
}

impl Page {
    /// Checks `?limit=` and `?cursor=` together (one 422 names both if both are bad), and
    /// returns the page and the position it starts after (`None` for the first page).
    pub fn parse<P: Position>(
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<(Self, Option<P>), ApiError> {
        let mut checker = Checker::default();
        let limit = checker.check(parse_limit(limit));
        let after = checker.check(decode_cursor(cursor));
        let (limit, after) = checker.finish(limit.zip(after))?;
        Ok((Self { limit }, after))
    }

    /// How many rows to fetch: one more than the page holds, which tells whether another
    /// page follows.
    pub fn fetch(self) -> i64 {
        self.limit + 1
    }

    /// The page out of the rows fetched, and the `next_cursor` to the page after it, if
    /// there is one. `position` says where a row is in the list's order.
    pub fn finish<T, P: Position>(
        self,
        mut rows: Vec<T>,
        position: impl Fn(&T) -> P,
    ) -> (Vec<T>, Option<String>) {
        let next_cursor = if rows.len() as i64 > self.limit {
            rows.truncate(self.limit as usize);
            rows.last()
                .map(|last| encode_cursor(&position(last).to_text()))
        } else {
            None
        };
        (rows, next_cursor)
    }
}

/// What a cursor holds: the position, in the list's order, of the last row of a page.
pub trait Position: Sized {
    /// `None` for text that is no position: a cursor the server never returned.
    fn from_text(text: String) -> Option<Self>;
    fn to_text(&self) -> String;
}

/// A note's key.
impl Position for String {
    fn from_text(text: String) -> Option<Self> {
        Some(text)
    }

    fn to_text(&self) -> String {
        self.clone()
    }
}

/// A message's id.
impl Position for i64 {
    fn from_text(text: String) -> Option<Self> {
        text.parse().ok()
    }

    fn to_text(&self) -> String {
        self.to_string()
    }
}

/// `?limit=`: 1–100, default 20.
fn parse_limit(value: Option<&str>) -> Result<i64, FieldError> {
    let Some(value) = value else {
        return Ok(DEFAULT_LIMIT);
    };
    value
        .parse::<i64>()
        .ok()
        .filter(|limit| (1..=MAX_LIMIT).contains(limit))
        .ok_or_else(|| {
            FieldError::new(
                "limit",
                format!("must be a whole number from 1 to {MAX_LIMIT}"),
            )
        })
}

/// Cursors are opaque to clients so the ordering behind them can change.
fn encode_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position)
}

fn decode_cursor<P: Position>(cursor: Option<&str>) -> Result<Option<P>, FieldError> {
    cursor
        .map(|cursor| {
            URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                // The server never hands out a NUL, and PostgreSQL would refuse it (a 500).
                .filter(|position| !position.contains('\0'))
                .and_then(P::from_text)
                .ok_or_else(|| FieldError::new("cursor", "is not a cursor this server returned"))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(parse_limit(None), Ok(DEFAULT_LIMIT));
        assert_eq!(parse_limit(Some("100")), Ok(100));
        for bad in ["0", "101", "-1", "ten", ""] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn cursors_round_trip() {
        let cursor = encode_cursor("shopping~list");
        assert_eq!(
            decode_cursor(Some(&cursor)),
            Ok(Some("shopping~list".to_owned()))
        );
        assert!(decode_cursor::<String>(Some("%%%")).is_err());
        assert!(decode_cursor::<String>(Some(&encode_cursor("a\0b"))).is_err());
        assert_eq!(decode_cursor(Some(&encode_cursor("42"))), Ok(Some(42_i64)));
        assert!(decode_cursor::<i64>(Some(&cursor)).is_err());
    }
}

#[test]
fn one_extra_row_means_another_page() {
    let (page, after) = Page::parse::<i64>(Some("2"), None).expect("valid");
    assert_eq!((page.fetch(), after), (3, None));
    assert_eq!(page.finish(vec![9, 8], |id| *id), (vec![9, 8], None));
    let (rows, next) = page.finish(vec![9, 8, 7], |id| *id);
    assert_eq!(rows, vec![9, 8]);
    let next = next.expect("a next page");
    assert_eq!(decode_cursor(Some(&next)), Ok(Some(8_i64)));
}
