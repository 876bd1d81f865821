//! Read replicas: a [`Db`] declared with hot standbys
//! ([`DbBuilder::replica`]) sends its reads to them and everything else to
//! the primary, with read-your-writes by WAL position
//! ([`read_your_writes`]), health checks and a retry of a read whose
//! replica went away.
//!
//! What is a read: a `SELECT` the ORM sends outside a transaction (query
//! sets, `get`, counts, `exists`, aggregates, `values`, prefetches,
//! streams and `iterator()`) and raw SQL run with
//! [`raw_read`](crate::raw::raw_read). Everything else goes to the
//! primary: statements that write (`INSERT`, `UPDATE`, `DELETE`, also with
//! `RETURNING`), every statement of a transaction block or of
//! [`Db::begin`] (so `select_for_update`, which needs one, and the cursor
//! of `iterator()` with `prefetch_related`), scripts
//! ([`Db::batch_execute`]), `COPY`, migrations,
//! `get_or_create`/`update_or_create`, and plain [`raw`](crate::raw::raw).
//!
//! A database without replicas never looks at any of this: its statements
//! test one `Option` and go on as before.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::future::join;
use postgres_types::BorrowToSql;
use tokio_postgres::Row;

use crate::error::{Error, Param, Result};

use super::builder::{DbBuilder, ReplicaOptions, Source};
use super::tx::TxState;
use super::{Db, NO_VALUES};

/// Where a handle's reads go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Reads to a replica that has every write of the current
    /// [`read_your_writes`] scope, else the primary.
    Auto,
    /// Everything to the primary ([`Db::primary`]).
    Primary,
    /// Reads to a replica, even one behind the scope's writes
    /// ([`Db::replica`]).
    Replica,
    /// The executor's own handle on the primary pool: no routing at all.
    Direct,
}

/// The default [`DbBuilder::max_replica_lag`].
const DEFAULT_MAX_LAG: Duration = Duration::from_secs(30);
/// The default [`DbBuilder::replica_retry`].
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// The default [`DbBuilder::replica_poll_interval`].
const DEFAULT_POLL: Duration = Duration::from_millis(100);
/// How often replicas are polled while reads wait for their replay.
const FAST_POLL: Duration = Duration::from_millis(1);
/// How long a health poll may take before the replica counts as down.
const POLL_TIMEOUT: Duration = Duration::from_secs(2);

/// The primary's WAL position once a write committed, in bytes. With
/// `synchronous_commit = off` the commit record may not be written out yet
/// when `COMMIT` returns, so the insert position (always past it) is taken;
/// otherwise the write position, which the commit's flush passed (the
/// insert position can point past a page header the replica never
/// "replays", so it would wait for the next write).
const WRITE_LSN: &str = "SELECT (CASE WHEN current_setting('synchronous_commit') = 'off' \
                         THEN pg_current_wal_insert_lsn() ELSE pg_current_wal_lsn() END \
                         - '0/0'::pg_lsn)::int8";

/// A replica's replayed WAL position (NULL when it is not in recovery) and
/// how far behind the primary its replay is, in seconds: zero when it has
/// replayed all it received, else the age of the last transaction replayed.
const REPLICA_STATE: &str = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::int8, \
     CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() \
     THEN 0 ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8";

impl ReplicaOptions {
    /// The replica set, or `None` without replicas. Each replica's pool has
    /// the primary's options.
    pub(super) fn build(&self, primary: &DbBuilder) -> Result<Option<Arc<ReplicaSet>>> {
        if self.sources.is_empty() {
            return Ok(None);
        }
        let mut nodes = Vec::with_capacity(self.sources.len());
        for (i, source) in self.sources.iter().enumerate() {
            let mut builder = primary.clone();
            builder.source = source.clone();
            builder.replicas = ReplicaOptions::default();
            let db = builder.build().map_err(|e| match e {
                Error::Config(reason) => Error::Config(format!("read replica {}: {reason}", i + 1)),
                e => e,
            })?;
            nodes.push(Node {
                db,
                replayed: AtomicU64::new(0),
                down: AtomicBool::new(false),
                lagging: AtomicBool::new(false),
                failures: AtomicU32::new(0),
                retry_at: Mutex::new(None),
                reads: AtomicU64::new(0),
            });
        }
        Ok(Some(Arc::new(ReplicaSet {
            nodes: nodes.into_boxed_slice(),
            next: AtomicUsize::new(0),
            max_lag: self.max_lag.unwrap_or(DEFAULT_MAX_LAG),
            retry: self.retry.unwrap_or(DEFAULT_RETRY),
            poll: self.poll.unwrap_or(DEFAULT_POLL),
            primary_reads: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            polling: AtomicBool::new(false),
            wanted: AtomicBool::new(false),
            wake: tokio::sync::Notify::new(),
        })))
    }
}

