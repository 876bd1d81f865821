//! The one error type of the crate.

use std::fmt;

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

    /// A write violated a constraint (SQLSTATE class 23).
    #[error("{kind} constraint violated{}: {message}", constraint_label(.constraint.as_deref(), .table.as_deref(), .column.as_deref()))]
    Integrity {
        /// Which kind of constraint.
        kind: IntegrityKind,
        /// The constraint's name, when the server reports one.
        constraint: Option<String>,
        /// The table, when the server reports it.
        table: Option<String>,
        /// The column, when the server reports it (NOT NULL violations).
        column: Option<String>,
        /// The server's message.
        message: String,
        /// The underlying database error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// A foreign key points at a row that does not exist.
    #[error("no {model} has the primary key {key} (a dangling foreign key)")]
    DanglingKey {
        /// The target model's name.
        model: &'static str,
        /// The key, as text.
        key: String,
    },

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
    #[error("{model} has no {what} `{name}`; valid {what}s: {}", .valid.join(", "))]
    InvalidLookup {
        /// The model's name.
        model: &'static str,
        /// `field` or `lookup`.
        what: &'static str,
        /// The name that was given.
        name: String,
        /// The names that would have been accepted.
        valid: Vec<String>,
    },

    /// A value that cannot be used for a field (runtime filters, `update_or_create`).
    #[error("invalid value for {model}.{field}: {reason}")]
    InvalidValue {
        /// The model's name.
        model: &'static str,
        /// The field's name.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },

    /// A field's value broke a rule (`max_length`, a `validate = ..` function),
    /// found before anything was sent.
    #[error("{model}.{field}: {message}")]
    Validation {
        /// The model's name.
        model: &'static str,
        /// The field's name.
        field: &'static str,
        /// What rule the value broke.
        message: String,
    },

    /// A query that cannot be run as asked (e.g. `update()` after slicing).
    #[error("invalid query on {model}: {reason}")]
    InvalidQuery {
        /// The model's name.
        model: &'static str,
        /// What is wrong.
        reason: String,
    },

    /// A column of a row could not be decoded into the field's type.
    #[error("cannot decode column `{column}` of {model}: {}", reason(.source))]
    Decode {
        /// The model's name.
        model: &'static str,
        /// The column.
        column: &'static str,
        /// The decoding error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// No connection became free in the pool's wait timeout.
    #[error("timed out waiting for a database connection from the pool ({0})")]
    PoolTimeout(String),

    /// The pool could not be built or could not open a connection.
    #[error("connection pool error: {0}")]
    Pool(String),

    /// A connection URL or option that cannot be used.
    #[error("invalid database configuration: {0}")]
    Config(String),

    /// A migration folder or run that cannot proceed: a gap or conflict in
    /// the history, an applied file edited since, destructive steps without
    /// the flag, a failed (rolled back) migration.
    #[error("migrations: {0}")]
    Migration(String),

    /// Any other error reported by the server or the driver.
    #[error("database error: {}", describe(.0))]
    Database(#[source] tokio_postgres::Error),
}

fn constraint_label(constraint: Option<&str>, table: Option<&str>, column: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(c) = constraint {
        out.push_str(&format!(" `{c}`"));
    }
    match (table, column) {
        (Some(t), Some(c)) => out.push_str(&format!(" on {t}.{c}")),
        (Some(t), None) => out.push_str(&format!(" on {t}")),
        _ => {}
    }
    out
}

/// The innermost cause (tokio-postgres shows only "error deserializing column N").
fn reason(err: &tokio_postgres::Error) -> String {
    let mut cause: &dyn std::error::Error = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The server's message, detail and SQLSTATE (tokio-postgres shows only "db error").
fn describe(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => {
            let mut out = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                out.push_str(&format!("; {detail}"));
            }
            out
        }
        None => err.to_string(),
    }
}

impl Error {
    /// The name of the violated constraint, for [`Error::Integrity`].
    pub fn constraint(&self) -> Option<&str> {
        match self {
            Error::Integrity { constraint, .. } => constraint.as_deref(),
            _ => None,
        }
    }

    /// True for [`Error::Integrity`] of the given kind.
    pub fn is_integrity(&self, kind: IntegrityKind) -> bool {
        matches!(self, Error::Integrity { kind: k, .. } if *k == kind)
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
        Error::Integrity {
            kind,
            constraint: db.constraint().map(str::to_owned),
            table: db.table().map(str::to_owned),
            column: db.column().map(str::to_owned),
            message: db.message().to_owned(),
            source: err,
        }
    }
}
