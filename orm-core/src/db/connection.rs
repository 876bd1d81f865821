//! One pooled connection: the tokio-postgres client, the statements
//! prepared on it, and the means to stop it.
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
//!
//! A cached statement can go stale while its connection lives: a schema
//! change to a table it reads makes the server refuse it for good (SQLSTATE
//! 0A000, "cached plan must not change result type"), and `DISCARD ALL` or
//! `DEALLOCATE` drops it on the server (26000). [`Connection::forget`] takes
//! it out of the cache, so the next use prepares it again; the executor
//! ([`crate::db`]) does that and retries.
//!
//! A connection can be stopped from any of its holders with
//! [`Connection::kill`]: its socket is closed at once and a cancel request
//! is sent for whatever its backend runs. The manager opens connections
//! itself (as deadpool-postgres's does) to keep the handle that closes the
//! socket, and the cancel token, from the start: stopping one allocates
//! nothing on the paths every statement takes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use deadpool::managed::{Metrics, RecycleError, RecycleResult};
use futures_util::future::{self, Either};
use rustc_hash::FxBuildHasher;
use tokio::task::JoinHandle;
use tokio_postgres::{CancelToken, NoTls, Statement};

use super::pooler::PoolerAddr;

/// The pool of [`Connection`]s.
pub(crate) type Pool = deadpool::managed::Pool<Manager>;
/// A [`Connection`] checked out of the [`Pool`].
pub(crate) type Object = deadpool::managed::Object<Manager>;
/// Why a checkout failed.
pub(crate) type PoolError = deadpool::managed::PoolError<tokio_postgres::Error>;

/// Opens connections (each with its task driving the socket, and an empty
/// statement cache of `statement_capacity` statements: at least 1, the
/// builder clamps it) and recycles them: a closed or killed connection,
/// or one a dropped statement may still run on, is discarded.
pub(crate) struct Manager {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) statement_capacity: usize,
    /// Where the pooler listens, when connections go through one
    /// ([`StatementMode::Unnamed`](super::StatementMode::Unnamed)): see
    /// [`Connection::cancel_query`].
    pub(crate) pooler: Option<Arc<PoolerAddr>>,
    /// In [`StatementMode::Unnamed`](super::StatementMode::Unnamed): each
    /// new connection learns the database's non-built-in types at once
    /// ([`learn_types`](super::pooler::learn_types)).
    pub(crate) learn_types: bool,
}

impl deadpool::managed::Manager for Manager {
    type Type = Connection;
    type Error = tokio_postgres::Error;

    async fn create(&self) -> Result<Connection, tokio_postgres::Error> {
        let (client, connection) = self.config.connect(NoTls).await?;
        let task = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(target: "orm_core::db", "connection error: {e}");
            }
        });
        if self.learn_types {
            if let Err(e) = super::pooler::learn_types(&client).await {
                task.abort();
                return Err(e);
            }
        }
        Ok(Connection {
            cancel: client.cancel_token(),
            client,
            task,
            killed: AtomicBool::new(false),
            retired: AtomicBool::new(false),
            statements: RwLock::default(),
            capacity: self.statement_capacity,
            pooler: self.pooler.clone(),
        })
    }

    async fn recycle(
        &self,
        conn: &mut Connection,
        _: &Metrics,
    ) -> RecycleResult<tokio_postgres::Error> {
        if conn.retired.load(Ordering::Relaxed) {
            // Every statement that shared it has ended: a cancel can only
            // reach the dropped one now, and the connection is closed.
            conn.kill();
            return Err(RecycleError::message(
                "a dropped statement may still run on it",
            ));
        }
        if conn.is_closed() {
            return Err(RecycleError::message("connection closed"));
        }
        Ok(())
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
    client: tokio_postgres::Client,
    /// The task driving the socket: aborted, it closes the connection.
    task: JoinHandle<()>,
    /// For [`kill`](Connection::kill): made once, at connect.
    cancel: CancelToken,
    /// Set by [`kill`](Connection::kill): closed, or about to be.
    killed: AtomicBool,
    /// Set by [`retire`](Connection::retire).
    retired: AtomicBool,
    /// Read-locked on every statement: tasks pipelined on this connection
    /// look up at the same time.
    statements: RwLock<HashMap<Box<str>, Cached, FxBuildHasher>>,
    /// The most statements kept.
    capacity: usize,
    /// Through a pooler: [`kill`](Connection::kill) closes the socket only
    /// once the cancel request is through.
    pooler: Option<Arc<PoolerAddr>>,
}

