//! Values checked once at the edge: holding one means it is valid.

use crate::error::FieldError;

/// A username: 3–32 characters from `A–Z a–z 0–9 _ . -`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MIN: usize = 3;
    pub const MAX: usize = 32;
    /// What [`Username::parse`] accepts, as an ECMA-262 pattern for the OpenAPI document.
    pub const PATTERN: &'static str = "^[A-Za-z0-9_.-]{3,32}$";

    pub fn parse(field: &str, value: String) -> Result<Self, FieldError> {
        let len = value.chars().count();
        if !(Self::MIN..=Self::MAX).contains(&len) {
            return Err(FieldError::new(
                field,
                format!("must be {} to {} characters long", Self::MIN, Self::MAX),
            ));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(FieldError::new(
                field,
                "may contain only letters A-Z and a-z, digits, `_`, `.` and `-`",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password: 8–256 characters. Never logged, never returned.
pub struct Password(String);

impl Password {
    pub const MIN: usize = 8;
    pub const MAX: usize = 256;

    pub fn parse(field: &str, value: String) -> Result<Self, FieldError> {
        let len = value.chars().count();
        if !(Self::MIN..=Self::MAX).contains(&len) {
            return Err(FieldError::new(
                field,
                format!("must be {} to {} characters long", Self::MIN, Self::MAX),
            ));
        }
        Ok(Self(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A note's key: 1–100 URL-safe characters (`A–Z a–z 0–9 _ . - ~`), chosen by its author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteKey(String);

impl NoteKey {
    pub const MAX: usize = 100;
    /// What [`NoteKey::parse`] accepts: a character other than `.`, or three dots or more.
    /// (No look-ahead, so that every regex engine a client may use can run it.)
    pub const PATTERN: &'static str = "^([A-Za-z0-9_.~-]*[A-Za-z0-9_~-][A-Za-z0-9_.~-]*|\\.{3,})$";

    pub fn parse(field: &str, value: String) -> Result<Self, FieldError> {
        if value.is_empty() || value.len() > Self::MAX {
            return Err(FieldError::new(
                field,
                format!("must be 1 to {} characters long", Self::MAX),
            ));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '~'))
        {
            return Err(FieldError::new(
                field,
                "may contain only letters A-Z and a-z, digits, `_`, `.`, `-` and `~`",
            ));
        }
        if value == "." || value == ".." {
            return Err(FieldError::new(field, "cannot be `.` or `..`"));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A note's title: 1–200 characters, not only white space.
#[derive(Debug, Clone)]
pub struct NoteTitle(String);

impl NoteTitle {
    pub const MAX: usize = 200;
    /// Not blank, no NUL ([`NOT_BLANK`]).
    pub const PATTERN: &'static str = NOT_BLANK;

    pub fn parse(field: &str, value: String) -> Result<Self, FieldError> {
        if value.trim().is_empty() {
            return Err(FieldError::new(field, "must not be empty"));
        }
        storable(field, &value)?;
        if value.chars().count() > Self::MAX {
            return Err(FieldError::new(
                field,
                format!("must be at most {} characters long", Self::MAX),
            ));
        }
        Ok(Self(value))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A note's body: up to 50,000 characters (may be empty).
#[derive(Debug, Clone)]
pub struct NoteBody(String);

impl NoteBody {
    pub const MAX: usize = 50_000;
    /// No NUL ([`storable`]).
    pub const PATTERN: &'static str = "^[^\\u0000]*$";

    pub fn parse(field: &str, value: String) -> Result<Self, FieldError> {
        storable(field, &value)?;
        if value.chars().count() > Self::MAX {
            return Err(FieldError::new(
                field,
                format!("must be at most {} characters long", Self::MAX),
            ));
        }
        Ok(Self(value))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A namespace: `notes`, `chat`, …: `[a-z0-9][a-z0-9_-]{0,63}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Namespace(String);

impl Namespace {
    /// Comments on note `k` live in room `k` of this namespace.
    pub const NOTES: &'static str = "notes";
    pub const MAX: usize = 64;
    /// What [`Namespace::parse`] accepts.
    pub const PATTERN: &'static str = "^[a-z0-9][a-z0-9_-]{0,63}$";

    pub fn parse(field: &str, value: String) -> Result<Self, FieldError> {
        let mut chars = value.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok =
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !first_ok || !rest_ok || value.len() > Self::MAX {
            return Err(FieldError::new(
                field,
                "must be 1 to 64 characters from a-z, 0-9, `_` and `-`, starting with a letter or digit",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_notes(&self) -> bool {
        self.0 == Self::NOTES
    }
}

/// A room: any text of 1–200 characters without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Room(String);

impl Room {
    pub const MAX: usize = 200;
    /// No control character: Unicode's `Cc` category, which [`char::is_control`] tests.
    /// (Lengths are `minLength`/`maxLength`, which count code points as `parse` does; a
    /// pattern's `{1,200}` would count UTF-16 units in JavaScript.)
    pub const PATTERN: &'static str = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$";

    pub fn parse(field: &str, value: String) -> Result<Self, FieldError> {
        let len = value.chars().count();
        if len == 0 || len > Self::MAX {
            return Err(FieldError::new(
                field,
                format!("must be 1 to {} characters long", Self::MAX),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A message's text: 1–1024 characters, not only white space.
#[derive(Debug, Clone)]
pub struct MessageText(String);

impl MessageText {
    pub const MAX: usize = 1024;
    /// Not blank, no NUL ([`NOT_BLANK`]).
    pub const PATTERN: &'static str = NOT_BLANK;

    pub fn parse(field: &str, value: String) -> Result<Self, FieldError> {
        if value.trim().is_empty() {
            return Err(FieldError::new(field, "must not be empty"));
        }
        storable(field, &value)?;
        if value.chars().count() > Self::MAX {
            return Err(FieldError::new(
                field,
                format!("must be at most {} characters long", Self::MAX),
            ));
        }
        Ok(Self(value))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Free text that [`str::trim`] does not empty and that has no NUL: at least one character
/// that is neither NUL nor white space as Rust defines it (Unicode's `White_Space`, listed
/// here because a regex's `\s` differs between engines: JavaScript's includes U+FEFF and
/// not U+0085).
const NOT_BLANK: &str = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$";

/// PostgreSQL `text` cannot hold U+0000 (it is the only character it refuses); free text
/// with one is refused here, by name, rather than by the database as a 500.
fn storable(field: &str, value: &str) -> Result<(), FieldError> {
    if value.contains('\0') {
        return Err(FieldError::new(
            field,
            "must not contain the NUL character (U+0000)",
        ));
    }
    Ok(())
}

/// Collects every field error of a request, so the client learns all of them at once.
#[derive(Default)]
pub struct Checker(Vec<FieldError>);

impl Checker {
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|error| self.0.push(error)).ok()
    }

    /// Ends the checks: `Ok` with the parsed values if every field was valid.
    pub fn finish<T>(self, values: Option<T>) -> Result<T, crate::error::ApiError> {
        match values {
            Some(values) if self.0.is_empty() => Ok(values),
            _ => Err(crate::error::ApiError::Validation(self.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(Username::parse("u", "alice.b-2_x".into()).is_ok());
        for bad in ["ab", "a b c", "ålice", "<script>", &"x".repeat(33)] {
            assert!(
                Username::parse("u", bad.into()).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn note_keys() {
        assert!(NoteKey::parse("k", "shopping-list_2~v.1".into()).is_ok());
        for bad in ["", "a/b", "a b", "..", "é", &"k".repeat(101)] {
            assert!(NoteKey::parse("k", bad.into()).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn titles_and_bodies() {
        assert!(NoteTitle::parse("t", "   ".into()).is_err());
        assert!(NoteTitle::parse("t", "é".repeat(200)).is_ok());
        assert!(NoteTitle::parse("t", "é".repeat(201)).is_err());
        assert!(NoteBody::parse("b", String::new()).is_ok());
        assert!(NoteBody::parse("b", "x".repeat(50_001)).is_err());
    }

    #[test]
    fn free_text_refuses_nul() {
        let field = |result: Result<(), FieldError>| result.err().map(|error| error.field);
        assert_eq!(
            field(NoteTitle::parse("title", "a\0b".into()).map(drop)),
            Some("title".into())
        );
        assert_eq!(
            field(NoteBody::parse("body", "\0".into()).map(drop)),
            Some("body".into())
        );
        assert_eq!(
            field(MessageText::parse("message", "hi\0".into()).map(drop)),
            Some("message".into())
        );
        assert!(Room::parse("room", "a\0".into()).is_err());
        assert!(NoteBody::parse("body", "\u{1}\u{7f}\u{fffd}".into()).is_ok());
    }

    #[test]
    fn namespaces_rooms_and_messages() {
        assert!(Namespace::parse("n", "chat-2_x".into()).is_ok());
        for bad in ["", "Chat", "-chat", "a/b", &"n".repeat(65)] {
            assert!(
                Namespace::parse("n", bad.into()).is_err(),
                "{bad:?} accepted"
            );
        }
        assert!(Room::parse("r", "general / 日本 🎉".into()).is_ok());
        for bad in ["", "a\nb", &"r".repeat(201)] {
            assert!(Room::parse("r", bad.into()).is_err(), "{bad:?} accepted");
        }
        assert!(MessageText::parse("m", "é".repeat(1024)).is_ok());
        assert!(MessageText::parse("m", "é".repeat(1025)).is_err());
        assert!(MessageText::parse("m", " \n ".into()).is_err());
    }

    #[test]
    fn checker_reports_every_field() {
        let mut checker = Checker::default();
        let a = checker.check(Username::parse("username", "x".into()));
        let b = checker.check(Password::parse("password", "short".into()));
        let err = checker.finish(a.zip(b)).err();
        match err {
            Some(crate::error::ApiError::Validation(errors)) => assert_eq!(errors.len(), 2),
            other => panic!("expected validation errors, got {other:?}"),
        }
    }
}
