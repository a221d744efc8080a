//! Page sizes and opaque cursors, shared by every list endpoint.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::FieldError;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// `?limit=`: 1–100, default 20.
pub fn parse_limit(value: Option<&str>) -> Result<i64, FieldError> {
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
pub fn encode_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position)
}

pub fn decode_cursor(cursor: Option<&str>) -> Result<Option<String>, FieldError> {
    cursor
        .map(|cursor| {
            URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                // The server never hands out a NUL, and PostgreSQL would refuse it (a 500).
                .filter(|position| !position.contains('\0'))
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
        assert!(decode_cursor(Some("%%%")).is_err());
        assert!(decode_cursor(Some(&encode_cursor("a\0b"))).is_err());
    }
}
