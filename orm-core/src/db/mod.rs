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

use std::future::Future;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use deadpool::managed::{TimeoutType, Timeouts};
use deadpool::Runtime;
use futures_util::future::Either;
use futures_util::TryStreamExt;
use postgres_types::{BorrowToSql, ToSql};
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row, Statement};

use crate::error::{Error, Param, Result};
use crate::value::Value;

mod connection;
pub(crate) mod tx;

pub(crate) use connection::{Connection, Object};
use connection::{Manager, Pool, PoolError};
use tx::TxState;

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

/// Options for a [`Db`]'s pool; start with [`Db::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct DbBuilder {
    source: Source,
    max_size: usize,
    wait_timeout: Duration,
    connect_timeout: Duration,
    pipelining: bool,
    statement_cache_capacity: usize,
    statement_timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
enum Source {
    Url(String),
    Config(Box<tokio_postgres::Config>),
}

impl DbBuilder {
    /// The most connections the pool opens (default 16).
    pub fn max_size(mut self, n: usize) -> Self {
        self.max_size = n.max(1);
        self
    }

    /// How long a query waits for a free connection before failing with
    /// [`Error::PoolTimeout`] (default 30 s).
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// Whether statements outside transactions may share a connection when
    /// the pool has none free (default `true`).
    ///
    /// With pipelining, a statement that finds every connection busy is
    /// sent on the least shared connection that other autocommit statements
    /// hold, right behind their statements, instead of waiting for a
    /// connection to come back: `tokio::join!` of two queries, or many tasks
    /// on a small pool, keep the connections busy without round trips in
    /// between. Transactions, streams and [`Db::batch_execute`] always hold
    /// their connection alone. The price is that a statement may queue
    /// behind a slow one on its connection; [`wait_timeout`](Self::wait_timeout)
    /// then applies only when every connection is held alone. `false` gives
    /// each statement a connection of its own, waiting for one if need be.
    pub fn pipelining(mut self, on: bool) -> Self {
        self.pipelining = on;
        self
    }

    /// How many prepared statements each connection keeps (default 512,
    /// at least 1).
    ///
    /// Every statement is prepared once per connection and reused; each one
    /// kept also holds memory in the server. When a connection's cache is
    /// full, the statements not used since it was last full are closed
    /// (one-off texts go first), so texts that vary without bound (a
    /// `LIMIT` from user input, SQL built at run time) cannot grow it.
    pub fn statement_cache_capacity(mut self, n: usize) -> Self {
        self.statement_cache_capacity = n.max(1);
        self
    }

    /// The server's `statement_timeout` on every connection of the pool
    /// (default: the server's setting): a statement running longer is
    /// cancelled by the server and fails with SQLSTATE 57014
    /// (`query_canceled`) in an [`Error::Database`]. Rounded up to whole
    /// milliseconds; `Duration::ZERO` turns it off. It is sent at connect as
    /// `-c statement_timeout=..`, after any `options` of the URL (the same
    /// setting can be given there: `?options=-c%20statement_timeout%3D5000`).
    /// It applies to every statement, migrations and scripts included; for
    /// some statements only, see [`Db::timeout`].
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = Some(timeout);
        self
    }

    /// How long opening a connection may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Builds the pool without opening a connection yet.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty URL, one tokio-postgres cannot parse,
    /// or one that names no host.
    pub fn build(self) -> Result<Db> {
        let mut config = match self.source {
            Source::Url(url) if url.trim().is_empty() => {
                return Err(Error::Config(format!(
                    "the database URL is empty; {URL_FORMS}"
                )))
            }
            // The parser's reason names an option or a position, never a value.
            Source::Url(url) => tokio_postgres::Config::from_str(&url).map_err(|e| {
                Error::Config(format!(
                    "cannot parse database URL: {}",
                    crate::error::describe(&e)
                ))
            })?,
            Source::Config(config) => *config,
        };
        // tokio-postgres has no default host (libpq's is the socket):
        // without one every connection would fail with "host missing".
        if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
            return Err(Error::Config(format!(
                "the database configuration names no host; {URL_FORMS}"
            )));
        }
        let target = crate::error::describe_target(&config).into_boxed_str();
        if let Some(timeout) = self.statement_timeout {
            set_statement_timeout(&mut config, timeout);
        }
        // No per-checkout ping: a broken connection fails its query and is
        // dropped, which costs less than a round trip on every checkout.
        let manager = Manager {
            config,
            statement_capacity: self.statement_cache_capacity,
        };
        let pool = Pool::builder(manager)
            .max_size(self.max_size)
            .wait_timeout(Some(self.wait_timeout))
            .create_timeout(Some(self.connect_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
        Ok(Db {
            tx: None,
            pinned: None,
            timeout: None,
            inner: Arc::new(DbInner {
                pool,
                queries: AtomicU64::new(0),
                shared: Mutex::new(Vec::new()),
                waiting: AtomicUsize::new(0),
                pipelining: self.pipelining,
                target,
                no_wait: Timeouts {
                    wait: Some(Duration::ZERO),
                    create: Some(self.connect_timeout),
                    recycle: None,
                },
            }),
        })
    }

    /// Builds the pool and opens one connection to check the URL.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad URL, [`Error::Connect`] (with the
    /// server's or the system's reason) when no connection can be opened.
    pub async fn connect(self) -> Result<Db> {
        let db = self.build()?;
        drop(db.checkout().await?);
        Ok(db)
    }
}

