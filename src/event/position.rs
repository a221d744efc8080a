//! A position in the event log: `(xid, id)`, written `"<xid>-<id>"` on the wire.

use std::fmt;
use std::str::FromStr;

/// The response header on lists and reads: the log position the response reflects.
/// Subscribing with it as `Last-Event-ID` misses no later change.
pub const STREAM_POSITION: &str = "Stream-Position";

/// Ordered first by the writing transaction's id, then by the row's sequence number.
/// Clients treat the text form as opaque; they only send it back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub xid: i64,
    pub id: i64,
}

impl Position {
    pub const START: Position = Position { xid: 0, id: 0 };
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.xid, self.id)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct InvalidPosition;

impl FromStr for Position {
    type Err = InvalidPosition;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (xid, id) = text.trim().split_once('-').ok_or(InvalidPosition)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(xid) || !digits(id) {
            return Err(InvalidPosition);
        }
        Ok(Position {
            xid: xid.parse().map_err(|_| InvalidPosition)?,
            id: id.parse().map_err(|_| InvalidPosition)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders_by_transaction_first() {
        let a = Position { xid: 10, id: 99 };
        let b = Position { xid: 11, id: 3 };
        assert!(
            a < b,
            "a later transaction sorts after, whatever its row ids"
        );
        assert_eq!("10-99".parse(), Ok(a));
        assert_eq!(a.to_string(), "10-99");
    }

    #[test]
    fn rejects_what_the_server_never_sends() {
        for bad in [
            "",
            "12",
            "a-1",
            "1-",
            "-1-2",
            "1-2-3",
            "1 -2",
            "99999999999999999999-1",
        ] {
            assert_eq!(bad.parse::<Position>(), Err(InvalidPosition), "{bad:?}");
        }
    }
}
