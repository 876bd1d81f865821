//! Databases: connection pools, the global default, the task-local
//! [`scope`], and the executor every query goes through.
//!
//! A query picks its database in this order: an explicit
//! [`QuerySet::using`](crate::QuerySet::using), then the innermost
//! [`scope`], then the global default set by [`connect`].
//!
//! What the executor does when things go wrong under a running application:
//!
//! - **Schema changes.** A cached statement the server refuses after a
//!   schema change (SQLSTATE 0A000, "cached plan must not change result
//!   type") or after `DISCARD ALL` (26000) is dropped from its connection's
//!   cache and prepared again; outside a transaction the statement is
//!   retried once (nothing of it ran), inside one the transaction is
//!   already aborted, so the error says so ([`Error::Transaction`]: retry
//!   the transaction).
//! - **Dropped futures.** A statement's future dropped before its answer
//!   arrived (a `tokio::time::timeout`, a `select!`, a cancelled task) is
//!   cancelled on the server, never left running on a pooled connection. A
//!   cancel request stops whatever its backend runs at that moment and
//!   PostgreSQL never says when it took effect, so: the connection is
//!   closed and replaced rather than reused; when other statements are
//!   pipelined on it, nothing is cancelled until they have all ended (no
//!   new statement joins them, and the pool closes it when it comes back,
//!   cancelling the dropped statement then); inside a transaction, the
//!   transaction is marked failed (its commit reports it) and its
//!   connection closed. Scripts ([`Db::batch_execute`]), transactions and
//!   migrations held across several statements are guarded the same way:
//!   nothing is left inside a transaction, or holding a lock, in the pool.
//! - **Timeouts.** [`DbBuilder::statement_timeout`] sets the server's
//!   `statement_timeout` for every connection; [`Db::timeout`] limits the
//!   statements of one handle. Both fail with SQLSTATE 57014
//!   (`query_canceled`) in an [`Error::Database`].

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool::managed::Timeouts;

use crate::error::Result;

/// The connection for one statement ([`Db::client`]) of `$db`, inside an
/// `async fn`: [`client_now`](Db::client_now)'s when it has one, else
/// [`client_later`](Db::client_later)'s, boxed, as that future is large and
/// rarely needed (it would grow every statement's future).
macro_rules! client_now_or_later {
    ($db:expr) => {
        match $db.client_now()? {
            Some(conn) => conn,
            None => Box::pin($db.client_later()).await?,
        }
    };
}

mod builder;
mod checkout;
mod connection;
mod pooler;
mod registry;
mod replica;
mod rls;
mod run;
pub(crate) mod tx;
mod unnamed;

use builder::millis;
pub use builder::DbBuilder;
use connection::Pool;
pub(crate) use connection::{Connection, Object};
pub(crate) use registry::resolve;
pub use registry::{connect, current, database, register, scope, set_default};
pub(crate) use replica::Route;
pub use replica::{read_your_writes, NodeStats, ReplicaStats};
pub(crate) use run::{log, timer, InFlight, NO_VALUES};
use tx::TxState;
pub use unnamed::StatementMode;

/// A database: a pool of connections to one PostgreSQL database.
///
/// Cheap to clone (clones share the pool). Build one with [`Db::connect`] or
/// [`Db::builder`], make it the default with [`connect`], or route a block
/// of code to it with [`scope`].
#[derive(Clone)]
pub struct Db {
    inner: Arc<DbInner>,
    /// Set for the `Db` of an open transaction: every query uses its connection.
    tx: Option<Arc<TxState>>,
    /// Set for a `Db` pinned to one connection ([`Db::pinned`]).
    pinned: Option<Arc<Object>>,
    /// [`Db::timeout`], in milliseconds (as the server's `statement_timeout`).
    timeout: Option<NonZeroU32>,
    /// Where reads go when the database has replicas ([`Db::primary`],
    /// [`Db::replica`]).
    route: Route,
}

/// A connection for one statement: from the pool, or the transaction's.
///
/// A pooled connection is held through an `Arc` so that statements which
/// find the pool empty can share it: tokio-postgres pipelines the statements
/// of one client, so they go out without waiting for each other
/// ([`Db::client`]).
// Boxing the exclusive object would cost an allocation per stream; the
// large variant lives as long as one stream only.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Conn {
    /// A pool connection, possibly shared with other autocommit statements.
    Pooled(Arc<Object>),
    /// A pool connection no other statement uses (a stream's). Boxed: the
    /// pool's object is 288 bytes, and every statement's future holds a
    /// `Conn`, though this variant is the rare one.
    Exclusive(Box<Object>),
    /// The open transaction's connection.
    Tx(Arc<TxState>),
}

impl std::ops::Deref for Conn {
    type Target = Connection;
    fn deref(&self) -> &Self::Target {
        match self {
            Conn::Pooled(object) => object,
            Conn::Exclusive(object) => object,
            Conn::Tx(tx) => tx.conn(),
        }
    }
}

struct DbInner {
    pool: Pool,
    queries: AtomicU64,
    /// Checkout without waiting (no timer is armed); see [`Db::client`].
    no_wait: Timeouts,
    /// Pool connections kept out for autocommit statements ([`Db::client`]);
    /// an exclusive checkout gives one back when the pool is empty.
    shared: Mutex<Vec<Arc<Object>>>,
    /// Checkouts waiting in the pool's queue: while there are any, a
    /// statement does not keep the connection it takes from the pool, so
    /// every connection returns to the queue after one statement.
    waiting: AtomicUsize,
    /// See [`DbBuilder::pipelining`].
    pipelining: bool,
    /// Where connections go, for errors (no password).
    target: Box<str>,
    /// The read replicas ([`DbBuilder::replica`]); `None` for most
    /// databases, whose statements never look further.
    replicas: Option<Arc<replica::ReplicaSet>>,
    /// Set in [`StatementMode::Unnamed`]: statements sent unnamed, with
    /// the parameter types described once per text.
    unnamed: Option<Box<unnamed::Unnamed>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.inner.pool.status();
        f.debug_struct("Db")
            .field("max_size", &status.max_size)
            .field("size", &status.size)
            .field("available", &status.available)
            .field("in_transaction", &self.tx.is_some())
            .field("timeout", &self.statement_limit())
            .finish()
    }
}