/// The accepted URL forms, for configuration errors.
const URL_FORMS: &str = "expected `postgres://user:password@host:port/dbname`, \
                         or `postgres://user@/dbname?host=/socket/dir` for a Unix socket";

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

impl Db {
    /// Options for a pool on `url` (`postgres://user:password@host:port/dbname`,
    /// or `postgres://user@/dbname?host=/socket/dir` for a Unix socket).
    pub fn builder(url: impl Into<String>) -> DbBuilder {
        Self::with_source(Source::Url(url.into()))
    }

    /// Options for a pool on an already built tokio-postgres configuration.
    pub fn builder_from_config(config: tokio_postgres::Config) -> DbBuilder {
        Self::with_source(Source::Config(Box::new(config)))
    }

    fn with_source(source: Source) -> DbBuilder {
        DbBuilder {
            source,
            max_size: 16,
            wait_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            pipelining: true,
            statement_cache_capacity: 512,
            statement_timeout: None,
        }
    }

    /// A pool with the default options, checked by opening one connection.
    ///
    /// # Errors
    /// As [`DbBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Db> {
        Db::builder(url).connect().await
    }

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
        result
    }

    /// This database with every statement limited to `limit` (rounded up to
    /// whole milliseconds; `Duration::ZERO` lifts the limit): past it, a
    /// cancel request stops the statement on the server and it fails as a
    /// server `statement_timeout` does, with SQLSTATE 57014
    /// (`query_canceled`) in an [`Error::Database`]. For one query, run it
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
        let conn = match self.client().await? {
            Conn::Pooled(object) => object,
            Conn::Exclusive(object) => Arc::new(*object),
            Conn::Tx(_) => return Ok(self.clone()),
        };
        Ok(Db {
            inner: self.inner.clone(),
            tx: None,
            pinned: Some(conn),
            timeout: self.timeout,
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

    /// The connection for one statement: the transaction's, else the pool's.
    ///
    /// Statements outside transactions use connections the `Db` keeps out of
    /// the pool for them, in this order: one no statement is using; a new
    /// one from the pool while it has any free; else the least busy one,
    /// shared. tokio-postgres pipelines the statements of one client, so 64
    /// tasks on a pool of one connection send their queries back to back
    /// instead of taking turns, and a statement skips the pool's checkout
    /// and return. Only when every connection is held alone (transactions,
    /// streams) does a statement wait for the pool.
    ///
    /// A statement holds its connection for itself only, never across user
    /// code, so sharing cannot deadlock.
    ///
    /// [`client_now_or_later!`], the one way a statement takes its
    /// connection; the `async fn`s on the paths every query takes
    /// ([`for_each_row`](Db::for_each_row), `execute_iter`) use the macro
    /// inline instead, so no future is even made for an idle kept
    /// connection.
    pub(crate) async fn client(&self) -> Result<Conn> {
        Ok(client_now_or_later!(self))
    }

    /// [`client`](Db::client) when [`client_now`](Db::client_now) found
    /// none: a checkout, or a busy kept connection to share.
    async fn client_later(&self) -> Result<Conn> {
        if !self.inner.pipelining {
            return Ok(Conn::Exclusive(Box::new(Box::pin(self.checkout()).await?)));
        }
        if !self.pool_has_free() {
            // Under load (every kept connection busy, the pool empty), share
            // at once rather than try a checkout per statement.
            if let Some(busy) = self.pick_shared(false) {
                return Ok(Conn::Pooled(busy));
            }
        }
        // The pool's futures are large (1.6 KB); boxed, this rarely taken
        // path does not grow every statement's future by their size.
        let object = match Box::pin(self.try_checkout()).await? {
            Some(object) => object,
            None => match self.pick_shared(false) {
                Some(busy) => return Ok(Conn::Pooled(busy)),
                None => {
                    let _waiting = Waiting::new(&self.inner.waiting);
                    Box::pin(self.wait_checkout()).await?
                }
            },
        };
        if self.inner.waiting.load(Ordering::Acquire) > 0 {
            // Others wait in the pool's queue (a transaction, a stream, or
            // statements that found every connection held alone): use this
            // connection once and let it go back to them.
            return Ok(Conn::Exclusive(Box::new(object)));
        }
        let object = Arc::new(object);
        self.shared().push(object.clone());
        Ok(Conn::Pooled(object))
    }

    /// The connection [`client`](Db::client) picks when it needs no
    /// checkout: the transaction's, the pinned one ([`Db::pinned`]), or a
    /// kept one no statement is using.
    /// Callers on hot paths try this first and box [`client_later`](Db::client_later)'s future
    /// only when it is `None`.
    fn client_now(&self) -> Result<Option<Conn>> {
        if let Some(tx) = &self.tx {
            tx.check_active()?;
            return Ok(Some(Conn::Tx(tx.clone())));
        }
        if let Some(conn) = &self.pinned {
            return Ok(Some(Conn::Pooled(conn.clone())));
        }
        if !self.inner.pipelining {
            return Ok(None);
        }
        Ok(self.pick_shared(true).map(Conn::Pooled))
    }

    /// Whether the pool has an idle connection or room to open one.
    fn pool_has_free(&self) -> bool {
        let status = self.inner.pool.status();
        status.available > 0 || status.size < status.max_size
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Object>>> {
        self.inner.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A kept connection no statement is using (`idle`), else the least
    /// busy one. Closed connections are dropped from the list here, so the
    /// pool discards them.
    fn pick_shared(&self, idle: bool) -> Option<Arc<Object>> {
        let mut shared = self.shared();
        if shared.iter().any(|object| object.is_closed()) {
            shared.retain(|object| !object.is_closed());
        }
        let found = if idle {
            shared.iter().find(|object| Arc::strong_count(object) == 1)
        } else {
            shared.iter().min_by_key(|object| Arc::strong_count(object))
        };
        found.cloned()
    }

    /// A connection no other statement will share, for a stream: its rows
    /// arrive while user code runs, and a statement pipelined behind them
    /// would wait for the stream to end.
    pub(crate) async fn exclusive_client(&self) -> Result<Conn> {
        match &self.tx {
            Some(tx) => {
                tx.check_active()?;
                Ok(Conn::Tx(tx.clone()))
            }
            None => Ok(Conn::Exclusive(Box::new(self.checkout().await?))),
        }
    }

    /// A connection from the pool, held alone. A free one is taken without
    /// arming the wait timer. When none is free, a connection kept for
    /// autocommit statements is given back (the least busy one: it returns
    /// to the pool when its statements end), and the checkout waits up to
    /// the pool's wait timeout.
    pub(crate) async fn checkout(&self) -> Result<Object> {
        if let Some(object) = self.try_checkout().await? {
            return Ok(object);
        }
        // From here until this checkout gets its connection, statements
        // return what they take from the pool instead of keeping it, so the
        // connection given back below cannot be kept again by another.
        let _waiting = Waiting::new(&self.inner.waiting);
        let released = {
            let mut shared = self.shared();
            let least_busy = (0..shared.len()).min_by_key(|&i| Arc::strong_count(&shared[i]));
            least_busy.map(|i| shared.swap_remove(i))
        };
        drop(released);
        self.wait_checkout().await
    }

    /// A free pool connection (opening one if the pool may grow), or `None`
    /// when every connection is in use.
    async fn try_checkout(&self) -> Result<Option<Object>> {
        match self.inner.pool.timeout_get(&self.inner.no_wait).await {
            Ok(object) => Ok(Some(object)),
            Err(PoolError::Timeout(TimeoutType::Wait)) => Ok(None),
            Err(e) => Err(self.pool_error(e)),
        }
    }

    /// Waits for a pool connection, up to the pool's wait timeout.
    async fn wait_checkout(&self) -> Result<Object> {
        self.inner.pool.get().await.map_err(|e| self.pool_error(e))
    }

    fn pool_error(&self, e: PoolError) -> Error {
        match e {
            PoolError::Timeout(TimeoutType::Wait) => Error::PoolTimeout(format!(
                "Wait timeout; all {} connections are in use",
                self.inner.pool.status().max_size
            )),
            // Opening a connection failed or timed out: say where it went.
            other => Error::Connect(Box::new(crate::error::ConnectError::new(
                &self.inner.target,
                other,
            ))),
        }
    }

    /// Runs a `SELECT` and decodes each row with `decode` as it arrives
    /// (no intermediate `Vec<Row>`); `M::from_row` decodes by column
    /// position.
    pub(crate) async fn load_with<T, I>(
        &self,
        sql: &str,
        params: I,
        mut decode: impl FnMut(&Row) -> Result<T> + Send,
    ) -> Result<Vec<T>>
    where
        T: Send,
        I: IntoIterator + Clone,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        let mut out = Vec::new();
        self.for_each_row(sql, params, NO_VALUES, |row| {
            out.push(decode(&row)?);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Runs a statement and hands each row to `each` as it arrives;
    /// `shown` are the values logged at trace level.
    ///
    /// The one `async fn` between a query and tokio-postgres on the paths
    /// that run most (get, fetch): every layer of `async fn` in between
    /// moves the statement's whole future (1 KB of tokio-postgres's own)
    /// once more when it starts.
    ///
    /// Dropped before the last row arrived, it cancels the statement
    /// ([`abandon`](Db::abandon)); a stale cached statement is prepared
    /// again ([`rows_again`](Db::rows_again)). Both off the success path,
    /// which allocates nothing and makes no extra future.
    pub(crate) async fn for_each_row<I, P>(
        &self,
        sql: &str,
        params: I,
        shown: &[P],
        mut each: impl FnMut(Row) -> Result<()> + Send,
    ) -> Result<()>
    where
        P: Param + Sync,
        I: IntoIterator + Clone,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        if let Some(limit) = self.statement_limit() {
            return Box::pin(self.limited_rows(limit, sql, params, shown, each)).await;
        }
        let client = client_now_or_later!(self);
        let prepared = self.track(client.prepare(sql).await)?;
        self.count();
        let started = timer();
        let flight = InFlight(self, &client);
        let rows = if binds_array(&prepared) {
            // Boxed: rare, and its future would grow every statement's.
            Either::Right(Box::pin(
                client.query_typed_raw(
                    sql,
                    params
                        .clone()
                        .into_iter()
                        .zip(prepared.params().iter().cloned()),
                ),
            ))
        } else {
            Either::Left(client.query_raw(&prepared, params.clone()))
        };
        let result = match rows.await {
            Ok(rows) => {
                futures_util::pin_mut!(rows);
                loop {
                    match rows.try_next().await {
                        Ok(Some(row)) => {
                            if let Err(e) = each(row) {
                                // The rest of the rows are read and dropped
                                // by the connection: nothing to cancel.
                                std::mem::forget(flight);
                                return Err(e);
                            }
                        }
                        Ok(None) => break Ok(()),
                        Err(e) => break Err(e),
                    }
                }
            }
            Err(e) if is_stale(&e) => {
                let again = self.rows_again(&client, &prepared, e, sql, params, &mut each);
                let result = Box::pin(again).await;
                std::mem::forget(flight);
                log(sql, started, shown);
                return result;
            }
            Err(e) => Err(e),
        };
        std::mem::forget(flight);
        // Logged failed or not, as `execute` does.
        log(sql, started, shown);
        self.track(result)
            .map_err(|e| e.in_statement(&prepared, sql, shown))
    }

    /// The statement of [`for_each_row`](Db::for_each_row) after the server
    /// refused its cached statement `stale` (no row was sent, nothing ran):
    /// prepared again and retried once, or inside a transaction (which the
    /// error aborted) the error that says so.
    #[inline(never)]
    async fn rows_again<I>(
        &self,
        conn: &Conn,
        stale: &Statement,
        err: tokio_postgres::Error,
        sql: &str,
        params: I,
        each: &mut (impl FnMut(Row) -> Result<()> + Send),
    ) -> Result<()>
    where
        I: IntoIterator,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        self.re_prepare(conn, stale, err, sql)?;
        let prepared = self.track(conn.prepare(sql).await)?;
        let rows = self.track(conn.query_raw(&prepared, params).await)?;
        futures_util::pin_mut!(rows);
        while let Some(row) = self.track(rows.try_next().await)? {
            each(row)?;
        }
        Ok(())
    }

    /// Drops `stale` from `conn`'s cache; inside a transaction, marks it
    /// failed and returns the error to report instead of a retry.
    fn re_prepare(
        &self,
        conn: &Conn,
        stale: &Statement,
        err: tokio_postgres::Error,
        sql: &str,
    ) -> Result<()> {
        conn.forget(sql, stale);
        tracing::debug!(target: "orm_core::sql", sql, "prepared again: {err}");
        let Some(tx) = self.tx() else {
            return Ok(());
        };
        tx.mark_failed();
        let why = if err.code() == Some(&SqlState::INVALID_SQL_STATEMENT_NAME) {
            "a prepared statement it used was dropped on the server (DISCARD ALL or DEALLOCATE)"
        } else {
            "a statement's cached plan was invalidated by a schema change of a table it reads"
        };
        Err(Error::Transaction(format!(
            "the transaction is aborted: {why} ({}); the statement is prepared again on its \
             next use, so retry the transaction",
            err.as_db_error().map_or("", |e| e.message())
        )))
    }

    /// [`for_each_row`](Db::for_each_row) under [`Db::timeout`]'s limit.
    async fn limited_rows<I, P>(
        &self,
        limit: Duration,
        sql: &str,
        params: I,
        shown: &[P],
        mut each: impl FnMut(Row) -> Result<()> + Send,
    ) -> Result<()>
    where
        P: Param + Sync,
        I: IntoIterator + Clone,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        let client = self.exclusive_client().await?;
        let run = async {
            let prepared = self.track(client.prepare(sql).await)?;
            self.count();
            let started = timer();
            let result = match client.query_raw(&prepared, params.clone()).await {
                Ok(rows) => {
                    futures_util::pin_mut!(rows);
                    let mut result = Ok(());
                    while let Some(row) = self.track(rows.try_next().await)? {
                        if let Err(e) = each(row) {
                            result = Err(e);
                            break;
                        }
                    }
                    result
                }
                Err(e) if is_stale(&e) => {
                    self.rows_again(&client, &prepared, e, sql, params, &mut each)
                        .await
                }
                Err(e) => self.track(Err(e)),
            };
            log(sql, started, shown);
            result
        };
        self.limited(&client, limit, run).await
    }

    /// Runs `run` (statements on `conn`, held alone) for at most `limit`;
    /// past it, sends a cancel request and waits for the statement's answer,
    /// which is then SQLSTATE 57014 unless it finished first. A connection
    /// that may still receive the cancel request (the statement answered
    /// otherwise) is closed, and the future dropped half-way cancels as any
    /// statement does.
    async fn limited<T>(
        &self,
        conn: &Conn,
        limit: Duration,
        run: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let flight = InFlight(self, conn);
        futures_util::pin_mut!(run);
        let result = match tokio::time::timeout(limit, run.as_mut()).await {
            Ok(result) => result,
            Err(_) => match conn.cancel_token().cancel_query(NoTls).await {
                // `flight` cancels and closes it another way.
                Err(e) => return Err(Error::Database(e)),
                Ok(()) => {
                    let result = run.await;
                    if !matches!(&result, Err(e) if e.is_query_canceled()) {
                        self.abandon(conn);
                    }
                    result
                }
            },
        };
        std::mem::forget(flight);
        result
    }

    pub(crate) fn count(&self) {
        self.inner.queries.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs a statement and returns its rows. The statement is prepared once
    /// per connection and reused ([`Connection::prepare`]).
    pub(crate) fn query<'a>(
        &'a self,
        sql: &'a str,
        binds: &'a [Value],
    ) -> impl Future<Output = Result<Vec<Row>>> + Send + 'a {
        self.collect_rows(sql, binds.iter(), binds)
    }

    /// [`query`](Db::query) with parameters as tokio-postgres takes them.
    pub(crate) fn query_params<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [&'a (dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>>> + Send + 'a {
        self.collect_rows(sql, params.iter().copied(), params)
    }

    /// [`for_each_row`](Db::for_each_row) with parameters as tokio-postgres
    /// takes them (logged as they are).
    pub(crate) fn for_each_row_params<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [&'a (dyn ToSql + Sync)],
        each: impl FnMut(Row) -> Result<()> + Send + 'a,
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        self.for_each_row(sql, params.iter().copied(), params, each)
    }

    async fn collect_rows<I, P>(&self, sql: &str, params: I, shown: &[P]) -> Result<Vec<Row>>
    where
        P: Param + Sync,
        I: IntoIterator + Clone,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        let mut rows = Vec::new();
        self.for_each_row(sql, params, shown, |row| {
            rows.push(row);
            Ok(())
        })
        .await?;
        Ok(rows)
    }

    /// Runs a statement and returns the number of rows it affected.
    pub(crate) fn execute<'a>(
        &'a self,
        sql: &'a str,
        binds: &'a [Value],
    ) -> impl Future<Output = Result<u64>> + Send + 'a {
        self.execute_iter(sql, binds.iter(), binds)
    }

    /// [`execute`](Db::execute) with parameters as tokio-postgres takes them.
    pub(crate) fn execute_params<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [&'a (dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64>> + Send + 'a {
        self.execute_iter(sql, params.iter().copied(), params)
    }

    /// Runs a statement binding `params` (logged as `shown`) and returns
    /// the number of rows it affected.
    /// As [`for_each_row`](Db::for_each_row) does, it cancels when dropped
    /// and prepares a stale statement again.
    async fn execute_iter<I, P>(&self, sql: &str, params: I, shown: &[P]) -> Result<u64>
    where
        P: Param + Sync,
        I: IntoIterator + Clone,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        if let Some(limit) = self.statement_limit() {
            return Box::pin(self.limited_execute(limit, sql, params, shown)).await;
        }
        let client = client_now_or_later!(self);
        let prepared = self.track(client.prepare(sql).await)?;
        self.count();
        let started = timer();
        let flight = InFlight(self, &client);
        let sent = if binds_array(&prepared) {
            Box::pin(execute_unnamed(&client, sql, &prepared, params.clone())).await
        } else {
            client.execute_raw(&prepared, params.clone()).await
        };
        let result = match sent {
            Err(e) if is_stale(&e) => {
                let again = self.execute_again(&client, &prepared, e, sql, params);
                Box::pin(again).await
            }
            result => self.track(result),
        };
        std::mem::forget(flight);
        log(sql, started, shown);
        result.map_err(|e| e.in_statement(&prepared, sql, shown))
    }

    /// [`execute_iter`](Db::execute_iter) under [`Db::timeout`]'s limit.
    async fn limited_execute<I, P>(
        &self,
        limit: Duration,
        sql: &str,
        params: I,
        shown: &[P],
    ) -> Result<u64>
    where
        P: Param + Sync,
        I: IntoIterator + Clone,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        let client = self.exclusive_client().await?;
        let run = async {
            let prepared = self.track(client.prepare(sql).await)?;
            self.count();
            let started = timer();
            let result = match client.execute_raw(&prepared, params.clone()).await {
                Err(e) if is_stale(&e) => {
                    self.execute_again(&client, &prepared, e, sql, params).await
                }
                result => self.track(result),
            };
            log(sql, started, shown);
            result
        };
        self.limited(&client, limit, run).await
    }

    /// As [`rows_again`](Db::rows_again), for [`execute_iter`](Db::execute_iter).
    #[inline(never)]
    async fn execute_again<I>(
        &self,
        conn: &Conn,
        stale: &Statement,
        err: tokio_postgres::Error,
        sql: &str,
        params: I,
    ) -> Result<u64>
    where
        I: IntoIterator,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        self.re_prepare(conn, stale, err, sql)?;
        let prepared = self.track(conn.prepare(sql).await)?;
        self.track(conn.execute_raw(&prepared, params).await)
    }

    /// `sql` prepared on `conn` and started, counted: its rows, read by the
    /// caller (a stream). A stale cached statement is prepared again, as in
    /// [`for_each_row`](Db::for_each_row).
    pub(crate) async fn start_rows<I>(
        &self,
        conn: &Conn,
        sql: &str,
        params: I,
    ) -> Result<tokio_postgres::RowStream>
    where
        I: IntoIterator + Clone,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        let prepared = self.track(conn.prepare(sql).await)?;
        self.count();
        match conn.query_raw(&prepared, params.clone()).await {
            Err(e) if is_stale(&e) => {
                self.re_prepare(conn, &prepared, e, sql)?;
                let prepared = self.track(conn.prepare(sql).await)?;
                self.track(conn.query_raw(&prepared, params).await)
            }
            result => self.track(result),
        }
    }

    /// The `COPY .. FROM STDIN` statement `sql` prepared on `conn` and
    /// started: the sink for its rows.
    ///
    /// When the server refuses the start (26000 for a statement dropped by
    /// `DISCARD ALL`), tokio-postgres (0.7) loses track of which answer is
    /// whose on the connection: the next statement would read this one's
    /// `ReadyForQuery` as its own result. So the connection is
    /// [killed](Connection::kill), never reused, and a stale statement is
    /// also dropped from the cache; the error is returned (the caller's
    /// next `COPY` runs on another connection).
    pub(crate) async fn start_copy_in(
        &self,
        conn: &Conn,
        sql: &str,
    ) -> Result<tokio_postgres::CopyInSink<bytes::Bytes>> {
        let prepared = self.track(conn.prepare(sql).await)?;
        match conn.copy_in(&prepared).await {
            Ok(sink) => Ok(sink),
            Err(e) => {
                if is_stale(&e) {
                    conn.forget(sql, &prepared);
                }
                conn.kill();
                self.track(Err(e))
            }
        }
    }

    /// A statement on `conn` was dropped before its answer arrived: stops
    /// it without touching any other statement.
    ///
    /// - Held alone (a stream's, a limited statement's, or a shared
    ///   connection no other statement uses; taken out of the shared list
    ///   first, under its lock, so none can join): the connection is
    ///   [killed](Connection::kill): closed, and the statement cancelled.
    /// - Shared with statements still running: they must not be cancelled,
    ///   and the dropped one may run before them in the pipeline. The
    ///   connection leaves the shared list (no new statement queues behind
    ///   it) and is [retired](Connection::retire): the pool kills it when it
    ///   comes back, once all of them ended.
    /// - A transaction's: marked failed (its commit reports it) and killed;
    ///   a statement pipelined in the same transaction fails with it.
    #[cold]
    #[inline(never)]
    pub(crate) fn abandon(&self, conn: &Conn) {
        match conn {
            Conn::Tx(tx) => {
                tx.mark_failed();
                tx.conn().kill();
            }
            Conn::Exclusive(object) => object.kill(),
            Conn::Pooled(object) => {
                let alone = {
                    let mut shared = self.shared();
                    let listed = shared.iter().position(|o| Arc::ptr_eq(o, object));
                    // A pinned handle's own (`self` is the pinned `Db` of
                    // the statements it runs, as a pipelined prefetch's).
                    let pinned = self.pinned.as_ref().is_some_and(|p| Arc::ptr_eq(p, object));
                    // This statement's reference, the list's and the pin's.
                    let alone = Arc::strong_count(object)
                        == 1 + usize::from(listed.is_some()) + usize::from(pinned);
                    if let Some(i) = listed {
                        shared.swap_remove(i);
                    }
                    alone
                };
                if alone {
                    object.kill();
                } else {
                    object.retire();
                }
            }
        }
    }

    /// A connection held alone across statements that leave state in its
    /// session (a transaction opened by hand, a session advisory lock): see
    /// [`Session`].
    pub(crate) async fn session(&self) -> Result<Session> {
        Ok(Session(Some(self.checkout().await?)))
    }
}

