//! Presence in the database (docs/presence.md): server processes and their heartbeats, each
//! process's open streams per room and member, and the membership intervals that make a
//! snapshot exact at any committed position. `presence.joined` and `presence.left` are
//! events of the log, appended in the same transaction as the membership change.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double, Integer, Nullable, Text, Timestamptz};

use crate::api_types::{PresenceCount, PresenceMember, PresenceSnapshot};
use crate::event::{EventType, Position};

/// A member of a room: who, where.
#[derive(Debug, Clone, PartialEq, Eq, Hash, QueryableByName)]
pub struct MemberKey {
    #[diesel(sql_type = Text)]
    pub namespace: String,
    #[diesel(sql_type = Text)]
    pub room: String,
    #[diesel(sql_type = Text)]
    pub username: String,
}

/// Registers this process under a fresh id: a restarted process never takes over the rows
/// of its previous life, which expire with the old id (and are announced as leaves).
pub fn register_server(conn: &mut PgConnection) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    diesel::sql_query("INSERT INTO servers DEFAULT VALUES RETURNING id")
        .get_result::<Row>(conn)
        .map(|row| row.id)
}

/// Records that `server` is alive, by the database's clock. `false` when its row is gone:
/// another process took it for dead and announced its members' leaves.
pub fn heartbeat(conn: &mut PgConnection, server: i64) -> QueryResult<bool> {
    diesel::sql_query("UPDATE servers SET heartbeat_at = now() WHERE id = $1")
        .bind::<BigInt, _>(server)
        .execute(conn)
        .map(|updated| updated == 1)
}

/// Servers other than `me` whose heartbeat is older than `timeout`.
pub fn stale_servers(conn: &mut PgConnection, me: i64, timeout: Duration) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    diesel::sql_query(
        "SELECT id FROM servers \
         WHERE id <> $1 AND heartbeat_at < now() - make_interval(secs => $2) ORDER BY id",
    )
    .bind::<BigInt, _>(me)
    .bind::<Double, _>(timeout.as_secs_f64())
    .load::<Row>(conn)
    .map(|rows| rows.into_iter().map(|row| row.id).collect())
}

/// The members a server holds streams for.
pub fn server_members(conn: &mut PgConnection, server: i64) -> QueryResult<Vec<MemberKey>> {
    diesel::sql_query(
        "SELECT namespace, room, username FROM presence_sessions WHERE server_id = $1",
    )
    .bind::<BigInt, _>(server)
    .load(conn)
}

/// Deletes a server's row (its anonymous counts go with it).
pub fn delete_server(conn: &mut PgConnection, server: i64) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM servers WHERE id = $1")
        .bind::<BigInt, _>(server)
        .execute(conn)
        .map(drop)
}

/// Serializes every change of one member of one room, across processes, for the rest of
/// the transaction. Taken first, before anything is written, so the transaction's id (and
/// with it the position of its event) is assigned after the lock: a member's joins and
/// leaves get positions in the order they commit. Rooms have no control characters, so
/// the key is unambiguous; a hash collision only serializes two unrelated members.
fn lock_member(conn: &mut PgConnection, key: &MemberKey) -> QueryResult<()> {
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(10) || $2 || chr(10) || $3, 1361))",
    )
    .bind::<Text, _>(&key.namespace)
    .bind::<Text, _>(&key.room)
    .bind::<Text, _>(&key.username)
    .execute(conn)
    .map(drop)
}

#[derive(QueryableByName)]
struct Appended {
    #[diesel(sql_type = BigInt)]
    appended: i64,
}

