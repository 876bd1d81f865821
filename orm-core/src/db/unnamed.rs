//! [`StatementMode::Unnamed`]: statements that work through a connection
//! pooler in transaction mode (pgbouncer `pool_mode = transaction`).
//!
//! Such a pooler lends a server connection to a client for one transaction
//! (or one autocommit statement) only: a named prepared statement created in
//! one is not there in the next, which then fails with "prepared statement
//! ... does not exist" (SQLSTATE 26000), or collides with another client's
//! statement of the same name (42P05).
//!
//! In this mode every statement is sent as tokio-postgres's
//! [`query_typed_raw`](tokio_postgres::Client::query_typed_raw) does: Parse
//! into the *unnamed* statement with its parameter types, Bind, Describe,
//! Execute, Sync, in one round trip. Nothing outlives the Sync, so it does
//! not matter which server connection the pooler picks for the next one.
//!
//! The parameter types are the server's, as a prepared statement would
//! have them (so every value binds exactly as in the default mode): each
//! SQL text is described once per [`Db`] and the types kept by text. A
//! description prepares the text as a named statement on a connection of
//! its own, inside `BEGIN` .. `COMMIT`, and closes it before the `COMMIT`:
//! a pooler keeps one server connection for the whole block, so the named
//! statement is created and closed on the same one and never seen by
//! anyone else.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use futures_util::TryStreamExt;
use postgres_types::BorrowToSql;
use rustc_hash::FxBuildHasher;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Column, Row};

use crate::error::{Error, Param, Result};

use super::connection::{Connection, KillOnDrop, Manager};
use super::run::{log, timer, InFlight};
use super::{Conn, Db};

/// How statements are sent to the server ([`DbBuilder::statement_mode`]).
///
/// [`DbBuilder::statement_mode`]: crate::DbBuilder::statement_mode
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StatementMode {
    /// Each statement is prepared once per connection and reused (the
    /// default, and the fastest with a direct connection to the server).
    /// URL spelling: `statement_mode=named`.
    #[default]
    Named,
    /// Each statement is sent unnamed, with its parameter types, in one
    /// round trip, and nothing the ORM sends relies on a named prepared
    /// statement surviving past the current transaction: for a pooler in
    /// transaction mode (pgbouncer `pool_mode = transaction`). URL spelling:
    /// `statement_mode=unnamed`.
    Unnamed,
}

impl StatementMode {
    /// The spellings accepted in a URL's `statement_mode` parameter.
    pub const SPELLINGS: [&'static str; 2] = ["named", "unnamed"];
}

impl fmt::Display for StatementMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StatementMode::Named => "named",
            StatementMode::Unnamed => "unnamed",
        })
    }
}

impl FromStr for StatementMode {
    type Err = Error;

    /// `named` or `unnamed` (ASCII case ignored).
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "named" => Ok(StatementMode::Named),
            "unnamed" => Ok(StatementMode::Unnamed),
            _ => Err(Error::Config(format!(
                "unknown statement_mode `{s}`; expected one of: {}",
                StatementMode::SPELLINGS.join(", ")
            ))),
        }
    }
}

/// The URL parameter that selects the [`StatementMode`].
const URL_PARAMETER: &str = "statement_mode";

/// Takes `statement_mode=..` out of `url`'s query string (tokio-postgres
/// refuses parameters it does not know): the URL without it, and its
/// value if it was there (the last one wins).
///
/// # Errors
/// [`Error::Config`] for a value that is not a [`StatementMode`].
pub(super) fn strip_url_parameter(url: &str) -> Result<(String, Option<StatementMode>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut mode = None;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some((URL_PARAMETER, value)) => mode = Some(value.parse()?),
            _ if pair == URL_PARAMETER => {
                return Err(Error::Config(format!(
                    "the URL parameter `{URL_PARAMETER}` needs a value; expected one of: {}",
                    StatementMode::SPELLINGS.join(", ")
                )))
            }
            _ => kept.push(pair),
        }
    }
    if mode.is_none() {
        return Ok((url.to_owned(), None));
    }
    let url = match kept.is_empty() {
        true => base.to_owned(),
        false => format!("{base}?{}", kept.join("&")),
    };
    Ok((url, mode))
}

/// What the server says of one SQL text: its parameter types and columns.
pub(crate) struct Described {
    pub(crate) params: Vec<Type>,
    /// Each column's name and type.
    pub(crate) columns: Vec<(String, Type)>,
}

