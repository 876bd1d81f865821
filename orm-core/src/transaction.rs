//! Transactions: the block form [`transaction`] (every ORM call inside runs
//! on one connection; nested blocks are savepoints) and the explicit form
//! [`Db::begin`].
//!
//! A block commits when its future returns `Ok`, and rolls back when it
//! returns `Err`, panics, or is dropped before finishing (cancellation). A
//! dropped or panicking top-level transaction's connection is taken out of
//! the pool and closed, which makes the server roll it back; nothing is
//! left half-done on a pooled connection.
//!
//! A top-level block can be retried ([`TxOptions::retries`]) when it fails
//! with a serialization failure or a deadlock, as CockroachDB's clients and
//! django-cockroachdb do: the server gave up on the whole transaction, so
//! the closure runs again from scratch in a new one, after a short
//! jittered, growing pause. A nested block never retries on its own: its
//! savepoint is part of the outer transaction, which is what failed.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::db::tx::{Status, TxState};
use crate::db::{self, Db};
use crate::error::{Error, Result};

/// PostgreSQL's isolation levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Isolation {
    /// `READ COMMITTED` (PostgreSQL's default).
    #[default]
    ReadCommitted,
    /// `REPEATABLE READ`.
    RepeatableRead,
    /// `SERIALIZABLE`.
    Serializable,
}

/// Options of a top-level transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct TxOptions {
    /// The isolation level.
    pub isolation: Isolation,
    /// `READ ONLY`: writes fail.
    pub read_only: bool,
    /// How many times [`transaction_with`] runs a top-level block again
    /// after a serialization failure or deadlock (default 0).
    pub retries: u32,
}

impl TxOptions {
    /// Sets the isolation level.
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }

    /// Makes the transaction read-only.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Runs the block of [`transaction_with`] again, up to `n` more times,
    /// when the transaction fails with a serialization failure (SQLSTATE
    /// 40001) or a deadlock (40P01), from any statement or from `COMMIT`.
    ///
    /// Each try is a new transaction that runs the closure from the start,
    /// after a pause of a few milliseconds that doubles with each try (up to
    /// about a quarter of a second), with random jitter so that the
    /// transactions that conflicted do not meet again. After the last try,
    /// its error is returned ([`Error::is_serialization_failure`],
    /// [`Error::is_deadlock`]). The closure must be safe to run more than
    /// once: work outside the database (messages sent, files written) is
    /// done again on every try.
    ///
    /// Ignored by a nested block: the outer transaction is what failed, so
    /// only the top-level block retries.
    ///
    /// ```no_run
    /// # use orm_core::{transaction_with, Isolation, TxOptions};
    /// # async fn run() -> orm_core::Result<()> {
    /// let options = TxOptions::default().isolation(Isolation::Serializable).retries(5);
    /// transaction_with(options, || async {
    ///     // ... read, then write what depends on it ...
    ///     Ok(())
    /// })
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }

    fn begin_sql(&self) -> String {
        let mut sql = String::from("BEGIN ISOLATION LEVEL ");
        sql.push_str(match self.isolation {
            Isolation::ReadCommitted => "READ COMMITTED",
            Isolation::RepeatableRead => "REPEATABLE READ",
            Isolation::Serializable => "SERIALIZABLE",
        });
        sql.push_str(if self.read_only {
            " READ ONLY"
        } else {
            " READ WRITE"
        });
        sql
    }
}

/// An open transaction, from [`Db::begin`]. Queries run in it with
/// `.using(&tx)` (it dereferences to a [`Db`]) or inside
/// `orm_core::scope(&tx, ..)`. Dropped without [`commit`](Transaction::commit),
/// it rolls back.
pub struct Transaction {
    db: Db,
}

impl std::ops::Deref for Transaction {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Transaction")
    }
}

impl Transaction {
    /// Commits.
    ///
    /// # Errors
    /// [`Error::Transaction`] when a statement failed inside it (PostgreSQL
    /// rolled it back instead) or a nested block was abandoned half-way;
    /// the database's error.
    pub async fn commit(self) -> Result<()> {
        let tx = self.state();
        tx.check_active()?;
        if tx.failed.load(Ordering::Relaxed) || tx.poisoned.load(Ordering::Relaxed) {
            let _ = tx.conn().batch_execute("ROLLBACK").await;
            tx.finish(Status::RolledBack);
            return Err(Error::Transaction(
                "a statement failed inside the transaction, so it was rolled back".into(),
            ));
        }
        self.db.count();
        if let Err(err) = self.db.commit_noted(tx).await {
            // A COMMIT the server refused (a serialization failure, a
            // deferred constraint) ended the transaction: the connection
            // can go back to the pool. After a lost connection, it cannot.
            if err.as_db_error().is_some() {
                tx.finish(Status::RolledBack);
            }
            return Err(err.into());
        }
        tx.finish(Status::Committed);
        Ok(())
    }

    /// Rolls back.
    ///
    /// # Errors
    /// The database's error.
    pub async fn rollback(self) -> Result<()> {
        let tx = self.state();
        tx.check_active()?;
        self.db.count();
        let result = tx.conn().batch_execute("ROLLBACK").await;
        tx.finish(Status::RolledBack);
        result?;
        Ok(())
    }

    fn state(&self) -> &TxState {
        self.db.tx().expect("a Transaction's Db has a transaction")
    }
}

impl Db {
    /// Starts a transaction on one of this pool's connections.
    ///
    /// # Errors
    /// [`Error::Transaction`] when `self` is a transaction already (use the
    /// block form [`transaction`] to nest); pool and database errors.
    pub async fn begin(&self) -> Result<Transaction> {
        self.begin_with(TxOptions::default()).await
    }

