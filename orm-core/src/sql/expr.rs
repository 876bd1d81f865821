//! Checking [`Expr`]s (`F(..)`, `OuterRef(..)`, arithmetic, functions; the
//! data is in `tree.rs`): names resolved against the metadata
//! (`F("author__karma")` across forward relations), and the type of the
//! value. `condition.rs` writes them.

use crate::error::{Error, Result};
use crate::meta::{check_len, too_deep, MAX_RELATIONS};
use crate::meta::{FieldMeta, ModelMeta};
use crate::relation::{Hop, RelationKind};
use crate::sql::tree::Subquery;
pub use crate::sql::tree::{Arith, Expr};
use crate::types::SqlType;
use crate::value::Value;

/// A resolved field reference: its column, and the forward relations to
/// reach it (rendered as a scalar subquery).
pub(crate) fn resolve(meta: &'static ModelMeta, name: &str) -> Result<(Vec<Hop>, &'static str)> {
    resolve_field(meta, name).map(|(hops, field)| (hops, field.column))
}

fn resolve_field(meta: &'static ModelMeta, name: &str) -> Result<(Vec<Hop>, &'static FieldMeta)> {
    // Split only once known to be short, and crossing a bounded number of
    // relations: a cycle of foreign keys would otherwise nest subqueries
    // as deep as the name is long.
    check_len(meta, "field in F()", name, || meta.field_names())?;
    let segments: Vec<&str> = name.split("__").collect();
    let (last, relations) = segments.split_last().unwrap_or((&"", &[]));
    let mut meta = meta;
    let mut hops = Vec::new();
    for rel_name in relations {
        if hops.len() == MAX_RELATIONS {
            return Err(too_deep(meta, "relation in F()", rel_name));
        }
        let rel = meta
            .relation(rel_name)
            .filter(|r| matches!(r.kind, RelationKind::ForeignKey | RelationKind::OneToOne))
            .ok_or_else(|| {
                Error::from(crate::error::LookupError {
                    model: meta.name,
                    what: "relation in F()",
                    name: (*rel_name).to_owned(),
                    valid: meta
                        .relations
                        .iter()
                        .filter(|r| {
                            matches!(r.kind, RelationKind::ForeignKey | RelationKind::OneToOne)
                        })
                        .map(|r| r.name.to_owned())
                        .collect(),
                })
            })?;
        hops.push(rel.hop()?);
        meta = rel.target.meta();
    }
    let field = meta.field(last).ok_or_else(|| {
        Error::from(crate::error::LookupError {
            model: meta.name,
            what: "field in F()",
            name: (*last).to_owned(),
            valid: meta.field_names(),
        })
    })?;
    Ok((hops, field))
}

impl Expr {
    /// True when a value of the expression is text with a NUL character
    /// (see [`Value::has_nul`]).
    pub(crate) fn has_nul(&self) -> bool {
        match self {
            Expr::Value(v) => v.has_nul(),
            Expr::Binary(l, _, r) => l.has_nul() || r.has_nul(),
            // Its values were checked when it was built.
            Expr::Field(_) | Expr::Outer(_) | Expr::Subquery(_) => false,
            Expr::Func(f) => f.args.iter().any(Expr::has_nul),
            Expr::Window(window) => window.has_nul(),
            Expr::Search(search) => search.has_nul(),
            // A condition's values were checked when it was built.
            Expr::Case(c) => {
                c.whens.iter().any(|w| w.then.has_nul())
                    || c.default.as_ref().is_some_and(Expr::has_nul)
            }
        }
    }

    /// Checks every field name against `meta`, and `OuterRef` names
    /// against the enclosing query's model.
    pub(crate) fn check(
        &self,
        meta: &'static ModelMeta,
        outer: Option<&'static ModelMeta>,
    ) -> Result<()> {
        match self {
            Expr::Field(name) => resolve(meta, name).map(|_| ()),
            Expr::Outer(name) => match outer {
                Some(outer) => resolve(outer, name).map(|_| ()),
                None => Err(Error::from(crate::error::QueryError {
                    model: meta.name,
                    reason: format!("OuterRef(\"{name}\") is only meaningful inside Exists(..)"),
                })),
            },
            Expr::Value(_) => Ok(()),
            Expr::Binary(l, _, r) => {
                l.check(meta, outer)?;
                r.check(meta, outer)
            }
            Expr::Func(_) | Expr::Case(_) | Expr::Window(_) | Expr::Search(_) => {
                self.known_type(meta, outer).map(|_| ())
            }
            Expr::Subquery(sub) => sub.check_scalar(meta).map(|_| ()),
        }
    }