/// `columns` as [`Described`] keeps them.
fn columns(columns: &[Column]) -> Vec<(String, Type)> {
    columns
        .iter()
        .map(|c| (c.name().to_owned(), c.type_().clone()))
        .collect()
}

/// The state of a [`Db`] in [`StatementMode::Unnamed`].
pub(super) struct Unnamed {
    /// Descriptions by SQL text (bounded as a connection's statement
    /// cache is: past `capacity` texts, it starts over).
    described: RwLock<HashMap<Box<str>, Arc<Described>, FxBuildHasher>>,
    capacity: usize,
    /// The connection texts are described on, opened at first need; one
    /// description at a time.
    describer: tokio::sync::Mutex<Option<Connection>>,
}

impl Unnamed {
    pub(super) fn new(capacity: usize) -> Unnamed {
        Unnamed {
            described: RwLock::default(),
            capacity,
            describer: tokio::sync::Mutex::new(None),
        }
    }

    fn cached(&self, sql: &str) -> Option<Arc<Described>> {
        let described = self.described.read().unwrap_or_else(|e| e.into_inner());
        described.get(sql).cloned()
    }

    /// Drops the description of `sql` (the server refused a statement sent
    /// with it: a schema change may have changed its types).
    fn forget(&self, sql: &str) {
        let mut described = self.described.write().unwrap_or_else(|e| e.into_inner());
        described.remove(sql);
    }

    /// `sql` described by the server: kept, or asked now (on a miss): on
    /// `tx`, the connection of the open transaction if there is one (so it
    /// sees the tables the transaction made; the pooler keeps that
    /// connection for the whole transaction), else on the describer.
    async fn describe(
        &self,
        manager: &Manager,
        tx: Option<&Connection>,
        sql: &str,
    ) -> std::result::Result<Arc<Described>, tokio_postgres::Error> {
        if let Some(described) = self.cached(sql) {
            return Ok(described);
        }
        match tx {
            Some(conn) => Box::pin(self.describe_in_tx(conn, sql)).await,
            None => Box::pin(self.describe_new(manager, sql)).await,
        }
    }

    async fn describe_in_tx(
        &self,
        conn: &Connection,
        sql: &str,
    ) -> std::result::Result<Arc<Described>, tokio_postgres::Error> {
        let client: &tokio_postgres::Client = conn;
        // Dropped at once: its Close goes out ahead of anything else the
        // transaction sends, on the same server connection.
        let statement = client.prepare(sql).await?;
        let described = Arc::new(Described {
            params: statement.params().to_vec(),
            columns: columns(statement.columns()),
        });
        self.keep(sql, &described);
        Ok(described)
    }

    fn keep(&self, sql: &str, described: &Arc<Described>) {
        let mut all = self.described.write().unwrap_or_else(|e| e.into_inner());
        if all.len() >= self.capacity {
            all.clear();
        }
        all.insert(sql.into(), described.clone());
    }

