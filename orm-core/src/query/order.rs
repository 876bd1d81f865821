//! Ordering terms for [`QuerySet::order_by`](crate::QuerySet::order_by).

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::meta::{FieldMeta, ModelMeta};

/// One `ORDER BY` term: a typed field handle's `.asc()` / `.desc()`, or a
/// Django-style name (`"name"`, `"-karma"`), checked when the query runs.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy(Term);

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Field {
        field: &'static FieldMeta,
        desc: bool,
    },
    Name(Cow<'static, str>),
}

impl OrderBy {
    pub(crate) fn field(field: &'static FieldMeta, desc: bool) -> Self {
        OrderBy(Term::Field { field, desc })
    }

    /// Resolves the term against `meta`: `(column, descending)`.
    pub(crate) fn resolve(&self, meta: &ModelMeta) -> Result<(&'static FieldMeta, bool)> {
        match &self.0 {
            Term::Field { field, desc } => Ok((field, *desc)),
            Term::Name(name) => {
                let (desc, bare) = match name.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, name.strip_prefix('+').unwrap_or(name)),
                };
                let field = meta.field(bare).ok_or_else(|| {
                    Error::from(crate::error::LookupError {
                        model: meta.name,
                        what: "field",
                        name: bare.to_owned(),
                        valid: meta.field_names(),
                    })
                })?;
                Ok((field, desc))
            }
        }
    }
}

impl From<&'static str> for OrderBy {
    fn from(name: &'static str) -> Self {
        OrderBy(Term::Name(Cow::Borrowed(name)))
    }
}

impl From<String> for OrderBy {
    fn from(name: String) -> Self {
        OrderBy(Term::Name(Cow::Owned(name)))
    }
}
