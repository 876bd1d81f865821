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

/// The fields' values that broke a rule ([`Error::Validation`]): the
/// first in `field` and `message`, every other in `more`, so that one
/// error reports all of a form's (or a JSON body's) mistakes at once.
/// [`errors`](ValidationError::errors) lists them all.
///
/// A hook returns one as `Err(ValidationError::new(model, field, message).into())`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{model}.{field}: {message}{}", more_errors(.more))]
pub struct ValidationError {
    /// The model's name.
    pub model: &'static str,
    /// The first field's name ([`NON_FIELD_ERRORS`](ValidationError::NON_FIELD_ERRORS)
    /// for an error of the whole object).
    pub field: &'static str,
    /// What rule the first field's value broke.
    pub message: String,
    /// The other fields' errors, in the order they were found.
    pub more: Vec<FieldError>,
}

/// One field's error in a [`ValidationError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name ([`ValidationError::NON_FIELD_ERRORS`] for an
    /// error of the whole object).
    pub field: &'static str,
    /// What rule its value broke.
    pub message: String,
}

impl ValidationError {
    /// The field name of an error that concerns no one field (a body that
    /// is not a JSON object, a key the model does not have): `__all__`, as
    /// Django's `NON_FIELD_ERRORS`.
    pub const NON_FIELD_ERRORS: &'static str = "__all__";

    /// One field's error.
    pub fn new(model: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        ValidationError {
            model,
            field,
            message: message.into(),
            more: Vec::new(),
        }
    }

    /// The errors of several fields, `None` when there are none.
    pub fn from_errors(
        model: &'static str,
        errors: impl IntoIterator<Item = FieldError>,
    ) -> Option<Self> {
        let mut errors = errors.into_iter();
        let first = errors.next()?;
        Some(ValidationError {
            model,
            field: first.field,
            message: first.message,
            more: errors.collect(),
        })
    }

    /// Every field's error, the first one first.
    pub fn errors(&self) -> impl Iterator<Item = FieldError> + '_ {
        std::iter::once(FieldError {
            field: self.field,
            message: self.message.clone(),
        })
        .chain(self.more.iter().cloned())
    }

    /// The names of the fields in error, in order (a field with two broken
    /// rules is named twice).
    pub fn fields(&self) -> Vec<&'static str> {
        std::iter::once(self.field)
            .chain(self.more.iter().map(|e| e.field))
            .collect()
    }
}

/// The errors after the first, as `; field: message` each.
fn more_errors(more: &[FieldError]) -> String {
    more.iter()
        .map(|e| format!("; {}: {}", e.field, e.message))
        .collect()
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
