//! The one error type of the crate.
//!
//! [`Error`] is returned on every path, so it is kept small (every
//! `Result` carries its size): payloads of errors that carry a lot are
//! boxed or read from the driver's error on demand, and the driver's error
//! is always kept as the [`source`](std::error::Error::source).
//!
//! Server errors are shown with PostgreSQL's own message, detail and
//! SQLSTATE, which tokio-postgres's `Display` leaves out ("db error").

use std::fmt;

use tokio_postgres::error::DbError;
use tokio_postgres::types::Type;

/// The result type of every fallible operation in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of integrity constraint a write violated (SQLSTATE class 23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntegrityKind {
    /// A `UNIQUE` constraint or primary key (23505).
    Unique,
    /// A foreign key (23503).
    ForeignKey,
    /// A `NOT NULL` column (23502).
    NotNull,
    /// A `CHECK` constraint (23514).
    Check,
    /// An exclusion constraint (23P01).
    Exclusion,
    /// Any other integrity violation of class 23.
    Other,
}

impl fmt::Display for IntegrityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IntegrityKind::Unique => "unique",
            IntegrityKind::ForeignKey => "foreign key",
            IntegrityKind::NotNull => "not null",
            IntegrityKind::Check => "check",
            IntegrityKind::Exclusion => "exclusion",
            IntegrityKind::Other => "integrity",
        })
    }
}

/// Every error this crate returns.
///
/// Bad input never panics: it comes back as one of these variants, with the
/// model, field, constraint or column it concerns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `get()` found no row.
    #[error("{model} matching query does not exist")]
    DoesNotExist {
        /// The model's name.
        model: &'static str,
    },

    /// `get()` found more than one row.
    #[error("get() returned more than one {model} -- it returned {}!", if *.more { format!("more than {count}") } else { count.to_string() })]
    MultipleObjectsReturned {
        /// The model's name.
        model: &'static str,
        /// How many rows were seen (at most 21 are fetched).
        count: usize,
        /// True when there were more rows than `count`.
        more: bool,
    },

    /// A write violated a constraint (SQLSTATE class 23): its kind, the
    /// constraint, table and column the server names, and its detail
    /// (`Key (name)=(Ada) already exists.`).
    #[error(transparent)]
    Integrity(IntegrityError),

    /// A foreign key points at a row that does not exist.
    #[error(transparent)]
    DanglingKey(Box<DanglingKeyError>),

    /// A transaction used wrongly: after its commit, or committed after a
    /// statement in it failed (PostgreSQL then rolls back instead).
    #[error("transaction error: {0}")]
    Transaction(String),

    /// No database was given and no default connection is set.
    #[error(
        "not connected to a database: call `orm_core::connect(\"postgres://user@host/db\").await?` \
         first, run inside `orm_core::scope(&db, ..)`, or pass a database with `.using(&db)`"
    )]
    NotConnected,

    /// A field name or lookup that the model does not have (runtime filters and orderings).
    #[error(transparent)]
    InvalidLookup(Box<LookupError>),

    /// A value that cannot be used for a field (runtime filters, `update_or_create`).
    #[error(transparent)]
    InvalidValue(Box<ValueError>),

    /// A field's value broke a rule (`max_length`, a `validate = ..` function),
    /// found before anything was sent.
    #[error(transparent)]
    Validation(Box<ValidationError>),

    /// A query that cannot be run as asked (e.g. `update()` after slicing).
    #[error(transparent)]
    InvalidQuery(Box<QueryError>),

    /// A column of a row could not be decoded into the field's type.
    #[error(transparent)]
    Decode(Box<DecodeError>),

    /// No connection became free in the pool's wait timeout.
    #[error("timed out waiting for a database connection from the pool ({0})")]
    PoolTimeout(String),

    /// A connection could not be opened: names the server and database
    /// (never the password) and gives the server's or the system's reason.
    #[error(transparent)]
    Connect(Box<ConnectError>),

    /// A connection URL or option that cannot be used.
    #[error("invalid database configuration: {0}")]
    Config(String),

    /// A migration folder or run that cannot proceed: a gap or conflict in
    /// the history, an applied file edited since, destructive steps without
    /// the flag, a failed (rolled back) migration.
    #[error("migrations: {0}")]
    Migration(String),

    /// A value could not be bound to a statement's parameter (its type
    /// does not fit the one PostgreSQL inferred for the parameter): names
    /// the parameter, both types and the statement.
    #[error(transparent)]
    Bind(Box<BindError>),

    /// Any other error reported by the server or the driver. A
    /// serialization failure or deadlock is one of these:
    /// [`is_serialization_failure`](Error::is_serialization_failure),
    /// [`is_deadlock`](Error::is_deadlock).
    #[error("database error: {}", describe(.0))]
    Database(#[source] tokio_postgres::Error),
}