/// A pool connection held across statements whose session state must not
/// reach another user: dropped before [`release`](Session::release) (an
/// error in between, a panic, a dropped future), the connection is taken
/// out of the pool and [killed](Connection::kill), so the server rolls back
/// its transaction and releases its session locks; as `TxState` does for
/// transactions.
pub(crate) struct Session(Option<Object>);

impl Session {
    /// Gives the connection back to the pool: only once its session is
    /// clean again (committed or rolled back, locks released).
    pub(crate) fn release(mut self) {
        drop(self.0.take());
    }
}

impl std::ops::Deref for Session {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.0
            .as_ref()
            .expect("a session holds its connection until released")
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(object) = self.0.take() {
            Object::take(object).kill();
        }
    }
}

/// Guards a statement in flight on a connection: dropped, it
/// [abandons](Db::abandon) the statement; `std::mem::forget` once the
/// answer arrived (no flag to keep, no cost on the success path).
pub(crate) struct InFlight<'a>(pub(crate) &'a Db, pub(crate) &'a Conn);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.abandon(self.1);
    }
}

/// Whether the server refused a cached statement that preparing again
/// fixes: its plan's result type changed under a schema change (0A000
/// with that message; other 0A000 errors are not about the statement), or
/// it no longer exists (26000, `DISCARD ALL` / `DEALLOCATE`).
fn is_stale(err: &tokio_postgres::Error) -> bool {
    match err.code() {
        Some(code) if *code == SqlState::INVALID_SQL_STATEMENT_NAME => true,
        Some(code) if *code == SqlState::FEATURE_NOT_SUPPORTED => {
            err.as_db_error().is_some_and(|e| {
                e.message()
                    .contains("cached plan must not change result type")
            })
        }
        _ => false,
    }
}

