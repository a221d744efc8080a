//! The schema migrations, compiled into the binary and applied before the server binds.

use anyhow::{Context, Result};
use diesel::{Connection, PgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Any constant works as long as every Parley process uses the same one.
const MIGRATION_LOCK: i64 = 0x7061_726c_6579; // "parley"

/// Applies pending migrations. Several processes starting at once on one database take
/// turns through an advisory lock, so each migration runs exactly once.
pub fn run(database_url: &str) -> Result<()> {
    let mut conn =
        PgConnection::establish(database_url).context("could not connect to the database")?;
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(&mut conn)?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
        .map_err(|error| anyhow::anyhow!("migration failed: {error}"));
    diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(&mut conn)?;
    let applied = applied?;
    if applied.is_empty() {
        tracing::info!("database schema is up to date");
    } else {
        tracing::info!(migrations = ?applied, "applied database migrations");
    }
    Ok(())
}