    /// The type of the expression's value, its names and functions
    /// checked; `None` where it depends on an `OuterRef` (allowed when
    /// `outer` is given).
    fn known_type(
        &self,
        meta: &'static ModelMeta,
        outer: Option<&'static ModelMeta>,
    ) -> Result<Option<SqlType>> {
        let arg = |e: &Expr| e.known_type(meta, outer);
        match self {
            Expr::Outer(_) if outer.is_some() => {
                self.check(meta, outer)?;
                Ok(None)
            }
            Expr::Func(f) => f.result_type(meta, &arg),
            Expr::Case(c) => c.result_type(meta, &arg),
            Expr::Window(window) => window.result_type(meta, &arg),
            Expr::Search(search) => search.result_type(meta, &arg),
            Expr::Subquery(sub) => sub.check_scalar(meta).map(Some),
            Expr::Binary(l, _, r) if outer.is_some() => {
                l.check(meta, outer)?;
                r.check(meta, outer)?;
                Ok(None)
            }
            other => other.result_type(meta).map(Some),
        }
    }

    /// The SQL type of the expression's value (names were checked): a
    /// field's own type; integer arithmetic is `bigint`, arithmetic with a
    /// float `double precision`.
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] for arithmetic on a non-numeric value or an
    /// `OuterRef` outside `Exists`.
    pub(crate) fn result_type(&self, meta: &'static ModelMeta) -> Result<SqlType> {
        let numeric = |ty: SqlType| -> Result<SqlType> {
            match ty {
                SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => Ok(SqlType::BigInt),
                SqlType::Real | SqlType::Double => Ok(SqlType::Double),
                SqlType::Numeric => Ok(SqlType::Numeric),
                other => Err(Error::from(crate::error::QueryError {
                    model: meta.name,
                    reason: format!("arithmetic needs numbers, not {}", other.name()),
                })),
            }
        };
        match self {
            Expr::Field(name) => Ok(resolve_field(meta, name)?.1.sql_type),
            Expr::Value(v) => value_type(v).ok_or_else(|| {
                Error::from(crate::error::QueryError {
                    model: meta.name,
                    reason: format!("cannot annotate the value {v:?}"),
                })
            }),
            Expr::Binary(l, op, r) => {
                let (l, r) = (l.result_type(meta)?, r.result_type(meta)?);
                if let Some(ty) = temporal(l, *op, r) {
                    return Ok(ty);
                }
                let (l, r) = (numeric(l)?, numeric(r)?);
                Ok(match (l, r) {
                    // Django: "Expression contains mixed types:
                    // DecimalField, FloatField. You must set output_field."
                    (SqlType::Numeric, SqlType::Double) | (SqlType::Double, SqlType::Numeric) => {
                        return Err(Error::from(crate::error::QueryError {
                            model: meta.name,
                            reason: "arithmetic mixes numeric and double precision: \
                                     give a Cast() to one of them"
                                .into(),
                        }))
                    }
                    // An integer with a decimal is a decimal (PostgreSQL's
                    // `bigint + numeric` is `numeric`).
                    (SqlType::Numeric, _) | (_, SqlType::Numeric) => SqlType::Numeric,
                    (SqlType::Double, _) | (_, SqlType::Double) => SqlType::Double,
                    _ => SqlType::BigInt,
                })
            }
            Expr::Outer(name) => Err(Error::from(crate::error::QueryError {
                model: meta.name,
                reason: format!("OuterRef(\"{name}\") is only meaningful inside Exists(..)"),
            })),
            Expr::Subquery(sub) => sub.check_scalar(meta),
            Expr::Func(_) | Expr::Case(_) | Expr::Window(_) | Expr::Search(_) => {
                match self.known_type(meta, None)? {
                    Some(ty) => Ok(ty),
                    None => Err(Error::from(crate::error::QueryError {
                        model: meta.name,
                        reason: format!("cannot tell the type of {self:?}: give a Cast()"),
                    })),
                }
            }
        }
    }
}