/// `server` holds `sessions` streams of the member: records it and, if the member was not
/// present (on any server), appends `presence.joined` and opens their interval. Call it in
/// a transaction. Returns whether it appended the event.
pub fn join(
    conn: &mut PgConnection,
    server: i64,
    key: &MemberKey,
    sessions: u32,
) -> QueryResult<bool> {
    lock_member(conn, key)?;
    diesel::sql_query(
        "INSERT INTO presence_sessions (namespace, room, username, server_id, sessions) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (namespace, room, username, server_id) \
         DO UPDATE SET sessions = excluded.sessions",
    )
    .bind::<Text, _>(&key.namespace)
    .bind::<Text, _>(&key.room)
    .bind::<Text, _>(&key.username)
    .bind::<BigInt, _>(server)
    .bind::<Integer, _>(i32::try_from(sessions).unwrap_or(i32::MAX))
    .execute(conn)?;
    // The payload is built here because `since` is the event's own time; it must equal
    // the API's JSON for `PresenceJoined` (`parley_json_timestamp` prints as chrono does).
    let row = diesel::sql_query(
        "WITH event AS ( \
            INSERT INTO events (namespace, room, event_type, data) \
            SELECT $1, $2, $4, \
                '{\"namespace\":' || to_json($1::text) || ',\"room\":' || to_json($2::text) \
                    || ',\"user\":' || to_json($3::text) || ',\"since\":\"' \
                    || parley_json_timestamp(now()) || '\"}' \
            WHERE NOT EXISTS (SELECT 1 FROM presence_intervals \
                WHERE namespace = $1 AND room = $2 AND username = $3 AND left_xid IS NULL) \
            RETURNING xid, id, created_at), \
         opened AS ( \
            INSERT INTO presence_intervals (namespace, room, username, joined_xid, joined_id, since) \
            SELECT $1, $2, $3, xid, id, created_at FROM event), \
         counted AS ( \
            INSERT INTO rooms (namespace, room, last_activity, members) \
            SELECT $1, $2, created_at, 1 FROM event \
            ON CONFLICT (namespace, room) DO UPDATE \
            SET members = rooms.members + 1, \
                last_activity = greatest(rooms.last_activity, excluded.last_activity)) \
         SELECT count(*) AS appended FROM event",
    )
    .bind::<Text, _>(&key.namespace)
    .bind::<Text, _>(&key.room)
    .bind::<Text, _>(&key.username)
    .bind::<Text, _>(EventType::PresenceJoined.as_str())
    .get_result::<Appended>(conn)?;
    Ok(row.appended > 0)
}

/// `server` holds no more streams of the member: deletes its row and, if no other server
/// holds one, appends `presence.left` and closes the member's interval. Call it in a
/// transaction. Returns whether it appended the event.
pub fn leave(conn: &mut PgConnection, server: i64, key: &MemberKey) -> QueryResult<bool> {
    lock_member(conn, key)?;
    diesel::sql_query(
        "DELETE FROM presence_sessions \
         WHERE namespace = $1 AND room = $2 AND username = $3 AND server_id = $4",
    )
    .bind::<Text, _>(&key.namespace)
    .bind::<Text, _>(&key.room)
    .bind::<Text, _>(&key.username)
    .bind::<BigInt, _>(server)
    .execute(conn)?;
    let row = diesel::sql_query(
        "WITH event AS ( \
            INSERT INTO events (namespace, room, event_type, data) \
            SELECT $1, $2, $4, '{\"namespace\":' || to_json($1::text) || ',\"room\":' \
                || to_json($2::text) || ',\"user\":' || to_json($3::text) || '}' \
            WHERE NOT EXISTS (SELECT 1 FROM presence_sessions \
                WHERE namespace = $1 AND room = $2 AND username = $3) \
              AND EXISTS (SELECT 1 FROM presence_intervals \
                WHERE namespace = $1 AND room = $2 AND username = $3 AND left_xid IS NULL) \
            RETURNING xid, id, created_at), \
         closed AS ( \
            UPDATE presence_intervals SET left_xid = event.xid, left_id = event.id \
            FROM event \
            WHERE namespace = $1 AND room = $2 AND username = $3 AND left_xid IS NULL), \
         counted AS ( \
            UPDATE rooms SET members = greatest(members - 1, 0), \
                last_activity = greatest(last_activity, event.created_at) \
            FROM event WHERE namespace = $1 AND room = $2) \
         SELECT count(*) AS appended FROM event",
    )
    .bind::<Text, _>(&key.namespace)
    .bind::<Text, _>(&key.room)
    .bind::<Text, _>(&key.username)
    .bind::<Text, _>(EventType::PresenceLeft.as_str())
    .get_result::<Appended>(conn)?;
    Ok(row.appended > 0)
}

