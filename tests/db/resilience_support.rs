//! Shared by the resilience tests: pools on fresh databases, and an observer's view of the server.
//!
//! Each test watches the server from another connection (`pg_stat_activity`,
//! `pg_locks`) and prints the figures it measured.

use std::future::Future;
use std::time::{Duration, Instant};

use orm_core::prelude::*;

use crate::models::resilience::{Note, Thing};

/// A fresh database with every model's table, and its URL.
pub(crate) async fn fresh(max_size: usize) -> Result<(Db, String)> {
    let url = orm_core::testing::test_database_url().await?;
    let db = Db::builder(url.clone())
        .max_size(max_size)
        .wait_timeout(Duration::from_secs(10))
        .connect()
        .await?;
    orm_core::generate_schemas_on(&db).await?;
    Ok((db, url))
}

/// A pool of its own on `url`, to watch the server from outside the pool
/// under test.
pub(crate) async fn observer(url: &str) -> Result<Db> {
    Db::builder(url)
        .max_size(1)
        .pipelining(false)
        .connect()
        .await
}

pub(crate) async fn one(db: &Db, sql: &'static str) -> Result<i64> {
    let rows: Vec<(i64,)> = orm_core::scope(db, orm_core::raw(sql, &[])).await?;
    Ok(rows[0].0)
}

/// Backends of this database (other than the observer's) running `pg_sleep`.
pub(crate) async fn sleeping(obs: &Db) -> Result<i64> {
    one(
        obs,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%pg_sleep%'",
    )
    .await
}

/// Backends of this database idle inside a transaction.
pub(crate) async fn idle_in_transaction(obs: &Db) -> Result<i64> {
    one(
        obs,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND state LIKE 'idle in transaction%'",
    )
    .await
}

/// How long until `check` holds, polling every 10 ms up to `limit`.
pub(crate) async fn within<F, Fut>(limit: Duration, mut check: F) -> Result<Option<Duration>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let start = Instant::now();
    loop {
        if check().await? {
            return Ok(Some(start.elapsed()));
        }
        if start.elapsed() > limit {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs `all()`, `get()`, `count()`, `update()` and a `stream()` on the
/// scoped database `rounds` times in each of `tasks` tasks at once; the
/// number of calls, and the errors.
pub(crate) async fn exercise(
    db: &Db,
    ids: &[i64],
    tasks: usize,
    rounds: usize,
) -> (usize, Vec<String>) {
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let ids = ids.to_vec();
            tokio::spawn(orm_core::scope(db, async move {
                let mut errors = Vec::new();
                for r in 0..rounds {
                    let id = ids[(t + r) % ids.len()];
                    if let Err(e) = Thing::all().order_by(["id"]).await {
                        errors.push(format!("all: {e}"));
                    }
                    if let Err(e) = Thing::get(q!(id = id)).await {
                        errors.push(format!("get: {e}"));
                    }
                    if let Err(e) = Thing::all().count().await {
                        errors.push(format!("count: {e}"));
                    }
                    if let Err(e) = Thing::filter(q!(id = id)).update(q!(n = r as i32)).await {
                        errors.push(format!("update: {e}"));
                    }
                    let streamed: Result<Vec<Thing>> =
                        Thing::all().order_by(["-id"]).stream().try_collect().await;
                    if let Err(e) = streamed {
                        errors.push(format!("stream: {e}"));
                    }
                }
                errors
            }))
        })
        .collect();
    let mut errors = Vec::new();
    for handle in handles {
        errors.extend(handle.await.expect("task"));
    }
    (tasks * rounds * 5, errors)
}

/// Rows of `res_notes` with `body`, and whether the column `extra` exists,
/// seen from `obs`.
pub(crate) async fn notes_seen(obs: &Db, body: &str) -> Result<(usize, bool)> {
    let rows = Note::filter(q!(body = body)).using(obs).count().await? as usize;
    let extra = one(
        obs,
        "SELECT count(*) FROM information_schema.columns \
         WHERE table_name = 'res_notes' AND column_name = 'extra'",
    )
    .await?;
    Ok((rows, extra > 0))
}