impl DbBuilder {
    /// Declares a read replica (a hot standby of this database) on `url`;
    /// call once per replica. Its pool takes this builder's options (size,
    /// timeouts, statement cache), as set when [`build`](Self::build) runs.
    ///
    /// Reads then go to a healthy replica (round-robin), everything else to
    /// the primary; see [`read_your_writes`] for reads that must see the
    /// task's own writes, and [`Db::primary`] / [`Db::replica`] to choose.
    ///
    /// ```no_run
    /// # async fn run() -> orm_core::Result<()> {
    /// use std::time::Duration;
    /// let db = orm_core::Db::builder("postgres://app@primary/app")
    ///     .replica("postgres://app@standby1/app")
    ///     .replica("postgres://app@standby2/app")
    ///     .max_replica_lag(Duration::from_secs(5))
    ///     .connect()
    ///     .await?;
    /// orm_core::set_default(db);
    /// # Ok(()) }
    /// ```
    pub fn replica(mut self, url: impl Into<String>) -> Self {
        self.replicas.sources.push(Source::Url(url.into()));
        self
    }

    /// As [`replica`](Self::replica), from a tokio-postgres configuration.
    pub fn replica_config(mut self, config: tokio_postgres::Config) -> Self {
        self.replicas.sources.push(Source::Config(Box::new(config)));
        self
    }

    /// The most a replica's replay may lag behind (default 30 s): a replica
    /// further behind gets no reads until it catches up (a warning says so).
    /// The lag is zero while a replica has replayed all the WAL it received,
    /// else the age of the last transaction it replayed.
    pub fn max_replica_lag(mut self, bound: Duration) -> Self {
        self.replicas.max_lag = Some(bound);
        self
    }

    /// How long a replica that failed (connection refused or lost, server
    /// shutting down) is left alone before it is tried again (default 1 s;
    /// doubled after each failed try, up to 32 times as long).
    pub fn replica_retry(mut self, after: Duration) -> Self {
        self.replicas.retry = Some(after);
        self
    }

    /// How often replicas are checked while nothing waits for them
    /// (default 100 ms): their replayed WAL position and lag. While reads
    /// in a [`read_your_writes`] scope wait for a replica to replay a write,
    /// it is checked every millisecond.
    pub fn replica_poll_interval(mut self, every: Duration) -> Self {
        self.replicas.poll = Some(every);
        self
    }
}

/// The replicas of a database and what is known of them.
pub(crate) struct ReplicaSet {
    nodes: Box<[Node]>,
    /// Round-robin position.
    next: AtomicUsize,
    max_lag: Duration,
    retry: Duration,
    poll: Duration,
    /// Reads served by the primary (no replica could take them, or the
    /// handle asked for the primary).
    primary_reads: AtomicU64,
    /// Reads retried on another node after their replica went away.
    retried: AtomicU64,
    /// Whether the poller task runs.
    polling: AtomicBool,
    /// A read wanted a replica that had not replayed far enough.
    wanted: AtomicBool,
    wake: tokio::sync::Notify,
}

struct Node {
    db: Db,
    /// The replayed WAL position last seen (bytes; `u64::MAX` for a server
    /// not in recovery, 0 before the first check).
    replayed: AtomicU64,
    /// It failed; no reads until a check succeeds.
    down: AtomicBool,
    /// It lags more than the bound.
    lagging: AtomicBool,
    /// Failed checks in a row, for the backoff.
    failures: AtomicU32,
    /// When a down replica is checked again.
    retry_at: Mutex<Option<Instant>>,
    /// Reads it served.
    reads: AtomicU64,
}

impl Node {
    fn usable(&self) -> bool {
        !self.down.load(Ordering::Relaxed) && !self.lagging.load(Ordering::Relaxed)
    }
}

/// What a replicated database did, from [`Db::replica_stats`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReplicaStats {
    /// Reads the primary served (no replica fit, or [`Db::primary`]).
    pub primary_reads: u64,
    /// Reads retried on another node after their replica went away.
    pub retried_reads: u64,
    /// Each replica, in the order declared.
    pub replicas: Vec<NodeStats>,
}

/// One replica in [`ReplicaStats`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NodeStats {
    /// Where it is (no password).
    pub target: String,
    /// Reads it served.
    pub reads: u64,
    /// False while it is marked down (it failed; it is tried again later).
    pub up: bool,
    /// True while it lags more than [`DbBuilder::max_replica_lag`].
    pub lagging: bool,
    /// The WAL position it had replayed when last checked, in bytes
    /// (`u64::MAX` for a server that is not a standby).
    pub replayed_lsn: u64,
}

