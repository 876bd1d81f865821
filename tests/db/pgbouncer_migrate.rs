//! Migrations and `generate_schemas` through a real pgbouncer in
//! `pool_mode = transaction` (`orm_core::testing::pgbouncer`): every
//! migration's transaction takes the migration lock itself
//! (`pg_advisory_xact_lock`) and reads what is applied again under it, so
//! nothing depends on one server connection outliving a transaction.

use std::path::Path;

use orm_core::migrate::{MakeOptions, Migrator};
use orm_core::prelude::*;
use orm_core::testing::pgbouncer::{pooled_test_database, PooledDatabase};
use orm_core::StatementMode;

use crate::common::folder;
use crate::migration_support::{count, query};
use crate::models::migrated_people::v3;

/// A fresh empty database behind pgbouncer; `None` when pgbouncer is not
/// installed.
async fn empty() -> Option<PooledDatabase> {
    pooled_test_database().await.expect("pgbouncer")
}

/// A handle through pgbouncer in `mode`, a pool of 3 (one "process").
async fn through(urls: &PooledDatabase, mode: StatementMode) -> Db {
    Db::builder(&urls.pooled)
        .statement_mode(mode)
        .max_size(3)
        .connect()
        .await
        .expect("connection through pgbouncer")
}

/// Appends a hand-written migration whose `up` is `sql`.
fn hand_written(m: &Migrator, name: &str, sql: &str) -> std::path::PathBuf {
    let path = m.make_empty(Some(name)).expect("make_empty");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("-- Write the SQL to apply here.\n", sql);
    std::fs::write(&path, text).unwrap();
    path
}

