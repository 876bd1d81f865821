//! Read replicas on a real primary and hot standby (`pg_basebackup -R`,
//! started by `orm_core::testing::ReplicaPair`): reads routed to the
//! standby, read-your-writes by WAL position, the lag bound, and a standby
//! stopped under load.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orm_core::prelude::*;
use orm_core::testing::ReplicaPair;
use orm_core::{read_your_writes, ReplicaStats};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::common::User;

async fn pair() -> ReplicaPair {
    tokio::task::spawn_blocking(ReplicaPair::start)
        .await
        .expect("joined")
        .expect("a primary and a hot standby")
}

/// The primary's URL with `synchronous_commit = on` for its sessions (the
/// throwaway server runs with it off): a commit is then sent to the
/// standby as soon as it returns, as in production.
fn primary_url(pair: &ReplicaPair) -> String {
    format!(
        "{}&options=-c%20synchronous_commit%3Don",
        pair.primary_url("postgres")
    )
}

fn stats(db: &Db) -> ReplicaStats {
    db.replica_stats().expect("a database with replicas")
}

fn replica_reads(db: &Db) -> u64 {
    stats(db).replicas[0].reads
}

/// Whether the session that ran it is on the standby: `pg_is_in_recovery()`
/// is true only there (PostgreSQL's documentation, "Recovery Control
/// Functions").
async fn on_standby() -> Result<bool> {
    let rows: Vec<(bool,)> = orm_core::raw_read("SELECT pg_is_in_recovery()", &[]).await?;
    Ok(rows[0].0)
}