/// A field name or lookup that the model does not have
/// ([`Error::InvalidLookup`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{model} has no {what} `{name}`; valid {what}s: {}", .valid.join(", "))]
#[non_exhaustive]
pub struct LookupError {
    /// The model's name.
    pub model: &'static str,
    /// `field`, `lookup`, `relation`, ...
    pub what: &'static str,
    /// The name that was given.
    pub name: String,
    /// The names that would have been accepted.
    pub valid: Vec<String>,
}

/// A value that cannot be used for a field ([`Error::InvalidValue`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value for {model}.{field}: {reason}")]
#[non_exhaustive]
pub struct ValueError {
    /// The model's name.
    pub model: &'static str,
    /// The field's name.
    pub field: &'static str,
    /// Why it was rejected.
    pub reason: String,
}

/// A field's value that broke a rule ([`Error::Validation`]). A hook
/// returns one as `Err(ValidationError { model, field, message }.into())`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{model}.{field}: {message}")]
pub struct ValidationError {
    /// The model's name.
    pub model: &'static str,
    /// The field's name.
    pub field: &'static str,
    /// What rule the value broke.
    pub message: String,
}

/// A foreign key that points at a row that does not exist
/// ([`Error::DanglingKey`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no {model} has the primary key {key} (a dangling foreign key)")]
#[non_exhaustive]
pub struct DanglingKeyError {
    /// The target model's name.
    pub model: &'static str,
    /// The key, as text.
    pub key: String,
}

/// A query that cannot be run as asked ([`Error::InvalidQuery`]). A block
/// may return one as `Err(QueryError { model, reason }.into())`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid query on {model}: {reason}")]
pub struct QueryError {
    /// The model's name.
    pub model: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// A column of a row that could not be decoded into the field's type
/// ([`Error::Decode`]).
#[derive(Debug, thiserror::Error)]
#[error("cannot decode column `{column}` of {model}: {}", reason(.source))]
#[non_exhaustive]
pub struct DecodeError {
    /// The model's name.
    pub model: &'static str,
    /// The column.
    pub column: &'static str,
    /// The decoding error.
    #[source]
    pub source: tokio_postgres::Error,
}

impl From<DanglingKeyError> for Error {
    fn from(err: DanglingKeyError) -> Self {
        Error::DanglingKey(Box::new(err))
    }
}

impl From<QueryError> for Error {
    fn from(err: QueryError) -> Self {
        Error::InvalidQuery(Box::new(err))
    }
}

impl From<DecodeError> for Error {
    fn from(err: DecodeError) -> Self {
        Error::Decode(Box::new(err))
    }
}

impl From<LookupError> for Error {
    fn from(err: LookupError) -> Self {
        Error::InvalidLookup(Box::new(err))
    }
}

impl From<ValueError> for Error {
    fn from(err: ValueError) -> Self {
        Error::InvalidValue(Box::new(err))
    }
}

impl From<ValidationError> for Error {
    fn from(err: ValidationError) -> Self {
        Error::Validation(Box::new(err))
    }
}

/// The innermost cause (tokio-postgres shows only "error deserializing column N").
fn reason(err: &tokio_postgres::Error) -> String {
    let mut cause: &dyn std::error::Error = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The server's message, detail and SQLSTATE (tokio-postgres shows only
/// "db error"); for a driver error, its message and its innermost cause
/// ("error connecting to server: Connection refused").
pub(crate) fn describe(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => {
            let mut out = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                out.push_str(&format!("; {detail}"));
            }
            out
        }
        None => {
            let outer = err.to_string();
            let inner = reason(err);
            if inner == outer {
                outer
            } else {
                format!("{outer}: {inner}")
            }
        }
    }
}

/// A violated integrity constraint ([`Error::Integrity`]). Everything is
/// read from the server's error, which is kept as the source.
#[derive(Debug, thiserror::Error)]
#[error("{} violated: {}", self.label(), self.detail().unwrap_or(self.message()))]
pub struct IntegrityError {
    kind: IntegrityKind,
    #[source]
    source: tokio_postgres::Error,
}

