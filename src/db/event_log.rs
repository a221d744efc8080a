//! The event log: appended to by write transactions (see `outbox`), read by the reader
//! (everything new, in order) and by streams (one room or namespace, between two
//! positions). See docs/event-log.md for why reading below `xmin` is gapless.

use std::time::Duration;

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Double, Nullable, Text};

use super::schema::events;
use crate::event::{Event, EventType, Position, Target};

/// The channel on which each process tells the others that it committed events (see
/// `db::commits`).
pub const CHANNEL: &str = "parley_events";

#[derive(Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent {
    pub namespace: String,
    pub room: String,
    pub event_type: &'static str,
    pub data: String,
}

/// A row of the log, as the reader's prepared queries select it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
struct EventRow {
    xid: i64,
    id: i64,
    namespace: String,
    room: String,
    event_type: String,
    data: String,
}

impl EventRow {
    fn into_event(self) -> Option<Event> {
        Some(Event {
            position: Position {
                xid: self.xid,
                id: self.id,
            },
            namespace: self.namespace,
            room: self.room,
            kind: EventType::parse(&self.event_type)?,
            data: self.data.into(),
        })
    }
}

fn into_events(rows: Vec<EventRow>) -> Vec<Event> {
    rows.into_iter()
        .filter_map(|row| {
            let kind = row.event_type.clone();
            let event = row.into_event();
            if event.is_none() {
                tracing::error!(kind, "skipping an event of an unknown type");
            }
            event
        })
        .collect()
}

/// Appends events in the current transaction. Readers are woken after the commit (see
/// `db::commits`), not from inside the transaction.
pub fn append(conn: &mut PgConnection, new: &[NewEvent]) -> QueryResult<()> {
    if new.is_empty() {
        return Ok(());
    }
    // One event (the usual case) goes in as a tuple of columns, which diesel keeps
    // prepared on the connection; a derived `Insertable` or a batch is parsed and planned
    // every time.
    if let [event] = new {
        diesel::insert_into(events::table)
            .values((
                events::namespace.eq(&event.namespace),
                events::room.eq(&event.room),
                events::event_type.eq(event.event_type),
                events::data.eq(&event.data),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(events::table)
            .values(new)
            .execute(conn)?;
    }
    Ok(())
}

diesel::define_sql_function! {
    /// The oldest transaction still running (a function in the migrations): every
    /// transaction below it has ended, so no row with a smaller xid can appear later.
    fn parley_committed_below() -> BigInt;
}

/// Events after `after`, in log order, from transactions that have all ended.
pub fn read_committed_after(
    conn: &mut PgConnection,
    after: Position,
    limit: i64,
) -> QueryResult<Vec<Event>> {
    // `(xid, id) > after`, spelled so that `xid >= after.xid` bounds the index scan.
    let rows = events::table
        .filter(events::xid.ge(after.xid))
        .filter(events::xid.gt(after.xid).or(events::id.gt(after.id)))
        .filter(events::xid.lt(parley_committed_below()))
        .order((events::xid, events::id))
        .limit(limit)
        .select(EventRow::as_select())
        .load::<EventRow>(conn)?;
    Ok(into_events(rows))
}

/// The newest position a reader may hand out now: what list and read responses report as
/// `Stream-Position`, and where a new reader starts.
pub fn head(conn: &mut PgConnection) -> QueryResult<Position> {
    let newest = events::table
        .filter(events::xid.lt(parley_committed_below()))
        .order((events::xid.desc(), events::id.desc()))
        .select((events::xid, events::id))
        .first::<(i64, i64)>(conn)
        .optional()?;
    let floor = floor(conn)?;
    Ok(match newest {
        Some((xid, id)) => Position { xid, id }.max(floor),
        None => floor,
    })
}

/// Whether a replay read saw every event of its range: retention deletes events up to
/// its floor, so a range that starts at or above the floor read in the same statement
/// (the same snapshot: `prune` deletes and raises the floor in one statement) is whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    Whole,
    /// Retention deleted events of the range, up to this position.
    Pruned(Position),
}

impl Completeness {
    fn of(after: Position, floor: Position) -> Self {
        if floor > after {
            Self::Pruned(floor)
        } else {
            Self::Whole
        }
    }
}

/// Where a replay page that starts after `after` ends, and how many bytes of event data it
/// holds: at most `rows` events and `max_bytes` bytes, but always at least one event, so
/// that an event larger than a page still goes out (alone). The sizes are the stored
/// lengths (`octet_length` reads them from the row or its TOAST pointer without fetching
/// the data), so measuring a page loads none of it.
pub struct PageEnd {
    pub end: Position,
    pub bytes: u64,
    /// Whether `(end, upto]` may hold more of the stream's events.
    pub more: bool,
}

/// The retention floor, as read by a replay statement alongside its rows.
#[derive(QueryableByName)]
struct FloorColumns {
    #[diesel(sql_type = BigInt)]
    floor_xid: i64,
    #[diesel(sql_type = BigInt)]
    floor_id: i64,
}

impl FloorColumns {
    fn position(&self) -> Position {
        Position {
            xid: self.floor_xid,
            id: self.floor_id,
        }
    }
}

#[derive(QueryableByName)]
struct PageEndRow {
    #[diesel(embed)]
    floor: FloorColumns,
    #[diesel(sql_type = Nullable<BigInt>)]
    xid: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    bytes: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    taken: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    seen: Option<i64>,
}

/// The `WHERE` of a replay read: the target's events in `(after, upto]`, in log order, at
/// most `limit`, as parameters `$1`–`$7` bound by [`bind_range`]. A namespace's stream
/// leaves `$7` (the room) unused.
fn range_sql(target: &Target) -> &'static str {
    if target.room().is_some() {
        "namespace = $1 AND room = $7 AND (xid, id) > ($2, $3) AND (xid, id) <= ($4, $5) \
         ORDER BY xid, id LIMIT $6"
    } else {
        "namespace = $1 AND (xid, id) > ($2, $3) AND (xid, id) <= ($4, $5) \
         ORDER BY xid, id LIMIT $6"
    }
}

