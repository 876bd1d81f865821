//! [`DbBuilder`]: a pool's options, checked when it is built.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool::managed::Timeouts;
use deadpool::Runtime;

use crate::error::{Error, Result};

use super::connection::{Manager, Pool};
use super::unnamed::{self, StatementMode};
use super::{Db, DbInner};

/// Options for a [`Db`]'s pool; start with [`Db::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct DbBuilder {
    pub(super) source: Source,
    max_size: usize,
    wait_timeout: Duration,
    connect_timeout: Duration,
    pipelining: bool,
    statement_cache_capacity: usize,
    statement_timeout: Option<Duration>,
    statement_mode: Option<StatementMode>,
    /// See [`DbBuilder::replica`] (in `replica.rs`).
    pub(super) replicas: ReplicaOptions,
}

/// The replicas a [`DbBuilder`] declares, and their options (see
/// `replica.rs`, which builds them).
#[derive(Debug, Clone, Default)]
pub(super) struct ReplicaOptions {
    pub(super) sources: Vec<Source>,
    pub(super) max_lag: Option<Duration>,
    pub(super) retry: Option<Duration>,
    pub(super) poll: Option<Duration>,
}

#[derive(Debug, Clone)]
pub(super) enum Source {
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

    /// How statements are sent (default [`StatementMode::Named`]: prepared
    /// once per connection and reused). [`StatementMode::Unnamed`] is for a
    /// connection pooler in transaction mode, such as pgbouncer's
    /// `pool_mode = transaction`, where a named prepared statement does not
    /// outlive its transaction: see [`StatementMode`]. The URL can say it
    /// too, `?statement_mode=unnamed` (or `named`); this setting wins over
    /// the URL's.
    ///
    /// A pooler passes no startup options to the server, so
    /// [`statement_timeout`](Self::statement_timeout) is refused with
    /// [`StatementMode::Unnamed`]: set it on the server for the role
    /// (`ALTER ROLE app SET statement_timeout = '5s'`), or limit statements
    /// with [`Db::timeout`].
    pub fn statement_mode(mut self, mode: StatementMode) -> Self {
        self.statement_mode = Some(mode);
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
        let replicas = self.replicas.build(&self)?;
        let mut mode = StatementMode::Named;
        let source = match self.source {
            Source::Url(url) => {
                let (url, given) = unnamed::strip_url_parameter(&url)?;
                mode = given.unwrap_or(mode);
                Source::Url(url)
            }
            config => config,
        };
        let mode = self.statement_mode.unwrap_or(mode);
        let mut config = match source {
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
            if mode == StatementMode::Unnamed {
                return Err(Error::Config(
                    "statement_timeout is sent as a startup option, which a connection pooler \
                     (statement_mode=unnamed) does not pass on: set it on the server instead \
                     (ALTER ROLE .. SET statement_timeout = ..), or use Db::timeout"
                        .into(),
                ));
            }
            set_statement_timeout(&mut config, timeout);
        }
        // No per-checkout ping: a broken connection fails its query and is
        // dropped, which costs less than a round trip on every checkout.
        let pooler = (mode == StatementMode::Unnamed)
            .then(|| super::pooler::PoolerAddr::of(&config))
            .flatten()
            .map(Arc::new);
        let manager = Manager {
            config,
            statement_capacity: self.statement_cache_capacity,
            pooler,
            learn_types: mode == StatementMode::Unnamed,
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
            route: super::Route::Auto,
            inner: Arc::new(DbInner {
                pool,
                queries: AtomicU64::new(0),
                shared: Mutex::new(Vec::new()),
                waiting: AtomicUsize::new(0),
                pipelining: self.pipelining,
                target,
                replicas,
                unnamed: (mode == StatementMode::Unnamed)
                    .then(|| Box::new(unnamed::Unnamed::new(self.statement_cache_capacity))),
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

    pub(super) fn with_source(source: Source) -> DbBuilder {
        DbBuilder {
            source,
            max_size: 16,
            wait_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            pipelining: true,
            statement_cache_capacity: 512,
            statement_timeout: None,
            replicas: Default::default(),
            statement_mode: None,
        }
    }

    /// A pool with the default options, checked by opening one connection.
    ///
    /// # Errors
    /// As [`DbBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Db> {
        Db::builder(url).connect().await
    }
}

/// Adds `-c statement_timeout=<ms>` to the startup options of `config`,
/// after the ones it has (the URL's `options`), so this one wins.
pub(super) fn set_statement_timeout(config: &mut tokio_postgres::Config, timeout: Duration) {
    let setting = format!("-c statement_timeout={}", millis(timeout));
    let options = match config.get_options() {
        Some(given) if !given.trim().is_empty() => format!("{given} {setting}"),
        _ => setting,
    };
    config.options(options);
}

/// `duration` in whole milliseconds, rounded up, as `statement_timeout`
/// takes it (saturating).
pub(super) fn millis(duration: Duration) -> u32 {
    u32::try_from(duration.as_nanos().div_ceil(1_000_000)).unwrap_or(u32::MAX)
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
}
