//! Through a real pgbouncer in `pool_mode = transaction` (started by
//! `orm_core::testing::pgbouncer`, 5 server connections per database):
//! named prepared statements fail there; `StatementMode::Unnamed` does not.
//!
//! Skipped (with a message) when pgbouncer is not installed, unless `CI`
//! is set.

use std::sync::Arc;
use std::time::Duration;

use orm_core::prelude::*;
use orm_core::testing::pgbouncer::{pooled_test_database, PooledDatabase};
use orm_core::StatementMode;

use crate::models::blog::{Author, Post, Tag};

/// A fresh database with every model's table (made directly on the
/// server; `pgbouncer_migrate.rs` tests the schema made through the
/// pooler), and its URLs; `None` when pgbouncer is not installed.
pub(crate) async fn pooled() -> Option<PooledDatabase> {
    let urls = pooled_test_database().await.expect("pgbouncer")?;
    let direct = Db::connect(&urls.direct).await.expect("direct connection");
    orm_core::generate_schemas_on(&direct)
        .await
        .expect("generate_schemas");
    Some(urls)
}

/// Through pgbouncer with `mode`, a pool of 16 client connections.
async fn through(urls: &PooledDatabase, mode: StatementMode) -> Db {
    Db::builder(&urls.pooled)
        .statement_mode(mode)
        .max_size(16)
        .connect()
        .await
        .expect("connection through pgbouncer")
}

/// `n` authors named `a0`, `a1`, .. with karma 0.
async fn authors(n: usize) -> Result<Vec<Author>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(
            Author::create(Author {
                name: format!("a{i}"),
                ..Default::default()
            })
            .await?,
        );
    }
    Ok(out)
}

#[tokio::test]
async fn named_statements_fail_through_pgbouncer_in_transaction_mode() -> Result<()> {
    let Some(urls) = pooled().await else {
        return Ok(());
    };
    let db = through(&urls, StatementMode::Named).await;
    assert_eq!(db.statement_mode(), StatementMode::Named);
    let authors = orm_core::scope(&db, authors(20)).await?;
    // 20 tasks x 50 reads: each client connection prepares its statements
    // once, on whichever of pgbouncer's 5 server connections it had then;
    // the next run goes to another one, which has no such statement.
    let mut tasks = Vec::new();
    for author in authors {
        let db = db.clone();
        tasks.push(tokio::spawn(orm_core::scope(&db.clone(), async move {
            let mut errors = Vec::new();
            for j in 0..50 {
                let result = match j % 3 {
                    0 => Author::get(q!(id = author.id)).await.map(drop),
                    1 => Post::filter(q!(author = author.id)).await.map(drop),
                    _ => Author::filter(q!(karma__gte = 0)).count().await.map(drop),
                };
                if let Err(e) = result {
                    errors.push(e.to_string());
                }
            }
            errors
        })));
    }
    let mut errors = Vec::new();
    for task in tasks {
        errors.extend(task.await.expect("task"));
    }
    // PostgreSQL's answer to a Bind or Execute of a statement the server
    // connection never prepared: SQLSTATE 26000, "prepared statement "s1"
    // does not exist" (or "unnamed prepared statement does not exist" when
    // the Parse went to another one).
    assert!(
        !errors.is_empty(),
        "named statements through a transaction pooler are expected to fail"
    );
    assert!(
        errors.iter().any(|e| e.contains("does not exist")),
        "{errors:?}"
    );
    eprintln!(
        "named statements through pgbouncer: {} of 1000 failed",
        errors.len()
    );
    Ok(())
}