impl IntegrityError {
    /// Which kind of constraint.
    pub fn kind(&self) -> IntegrityKind {
        self.kind
    }

    /// The constraint's name, when the server reports one (not for `NOT NULL`).
    pub fn constraint(&self) -> Option<&str> {
        self.db().and_then(DbError::constraint)
    }

    /// The table, when the server reports it.
    pub fn table(&self) -> Option<&str> {
        self.db().and_then(DbError::table)
    }

    /// The column, when the server reports it (`NOT NULL` violations).
    pub fn column(&self) -> Option<&str> {
        self.db().and_then(DbError::column)
    }

    /// The server's message (`duplicate key value violates unique constraint ..`).
    pub fn message(&self) -> &str {
        self.db().map_or("", DbError::message)
    }

    /// The server's detail: the key or row at fault (`Key (name)=(Ada)
    /// already exists.`).
    pub fn detail(&self) -> Option<&str> {
        self.db().and_then(DbError::detail)
    }

    /// The SQLSTATE (`23505`, ..).
    pub fn sqlstate(&self) -> &str {
        self.db().map_or("", |db| db.code().code())
    }

    fn db(&self) -> Option<&DbError> {
        self.source.as_db_error()
    }

    /// `unique constraint "users_name_key" on users`, `not null constraint
    /// on t.col`.
    fn label(&self) -> String {
        let mut out = format!("{} constraint", self.kind);
        if let Some(c) = self.constraint() {
            out.push_str(&format!(" \"{c}\""));
        }
        match (self.table(), self.column()) {
            (Some(t), Some(c)) => out.push_str(&format!(" on {t}.{c}")),
            (Some(t), None) => out.push_str(&format!(" on {t}")),
            _ => {}
        }
        out
    }
}

/// Why a checkout could not get a connection.
type PoolError = deadpool::managed::PoolError<tokio_postgres::Error>;

/// A connection that could not be opened ([`Error::Connect`]).
///
/// It names where the connection went (hosts or socket, ports, database,
/// user) but never the password; the driver's error is its source.
#[derive(Debug)]
pub struct ConnectError {
    target: String,
    cause: PoolError,
}

