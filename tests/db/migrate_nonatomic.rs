//! Migrations that run outside a transaction (`-- atomic: false`, Django's
//! `atomic = False`): `CREATE INDEX CONCURRENTLY` applied and reverted, a
//! failure half-way reported with what stays applied, and concurrent runs
//! that wait for each other without waiting on the index build (directly
//! and through a real pgbouncer in transaction mode).

use std::path::{Path, PathBuf};
use std::time::Duration;

use orm_core::migrate::{MakeOptions, Migrator};
use orm_core::prelude::*;
use orm_core::testing::pgbouncer::pooled_test_database;
use orm_core::StatementMode;

use crate::common::folder;
use crate::migration_support::{count, empty_db, query};
use crate::models::migrated_people::v3;

/// Appends a migration with `-- atomic: false` whose up and down are `up`
/// and `down`.
fn non_atomic(m: &Migrator, name: &str, up: &str, down: &str) -> PathBuf {
    let path = m.make_empty(Some(name)).expect("make_empty");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("\n--\n", "\n-- atomic: false\n--\n", 1)
        .replace("-- Write the SQL to apply here.\n", up)
        .replace("-- Write the SQL that reverts it here.\n", down);
    std::fs::write(&path, text).unwrap();
    path
}

/// The tables' migration and a non-atomic one building two indexes
/// concurrently.
fn with_indexes(dir: &Path, db: &Db) -> Migrator {
    let m = Migrator::new(dir)
        .models(&[v3::Team::META, v3::Person::META])
        .database(db);
    m.make(&MakeOptions::default()).expect("make");
    non_atomic(
        &m,
        "indexes",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS mig_teams_name_cc ON mig_teams (name);\n\
         -- a comment; with a semicolon\n\
         CREATE INDEX CONCURRENTLY IF NOT EXISTS mig_people_name_cc ON mig_people (full_name);\n",
        "DROP INDEX CONCURRENTLY IF EXISTS mig_people_name_cc;\n\
         DROP INDEX CONCURRENTLY IF EXISTS mig_teams_name_cc;\n",
    );
    m
}

/// The valid indexes named `*_cc`, sorted (`indisvalid`: a concurrent
/// build that failed leaves an invalid one).
async fn cc_indexes(db: &Db) -> Result<Vec<(String, bool)>> {
    query(
        db,
        "SELECT c.relname::text, i.indisvalid FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE '%\\_cc' ORDER BY 1",
    )
    .await
}

async fn recorded(db: &Db) -> Result<Vec<(String,)>> {
    query(db, "SELECT name FROM orm_migrations ORDER BY name").await
}

