//! The executor every statement goes through: prepare (cached), bind,
//! run, read the rows; a stale cached statement prepared again; a dropped
//! statement abandoned; statement limits; logging.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::Either;
use futures_util::TryStreamExt;
use postgres_types::{BorrowToSql, ToSql};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Row, Statement};

use crate::error::{Error, Param, Result};
use crate::value::Value;

use super::connection::Connection;
use super::{Conn, Db};

impl Db {
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
    ///
    /// On a database with replicas, [`routed_rows`](Db::routed_rows)
    /// decides where it runs (boxed: the path without replicas pays one test).
    pub(crate) fn for_each_row<'a, I, P>(
        &'a self,
        sql: &'a str,
        params: I,
        shown: &'a [P],
        each: impl FnMut(Row) -> Result<()> + Send + 'a,
    ) -> impl Future<Output = Result<()>> + 'a
    where
        P: Param + Sync,
        I: IntoIterator + Clone + 'a,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        if self.routes() {
            Either::Left(Box::pin(self.routed_rows(sql, params, shown, each)))
        } else {
            Either::Right(self.for_each_row_here(sql, params, shown, each))
        }
    }

    /// [`for_each_row`](Db::for_each_row) on this handle's own pool.
    pub(crate) async fn for_each_row_here<I, P>(
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
        if crate::tenant::rls_in_use() {
            if let Some(setting) = self.rls_block() {
                let run = self.rls_run(setting, sql, params, shown, each);
                return Box::pin(run).await.map(drop);
            }
            if self.must_follow_tenant() {
                Box::pin(self.follow_tenant()).await?;
            }
        }
        if self.inner.unnamed.is_some() {
            return Box::pin(self.unnamed_rows(sql, params, shown, each)).await;
        }
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
    pub(super) async fn rows_again<I>(
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
    pub(super) fn re_prepare(
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
    pub(super) async fn limited_rows<I, P>(
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
            result.map_err(|e| e.in_statement(&prepared, sql, shown))
        };
        self.limited(&client, limit, run).await
    }

    /// Runs `run` (statements on `conn`, held alone) for at most `limit`;
    /// past it, sends a cancel request and waits for the statement's answer,
    /// which is then SQLSTATE 57014 unless it finished first. A connection
    /// that may still receive the cancel request (the statement answered
    /// otherwise) is closed, and the future dropped half-way cancels as any
    /// statement does.
    pub(super) async fn limited<T>(
        &self,
        conn: &Conn,
        limit: Duration,
        run: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let flight = InFlight(self, conn);
        futures_util::pin_mut!(run);
        let result = match tokio::time::timeout(limit, run.as_mut()).await {
            Ok(result) => result,
            Err(_) => match conn.cancel_query().await {
                // `flight` cancels and closes it another way.
                Err(e) => return Err(Error::Database(e)),
                Ok(()) => {
                    let result = match conn.through_pooler() {
                        false => run.await,
                        true => Box::pin(until_cancelled(conn, run)).await,
                    };
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

    pub(super) async fn collect_rows<I, P>(
        &self,
        sql: &str,
        params: I,
        shown: &[P],
    ) -> Result<Vec<Row>>
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
    pub(super) fn execute_iter<'a, I, P>(
        &'a self,
        sql: &'a str,
        params: I,
        shown: &'a [P],
    ) -> impl Future<Output = Result<u64>> + 'a
    where
        P: Param + Sync,
        I: IntoIterator + Clone + 'a,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        if self.routes() {
            Either::Left(Box::pin(self.routed_execute(sql, params, shown)))
        } else {
            Either::Right(self.execute_here(sql, params, shown))
        }
    }

    /// [`execute_iter`](Db::execute_iter) on this handle's own pool.
    pub(super) async fn execute_here<I, P>(&self, sql: &str, params: I, shown: &[P]) -> Result<u64>
    where
        P: Param + Sync,
        I: IntoIterator + Clone,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        if crate::tenant::rls_in_use() {
            if let Some(setting) = self.rls_block() {
                let run = self.rls_run(setting, sql, params, shown, |_| Ok(()));
                return Box::pin(run).await;
            }
            if self.must_follow_tenant() {
                Box::pin(self.follow_tenant()).await?;
            }
        }
        if self.inner.unnamed.is_some() {
            return Box::pin(self.unnamed_execute(sql, params, shown)).await;
        }
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
    pub(super) async fn limited_execute<I, P>(
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
            result.map_err(|e| e.in_statement(&prepared, sql, shown))
        };
        self.limited(&client, limit, run).await
    }

    /// As [`rows_again`](Db::rows_again), for [`execute_iter`](Db::execute_iter).
    #[inline(never)]
    pub(super) async fn execute_again<I>(
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
        if self.must_follow_tenant() {
            Box::pin(self.follow_tenant()).await?;
        }
        if self.inner.unnamed.is_some() {
            return self.unnamed_start_rows(conn, sql, params).await;
        }
        let prepared = self.track(conn.prepare(sql).await)?;
        self.count();
        match conn.query_raw(&prepared, params.clone()).await {
            Err(e) if is_stale(&e) => {
                self.re_prepare(conn, &prepared, e, sql)?;
                // A stream's own block under row-level security (opened by
                // `rls_begin` on this connection, held alone) was aborted
                // by the refusal: begun again before the statement runs
                // again, which would otherwise fail with 25P02.
                if let (Some(setting), Conn::Exclusive(_)) = (self.rls_block(), conn) {
                    Box::pin(self.rls_begin_again(conn, &setting)).await?;
                }
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
        if self.must_follow_tenant() {
            Box::pin(self.follow_tenant()).await?;
        }
        if self.inner.unnamed.is_some() {
            // Prepared uncached, and closed when this returns: inside the
            // transaction a `COPY` runs in then (`persist::bulk_insert`).
            let client: &tokio_postgres::Client = conn;
            return self.track(client.copy_in(sql).await);
        }
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
pub(super) fn is_stale(err: &tokio_postgres::Error) -> bool {
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

/// Whether `statement` binds an array (`= ANY($1)` of an `__in` list or a
/// prefetch's keys, `UNNEST($1)` of a bulk insert). Such a statement is
/// sent unnamed with the kept statement's parameter types (one round trip,
/// as a kept one), so PostgreSQL plans it for the array it gets, every
/// time. Kept and run as a prepared statement, it would get a generic plan
/// after five runs, in which `= ANY($1)` is tested element by element for
/// every row where a custom plan hashes the array: on a column without an
/// index, 1.9 s instead of 45 ms for 10,000 keys over 100,000 rows
/// (EXPLAIN ANALYZE, PostgreSQL 15).
pub(super) fn binds_array(statement: &tokio_postgres::Statement) -> bool {
    statement
        .params()
        .iter()
        .any(|t| matches!(t.kind(), postgres_types::Kind::Array(_)))
}

/// Runs `sql` unnamed ([`binds_array`]) with `prepared`'s parameter types;
/// the number of rows it affected.
pub(super) async fn execute_unnamed<I>(
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

/// Waits for `run`, whose statement on `conn` was sent a cancel request
/// through a pooler, sending it again every 100 ms until it ends: pgbouncer
/// drops a cancel request that arrives while the statement still waits for
/// a server connection (it is not running anywhere yet), and the statement
/// would then run to its end. Only this statement can be reached: the
/// pooler passes a cancel request to the server connection linked to this
/// client, and the client sends nothing else before this answer.
pub(crate) async fn until_cancelled<T>(
    conn: &Connection,
    run: std::pin::Pin<&mut impl std::future::Future<Output = Result<T>>>,
) -> Result<T> {
    let mut run = run;
    loop {
        match tokio::time::timeout(std::time::Duration::from_millis(100), run.as_mut()).await {
            Ok(result) => return result,
            Err(_) => {
                if let Err(e) = conn.cancel_query().await {
                    tracing::debug!(target: "orm_core::db", "cancel request failed: {e}");
                }
            }
        }
    }
}
