//! Schema changes under a warm pool: cached statements re-prepared after DDL or `DISCARD ALL`.

use std::time::Duration;

use orm_core::prelude::*;

use crate::models::resilience::Thing;
use crate::resilience_support::{exercise, fresh, observer, one};

#[tokio::test]
async fn a_schema_change_under_a_warm_pool_re_prepares() -> Result<()> {
    let (db, url) = fresh(4).await?;
    let obs = observer(&url).await?;
    let mut ids = Vec::new();
    for i in 0..5 {
        let thing = orm_core::scope(
            &db,
            Thing::create(Thing {
                s: format!("t{i}"),
                ..Default::default()
            }),
        )
        .await?;
        ids.push(thing.id);
    }
    // Every connection of the pool caches the four statements: four
    // transactions at once hold four connections, then autocommit load.
    let mut txs = Vec::new();
    for _ in 0..4 {
        txs.push(db.begin().await?);
    }
    for (k, tx) in txs.iter().enumerate() {
        // A row each: the open transactions do not wait for each other.
        let (_, errors) = exercise(tx, &ids[k..=k], 1, 1).await;
        assert!(errors.is_empty(), "{errors:?}");
    }
    for tx in txs {
        tx.commit().await?;
    }
    let (_, errors) = exercise(&db, &ids, 8, 3).await;
    assert!(errors.is_empty(), "{errors:?}");
    let backends = one(
        &obs,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await?;
    assert_eq!(backends, 4, "the pool holds four connections");

    db.batch_execute("ALTER TABLE res_things ALTER COLUMN s TYPE varchar(100)")
        .await?;
    let (calls, errors) = exercise(&db, &ids, 8, 5).await;
    eprintln!(
        "after ALTER COLUMN TYPE: {} failures out of {calls} calls {:?}",
        errors.len(),
        errors.first()
    );
    assert!(errors.is_empty(), "{errors:?}");

    db.batch_execute("CREATE TABLE res_unrelated (x integer)")
        .await?;
    let (calls, errors) = exercise(&db, &ids, 8, 5).await;
    eprintln!(
        "after unrelated DDL: {} failures out of {calls} calls",
        errors.len()
    );
    assert!(errors.is_empty(), "{errors:?}");

    // DISCARD ALL on one pooled connection drops its prepared statements
    // (SQLSTATE 26000 for each cached one).
    db.batch_execute("DISCARD ALL").await?;
    let (calls, errors) = exercise(&db, &ids, 8, 5).await;
    eprintln!(
        "after DISCARD ALL: {} failures out of {calls} calls",
        errors.len()
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        Thing::all().using(&db).await?.len(),
        5,
        "the rows are all there"
    );
    Ok(())
}

/// Every path that prepares through the cache, once on one connection.
async fn every_path(ids: &[i64]) -> Vec<String> {
    let mut errors = Vec::new();
    if let Err(e) = Thing::all().order_by(["id"]).await {
        errors.push(format!("all: {e}"));
    }
    if let Err(e) = Thing::get(q!(id = ids[0])).await {
        errors.push(format!("get: {e}"));
    }
    if let Err(e) = Thing::all().count().await {
        errors.push(format!("count: {e}"));
    }
    if let Err(e) = Thing::filter(q!(id = ids[0])).update(q!(n = 1)).await {
        errors.push(format!("update: {e}"));
    }
    let streamed: Result<Vec<Thing>> = Thing::all().order_by(["-id"]).stream().try_collect().await;
    if let Err(e) = streamed {
        errors.push(format!("stream: {e}"));
    }
    errors
}

/// One row through `bulk_insert` (a binary `COPY`).
async fn copy_one() -> Result<u64> {
    Thing::bulk_insert(vec![Thing {
        s: "copied".into(),
        ..Default::default()
    }])
    .await
}

#[tokio::test]
async fn discard_all_on_the_only_connection_re_prepares_every_path() -> Result<()> {
    let (db, _) = fresh(1).await?;
    orm_core::scope(&db, async {
        let id = Thing::create(Thing::default()).await?.id;
        assert_eq!(every_path(&[id]).await, Vec::<String>::new());
        copy_one().await?;
        db.batch_execute("DISCARD ALL").await?;
        let errors = every_path(&[id]).await;
        eprintln!("after DISCARD ALL on a pool of one: {errors:?}");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(Thing::all().count().await?, 2);
        // A COPY refused at its start cannot be retried on its connection
        // (tokio-postgres then misreads the connection's next answer): it
        // fails once, on a connection that is closed, and the next one
        // works; no statement after it reads a wrong answer.
        db.batch_execute("DISCARD ALL").await?;
        let first = copy_one().await;
        eprintln!("COPY after DISCARD ALL: {first:?}");
        if let Err(e) = &first {
            assert!(e.to_string().contains("26000"), "{e}");
        }
        assert_eq!(Thing::all().count().await?, 2 + first.is_ok() as i64);
        assert_eq!(copy_one().await?, 1);
        assert_eq!(Thing::all().count().await?, 3 + first.is_ok() as i64);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn inside_a_transaction_a_stale_statement_is_a_clear_error() -> Result<()> {
    // One connection: the transaction runs where `all()` was cached.
    let (db, _) = fresh(1).await?;
    orm_core::scope(&db, async {
        Thing::create(Thing {
            s: "x".into(),
            ..Default::default()
        })
        .await?;
        assert_eq!(Thing::all().await?.len(), 1);
        db.batch_execute("ALTER TABLE res_things ALTER COLUMN s TYPE varchar(100)")
            .await?;
        let outcome = tokio::time::timeout(
            Duration::from_secs(5),
            orm_core::transaction(|| async {
                Thing::create(Thing {
                    s: "lost".into(),
                    ..Default::default()
                })
                .await?;
                Thing::all().await
            }),
        )
        .await
        .expect("no hang");
        let err = outcome.unwrap_err();
        let message = err.to_string();
        eprintln!("inside a transaction: {message}");
        assert!(matches!(err, Error::Transaction(_)), "{err:?}");
        assert!(message.contains("aborted"), "{message}");
        assert!(message.contains("schema change"), "{message}");
        assert!(message.contains("retry the transaction"), "{message}");
        // The transaction was rolled back; run again, it succeeds.
        assert_eq!(Thing::all().count().await?, 1);
        let again = orm_core::transaction(|| async {
            Thing::create(Thing {
                s: "kept".into(),
                ..Default::default()
            })
            .await?;
            Thing::all().await
        })
        .await?;
        assert_eq!(again.len(), 2);
        Ok(())
    })
    .await
}
