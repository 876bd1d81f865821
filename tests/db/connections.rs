//! Choosing a database: `using`, `scope` (nested, per task), `connect`,
//! pool exhaustion, and unreachable servers.

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

#[tokio::test]
async fn unreachable_server_is_a_clear_error() {
    let err = Db::builder("postgres://nobody@/nowhere?host=/nonexistent-orm-socket-dir")
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Pool(_)), "{err:?}");
    assert!(
        err.to_string().contains("cannot open a connection"),
        "{err}"
    );
    let err = Db::builder("not a url at all").build().unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
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