tokio::task_local! {
    /// The WAL position of the latest write committed in the current
    /// [`read_your_writes`] scope (0: none yet).
    static WRITES: Arc<AtomicU64>;
}

/// Runs `fut` in a read-your-writes scope: a read in it goes to a replica
/// only if that replica has replayed the WAL past every write committed in
/// the scope before the read started, otherwise to the primary. Exact, by
/// WAL position: after each write that commits in the scope (an autocommit
/// write, a transaction's `COMMIT`), the primary's WAL position is asked on
/// the write's connection, queued right behind it (no extra round trip;
/// one more statement per write, only inside a scope and only on a
/// database with replicas); replicas report their
/// `pg_last_wal_replay_lsn()` to a background check that runs every
/// millisecond while reads wait for them.
///
/// The scope is task-local, like [`scope`](crate::scope): futures joined in
/// it (`tokio::join!`) share it (each read waits for every write of the
/// scope that committed before it), a spawned task does not inherit it.
/// A scope created inside another shares the outer one's writes. Wrap each
/// request (or each unit of work that must see its own writes) in one;
/// outside any scope, reads go to a replica even if it has not replayed
/// the task's last write yet (within [`DbBuilder::max_replica_lag`]).
///
/// ```no_run
/// # use orm_core::prelude::*;
/// # async fn run() -> orm_core::Result<()> {
/// orm_core::read_your_writes(async {
///     // ... a write ...
///     // ... a read here sees it, from a replica that has replayed it or
///     // from the primary ...
///     Ok::<_, orm_core::Error>(())
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub fn read_your_writes<F: Future>(fut: F) -> impl Future<Output = F::Output> {
    let writes = WRITES
        .try_with(Arc::clone)
        .unwrap_or_else(|_| Arc::new(AtomicU64::new(0)));
    WRITES.scope(writes, fut)
}

/// The WAL position reads of the current scope need (0 outside a scope or
/// before its first write).
fn needed() -> u64 {
    WRITES.try_with(|w| w.load(Ordering::Acquire)).unwrap_or(0)
}

impl Db {
    /// Whether this handle's statements are routed: it has replicas and is
    /// neither a transaction's, a pinned one, nor the executor's own.
    #[inline]
    pub(super) fn routes(&self) -> bool {
        self.inner.replicas.is_some()
            && self.route != Route::Direct
            && self.tx.is_none()
            && self.pinned.is_none()
    }

    /// This database with every statement on the primary, reads included
    /// (`.using(&db.primary())`, or `orm_core::scope(&db.primary(), ..)`);
    /// for a database without replicas, the same database.
    pub fn primary(&self) -> Db {
        let mut db = self.clone();
        if db.route != Route::Direct {
            db.route = Route::Primary;
        }
        db
    }

    /// This database with its reads on a replica even inside a
    /// [`read_your_writes`] scope (when you know the data is old enough);
    /// the primary still serves them when no replica is up. Writes go to the
    /// primary as always. For a database without replicas, the same
    /// database.
    pub fn replica(&self) -> Db {
        let mut db = self.clone();
        if db.route != Route::Direct {
            db.route = Route::Replica;
        }
        db
    }

    /// Whether this database was declared with replicas.
    pub fn has_replicas(&self) -> bool {
        self.inner.replicas.is_some()
    }

    /// Where reads went, for a database with replicas (`None` without).
    pub fn replica_stats(&self) -> Option<ReplicaStats> {
        let set = self.inner.replicas.as_deref()?;
        Some(ReplicaStats {
            primary_reads: set.primary_reads.load(Ordering::Relaxed),
            retried_reads: set.retried.load(Ordering::Relaxed),
            replicas: set
                .nodes
                .iter()
                .map(|n| NodeStats {
                    target: n.db.inner.target.to_string(),
                    reads: n.reads.load(Ordering::Relaxed),
                    up: !n.down.load(Ordering::Relaxed),
                    lagging: n.lagging.load(Ordering::Relaxed),
                    replayed_lsn: n.replayed.load(Ordering::Relaxed),
                })
                .collect(),
        })
    }

    /// The primary pool, unrouted, with this handle's statement limit.
    pub(super) fn direct(&self) -> Db {
        let mut db = self.clone();
        db.route = Route::Direct;
        db
    }