fn bind_range<'a>(
    query: String,
    target: &'a Target,
    after: Position,
    upto: Position,
    limit: i64,
) -> BoxedSqlQuery<'a, Pg, SqlQuery> {
    diesel::sql_query(query)
        .into_boxed()
        .bind::<Text, _>(target.namespace())
        .bind::<BigInt, _>(after.xid)
        .bind::<BigInt, _>(after.id)
        .bind::<BigInt, _>(upto.xid)
        .bind::<BigInt, _>(upto.id)
        .bind::<BigInt, _>(limit)
        .bind::<Text, _>(target.room().unwrap_or_default())
}

/// The next replay page of `target` in `(after, upto]` (see [`PageEnd`]); `None` when
/// there is nothing left. With whether the range was whole when measured.
pub fn replay_page(
    conn: &mut PgConnection,
    target: &Target,
    after: Position,
    upto: Position,
    rows: i64,
    max_bytes: u64,
) -> QueryResult<(Option<PageEnd>, Completeness)> {
    let range = range_sql(target);
    let query = format!(
        "SELECT floor.xid AS floor_xid, floor.id AS floor_id, \
                page.xid, page.id, page.bytes, page.taken, page.seen \
         FROM event_log_floor AS floor LEFT JOIN LATERAL ( \
            SELECT xid, id, bytes, taken, seen FROM ( \
                SELECT xid, id, \
                       sum(size) OVER w AS bytes, row_number() OVER w AS taken, \
                       count(*) OVER () AS seen \
                FROM (SELECT xid, id, octet_length(data) AS size FROM events \
                      WHERE {range}) AS candidates \
                WINDOW w AS (ORDER BY xid, id) \
            ) AS sized \
            WHERE taken = 1 OR bytes <= $8 \
            ORDER BY xid DESC, id DESC LIMIT 1 \
         ) AS page ON true"
    );
    let row = bind_range(query, target, after, upto, rows)
        .bind::<BigInt, _>(i64::try_from(max_bytes).unwrap_or(i64::MAX))
        .get_result::<PageEndRow>(conn)?;
    let floor = row.floor.position();
    let page = match (row.xid, row.id, row.bytes, row.taken, row.seen) {
        (Some(xid), Some(id), Some(bytes), Some(taken), Some(seen)) => Some(PageEnd {
            end: Position { xid, id },
            bytes: u64::try_from(bytes).unwrap_or(0),
            // Cut short by the byte budget, or the row limit was reached: look again.
            more: taken < seen || seen == rows,
        }),
        _ => None,
    };
    Ok((page, Completeness::of(after, floor)))
}

