//! Failure paths of row-level security outside transaction blocks
//! (`orm-core/src/db/rls.rs`): a statement there runs as
//! `BEGIN; set_config('orm.tenant', ..); <statement>; COMMIT` pipelined on
//! a connection held alone. What a production application meets: futures
//! dropped half-way (a timeout, a client gone), a server restart under
//! load, a cached statement made stale by DDL under a live pool. After
//! each, no statement may run inside a block left open, under a tenant
//! setting left behind, or see another tenant's rows.
//!
//! The application connects as a plain role (row-level security holds
//! neither a superuser nor the tables' owner), as in `tenant.rs`, whose
//! two tenants' rows are used: tenant 1 has tasks "a1", "a2", tenant 2
//! has "b1".

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use orm_core::prelude::*;
use orm_core::tenant;

use crate::models::tenants::{TnOrg, TnProject, TnTask};
use crate::tenant::{as_role, plain_role, titles, two_tenants};

/// The tables and rows of `two_tenants` on a fresh database, its owner's
/// pool, and a pool of `size` as the plain role `role`.
async fn rls_pools(role: &str, size: usize) -> Result<(Db, Db)> {
    let url = orm_core::testing::test_database_url().await?;
    let admin = Db::builder(&url).connect().await?;
    orm_core::generate_schemas_on(&admin).await?;
    orm_core::scope(&admin, two_tenants()).await?;
    drop(plain_role(&admin, &url, role).await?);
    let app = Db::builder(as_role(&url, role))
        .max_size(size)
        .wait_timeout(Duration::from_secs(10))
        .connect()
        .await?;
    Ok((admin, app))
}

/// What the next statement on the pool finds, run with no tenant current
/// (so it is a plain statement, in no block of its own), right after a
/// write outside any scope on the same pool of one connection.
#[derive(Debug)]
struct Probe {
    /// Inside a transaction block left open: the write's transaction is
    /// still the current one (it has an id, PostgreSQL's
    /// `pg_current_xact_id_if_assigned()`, until it ends).
    in_block: bool,
    /// `orm.tenant` as the session has it: `None` or `""` unless a setting
    /// was left behind (`set_config(.., true)` ends with its transaction).
    setting: Option<String>,
    /// The server process: the same one while the connection is reused.
    pid: i32,
}

/// Writes the row `n` of `tn_orgs` outside any scope, then probes: see
/// [`Probe`]. The write and the probe must run on one server process.
async fn probe(n: i64) -> Result<Probe> {
    let wrote: Vec<(i32,)> = orm_core::raw(
        "INSERT INTO tn_orgs (id, name) VALUES ($1, 'probe') RETURNING pg_backend_pid()",
        &[&n],
    )
    .await?;
    let rows: Vec<(bool, Option<String>, i32)> = orm_core::raw(
        "SELECT pg_current_xact_id_if_assigned() IS NOT NULL, \
         current_setting('orm.tenant', true), pg_backend_pid()",
        &[],
    )
    .await?;
    let (in_block, setting, pid) = rows[0].clone();
    assert_eq!(wrote[0].0, pid, "one connection");
    Ok(Probe {
        in_block,
        setting,
        pid,
    })
}

/// What happens between two polls of a statement dropped half-way: the
/// connection's task reads and writes meanwhile.
#[derive(Debug, Clone, Copy)]
enum Pause {
    /// Yield to the runtime so many times (a step or two of the task).
    Yields(usize),
    /// Sleep so long: the server's answers arrive.
    Sleep(Duration),
}

/// Polls `fut` up to `polls` times with a waker that does nothing, with
/// `pause` between polls, then drops it: true when it finished first (its
/// output is then checked).
async fn poll_then_drop(polls: usize, pause: Pause, fut: impl Future<Output = Result<()>>) -> bool {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..polls {
        if let Poll::Ready(result) = fut.as_mut().poll(&mut cx) {
            result.expect("the statement, run to its end");
            return true;
        }
        match pause {
            Pause::Yields(n) => {
                for _ in 0..n {
                    tokio::task::yield_now().await;
                }
            }
            Pause::Sleep(time) => tokio::time::sleep(time).await,
        }
    }
    false
}

