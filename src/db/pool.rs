//! The connection pool. r2d2's stock manager runs `SELECT 1` on every checkout: a round
//! trip for each query a request makes. Ours checks only connections that have sat idle
//! (a restarted database closes those), and drops a connection whose query failed
//! because the connection itself was lost, so a database restart costs at most one failed
//! request per busy connection.

use std::time::{Duration, Instant};

use diesel::connection::Connection;
use diesel::r2d2;
use diesel::r2d2::R2D2Connection;
use diesel::result::ConnectionError;
use diesel::{ConnectionResult, PgConnection};

use crate::error::ApiError;

/// A connection returned longer ago than this is checked before it is handed out.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

pub type PgPool = r2d2::Pool<Manager>;

pub struct Manager {
    database_url: String,
}

impl Manager {
    pub fn new(database_url: &str) -> Self {
        Self {
            database_url: database_url.to_owned(),
        }
    }
}

/// A pooled connection, with what the pool needs to know about its health.
pub struct Pooled {
    pub conn: PgConnection,
    returned: Instant,
    lost: bool,
}

impl Pooled {
    /// Notes a query that failed because the database was unreachable, so that the pool
    /// drops this connection rather than handing it out again.
    pub fn observe<T>(&mut self, result: &Result<T, ApiError>) {
        self.lost |= matches!(result, Err(ApiError::Unavailable(_)));
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Pooled;
    type Error = ConnectionError;

    fn connect(&self) -> ConnectionResult<Pooled> {
        Ok(Pooled {
            conn: PgConnection::establish(&self.database_url)?,
            returned: Instant::now(),
            lost: false,
        })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), ConnectionError> {
        if pooled.returned.elapsed() < CHECK_AFTER_IDLE {
            return Ok(());
        }
        pooled
            .conn
            .ping()
            .map_err(|error| ConnectionError::BadConnection(error.to_string()))
    }

    /// Called as each connection comes back, which is when its idle time starts.
    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.returned = Instant::now();
        pooled.lost || std::thread::panicking() || pooled.conn.is_broken()
    }
}