#[derive(QueryableByName)]
struct ReplayRow {
    #[diesel(embed)]
    floor: FloorColumns,
    #[diesel(sql_type = Nullable<BigInt>)]
    xid: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    namespace: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    room: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    event_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    data: Option<String>,
}

impl ReplayRow {
    /// The event of the row; `None` for the one row of an empty range.
    fn event(self) -> Option<EventRow> {
        Some(EventRow {
            xid: self.xid?,
            id: self.id?,
            namespace: self.namespace?,
            room: self.room?,
            event_type: self.event_type?,
            data: self.data?,
        })
    }
}

/// Events of `target` in `(after, upto]`, in log order, with whether the range was whole
/// when read. Everything up to `upto` has already been handed out by the reader, so it is
/// all committed.
pub fn replay(
    conn: &mut PgConnection,
    target: &Target,
    after: Position,
    upto: Position,
    limit: i64,
) -> QueryResult<(Vec<Event>, Completeness)> {
    let range = range_sql(target);
    let query = format!(
        "SELECT floor.xid AS floor_xid, floor.id AS floor_id, \
                e.xid, e.id, e.namespace, e.room, e.event_type, e.data \
         FROM event_log_floor AS floor LEFT JOIN LATERAL ( \
            SELECT xid, id, namespace, room, event_type, data FROM events WHERE {range} \
         ) AS e ON true \
         ORDER BY e.xid, e.id"
    );
    let rows = bind_range(query, target, after, upto, limit).load::<ReplayRow>(conn)?;
    let floor = rows
        .first()
        .map_or(Position::START, |row| row.floor.position());
    let events = into_events(rows.into_iter().filter_map(ReplayRow::event).collect());
    Ok((events, Completeness::of(after, floor)))
}

/// The newest position retention has deleted. Resuming from before it may miss events.
pub fn floor(conn: &mut PgConnection) -> QueryResult<Position> {
    use super::schema::event_log_floor::dsl;
    dsl::event_log_floor
        .select((dsl::xid, dsl::id))
        .first::<(i64, i64)>(conn)
        .map(|(xid, id)| Position { xid, id })
}

/// Deletes events older than `retention` and raises the floor past them, in one
/// statement so that a concurrent resume sees both or neither.
pub fn prune(conn: &mut PgConnection, retention: Duration) -> QueryResult<usize> {
    diesel::sql_query(
        "WITH gone AS ( \
            DELETE FROM events WHERE created_at < now() - make_interval(secs => $1) \
            RETURNING xid, id), \
         newest AS (SELECT xid, id FROM gone ORDER BY xid DESC, id DESC LIMIT 1) \
         UPDATE event_log_floor AS floor SET xid = newest.xid, id = newest.id \
         FROM newest WHERE (newest.xid, newest.id) > (floor.xid, floor.id)",
    )
    .bind::<Double, _>(retention.as_secs_f64())
    .execute(conn)
}