/// The checks after a dropped statement, on the pool of one connection
/// (`app`); `n` makes the probe row's key. Returns the server process the
/// next statement ran on.
async fn after_drop(admin: &Db, app: &Db, n: i64, what: &str) -> Result<i32> {
    let seen = orm_core::scope(app, probe(1000 + n)).await?;
    assert!(
        !seen.in_block,
        "{what}: the next statement ran in a block left open"
    );
    assert!(
        seen.setting.as_deref().is_none_or(str::is_empty),
        "{what}: the tenant setting was left on the connection: {seen:?}"
    );
    // The write outside any scope was committed (not swallowed by a block
    // left open): another connection sees it.
    let there: Vec<(i64,)> = orm_core::scope(
        admin,
        orm_core::raw("SELECT count(*) FROM tn_orgs WHERE id = $1", &[&(1000 + n)]),
    )
    .await?;
    assert_eq!(
        there,
        [(1,)],
        "{what}: the write before the probe was not committed"
    );
    // Tenant 2 sees its row only (`two_tenants`); tenant 1 its own.
    let two = orm_core::scope(app, tenant::scope(2_i64, async { TnTask::all().await })).await?;
    assert_eq!(titles(&two), ["b1"], "{what}");
    let one = orm_core::scope(app, tenant::scope(1_i64, async { TnTask::all().await })).await?;
    assert!(one.iter().all(|t| t.tenant_id == 1), "{what}");
    assert!(
        titles(&one).starts_with(&["a1", "a2"]),
        "{what}: {:?}",
        titles(&one)
    );
    Ok(seen.pid)
}

