//! Migrations and SQL scripts dropped half-way: rolled back, with no transaction, lock or statement left.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use orm_core::migrate::{MakeOptions, Migrator};
use orm_core::prelude::*;

use crate::common::folder;
use crate::models::resilience::Note;
use crate::resilience_support::{
    fresh, idle_in_transaction, notes_seen, observer, one, sleeping, within,
};

/// `migrate`'s advisory lock key ("orm_migr").
const MIGRATION_LOCK: i64 = 0x6f72_6d5f_6d69_6772;

/// Advisory locks of this database, held or awaited.
async fn advisory_locks(obs: &Db) -> Result<i64> {
    one(
        obs,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .await
}

/// A migrator for `Note` on a fresh empty database (pool of one) with its
/// first migration applied; the URL.
async fn migrated() -> Result<(Migrator, Db, String, PathBuf)> {
    let url = orm_core::testing::test_database_url().await?;
    let db = Db::builder(url.clone()).max_size(1).connect().await?;
    let dir = folder();
    let m = Migrator::new(&dir).models(&[Note::META]).database(&db);
    m.make(&MakeOptions::default())?;
    m.migrate(None, false).await?;
    Ok((m, db, url, dir))
}

#[tokio::test]
async fn a_cancelled_migration_is_rolled_back_and_releases_its_lock() -> Result<()> {
    let (m, db, url, dir) = migrated().await?;
    let obs = observer(&url).await?;
    let path = m.make_empty(Some("slow"))?;
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "-- Write the SQL to apply here.\n",
        "INSERT INTO res_notes (body) VALUES ('from the migration');\nSELECT pg_sleep(2);\nALTER TABLE res_notes ADD COLUMN extra integer;\n",
    );
    std::fs::write(&path, &text).unwrap();
    let outcome = tokio::time::timeout(Duration::from_millis(700), m.migrate(None, false)).await;
    assert!(outcome.is_err(), "the timeout fired: {outcome:?}");
    let settled = within(Duration::from_secs(1), || async {
        Ok(idle_in_transaction(&obs).await? == 0
            && advisory_locks(&obs).await? == 0
            && sleeping(&obs).await? == 0)
    })
    .await?;
    eprintln!(
        "cancelled migrate: settled after {settled:?}; idle in transaction {}, advisory locks {}, sleeping {}",
        idle_in_transaction(&obs).await?,
        advisory_locks(&obs).await?,
        sleeping(&obs).await?
    );
    assert!(
        settled.is_some(),
        "no backend left in the migration's state"
    );
    assert_eq!(
        notes_seen(&obs, "from the migration").await?,
        (0, false),
        "the migration's row and column were rolled back"
    );
    // The application's next write is committed (seen from elsewhere).
    orm_core::scope(
        &db,
        Note::create(Note {
            body: "after".into(),
            ..Default::default()
        }),
    )
    .await?;
    let fresh = observer(&url).await?;
    assert_eq!(
        notes_seen(&fresh, "after").await?.0,
        1,
        "the create is durable"
    );
    // Once the sleep (still there) is over, nothing of the migration
    // arrived late either.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(notes_seen(&fresh, "from the migration").await?, (0, false));
    // The migration is still pending, and runs.
    std::fs::write(&path, text.replace("pg_sleep(2)", "pg_sleep(0)")).unwrap();
    assert_eq!(m.migrate(None, false).await?.len(), 1);
    assert_eq!(notes_seen(&fresh, "from the migration").await?, (1, true));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn a_migration_cancelled_while_waiting_for_the_lock_leaves_no_lock() -> Result<()> {
    let (m, _db, url, dir) = migrated().await?;
    m.make_empty(Some("empty"))?;
    // Another session holds the migration lock.
    let holder = observer(&url).await?;
    let _: Vec<(i32,)> = orm_core::scope(
        &holder,
        orm_core::raw("SELECT 1 FROM pg_advisory_lock($1)", &[&MIGRATION_LOCK]),
    )
    .await?;
    let outcome = tokio::time::timeout(Duration::from_millis(300), m.migrate(None, false)).await;
    assert!(outcome.is_err(), "the timeout fired while waiting");
    let _: Vec<(bool,)> = orm_core::scope(
        &holder,
        orm_core::raw("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]),
    )
    .await?;
    let obs = observer(&url).await?;
    let settled = within(Duration::from_secs(1), || async {
        Ok(advisory_locks(&obs).await? == 0)
    })
    .await?;
    // Give a backend still waiting on the lock time to take it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let left = advisory_locks(&obs).await?;
    eprintln!("migrate cancelled while waiting for its lock: settled after {settled:?}, advisory locks left {left}");
    assert!(settled.is_some() && left == 0, "no advisory lock is held");
    assert_eq!(m.migrate(None, false).await?.len(), 1, "the next run works");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn a_cancelled_script_is_cancelled_on_the_server() -> Result<()> {
    let (db, url) = fresh(1).await?;
    let obs = observer(&url).await?;
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_millis(300),
        db.batch_execute(
            "BEGIN; INSERT INTO res_notes (body) VALUES ('from the script'); SELECT pg_sleep(2); COMMIT",
        ),
    )
    .await;
    assert!(outcome.is_err(), "the timeout fired");
    let settled = within(Duration::from_secs(1), || async {
        Ok(sleeping(&obs).await? == 0 && idle_in_transaction(&obs).await? == 0)
    })
    .await?;
    let next = Instant::now();
    orm_core::scope(
        &db,
        Note::create(Note {
            body: "after".into(),
            ..Default::default()
        }),
    )
    .await?;
    let next = next.elapsed();
    eprintln!("cancelled script: backend settled after {settled:?}; next create took {next:?}");
    assert!(settled.is_some(), "the script no longer runs");
    assert!(next < Duration::from_millis(500), "{next:?}");
    // Past the script's end: it did not commit.
    tokio::time::sleep(Duration::from_millis(2500).saturating_sub(started.elapsed())).await;
    assert_eq!(notes_seen(&obs, "from the script").await?.0, 0);
    assert_eq!(notes_seen(&obs, "after").await?.0, 1);
    Ok(())
}