impl ConnectError {
    /// Where the connection went: `database "app" on localhost:5432 as user "app"`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The driver's error, when the driver gave one (not for a timeout).
    pub fn driver_error(&self) -> Option<&tokio_postgres::Error> {
        match &self.cause {
            PoolError::Backend(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn new(target: &str, cause: PoolError) -> Self {
        ConnectError {
            target: target.to_owned(),
            cause,
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot connect to {}: ", self.target)?;
        match &self.cause {
            PoolError::Backend(e) => f.write_str(&describe(e)),
            PoolError::Timeout(_) => f.write_str(
                "no connection was established within the connect timeout \
                 (DbBuilder::connect_timeout)",
            ),
            other => write!(f, "{other}"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            PoolError::Backend(e) => Some(e),
            other => Some(other),
        }
    }
}

/// Where a configuration connects, for errors: `database "app" on
/// localhost:5432 as user "app"`, a Unix socket as its file
/// (`/run/postgresql/.s.PGSQL.5432`). The password is never part of it.
pub(crate) fn describe_target(config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let ports = config.get_ports();
    // One port for every host, one per host, or none (5432).
    let port = |i: usize| match ports {
        [] => 5432,
        [one] => *one,
        many => many.get(i).copied().unwrap_or(5432),
    };
    let mut places: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| match host {
            Host::Tcp(name) => format!("{name}:{}", port(i)),
            #[cfg(unix)]
            Host::Unix(dir) => format!("{}/.s.PGSQL.{}", dir.display(), port(i)),
        })
        .collect();
    if places.is_empty() {
        places = config
            .get_hostaddrs()
            .iter()
            .enumerate()
            .map(|(i, addr)| format!("{addr}:{}", port(i)))
            .collect();
    }
    let user = config.get_user();
    // PostgreSQL's default database is the user's name.
    let dbname = config.get_dbname().or(user).unwrap_or("?");
    let mut out = format!("database \"{dbname}\" on ");
    if places.is_empty() {
        out.push_str("no host");
    } else {
        out.push_str(&places.join(", "));
    }
    if let Some(user) = user {
        out.push_str(&format!(" as user \"{user}\""));
    }
    out
}

/// A value that could not be bound to a statement's parameter
/// ([`Error::Bind`]): the driver's error is its source.
#[derive(Debug)]
pub struct BindError {
    index: usize,
    expected: Option<Type>,
    value_type: Option<&'static str>,
    sql: String,
    source: tokio_postgres::Error,
}

impl BindError {
    /// The parameter's number: `1` for `$1`.
    pub fn parameter(&self) -> usize {
        self.index + 1
    }

    /// The type PostgreSQL expects for the parameter (it infers it from
    /// the statement: `"a32" * $1` makes `$1` an `integer`).
    pub fn expected_type(&self) -> Option<&Type> {
        self.expected.as_ref()
    }

    /// The Rust type of the value, when the ORM knows it.
    pub fn value_type(&self) -> Option<&str> {
        self.value_type
    }

    /// The statement.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The text around the parameter: `"a32" * $1`.
    fn near(&self) -> Option<&str> {
        let at = find_param(&self.sql, self.parameter())?;
        let end = at + 1 + self.parameter().to_string().len();
        // Up to about 40 bytes before it, from the start of a word.
        let mut start = at.saturating_sub(40);
        while !self.sql.is_char_boundary(start) {
            start -= 1;
        }
        if start > 0 {
            if let Some(space) = self.sql[start..at].find(' ') {
                start += space + 1;
            }
        }
        Some(&self.sql[start..end])
    }
}

/// Where `$n` (not `$n0`, `$n1`..) is in `sql`.
fn find_param(sql: &str, n: usize) -> Option<usize> {
    let token = format!("${n}");
    let mut from = 0;
    while let Some(found) = sql[from..].find(&token) {
        let at = from + found;
        let after = at + token.len();
        if !sql[after..].starts_with(|c: char| c.is_ascii_digit()) {
            return Some(at);
        }
        from = after;
    }
    None
}

/// `integer (int4)` for the common types, else PostgreSQL's name.
fn sql_type(ty: &Type) -> String {
    let sql = match *ty {
        Type::BOOL => "boolean",
        Type::INT2 => "smallint",
        Type::INT4 => "integer",
        Type::INT8 => "bigint",
        Type::FLOAT4 => "real",
        Type::FLOAT8 => "double precision",
        Type::VARCHAR => "character varying",
        Type::TIMESTAMP => "timestamp without time zone",
        Type::TIMESTAMPTZ => "timestamp with time zone",
        _ => return ty.name().to_owned(),
    };
    format!("{sql} ({})", ty.name())
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot bind parameter ${}", self.parameter())?;
        if let Some(ty) = &self.expected {
            write!(f, ": PostgreSQL expects {}", sql_type(ty))?;
        }
        if let Some(value) = self.value_type {
            write!(f, ", the value is {value}")?;
        }
        write!(f, " ({})", reason(&self.source))?;
        if let Some(near) = self.near() {
            write!(f, ", at `{near}`")?;
        }
        write!(f, " in: {}", self.sql)
    }
}

impl std::error::Error for BindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A parameter as the executor logs it, and what a [`BindError`] says of
/// its type.
pub(crate) trait Param: fmt::Debug {
    /// The value's Rust type, when known.
    fn type_name(&self) -> Option<&'static str>;
}

impl Param for &(dyn tokio_postgres::types::ToSql + Sync) {
    /// Unknown behind `dyn`; the driver's reason names it.
    fn type_name(&self) -> Option<&'static str> {
        None
    }
}

/// SQLSTATE of a serialization failure.
const SERIALIZATION_FAILURE: &str = "40001";
/// SQLSTATE of a detected deadlock.
const DEADLOCK_DETECTED: &str = "40P01";

impl Error {
    /// The name of the violated constraint, for [`Error::Integrity`].
    pub fn constraint(&self) -> Option<&str> {
        match self {
            Error::Integrity(e) => e.constraint(),
            _ => None,
        }
    }

    /// PostgreSQL's detail of a server error (`Key (name)=(Ada) already
    /// exists.`), when it gave one.
    pub fn detail(&self) -> Option<&str> {
        self.db_error().and_then(DbError::detail)
    }

    /// The SQLSTATE of a server error (`23505`, `40001`, `3D000`, ..).
    pub fn sqlstate(&self) -> Option<&str> {
        self.db_error().map(|db| db.code().code())
    }

    /// True for [`Error::Integrity`] of the given kind.
    pub fn is_integrity(&self, kind: IntegrityKind) -> bool {
        matches!(self, Error::Integrity(e) if e.kind == kind)
    }

    /// True for a serialization failure (SQLSTATE 40001): a `SERIALIZABLE`
    /// or `REPEATABLE READ` transaction conflicted with a concurrent one.
    /// Running the whole transaction again may succeed; see
    /// [`TxOptions::retries`](crate::TxOptions::retries).
    pub fn is_serialization_failure(&self) -> bool {
        self.sqlstate() == Some(SERIALIZATION_FAILURE)
    }

    /// True when the server broke a deadlock by failing this transaction
    /// (SQLSTATE 40P01). Running it again may succeed; see
    /// [`TxOptions::retries`](crate::TxOptions::retries).
    pub fn is_deadlock(&self) -> bool {
        self.sqlstate() == Some(DEADLOCK_DETECTED)
    }

    /// True when the server cancelled the statement (SQLSTATE 57014): a
    /// [`statement_timeout`](crate::DbBuilder::statement_timeout) or
    /// [`Db::timeout`](crate::Db::timeout) ran out, or a cancel request
    /// stopped it.
    pub fn is_query_canceled(&self) -> bool {
        self.sqlstate() == Some("57014")
    }

    /// True for the errors a transaction is retried on: a serialization
    /// failure or a deadlock.
    pub fn is_retryable(&self) -> bool {
        self.is_serialization_failure() || self.is_deadlock()
    }

    fn db_error(&self) -> Option<&DbError> {
        match self {
            Error::Database(e) => e.as_db_error(),
            Error::Integrity(e) => e.db(),
            Error::Connect(e) => e.driver_error().and_then(|e| e.as_db_error()),
            _ => None,
        }
    }

    /// A failed statement's error with the statement: a value the driver
    /// could not bind becomes an [`Error::Bind`] naming the parameter, the
    /// type the prepared statement expects and the value's type.
    pub(crate) fn in_statement<P: Param>(
        self,
        statement: &tokio_postgres::Statement,
        sql: &str,
        params: &[P],
    ) -> Error {
        let Error::Database(err) = self else {
            return self;
        };
        // tokio-postgres does not expose its error's kind: a value it
        // could not bind is the only driver error shown as "error
        // serializing parameter N", and binding happens before anything is
        // sent.
        let index = match err.as_db_error() {
            None => err
                .to_string()
                .strip_prefix("error serializing parameter ")
                .and_then(|n| n.parse::<usize>().ok()),
            Some(_) => None,
        };
        let Some(index) = index else {
            return Error::Database(err);
        };
        Error::Bind(Box::new(BindError {
            index,
            expected: statement.params().get(index).cloned(),
            value_type: params.get(index).and_then(Param::type_name),
            sql: sql.to_owned(),
            source: err,
        }))
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(err: tokio_postgres::Error) -> Self {
        let Some(db) = err.as_db_error() else {
            return Error::Database(err);
        };
        let code = db.code().code();
        if !code.starts_with("23") {
            return Error::Database(err);
        }
        let kind = match code {
            "23505" => IntegrityKind::Unique,
            "23503" => IntegrityKind::ForeignKey,
            "23502" => IntegrityKind::NotNull,
            "23514" => IntegrityKind::Check,
            "23P01" => IntegrityKind::Exclusion,
            _ => IntegrityKind::Other,
        };
        Error::Integrity(IntegrityError { kind, source: err })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_small() {
        // Every `Result` of the crate carries an `Error`; it was 112 bytes.
        assert!(
            std::mem::size_of::<Error>() <= 32,
            "{}",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn parameters_are_found_as_whole_tokens() {
        let sql = "SELECT $10, $1 + $11";
        assert_eq!(find_param(sql, 1), Some(12));
        assert_eq!(find_param(sql, 10), Some(7));
        assert_eq!(find_param(sql, 11), Some(17));
        assert_eq!(find_param(sql, 2), None);
    }

    #[test]
    fn target_never_shows_the_password() {
        let config: tokio_postgres::Config = "postgres://ann:s3cr3t@db.example:6543/shop"
            .parse()
            .unwrap();
        assert_eq!(
            describe_target(&config),
            "database \"shop\" on db.example:6543 as user \"ann\""
        );
        let config: tokio_postgres::Config = "postgres://ann@/shop?host=/run/pg".parse().unwrap();
        assert_eq!(
            describe_target(&config),
            "database \"shop\" on /run/pg/.s.PGSQL.5432 as user \"ann\""
        );
        let config: tokio_postgres::Config = "host=a,b port=1,2 user=ann".parse().unwrap();
        assert_eq!(
            describe_target(&config),
            "database \"ann\" on a:1, b:2 as user \"ann\""
        );
    }
}