impl Db {
    /// How many statements this database has run (for tests and benchmarks
    /// that count queries).
    pub fn query_count(&self) -> u64 {
        self.inner.queries.load(Ordering::Relaxed)
    }

    /// Runs SQL text as is (several statements allowed, no parameters), e.g.
    /// DDL in tests and scripts. It holds its connection alone (no other
    /// statement is pipelined on it meanwhile). Only `&'static str` is accepted, so a value
    /// cannot be formatted into it by accident.
    ///
    /// Dropped before it finished (a timeout), the script is cancelled on
    /// the server and its connection closed, so whatever it left in its
    /// session (an open transaction, a lock) is undone, never handed to the
    /// next user of the pool.
    ///
    /// # Errors
    /// The database's error.
    pub async fn batch_execute(&self, sql: &'static str) -> Result<()> {
        self.batch_execute_dynamic(sql).await
    }

    pub(crate) async fn batch_execute_dynamic(&self, sql: &str) -> Result<()> {
        // Scripts may change session state or run long: not pipelined.
        let client = self.exclusive_client().await?;
        self.count();
        let started = timer();
        // `Connection::batch_execute`: dropped half-way, the connection is
        // closed (the script may have left anything in its session).
        let result = match self.statement_limit() {
            None => self.track(client.batch_execute(sql).await),
            Some(limit) => {
                let run = async { self.track(client.batch_execute(sql).await) };
                Box::pin(self.limited(&client, limit, run)).await
            }
        };
        log(sql, started, NO_VALUES);
        if result.is_ok() {
            self.note_write().await;
        }
        result
    }

    /// This database with every statement limited to `limit` (rounded up to
    /// whole milliseconds; `Duration::ZERO` lifts the limit): past it, a
    /// cancel request stops the statement on the server and it fails as a
    /// server `statement_timeout` does, with SQLSTATE 57014
    /// (`query_canceled`) in an [`Error::Database`](crate::Error::Database). For one query, run it
    /// on the returned handle: `User::all().using(&db.timeout(d))`, or
    /// `orm_core::scope(&db.timeout(d), ..)` for a block of calls.
    ///
    /// A limited statement holds its connection alone (a cancel request
    /// stops whatever the connection runs, so nothing is pipelined behind
    /// it). Inside a transaction (`tx.timeout(d)`), the cancelled statement
    /// aborts the transaction, as any failed statement does. Streams and
    /// `bulk_create`'s `COPY` are not limited; the server's
    /// [`statement_timeout`](DbBuilder::statement_timeout) covers them.
    pub fn timeout(&self, limit: Duration) -> Db {
        let mut db = self.clone();
        db.timeout = NonZeroU32::new(millis(limit));
        db
    }

    /// Whether [`Db::timeout`] limits this handle's statements: each then
    /// holds a connection of its own, so none is pipelined.
    pub(crate) fn is_limited(&self) -> bool {
        self.timeout.is_some()
    }

    /// [`Db::timeout`]'s limit, if any.
    fn statement_limit(&self) -> Option<Duration> {
        self.timeout
            .map(|ms| Duration::from_millis(u64::from(ms.get())))
    }

    /// The open transaction this `Db` runs in, if any.
    pub(crate) fn tx(&self) -> Option<&TxState> {
        self.tx.as_deref()
    }

    /// True when this is the `Db` of an open transaction.
    pub fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }

    pub(crate) fn with_tx(&self, tx: Arc<TxState>) -> Db {
        Db {
            inner: self.inner.clone(),
            tx: Some(tx),
            pinned: None,
            timeout: self.timeout,
            route: self.route,
        }
    }

    /// This database with every statement on one connection: the
    /// transaction's, or one taken now and held until the returned `Db` is
    /// dropped. Statements awaited together on it are pipelined (sent back
    /// to back, answered in order) instead of each taking a connection.
    pub(crate) async fn pinned(&self) -> Result<Db> {
        if self.tx.is_some() || self.pinned.is_some() {
            return Ok(self.clone());
        }
        // A pinned handle's statements are reads (a prefetch's): on a
        // database with replicas, on the node a read would use (the next
        // one when a replica refuses the connection).
        let mut nodes = self.reads();
        let (this, client) = loop {
            let (node, db) = nodes.next();
            match db.client().await {
                Err(e) if nodes.retry(node, &e) => {}
                client => {
                    nodes.served(node);
                    break (db, client?);
                }
            }
        };
        let conn = match client {
            Conn::Pooled(object) => object,
            Conn::Exclusive(object) => Arc::new(*object),
            Conn::Tx(_) => return Ok(this.clone()),
        };
        Ok(Db {
            inner: this.inner.clone(),
            tx: None,
            pinned: Some(conn),
            timeout: this.timeout,
            route: this.route,
        })
    }

    /// A failed statement inside a transaction makes PostgreSQL roll it
    /// back at COMMIT; remember it, so the commit can say so.
    pub(crate) fn track<T>(
        &self,
        result: std::result::Result<T, tokio_postgres::Error>,
    ) -> Result<T> {
        if result.is_err() {
            if let Some(tx) = self.tx() {
                tx.mark_failed();
            }
        }
        Ok(result?)
    }
}