impl Expr {
    /// True when the expression holds a window function (which PostgreSQL
    /// computes after `WHERE`: a condition on it filters an outer query).
    pub(crate) fn has_window(&self) -> bool {
        match self {
            Expr::Window(_) => true,
            Expr::Search(_) => false,
            Expr::Binary(l, _, r) => l.has_window() || r.has_window(),
            Expr::Func(f) => f.args.iter().any(Expr::has_window),
            Expr::Case(c) => {
                c.whens.iter().any(|w| w.then.has_window())
                    || c.default.as_ref().is_some_and(Expr::has_window)
            }
            Expr::Field(_) | Expr::Value(_) | Expr::Outer(_) | Expr::Subquery(_) => false,
        }
    }
}

impl Subquery {
    /// Checks a scalar subquery used in a query over `outer` (its
    /// `OuterRef`s name `outer`'s fields) and returns its column's type.
    pub(crate) fn check_scalar(&self, outer: &'static ModelMeta) -> Result<SqlType> {
        let invalid = |reason: String| {
            Error::from(crate::error::QueryError {
                model: self.meta.name,
                reason,
            })
        };
        if let Some(error) = &self.error {
            return Err(invalid(error.clone()));
        }
        let Some(column) = self.column else {
            return Err(invalid(
                "Subquery() selects one field: use values(\"field\")".into(),
            ));
        };
        self.filter.check_relations()?;
        self.filter.check_exprs_in(self.meta, Some(outer))?;
        Ok(column.sql_type)
    }
}

/// The type of date and time arithmetic, as PostgreSQL's operators give it
/// (Django's `CombinedExpression` connector table for `DurationField`):
/// timestamps (and times) subtract to an `interval` (Django's
/// `TemporalSubtraction`: `F("ends") - F("starts")`), an interval added to or
/// subtracted from a timestamp is a timestamp of that kind (a `date` one is a
/// `timestamp`), intervals add up, and scale by a number. `None` for other
/// operands (numbers, or a combination PostgreSQL has no operator for).
fn temporal(l: SqlType, op: super::tree::Arith, r: SqlType) -> Option<SqlType> {
    use super::tree::Arith::{Add, Div, Mul, Sub};
    use SqlType as T;
    let number = |t: SqlType| {
        matches!(
            t,
            T::SmallInt | T::Integer | T::BigInt | T::Real | T::Double | T::Numeric
        )
    };
    Some(match (l, op, r) {
        (T::Timestamp, Sub, T::Timestamp)
        | (T::TimestampTz, Sub, T::TimestampTz)
        | (T::Time, Sub, T::Time)
        | (T::Interval, Add | Sub, T::Interval) => T::Interval,
        (T::Timestamp | T::TimestampTz | T::Time, Add | Sub, T::Interval) => l,
        (T::Interval, Add, T::Timestamp | T::TimestampTz | T::Time) => r,
        (T::Date, Add | Sub, T::Interval) | (T::Interval, Add, T::Date) => T::Timestamp,
        (T::Interval, Mul | Div, n) if number(n) => T::Interval,
        (n, Mul, T::Interval) if number(n) => T::Interval,
        _ => return None,
    })
}

/// The SQL type a bound value has, for the types an expression can hold.
pub(crate) fn value_type(v: &Value) -> Option<SqlType> {
    Some(match v {
        Value::Bool(_) => SqlType::Bool,
        Value::I16(_) => SqlType::SmallInt,
        Value::I32(_) => SqlType::Integer,
        Value::I64(_) => SqlType::BigInt,
        Value::F32(_) => SqlType::Real,
        Value::F64(_) => SqlType::Double,
        Value::Text(_) => SqlType::Text,
        Value::Bytes(_) => SqlType::Bytea,
        Value::Date(_) => SqlType::Date,
        Value::Time(_) => SqlType::Time,
        Value::Timestamp(_) => SqlType::Timestamp,
        Value::TimestampTz(_) => SqlType::TimestampTz,
        Value::Uuid(_) => SqlType::Uuid,
        Value::Json(_) => SqlType::Jsonb,
        Value::Decimal(_) => SqlType::Numeric,
        Value::Inet(_) => SqlType::Inet,
        Value::Interval(_) => SqlType::Interval,
        _ => return None,
    })
}
