//! Row-level security's tenant setting ([`crate::tenant::SETTING`]) for
//! statements run in a tenant scope when a model has `#[orm(tenant, rls)]`.
//!
//! - **Outside a transaction block** a statement runs as one pipelined
//!   round trip on a connection held alone:
//!   `BEGIN; SELECT set_config('orm.tenant', $1, true); <statement>; COMMIT`.
//!   The setting is local to that transaction, so nothing reaches the
//!   connection's next user, also through a pooler in transaction mode
//!   (which keeps one server connection for the block) and on a hot standby
//!   (which allows `BEGIN` and `set_config`). A statement that fails aborts
//!   the block; its `COMMIT` is then a rollback, and the statement's own
//!   error is returned.
//! - **Inside a block** the setting is set when the block begins, and again
//!   (`LOCAL`) before the first statement run under another tenant than the
//!   one last set on that transaction (a [`scope`](crate::tenant::scope)
//!   inside the block, or after it ended); after a `ROLLBACK TO SAVEPOINT`
//!   (which undoes a setting made inside the savepoint) it is set again
//!   before the next statement.
//!
//! - **A stream** outside a block opens its block with `BEGIN; set_config`
//!   and commits after its last row; a cached statement refused as stale
//!   when it starts aborts that block, which is then rolled back and begun
//!   again before the statement, prepared again, runs once more.
//!
//! Nothing here runs unless row-level security is in use: the default path
//! pays one test of a static flag.

use futures_util::TryStreamExt;
use postgres_types::BorrowToSql;
use tokio_postgres::types::Type;
use tokio_postgres::Row;

use crate::error::{Param, Result};

use super::run::{binds_array, is_stale, log, timer, InFlight};
use super::{Conn, Db};

/// Sets the tenant setting for the current transaction (`$1`: `text`):
/// prepared once per connection in the named mode, sent unnamed with its
/// type in the unnamed one (nothing then survives the transaction).
pub(crate) const SET_TENANT: &str = "SELECT set_config('orm.tenant', $1, true)";

/// Runs [`SET_TENANT`] with `setting` on `client` and reads its row:
/// `prepared` (kept by the connection, in [`StatementMode::Named`]), or
/// else unnamed with its type.
///
/// [`StatementMode::Named`]: crate::StatementMode::Named
async fn set_tenant(
    client: &tokio_postgres::Client,
    prepared: Option<&tokio_postgres::Statement>,
    setting: &str,
) -> std::result::Result<(), tokio_postgres::Error> {
    let rows = match prepared {
        Some(statement) => client.query_raw(statement, [setting]).await?,
        None => {
            client
                .query_typed_raw(SET_TENANT, [(setting, Type::TEXT)])
                .await?
        }
    };
    futures_util::pin_mut!(rows);
    while rows.try_next().await?.is_some() {}
    Ok(())
}

/// How the statement of a block is sent: prepared (kept per connection),
/// or unnamed with its described parameter types.
enum Sent {
    Named(tokio_postgres::Statement),
    Unnamed(std::sync::Arc<super::unnamed::Described>),
}

impl Db {
    /// The tenant setting a statement on this handle runs under when it is
    /// outside a transaction block and row-level security is in use with a
    /// current tenant (else `None`: the statement runs as it is).
    pub(crate) fn rls_block(&self) -> Option<String> {
        if self.tx.is_some() || !crate::tenant::rls_in_use() {
            return None;
        }
        crate::tenant::current_setting()
    }

