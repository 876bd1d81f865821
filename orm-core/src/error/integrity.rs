//! A violated integrity constraint, read from the server's error.

use std::fmt;

use tokio_postgres::error::DbError;

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

/// A violated integrity constraint ([`Error::Integrity`](crate::Error::Integrity)). Everything is
/// read from the server's error, which is kept as the source.
#[derive(Debug, thiserror::Error)]
#[error("{} violated: {}", self.label(), self.detail().unwrap_or(self.message()))]
pub struct IntegrityError {
    pub(super) kind: IntegrityKind,
    #[source]
    pub(super) source: tokio_postgres::Error,
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

    pub(super) fn db(&self) -> Option<&DbError> {
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
