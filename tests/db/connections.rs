//! Choosing a database, and how the pool shares its connections.
//!
//! `using`, `scope` (nested, per task) and `connect`; pool exhaustion,
//! statements pipelined on a busy connection, the statement cache.

use std::time::{Duration, Instant};

use orm_core::prelude::*;

use crate::common::{setup, User};

#[tokio::test]
async fn using_and_scopes_pick_the_database() -> Result<()> {
    let one = setup().await;
    let two = setup().await;
    orm_core::scope(&one, async {
        User::create(User::named("in one")).await?;
        orm_core::scope(&two, async {
            User::create(User::named("in two")).await?;
            User::create(User::named("also two")).await
        })
        .await?;
        // Back in the outer scope.
        assert_eq!(User::all().count().await?, 1);
        assert_eq!(User::all().using(&two).count().await?, 2);
        Ok::<_, Error>(())
    })
    .await?;
    assert_eq!(User::all().using(&one).count().await?, 1);
    Ok(())
}

#[tokio::test]
async fn a_get_by_key_runs_on_its_query_sets_database() -> Result<()> {
    let one = setup().await;
    let two = setup().await;
    let b = orm_core::scope(&two, async {
        User::create(User::named("a")).await?;
        User::create(User::named("b")).await
    })
    .await?;
    // `one` has no users: a get that ran there would find nothing. Three
    // times, so that the later gets find their text kept (the fast path).
    for _ in 0..3 {
        let got = User::all().using(&two).get(q!(id = b.id)).await?;
        assert_eq!(got.name, "b");
        orm_core::scope(&one, async {
            let got = User::all().using(&two).get(q!(id = b.id)).await?;
            assert_eq!(got.name, "b");
            let got = User::all().using(&two).get_or_none(q!(id = b.id)).await?;
            assert_eq!(got.map(|u| u.name).as_deref(), Some("b"));
            let err = User::get(q!(id = b.id)).await.unwrap_err();
            assert!(matches!(err, Error::DoesNotExist { .. }), "{err}");
            assert!(User::get_or_none(q!(id = b.id)).await?.is_none());
            Ok::<_, Error>(())
        })
        .await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_query_made_outside_a_scope_runs_in_the_scope_that_awaits_it() -> Result<()> {
    let one = setup().await;
    let two = setup().await;
    for (db, names) in [(&one, ["a", "b"].as_slice()), (&two, ["x"].as_slice())] {
        for name in names {
            orm_core::scope(db, User::create(User::named(name))).await?;
        }
    }
    // Made in `one`'s scope, awaited in `two`'s: a future does nothing
    // until it is polled, so it runs on `two`.
    let (count, exists, fetch, get, update, delete) = orm_core::scope(&one, async {
        (
            User::all().count(),
            User::filter(q!(name = "x")).exists(),
            User::all().fetch(),
            User::get(q!(name = "x")),
            User::all().update(q!(karma = 7)),
            User::filter(q!(name = "nobody")).delete(),
        )
    })
    .await;
    orm_core::scope(&two, async {
        assert_eq!(count.await?, 1);
        assert!(exists.await?);
        assert_eq!(fetch.await?.len(), 1);
        assert_eq!(get.await?.name, "x");
        assert_eq!(update.await?, 1);
        assert_eq!(delete.await?, 0);
        Ok::<_, Error>(())
    })
    .await?;
    let karma = |db: Db| async move {
        let karma: Vec<i32> = User::all().using(&db).values_list_flat("karma").await?;
        Ok::<_, Error>(karma)
    };
    assert_eq!(karma(two.clone()).await?, [7], "the update ran on `two`");
    assert_eq!(karma(one.clone()).await?, [0, 0], "and not on `one`");
    Ok(())
}

#[tokio::test]
async fn parallel_tasks_each_keep_their_scope() -> Result<()> {
    let dbs = [setup().await, setup().await, setup().await];
    let tasks: Vec<_> = dbs
        .iter()
        .enumerate()
        .map(|(i, db)| {
            tokio::spawn(orm_core::scope(db, async move {
                for n in 0..=i {
                    User::create(User::named(&format!("t{i}-{n}"))).await?;
                    tokio::task::yield_now().await;
                }
                User::all().count().await
            }))
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.expect("task")?, i as i64 + 1);
    }
    Ok(())
}

#[tokio::test]
async fn exhausted_pool_times_out() -> Result<()> {
    let db = setup().await;
    let url = orm_core::testing::database_url()?;
    let small = Db::builder(url)
        .max_size(1)
        .wait_timeout(Duration::from_millis(200))
        .connect()
        .await?;
    let busy = {
        let small = small.clone();
        tokio::spawn(async move { small.batch_execute("SELECT pg_sleep(1.5)").await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    let err = small.batch_execute("SELECT 1").await.unwrap_err();
    assert!(matches!(err, Error::PoolTimeout(_)), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "it failed fast, no hang"
    );
    busy.await.expect("task")?;
    small.batch_execute("SELECT 1").await?;
    drop(db);
    Ok(())
}

/// A pool of one connection on a fresh database with the schema, whose
/// checkouts wait at most 150 ms.
async fn pool_of_one(pipelining: bool) -> Result<Db> {
    let url = orm_core::testing::test_database_url().await?;
    let db = Db::builder(url)
        .max_size(1)
        .wait_timeout(Duration::from_millis(150))
        .pipelining(pipelining)
        .connect()
        .await?;
    orm_core::generate_schemas_on(&db).await?;
    Ok(db)
}

/// Starts a statement that keeps the pool's one connection busy for `secs`.
fn busy_for(db: &Db, secs: f64) -> tokio::task::JoinHandle<Result<Vec<(i32,)>>> {
    tokio::spawn(orm_core::scope(db, async move {
        orm_core::raw("SELECT 1 FROM pg_sleep($1)", &[&secs]).await
    }))
}

#[tokio::test]
async fn statements_share_a_busy_connection() -> Result<()> {
    let db = pool_of_one(true).await?;
    orm_core::scope(&db, async {
        for i in 0..64 {
            User::create(User::named(&format!("u{i:02}"))).await?;
        }
        // The one connection runs a slow statement; a query that finds the
        // pool empty is pipelined behind it instead of timing out.
        let busy = busy_for(&db, 0.5);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(User::all().count().await?, 64);
        assert_eq!(busy.await.expect("task")?, vec![(1,)]);

        // 64 tasks while the one connection is busy again: each get is
        // pipelined behind the sleep (a turn-taking pool would time them
        // out) and answers its own query.
        let busy = busy_for(&db, 0.5);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                tokio::spawn(orm_core::scope(&db, async move {
                    let name = format!("u{i:02}");
                    let user = User::get(q!(name = name.as_str())).await?;
                    Ok::<_, Error>(user.name == name)
                }))
            })
            .collect();
        for task in tasks {
            assert!(task.await.expect("task")?);
        }
        assert_eq!(busy.await.expect("task")?, vec![(1,)]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn without_pipelining_an_exhausted_pool_times_out() -> Result<()> {
    let db = pool_of_one(false).await?;
    let busy = busy_for(&db, 2.0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = User::all().using(&db).count().await.unwrap_err();
    assert!(matches!(err, Error::PoolTimeout(_)), "{err:?}");
    assert_eq!(busy.await.expect("task")?, vec![(1,)]);
    assert_eq!(User::all().using(&db).count().await?, 0);
    Ok(())
}

#[tokio::test]
async fn streams_and_transactions_hold_their_connection_alone() -> Result<()> {
    let db = pool_of_one(true).await?;
    orm_core::scope(&db, async {
        for i in 0..3 {
            User::create(User::named(&format!("s{i}"))).await?;
        }
        // Rows still to come on a stream's connection: a statement behind
        // them would wait for the stream, so it is not pipelined there.
        let mut stream = User::all().order_by(["name"]).stream();
        assert_eq!(stream.try_next().await?.map(|u| u.name), Some("s0".into()));
        let err = User::all().count().await.unwrap_err();
        assert!(matches!(err, Error::PoolTimeout(_)), "{err:?}");
        drop(stream);
        assert_eq!(User::all().count().await?, 3);

        let tx = db.begin().await?;
        let err = User::all().count().await.unwrap_err();
        assert!(matches!(err, Error::PoolTimeout(_)), "{err:?}");
        assert_eq!(User::all().using(&tx).count().await?, 3);
        tx.rollback().await?;
        assert_eq!(User::all().count().await?, 3);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn transactions_get_a_connection_under_steady_autocommit_load() -> Result<()> {
    // Every checkout may wait 3 s: the load's statements queue behind the
    // transactions, and a transaction starved by the load would time out.
    let url = orm_core::testing::test_database_url().await?;
    let db = Db::builder(url)
        .max_size(1)
        .wait_timeout(Duration::from_secs(3))
        .connect()
        .await?;
    orm_core::generate_schemas_on(&db).await?;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Four tasks keep the one connection busy with autocommit statements
    // (which keep it out of the pool between them)...
    let load: Vec<_> = (0..4)
        .map(|_| {
            let done = done.clone();
            tokio::spawn(orm_core::scope(&db, async move {
                let mut n = 0u32;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    User::all().count().await?;
                    n += 1;
                }
                Ok::<_, Error>(n)
            }))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // ...and transactions still get it, each within the pool's wait
    // timeout; once they are done, the statements that queued behind them
    // in the pool get the connection too (none times out).
    for i in 0..20 {
        let tx = db.begin().await?;
        orm_core::scope(&tx, User::create(User::named(&format!("in tx{i}")))).await?;
        tx.commit().await?;
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in load {
        assert!(task.await.expect("task")? > 0, "the load ran");
    }
    assert_eq!(
        User::filter(q!(name__startswith = "in tx"))
            .using(&db)
            .count()
            .await?,
        20
    );
    Ok(())
}

#[tokio::test]
async fn the_statement_cache_is_bounded() -> Result<()> {
    let url = orm_core::testing::test_database_url().await?;
    let db = Db::builder(url)
        .max_size(1)
        .statement_cache_capacity(8)
        .connect()
        .await?;
    orm_core::scope(&db, async {
        let hot = "SELECT $1::int + 1";
        for i in 0..100 {
            // A text run once, as a LIMIT from user input would make.
            let once = orm_core::AssertSqlSafe(format!("SELECT $1::int + {i} + 1000"));
            let rows: Vec<(i32,)> = orm_core::raw(once, &[&i]).await?;
            assert_eq!(rows, [(2 * i + 1000,)]);
            let rows: Vec<(i32,)> = orm_core::raw(hot, &[&i]).await?;
            assert_eq!(rows, [(i + 1,)]);
        }
        // What the server holds for this connection (the query included).
        let kept: Vec<(String,)> =
            orm_core::raw("SELECT statement FROM pg_prepared_statements", &[]).await?;
        assert!(kept.len() <= 8, "{} statements kept: {kept:?}", kept.len());
        assert!(
            kept.iter().any(|(text,)| text == hot),
            "the statement in use stays: {kept:?}"
        );
        // A closed text is prepared again when it comes back.
        let again = orm_core::AssertSqlSafe("SELECT $1::int + 0 + 1000".into());
        let rows: Vec<(i32,)> = orm_core::raw(again, &[&5]).await?;
        assert_eq!(rows, [(1005,)]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn connect_sets_the_global_default() -> Result<()> {
    let db = setup().await;
    // The default is only used outside any scope; every other test runs in
    // a scope, so setting it here does not disturb them.
    let url = orm_core::testing::database_url()?;
    let default = orm_core::connect(&url).await?;
    assert_eq!(orm_core::current()?.query_count(), default.query_count());
    default.batch_execute("SELECT 1").await?;
    // A scope still wins over the default.
    orm_core::scope(&db, async {
        User::create(User::named("scoped")).await?;
        assert_eq!(User::all().count().await?, 1);
        Ok(())
    })
    .await
}

/// A statement binding an array is planned for the array it gets, every
/// time: run by name, PostgreSQL would switch it to a generic plan after
/// five runs, in which `= ANY($1)` scans the array for every row instead of
/// hashing it (1.9 s instead of 45 ms for 10,000 keys over 100,000 rows
/// without an index). Its kept statement gives the types only.
#[tokio::test]
async fn statements_binding_arrays_are_planned_for_their_values() -> Result<()> {
    let url = orm_core::testing::test_database_url().await?;
    let db = Db::builder(url).max_size(1).connect().await?;
    create_tables(&db).await?;
    orm_core::scope(&db, async {
        let users = crate::common::users(&[("a", 1, None), ("b", 2, None), ("c", 3, None)]).await;
        let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        for round in 0..12 {
            let wanted = &ids[..1 + round % 3];
            let found = User::filter(q!(id__in = wanted.to_vec()))
                .order_by(["id"])
                .await?;
            let found: Vec<i64> = found.iter().map(|u| u.id).collect();
            assert_eq!(found, wanted);
            // And in a write: `UPDATE .. WHERE id = ANY($2)`.
            let n = User::filter(q!(id__in = wanted.to_vec()))
                .update(q!(karma = round as i32))
                .await?;
            assert_eq!(n, wanted.len() as u64);
        }
        // What the server planned for this connection's kept statements.
        let plans: Vec<(String, i64, i64)> = orm_core::raw(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements",
            &[],
        )
        .await?;
        let with_array: Vec<&(String, i64, i64)> = plans
            .iter()
            .filter(|(sql, ..)| sql.contains("ANY("))
            .collect();
        assert_eq!(with_array.len(), 2, "the select and the update: {plans:?}");
        for (sql, generic, custom) in with_array {
            assert_eq!((*generic, *custom), (0, 0), "run by name: {sql}");
        }
        Ok(())
    })
    .await
}

/// The tables of every model, on `db`.
async fn create_tables(db: &Db) -> Result<()> {
    orm_core::generate_schemas_on(db).await
}