    async fn describe_new(
        &self,
        manager: &Manager,
        sql: &str,
    ) -> std::result::Result<Arc<Described>, tokio_postgres::Error> {
        let mut describer = self.describer.lock().await;
        if let Some(described) = self.cached(sql) {
            return Ok(described);
        }
        let mut attempt = 0;
        let described = loop {
            if describer.as_ref().is_none_or(Connection::is_closed) {
                *describer = Some(deadpool::managed::Manager::create(manager).await?);
            }
            let conn = describer.as_ref().expect("opened above");
            match describe_on(conn, sql).await {
                Ok(described) => break described,
                // A statement of tokio-postgres's own (its type lookup,
                // prepared once per client) that the pooler's next server
                // connection lacks, or a name another client left on it:
                // a new connection names its statements afresh.
                Err(e) if attempt == 0 && is_pooler_name_error(&e) => {
                    conn.kill();
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        let described = Arc::new(described);
        self.keep(sql, &described);
        Ok(described)
    }
}

/// Prepares `sql` on `conn` inside `BEGIN` .. `COMMIT` and closes it
/// before the `COMMIT` (see the module docs). Dropped half-way, the
/// connection is closed (it may be inside the block).
async fn describe_on(
    conn: &Connection,
    sql: &str,
) -> std::result::Result<Described, tokio_postgres::Error> {
    conn.batch_execute("BEGIN").await?;
    let guard = KillOnDrop(conn);
    let client: &tokio_postgres::Client = conn;
    let prepared = client.prepare(sql).await;
    let described = prepared.map(|statement| Described {
        params: statement.params().to_vec(),
        columns: columns(statement.columns()),
        // Dropped here: tokio-postgres sends its Close now, ahead of the
        // COMMIT below, on the same server connection.
    });
    std::mem::forget(guard);
    match described {
        Ok(described) => {
            conn.batch_execute("COMMIT").await?;
            Ok(described)
        }
        Err(e) => {
            conn.batch_execute("ROLLBACK").await?;
            Err(e)
        }
    }
}

/// 26000 (`prepared statement "s1" does not exist`) or 42P05 (`prepared
/// statement "s1" already exists`).
fn is_pooler_name_error(err: &tokio_postgres::Error) -> bool {
    err.code().is_some_and(|code| {
        *code == SqlState::INVALID_SQL_STATEMENT_NAME || *code == SqlState::DUPLICATE_PSTATEMENT
    })
}

impl Db {
    /// This database's [`StatementMode`].
    pub fn statement_mode(&self) -> StatementMode {
        match self.inner.unnamed {
            Some(_) => StatementMode::Unnamed,
            None => StatementMode::Named,
        }
    }

    /// The parameter types and columns of `sql`, as the server describes
    /// them (a prepare: kept per connection in [`StatementMode::Named`],
    /// per database in [`StatementMode::Unnamed`]).
    pub(crate) async fn described(&self, sql: &str) -> Result<Arc<Described>> {
        match &self.inner.unnamed {
            Some(unnamed) => {
                let tx = self.tx().map(super::tx::TxState::conn);
                let described = unnamed.describe(self.inner.pool.manager(), tx, sql).await;
                self.track(described)
            }
            None => {
                let conn = self.client().await?;
                let prepared = self.track(conn.prepare(sql).await)?;
                Ok(Arc::new(Described {
                    params: prepared.params().to_vec(),
                    columns: columns(prepared.columns()),
                }))
            }
        }
    }

    /// The description of `sql` in [`StatementMode::Unnamed`], checked
    /// against the number of parameters given.
    pub(super) async fn described_for(&self, sql: &str, given: usize) -> Result<Arc<Described>> {
        let described = self.described(sql).await?;
        if described.params.len() != given {
            if let Some(tx) = self.tx() {
                tx.mark_failed();
            }
            return Err(Error::from(crate::error::QueryError {
                model: "SQL",
                reason: format!(
                    "the statement takes {} parameters, {given} were given: {sql}",
                    described.params.len()
                ),
            }));
        }
        Ok(described)
    }

    /// A statement failed on `conn`: when the server refused it (rather
    /// than the network or a value), its description may be stale;
    /// describe it again next time. A named statement missing on the
    /// server (26000, 42P05) can only be tokio-postgres's type lookup of a
    /// type made after `conn` opened ([`learn_types`](super::pooler::learn_types)): the connection is
    /// retired, the next one learns the type.
    pub(super) fn after_unnamed_error(&self, conn: &Conn, sql: &str, err: &Error) {
        if let (Some(unnamed), Error::Database(e)) = (&self.inner.unnamed, err) {
            if e.as_db_error().is_some() {
                unnamed.forget(sql);
            }
            if is_pooler_name_error(e) {
                // Out of the shared list (no new statement queues behind
                // it); closed by the pool when it comes back.
                if let Conn::Pooled(object) = conn {
                    let mut shared = self.shared();
                    if let Some(i) = shared.iter().position(|o| Arc::ptr_eq(o, object)) {
                        shared.swap_remove(i);
                    }
                }
                conn.retire();
            }
        }
    }

    /// Runs `run`, a statement on `client`, guarded as every statement is:
    /// under the handle's time limit ([`Db::timeout`]), else cancelled on
    /// the server if dropped before its answer ([`InFlight`]); a statement
    /// the server refused is described again next time.
    async fn unnamed_guarded<T>(
        &self,
        client: &Conn,
        sql: &str,
        run: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let result = match self.statement_limit() {
            Some(limit) => self.limited(client, limit, run).await,
            None => {
                let flight = InFlight(self, client);
                let result = run.await;
                std::mem::forget(flight);
                result
            }
        };
        if let Err(e) = &result {
            self.after_unnamed_error(client, sql, e);
        }
        result
    }

    /// [`for_each_row`](Db::for_each_row) in [`StatementMode::Unnamed`].
    pub(super) async fn unnamed_rows<I, P>(
        &self,
        sql: &str,
        params: I,
        shown: &[P],
        each: impl FnMut(Row) -> Result<()> + Send,
    ) -> Result<()>
    where
        P: Param + Sync,
        I: IntoIterator,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        self.unnamed_run(sql, params, shown, each).await.map(drop)
    }

    /// [`execute_iter`](Db::execute_iter) in [`StatementMode::Unnamed`]:
    /// the rows (of `RETURNING`, or none) are read and dropped; the count
    /// is the command tag's.
    pub(super) async fn unnamed_execute<I, P>(
        &self,
        sql: &str,
        params: I,
        shown: &[P],
    ) -> Result<u64>
    where
        P: Param + Sync,
        I: IntoIterator,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        self.unnamed_run(sql, params, shown, |_| Ok(())).await
    }

    /// Runs `sql` unnamed with its described parameter types, hands each
    /// row to `each`, and returns the command tag's row count.
    async fn unnamed_run<I, P>(
        &self,
        sql: &str,
        params: I,
        shown: &[P],
        mut each: impl FnMut(Row) -> Result<()> + Send,
    ) -> Result<u64>
    where
        P: Param + Sync,
        I: IntoIterator,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        let params = params.into_iter();
        let described = self.described_for(sql, params.len()).await?;
        let client = match self.statement_limit() {
            Some(_) => self.exclusive_client().await?,
            None => client_now_or_later!(self),
        };
        let run = async {
            self.count();
            let started = timer();
            let typed = params.zip(described.params.iter().cloned());
            let result: Result<u64> = async {
                let rows = self.track(client.query_typed_raw(sql, typed).await)?;
                futures_util::pin_mut!(rows);
                while let Some(row) = self.track(rows.try_next().await)? {
                    each(row)?;
                }
                Ok(rows.rows_affected().unwrap_or(0))
            }
            .await;
            log(sql, started, shown);
            result.map_err(|e| e.in_statement_typed(&described.params, sql, shown))
        };
        self.unnamed_guarded(&client, sql, run).await
    }

