//! Connections lost under a warm pool (killed backends, a server restart): replaced, statements prepared again.
//!
//! What a server restart, a failover or an idle-connection reaper does to
//! the clients.

use std::time::{Duration, Instant};

use orm_core::prelude::*;

use crate::models::resilience::Thing;
use crate::resilience_support::{exercise, fresh, observer, one};

/// Five things on `db`, and every path of [`exercise`] run over them
/// without an error (the pool's connections open, statements prepared).
async fn warmed(db: &Db) -> Result<Vec<i64>> {
    let mut ids = Vec::new();
    for i in 0..5 {
        let thing = orm_core::scope(
            db,
            Thing::create(Thing {
                s: format!("t{i}"),
                ..Default::default()
            }),
        )
        .await?;
        ids.push(thing.id);
    }
    let (_, errors) = exercise(db, &ids, 8, 3).await;
    assert!(errors.is_empty(), "{errors:?}");
    Ok(ids)
}

#[tokio::test]
async fn connections_killed_under_a_warm_pool_are_replaced() -> Result<()> {
    let (db, url) = fresh(4).await?;
    let obs = observer(&url).await?;
    let ids = warmed(&db).await?;
    let killed = one(
        &obs,
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t",
    )
    .await?;
    assert!(killed >= 1, "the pool had connections open");
    // The sockets are closed; give the connection tasks a moment to see it,
    // as an application between two requests would.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (calls, errors) = exercise(&db, &ids, 8, 3).await;
    println!(
        "after killing {killed} connections: {} of {calls} calls failed",
        errors.len()
    );
    assert!(
        errors.is_empty(),
        "{} of {calls} failed: {errors:?}",
        errors.len()
    );
    Ok(())
}

#[tokio::test]
async fn a_server_restart_under_a_warm_pool_is_survived() -> Result<()> {
    // A server of its own: the shared one serves the other tests.
    let server = tokio::task::spawn_blocking(orm_core::testing::TestServer::start)
        .await
        .expect("task")
        .expect("a throwaway server");
    let admin = Db::builder(server.url("postgres"))
        .max_size(1)
        .connect()
        .await?;
    admin.batch_execute("CREATE DATABASE res_restart").await?;
    let db = Db::builder(server.url("res_restart"))
        .max_size(4)
        .wait_timeout(Duration::from_secs(10))
        .connect()
        .await?;
    orm_core::generate_schemas_on(&db).await?;
    let ids = warmed(&db).await?;
    // A statement running when the server goes down fails with the
    // server's reason.
    let in_flight = tokio::spawn(orm_core::scope(
        &db,
        orm_core::raw::<(i32,)>("SELECT 1 FROM pg_sleep(5)", &[]),
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let server = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.restart().map(|()| server)
    })
    .await
    .expect("task")
    .expect("the server restarted");
    let took = started.elapsed();
    let err = in_flight.await.expect("task").unwrap_err();
    eprintln!("restart took {took:?}; the statement in flight: {err}");
    assert_eq!(err.sqlstate(), Some("57P01"), "{err:?}");
    assert!(
        err.to_string()
            .contains("terminating connection due to administrator command"),
        "{err}"
    );
    // Every connection the pool held is gone; the next calls get new ones,
    // with statements prepared again.
    let (calls, errors) = exercise(&db, &ids, 8, 3).await;
    eprintln!(
        "after the restart: {} of {calls} calls failed",
        errors.len()
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(Thing::all().using(&db).count().await?, 5);
    drop((db, admin));
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("task");
    Ok(())
}