    /// A usable replica for a read of this handle now (round-robin), other
    /// than `not`; `None` sends it to the primary.
    fn pick(&self, set: &Arc<ReplicaSet>, not: Option<usize>) -> Option<usize> {
        set.ensure_polling();
        let need = match self.route {
            Route::Primary | Route::Direct => return None,
            Route::Replica => 0,
            Route::Auto => needed(),
        };
        let n = set.nodes.len();
        let start = set.next.fetch_add(1, Ordering::Relaxed);
        let mut behind = false;
        for k in 0..n {
            let i = (start + k) % n;
            let node = &set.nodes[i];
            if Some(i) == not || !node.usable() {
                continue;
            }
            if node.replayed.load(Ordering::Acquire) < need {
                behind = true;
                continue;
            }
            return Some(i);
        }
        if behind {
            // Check the replicas' replay now and often while reads want it.
            set.wanted.store(true, Ordering::Relaxed);
            set.wake.notify_one();
        }
        None
    }

    /// [`for_each_row`](Db::for_each_row) on a routed handle: a read on a
    /// replica (retried once on another node, or the primary, if the
    /// replica went away before it sent its last row: a replica's rows are
    /// handed on once they all arrived), else on the primary; a
    /// write on the primary, its WAL position noted in a
    /// [`read_your_writes`] scope.
    #[inline(never)]
    pub(super) async fn routed_rows<I, P>(
        &self,
        sql: &str,
        params: I,
        shown: &[P],
        each: impl FnMut(Row) -> Result<()> + Send,
    ) -> Result<()>
    where
        P: Param + Sync,
        I: IntoIterator + Clone,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        let set = self.inner.replicas.as_ref().expect("routed");
        if !is_read(sql) {
            let (db, writes) = self.write_node().await?;
            let sends = AtomicU32::new(0);
            let write = db.for_each_row_here(sql, Sends(params, &sends), shown, each);
            return db.noting_position(writes, &sends, write).await;
        }
        let mut nodes = ReadNodes {
            db: self,
            set: Some(set),
            not: None,
            tries: 0,
        };
        loop {
            let (node, db) = nodes.next();
            if node.is_none() {
                // The primary: rows straight to `each`, as without replicas.
                nodes.served(node);
                return db.for_each_row_here(sql, params, shown, each).await;
            }
            // A replica: its rows are held until it has sent them all, so
            // a replica that goes away in the middle of its answer (a
            // shutdown's FATAL can follow a row already sent) costs a
            // retry, never a failed read or a row twice. (Streams,
            // `exec/stream.rs`, retry only before their first row.)
            let mut rows = Vec::new();
            let result = db
                .for_each_row_here(sql, params.clone(), shown, |row| {
                    rows.push(row);
                    Ok(())
                })
                .await;
            match result {
                Err(e) if nodes.retry(node, &e) => {}
                result => {
                    nodes.served(node);
                    result?;
                    return rows.into_iter().try_for_each(each);
                }
            }
        }
    }

    /// The nodes a read of `sql` on this handle may run on, in the order
    /// to try them ([`ReadNodes`]): on a routed handle, for a read, a
    /// replica, another after it went away, then the primary; else this
    /// handle alone.
    pub(crate) fn read_nodes(&self, sql: &str) -> ReadNodes<'_> {
        match is_read(sql) {
            true => self.reads(),
            false => ReadNodes {
                db: self,
                set: None,
                not: None,
                tries: 0,
            },
        }
    }

    /// [`read_nodes`](Db::read_nodes) for statements known to be reads.
    pub(crate) fn reads(&self) -> ReadNodes<'_> {
        let set = match &self.inner.replicas {
            Some(set) if self.routes() => Some(set),
            _ => None,
        };
        ReadNodes {
            db: self,
            set,
            not: None,
            tries: 0,
        }
    }

    /// [`execute_iter`](Db::execute_iter) on a routed handle: on the
    /// primary, its WAL position noted in a [`read_your_writes`] scope.
    #[inline(never)]
    pub(super) async fn routed_execute<I, P>(
        &self,
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
        let (db, writes) = self.write_node().await?;
        let sends = AtomicU32::new(0);
        let write = db.execute_here(sql, Sends(params, &sends), shown);
        db.noting_position(writes, &sends, write).await
    }

    /// Where a write of this routed handle runs: the primary, and in a
    /// [`read_your_writes`] scope (returned) on one connection held for the
    /// write and the WAL position read behind it
    /// ([`noting_position`](Db::noting_position)), unless statements of this
    /// handle do not go out on the connection they are given (unnamed
    /// statements, whose pooler may hand them to different servers; a
    /// statement limit, which takes a connection of its own).
    async fn write_node(&self) -> Result<(Db, Option<Arc<AtomicU64>>)> {
        let direct = self.direct();
        let Ok(writes) = WRITES.try_with(Arc::clone) else {
            return Ok((direct, None));
        };
        if self.inner.unnamed.is_some() || self.timeout.is_some() {
            return Ok((direct, Some(writes)));
        }
        Ok((direct.pinned().await?, Some(writes)))
    }

    /// Runs `write`, a statement of this handle (on the primary) whose
    /// parameters count their encodings in `sends` ([`Sends`]), and in a
    /// [`read_your_writes`] scope (`writes`) notes the primary's WAL
    /// position after it committed.
    ///
    /// On a handle pinned to one connection ([`write_node`](Db::write_node))
    /// the position is asked on that connection right behind the write,
    /// without waiting for the write's answer: tokio-postgres sends a
    /// client's statements in the order they are queued, and PostgreSQL
    /// runs a connection's statements one after the other, each
    /// autocommit statement committed at its own `Sync` before the next
    /// message is read. So the position is read after the write's commit
    /// record was inserted (and, with `synchronous_commit` on, flushed),
    /// as a second round trip would read it, but in the same round trip.
    /// It must be queued after the write, never before: a position read
    /// before the commit would let a replica that has not replayed the
    /// write serve the scope's reads. The write is polled once first; its
    /// parameters are encoded in the same poll as it is queued (no await in
    /// between, in tokio-postgres 0.7's `query`, `execute` and
    /// `query_typed`), so a count above zero after that poll means it is on
    /// the connection, and the position is queued behind it. Otherwise
    /// (its statement was not prepared yet: a round trip first), or when
    /// the write was sent again after the position was queued (a stale
    /// cached statement prepared again), the position is asked once the
    /// write has answered, as before.
    async fn noting_position<T>(
        &self,
        writes: Option<Arc<AtomicU64>>,
        sends: &AtomicU32,
        write: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let Some(writes) = writes else {
            return write.await;
        };
        futures_util::pin_mut!(write);
        let mut result = None;
        let mut lsn = None;
        if self.pinned.is_some() {
            let first = std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await;
            match first {
                Poll::Ready(done) => result = Some(done),
                Poll::Pending => {
                    let queued = sends.load(Ordering::Acquire);
                    if queued > 0 {
                        let (done, read) = join(write.as_mut(), self.position()).await;
                        if sends.load(Ordering::Acquire) == queued {
                            lsn = read;
                        }
                        result = Some(done);
                    }
                }
            }
        }
        let result = match result {
            Some(done) => done,
            None => write.await,
        };
        if lsn.is_none() {
            lsn = self.position().await;
        }
        // Unknown (the position could not be read): the scope's reads go
        // to the primary.
        writes.fetch_max(lsn.unwrap_or(u64::MAX), Ordering::AcqRel);
        result
    }

    /// The primary's WAL position now ([`WRITE_LSN`]), asked on this
    /// handle's connection; `None` when it could not be read.
    async fn position(&self) -> Option<u64> {
        let mut lsn = None;
        let asked = self.for_each_row_here(WRITE_LSN, NO_VALUES, NO_VALUES, |row| {
            lsn = lsn_of(Some(&row));
            Ok(())
        });
        asked.await.ok().and(lsn)
    }

    /// After a write committed outside a transaction block on this handle:
    /// in a [`read_your_writes`] scope of a database with replicas, the
    /// primary's WAL position, which the scope's reads then wait for. When
    /// it cannot be read, the scope's reads go to the primary.
    pub(crate) async fn note_write(&self) {
        if !self.routes() {
            return;
        }
        let Ok(writes) = WRITES.try_with(Arc::clone) else {
            return;
        };
        let lsn = self.direct().position().await;
        writes.fetch_max(lsn.unwrap_or(u64::MAX), Ordering::AcqRel);
    }

    /// Commits the transaction on `tx`'s connection; in a
    /// [`read_your_writes`] scope of a database with replicas, notes the
    /// primary's WAL position after the commit, asked on that connection
    /// right behind `COMMIT` (queued after it, so read after the commit, in
    /// the same round trip; see [`noting_position`](Db::noting_position)).
    /// With unnamed statements (a pooler, which may hand the two to
    /// different servers) it is asked once `COMMIT` has answered.
    pub(crate) async fn commit_noted(
        &self,
        tx: &TxState,
    ) -> std::result::Result<(), tokio_postgres::Error> {
        let conn = tx.conn();
        let writes = match self.inner.replicas {
            Some(_) => WRITES.try_with(Arc::clone).ok(),
            None => None,
        };
        let Some(writes) = writes else {
            return conn.batch_execute("COMMIT").await;
        };
        // Prepared (a round trip the first time on this connection) before
        // COMMIT is sent: then the position's first poll queues it.
        let statement = match self.inner.unnamed {
            None => conn.prepare(WRITE_LSN).await.ok(),
            Some(_) => None,
        };
        let (committed, lsn) = match statement {
            Some(statement) => {
                let commit = conn.batch_execute("COMMIT");
                futures_util::pin_mut!(commit);
                // `batch_execute` queues its message in its first poll.
                match std::future::poll_fn(|cx| Poll::Ready(commit.as_mut().poll(cx))).await {
                    Poll::Ready(committed) => (committed, None),
                    Poll::Pending => {
                        let position = conn.query(&statement, &[]);
                        let (committed, rows) = join(commit, position).await;
                        (committed, rows.ok().and_then(|rows| lsn_of(rows.first())))
                    }
                }
            }
            None => (conn.batch_execute("COMMIT").await, None),
        };
        committed?;
        let lsn = match lsn {
            Some(lsn) => Some(lsn),
            None => conn
                .query_typed(WRITE_LSN, &[])
                .await
                .ok()
                .and_then(|rows| lsn_of(rows.first())),
        };
        writes.fetch_max(lsn.unwrap_or(u64::MAX), Ordering::AcqRel);
        Ok(())
    }
}

