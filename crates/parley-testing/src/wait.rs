//! Waiting for something the server must do soon, without sleeping for a guessed time.

use std::time::Duration;

/// A bound on waiting for something the server must do soon; never reached when it does.
pub const DEADLINE: Duration = Duration::from_secs(8);

/// Polls `condition` until it holds, failing the test after `DEADLINE`.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {DEADLINE:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many backends of the test's database are waiting for a lock now: a test that holds
/// a lock sees the request it blocks reach it, instead of sleeping and hoping.
pub fn backends_waiting_for_a_lock(database_url: &str) -> i64 {
    use diesel::{Connection, PgConnection, RunQueryDsl};

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = PgConnection::establish(database_url).expect("connect");
    diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .get_result::<Count>(&mut conn)
    .expect("pg_stat_activity")
    .n
}
