//! The rooms of a namespace that have messages or members, most recently active first
//! (`GET /api/rooms/{namespace}`), from the `rooms` table. Its member counts are kept by the
//! presence transactions (`db::presence`); the activity of messages is taken in from the
//! log by [`take_in_activity`], in the background, so that posting a message writes
//! nothing more than it did.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamptz};

use crate::api_types::RoomSummary;
use crate::event::EventType;

/// Where a page of rooms starts: after this room, in `(last_activity DESC, room)` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub last_activity: DateTime<Utc>,
    pub room: String,
}

/// Up to `limit` rooms of `namespace` after `after`.
pub fn list(
    conn: &mut PgConnection,
    namespace: &str,
    after: Option<&After>,
    limit: i64,
) -> QueryResult<Vec<RoomSummary>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        room: String,
        #[diesel(sql_type = Timestamptz)]
        last_activity: DateTime<Utc>,
        #[diesel(sql_type = Integer)]
        members: i32,
    }
    let rows: Vec<Row> = match after {
        // `(last_activity, room)` compared as the index orders it: newer first, then by name.
        Some(after) => diesel::sql_query(
            "SELECT room, last_activity, members FROM rooms \
             WHERE namespace = $1 AND (last_activity < $2 OR (last_activity = $2 AND room > $3)) \
             ORDER BY last_activity DESC, room LIMIT $4",
        )
        .bind::<Text, _>(namespace)
        .bind::<Timestamptz, _>(after.last_activity)
        .bind::<Text, _>(&after.room)
        .bind::<BigInt, _>(limit)
        .load(conn)?,
        None => diesel::sql_query(
            "SELECT room, last_activity, members FROM rooms WHERE namespace = $1 \
             ORDER BY last_activity DESC, room LIMIT $2",
        )
        .bind::<Text, _>(namespace)
        .bind::<BigInt, _>(limit)
        .load(conn)?,
    };
    Ok(rows
        .into_iter()
        .map(|row| RoomSummary {
            room: row.room,
            last_activity: row.last_activity,
            members: u32::try_from(row.members).unwrap_or(0),
        })
        .collect())
}

/// Takes the messages the log has committed since the shared watermark into
/// `rooms.last_activity`, then forgets rooms left with neither messages nor members.
/// One process at a time does it (the watermark row is locked; the others skip this
/// round). Returns whether this process did it.
pub fn take_in_activity(conn: &mut PgConnection) -> QueryResult<bool> {
    conn.transaction(|conn| {
        #[derive(QueryableByName)]
        struct Mark {
            #[diesel(sql_type = BigInt)]
            xid: i64,
            #[diesel(sql_type = BigInt)]
            id: i64,
        }
        let Some(mark) =
            diesel::sql_query("SELECT xid, id FROM rooms_watermark FOR UPDATE SKIP LOCKED")
                .get_result::<Mark>(conn)
                .optional()?
        else {
            return Ok(false);
        };
        let Some(upto) = diesel::sql_query(
            "SELECT xid, id FROM events \
             WHERE (xid, id) > ($1, $2) AND xid < parley_committed_below() \
             ORDER BY xid DESC, id DESC LIMIT 1",
        )
        .bind::<BigInt, _>(mark.xid)
        .bind::<BigInt, _>(mark.id)
        .get_result::<Mark>(conn)
        .optional()?
        else {
            return Ok(true);
        };
        let range = "(xid, id) > ($1, $2) AND (xid, id) <= ($3, $4)";
        diesel::sql_query(format!(
            "INSERT INTO rooms (namespace, room, last_activity) \
             SELECT namespace, room, max(created_at) FROM events \
             WHERE {range} AND event_type IN ($5, $6) GROUP BY namespace, room \
             ON CONFLICT (namespace, room) DO UPDATE \
             SET last_activity = greatest(rooms.last_activity, excluded.last_activity)"
        ))
        .bind::<BigInt, _>(mark.xid)
        .bind::<BigInt, _>(mark.id)
        .bind::<BigInt, _>(upto.xid)
        .bind::<BigInt, _>(upto.id)
        .bind::<Text, _>(EventType::MessageCreated.as_str())
        .bind::<Text, _>(EventType::MessageUpdated.as_str())
        .execute(conn)?;
        // A room whose last message was deleted, or whose last member left, and that has
        // neither any more.
        diesel::sql_query(format!(
            "DELETE FROM rooms AS r \
             USING (SELECT DISTINCT namespace, room FROM events \
                    WHERE {range} AND event_type IN ($5, $6)) AS t \
             WHERE r.namespace = t.namespace AND r.room = t.room AND r.members = 0 \
               AND NOT EXISTS (SELECT 1 FROM messages m \
                               WHERE m.namespace = r.namespace AND m.room = r.room)"
        ))
        .bind::<BigInt, _>(mark.xid)
        .bind::<BigInt, _>(mark.id)
        .bind::<BigInt, _>(upto.xid)
        .bind::<BigInt, _>(upto.id)
        .bind::<Text, _>(EventType::MessageDeleted.as_str())
        .bind::<Text, _>(EventType::PresenceLeft.as_str())
        .execute(conn)?;
        diesel::sql_query("UPDATE rooms_watermark SET xid = $1, id = $2")
            .bind::<BigInt, _>(upto.xid)
            .bind::<BigInt, _>(upto.id)
            .execute(conn)?;
        Ok(true)
    })
}