/// Writes this server's session counts (of members it has registered) and anonymous
/// stream counts (0 deletes the row).
pub fn write_counts(
    conn: &mut PgConnection,
    server: i64,
    sessions: &[(MemberKey, u32)],
    anonymous: &[(String, String, u32)],
) -> QueryResult<()> {
    if !sessions.is_empty() {
        let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        diesel::sql_query(
            "UPDATE presence_sessions AS s SET sessions = t.n \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS t(ns, room, username, n) \
             WHERE s.server_id = $5 AND s.namespace = t.ns AND s.room = t.room \
               AND s.username = t.username",
        )
        .bind::<Array<Text>, _>(sessions.iter().map(|(k, _)| &k.namespace).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(sessions.iter().map(|(k, _)| &k.room).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(sessions.iter().map(|(k, _)| &k.username).collect::<Vec<_>>())
        .bind::<Array<Integer>, _>(sessions.iter().map(|(_, n)| count(*n)).collect::<Vec<_>>())
        .bind::<BigInt, _>(server)
        .execute(conn)?;
    }
    if !anonymous.is_empty() {
        let namespaces: Vec<&String> = anonymous.iter().map(|(ns, _, _)| ns).collect();
        let rooms: Vec<&String> = anonymous.iter().map(|(_, room, _)| room).collect();
        let counts: Vec<i32> = anonymous
            .iter()
            .map(|(_, _, n)| i32::try_from(*n).unwrap_or(i32::MAX))
            .collect();
        diesel::sql_query(
            "INSERT INTO presence_anonymous (namespace, room, server_id, streams) \
             SELECT ns, room, $4, n \
             FROM unnest($1::text[], $2::text[], $3::int[]) AS t(ns, room, n) WHERE n > 0 \
             ON CONFLICT (namespace, room, server_id) DO UPDATE SET streams = excluded.streams",
        )
        .bind::<Array<Text>, _>(&namespaces)
        .bind::<Array<Text>, _>(&rooms)
        .bind::<Array<Integer>, _>(&counts)
        .bind::<BigInt, _>(server)
        .execute(conn)?;
        diesel::sql_query(
            "DELETE FROM presence_anonymous AS a \
             USING unnest($1::text[], $2::text[], $3::int[]) AS t(ns, room, n) \
             WHERE t.n = 0 AND a.server_id = $4 AND a.namespace = t.ns AND a.room = t.room",
        )
        .bind::<Array<Text>, _>(&namespaces)
        .bind::<Array<Text>, _>(&rooms)
        .bind::<Array<Integer>, _>(&counts)
        .bind::<BigInt, _>(server)
        .execute(conn)?;
    }
    Ok(())
}

/// This process's own counts, which it knows exactly, in place of what it wrote lazily.
#[derive(Debug, Clone, Copy)]
pub struct Here {
    pub server: i64,
    pub anonymous: u32,
}

/// Who is in the room exactly at `at`, a position no later than the committed head (so
/// every event up to it, and the interval rows written with them, are visible): the
/// intervals that began at or before `at` and had not ended by it. Session and anonymous
/// counts are the current ones (other processes' as they last wrote them, `here`'s
/// anonymous streams exactly). Above `large` members the list is left out but still
/// counted at `at` (`members_count`). One statement; also returns the room's current
/// counts, which a large room's streams get next.
pub fn snapshot(
    conn: &mut PgConnection,
    namespace: &str,
    room: &str,
    at: Position,
    large: u32,
    here: Here,
) -> QueryResult<(PresenceSnapshot, PresenceCount)> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        total: i64,
        #[diesel(sql_type = BigInt)]
        at_position: i64,
        #[diesel(sql_type = BigInt)]
        anonymous: i64,
        #[diesel(sql_type = Nullable<Text>)]
        username: Option<String>,
        #[diesel(sql_type = Nullable<Timestamptz>)]
        since: Option<DateTime<Utc>>,
        #[diesel(sql_type = Nullable<BigInt>)]
        sessions: Option<i64>,
    }
    let rows = diesel::sql_query(
        "WITH counts AS ( \
            SELECT coalesce((SELECT members FROM rooms \
                             WHERE namespace = $1 AND room = $2), 0)::bigint AS total, \
                   (SELECT count(*) FROM presence_intervals i \
                    WHERE i.namespace = $1 AND i.room = $2 \
                      AND (i.joined_xid, i.joined_id) <= ($3, $4) \
                      AND (i.left_xid IS NULL OR (i.left_xid, i.left_id) > ($3, $4))) \
                       AS at_position, \
                   $6 + coalesce((SELECT sum(streams) FROM presence_anonymous \
                                  WHERE namespace = $1 AND room = $2 AND server_id <> $5), 0)::bigint \
                       AS anonymous) \
         SELECT counts.total, counts.at_position, counts.anonymous, m.username, m.since, m.sessions \
         FROM counts LEFT JOIN LATERAL ( \
            SELECT i.username, i.since, \
                   greatest(1, coalesce((SELECT sum(s.sessions) FROM presence_sessions s \
                       WHERE s.namespace = i.namespace AND s.room = i.room \
                         AND s.username = i.username), 0))::bigint AS sessions \
            FROM presence_intervals i \
            WHERE counts.total <= $7 AND i.namespace = $1 AND i.room = $2 \
              AND (i.joined_xid, i.joined_id) <= ($3, $4) \
              AND (i.left_xid IS NULL OR (i.left_xid, i.left_id) > ($3, $4))) AS m ON TRUE \
         ORDER BY m.username",
    )
    .bind::<Text, _>(namespace)
    .bind::<Text, _>(room)
    .bind::<BigInt, _>(at.xid)
    .bind::<BigInt, _>(at.id)
    .bind::<BigInt, _>(here.server)
    .bind::<BigInt, _>(i64::from(here.anonymous))
    .bind::<BigInt, _>(i64::from(large))
    .load::<Row>(conn)?;
    let (total, at_position, anonymous) = rows.first().map_or((0, 0, 0), |row| {
        (
            u64::try_from(row.total).unwrap_or(0),
            u64::try_from(row.at_position).unwrap_or(0),
            u64::try_from(row.anonymous).unwrap_or(0),
        )
    });
    let members = rows
        .into_iter()
        .filter_map(|row| {
            Some(PresenceMember {
                user: row.username?,
                sessions: u32::try_from(row.sessions?).unwrap_or(u32::MAX),
                since: row.since?,
            })
        })
        .collect();
    Ok((
        PresenceSnapshot {
            members,
            members_count: at_position,
            anonymous,
            large: total > u64::from(large),
        },
        PresenceCount {
            members: total,
            anonymous,
        },
    ))
}