    /// [`start_rows`](Db::start_rows) in [`StatementMode::Unnamed`]: the
    /// statement started unnamed on `conn`, its rows read by the caller.
    pub(super) async fn unnamed_start_rows<I>(
        &self,
        conn: &Conn,
        sql: &str,
        params: I,
    ) -> Result<tokio_postgres::RowStream>
    where
        I: IntoIterator,
        I::Item: BorrowToSql,
        I::IntoIter: ExactSizeIterator,
    {
        let params = params.into_iter();
        let described = self.described_for(sql, params.len()).await?;
        self.count();
        let typed = params.zip(described.params.iter().cloned());
        let result = self.track(conn.query_typed_raw(sql, typed).await);
        if let Err(e) = &result {
            self.after_unnamed_error(conn, sql, e);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_parameter_is_taken_out() {
        let strip = |url: &str| strip_url_parameter(url).map_err(|e| e.to_string());
        assert_eq!(
            strip("postgres://u@h/db?statement_mode=unnamed").unwrap(),
            ("postgres://u@h/db".to_owned(), Some(StatementMode::Unnamed))
        );
        assert_eq!(
            strip("postgres://u@/db?host=/tmp&statement_mode=Named&port=6432").unwrap(),
            (
                "postgres://u@/db?host=/tmp&port=6432".to_owned(),
                Some(StatementMode::Named)
            )
        );
        assert_eq!(
            strip("postgres://u@/db?host=/tmp").unwrap(),
            ("postgres://u@/db?host=/tmp".to_owned(), None)
        );
        assert_eq!(
            strip("postgres://u@h/db?statement_mode=off").unwrap_err(),
            "invalid database configuration: unknown statement_mode `off`; \
             expected one of: named, unnamed"
        );
        assert_eq!(
            strip("postgres://u@h/db?statement_mode").unwrap_err(),
            "invalid database configuration: the URL parameter `statement_mode` needs a \
             value; expected one of: named, unnamed"
        );
    }

    #[test]
    fn the_url_selects_the_mode_and_the_builder_wins() {
        let url = "postgres://u@/db?host=/nonexistent&statement_mode=unnamed";
        let db = Db::builder(url).build().unwrap();
        assert_eq!(db.statement_mode(), StatementMode::Unnamed);
        let db = Db::builder(url)
            .statement_mode(StatementMode::Named)
            .build()
            .unwrap();
        assert_eq!(db.statement_mode(), StatementMode::Named);
        let db = Db::builder("postgres://u@/db?host=/nonexistent")
            .build()
            .unwrap();
        assert_eq!(db.statement_mode(), StatementMode::Named, "the default");
        let refused = Db::builder(url)
            .statement_timeout(std::time::Duration::from_secs(1))
            .build()
            .map(drop)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("ALTER ROLE"), "{refused}");
    }
}