/// Adds `-c statement_timeout=<ms>` to the startup options of `config`,
/// after the ones it has (the URL's `options`), so this one wins.
fn set_statement_timeout(config: &mut tokio_postgres::Config, timeout: Duration) {
    let setting = format!("-c statement_timeout={}", millis(timeout));
    let options = match config.get_options() {
        Some(given) if !given.trim().is_empty() => format!("{given} {setting}"),
        _ => setting,
    };
    config.options(options);
}

/// `duration` in whole milliseconds, rounded up, as `statement_timeout`
/// takes it (saturating).
fn millis(duration: Duration) -> u32 {
    u32::try_from(duration.as_nanos().div_ceil(1_000_000)).unwrap_or(u32::MAX)
}

/// Whether `statement` binds an array (`= ANY($1)` of an `__in` list or a
/// prefetch's keys, `UNNEST($1)` of a bulk insert). Such a statement is
/// sent unnamed with the kept statement's parameter types (one round trip,
/// as a kept one), so PostgreSQL plans it for the array it gets, every
/// time. Kept and run as a prepared statement, it would get a generic plan
/// after five runs, in which `= ANY($1)` is tested element by element for
/// every row where a custom plan hashes the array: on a column without an
/// index, 1.9 s instead of 45 ms for 10,000 keys over 100,000 rows
/// (EXPLAIN ANALYZE, PostgreSQL 15).
fn binds_array(statement: &tokio_postgres::Statement) -> bool {
    statement
        .params()
        .iter()
        .any(|t| matches!(t.kind(), postgres_types::Kind::Array(_)))
}

