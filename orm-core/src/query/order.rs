//! Ordering terms for [`QuerySet::order_by`](crate::QuerySet::order_by).

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::meta::{FieldMeta, ModelMeta};
use crate::sql::clauses::{Nulls, Sort};

/// One `ORDER BY` term: a typed field handle's `.asc()` / `.desc()`,
/// `F("name").asc()`, or a Django-style name (`"name"`, `"-karma"`),
/// checked when the query runs; [`nulls_first`](OrderBy::nulls_first) /
/// [`nulls_last`](OrderBy::nulls_last) place the NULLs.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy(Term, Nulls);

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Field {
        field: &'static FieldMeta,
        desc: bool,
    },
    Name(Cow<'static, str>),
    /// An expression other than a field: not orderable (yet); reported
    /// when the query runs.
    Invalid(String),
}

impl OrderBy {
    pub(crate) fn field(field: &'static FieldMeta, desc: bool) -> Self {
        OrderBy(Term::Field { field, desc }, Nulls::Default)
    }

    /// An ordering by `F(name)` (`"-name"` when `desc`).
    pub(crate) fn named(name: String, desc: bool) -> Self {
        let name = if desc { format!("-{name}") } else { name };
        OrderBy(Term::Name(Cow::Owned(name)), Nulls::Default)
    }

    /// An ordering that cannot be sent, and why.
    pub(crate) fn invalid(why: String) -> Self {
        OrderBy(Term::Invalid(why), Nulls::Default)
    }

    /// NULLs first, whatever the direction (Django's `nulls_first=True`).
    #[must_use]
    pub fn nulls_first(self) -> Self {
        OrderBy(self.0, Nulls::First)
    }

    /// NULLs last, whatever the direction (Django's `nulls_last=True`).
    #[must_use]
    pub fn nulls_last(self) -> Self {
        OrderBy(self.0, Nulls::Last)
    }

    /// Resolves the term against `meta`.
    pub(crate) fn resolve(&self, meta: &ModelMeta) -> Result<Sort> {
        let (field, desc) = self.resolve_term(meta)?;
        Ok(Sort {
            field,
            desc,
            nulls: self.1,
        })
    }

    fn resolve_term(&self, meta: &ModelMeta) -> Result<(&'static FieldMeta, bool)> {
        match &self.0 {
            Term::Invalid(why) => Err(Error::from(crate::error::QueryError {
                model: meta.name,
                reason: why.clone(),
            })),
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
        OrderBy(Term::Name(Cow::Borrowed(name)), Nulls::Default)
    }
}

impl From<String> for OrderBy {
    fn from(name: String) -> Self {
        OrderBy(Term::Name(Cow::Owned(name)), Nulls::Default)
    }
}

/// Ordering by `F(..)`, as Django's `F("rating").desc(nulls_last=True)`
/// (here `F("rating").desc().nulls_last()`): a field of the model, by
/// name. Ordering by another expression is not supported yet: the query
/// reports [`Error::InvalidQuery`] when it runs.
impl crate::sql::expr::Expr {
    /// Ascending order on this field.
    pub fn asc(self) -> OrderBy {
        self.order(false)
    }

    /// Descending order on this field.
    pub fn desc(self) -> OrderBy {
        self.order(true)
    }

    fn order(self, desc: bool) -> OrderBy {
        match self {
            crate::sql::expr::Expr::Field(name) if !name.starts_with(['-', '+']) => {
                OrderBy::named(name, desc)
            }
            other => OrderBy::invalid(format!(
                "order_by() takes a field (F(\"name\")), not the expression {other:?}"
            )),
        }
    }
}