/// Where a read runs, node after node: a replica (round-robin, one that
/// has the scope's writes), once more another replica if that one went
/// away, then the primary ([`Db::read_nodes`]). The
/// caller runs the read on each [`next`](ReadNodes::next) node until
/// [`retry`](ReadNodes::retry) says no, then reports the node that
/// answered with [`served`](ReadNodes::served).
pub(crate) struct ReadNodes<'a> {
    db: &'a Db,
    /// `None`: no routing, the handle itself.
    set: Option<&'a Arc<ReplicaSet>>,
    /// The replica that went away.
    not: Option<usize>,
    /// Replicas tried.
    tries: u8,
}

impl ReadNodes<'_> {
    /// The next node: a replica's index and handle (with the read's
    /// statement limit), or `None` and the primary's.
    pub(crate) fn next(&mut self) -> (Option<usize>, Db) {
        let Some(set) = self.set else {
            return (None, self.db.clone());
        };
        if self.tries < 2 {
            self.tries += 1;
            if let Some(i) = self.db.pick(set, self.not) {
                let mut db = set.nodes[i].db.clone();
                db.timeout = self.db.timeout;
                return (Some(i), db);
            }
            self.tries = 2;
        }
        (None, self.db.direct())
    }

    /// After the read failed on `node` with `err`, before it produced a
    /// row: whether to try the next node. Only when `node` is a replica and
    /// `err` says it went away ([`went_away`]): it is marked down, and the
    /// retry counted and logged.
    pub(crate) fn retry(&mut self, node: Option<usize>, err: &Error) -> bool {
        let (Some(set), Some(i)) = (self.set, node) else {
            return false;
        };
        if !went_away(err) {
            return false;
        }
        set.failed(i, err);
        set.retried.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            target: "orm_core::replica",
            replica = %set.nodes[i].db.inner.target,
            error = %err,
            "a read's replica went away; the read is retried on another node"
        );
        self.not = Some(i);
        true
    }

    /// Counts the read `node` answered.
    pub(crate) fn served(&self, node: Option<usize>) {
        match (self.set, node) {
            (Some(set), Some(i)) => set.nodes[i].reads.fetch_add(1, Ordering::Relaxed),
            (Some(set), None) => set.primary_reads.fetch_add(1, Ordering::Relaxed),
            (None, _) => 0,
        };
    }
}

