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

/// The result type of every fallible operation in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

mod bind;
mod connect;
mod integrity;
mod payloads;

pub use bind::BindError;
pub(crate) use connect::describe_target;
pub use connect::ConnectError;
pub use integrity::{IntegrityError, IntegrityKind};
pub use payloads::{
    DanglingKeyError, DecodeError, FieldError, FilterErrors, LookupError, QueryError,
    ValidationError, ValueError,
};

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

    /// A page that does not exist, or a page number or cursor that cannot
    /// be read (Django's `InvalidPage`: `EmptyPage`, `PageNotAnInteger`):
    /// in a web API, a 404 or a 400, never a 500.
    #[error("invalid page: {0}")]
    InvalidPage(String),

    /// Filters from a query string that cannot be applied: each bad
    /// parameter with its message, all at once (a web API's 400 body).
    #[error(transparent)]
    InvalidFilters(Box<FilterErrors>),

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

impl From<DanglingKeyError> for Error {
    fn from(err: DanglingKeyError) -> Self {
        Error::DanglingKey(Box::new(err))
    }
}

impl From<FilterErrors> for Error {
    fn from(err: FilterErrors) -> Self {
        Error::InvalidFilters(Box::new(err))
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
        self.in_statement_typed(statement.params(), sql, params)
    }

    /// [`in_statement`](Error::in_statement) for a statement sent unnamed
    /// with the parameter types `types`.
    pub(crate) fn in_statement_typed<P: Param>(
        self,
        types: &[tokio_postgres::types::Type],
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
            expected: types.get(index).cloned(),
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
    use super::bind::find_param;
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