/// Runs `sql` unnamed ([`binds_array`]) with `prepared`'s parameter types;
/// the number of rows it affected.
async fn execute_unnamed<I>(
    client: &Connection,
    sql: &str,
    prepared: &tokio_postgres::Statement,
    params: I,
) -> std::result::Result<u64, tokio_postgres::Error>
where
    I: IntoIterator,
    I::Item: BorrowToSql,
{
    let typed = params.into_iter().zip(prepared.params().iter().cloned());
    let rows = client.query_typed_raw(sql, typed).await?;
    futures_util::pin_mut!(rows);
    while rows.try_next().await?.is_some() {}
    Ok(rows.rows_affected().unwrap_or(0))
}

/// Counts a checkout as waiting in the pool's queue while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// No values to log: scripts, `COPY`, and `load_with`'s statements.
pub(crate) const NO_VALUES: &[Value] = &[];

/// The start of a statement's timing, only when statements are logged:
/// reading the clock costs more than the rest of a short query's client work
/// on some virtual machines.
pub(crate) fn timer() -> Option<Instant> {
    tracing::enabled!(target: "orm_core::sql", tracing::Level::DEBUG).then(Instant::now)
}

/// Logs a statement and how long it took at `debug` level (target
/// `orm_core::sql`), with its parameters only at `trace` level.
pub(crate) fn log<P: std::fmt::Debug>(sql: &str, started: Option<Instant>, params: &[P]) {
    let Some(started) = started else {
        return;
    };
    let elapsed_us = started.elapsed().as_micros() as u64;
    if tracing::enabled!(target: "orm_core::sql", tracing::Level::TRACE) && !params.is_empty() {
        tracing::trace!(target: "orm_core::sql", elapsed_us, sql, params = ?params);
    } else {
        tracing::debug!(target: "orm_core::sql", elapsed_us, sql);
    }
}