/// A statement's parameters that count how often they are encoded
/// (`into_iter`), for [`Db::noting_position`].
#[derive(Clone)]
struct Sends<'a, I>(I, &'a AtomicU32);

impl<I: IntoIterator> IntoIterator for Sends<'_, I> {
    type Item = I::Item;
    type IntoIter = I::IntoIter;
    fn into_iter(self) -> I::IntoIter {
        self.1.fetch_add(1, Ordering::Release);
        self.0.into_iter()
    }
}

/// The position in the first column of `row`, if any.
fn lsn_of(row: Option<&Row>) -> Option<u64> {
    let value: Option<i64> = row?.try_get(0).ok()?;
    u64::try_from(value?).ok()
}

impl ReplicaSet {
    /// Starts the background check unless it runs (it stops when the
    /// database is dropped or its runtime shuts down).
    fn ensure_polling(self: &Arc<Self>) {
        if self.polling.load(Ordering::Relaxed) || self.polling.swap(true, Ordering::AcqRel) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(poll(Arc::downgrade(self)));
            }
            Err(_) => self.polling.store(false, Ordering::Release),
        }
    }

    /// Marks replica `i` down after `err`, to be tried again after a backoff.
    fn failed(&self, i: usize, err: &dyn std::fmt::Display) {
        let node = &self.nodes[i];
        let failures = node.failures.fetch_add(1, Ordering::Relaxed).min(5);
        let wait = self.retry * (1u32 << failures);
        *node.retry_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + wait);
        if !node.down.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                target: "orm_core::replica",
                replica = %node.db.inner.target,
                error = %err,
                retry_in_ms = wait.as_millis() as u64,
                "read replica marked down; its reads go to the primary or another replica"
            );
        }
    }

    /// Checks replica `i`: its replay position and lag.
    async fn check(&self, i: usize) {
        let node = &self.nodes[i];
        if node.down.load(Ordering::Acquire) {
            let due = *node.retry_at.lock().unwrap_or_else(|e| e.into_inner());
            if due.is_some_and(|at| Instant::now() < at) {
                return;
            }
        }
        let asked =
            tokio::time::timeout(POLL_TIMEOUT, node.db.query(REPLICA_STATE, NO_VALUES)).await;
        let row = match asked {
            Ok(Ok(rows)) => rows.into_iter().next(),
            Ok(Err(e)) => return self.failed(i, &e),
            Err(_) => return self.failed(i, &"no answer to the health check in 2 s"),
        };
        let Some(row) = row else { return };
        let replayed: Option<i64> = row.try_get(0).unwrap_or(None);
        let lag: f64 = row.try_get(1).unwrap_or(0.0);
        let replayed = match replayed {
            // Not a standby (a server declared as its own replica): it has
            // every write.
            None => u64::MAX,
            Some(lsn) => u64::try_from(lsn).unwrap_or(0),
        };
        node.replayed.store(replayed, Ordering::Release);
        node.failures.store(0, Ordering::Relaxed);
        if node.down.swap(false, Ordering::AcqRel) {
            tracing::info!(
                target: "orm_core::replica",
                replica = %node.db.inner.target,
                "read replica is back"
            );
        }
        let lagging = lag > self.max_lag.as_secs_f64();
        if node.lagging.swap(lagging, Ordering::AcqRel) != lagging {
            if lagging {
                tracing::warn!(
                    target: "orm_core::replica",
                    replica = %node.db.inner.target,
                    lag_s = lag,
                    "read replica lags more than max_replica_lag; its reads go to the primary \
                     or another replica"
                );
            } else {
                tracing::info!(
                    target: "orm_core::replica",
                    replica = %node.db.inner.target,
                    "read replica caught up"
                );
            }
        }
    }
}