/// Statements dropped at many points (hand-polled 1..=30 times, with 1 or
/// 3 yields or a 1 ms sleep between polls, for 5 kinds of statement): a count, an update,
/// an insert and a slow raw read of tenant 1 (each `BEGIN; set_config;
/// statement; COMMIT`, sent in one write: the server runs the block to its
/// end even when the caller is gone), and a stream of tenant 3's 20,000
/// rows, which comes in many reads (its block stays open until its last
/// row: dropped before, the connection must not be reused as it is). Each
/// is followed by [`after_drop`] on the same pool of one connection.
#[tokio::test]
async fn statements_dropped_half_way_leave_no_block_and_no_tenant_behind() -> Result<()> {
    let (admin, app) = rls_pools("orm_rls_dropped", 1).await?;
    // Tenant 1's tasks made equal, so that an update dropped half-way
    // shows whether it was applied to both or to none.
    orm_core::scope(
        &app,
        tenant::scope(1_i64, async { TnTask::all().update(q!(points = 0)).await }),
    )
    .await?;
    // Tenant 3, 20,000 tasks, made by the owner (whom no policy holds).
    orm_core::scope(&admin, async {
        TnOrg::create(TnOrg {
            id: 3,
            name: "three".into(),
            ..Default::default()
        })
        .await?;
        tenant::scope(3_i64, async {
            let p = TnProject::create(TnProject {
                name: "gamma".into(),
                ..Default::default()
            })
            .await?;
            let tasks = (0..20_000)
                .map(|i| TnTask {
                    project: ForeignKey::from_key(p.id),
                    title: format!("c{i:05}"),
                    ..Default::default()
                })
                .collect();
            TnTask::bulk_create(tasks).await.map(drop)
        })
        .await
    })
    .await?;
    // Tenant 1's project, for the inserts.
    let alpha = orm_core::scope(
        &app,
        tenant::scope(1_i64, TnProject::get(q!(name = "alpha"))),
    )
    .await?
    .id;
    let (mut dropped, mut finished, mut replaced, mut n) = ([0; 5], 0, 0, 0_i64);
    let mut pid = orm_core::scope(&app, probe(999)).await?.pid;
    for (kind, dropped_of_kind) in dropped.iter_mut().enumerate() {
        let pauses = [
            Pause::Yields(1),
            Pause::Yields(3),
            Pause::Sleep(Duration::from_millis(1)),
        ];
        for pause in pauses {
            for polls in 1..=30 {
                n += 1;
                let op = async move {
                    match kind {
                        0 => TnTask::all().count().await.map(drop),
                        1 => TnTask::objects_all_tenants()
                            .update(q!(points = n as i32))
                            .await
                            .map(drop),
                        2 => {
                            let rows: Vec<TnTask> = tenant::scope(3_i64, async {
                                TnTask::all()
                                    .order_by(["title"])
                                    .stream()
                                    .try_collect()
                                    .await
                            })
                            .await?;
                            assert!(rows.len() == 20_000 && rows.iter().all(|t| t.tenant_id == 3));
                            Ok(())
                        }
                        3 => TnTask::create(TnTask {
                            project: ForeignKey::from_key(alpha),
                            title: format!("dropped {n}"),
                            ..Default::default()
                        })
                        .await
                        .map(drop),
                        _ => orm_core::raw::<(i64,)>(
                            "SELECT count(*) FROM tn_tasks, pg_sleep(0.002)",
                            &[],
                        )
                        .await
                        .map(drop),
                    }
                };
                let fut = orm_core::scope(&app, tenant::scope(1_i64, op));
                if poll_then_drop(polls, pause, fut).await {
                    finished += 1;
                } else {
                    *dropped_of_kind += 1;
                }
                let what = format!("kind {kind}, {polls} polls, {pause:?} between");
                let now = after_drop(&admin, &app, n, &what).await?;
                if now != pid {
                    replaced += 1;
                    pid = now;
                }
            }
        }
    }
    eprintln!(
        "{} statements: {} dropped half-way (of each kind: {dropped:?}), {finished} \
         finished first; the connection was replaced {replaced} times",
        dropped.iter().sum::<i32>() + finished,
        dropped.iter().sum::<i32>()
    );
    // Of each kind's 90, some dropped (a count finishes in few polls: 9 to
    // 55 of its 90 were dropped in runs here; a stream never finishes).
    assert!(
        dropped.iter().all(|&d| d >= 3),
        "too few drops: {dropped:?}"
    );
    // Seen by the owner: the update applied to both of tenant 1's tasks or
    // to neither (one value), tenant 2's untouched (7), every task made
    // under tenant 1 is tenant 1's.
    let seen: Vec<(i64, i32, i64)> = orm_core::scope(
        &admin,
        orm_core::raw(
            "SELECT count(DISTINCT points) FILTER (WHERE title IN ('a1', 'a2')), \
             max(points) FILTER (WHERE title = 'b1'), \
             count(*) FILTER (WHERE title LIKE 'dropped %' AND tenant_id <> 1) FROM tn_tasks",
            &[],
        ),
    )
    .await?;
    assert_eq!(seen, [(1, 7, 0)]);
    Ok(())
}