#[tokio::test]
async fn reads_go_to_the_standby_and_see_their_own_writes() -> Result<()> {
    let pair = pair().await;
    let db = Db::builder(primary_url(&pair))
        .replica(pair.standby_url("postgres"))
        .max_replica_lag(Duration::from_secs(120))
        .replica_poll_interval(Duration::from_millis(20))
        .build()?;
    orm_core::generate_schemas_on(&db).await?;
    pair.wait_replayed().await?;

    orm_core::scope(&db, async {
        // Reads on the standby; raw SQL, transactions and the primary
        // override on the primary.
        assert!(on_standby().await?, "a marked raw read runs on the standby");
        let raw: Vec<(bool,)> = orm_core::raw("SELECT pg_is_in_recovery()", &[]).await?;
        assert!(!raw[0].0, "plain raw SQL may write: on the primary");
        assert!(!orm_core::scope(&db.primary(), on_standby()).await?);
        let before = replica_reads(&db);
        assert_eq!(User::all().count().await?, 0);
        assert_eq!(replica_reads(&db), before + 1, "a count is a read");
        let in_tx = orm_core::transaction(|| async {
            let alice = User::create(User::named("alice")).await?;
            // A replica refuses row locks (it is read-only): this runs on
            // the primary, in the transaction.
            let locked = User::select_for_update().get(q!(id = alice.id)).await?;
            assert_eq!(locked.name, "alice");
            on_standby().await
        })
        .await?;
        assert!(!in_tx, "a transaction block runs on the primary");
        assert_eq!(
            replica_reads(&db),
            before + 1,
            "nothing in it went to the standby"
        );

        // Replay paused: 1,000 write → read cycles in a read-your-writes
        // scope all see their write, served by the primary (the standby
        // cannot have it).
        pair.pause_replay().await?;
        let (replica_before, primary_before) = (replica_reads(&db), stats(&db).primary_reads);
        let mut stale = 0;
        read_your_writes(async {
            for i in 0..1000 {
                let name = format!("paused{i}");
                let user = User::create(User::named(&name)).await?;
                match User::get_or_none(q!(name = name.as_str())).await? {
                    Some(found) if found.id == user.id => {}
                    _ => stale += 1,
                }
            }
            Ok::<_, Error>(())
        })
        .await?;
        assert_eq!(stale, 0, "no read missed its own write");
        assert_eq!(
            replica_reads(&db),
            replica_before,
            "the paused standby served none"
        );
        assert_eq!(stats(&db).primary_reads - primary_before, 1000);

        // Without a scope, a read goes to the standby even though it has
        // not replayed the write (documented: read_your_writes is opt-in).
        User::create(User::named("unscoped")).await?;
        let before = replica_reads(&db);
        assert_eq!(
            User::filter(q!(name = "unscoped")).count().await?,
            0,
            "stale"
        );
        assert_eq!(replica_reads(&db), before + 1);

        // Replay running: once the standby has replayed a write, the
        // scope's reads of it are served by the standby.
        pair.resume_replay().await?;
        pair.wait_replayed().await?;
        let (served, stale) = read_your_writes(async {
            let user = User::create(User::named("resumed")).await?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while stats(&db).replicas[0].replayed_lsn == 0 || !on_standby().await? {
                assert!(Instant::now() < deadline, "the standby never caught up");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let before = replica_reads(&db);
            let mut stale = 0;
            for _ in 0..200 {
                if User::get_or_none(q!(id = user.id)).await?.is_none() {
                    stale += 1;
                }
            }
            Ok::<_, Error>((replica_reads(&db) - before, stale))
        })
        .await?;
        assert_eq!(stale, 0);
        assert_eq!(
            served, 200,
            "every read of a replayed write is the standby's"
        );

        // Write → read cycles with replay running: never stale; which node
        // serves the read depends on how soon the standby replays.
        let (replica_before, primary_before) = (replica_reads(&db), stats(&db).primary_reads);
        let stale = read_your_writes(async {
            let mut stale = 0;
            for i in 0..200 {
                let name = format!("running{i}");
                User::create(User::named(&name)).await?;
                if User::filter(q!(name = name.as_str())).count().await? != 1 {
                    stale += 1;
                }
            }
            Ok::<_, Error>(stale)
        })
        .await?;
        assert_eq!(stale, 0);
        eprintln!(
            "write→read with replay running: {} reads on the standby, {} on the primary",
            replica_reads(&db) - replica_before,
            stats(&db).primary_reads - primary_before
        );

        // The scope is task-local and shared by joined futures: each read
        // waits for the writes committed before it.
        pair.pause_replay().await?;
        read_your_writes(async {
            let (a, b) = tokio::join!(
                User::create(User::named("joined-a")),
                User::create(User::named("joined-b"))
            );
            let (a, b) = (a?, b?);
            let (x, y) = tokio::join!(
                User::get_or_none(q!(id = a.id)),
                User::get_or_none(q!(id = b.id))
            );
            assert!(x?.is_some() && y?.is_some());
            // A transaction's commit counts as the scope's write.
            let c = orm_core::transaction(|| User::create(User::named("tx-c"))).await?;
            assert!(User::get_or_none(q!(id = c.id)).await?.is_some());
            Ok::<_, Error>(())
        })
        .await?;
        pair.resume_replay().await?;
        Ok::<_, Error>(())
    })
    .await
}

/// The WAL position a write notes is read after the write committed, not
/// before (it is pipelined behind the write or the `COMMIT` on the same
/// connection): each cycle first lets the standby replay everything, pauses
/// it there and gives the ORM's check time to see it, then writes in a
/// scope and reads. A position asked before the write would equal what the
/// paused standby has replayed, so the read would go to the standby and
/// miss the write; asked after the commit, it is past the standby, so the
/// read goes to the primary and finds it.
#[tokio::test]
async fn the_noted_position_is_read_after_the_write_commits() -> Result<()> {
    let pair = pair().await;
    let db = Db::builder(primary_url(&pair))
        .replica(pair.standby_url("postgres"))
        .max_replica_lag(Duration::from_secs(120))
        .replica_poll_interval(Duration::from_millis(10))
        .build()?;
    orm_core::generate_schemas_on(&db).await?;
    orm_core::scope(&db, async {
        let seed = User::create(User::named("seed")).await?;
        let mut stale = Vec::new();
        for i in 0..8 {
            pair.resume_replay().await?;
            pair.wait_replayed().await?;
            pair.pause_replay().await?;
            // The check polls every 10 ms: it now knows the standby is
            // caught up (up to the pause).
            tokio::time::sleep(Duration::from_millis(100)).await;
            let (replica_before, primary_before) = (replica_reads(&db), stats(&db).primary_reads);
            let kind = ["insert", "update", "transaction"][i % 3];
            let name = format!("after-commit-{i}");
            let found = read_your_writes(async {
                match kind {
                    "insert" => {
                        User::create(User::named(&name)).await?;
                    }
                    "update" => {
                        User::filter(q!(id = seed.id))
                            .update(q!(name = name.clone()))
                            .await?;
                    }
                    _ => {
                        orm_core::transaction(|| User::create(User::named(&name))).await?;
                    }
                }
                User::filter(q!(name = name.as_str())).count().await
            })
            .await?;
            if found != 1 {
                stale.push(kind);
            }
            assert_eq!(
                (
                    replica_reads(&db) - replica_before,
                    stats(&db).primary_reads - primary_before
                ),
                (0, 1),
                "{kind}: the read went to the primary, the paused standby lacking the write"
            );
        }
        assert!(stale.is_empty(), "stale reads after: {stale:?}");
        Ok::<_, Error>(())
    })
    .await?;
    pair.resume_replay().await
}

#[tokio::test]
async fn a_lagging_standby_is_skipped_until_it_catches_up() -> Result<()> {
    let pair = pair().await;
    let db = Db::builder(primary_url(&pair))
        .replica(pair.standby_url("postgres"))
        .max_replica_lag(Duration::from_millis(300))
        .replica_poll_interval(Duration::from_millis(20))
        .build()?;
    orm_core::generate_schemas_on(&db).await?;
    pair.wait_replayed().await?;
    orm_core::scope(&db, async {
        assert!(on_standby().await?);
        pair.pause_replay().await?;
        User::create(User::named("behind")).await?;
        // Lag = the age of the last transaction replayed while WAL waits
        // (the bound is 300 ms; the poll runs every 20 ms).
        let deadline = Instant::now() + Duration::from_secs(10);
        while !stats(&db).replicas[0].lagging {
            assert!(
                Instant::now() < deadline,
                "never marked lagging: {:?}",
                stats(&db)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!on_standby().await?, "reads fall back to the primary");
        assert_eq!(User::filter(q!(name = "behind")).count().await?, 1);
        pair.resume_replay().await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while stats(&db).replicas[0].lagging {
            assert!(
                Instant::now() < deadline,
                "never caught up: {:?}",
                stats(&db)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(on_standby().await?, "the standby serves reads again");
        Ok(())
    })
    .await
}

/// Counts the `orm_core::replica` warnings on the test's thread.
struct Warnings(Arc<AtomicUsize>);

impl Subscriber for Warnings {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() == Level::WARN && metadata.target() == "orm_core::replica"
    }
    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _span: &Id, _values: &Record<'_>) {}
    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}
    fn event(&self, _event: &Event<'_>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    fn enter(&self, _span: &Id) {}
    fn exit(&self, _span: &Id) {}
}

#[tokio::test]
async fn stopping_the_standby_under_load_fails_no_read() -> Result<()> {
    crate::logging::anchor();
    let warnings = Arc::new(AtomicUsize::new(0));
    let dispatch = tracing::Dispatch::new(Warnings(warnings.clone()));
    // The test runtime is single-threaded: a thread default covers it.
    let _guard = tracing::dispatcher::set_default(&dispatch);

    let pair = pair().await;
    let db = Db::builder(primary_url(&pair))
        .replica(pair.standby_url("postgres"))
        .replica_retry(Duration::from_millis(100))
        .replica_poll_interval(Duration::from_millis(20))
        .build()?;
    orm_core::generate_schemas_on(&db).await?;
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(
            orm_core::scope(&db, User::create(User::named(&format!("r{i}"))))
                .await?
                .id,
        );
    }
    pair.wait_replayed().await?;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let failed = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let mut readers = tokio::task::JoinSet::new();
    for k in 0..8 {
        let (db, stop, failed, done, ids) = (
            db.clone(),
            stop.clone(),
            failed.clone(),
            done.clone(),
            ids.clone(),
        );
        readers.spawn(async move {
            let mut n = k;
            while !stop.load(Ordering::Relaxed) {
                let id = ids[n % ids.len()];
                n += 1;
                match User::all().using(&db).get(q!(id = id)).await {
                    Ok(user) if user.id == id => {}
                    other => {
                        eprintln!("failed read: {other:?}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        replica_reads(&db) > 0,
        "the standby served reads: {:?}",
        stats(&db)
    );
    let (pair, stopped) = tokio::task::spawn_blocking(move || {
        let mut pair = pair;
        let stopped = pair.stop_standby();
        (pair, stopped)
    })
    .await
    .expect("joined");
    stopped.expect("standby stopped");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let down = stats(&db);
    assert!(!down.replicas[0].up, "marked down: {down:?}");
    let (_pair, started) = tokio::task::spawn_blocking(move || {
        let mut pair = pair;
        let started = pair.start_standby();
        (pair, started)
    })
    .await
    .expect("joined");
    started.expect("standby started");
    let served = replica_reads(&db);
    let deadline = Instant::now() + Duration::from_secs(15);
    while replica_reads(&db) < served + 50 {
        assert!(
            Instant::now() < deadline,
            "the standby is not used again: {:?}",
            stats(&db)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    while readers.join_next().await.is_some() {}
    let end = stats(&db);
    eprintln!("{} reads: {end:?}", done.load(Ordering::Relaxed));
    assert_eq!(failed.load(Ordering::Relaxed), 0, "no read failed");
    assert!(
        end.primary_reads > 0,
        "the primary served reads meanwhile: {end:?}"
    );
    assert!(end.replicas[0].up);
    assert!(
        warnings.load(Ordering::Relaxed) > 0,
        "the replica's failure was logged"
    );
    Ok(())
}

/// `stream()` / `iterator()` outside a transaction read on the standby, as
/// Django routes every read through `db_for_read` (its docs, "Multiple
/// databases": iterators included); read-your-writes holds for them too,
/// and a standby stopped before the first row sends the stream to the
/// primary, with every row once.
#[tokio::test]
async fn streams_are_read_on_the_standby() -> Result<()> {
    let mut pair = pair().await;
    let db = Db::builder(primary_url(&pair))
        .replica(pair.standby_url("postgres"))
        .max_replica_lag(Duration::from_secs(120))
        // Long: the stopped standby is found by the stream, not the poll.
        .replica_poll_interval(Duration::from_secs(60))
        .build()?;
    orm_core::generate_schemas_on(&db).await?;
    for name in ["s1", "s2", "s3"] {
        orm_core::scope(&db, User::create(User::named(name))).await?;
    }
    pair.wait_replayed().await?;
    let names = |users: Vec<User>| users.into_iter().map(|u| u.name).collect::<Vec<_>>();
    let stream_all = || async {
        let users: Vec<User> = User::all().order_by(["id"]).stream().try_collect().await?;
        Ok::<_, Error>(names(users))
    };
    orm_core::scope(&db, async {
        // Wait for the first health check (a standby not checked yet has
        // replayed nothing as far as the router knows).
        let deadline = Instant::now() + Duration::from_secs(10);
        while stats(&db).replicas[0].replayed_lsn == 0 {
            assert!(Instant::now() < deadline, "never checked: {:?}", stats(&db));
            let _ = User::all().count().await?;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let before = (replica_reads(&db), stats(&db).primary_reads);
        assert_eq!(stream_all().await?, ["s1", "s2", "s3"]);
        let users: Vec<User> = User::all()
            .order_by(["id"])
            .iterator(2)
            .try_collect()
            .await?;
        assert_eq!(names(users), ["s1", "s2", "s3"]);
        assert_eq!(
            (replica_reads(&db), stats(&db).primary_reads),
            (before.0 + 2, before.1),
            "both served by the standby"
        );

        // In a transaction: on the primary, in it.
        let in_tx = orm_core::transaction(|| async {
            User::create(User::named("s4")).await?;
            stream_all().await
        })
        .await?;
        assert_eq!(in_tx, ["s1", "s2", "s3", "s4"]);
        assert_eq!(replica_reads(&db), before.0 + 2, "not on the standby");

        // Replay paused: a stream in a read-your-writes scope sees the
        // scope's write (from the primary).
        pair.pause_replay().await?;
        let seen = read_your_writes(async {
            User::create(User::named("s5")).await?;
            stream_all().await
        })
        .await?;
        assert_eq!(seen, ["s1", "s2", "s3", "s4", "s5"]);
        assert_eq!(
            replica_reads(&db),
            before.0 + 2,
            "the paused standby served none"
        );
        pair.resume_replay().await?;
        pair.wait_replayed().await?;
        Ok::<_, Error>(())
    })
    .await?;

    // The standby stopped (the router does not know yet): the stream's
    // open fails there before any row, and it is read on the primary.
    let stopped = tokio::task::spawn_blocking(move || {
        let stopped = pair.stop_standby();
        (pair, stopped)
    })
    .await
    .expect("joined");
    let (_pair, stopped) = stopped;
    stopped.expect("standby stopped");
    let retried = stats(&db).retried_reads;
    let rows = orm_core::scope(&db, stream_all()).await?;
    assert_eq!(rows, ["s1", "s2", "s3", "s4", "s5"], "every row once");
    let after = stats(&db);
    assert_eq!(after.retried_reads, retried + 1, "{after:?}");
    assert!(!after.replicas[0].up, "marked down: {after:?}");
    Ok(())
}