/// One step of a task of the load test; `n` counts the task's own posts
/// (as the database should have them), `karma` its author's karma.
async fn step(i: usize, j: usize, me: &Author, n: &mut i64, karma: &mut i32) -> Result<()> {
    let title = |k: usize| format!("t{i}-{k}");
    match j % 12 {
        0 => {
            let got = Author::get(q!(id = me.id)).await?;
            assert_eq!(got.name, me.name);
        }
        1 => {
            let posts = Post::filter(q!(author = me.id)).order_by(["id"]).await?;
            assert_eq!(posts.len() as i64, *n);
        }
        2 => {
            assert_eq!(Post::filter(q!(author = me.id)).count().await?, *n);
        }
        3 => {
            let titles: Vec<String> = Post::filter(q!(author = me.id))
                .values_list_flat("title")
                .await?;
            assert_eq!(titles.len() as i64, *n);
        }
        4 | 10 => {
            Post::create(Post {
                author: ForeignKey::to(me)?,
                title: title(j),
                published: j.is_multiple_of(2),
                ..Default::default()
            })
            .await?;
            *n += 1;
        }
        5 => {
            *karma = j as i32;
            let k = *karma;
            Author::filter(q!(id = me.id)).update(q!(karma = k)).await?;
        }
        6 => {
            // The task's oldest post, if any, goes.
            if let Some(first) = Post::filter(q!(author = me.id))
                .order_by(["id"])
                .first()
                .await?
            {
                assert_eq!(first.delete().await?, 1);
                *n -= 1;
            }
        }
        7 => {
            let posts = Post::filter(q!(author = me.id))
                .select_related(["author"])
                .await?;
            for post in &posts {
                assert_eq!(post.author.get().expect("joined").id, me.id);
            }
        }
        8 => {
            let me_again = Author::all()
                .prefetch_related(["posts"])
                .get(q!(id = me.id))
                .await?;
            assert_eq!(me_again.posts.get().expect("prefetched").len() as i64, *n);
        }
        9 => {
            // Several statements in one transaction: two posts and the
            // author's karma, all kept.
            let me2 = me.clone();
            let k = j as i32;
            let before = *n;
            orm_core::transaction(|| async move {
                for suffix in ["x", "y"] {
                    Post::create(Post {
                        author: ForeignKey::to(&me2)?,
                        title: format!("t{i}-{j}{suffix}"),
                        ..Default::default()
                    })
                    .await?;
                }
                Author::filter(q!(id = me2.id))
                    .update(q!(karma = k))
                    .await?;
                assert_eq!(Post::filter(q!(author = me2.id)).count().await?, before + 2);
                Ok(())
            })
            .await?;
            *n += 2;
            *karma = j as i32;
        }
        _ => {
            // One rolled back: its post and its update are gone.
            let me2 = me.clone();
            let rolled_back: Result<()> = orm_core::transaction(|| async move {
                Post::create(Post {
                    author: ForeignKey::to(&me2)?,
                    title: format!("t{i}-{j}-gone"),
                    ..Default::default()
                })
                .await?;
                Author::filter(q!(id = me2.id))
                    .update(q!(karma = -1))
                    .await?;
                Err(Error::Transaction("rolled back on purpose".into()))
            })
            .await;
            assert!(matches!(rolled_back, Err(Error::Transaction(_))));
        }
    }
    Ok(())
}

