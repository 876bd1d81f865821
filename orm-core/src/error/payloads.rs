//! What the boxed variants of [`Error`] carry: an unknown lookup, a bad
//! value, a broken rule, a dangling key, a query that cannot run, a column
//! that cannot be decoded.

use super::*;

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

/// Parameters of a query string that a filter set refused
/// ([`Error::InvalidFilters`]): each with its messages, in the order
/// given, as Django REST framework answers with a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filters on {model}: {}", .errors.iter().map(|(p, m)| format!("`{p}`: {m}")).collect::<Vec<_>>().join("; "))]
#[non_exhaustive]
pub struct FilterErrors {
    /// The model's name.
    pub model: &'static str,
    /// `(parameter, message)` for each refused parameter.
    pub errors: Vec<(String, String)>,
}