    /// A statement outside a transaction block, under row-level security:
    /// `BEGIN; set_config; <statement>; COMMIT` in one round trip on a
    /// connection held alone (see the module docs). Each row goes to
    /// `each`; the number of rows the statement affected is returned.
    #[inline(never)]
    pub(super) async fn rls_run<I, P>(
        &self,
        setting: String,
        sql: &str,
        params: I,
        shown: &[P],
        mut each: impl FnMut(Row) -> Result<()> + Send,
    ) -> Result<u64>
    where
        P: Param + Sync,
        I: IntoIterator + Clone,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        let conn = self.exclusive_client().await?;
        let run = async {
            // A cached statement refused as stale aborted its block (which
            // then rolled back): prepared again and run once more.
            let mut again = true;
            loop {
                let set = match &self.inner.unnamed {
                    None => Some(self.track(conn.prepare(SET_TENANT).await)?),
                    Some(_) => None,
                };
                let sent = match &self.inner.unnamed {
                    None => Sent::Named(self.track(conn.prepare(sql).await)?),
                    Some(_) => {
                        let n = params.clone().into_iter().len();
                        Sent::Unnamed(self.described_for(sql, n).await?)
                    }
                };
                self.count();
                let started = timer();
                let both = (set.as_ref(), setting.as_str());
                let result = self.rls_once(&conn, both, &sent, sql, params.clone(), &mut each);
                let result = result.await;
                log(sql, started, shown);
                match (result, &sent) {
                    (Err(Failed::Block(e)), _) if again && is_stale(&e) && set.is_some() => {
                        if let Some(stale) = &set {
                            conn.forget(SET_TENANT, stale);
                        }
                        again = false;
                    }
                    (Err(Failed::Statement(e)), Sent::Named(stale)) if again && is_stale(&e) => {
                        conn.forget(sql, stale);
                        again = false;
                    }
                    (Err(Failed::Statement(e)), sent) => {
                        let e = crate::Error::from(e);
                        let types = match sent {
                            Sent::Named(s) => s.params(),
                            Sent::Unnamed(d) => &d.params[..],
                        };
                        if let Sent::Unnamed(_) = sent {
                            self.after_unnamed_error(&conn, sql, &e);
                        }
                        return Err(e.in_statement_typed(types, sql, shown));
                    }
                    (Err(Failed::Block(e)), _) => return Err(crate::Error::from(e)),
                    (Err(Failed::Each(e)), _) => return Err(e),
                    (Ok(n), _) => return Ok(n),
                }
            }
        };
        match self.statement_limit() {
            Some(limit) => self.limited(&conn, limit, run).await,
            None => {
                let flight = InFlight(self, &conn);
                let result = run.await;
                std::mem::forget(flight);
                result
            }
        }
    }

    /// One try of [`rls_run`](Db::rls_run): the four requests sent
    /// together (each future sends its request when first polled, and
    /// `join4` polls them in order), their answers read in order.
    async fn rls_once<I>(
        &self,
        conn: &Conn,
        (set, setting): (Option<&tokio_postgres::Statement>, &str),
        sent: &Sent,
        sql: &str,
        params: I,
        each: &mut (impl FnMut(Row) -> Result<()> + Send),
    ) -> std::result::Result<u64, Failed>
    where
        I: IntoIterator,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        let client: &tokio_postgres::Client = conn;
        let begin = client.batch_execute("BEGIN");
        let set = set_tenant(client, set, setting);
        let statement = async {
            let rows = match sent {
                Sent::Named(prepared) if !binds_array(prepared) => {
                    client.query_raw(prepared, params).await
                }
                Sent::Named(prepared) => {
                    let typed = params.into_iter().zip(prepared.params().iter().cloned());
                    client.query_typed_raw(sql, typed).await
                }
                Sent::Unnamed(described) => {
                    let typed = params.into_iter().zip(described.params.iter().cloned());
                    client.query_typed_raw(sql, typed).await
                }
            };
            let rows = rows.map_err(Failed::Statement)?;
            futures_util::pin_mut!(rows);
            while let Some(row) = rows.try_next().await.map_err(Failed::Statement)? {
                each(row).map_err(Failed::Each)?;
            }
            Ok(rows.rows_affected().unwrap_or(0))
        };
        let commit = client.batch_execute("COMMIT");
        let (begin, set, statement, commit) =
            futures_util::future::join4(begin, set, statement, commit).await;
        // The first failure is the cause: after a failed `BEGIN` or
        // `set_config`, the statement's error only says the block aborted.
        begin.map_err(Failed::Block)?;
        set.map_err(Failed::Block)?;
        let n = statement?;
        commit.map_err(Failed::Block)?;
        Ok(n)
    }

    /// Opens the transaction block of a stream under row-level security
    /// on `conn` (held alone): `BEGIN` and `set_config` sent together. The
    /// stream commits after its last row.
    ///
    /// # Errors
    /// As the statements.
    pub(crate) async fn rls_begin(&self, conn: &Conn, setting: &str) -> Result<()> {
        let client: &tokio_postgres::Client = conn;
        self.count();
        let (begin, set) = futures_util::future::join(
            client.batch_execute("BEGIN"),
            set_tenant(client, None, setting),
        )
        .await;
        begin?;
        set?;
        Ok(())
    }

    /// A stream's block (see [`rls_begin`](Db::rls_begin)) aborted by a
    /// cached statement refused as stale: rolled back and begun again with
    /// the same setting, so that the statement prepared again can run.
    ///
    /// # Errors
    /// As the statements.
    pub(crate) async fn rls_begin_again(&self, conn: &Conn, setting: &str) -> Result<()> {
        let client: &tokio_postgres::Client = conn;
        client.batch_execute("ROLLBACK").await?;
        self.rls_begin(conn, setting).await
    }

    /// Inside a transaction block under row-level security: sets the
    /// tenant setting (`LOCAL`) when the current tenant is not the one last
    /// set on this transaction ("" when none is current: the policies then
    /// match no row). Called when the block begins and before each
    /// statement in it.
    ///
    /// # Errors
    /// As the statement.
    pub(crate) async fn follow_tenant(&self) -> Result<()> {
        let Some(tx) = self.tx() else {
            return Ok(());
        };
        let want = crate::tenant::current_setting().unwrap_or_default();
        if tx.tenant_setting_is(&want) {
            return Ok(());
        }
        tx.check_active()?;
        self.count();
        let started = timer();
        let conn = tx.conn();
        // Prepared once per connection in the named mode (as outside a
        // block); unnamed otherwise.
        let prepared = match &self.inner.unnamed {
            None => Some(self.track(conn.prepare(SET_TENANT).await)?),
            Some(_) => None,
        };
        let result = set_tenant(conn, prepared.as_ref(), &want).await;
        log(SET_TENANT, started, &[&want]);
        if let (Err(e), Some(stale)) = (&result, &prepared) {
            if is_stale(e) {
                // Aborted the transaction; prepared again next time.
                conn.forget(SET_TENANT, stale);
            }
        }
        self.track(result)?;
        tx.set_tenant_setting(Some(want));
        Ok(())
    }

    /// [`follow_tenant`](Db::follow_tenant) when row-level security is in
    /// use and this is a transaction's handle.
    #[inline]
    pub(super) fn must_follow_tenant(&self) -> bool {
        self.tx.is_some() && crate::tenant::rls_in_use()
    }
}

/// Where a block of [`Db::rls_run`] failed.
enum Failed {
    /// `BEGIN`, `set_config` or `COMMIT`.
    Block(tokio_postgres::Error),
    /// The statement itself.
    Statement(tokio_postgres::Error),
    /// The caller's row handler.
    Each(crate::Error),
}