#[tokio::test]
async fn unnamed_statements_through_pgbouncer_50_tasks_200_steps_no_error() -> Result<()> {
    let Some(urls) = pooled().await else {
        return Ok(());
    };
    let db = through(&urls, StatementMode::Unnamed).await;
    let authors = orm_core::scope(&db, authors(50)).await?;
    let errors = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut tasks = Vec::new();
    for (i, me) in authors.into_iter().enumerate() {
        let (db, errors) = (db.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            orm_core::scope(&db, async {
                let (mut n, mut karma) = (0i64, 0i32);
                for j in 0..200 {
                    if let Err(e) = step(i, j, &me, &mut n, &mut karma).await {
                        errors
                            .lock()
                            .unwrap()
                            .push(format!("task {i} step {j}: {e}"));
                    }
                }
                (me.id, n, karma)
            })
            .await
        }));
    }
    let mut expected = Vec::new();
    for task in tasks {
        expected.push(task.await.expect("a task panicked"));
    }
    let errors = errors.lock().unwrap().clone();
    assert!(
        errors.is_empty(),
        "{} errors: {:?}",
        errors.len(),
        &errors[..errors.len().min(10)]
    );
    // The data, read directly from the server: each author's posts and
    // karma as its task counted them; no rolled back row.
    let direct = Db::connect(&urls.direct).await?;
    orm_core::scope(&direct, async {
        for (id, n, karma) in expected {
            assert_eq!(Post::filter(q!(author = id)).count().await?, n);
            assert_eq!(Author::get(q!(id = id)).await?.karma, karma);
        }
        assert_eq!(
            Post::filter(q!(title__endswith = "-gone")).count().await?,
            0
        );
        Ok::<_, Error>(())
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn the_url_parameter_selects_the_mode() -> Result<()> {
    let Some(urls) = pooled().await else {
        return Ok(());
    };
    let db = Db::connect(&format!("{}&statement_mode=unnamed", urls.pooled)).await?;
    assert_eq!(db.statement_mode(), StatementMode::Unnamed);
    // Twice as many rounds as pgbouncer has server connections, on more
    // client connections: every statement works whatever server runs it.
    orm_core::scope(&db, async {
        authors(3).await?;
        for _ in 0..20 {
            let (a, b, c) = tokio::join!(
                Author::all().count(),
                Author::get(q!(name = "a1")),
                Author::filter(q!(karma = 0)).order_by(["name"])
            );
            assert_eq!(a?, 3);
            assert_eq!(b?.name, "a1");
            assert_eq!(c?.len(), 3);
        }
        Ok::<_, Error>(())
    })
    .await?;
    let named = Db::builder(format!("{}&statement_mode=named", urls.pooled)).build()?;
    assert_eq!(named.statement_mode(), StatementMode::Named);
    let wrong = Db::builder(format!("{}&statement_mode=pgbouncer", urls.pooled)).build();
    assert!(
        matches!(&wrong, Err(Error::Config(m)) if m.contains("expected one of: named, unnamed")),
        "{wrong:?}"
    );
    Ok(())
}

#[tokio::test]
async fn cancelled_statements_leave_nothing_broken() -> Result<()> {
    let Some(urls) = pooled().await else {
        return Ok(());
    };
    let db = Db::builder(&urls.pooled)
        .statement_mode(StatementMode::Unnamed)
        .max_size(4)
        .connect()
        .await?;
    orm_core::scope(&db, async {
        authors(2).await?;
        for round in 0..6 {
            // A future dropped while the server sleeps (a raw statement:
            // nothing ORM-side is slow enough to be cut reliably) ..
            let slow = orm_core::raw::<(i32,)>("SELECT 1 FROM pg_sleep(5)", &[]);
            let cut = tokio::time::timeout(Duration::from_millis(50), slow).await;
            assert!(cut.is_err(), "round {round}: the sleep was cut");
            // .. a transaction dropped half-way ..
            let tx = orm_core::transaction(|| async {
                Author::filter(q!(name = "a0"))
                    .update(q!(karma = 7))
                    .await?;
                orm_core::raw::<(i32,)>("SELECT 1 FROM pg_sleep(5)", &[]).await?;
                Ok(())
            });
            assert!(tokio::time::timeout(Duration::from_millis(50), tx)
                .await
                .is_err());
            // .. and Db::timeout's cancel request, which pgbouncer passes on.
            let limited = db.timeout(Duration::from_millis(50));
            let timed_out = orm_core::scope(
                &limited,
                orm_core::raw::<(i32,)>("SELECT 1 FROM pg_sleep(5)", &[]),
            )
            .await;
            assert!(
                matches!(&timed_out, Err(e) if e.is_query_canceled()),
                "{timed_out:?}"
            );
            // Then every statement works, and no half-done write is seen.
            let (a, b) = tokio::join!(Author::all().count(), Author::get(q!(name = "a0")));
            assert_eq!(a?, 2);
            assert_eq!(b?.karma, 0, "the dropped transaction was rolled back");
        }
        // Nothing runs on the server any more (pgbouncer's connections
        // idle, no sleep left over).
        let direct = Db::connect(&urls.direct).await?;
        let mut left = 1;
        for _ in 0..100 {
            left = orm_core::scope(
                &direct,
                orm_core::raw::<(i64,)>(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE query LIKE '%pg_sleep(5)%' AND state = 'active' \
                     AND datname = current_database() AND pid <> pg_backend_pid()",
                    &[],
                ),
            )
            .await?[0]
                .0;
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(left, 0, "a cancelled sleep still runs");
        Ok::<_, Error>(())
    })
    .await
}

#[tokio::test]
async fn statement_timeout_through_a_pooler_is_the_servers() -> Result<()> {
    let Some(urls) = pooled().await else {
        return Ok(());
    };
    // pgbouncer passes no startup options: refused, with the way out.
    let refused = Db::builder(&urls.pooled)
        .statement_mode(StatementMode::Unnamed)
        .statement_timeout(Duration::from_millis(100))
        .build();
    assert!(
        matches!(&refused, Err(Error::Config(m)) if m.contains("ALTER ROLE")),
        "{refused:?}"
    );
    // Set on the server (here for the database), it reaches pgbouncer's
    // server connections: PostgreSQL cancels with 57014.
    let direct = Db::connect(&urls.direct).await?;
    let dbname = orm_core::scope(
        &direct,
        orm_core::raw::<(String,)>("SELECT current_database()::text", &[]),
    )
    .await?[0]
        .0
        .clone();
    let set = format!("ALTER DATABASE \"{dbname}\" SET statement_timeout = '100ms'");
    orm_core::scope(&direct, async {
        orm_core::raw::<(i32,)>(orm_core::AssertSqlSafe(set), &[])
            .await
            .ok();
        Ok::<_, Error>(())
    })
    .await?;
    let db = through(&urls, StatementMode::Unnamed).await;
    let slow = orm_core::scope(
        &db,
        orm_core::raw::<(i32,)>("SELECT 1 FROM pg_sleep(2)", &[]),
    )
    .await;
    assert!(matches!(&slow, Err(e) if e.is_query_canceled()), "{slow:?}");
    assert_eq!(orm_core::scope(&db, Tag::all().count()).await?, 0);
    Ok(())
}

#[tokio::test]
async fn a_table_made_in_a_transaction_is_queried_in_it() -> Result<()> {
    let Some(urls) = pooled().await else {
        return Ok(());
    };
    let db = through(&urls, StatementMode::Unnamed).await;
    // A statement is described where it runs: inside the transaction that
    // made the table (PostgreSQL's transactional DDL: nobody else sees it).
    let n = orm_core::scope(&db, async {
        orm_core::transaction(|| async {
            orm_core::current()?
                .batch_execute(
                    "CREATE TABLE made_here (n int); INSERT INTO made_here VALUES (1), (2)",
                )
                .await?;
            let rows =
                orm_core::raw::<(i64,)>("SELECT count(*) FROM made_here WHERE n >= $1", &[&1i32])
                    .await?;
            Ok(rows[0].0)
        })
        .await
    })
    .await?;
    assert_eq!(n, 2);
    Ok(())
}