/// Statements of tenant 1 dropped while the server runs them (a timeout of
/// 1 to 80 ms against a 200 ms statement): the next statement on the same
/// pool is clean, and no session of the role is left in a transaction on
/// the server (it would hold its locks and snapshot).
#[tokio::test]
async fn statements_timed_out_on_the_server_leave_no_open_transaction() -> Result<()> {
    let role = "orm_rls_timed_out";
    let (admin, app) = rls_pools(role, 1).await?;
    let mut n = 0;
    for ms in [1, 2, 5, 10, 20, 40, 80] {
        n += 1;
        let slow = orm_core::raw::<(i64,)>("SELECT count(*) FROM tn_tasks, pg_sleep(0.2)", &[]);
        let timed = tokio::time::timeout(
            Duration::from_millis(ms),
            orm_core::scope(&app, tenant::scope(1_i64, slow)),
        )
        .await;
        assert!(timed.is_err(), "{ms} ms: finished before the timeout");
        after_drop(&admin, &app, n, &format!("timed out after {ms} ms")).await?;
    }
    // The sessions of the dropped statements end (cancelled, closed): none
    // of the role's is left inside a transaction.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let open: Vec<(i64,)> = orm_core::scope(
            &admin,
            orm_core::raw(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 \
                 AND xact_start IS NOT NULL",
                &[&role],
            ),
        )
        .await?;
        if open[0].0 == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} sessions of the role still in a transaction",
            open[0].0
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// A server restart under a load of statements of two tenants outside
/// blocks: statements running when it goes down may fail; every one
/// started after it is back succeeds (the pool replaces the connections
/// it closed), and none ever sees another tenant's rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_under_rls_load_is_survived() -> Result<()> {
    // A server of its own: the shared one serves the other tests.
    let server = tokio::task::spawn_blocking(orm_core::testing::TestServer::start)
        .await
        .expect("task")
        .expect("a throwaway server");
    let url = server.url("postgres");
    let admin = Db::builder(&url).max_size(2).connect().await?;
    orm_core::generate_schemas_on(&admin).await?;
    orm_core::scope(&admin, two_tenants()).await?;
    let role = "orm_rls_restart";
    drop(plain_role(&admin, &url, role).await?);
    let app = Db::builder(as_role(&url, role))
        .max_size(4)
        .wait_timeout(Duration::from_secs(10))
        .connect()
        .await?;

    // None until the restart returned; then when it did.
    let back: Arc<Mutex<Option<Instant>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..8_i64 {
        let (back, stop) = (back.clone(), stop.clone());
        let tenant_id = 1 + i % 2;
        let mine: &[&str] = if tenant_id == 1 {
            &["a1", "a2"]
        } else {
            &["b1"]
        };
        tasks.push(tokio::spawn(orm_core::scope(
            &app.clone(),
            tenant::scope(tenant_id, async move {
                // (statements, failed before it was back, failed after,
                // saw another tenant's rows or missed their own)
                let (mut runs, mut before, mut after, mut crossed) = (0, 0, Vec::new(), 0);
                let mut j = 0;
                while !stop.load(Ordering::Relaxed) {
                    j += 1;
                    let started = Instant::now();
                    let seen: Result<Vec<String>> = match j % 3 {
                        0 => TnTask::all()
                            .await
                            .map(|ts| titles(&ts).iter().map(|t| (*t).to_owned()).collect()),
                        1 => orm_core::raw::<(String,)>("SELECT title FROM tn_tasks", &[])
                            .await
                            .map(|rows| {
                                let mut v: Vec<String> = rows.into_iter().map(|r| r.0).collect();
                                v.sort_unstable();
                                v
                            }),
                        _ => TnTask::all()
                            .order_by(["title"])
                            .stream()
                            .try_collect::<Vec<TnTask>>()
                            .await
                            .map(|ts| ts.into_iter().map(|t| t.title).collect()),
                    };
                    runs += 1;
                    match seen {
                        Ok(seen) => crossed += usize::from(seen != mine),
                        Err(e) => {
                            let was_back = *back.lock().expect("lock");
                            match was_back {
                                Some(at) if started >= at => after.push(e.to_string()),
                                _ => before += 1,
                            }
                        }
                    }
                }
                (runs, before, after, crossed)
            }),
        )));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.restart().map(|()| server)
    })
    .await
    .expect("task")
    .expect("the server restarted");
    *back.lock().expect("lock") = Some(Instant::now());
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut runs, mut before, mut after, mut crossed) = (0, 0, Vec::new(), 0);
    for task in tasks {
        let (r, b, a, c) = task.await.expect("task");
        runs += r;
        before += b;
        after.extend(a);
        crossed += c;
    }
    // Then 200 more, one after another, alternating tenants.
    let mut later = 0;
    for k in 0..200_i64 {
        let tenant_id = 1 + k % 2;
        let seen = orm_core::scope(
            &app,
            tenant::scope(tenant_id, async { TnTask::all().await }),
        )
        .await?;
        assert!(seen.iter().all(|t| t.tenant_id == tenant_id));
        later += 1;
    }
    eprintln!(
        "under load: {runs} statements, {before} failed while the server was down, \
         {} after it was back; then {later} more, all fine",
        after.len()
    );
    assert!(after.is_empty(), "failed after the restart: {after:?}");
    assert_eq!(crossed, 0, "statements that saw another tenant's rows");
    assert!(runs > 100, "too little load to mean anything: {runs}");
    drop((app, admin));
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("task");
    Ok(())
}