impl std::ops::Deref for Connection {
    type Target = tokio_postgres::Client;
    fn deref(&self) -> &tokio_postgres::Client {
        &self.client
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Through a pooler, a killed connection's socket is closed by its
        // cancel request's task, once the request is through (`kill`).
        if !(self.killed.load(Ordering::Relaxed) && self.pooler.is_some()) {
            self.task.abort();
        }
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

    /// Drops `stale`, which the server refused, from the cache, so that
    /// the next [`prepare`](Connection::prepare) of `sql` prepares it again.
    /// Only that statement: a task pipelined on this connection may have
    /// prepared and cached the text anew already.
    pub(crate) fn forget(&self, sql: &str, stale: &Statement) {
        let mut statements = self.statements.write().unwrap_or_else(|e| e.into_inner());
        if statements
            .get(sql)
            .is_some_and(|cached| same_statement(&cached.statement, stale))
        {
            statements.remove(sql);
        }
    }

    /// Whether this connection goes through a pooler.
    pub(crate) fn through_pooler(&self) -> bool {
        self.pooler.is_some()
    }

    /// Sends a cancel request for what this connection's backend runs.
    /// Through a pooler, it waits until the pooler has passed it on
    /// ([`pooler::cancel`](super::pooler::cancel): pgbouncer 1.18 exits
    /// when a cancel request's socket closes before that).
    pub(crate) async fn cancel_query(&self) -> Result<(), tokio_postgres::Error> {
        match &self.pooler {
            Some(addr) => super::pooler::cancel(&self.cancel, addr).await,
            None => self.cancel.cancel_query(NoTls).await,
        }
    }

    /// Whether the connection is closed or [killed](Connection::kill)
    /// (shadows the client's method, which learns of a kill only once the
    /// socket's task has ended).
    pub(crate) fn is_closed(&self) -> bool {
        self.killed.load(Ordering::Relaxed) || self.client.is_closed()
    }

    /// Stops this connection for good: closes its socket now, so the server
    /// rolls back an open transaction and releases session locks, and sends
    /// a cancel request for the statement its backend may be running (a
    /// closed socket alone does not stop it: the server notices only when
    /// it next reads). The pool discards the connection at its next
    /// checkout. Only for a connection no other statement uses, or whose
    /// other statements share its fate (a transaction's).
    ///
    /// Without a runtime (dropped at shutdown), only the socket is closed.
    pub(crate) fn kill(&self) {
        if self.killed.swap(true, Ordering::Relaxed) {
            return;
        }
        let runtime = tokio::runtime::Handle::try_current();
        if let (Some(addr), Ok(runtime)) = (&self.pooler, &runtime) {
            // Through a pooler, the cancel goes first: see `cancel_query`.
            let (token, addr) = (self.cancel.clone(), addr.clone());
            let task = self.task.abort_handle();
            runtime.spawn(async move {
                if let Err(e) = super::pooler::cancel(&token, &addr).await {
                    tracing::debug!(target: "orm_core::db", "cancel request failed: {e}");
                }
                task.abort();
            });
            return;
        }
        self.task.abort();
        if let Ok(runtime) = runtime {
            let token = self.cancel.clone();
            runtime.spawn(async move {
                if let Err(e) = token.cancel_query(NoTls).await {
                    tracing::debug!(target: "orm_core::db", "cancel request failed: {e}");
                }
            });
        }
    }

    /// Marks the connection to be [killed](Connection::kill) when it is
    /// next checked out: a dropped statement may still run on it, but other
    /// statements pipelined on it must not be cancelled.
    pub(crate) fn retire(&self) {
        self.retired.store(true, Ordering::Relaxed);
    }

    /// The client's `batch_execute`, killing the connection when the future
    /// is dropped before the server answered: the script (`BEGIN`,
    /// `COMMIT`, DDL, a migration) may have left the session in any state,
    /// and may still be running.
    ///
    /// It shadows [`tokio_postgres::Client::batch_execute`], so every
    /// script sent through a [`Connection`] is guarded.
    pub(crate) async fn batch_execute(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        let guard = KillOnDrop(self);
        let result = self.client.batch_execute(sql).await;
        std::mem::forget(guard);
        result
    }
}

/// Whether `a` and `b` are one prepared statement (clones share their
/// description; tokio-postgres keeps the name private). Two statements with
/// neither columns nor parameters compare equal: forgetting the wrong one
/// costs one more prepare, nothing else.
fn same_statement(a: &Statement, b: &Statement) -> bool {
    std::ptr::eq(a.columns().as_ptr(), b.columns().as_ptr())
        && std::ptr::eq(a.params().as_ptr(), b.params().as_ptr())
}

/// [`Connection::kill`] on drop; forgotten once the statement it guards
/// has its answer.
pub(crate) struct KillOnDrop<'a>(pub(crate) &'a Connection);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        self.0.kill();
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
