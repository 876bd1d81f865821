//! Queries cancelled half-way, by a dropped future or a statement timeout: stopped on the server, the connection free at once.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orm_core::prelude::*;

use crate::models::resilience::{Note, Thing};
use crate::resilience_support::{
    fresh, idle_in_transaction, notes_seen, observer, one, sleeping, within,
};

/// A shelf of [`Book`]s, for a dropped prefetch.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "res_shelves")]
pub(crate) struct Shelf {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// `Book.shelf`, reversed.
    pub books: Reverse<Book>,
}

/// A book on a [`Shelf`].
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "res_books")]
pub(crate) struct Book {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Its shelf.
    #[orm(related_name = "books")]
    pub shelf: ForeignKey<Shelf>,
}

/// Polls `fut` once and drops it: its output if it was ready.
async fn poll_once<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match fut.as_mut().poll(cx) {
            std::task::Poll::Ready(output) => Some(output),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

fn is_query_canceled(err: &Error) -> bool {
    let by_code = matches!(err, Error::Database(e) if e.code().map(|c| c.code()) == Some("57014"));
    // The public test says the same.
    assert_eq!(err.is_query_canceled(), by_code, "{err:?}");
    by_code
}

#[tokio::test]
async fn a_dropped_query_is_cancelled_on_the_server() -> Result<()> {
    for pipelining in [true, false] {
        let url = orm_core::testing::test_database_url().await?;
        let db = Db::builder(url.clone())
            .max_size(1)
            .pipelining(pipelining)
            .connect()
            .await?;
        orm_core::generate_schemas_on(&db).await?;
        let obs = observer(&url).await?;
        orm_core::scope(&db, async {
            let outcome = tokio::time::timeout(
                Duration::from_millis(300),
                orm_core::raw::<(i32,)>("SELECT 1 FROM pg_sleep(4)", &[]),
            )
            .await;
            assert!(outcome.is_err(), "the timeout fired");
            let still = sleeping(&obs).await?;
            let gone = within(Duration::from_secs(1), || async {
                Ok(sleeping(&obs).await? == 0)
            })
            .await?;
            let next = Instant::now();
            assert_eq!(Thing::all().count().await?, 0);
            let next = next.elapsed();
            eprintln!(
                "dropped query (pipelining {pipelining}): sleeping right after {still}, \
                 gone after {gone:?}; next count() took {next:?}"
            );
            assert!(gone.is_some(), "the backend stopped sleeping");
            assert!(next < Duration::from_millis(500), "{next:?}");
            Ok::<(), Error>(())
        })
        .await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_dropped_query_never_cancels_a_neighbour() -> Result<()> {
    // One connection shared by many fast statements; slow ones are dropped
    // at varied moments in between.
    let (db, url) = fresh(1).await?;
    let obs = observer(&url).await?;
    let done = Arc::new(AtomicBool::new(false));
    let fast: Vec<_> = (0..8)
        .map(|_| {
            let done = done.clone();
            tokio::spawn(orm_core::scope(&db, async move {
                let (mut ok, mut errors) = (0usize, Vec::new());
                while !done.load(Ordering::Relaxed) {
                    match Thing::all().count().await {
                        Ok(_) => ok += 1,
                        Err(e) => errors.push(e.to_string()),
                    }
                }
                (ok, errors)
            }))
        })
        .collect();
    let mut dropped = 0;
    for i in 0..12u64 {
        let outcome = tokio::time::timeout(
            Duration::from_millis(5 + 9 * i),
            orm_core::scope(
                &db,
                orm_core::raw::<(i32,)>("SELECT 1 FROM pg_sleep(0.3)", &[]),
            ),
        )
        .await;
        dropped += usize::from(outcome.is_err());
        tokio::time::sleep(Duration::from_millis(3 * i)).await;
    }
    done.store(true, Ordering::Relaxed);
    let (mut ok, mut errors) = (0, Vec::new());
    for task in fast {
        let (n, e) = task.await.expect("task");
        ok += n;
        errors.extend(e);
    }
    eprintln!(
        "neighbours: {ok} fast statements ok, {} failed, {dropped} slow ones dropped",
        errors.len()
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert!(ok > 0 && dropped > 0);
    let gone = within(Duration::from_secs(1), || async {
        Ok(sleeping(&obs).await? == 0)
    })
    .await?;
    assert!(gone.is_some(), "no dropped statement is left running");
    assert_eq!(Thing::all().using(&db).count().await?, 0);
    Ok(())
}

/// A database whose `res_things` and `res_books`, for connections with
/// `search_path` `slow, public`, are views yielding 100,000 rows a
/// millisecond apart (100 s in all; `res_shelves` is the table, with one
/// shelf), and the URL of such connections.
async fn slow_things() -> Result<(Db, String, String)> {
    let (db, url) = fresh(2).await?;
    db.batch_execute(
        "CREATE SCHEMA slow; \
         CREATE FUNCTION slow.tick(g int) RETURNS int LANGUAGE plpgsql VOLATILE \
           AS $$ BEGIN PERFORM pg_sleep(0.001); RETURN g; END $$; \
         CREATE VIEW slow.res_things AS SELECT g::bigint AS id, 'row ' || g AS s, \
           slow.tick(g) AS n FROM generate_series(1, 100000) g; \
         CREATE VIEW slow.res_books AS SELECT g::bigint AS id, \
           slow.tick(1)::bigint AS shelf_id FROM generate_series(1, 100000) g; \
         INSERT INTO res_shelves (id) VALUES (1)",
    )
    .await?;
    let sep = if url.contains('?') { '&' } else { '?' };
    let slow = format!("{url}{sep}options=-c%20search_path%3Dslow,public");
    Ok((db, url, slow))
}

/// Backends of this database (other than the observer's) reading one of
/// the slow views (`res_things`, `res_books`).
async fn reading_slow_views(obs: &Db) -> Result<i64> {
    one(
        obs,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND state = 'active' \
         AND (query LIKE '%res_things%' OR query LIKE '%res_books%')",
    )
    .await
}

#[tokio::test]
async fn a_stream_dropped_before_its_end_is_cancelled_on_the_server() -> Result<()> {
    let (_db, url, slow) = slow_things().await?;
    let obs = observer(&url).await?;
    let db = Db::builder(slow).max_size(1).connect().await?;
    orm_core::scope(&db, async {
        // Read three rows of 100,000 and drop the stream.
        // Unordered: the rows stream as the view makes them.
        let mut stream = Thing::all().stream();
        let mut first = Vec::new();
        for _ in 0..3 {
            first.push(stream.try_next().await?.expect("a row").id);
        }
        drop(stream);
        assert_eq!(first, [1, 2, 3]);
        let right_after = reading_slow_views(&obs).await?;
        let gone = within(Duration::from_secs(2), || async {
            Ok(reading_slow_views(&obs).await? == 0)
        })
        .await?;
        eprintln!(
            "stream dropped after 3 of 100,000 rows: reading right after {right_after}, \
             gone after {gone:?}"
        );
        assert!(gone.is_some(), "the server stopped producing rows");
        // The pool's only connection is free again at once (without the
        // cancel it would be busy for the view's 100 s).
        let next = Instant::now();
        let again = tokio::time::timeout(Duration::from_secs(5), Thing::all().limit(2)).await;
        let next = next.elapsed();
        eprintln!("the next query took {next:?}");
        assert_eq!(again.expect("the next query ran")?.len(), 2);
        assert!(next < Duration::from_millis(500), "{next:?}");
        // A stream read to its end is not cancelled: the connection it
        // used goes back to the pool and serves the next statement.
        let mut all = Thing::all().limit(5).stream();
        let mut n = 0;
        while all.try_next().await?.is_some() {
            n += 1;
        }
        drop(all);
        assert_eq!(n, 5);
        assert_eq!(Thing::all().limit(3).await?.len(), 3);
        Ok::<(), Error>(())
    })
    .await
}

#[tokio::test]
async fn a_dropped_prefetch_is_cancelled_on_the_server() -> Result<()> {
    let (_db, url, slow) = slow_things().await?;
    let obs = observer(&url).await?;
    let db = Db::builder(slow).max_size(1).connect().await?;
    orm_core::scope(&db, async {
        // The shelves come at once; their books' statement, sent in the
        // same round trip, runs for 100 s.
        let outcome = tokio::time::timeout(
            Duration::from_millis(300),
            Shelf::all().prefetch_related(["books"]),
        )
        .await;
        assert!(outcome.is_err(), "the timeout fired");
        let right_after = reading_slow_views(&obs).await?;
        let gone = within(Duration::from_secs(2), || async {
            Ok(reading_slow_views(&obs).await? == 0)
        })
        .await?;
        eprintln!("dropped prefetch: reading books right after {right_after}, gone after {gone:?}");
        assert!(gone.is_some(), "the books' statement stopped");
        let next = Instant::now();
        let count = tokio::time::timeout(Duration::from_secs(5), Shelf::all().count()).await;
        let next = next.elapsed();
        eprintln!("the next query took {next:?}");
        assert_eq!(count.expect("the next query ran")?, 1);
        assert!(next < Duration::from_millis(500), "{next:?}");
        Ok::<(), Error>(())
    })
    .await
}

#[tokio::test]
async fn a_stream_dropped_inside_a_transaction_leaves_it_usable() -> Result<()> {
    let (db, _) = fresh(1).await?;
    orm_core::scope(&db, async {
        Thing::bulk_insert(
            (1..=2_000)
                .map(|i| Thing {
                    id: i,
                    s: format!("t{i}"),
                    n: 0,
                })
                .collect(),
        )
        .await?;
        Ok::<(), Error>(())
    })
    .await?;
    let tx = db.begin().await?;
    orm_core::scope(&tx, async {
        let mut stream = Thing::all().order_by(["id"]).stream();
        let first = stream.try_next().await?.expect("a row");
        assert_eq!(first.id, 1);
        Ok::<(), Error>(())
    })
    .await?;
    // The rest of the rows were read and dropped; the transaction goes on.
    orm_core::scope(&tx, Thing::filter(q!(id = 1)).update(q!(n = 7))).await?;
    tx.commit().await?;
    assert_eq!(Thing::filter(q!(n = 7)).using(&db).count().await?, 1);
    Ok(())
}

#[tokio::test]
async fn a_statement_dropped_inside_a_transaction_aborts_it() -> Result<()> {
    let (db, url) = fresh(2).await?;
    let obs = observer(&url).await?;
    let tx = db.begin().await?;
    orm_core::scope(
        &tx,
        Note::create(Note {
            body: "in tx".into(),
            ..Default::default()
        }),
    )
    .await?;
    let outcome = tokio::time::timeout(
        Duration::from_millis(200),
        orm_core::scope(
            &tx,
            orm_core::raw::<(i32,)>("SELECT 1 FROM pg_sleep(3)", &[]),
        ),
    )
    .await;
    assert!(outcome.is_err(), "the timeout fired");
    let started = Instant::now();
    let err = tx.commit().await.unwrap_err();
    let took = started.elapsed();
    eprintln!("commit after a dropped statement: {err} after {took:?}");
    assert!(matches!(err, Error::Transaction(_)), "{err:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(notes_seen(&obs, "in tx").await?.0, 0, "rolled back");
    let gone = within(Duration::from_secs(1), || async {
        Ok(sleeping(&obs).await? == 0 && idle_in_transaction(&obs).await? == 0)
    })
    .await?;
    assert!(gone.is_some());
    assert_eq!(Note::all().using(&db).count().await?, 0);
    Ok(())
}

#[tokio::test]
async fn statement_timeouts_fire_and_are_recognisable() -> Result<()> {
    let url = orm_core::testing::test_database_url().await?;
    let obs = observer(&url).await?;
    // Per database handle, set on the server at connect; options already in
    // the URL are kept.
    let sep = if url.contains('?') { '&' } else { '?' };
    let with_options = format!("{url}{sep}options=-c%20lock_timeout%3D1234");
    let db = Db::builder(with_options)
        .statement_timeout(Duration::from_millis(200))
        .connect()
        .await?;
    let settings: Vec<(String, String)> = orm_core::scope(
        &db,
        orm_core::raw(
            "SELECT current_setting('statement_timeout'), current_setting('lock_timeout')",
            &[],
        ),
    )
    .await?;
    assert_eq!(settings, [("200ms".to_owned(), "1234ms".to_owned())]);
    let started = Instant::now();
    let err = orm_core::scope(
        &db,
        orm_core::raw::<(i32,)>("SELECT 1 FROM pg_sleep(2)", &[]),
    )
    .await
    .unwrap_err();
    eprintln!(
        "statement_timeout 200 ms: {err} after {:?}",
        started.elapsed()
    );
    assert!(is_query_canceled(&err), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(1));

    // Per query: a handle whose statements are limited.
    let db = Db::builder(url.clone()).max_size(2).connect().await?;
    orm_core::generate_schemas_on(&db).await?;
    let quick = db.timeout(Duration::from_millis(200));
    let started = Instant::now();
    let err = orm_core::scope(
        &quick,
        orm_core::raw::<(i32,)>("SELECT 1 FROM pg_sleep(2)", &[]),
    )
    .await
    .unwrap_err();
    let took = started.elapsed();
    eprintln!("Db::timeout(200 ms): {err} after {took:?}");
    assert!(is_query_canceled(&err), "{err:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    // The backend reports itself idle just after it sent the error, so a
    // look right away may still see it active (seen under load): the
    // statement was cancelled when it is gone well before its 2 s.
    let gone = within(Duration::from_millis(500), || async {
        Ok(sleeping(&obs).await? == 0)
    })
    .await?;
    assert!(gone.is_some(), "the statement was cancelled");
    let fine: Vec<(i32,)> = orm_core::scope(&quick, orm_core::raw("SELECT 7", &[])).await?;
    assert_eq!(fine, [(7,)]);
    let started = Instant::now();
    let fine: Vec<(i32,)> = orm_core::scope(&db, orm_core::raw("SELECT 8", &[])).await?;
    assert_eq!(fine, [(8,)]);
    assert!(started.elapsed() < Duration::from_millis(300));

    // An update waiting for a row lock (the execute path).
    let id = orm_core::scope(&db, Thing::create(Thing::default()))
        .await?
        .id;
    let holder = db.begin().await?;
    Thing::filter(q!(id = id))
        .using(&holder)
        .update(q!(n = 5))
        .await?;
    let started = Instant::now();
    let err = Thing::filter(q!(id = id))
        .using(&quick)
        .update(q!(n = 6))
        .await
        .unwrap_err();
    eprintln!(
        "Db::timeout(200 ms) on a blocked update: {err} after {:?}",
        started.elapsed()
    );
    assert!(is_query_canceled(&err), "{err:?}");
    holder.rollback().await?;
    assert_eq!(
        Thing::filter(q!(id = id))
            .using(&quick)
            .update(q!(n = 7))
            .await?,
        1
    );

    // In a transaction, the timed-out statement aborts it.
    let tx = db.begin().await?;
    let err = orm_core::scope(
        &tx.timeout(Duration::from_millis(100)),
        orm_core::raw::<(i32,)>("SELECT 1 FROM pg_sleep(2)", &[]),
    )
    .await
    .unwrap_err();
    assert!(is_query_canceled(&err), "{err:?}");
    let err = tx.commit().await.unwrap_err();
    assert!(matches!(err, Error::Transaction(_)), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn a_transaction_dropped_while_it_begins_leaves_nothing_open() -> Result<()> {
    // One connection: the next statement gets the one `begin` had.
    let (db, url) = fresh(1).await?;
    let obs = observer(&url).await?;
    let mut cut = 0;
    for i in 0..20u64 {
        // Polled once, `begin()` has its connection and has sent `BEGIN`
        // (no answer yet); then it is dropped.
        match poll_once(db.begin()).await {
            Some(tx) => drop(tx?),
            None => cut += 1,
        }
        let body = format!("n{i}");
        orm_core::scope(
            &db,
            Note::create(Note {
                body,
                ..Default::default()
            }),
        )
        .await?;
    }
    let settled = within(Duration::from_secs(1), || async {
        Ok(idle_in_transaction(&obs).await? == 0)
    })
    .await?;
    let durable = Note::all().using(&observer(&url).await?).count().await?;
    eprintln!(
        "begin() cut {cut} times of 20: {durable} of 20 creates durable, settled after {settled:?}"
    );
    assert!(cut > 0, "some begin() was dropped half-way");
    assert!(
        settled.is_some(),
        "no connection is left inside a transaction"
    );
    assert_eq!(
        durable, 20,
        "every create after a dropped begin() committed"
    );
    Ok(())
}