static DEFAULT: RwLock<Option<Db>> = RwLock::new(None);

/// Databases registered by name ([`register`]).
static NAMED: RwLock<Vec<(String, Db)>> = RwLock::new(Vec::new());

/// Registers `db` under `name` (replacing an earlier one), for
/// `.using(&orm_core::database("analytics")?)` and for migrations
/// (`manage migrate --database analytics`).
///
/// ```no_run
/// # fn run() -> orm_core::Result<()> {
/// let analytics = orm_core::Db::builder("postgres://app@localhost/analytics").build()?;
/// orm_core::register("analytics", analytics);
/// let db = orm_core::database("analytics")?;
/// # Ok(()) }
/// ```
pub fn register(name: &str, db: Db) {
    let mut named = NAMED.write().unwrap_or_else(|e| e.into_inner());
    named.retain(|(n, _)| n != name);
    named.push((name.to_owned(), db));
}

/// The database registered as `name`.
///
/// # Errors
/// [`Error::Config`] naming the registered databases when there is none
/// called `name`.
pub fn database(name: &str) -> Result<Db> {
    let named = NAMED.read().unwrap_or_else(|e| e.into_inner());
    named
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, db)| db.clone())
        .ok_or_else(|| {
            let known: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
            Error::Config(format!(
                "no database is registered as `{name}` (registered: {}); call `orm_core::register(\"{name}\", db)` first",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ))
        })
}

