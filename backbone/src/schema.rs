//! The messaging tables (`outbox`, `inbox`) as migrations merged into each service's own.
//!
//! Each service keeps its migrations in its own `migrations/` folder with timestamp versions;
//! the messaging migrations have small versions and run first. One migrator, one history table.

use std::borrow::Cow;

use sqlx::migrate::Migrator;

static MESSAGING: Migrator = sqlx::migrate!("./migrations");

/// The service's migrations preceded by the messaging ones.
pub fn with_messaging(service: &Migrator) -> Migrator {
    let mut migrations: Vec<_> = MESSAGING.iter().chain(service.iter()).cloned().collect();
    migrations.sort_by_key(|m| m.version);
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// Applies the messaging and service migrations to `pool`.
pub async fn migrate(pool: &sqlx::PgPool, service: &Migrator) -> anyhow::Result<()> {
    with_messaging(service).run(pool).await?;
    Ok(())
}
