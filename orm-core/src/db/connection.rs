//! One pooled connection: deadpool-postgres's client, and the statements
//! prepared on it.
//!
//! Every statement the ORM sends is prepared once per connection and then
//! reused. The cache is the connection's own (not deadpool-postgres's) so
//! that a hit is a plain lookup under a read lock, with a fast hash of the SQL
//! text and no future to await: it runs on every statement. Measured with
//! callgrind on a get by primary key, deadpool-postgres's hit (SipHash of
//! the text, an async once-cell) took about 770 instructions, this one
//! about 180.
//!
//! The cache is bounded (each prepared statement also holds memory in the
//! server's backend): when it is full, the statements not used since it was
//! last full are closed (not-recently-used: a hit only sets a flag).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use deadpool::managed::{Metrics, RecycleResult};
use futures_util::future::{self, Either};
use rustc_hash::FxBuildHasher;
use tokio_postgres::Statement;

/// The pool of [`Connection`]s.
pub(crate) type Pool = deadpool::managed::Pool<Manager>;
/// A [`Connection`] checked out of the [`Pool`].
pub(crate) type Object = deadpool::managed::Object<Manager>;
/// Why a checkout failed.
pub(crate) type PoolError = deadpool::managed::PoolError<tokio_postgres::Error>;

/// Opens and recycles connections as deadpool-postgres's manager does
/// (its recycling method, its connection task), each with an empty
/// statement cache of `statement_capacity` statements (at least 1: the
/// builder clamps it).
pub(crate) struct Manager {
    pub(crate) inner: deadpool_postgres::Manager,
    pub(crate) statement_capacity: usize,
}

impl deadpool::managed::Manager for Manager {
    type Type = Connection;
    type Error = tokio_postgres::Error;

    async fn create(&self) -> Result<Connection, tokio_postgres::Error> {
        Ok(Connection {
            client: self.inner.create().await?,
            statements: RwLock::default(),
            capacity: self.statement_capacity,
        })
    }

    async fn recycle(
        &self,
        conn: &mut Connection,
        metrics: &Metrics,
    ) -> RecycleResult<tokio_postgres::Error> {
        self.inner.recycle(&mut conn.client, metrics).await
    }

    fn detach(&self, conn: &mut Connection) {
        self.inner.detach(&mut conn.client);
    }
}

/// A statement in the cache, and whether it was used since the cache was
/// last full.
struct Cached {
    statement: Statement,
    used: AtomicBool,
}

/// A client and the statements prepared on it. It dereferences to the
/// tokio-postgres client.
pub(crate) struct Connection {
    client: deadpool_postgres::ClientWrapper,
    /// Read-locked on every statement: tasks pipelined on this connection
    /// look up at the same time.
    statements: RwLock<HashMap<Box<str>, Cached, FxBuildHasher>>,
    /// The most statements kept.
    capacity: usize,
}

impl std::ops::Deref for Connection {
    type Target = tokio_postgres::Client;
    fn deref(&self) -> &tokio_postgres::Client {
        &self.client
    }
}

impl Connection {
    /// `sql` prepared on this connection: the cached statement, else one
    /// prepared now (one round trip) and cached. Two tasks missing the
    /// same text at once may both prepare it; the first one cached stays.
    pub(crate) fn prepare<'a>(
        &'a self,
        sql: &'a str,
    ) -> impl Future<Output = Result<Statement, tokio_postgres::Error>> + Send + 'a {
        match self.cached(sql) {
            Some(statement) => Either::Left(future::ready(Ok(statement))),
            // Boxed: a prepare future is large, and misses are rare.
            None => Either::Right(Box::pin(self.prepare_new(sql))),
        }
    }

    fn cached(&self, sql: &str) -> Option<Statement> {
        let statements = self.statements.read().unwrap_or_else(|e| e.into_inner());
        let cached = statements.get(sql)?;
        // Read first: the flag's cache line is only written once per sweep.
        if !cached.used.load(Ordering::Relaxed) {
            cached.used.store(true, Ordering::Relaxed);
        }
        Some(cached.statement.clone())
    }

    async fn prepare_new(&self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
        let statement = self.client.prepare(sql).await?;
        let mut statements = self.statements.write().unwrap_or_else(|e| e.into_inner());
        if let Some(cached) = statements.get(sql) {
            return Ok(cached.statement.clone());
        }
        if statements.len() >= self.capacity {
            make_room(&mut statements, self.capacity);
        }
        statements.insert(
            sql.into(),
            Cached {
                statement: statement.clone(),
                // A text run once (a one-off query) goes at the next sweep.
                used: AtomicBool::new(false),
            },
        );
        Ok(statement)
    }
}

/// Makes room for one statement in a full cache: drops the statements not
/// used since the last sweep and clears the mark of the others; when every
/// one was used, drops one of them. A dropped statement is closed on the
/// server by tokio-postgres once no running query holds it.
fn make_room(statements: &mut HashMap<Box<str>, Cached, FxBuildHasher>, capacity: usize) {
    statements.retain(|_, cached| cached.used.swap(false, Ordering::Relaxed));
    if statements.len() >= capacity {
        if let Some(any) = statements.keys().next().cloned() {
            statements.remove(&any);
        }
    }
}