tokio::task_local! {
    static CURRENT: Db;
}

/// Connects to `url` and makes it the global default database.
///
/// # Errors
/// As [`DbBuilder::connect`].
///
/// ```no_run
/// # async fn run() -> orm_core::Result<()> {
/// orm_core::connect("postgres://postgres@localhost/app").await?;
/// # Ok(()) }
/// ```
pub async fn connect(url: &str) -> Result<Db> {
    let db = Db::connect(url).await?;
    set_default(db.clone());
    Ok(db)
}

/// Makes `db` the global default database (replacing any earlier one).
pub fn set_default(db: Db) {
    *DEFAULT.write().unwrap_or_else(|e| e.into_inner()) = Some(db);
}

/// Runs `fut` with `db` as the database of every ORM call inside it that
/// has no explicit `.using(..)`, including calls in functions it calls.
/// Scopes nest; the innermost wins. Parallel tasks can each have their own.
///
/// The scope belongs to the future it wraps: a task started inside it with
/// `tokio::spawn` does not inherit it (wrap the spawned future in `scope`
/// too). The returned future owns a clone of `db`, so it can be spawned.
pub fn scope<F: Future>(db: &Db, fut: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(db.clone(), fut)
}

/// The database a query without `.using(..)` runs on: the innermost
/// [`scope`], else the global default.
///
/// # Errors
/// [`Error::NotConnected`] when there is neither.
pub fn current() -> Result<Db> {
    if let Ok(db) = CURRENT.try_with(Db::clone) {
        return Ok(db);
    }
    DEFAULT
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .ok_or(Error::NotConnected)
}