    /// As [`begin`](Db::begin), with an isolation level or read-only.
    ///
    /// # Errors
    /// As [`begin`](Db::begin).
    pub async fn begin_with(&self, options: TxOptions) -> Result<Transaction> {
        if self.tx().is_some() {
            return Err(Error::Transaction(
                "already in a transaction; nest with orm_core::transaction(..) for a savepoint"
                    .into(),
            ));
        }
        let conn = self.checkout().await?;
        self.count();
        conn.batch_execute(&options.begin_sql()).await?;
        let state = TxState::new(conn);
        let tx = Transaction {
            db: self.with_tx(Arc::new(state)),
        };
        crate::tenant::set_local(&tx.db).await?;
        Ok(tx)
    }
}

/// Marks a nested block abandoned (dropped or panicking) before it finished.
struct SavepointGuard<'a> {
    tx: &'a TxState,
    done: bool,
}

impl Drop for SavepointGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.tx.poisoned.store(true, Ordering::Relaxed);
        }
    }
}

/// Runs `f` in a transaction on the scoped or default database: every ORM
/// call inside (in the functions it calls, and in futures it joins) runs on
/// one connection. Commits when `f` returns `Ok`; rolls back on `Err`, panic
/// or cancellation. Nested calls are savepoints: an inner `Err` rolls back
/// the inner block only.
///
/// ```no_run
/// # use orm_core::prelude::*;
/// # async fn run() -> orm_core::Result<()> {
/// orm_core::transaction(|| async {
///     // ... several writes that must all happen, or none ...
///     Ok(())
/// })
/// .await?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// The block's error, or as [`Transaction::commit`].
pub async fn transaction<F, Fut, T>(f: F) -> Result<T>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    transaction_on(&db::current()?, TxOptions::default(), f).await
}

/// As [`transaction`], with options for a top-level transaction (ignored by
/// a nested block, which is a savepoint of its outer transaction),
/// including [`retries`](TxOptions::retries) after a serialization failure
/// or deadlock, for which the closure may be called more than once.
///
/// # Errors
/// As [`transaction`]; with retries, the last try's error.
pub async fn transaction_with<F, Fut, T>(options: TxOptions, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let db = db::current()?;
    if db.tx().is_some() || options.retries == 0 {
        return transaction_on(&db, options, f).await;
    }
    let mut tries = 0;
    loop {
        match transaction_on(&db, options, &mut f).await {
            Err(err) if err.is_retryable() && tries < options.retries => {
                tries += 1;
                tracing::debug!(
                    tries,
                    error = %err,
                    "transaction retried"
                );
                tokio::time::sleep(backoff(tries)).await;
            }
            result => return result,
        }
    }
}

/// The pause before try `n + 1` (`n` from 1): up to 4 ms doubling with
/// each try, capped at 256 ms, at least half of it and the rest random
/// ("equal jitter"), so that the transactions that conflicted spread out.
fn backoff(n: u32) -> Duration {
    let ceiling_us: u64 = 4_000u64 << n.saturating_sub(1).min(6);
    // A fresh `RandomState` is randomly keyed: enough randomness for a
    // jitter, without a dependency.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let half = ceiling_us / 2;
    Duration::from_micros(half + random % (half + 1))
}

/// As [`transaction_with`], on `outer` rather than the scoped database.
pub(crate) async fn transaction_on<F, Fut, T>(outer: &Db, options: TxOptions, f: F) -> Result<T>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    if let Some(tx) = outer.tx() {
        tx.check_active()?;
        let n = tx.savepoints.fetch_add(1, Ordering::Relaxed) + 1;
        let name = format!("orm_sp_{n}");
        let failed_before = tx.failed.load(Ordering::Relaxed);
        outer
            .batch_execute_dynamic(&format!("SAVEPOINT {name}"))
            .await?;
        let mut guard = SavepointGuard { tx, done: false };
        let result = f().await;
        guard.done = true;
        return match result {
            Ok(value) => {
                outer
                    .batch_execute_dynamic(&format!("RELEASE SAVEPOINT {name}"))
                    .await?;
                Ok(value)
            }
            Err(err) => {
                outer
                    .batch_execute_dynamic(&format!("ROLLBACK TO SAVEPOINT {name}"))
                    .await?;
                // Rolling back to the savepoint undoes the failure inside it.
                tx.failed.store(failed_before, Ordering::Relaxed);
                // .. and a tenant setting made inside it.
                tx.set_tenant_setting(None);
                Err(err)
            }
        };
    }
    let tx = outer.begin_with(options).await?;
    match db::scope(&tx, f()).await {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(err) => {
            let _ = tx.rollback().await;
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for n in 1..=20 {
            let ceiling = Duration::from_micros(4_000 << (n - 1).min(6));
            let pauses: Vec<Duration> = (0..50).map(|_| backoff(n)).collect();
            assert!(
                pauses.iter().all(|p| *p >= ceiling / 2 && *p <= ceiling),
                "{n}: {pauses:?}"
            );
            // Jittered: 50 draws from a range of thousands of microseconds
            // are not all the same.
            assert!(pauses.iter().any(|p| *p != pauses[0]), "{n}: {pauses:?}");
        }
        assert!(backoff(1) <= Duration::from_millis(4));
        assert!(backoff(30) <= Duration::from_millis(256));
    }

    #[test]
    fn retries_are_off_by_default() {
        assert_eq!(TxOptions::default().retries, 0);
        assert_eq!(TxOptions::default().retries(5).retries, 5);
    }
}