/// `fut`'s output and how many statements `db` counted while it ran.
async fn tries<T>(db: &Db, fut: impl Future<Output = Result<T>>) -> Result<(T, u64)> {
    let before = db.query_count();
    let out = fut.await?;
    Ok((out, db.query_count() - before))
}

/// DDL under a live pool that changes the result type of statements the
/// connection has prepared (`ALTER COLUMN .. TYPE`, `ADD COLUMN` under a
/// `SELECT *`): PostgreSQL refuses the cached statement (0A000 "cached plan
/// must not change result type") and aborts the statement's block; the ORM
/// prepares it again and runs the block once more, so the call succeeds.
/// The retry shows in the statement count: two tries, where a call counts
/// one (`Db::query_count`).
#[tokio::test]
async fn a_statement_made_stale_by_ddl_is_prepared_again_under_rls() -> Result<()> {
    let (admin, app) = rls_pools("orm_rls_stale", 1).await?;
    let select_all = "SELECT * FROM tn_tasks ORDER BY title";
    orm_core::scope(&app, async {
        tenant::scope(1_i64, async {
            // Prepared on the one connection, and counted once each.
            let (rows, n) = tries(&app, async { TnTask::all().await }).await?;
            assert_eq!((titles(&rows), n), (vec!["a1", "a2"], 1));
            let (rows, n) = tries(&app, TnTask::raw(select_all, &[])).await?;
            assert_eq!((titles(&rows), n), (vec!["a1", "a2"], 1));
            Ok::<_, Error>(())
        })
        .await
    })
    .await?;
    // The column's type changes (text -> varchar): both statements' result
    // types change.
    admin
        .batch_execute("ALTER TABLE tn_tasks ALTER COLUMN title TYPE varchar(100)")
        .await?;
    orm_core::scope(&app, async {
        tenant::scope(1_i64, async {
            let (rows, n) = tries(&app, async { TnTask::all().await }).await?;
            assert_eq!((titles(&rows), n), (vec!["a1", "a2"], 2), "retried once");
            let (rows, n) = tries(&app, TnTask::raw(select_all, &[])).await?;
            assert_eq!((titles(&rows), n), (vec!["a1", "a2"], 2), "retried once");
            // Prepared again: the next run is one try.
            let (_, n) = tries(&app, async { TnTask::all().await }).await?;
            assert_eq!(n, 1);
            Ok::<_, Error>(())
        })
        .await
    })
    .await?;
    // A column added: `SELECT *` has one more column.
    admin
        .batch_execute("ALTER TABLE tn_tasks ADD COLUMN note text")
        .await?;
    orm_core::scope(&app, async {
        tenant::scope(2_i64, async {
            let (rows, n) = tries(&app, TnTask::raw(select_all, &[])).await?;
            assert_eq!((titles(&rows), n), (vec!["b1"], 2), "retried once");
            Ok::<_, Error>(())
        })
        .await
    })
    .await?;
    // A stream under row-level security, prepared, then made stale.
    let stream = || async {
        let rows: Vec<TnTask> = TnTask::all()
            .order_by(["title"])
            .stream()
            .try_collect()
            .await?;
        Ok::<_, Error>(rows)
    };
    let rows = orm_core::scope(&app, tenant::scope(1_i64, stream())).await?;
    assert_eq!(titles(&rows), ["a1", "a2"]);
    admin
        .batch_execute("ALTER TABLE tn_tasks ALTER COLUMN title TYPE text")
        .await?;
    let rows = orm_core::scope(&app, tenant::scope(1_i64, stream())).await?;
    assert_eq!(titles(&rows), ["a1", "a2"], "the stream prepared again");
    // Nothing left behind: the next statement is clean and tenant 2 sees
    // its row only.
    let seen = orm_core::scope(&app, probe(998)).await?;
    assert!(
        !seen.in_block && seen.setting.as_deref().is_none_or(str::is_empty),
        "{seen:?}"
    );
    let two = orm_core::scope(&app, tenant::scope(2_i64, async { TnTask::all().await })).await?;
    assert_eq!(titles(&two), ["b1"]);
    Ok(())
}