pub(crate) fn resolve(explicit: Option<&Db>) -> Result<Db> {
    match explicit {
        Some(db) => Ok(db.clone()),
        None => current(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_timeout_is_added_to_the_urls_options() {
        let options = |url: &str, timeout: Duration| {
            let mut config = tokio_postgres::Config::from_str(url).unwrap();
            set_statement_timeout(&mut config, timeout);
            config.get_options().map(str::to_owned)
        };
        assert_eq!(
            options("postgres://u@/db?host=/tmp", Duration::from_millis(200)).as_deref(),
            Some("-c statement_timeout=200")
        );
        assert_eq!(
            options(
                "postgres://u@/db?host=/tmp&options=-c%20lock_timeout%3D5",
                Duration::from_micros(1500)
            )
            .as_deref(),
            Some("-c lock_timeout=5 -c statement_timeout=2"),
            "kept, and rounded up to whole milliseconds"
        );
        assert_eq!(
            options("postgres://u@/db", Duration::ZERO).as_deref(),
            Some("-c statement_timeout=0"),
            "zero turns it off"
        );
    }

    #[test]
    fn a_handle_timeout_is_in_whole_milliseconds() {
        let db = Db::builder("postgres://u@/db?host=/nonexistent")
            .build()
            .unwrap();
        assert_eq!(db.statement_limit(), None);
        let limited = db.timeout(Duration::from_micros(2500));
        assert_eq!(limited.statement_limit(), Some(Duration::from_millis(3)));
        assert_eq!(limited.timeout(Duration::ZERO).statement_limit(), None);
        assert_eq!(
            db.timeout(Duration::from_secs(u64::MAX)).statement_limit(),
            Some(Duration::from_millis(u64::from(u32::MAX)))
        );
    }

    #[tokio::test]
    async fn no_database_says_how_to_connect() {
        // This test binary never sets a default database.
        let err = current().unwrap_err();
        assert!(matches!(err, Error::NotConnected));
        let message = err.to_string();
        assert!(message.contains("orm_core::connect("), "{message}");
        assert!(message.contains("scope"), "{message}");
        let inside = scope(
            &Db::builder("postgres://u@/db?host=/nonexistent")
                .build()
                .unwrap(),
            async { current().is_ok() },
        )
        .await;
        assert!(inside, "a scope provides the database");
    }
}
