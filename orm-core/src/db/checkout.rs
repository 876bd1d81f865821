//! Connections for statements: shared autocommit connections (pipelined),
//! connections held alone (streams, sessions), and the pool's checkout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use deadpool::managed::TimeoutType;

use crate::error::{Error, Result};

use super::connection::{Connection, Object, PoolError};
use super::{Conn, Db};

impl Db {
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
    pub(super) async fn client_later(&self) -> Result<Conn> {
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
    pub(super) fn client_now(&self) -> Result<Option<Conn>> {
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
    pub(super) fn pool_has_free(&self) -> bool {
        let status = self.inner.pool.status();
        status.available > 0 || status.size < status.max_size
    }

    pub(super) fn shared(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Object>>> {
        self.inner.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A kept connection no statement is using (`idle`), else the least
    /// busy one. Closed connections are dropped from the list here, so the
    /// pool discards them.
    pub(super) fn pick_shared(&self, idle: bool) -> Option<Arc<Object>> {
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
    pub(super) async fn try_checkout(&self) -> Result<Option<Object>> {
        match self.inner.pool.timeout_get(&self.inner.no_wait).await {
            Ok(object) => Ok(Some(object)),
            Err(PoolError::Timeout(TimeoutType::Wait)) => Ok(None),
            Err(e) => Err(self.pool_error(e)),
        }
    }

    /// Waits for a pool connection, up to the pool's wait timeout.
    pub(super) async fn wait_checkout(&self) -> Result<Object> {
        self.inner.pool.get().await.map_err(|e| self.pool_error(e))
    }

    pub(super) fn pool_error(&self, e: PoolError) -> Error {
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

/// Counts a checkout as waiting in the pool's queue while it lives.
pub(super) struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    pub(super) fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