/// Member and anonymous counts of the given rooms, for the large-room counts.
pub fn counts(
    conn: &mut PgConnection,
    rooms: &[(String, String)],
) -> QueryResult<Vec<(String, String, u64, u64)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        ns: String,
        #[diesel(sql_type = Text)]
        room: String,
        #[diesel(sql_type = BigInt)]
        members: i64,
        #[diesel(sql_type = BigInt)]
        anonymous: i64,
    }
    if rooms.is_empty() {
        return Ok(Vec::new());
    }
    let rows = diesel::sql_query(
        "SELECT t.ns, t.room, \
                coalesce((SELECT members FROM rooms r \
                          WHERE r.namespace = t.ns AND r.room = t.room), 0)::bigint AS members, \
                coalesce((SELECT sum(streams) FROM presence_anonymous a \
                          WHERE a.namespace = t.ns AND a.room = t.room), 0)::bigint AS anonymous \
         FROM unnest($1::text[], $2::text[]) AS t(ns, room)",
    )
    .bind::<Array<Text>, _>(rooms.iter().map(|(ns, _)| ns).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rooms.iter().map(|(_, room)| room).collect::<Vec<_>>())
    .load::<Row>(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            (
                row.ns,
                row.room,
                u64::try_from(row.members).unwrap_or(0),
                u64::try_from(row.anonymous).unwrap_or(0),
            )
        })
        .collect())
}

/// Deletes intervals that ended below the log's floor: no resume or snapshot can ask for
/// a position they matter to.
pub fn prune(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM presence_intervals AS i USING event_log_floor AS f \
         WHERE i.left_xid IS NOT NULL AND (i.left_xid, i.left_id) <= (f.xid, f.id)",
    )
    .execute(conn)
}