/// Advisory locks held or awaited in the database, seen directly.
async fn advisory_locks(direct: &Db) -> Result<i64> {
    let rows: Vec<(i64,)> = query(
        direct,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .await?;
    Ok(rows[0].0)
}

/// The table and 6 migrations that each insert a row (a migration run
/// twice would insert its row twice).
fn six_migrations(dir: &Path, db: &Db) -> Migrator {
    let m = Migrator::new(dir)
        .models(&[v3::Team::META, v3::Person::META])
        .database(db);
    m.make(&MakeOptions::default()).expect("make");
    for i in 0..5 {
        hand_written(
            &m,
            &format!("row {i}"),
            &format!("INSERT INTO mig_teams (name) VALUES ('team {i}');\n"),
        );
    }
    m
}

#[tokio::test]
async fn concurrent_migrate_runs_through_pgbouncer_apply_each_migration_once() -> Result<()> {
    let Some(urls) = empty().await else {
        return Ok(());
    };
    let dir = folder();
    // Two "processes", one in each statement mode, and a third run.
    let (a, b, c) = (
        through(&urls, StatementMode::Unnamed).await,
        through(&urls, StatementMode::Named).await,
        through(&urls, StatementMode::Unnamed).await,
    );
    let ma = six_migrations(&dir, &a);
    let mb = Migrator::new(&dir)
        .models(&[v3::Team::META, v3::Person::META])
        .database(&b);
    let mc = Migrator::new(&dir)
        .models(&[v3::Team::META, v3::Person::META])
        .database(&c);
    let (ra, rb, rc) = tokio::join!(
        ma.migrate(None, false),
        mb.migrate(None, false),
        mc.migrate(None, false)
    );
    let (ra, rb, rc) = (ra?, rb?, rc?);
    assert_eq!(
        ra.len() + rb.len() + rc.len(),
        6,
        "each applied once: {ra:?} {rb:?} {rc:?}"
    );
    let direct = Db::connect(&urls.direct).await?;
    assert_eq!(
        count(&direct, "mig_teams").await?,
        5,
        "each row inserted once"
    );
    assert_eq!(count(&direct, "orm_migrations").await?, 6);
    assert_eq!(advisory_locks(&direct).await?, 0, "no lock left behind");
    // showmigrations and a second run, through pgbouncer: all applied,
    // nothing to do.
    let status = mb.status().await?;
    assert!(
        status.len() == 6 && status.iter().all(|s| s.applied && !s.edited),
        "{status:?}"
    );
    assert!(ma.migrate(None, false).await?.is_empty());
    // makemigrations --check: the models match the files.
    assert!(!ma.check()?, "no changes");
    // Reverting to zero and applying again, both runs at once.
    let (ra, rb) = tokio::join!(
        ma.migrate(Some("zero"), true),
        mc.migrate(Some("zero"), true)
    );
    assert_eq!(ra?.len() + rb?.len(), 6, "each reverted once");
    assert_eq!(count(&direct, "orm_migrations").await?, 0);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn a_failed_migration_through_pgbouncer_rolls_back_and_leaves_no_lock() -> Result<()> {
    let Some(urls) = empty().await else {
        return Ok(());
    };
    let dir = folder();
    let db = through(&urls, StatementMode::Unnamed).await;
    let m = Migrator::new(&dir)
        .models(&[v3::Team::META, v3::Person::META])
        .database(&db);
    m.make(&MakeOptions::default())?;
    let broken = hand_written(
        &m,
        "broken",
        "INSERT INTO mig_teams (name) VALUES ('kept?');\nSELECT 1/0;\n",
    );
    let err = m.migrate(None, false).await.unwrap_err().to_string();
    // PostgreSQL's error for 1/0 (SQLSTATE 22012).
    assert!(
        err.contains("0002_broken failed and was rolled back"),
        "{err}"
    );
    assert!(err.contains("division by zero"), "{err}");
    let direct = Db::connect(&urls.direct).await?;
    assert_eq!(
        count(&direct, "mig_teams").await?,
        0,
        "the insert was rolled back"
    );
    assert_eq!(
        count(&direct, "orm_migrations").await?,
        1,
        "the first one stays applied"
    );
    assert_eq!(advisory_locks(&direct).await?, 0, "no lock left behind");
    // pgbouncer's server connections are all usable (no session left in
    // a transaction): every one of several statements at once works.
    let (x, y, z) = tokio::join!(
        orm_core::scope(&db, orm_core::raw::<(i32,)>("SELECT 1", &[])),
        orm_core::scope(&db, orm_core::raw::<(i32,)>("SELECT 1", &[])),
        orm_core::scope(&db, orm_core::raw::<(i32,)>("SELECT 1", &[])),
    );
    x?;
    y?;
    z?;
    // Fixed, it applies; a second process is not blocked by anything.
    std::fs::write(
        &broken,
        std::fs::read_to_string(&broken)
            .unwrap()
            .replace("SELECT 1/0;\n", ""),
    )
    .unwrap();
    let other = through(&urls, StatementMode::Named).await;
    let m2 = Migrator::new(&dir)
        .models(&[v3::Team::META, v3::Person::META])
        .database(&other);
    let steps = tokio::time::timeout(std::time::Duration::from_secs(10), m2.migrate(None, false))
        .await
        .expect("not blocked by a leftover lock")?;
    assert_eq!(steps.len(), 1);
    assert_eq!(count(&direct, "mig_teams").await?, 1);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn create_index_concurrently_in_a_migration_is_refused_with_the_way_out() -> Result<()> {
    let Some(urls) = empty().await else {
        return Ok(());
    };
    let dir = folder();
    let db = through(&urls, StatementMode::Unnamed).await;
    let m = Migrator::new(&dir)
        .models(&[v3::Team::META, v3::Person::META])
        .database(&db);
    m.make(&MakeOptions::default())?;
    hand_written(
        &m,
        "index",
        "CREATE INDEX CONCURRENTLY mig_teams_name_idx ON mig_teams (name);\n",
    );
    let err = m.migrate(None, false).await.unwrap_err().to_string();
    // PostgreSQL: "CREATE INDEX CONCURRENTLY cannot run inside a
    // transaction block" (SQLSTATE 25001).
    assert!(
        err.contains("cannot run inside a transaction block"),
        "{err}"
    );
    assert!(err.contains("`-- atomic: false`"), "{err}");
    let direct = Db::connect(&urls.direct).await?;
    assert_eq!(count(&direct, "orm_migrations").await?, 1);
    assert_eq!(advisory_locks(&direct).await?, 0);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn generate_schemas_through_pgbouncer() -> Result<()> {
    let Some(urls) = empty().await else {
        return Ok(());
    };
    for mode in [StatementMode::Unnamed, StatementMode::Named] {
        let db = through(&urls, mode).await;
        // Twice: the second finds every table there (IF NOT EXISTS).
        orm_core::generate_schemas_on(&db).await?;
    }
    let direct = Db::connect(&urls.direct).await?;
    let rows: Vec<(i64,)> = query(
        &direct,
        "SELECT count(*) FROM pg_tables WHERE tablename = 'pool_things'",
    )
    .await?;
    assert_eq!(rows[0].0, 1);
    Ok(())
}