#[tokio::test]
async fn create_index_concurrently_applies_and_reverts() -> Result<()> {
    let dir = folder();
    let db = empty_db().await;
    let m = with_indexes(&dir, &db);
    let steps = m.migrate(None, false).await?;
    assert_eq!(steps.len(), 2);
    assert_eq!(
        cc_indexes(&db).await?,
        [
            ("mig_people_name_cc".to_owned(), true),
            ("mig_teams_name_cc".to_owned(), true)
        ]
    );
    assert_eq!(recorded(&db).await?.len(), 2);
    // Reverted: each DROP INDEX CONCURRENTLY on its own too.
    let steps = m.migrate(Some("0001"), false).await?;
    assert_eq!(steps.len(), 1);
    assert!(cc_indexes(&db).await?.is_empty());
    assert_eq!(recorded(&db).await?, [("0001_initial".to_owned(),)]);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn a_failure_half_way_says_what_stays_applied() -> Result<()> {
    let dir = folder();
    let db = empty_db().await;
    let m = Migrator::new(&dir)
        .models(&[v3::Team::META, v3::Person::META])
        .database(&db);
    m.make(&MakeOptions::default())?;
    let path = non_atomic(
        &m,
        "half",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS mig_teams_name_cc ON mig_teams (name);\n\
         SELECT 1/0;\n\
         CREATE INDEX CONCURRENTLY IF NOT EXISTS mig_people_name_cc ON mig_people (full_name);\n",
        "",
    );
    let err = m.migrate(None, false).await.unwrap_err().to_string();
    assert!(
        err.contains("0002_half failed at statement 2 of 3 (SELECT 1/0)"),
        "{err}"
    );
    assert!(err.contains("division by zero"), "{err}");
    assert!(err.contains("its first statement stays applied"), "{err}");
    // The first index is there; the migration is not recorded; no lock
    // is left.
    assert_eq!(
        cc_indexes(&db).await?,
        [("mig_teams_name_cc".to_owned(), true)]
    );
    assert_eq!(recorded(&db).await?, [("0001_initial".to_owned(),)]);
    // Fixed (not recorded, so editing it is allowed) and run again: the
    // statements written with IF NOT EXISTS run twice safely.
    let text = std::fs::read_to_string(&path)
        .expect("the file")
        .replace("SELECT 1/0;\n", "");
    std::fs::write(&path, text).expect("written");
    let steps = tokio::time::timeout(Duration::from_secs(20), m.migrate(None, false))
        .await
        .expect("no lock left behind")?;
    assert_eq!(steps.len(), 1);
    assert_eq!(cc_indexes(&db).await?.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Three runs at once: one builds the indexes while the others wait for
/// the lock. Each migration runs once. (The waits here do not overlap a
/// build: `a_run_started_during_a_concurrent_build_waits_for_it` is the
/// test of a run waiting while an index is built.)
async fn three_runs_at_once(dbs: [&Db; 3], dir: &Path) -> Result<()> {
    let runs = dbs.map(|db| {
        let m = Migrator::new(dir)
            .models(&[v3::Team::META, v3::Person::META])
            .database(db);
        async move { m.migrate(None, false).await }
    });
    let [a, b, c] = runs;
    let (a, b, c) = tokio::time::timeout(Duration::from_secs(60), async { tokio::join!(a, b, c) })
        .await
        .expect("the runs end: none waits on another's index build");
    let ran: usize = [a?, b?, c?].iter().map(Vec::len).sum();
    assert_eq!(ran, 2, "each migration once");
    Ok(())
}

#[tokio::test]
async fn concurrent_runs_wait_without_blocking_the_build() -> Result<()> {
    let dir = folder();
    let db = empty_db().await;
    with_indexes(&dir, &db);
    let dbs = [&db, &db, &db];
    three_runs_at_once(dbs, &dir).await?;
    assert_eq!(cc_indexes(&db).await?.len(), 2);
    assert_eq!(recorded(&db).await?.len(), 2);
    assert_eq!(count(&db, "orm_migrations").await?, 2);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn non_atomic_migrations_are_refused_through_pgbouncer() -> Result<()> {
    let Some(urls) = pooled_test_database().await? else {
        return Ok(());
    };
    let dir = folder();
    let pooled = Db::builder(&urls.pooled)
        .statement_mode(StatementMode::Unnamed)
        .connect()
        .await?;
    let m = with_indexes(&dir, &pooled);
    // Nothing runs, not even the atomic first migration: the run would
    // stop half-way.
    let err = m.migrate(None, false).await.unwrap_err().to_string();
    assert!(
        err.contains("0002_indexes is `-- atomic: false`") && err.contains("nothing was run"),
        "{err}"
    );
    assert!(
        err.contains("run migrate against the server directly"),
        "{err}"
    );
    let direct = Db::connect(&urls.direct).await?;
    assert_eq!(recorded(&direct).await?, []);
    // Directly, it runs.
    let m = Migrator::new(&dir)
        .models(&[v3::Team::META, v3::Person::META])
        .database(&direct);
    assert_eq!(m.migrate(None, false).await?.len(), 2);
    assert_eq!(cc_indexes(&direct).await?.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Whether a `CREATE INDEX CONCURRENTLY` is running in `db`'s database.
async fn building(db: &Db) -> Result<bool> {
    let rows: Vec<(i64,)> = query(
        db,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND state = 'active' AND query LIKE 'CREATE INDEX CONCURRENTLY%'",
    )
    .await?;
    Ok(rows[0].0 > 0)
}

#[tokio::test]
async fn a_run_started_during_a_concurrent_build_waits_for_it() -> Result<()> {
    use orm_core::{Isolation, TxOptions};
    use std::sync::Mutex;
    let dir = folder();
    let db = empty_db().await;
    with_indexes(&dir, &db);
    // An open transaction with a snapshot (repeatable read): the build
    // waits for it, so it is still running when the second run starts.
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let (held, holding) = tokio::sync::oneshot::channel::<()>();
    let (released, held) = (Mutex::new(Some(released)), Mutex::new(Some(held)));
    let blocker = tokio::spawn(orm_core::scope(&db.clone(), async move {
        let options = TxOptions::default().isolation(Isolation::RepeatableRead);
        orm_core::transaction_with(options, || {
            let released = released.lock().unwrap().take();
            let held = held.lock().unwrap().take();
            async move {
                let _: Vec<(i32,)> = orm_core::raw("SELECT 1", &[]).await?;
                if let Some(held) = held {
                    let _ = held.send(());
                }
                if let Some(released) = released {
                    let _ = released.await;
                }
                Ok(())
            }
        })
        .await
    }));
    holding.await.expect("the blocker holds its snapshot");
    let run = |db: Db, dir: PathBuf| {
        tokio::spawn(async move {
            Migrator::new(&dir)
                .models(&[v3::Team::META, v3::Person::META])
                .database(&db)
                .migrate(None, false)
                .await
        })
    };
    let first = run(db.clone(), dir.clone());
    let mut waited = 0;
    while !building(&db).await? {
        waited += 1;
        assert!(waited < 200, "the build started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The second run starts while the build waits; it must not hold a
    // snapshot while it waits for the lock (the build would wait for it).
    let second = run(db.clone(), dir.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    release.send(()).expect("the blocker waits");
    let (first, second) = tokio::time::timeout(Duration::from_secs(30), async {
        (first.await, second.await)
    })
    .await
    .expect("both runs end");
    let ran = first.expect("joined")?.len() + second.expect("joined")?.len();
    assert_eq!(ran, 2, "each migration once");
    blocker.await.expect("joined")?;
    assert_eq!(cc_indexes(&db).await?.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn a_run_dropped_during_a_build_leaves_no_lock_and_is_finished_later() -> Result<()> {
    use orm_core::{Isolation, TxOptions};
    let dir = folder();
    let db = empty_db().await;
    let m = with_indexes(&dir, &db);
    // The build waits for this transaction's snapshot, so the run is
    // still building when its future is dropped (a timeout).
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let (held, holding) = tokio::sync::oneshot::channel::<()>();
    let (released, held) = (
        std::sync::Mutex::new(Some(released)),
        std::sync::Mutex::new(Some(held)),
    );
    let blocker = tokio::spawn(orm_core::scope(&db.clone(), async move {
        let options = TxOptions::default().isolation(Isolation::RepeatableRead);
        orm_core::transaction_with(options, || {
            let released = released.lock().unwrap().take();
            let held = held.lock().unwrap().take();
            async move {
                let _: Vec<(i32,)> = orm_core::raw("SELECT 1", &[]).await?;
                if let Some(held) = held {
                    let _ = held.send(());
                }
                if let Some(released) = released {
                    let _ = released.await;
                }
                Ok(())
            }
        })
        .await
    }));
    holding.await.expect("the blocker holds its snapshot");
    let dropped = tokio::time::timeout(Duration::from_millis(1500), m.migrate(None, false)).await;
    assert!(dropped.is_err(), "dropped while the build waits");
    release.send(()).expect("the blocker waits");
    blocker.await.expect("joined")?;
    // The dropped run's connection was closed, so its session lock is
    // gone: the next run gets it (the build on the server may still end,
    // as here). 0002 was not recorded; the next run records it.
    assert_eq!(recorded(&db).await?, [("0001_initial".to_owned(),)]);
    let steps = tokio::time::timeout(Duration::from_secs(20), m.migrate(None, false))
        .await
        .expect("no lock left behind")?;
    assert_eq!(steps.len(), 1);
    assert_eq!(recorded(&db).await?.len(), 2);
    assert_eq!(
        cc_indexes(&db).await?,
        [
            ("mig_people_name_cc".to_owned(), true),
            ("mig_teams_name_cc".to_owned(), true)
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn an_invalid_index_left_by_a_failed_build_is_not_recorded_as_built() -> Result<()> {
    let dir = folder();
    let db = empty_db().await;
    let m = Migrator::new(&dir)
        .models(&[v3::Team::META, v3::Person::META])
        .database(&db);
    m.make(&MakeOptions::default())?;
    m.migrate(None, false).await?;
    let _: Vec<(i32,)> = query(
        &db,
        "INSERT INTO mig_people (full_name, age, karma) VALUES ('a', 1, 0), ('a', 2, 0)",
    )
    .await?;
    non_atomic(
        &m,
        "unique",
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS mig_people_name_cc ON mig_people (full_name);\n",
        "DROP INDEX CONCURRENTLY IF EXISTS mig_people_name_cc;\n",
    );
    // PostgreSQL: the duplicate fails the build and leaves the index
    // INVALID.
    let err = m.migrate(None, false).await.unwrap_err().to_string();
    assert!(
        err.contains("failed at statement 1 of 1") && err.contains("is duplicated"),
        "{err}"
    );
    assert_eq!(
        cc_indexes(&db).await?,
        [("mig_people_name_cc".to_owned(), false)]
    );
    // The data fixed and run again: IF NOT EXISTS skips the invalid index,
    // so the run refuses to record the migration, naming it.
    let _: Vec<(i32,)> = query(&db, "DELETE FROM mig_people WHERE age = 2").await?;
    let err = m.migrate(None, false).await.unwrap_err().to_string();
    assert!(
        err.contains("its index mig_people_name_cc is INVALID"),
        "{err}"
    );
    assert_eq!(recorded(&db).await?, [("0001_initial".to_owned(),)]);
    // Dropped as the error says, the next run builds and records it.
    let _: Vec<(i32,)> = query(&db, "DROP INDEX CONCURRENTLY mig_people_name_cc").await?;
    assert_eq!(m.migrate(None, false).await?.len(), 1);
    assert_eq!(
        cc_indexes(&db).await?,
        [("mig_people_name_cc".to_owned(), true)]
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