/// Clears [`ReplicaSet::polling`] when the poller ends in any way.
struct Polling(Weak<ReplicaSet>);

impl Drop for Polling {
    fn drop(&mut self) {
        if let Some(set) = self.0.upgrade() {
            set.polling.store(false, Ordering::Release);
        }
    }
}

/// The background check of a replica set: every replica every
/// [`poll`](ReplicaSet::poll) interval, every millisecond while reads want
/// a replica that has not replayed far enough.
async fn poll(set: Weak<ReplicaSet>) {
    let _polling = Polling(set.clone());
    loop {
        let Some(live) = set.upgrade() else {
            return;
        };
        live.wanted.store(false, Ordering::Relaxed);
        let checks = (0..live.nodes.len()).map(|i| live.check(i));
        futures_util::future::join_all(checks).await;
        let pause = if live.wanted.load(Ordering::Relaxed) {
            FAST_POLL
        } else {
            live.poll
        };
        let wake = async {
            let notified = live.wake.notified();
            let _ = tokio::time::timeout(pause, notified).await;
        };
        wake.await;
        drop(live);
    }
}

/// Whether the ORM's statement `sql` only reads: a `SELECT` (not locking
/// rows), or the `WITH "orm_base" AS (SELECT ..)` of an aggregate across a
/// relation. Anything else counts as a write.
pub(super) fn is_read(sql: &str) -> bool {
    let sql = sql.trim_start();
    let select = sql
        .get(..6)
        .is_some_and(|s| s.eq_ignore_ascii_case("SELECT"));
    (select || sql.starts_with("WITH \"orm_base\" AS (SELECT "))
        && !sql.contains(" FOR UPDATE")
        && !sql.contains(" FOR NO KEY UPDATE")
        && !sql.contains(" FOR SHARE")
        && !sql.contains(" FOR KEY SHARE")
}

