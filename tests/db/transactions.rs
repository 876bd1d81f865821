//! Transactions: commit and rollback, savepoints, one connection per block, options, row locks.
//!
//! Commit and rollback on Err, panic and cancellation; savepoints; every call
//! inside a block routed to its connection; the explicit handle; options,
//! select_for_update; concurrent transfers.

use std::time::Duration;

use orm_core::prelude::*;
use orm_core::{transaction, transaction_with, Isolation, TxOptions};

use crate::common::setup;

/// A bank account.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "tx_accounts")]
pub(crate) struct Account {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Owner, unique.
    #[orm(unique)]
    pub owner: String,
    /// Money, in cents.
    pub balance: i64,
}

async fn open(owner: &str, balance: i64) -> Result<Account> {
    Account::create(Account {
        owner: owner.into(),
        balance,
        ..Default::default()
    })
    .await
}

async fn owners() -> Result<Vec<String>> {
    Ok(Account::all()
        .order_by(["owner"])
        .await?
        .into_iter()
        .map(|a| a.owner)
        .collect())
}

#[tokio::test]
async fn commit_on_ok_rollback_on_err() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        transaction(|| async {
            open("ann", 100).await?;
            open("bob", 50).await?;
            Ok(())
        })
        .await?;
        assert_eq!(owners().await?, ["ann", "bob"]);
        let err = transaction(|| async {
            open("cy", 10).await?;
            Account::filter(q!(owner = "ann"))
                .update(q!(balance = 0))
                .await?;
            Err::<(), _>(Error::from(orm_core::QueryError {
                model: "Account",
                reason: "the business rule says no".into(),
            }))
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("business rule"), "{err}");
        assert_eq!(owners().await?, ["ann", "bob"], "cy was rolled back");
        assert_eq!(Account::get(q!(owner = "ann")).await?.balance, 100);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn rollback_on_panic_and_on_cancellation() -> Result<()> {
    let db = setup().await;
    // A panic inside the block: the task fails, nothing is kept.
    let panicked = tokio::spawn(orm_core::scope(&db, async {
        transaction(|| async {
            open("panicky", 1).await?;
            panic!("boom");
            #[allow(unreachable_code)]
            Ok(())
        })
        .await
    }))
    .await;
    assert!(panicked.is_err(), "the task panicked");
    // A block dropped half-way (timed out while it waits).
    let cancelled = tokio::time::timeout(
        Duration::from_millis(300),
        orm_core::scope(&db, async {
            transaction(|| async {
                open("cancelled", 1).await?;
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(())
            })
            .await
        }),
    )
    .await;
    assert!(cancelled.is_err(), "timed out");
    orm_core::scope(&db, async {
        assert!(owners().await?.is_empty(), "both were rolled back");
        // The pool still works (the abandoned connections were discarded).
        for i in 0..20 {
            open(&format!("after{i}"), 1).await?;
        }
        assert_eq!(Account::all().count().await?, 20);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn nested_blocks_are_savepoints() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        transaction(|| async {
            open("outer", 1).await?;
            let inner = transaction(|| async {
                open("inner", 1).await?;
                Err::<(), _>(Error::Transaction("inner fails".into()))
            })
            .await;
            assert!(inner.is_err());
            // A failing statement inside a savepoint does not doom the outer block.
            let dup = transaction(|| async { open("outer", 2).await.map(|_| ()) }).await;
            assert!(dup.unwrap_err().constraint().is_some());
            transaction(|| async { open("inner ok", 1).await.map(|_| ()) }).await?;
            Ok(())
        })
        .await?;
        assert_eq!(owners().await?, ["inner ok", "outer"]);
        Ok(())
    })
    .await
}

async fn helper_writes(owner: &str) -> Result<()> {
    open(owner, 5).await.map(|_| ())
}

#[tokio::test]
async fn every_call_in_a_block_uses_its_connection() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let result = transaction(|| async {
            // Functions called from the block and futures joined in it.
            helper_writes("from a helper").await?;
            let (a, b) = tokio::join!(open("joined a", 1), open("joined b", 2));
            a?;
            b?;
            // Inside, the block sees its own writes ...
            assert_eq!(Account::all().count().await?, 3);
            // ... while another connection does not, before the commit.
            let outside = Account::all().using(&db).count().await?;
            assert_eq!(outside, 0);
            Err::<(), _>(Error::Transaction("roll it all back".into()))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(
            Account::all().count().await?,
            0,
            "all three were in the transaction"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn explicit_handle() -> Result<()> {
    let db = setup().await;
    let tx = db.begin().await?;
    orm_core::scope(&tx, async { open("in tx", 1).await.map(|_| ()) }).await?;
    assert_eq!(Account::all().using(&tx).count().await?, 1);
    assert_eq!(Account::all().using(&db).count().await?, 0);
    let stale = tx.clone();
    tx.commit().await?;
    assert_eq!(Account::all().using(&db).count().await?, 1);
    let err = Account::all().using(&stale).count().await.unwrap_err();
    assert!(matches!(err, Error::Transaction(_)), "{err}");
    assert!(err.to_string().contains("committed"), "{err}");

    // Rolled back explicitly, and by dropping the handle.
    let tx = db.begin().await?;
    orm_core::scope(&tx, async { open("rolled back", 1).await.map(|_| ()) }).await?;
    tx.rollback().await?;
    let tx = db.begin().await?;
    orm_core::scope(&tx, async { open("dropped", 1).await.map(|_| ()) }).await?;
    drop(tx);
    assert_eq!(Account::all().using(&db).count().await?, 1);

    // A statement failed inside: the commit says so (PostgreSQL rolls back).
    let tx = db.begin().await?;
    orm_core::scope(&tx, async {
        open("x", 1).await?;
        assert!(open("in tx", 1).await.is_err(), "duplicate owner");
        Ok::<_, Error>(())
    })
    .await?;
    commit_reports_rollback(&db, tx).await?;

    // The same for a stream whose statement fails on the server (an
    // invalid regular expression).
    let tx = db.begin().await?;
    orm_core::scope(&tx, async {
        open("streamed", 1).await?;
        let mut rows = Account::filter(q!(owner__regex = "(")).stream();
        assert!(rows.try_next().await.is_err(), "invalid regex");
        Ok::<_, Error>(())
    })
    .await?;
    commit_reports_rollback(&db, tx).await?;

    // The same for raw SQL that fails when it is prepared.
    let tx = db.begin().await?;
    orm_core::scope(&tx, async {
        open("raw", 1).await?;
        assert!(Account::raw("SELECT * FROM no_such_table", &[])
            .await
            .is_err());
        Ok::<_, Error>(())
    })
    .await?;
    commit_reports_rollback(&db, tx).await?;
    Ok(())
}

/// Commits `tx`, in which a statement failed: the commit reports that
/// PostgreSQL rolled it back, and `db` still holds its one account.
async fn commit_reports_rollback(db: &Db, tx: orm_core::Transaction) -> Result<()> {
    let err = tx.commit().await.unwrap_err();
    assert!(err.to_string().contains("rolled back"), "{err}");
    assert_eq!(Account::all().using(db).count().await?, 1);
    Ok(())
}

#[tokio::test]
async fn options_and_select_for_update_rules() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        open("ann", 1).await?;
        let err = transaction_with(TxOptions::default().read_only(), || async {
            open("nope", 1).await.map(|_| ())
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("read-only"), "{err}");
        let n = transaction_with(
            TxOptions::default().isolation(Isolation::Serializable),
            || async { Account::all().count().await },
        )
        .await?;
        assert_eq!(n, 1);
        // Outside a transaction, select_for_update is refused.
        let err = Account::select_for_update()
            .get(q!(owner = "ann"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Transaction(_)), "{err}");
        let sql = Account::select_for_update()
            .skip_locked()
            .filter(q!(owner = "ann"))
            .sql()?
            .unwrap()
            .sql;
        assert!(sql.ends_with(" FOR UPDATE SKIP LOCKED"), "{sql}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn locked_rows_nowait_and_skip_locked() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        open("ann", 1).await?;
        open("bob", 1).await?;
        Ok::<_, Error>(())
    })
    .await?;
    let holder = db.begin().await?;
    Account::select_for_update()
        .filter(q!(owner = "ann"))
        .using(&holder)
        .await?;
    let other = db.begin().await?;
    let err = Account::select_for_update()
        .nowait()
        .filter(q!(owner = "ann"))
        .using(&other)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("could not obtain lock"), "{err}");
    other.rollback().await.ok();
    let other = db.begin().await?;
    let free = Account::select_for_update()
        .skip_locked()
        .using(&other)
        .await?;
    assert_eq!(
        free.iter().map(|a| a.owner.as_str()).collect::<Vec<_>>(),
        ["bob"]
    );
    other.commit().await?;
    holder.commit().await?;
    Ok(())
}

#[tokio::test]
async fn concurrent_transfers_keep_the_total() -> Result<()> {
    let db = setup().await;
    let ids: Vec<i64> = orm_core::scope(&db, async {
        let mut ids = Vec::new();
        for i in 0..10 {
            ids.push(open(&format!("acct{i}"), 1_000).await?.id);
        }
        Ok::<_, Error>(ids)
    })
    .await?;
    let tasks: Vec<_> = (0..50u64)
        .map(|t| {
            let ids = ids.clone();
            tokio::spawn(orm_core::scope(&db, async move {
                for n in 0..20u64 {
                    let from = ids[((t * 7 + n) % 10) as usize];
                    let to = ids[((t * 3 + n * 5 + 1) % 10) as usize];
                    if from == to {
                        continue;
                    }
                    let amount = ((t + n) % 50) as i64 + 1;
                    // Lock both rows in id order, so transfers cannot deadlock.
                    let (first, second) = if from < to { (from, to) } else { (to, from) };
                    transaction(|| async {
                        let mut locked = Account::select_for_update()
                            .filter(q!(id__in = [first, second]))
                            .order_by(["id"])
                            .await?;
                        let [a, b] = locked.as_mut_slice() else {
                            return Err(Error::Transaction("two accounts expected".into()));
                        };
                        let (src, dst) = if a.id == from { (a, b) } else { (b, a) };
                        src.balance -= amount;
                        dst.balance += amount;
                        src.save().await?;
                        dst.save().await?;
                        Ok(())
                    })
                    .await?;
                }
                Ok::<_, Error>(())
            }))
        })
        .collect();
    for task in tasks {
        task.await.expect("task")?;
    }
    orm_core::scope(&db, async {
        let total: i64 = Account::all().await?.iter().map(|a| a.balance).sum();
        assert_eq!(total, 10_000, "no money lost or created");
        Ok(())
    })
    .await
}
