//! Errors a user can act on, and the retries of the retryable ones.
//!
//! A missing database named with the server's reason, integrity errors with
//! the server's detail, values that cannot be bound naming the parameter and
//! both types, and serialization failures and deadlocks recognised by type
//! and retried by `transaction_with`.

use std::error::Error as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use orm_core::prelude::*;
use orm_core::{transaction_with, Isolation, TxOptions};
use tokio::sync::Barrier;

use crate::common::{setup, User};

/// An account for the concurrency tests.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "err_accounts")]
pub(crate) struct Account {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Money, in cents.
    pub balance: i64,
}

/// A row with an `integer` and a `bigint` column.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "err_numbers")]
pub(crate) struct Number {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// `integer`.
    pub a32: i32,
    /// `bigint`.
    pub a64: i64,
}

/// `url` with its database name replaced by `dbname`.
fn with_dbname(url: &str, dbname: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{dbname}", &base[..host_end]);
    if !query.is_empty() {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[tokio::test]
async fn a_missing_database_is_named_with_the_servers_reason() {
    let url = with_dbname(
        &orm_core::testing::database_url().expect("a server"),
        "orm_errors_nope",
    );
    let err = Db::connect(&url).await.unwrap_err();
    let Error::Connect(connect) = &err else {
        panic!("expected a connection error, got {err:?}");
    };
    let message = err.to_string();
    assert!(
        message.starts_with("cannot connect to database \"orm_errors_nope\" on "),
        "{message}"
    );
    assert!(
        message.ends_with(": database \"orm_errors_nope\" does not exist (SQLSTATE 3D000)"),
        "{message}"
    );
    assert!(connect.target().contains(" on "), "{}", connect.target());
    assert_eq!(err.sqlstate(), Some("3D000"));
    // The driver's error is kept as the source, not flattened to text.
    assert!(err.source().is_some(), "{err:?}");
    let driver = connect.driver_error().expect("the driver's error");
    assert_eq!(driver.code().map(|c| c.code()), Some("3D000"));
}

#[tokio::test]
async fn integrity_errors_give_the_constraint_and_the_servers_detail() -> Result<()> {
    let db = setup().await;
    db.batch_execute(
        "CREATE TABLE err_parent (id int PRIMARY KEY);
         CREATE TABLE err_child (
             id int PRIMARY KEY,
             parent_id int REFERENCES err_parent,
             n int NOT NULL CHECK (n > 0)
         );
         INSERT INTO err_parent VALUES (1);",
    )
    .await?;
    orm_core::scope(&db, async {
        User::create(User::named("Ada")).await?;
        let err = User::create(User::named("Ada")).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "unique constraint \"users_name_key\" on users violated: \
             Key (name)=(Ada) already exists."
        );
        assert_eq!(err.constraint(), Some("users_name_key"));
        assert_eq!(err.detail(), Some("Key (name)=(Ada) already exists."));
        assert_eq!(err.sqlstate(), Some("23505"));
        let Error::Integrity(integrity) = &err else {
            panic!("{err:?}");
        };
        assert_eq!(integrity.kind(), IntegrityKind::Unique);
        assert_eq!(integrity.table(), Some("users"));
        assert_eq!(
            integrity.message(),
            "duplicate key value violates unique constraint \"users_name_key\""
        );
        assert!(err.source().is_some(), "the driver's error is kept");

        let cases: [(&'static str, IntegrityKind, &str); 3] = [
            (
                "INSERT INTO err_child VALUES (1, 7, 1)",
                IntegrityKind::ForeignKey,
                "foreign key constraint \"err_child_parent_id_fkey\" on err_child violated: \
                 Key (parent_id)=(7) is not present in table \"err_parent\".",
            ),
            (
                "INSERT INTO err_child VALUES (1, 1, NULL)",
                IntegrityKind::NotNull,
                "not null constraint on err_child.n violated: \
                 Failing row contains (1, 1, null).",
            ),
            (
                "INSERT INTO err_child VALUES (1, 1, -5)",
                IntegrityKind::Check,
                "check constraint \"err_child_n_check\" on err_child violated: \
                 Failing row contains (1, 1, -5).",
            ),
        ];
        for (sql, kind, expected) in cases {
            let err = db.batch_execute(sql).await.unwrap_err();
            assert!(err.is_integrity(kind), "{err:?}");
            assert_eq!(err.to_string(), expected);
        }
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_value_that_cannot_be_bound_names_the_parameter_and_the_types() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        Number::create(Number {
            a32: 1,
            a64: 1,
            ..Default::default()
        })
        .await?;
        // `"a32" * $1` makes PostgreSQL infer `$1` as an integer; the value
        // is an i64 too large for it.
        let err = Number::all()
            .update(q!(a64 = F("a32") * 4294967296i64 * 4294967296i64))
            .await
            .unwrap_err();
        let Error::Bind(bind) = &err else {
            panic!("expected a bind error, got {err:?}");
        };
        assert_eq!(bind.parameter(), 1);
        assert_eq!(bind.expected_type().map(|t| t.name()), Some("int4"));
        assert_eq!(bind.value_type(), Some("i64"));
        assert!(
            bind.sql().starts_with("UPDATE \"err_numbers\""),
            "{}",
            bind.sql()
        );
        assert_eq!(
            err.to_string(),
            format!(
                "cannot bind parameter $1: PostgreSQL expects integer (int4), the value is i64 \
                 (4294967296 does not fit in an integer parameter), at `{}` in: {}",
                "SET \"a64\" = ((\"err_numbers\".\"a32\" * $1",
                bind.sql()
            )
        );
        assert!(err.source().is_some(), "the driver's error is kept");
        // Nothing was sent: the row is as it was.
        assert_eq!(Number::get(q!(a32 = 1)).await?.a64, 1);
        Ok::<(), Error>(())
    })
    .await?;
    // The same under a statement timeout, which runs statements on a path
    // of their own: a write and a read.
    let limited = db.timeout(std::time::Duration::from_secs(30));
    orm_core::scope(&limited, async {
        let update = Number::all()
            .update(q!(a64 = F("a32") * 4294967296i64))
            .await;
        let read = Number::filter(q!(a64__gt = F("a32") * 4294967296i64)).await;
        for err in [update.unwrap_err(), read.unwrap_err()] {
            let Error::Bind(bind) = &err else {
                panic!("expected a bind error, got {err:?}");
            };
            assert_eq!(bind.parameter(), 1);
            assert_eq!(bind.expected_type().map(|t| t.name()), Some("int4"));
        }
        Ok(())
    })
    .await
}

/// Reads both accounts, waits at `barrier` (first try only), then takes 150
/// out of account `from` if the two hold 150 together: two of these at once
/// each read a row the other writes (a write skew, which would take 300),
/// which SERIALIZABLE cannot allow.
async fn write_skew(
    ids: [i64; 2],
    from: usize,
    barrier: &Barrier,
    tries: &AtomicU32,
) -> Result<()> {
    let first_try = tries.fetch_add(1, Ordering::SeqCst) == 0;
    let accounts = Account::filter(q!(id__in = ids)).order_by(["id"]).await?;
    let total: i64 = accounts.iter().map(|a| a.balance).sum();
    if first_try {
        barrier.wait().await;
    }
    if total >= 150 {
        Account::filter(q!(id = ids[from]))
            .update(q!(balance = accounts[from].balance - 150))
            .await?;
    }
    Ok(())
}

async fn two_accounts(db: &Db) -> Result<[i64; 2]> {
    orm_core::scope(db, async {
        let a = Account::create(Account {
            balance: 100,
            ..Default::default()
        })
        .await?;
        let b = Account::create(Account {
            balance: 100,
            ..Default::default()
        })
        .await?;
        Ok([a.id, b.id])
    })
    .await
}

/// Runs `write_skew` from each account at once with `options`; returns
/// both results and how many times each closure ran.
async fn race(db: &Db, ids: [i64; 2], options: TxOptions) -> (Vec<Result<()>>, u32) {
    let barrier = Arc::new(Barrier::new(2));
    let tries = Arc::new([AtomicU32::new(0), AtomicU32::new(0)]);
    let tasks: Vec<_> = (0..2)
        .map(|from| {
            let (barrier, tries) = (barrier.clone(), tries.clone());
            tokio::spawn(orm_core::scope(db, async move {
                transaction_with(options, || write_skew(ids, from, &barrier, &tries[from])).await
            }))
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    let runs = tries[0].load(Ordering::SeqCst) + tries[1].load(Ordering::SeqCst);
    (results, runs)
}

#[tokio::test]
async fn a_serialization_failure_is_typed_and_retried() -> Result<()> {
    let db = setup().await;
    let serializable = TxOptions::default().isolation(Isolation::Serializable);

    // Without retries, one of the two fails, recognisably.
    let ids = two_accounts(&db).await?;
    let (results, runs) = race(&db, ids, serializable).await;
    assert_eq!(runs, 2);
    let failed: Vec<&Error> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(failed.len(), 1, "{results:?}");
    let err = failed[0];
    assert!(err.is_serialization_failure(), "{err:?}");
    assert!(err.is_retryable() && !err.is_deadlock(), "{err:?}");
    assert_eq!(err.sqlstate(), Some("40001"));
    // The server's message is kept.
    assert!(
        err.to_string()
            .starts_with("database error: could not serialize access"),
        "{err}"
    );
    assert!(err.source().is_some());
    assert_eq!(balance(&db, ids).await?, 50, "the winner's withdrawal only");

    // With retries, the loser runs again from scratch and sees the
    // winner's write: it withdraws nothing, as in a serial order.
    let ids = two_accounts(&db).await?;
    let (results, runs) = race(&db, ids, serializable.retries(5)).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(runs >= 3, "the failed transaction ran again ({runs} runs)");
    assert_eq!(balance(&db, ids).await?, 50, "exactly one withdrawal");
    Ok(())
}

async fn balance(db: &Db, ids: [i64; 2]) -> Result<i64> {
    orm_core::scope(db, async {
        let accounts = Account::filter(q!(id__in = ids)).await?;
        Ok(accounts.iter().map(|a| a.balance).sum())
    })
    .await
}

#[tokio::test]
async fn a_deadlock_is_typed_and_retried() -> Result<()> {
    let db = setup().await;
    let ids = two_accounts(&db).await?;
    // Each locks one row, waits for the other to lock its row, then
    // locks the other's: the server fails one of them with 40P01.
    let run = |options: TxOptions| {
        let db = db.clone();
        async move {
            let barrier = Arc::new(Barrier::new(2));
            let tries = Arc::new([AtomicU32::new(0), AtomicU32::new(0)]);
            let tasks: Vec<_> = (0..2usize)
                .map(|me| {
                    let (barrier, tries) = (barrier.clone(), tries.clone());
                    tokio::spawn(orm_core::scope(&db, async move {
                        transaction_with(options, || {
                            let (barrier, tries) = (&barrier, &tries);
                            async move {
                                let first_try = tries[me].fetch_add(1, Ordering::SeqCst) == 0;
                                for (step, id) in [ids[me], ids[1 - me]].into_iter().enumerate() {
                                    Account::filter(q!(id = id))
                                        .update(q!(balance = F("balance") + 1))
                                        .await?;
                                    if step == 0 && first_try {
                                        barrier.wait().await;
                                    }
                                }
                                Ok(())
                            }
                        })
                        .await
                    }))
                })
                .collect();
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.expect("task"));
            }
            let runs = tries[0].load(Ordering::SeqCst) + tries[1].load(Ordering::SeqCst);
            (results, runs)
        }
    };

    let (results, runs) = run(TxOptions::default()).await;
    assert_eq!(runs, 2);
    let failed: Vec<&Error> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(failed.len(), 1, "{results:?}");
    assert!(failed[0].is_deadlock(), "{:?}", failed[0]);
    assert!(failed[0].is_retryable() && !failed[0].is_serialization_failure());
    assert_eq!(failed[0].sqlstate(), Some("40P01"));
    assert!(
        failed[0]
            .to_string()
            .starts_with("database error: deadlock detected"),
        "{}",
        failed[0]
    );

    let (results, runs) = run(TxOptions::default().retries(5)).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    // At least 3: a retry may meet the other transaction again (its new
    // transaction can take the row before the other one, woken by the
    // rollback, takes it back) and deadlock once more.
    assert!(runs >= 3, "the deadlocked one ran again ({runs} runs)");
    orm_core::scope(&db, async {
        // Every committed run added 1 to both: one in the first round, two
        // in the second.
        for account in Account::filter(q!(id__in = ids)).await? {
            assert_eq!(account.balance, 100 + 1 + 2, "{account:?}");
        }
        Ok(())
    })
    .await
}

/// Makes the server fail the COMMIT of the first two transactions that
/// insert an account with a real 40001: a deferred constraint trigger,
/// counting with a sequence (which a rollback does not undo).
async fn fail_two_commits(db: &Db) -> Result<()> {
    db.batch_execute(
        "CREATE SEQUENCE err_tries;
         CREATE FUNCTION err_fail_twice() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF nextval('err_tries') <= 2 THEN
                 RAISE EXCEPTION 'conflict at commit' USING ERRCODE = 'serialization_failure';
             END IF;
             RETURN NULL;
         END $$;
         CREATE CONSTRAINT TRIGGER err_fail_twice AFTER INSERT ON err_accounts
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION err_fail_twice();",
    )
    .await
}

#[tokio::test]
async fn a_refused_commit_gives_its_connection_back_to_the_pool() -> Result<()> {
    let url = orm_core::testing::test_database_url().await?;
    let db = Db::builder(url).max_size(1).connect().await?;
    orm_core::generate_schemas_on(&db).await?;
    fail_two_commits(&db).await?;
    orm_core::scope(&db, async {
        let pid = || async {
            let rows: Vec<(i32,)> = orm_core::raw("SELECT pg_backend_pid()", &[]).await?;
            Ok::<_, Error>(rows[0].0)
        };
        let before = pid().await?;
        let insert = || Account::create(Account::default());
        let err = transaction_with(TxOptions::default(), insert)
            .await
            .unwrap_err();
        assert!(err.is_serialization_failure(), "{err:?}");
        // The server ended the transaction: the same connection is reused,
        // not closed and replaced.
        assert_eq!(pid().await?, before);
        transaction_with(TxOptions::default().retries(1), insert).await?;
        assert_eq!(pid().await?, before);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_failure_at_commit_is_retried_and_nested_blocks_do_not_retry() -> Result<()> {
    let db = setup().await;
    fail_two_commits(&db).await?;
    orm_core::scope(&db, async {
        let tries = AtomicU32::new(0);
        let insert = || async {
            tries.fetch_add(1, Ordering::SeqCst);
            Account::create(Account {
                balance: 5,
                ..Default::default()
            })
            .await
        };
        // Without retries the COMMIT's error comes back, typed.
        let err = transaction_with(TxOptions::default(), insert)
            .await
            .unwrap_err();
        assert!(err.is_serialization_failure(), "{err:?}");
        assert!(err.to_string().contains("conflict at commit"), "{err}");
        assert_eq!(Account::all().count().await?, 0);
        // With retries: the second try fails too, the third commits.
        let created = transaction_with(TxOptions::default().retries(5), insert).await?;
        assert_eq!(tries.load(Ordering::SeqCst), 1 + 2);
        assert_eq!(Account::all().count().await?, 1);
        assert_eq!(Account::get(q!(id = created.id)).await?.balance, 5);

        // A bounded number of tries: the error after the last one.
        db.batch_execute("ALTER SEQUENCE err_tries RESTART").await?;
        tries.store(0, Ordering::SeqCst);
        let err = transaction_with(TxOptions::default().retries(1), insert)
            .await
            .unwrap_err();
        assert!(err.is_serialization_failure(), "{err:?}");
        assert_eq!(tries.load(Ordering::SeqCst), 2, "one try and one retry");

        // A nested block does not retry on its own: its savepoint is part of
        // the outer transaction. The outer block fails once without retries;
        // with 2, it runs again, inner block included.
        for (outer_retries, runs) in [(0, 1), (2, 3)] {
            let inner_tries = AtomicU32::new(0);
            let outer_tries = AtomicU32::new(0);
            let err = transaction_with(TxOptions::default().retries(outer_retries), || async {
                outer_tries.fetch_add(1, Ordering::SeqCst);
                transaction_with(TxOptions::default().retries(5), || async {
                    inner_tries.fetch_add(1, Ordering::SeqCst);
                    orm_core::current()?
                        .batch_execute(
                            "DO $$ BEGIN RAISE EXCEPTION 'inner conflict' \
                             USING ERRCODE = 'serialization_failure'; END $$",
                        )
                        .await
                })
                .await
            })
            .await
            .unwrap_err();
            assert!(err.is_serialization_failure(), "{err:?}");
            assert_eq!(
                outer_tries.load(Ordering::SeqCst),
                runs,
                "{outer_retries} retries"
            );
            assert_eq!(
                inner_tries.load(Ordering::SeqCst),
                runs,
                "{outer_retries} retries"
            );
        }
        Ok(())
    })
    .await
}

#[tokio::test]
async fn concurrent_serializable_transfers_all_succeed_with_retries() -> Result<()> {
    let db = orm_core::testing::test_database_url()
        .await
        .and_then(|url| Db::builder(url).max_size(6).build())?;
    orm_core::generate_schemas_on(&db).await?;
    let ids: Vec<i64> = orm_core::scope(&db, async {
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(
                Account::create(Account {
                    balance: 1_000,
                    ..Default::default()
                })
                .await?
                .id,
            );
        }
        Ok::<_, Error>(ids)
    })
    .await?;
    let runs = Arc::new(AtomicU32::new(0));
    let options = TxOptions::default()
        .isolation(Isolation::Serializable)
        .retries(50);
    let tasks: Vec<_> = (0..20usize)
        .map(|t| {
            let (ids, runs) = (ids.clone(), runs.clone());
            tokio::spawn(orm_core::scope(&db, async move {
                for n in 0..10usize {
                    let from = ids[(t + n) % 3];
                    let to = ids[(t + n + 1 + t % 2) % 3];
                    let amount = ((t + n) % 7) as i64 + 1;
                    // Read, then write what was read: only SERIALIZABLE (and
                    // running again what it refuses) keeps the total.
                    transaction_with(options, || async {
                        runs.fetch_add(1, Ordering::Relaxed);
                        let src = Account::get(q!(id = from)).await?;
                        let dst = Account::get(q!(id = to)).await?;
                        Account::filter(q!(id = from))
                            .update(q!(balance = src.balance - amount))
                            .await?;
                        Account::filter(q!(id = to))
                            .update(q!(balance = dst.balance + amount))
                            .await?;
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
    eprintln!("200 transfers took {} runs", runs.load(Ordering::Relaxed));
    orm_core::scope(&db, async {
        let total: i64 = Account::all().await?.iter().map(|a| a.balance).sum();
        assert_eq!(total, 3_000, "no money lost or created");
        Ok(())
    })
    .await
}