/// Whether a read failed because its server went away (connection refused,
/// lost or closed, the server shutting down or starting up, a cancel by a
/// recovery conflict), not because of the statement: such a read may run
/// on another node.
pub(crate) fn went_away(err: &Error) -> bool {
    match err {
        Error::Connect(_) | Error::PoolTimeout(_) => true,
        Error::Database(e) => {
            if e.is_closed() {
                return true;
            }
            match e.code() {
                Some(code) => {
                    let code = code.code();
                    code.starts_with("08")
                        || matches!(code, "57P01" | "57P02" | "57P03" | "57P04" | "40001")
                }
                None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_selects_that_lock_nothing() {
        assert!(is_read("SELECT \"t\".\"id\" FROM \"t\""));
        assert!(is_read("  select 1"));
        assert!(is_read(
            "WITH \"orm_base\" AS (SELECT \"t\".\"id\" FROM \"t\") SELECT COUNT(*)"
        ));
        assert!(!is_read("SELECT \"t\".\"id\" FROM \"t\" FOR UPDATE"));
        assert!(!is_read(
            "SELECT \"t\".\"id\" FROM \"t\" FOR NO KEY UPDATE OF \"t\""
        ));
        assert!(!is_read("SELECT 1 FOR SHARE"));
        assert!(!is_read(
            "INSERT INTO \"t\" (\"a\") VALUES ($1) RETURNING \"id\""
        ));
        assert!(!is_read("UPDATE \"t\" SET \"a\" = $1"));
        assert!(!is_read(
            "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x"
        ));
        assert!(!is_read("SELEC"));
    }

    #[test]
    fn a_database_without_replicas_routes_nothing() {
        let db = Db::builder("postgres://u@/db?host=/nonexistent")
            .build()
            .unwrap();
        assert!(!db.routes());
        assert!(!db.has_replicas());
        assert!(db.replica_stats().is_none());
        assert!(!db.primary().routes());
    }

    #[test]
    fn replicas_are_declared_and_routed() {
        let db = Db::builder("postgres://u@/db?host=/nonexistent")
            .replica("postgres://u@/db?host=/nonexistent2")
            .replica("postgres://u@/db?host=/nonexistent3")
            .build()
            .unwrap();
        assert!(db.routes());
        assert!(
            db.primary().routes(),
            "writes on it still note their position"
        );
        assert!(!db.direct().routes());
        let stats = db.replica_stats().unwrap();
        assert_eq!(stats.replicas.len(), 2);
        assert!(stats.replicas.iter().all(|n| n.up && n.reads == 0));
        assert!(
            stats.replicas[1].target.contains("nonexistent3"),
            "{stats:?}"
        );
        let err = Db::builder("postgres://u@/db?host=/x")
            .replica("")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("read replica 1"), "{err}");
    }

    #[test]
    fn a_read_tries_a_replica_another_then_the_primary() {
        let db = Db::builder("postgres://u@/db?host=/nonexistent")
            .replica("postgres://u@/db?host=/nonexistent2")
            .replica("postgres://u@/db?host=/nonexistent3")
            .build()
            .unwrap();
        let gone = Error::PoolTimeout("t".into());
        // A write, and a handle without replicas: the handle itself, no retry.
        let mut write = db.read_nodes("UPDATE \"t\" SET \"a\" = $1");
        let (node, on) = write.next();
        assert!(node.is_none() && on.routes(), "the routed handle itself");
        assert!(!write.retry(node, &gone));
        let plain = db.direct();
        let mut nodes = plain.read_nodes("SELECT 1");
        assert!(nodes.next().0.is_none());
        // A read: a replica; after it went away, the other; then the
        // primary, which is never retried.
        let mut nodes = db.read_nodes("SELECT 1");
        let (first, on) = nodes.next();
        let first = first.expect("a replica");
        assert!(!on.routes(), "the replica's own pool");
        assert!(
            !nodes.retry(Some(first), &Error::NotConnected),
            "not a node failure"
        );
        assert!(nodes.retry(Some(first), &gone));
        let (second, _) = nodes.next();
        let second = second.expect("the other replica");
        assert_ne!(first, second);
        assert!(nodes.retry(Some(second), &gone));
        let (node, on) = nodes.next();
        assert!(node.is_none() && !on.routes(), "the primary, unrouted");
        assert!(!nodes.retry(None, &gone));
        nodes.served(None);
        let stats = db.replica_stats().unwrap();
        assert_eq!((stats.primary_reads, stats.retried_reads), (1, 2));
        assert!(stats.replicas.iter().all(|n| !n.up), "both marked down");
        // Both down: the next read goes to the primary at once.
        assert!(db.reads().next().0.is_none());
    }

    #[test]
    fn errors_that_mean_the_server_went_away() {
        assert!(went_away(&Error::PoolTimeout("t".into())));
        assert!(!went_away(&Error::NotConnected));
        assert!(!went_away(&Error::Transaction("x".into())));
    }
}
