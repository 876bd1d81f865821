//! The state of an open transaction, shared by every statement in it: its
//! connection, whether it is still active, whether a statement failed.
//! The user-facing API (`transaction`, [`Transaction`](crate::Transaction))
//! is in `transaction.rs`, above this.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

use crate::db::connection::{Connection, Object};
use crate::error::{Error, Result};

/// How a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Statements may run.
    Active,
    /// `COMMIT` was sent.
    Committed,
    /// `ROLLBACK` was sent, or the transaction was abandoned.
    RolledBack,
}

/// The connection of an open transaction, shared by every query in it.
pub(crate) struct TxState {
    conn: Option<Object>,
    status: Mutex<Status>,
    /// A statement failed, so PostgreSQL will only roll back.
    pub(crate) failed: AtomicBool,
    /// A nested block was dropped half-way: its savepoint is still open.
    pub(crate) poisoned: AtomicBool,
    /// Savepoints opened so far (their names are numbered).
    pub(crate) savepoints: AtomicU32,
    /// The tenant setting (`orm.tenant`) last set on this transaction:
    /// `""` (none, as at the start), or `None` when unknown (a rollback to
    /// a savepoint undid what was set inside it).
    tenant_setting: Mutex<Option<String>>,
}

impl TxState {
    /// The state of a transaction just begun on `conn`.
    pub(crate) fn new(conn: Object) -> TxState {
        TxState {
            conn: Some(conn),
            status: Mutex::new(Status::Active),
            failed: AtomicBool::new(false),
            poisoned: AtomicBool::new(false),
            savepoints: AtomicU32::new(0),
            tenant_setting: Mutex::new(Some(String::new())),
        }
    }

    /// Whether the tenant setting last set on this transaction is `want`.
    pub(crate) fn tenant_setting_is(&self, want: &str) -> bool {
        let set = self
            .tenant_setting
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        set.as_deref() == Some(want)
    }

    /// Records the tenant setting just set (`None`: unknown, set it again
    /// before the next statement).
    pub(crate) fn set_tenant_setting(&self, setting: Option<String>) {
        *self
            .tenant_setting
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = setting;
    }

    pub(crate) fn conn(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a transaction owns its connection until dropped")
    }

    /// Fails unless the transaction can still run statements.
    pub(crate) fn check_active(&self) -> Result<()> {
        match *self.status.lock().unwrap_or_else(|e| e.into_inner()) {
            Status::Active => Ok(()),
            Status::Committed => Err(Error::Transaction(
                "this transaction was committed; start a new one".into(),
            )),
            Status::RolledBack => Err(Error::Transaction(
                "this transaction was rolled back; start a new one".into(),
            )),
        }
    }

    pub(crate) fn mark_failed(&self) {
        self.failed.store(true, Ordering::Relaxed);
    }

    /// Records how the transaction ended.
    pub(crate) fn finish(&self, status: Status) {
        *self.status.lock().unwrap_or_else(|e| e.into_inner()) = status;
    }
}

impl Drop for TxState {
    fn drop(&mut self) {
        let active = *self.status.get_mut().unwrap_or_else(|e| e.into_inner()) == Status::Active;
        if let Some(conn) = self.conn.take() {
            if active {
                // Never return a connection in the middle of a transaction
                // to the pool: closing it makes the server roll back.
                drop(Object::take(conn));
            }
        }
    }
}
