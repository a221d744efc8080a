//! What keeping a room's recent messages in memory (`realtime::recent`) asks of the
//! database: the room's newest messages together with a log position they are exact
//! from, and the bounds of a snapshot, which tell which of this process's acknowledged
//! writes the reader has surely read. See docs/event-log.md, "Recent messages from
//! memory".

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::BigInt;

use super::schema::events;
use super::{event_log, messages, notes};
use crate::api_types::Message;
use crate::domain::Namespace;
use crate::event::Position;

/// A room as one snapshot of the database sees it.
pub struct RoomSnapshot {
    /// The log's committed head in the snapshot: every event up to it is reflected.
    pub position: Position,
    /// The room's newest messages, newest first: one more than the number to keep, when
    /// the room has that many.
    pub messages: Vec<Message>,
    /// Whether the room holds more messages than the number to keep.
    pub more: bool,
    /// In `notes`, whether a note has the room's key (always true elsewhere).
    pub note: bool,
    /// The room's events after `position` that the snapshot also reflects: transactions
    /// that committed before it while an older one was still running (above `xmin`).
    /// The reader will hand them out later; they are already in `messages`.
    pub ahead: Vec<Position>,
}

/// The room's newest `keep` messages and the position they are exact from, in one
/// repeatable-read snapshot, so that the messages, the position and the events ahead of
/// it agree. `None` when more than `max_ahead` events are ahead (a long-held `xmin`):
/// the room is then better read from the database for now.
pub fn room_snapshot(
    conn: &mut PgConnection,
    namespace: &Namespace,
    room: &str,
    keep: i64,
    max_ahead: i64,
) -> QueryResult<Option<RoomSnapshot>> {
    conn.build_transaction()
        .repeatable_read()
        .read_only()
        .run(|conn| {
            let position = event_log::head(conn)?;
            let note = !namespace.is_notes() || notes::find_author(conn, room)?.is_some();
            let messages = messages::list(conn, namespace.as_str(), room, None, keep + 1)?;
            let more = messages.len() as i64 > keep;
            let ahead: Vec<(i64, i64)> = events::table
                .filter(events::namespace.eq(namespace.as_str()))
                .filter(events::room.eq(room))
                .filter(events::xid.ge(position.xid))
                .filter(events::xid.gt(position.xid).or(events::id.gt(position.id)))
                .order((events::xid, events::id))
                .select((events::xid, events::id))
                .limit(max_ahead + 1)
                .load(conn)?;
            if ahead.len() as i64 > max_ahead {
                return Ok(None);
            }
            Ok(Some(RoomSnapshot {
                position,
                messages,
                more,
                note,
                ahead: ahead
                    .into_iter()
                    .map(|(xid, id)| Position { xid, id })
                    .collect(),
            }))
        })
}

/// `xmin` and `xmax` of a snapshot taken now: every transaction below `xmin` has ended,
/// and every transaction that had committed when the snapshot was taken is below `xmax`.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotBounds {
    pub xmin: i64,
    pub xmax: i64,
}

pub fn snapshot_bounds(conn: &mut PgConnection) -> QueryResult<SnapshotBounds> {
    BoundsQuery
        .get_result::<(i64, i64)>(conn)
        .map(|(xmin, xmax)| SnapshotBounds { xmin, xmax })
}

/// The SQL of [`snapshot_bounds`], as a query type with a static id so that diesel keeps
/// it prepared (it never caches `sql_query`): the reader runs it often under writes.
struct BoundsQuery;

impl QueryId for BoundsQuery {
    type QueryId = BoundsQuery;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for BoundsQuery {
    type SqlType = (BigInt, BigInt);
}

impl RunQueryDsl<PgConnection> for BoundsQuery {}

impl QueryFragment<Pg> for BoundsQuery {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint \
             FROM pg_current_snapshot() AS s",
        );
        Ok(())
    }
}
