//! `F` expressions: a field's value in a filter or an update, with
//! arithmetic (`F("balance") + 100`, `F("views") * 2`, `F("author__karma")`).

use std::ops::{Add, Div, Mul, Sub};

use crate::error::{Error, Result};
use crate::meta::{FieldMeta, ModelMeta};
use crate::query::lookup::{check_len, too_deep, MAX_RELATIONS};
use crate::relation::{Hop, RelationKind};
use crate::sql::condition::Scope;
use crate::sql::SqlWriter;
use crate::types::SqlType;
use crate::value::Value;

/// An expression over a row's fields and values, for filters
/// (`q!(views__gt = F("author__karma"))`) and updates
/// (`q!(balance = F("balance") + 100)`). Field names are checked when the
/// query runs; a path may follow foreign keys and one-to-ones.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A field of the queried model, or one reached through forward relations.
    Field(String),
    /// A bound value.
    Value(Value),
    /// `left <op> right`.
    Binary(Box<Expr>, Arith, Box<Expr>),
    /// A field of the enclosing query's row, inside an [`Exists`](crate::query::Exists).
    Outer(String),
}

/// An arithmetic operator of an [`Expr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// Inside an [`Exists`](crate::query::Exists) query: field `name` of the
/// enclosing query's row (Django's `OuterRef("name")`).
#[allow(non_snake_case)]
pub fn OuterRef(name: &str) -> Expr {
    Expr::Outer(name.to_owned())
}

/// The value of field `name` of the row (Django's `F("name")`).
#[allow(non_snake_case)]
pub fn F(name: &str) -> Expr {
    Expr::Field(name.to_owned())
}

macro_rules! from_value {
    ($($ty:ty => $variant:ident),*) => {$(
        impl From<$ty> for Expr {
            fn from(v: $ty) -> Expr {
                Expr::Value(Value::$variant(Some(v)))
            }
        }
    )*};
}
from_value!(i16 => I16, i32 => I32, i64 => I64, f32 => F32, f64 => F64);

impl From<Value> for Expr {
    fn from(v: Value) -> Expr {
        Expr::Value(v)
    }
}

macro_rules! arith {
    ($trait:ident, $method:ident, $op:ident) => {
        impl<R: Into<Expr>> $trait<R> for Expr {
            type Output = Expr;
            fn $method(self, rhs: R) -> Expr {
                Expr::Binary(Box::new(self), Arith::$op, Box::new(rhs.into()))
            }
        }
    };
}
arith!(Add, add, Add);
arith!(Sub, sub, Sub);
arith!(Mul, mul, Mul);
arith!(Div, div, Div);

/// A resolved field reference: its column, and the forward relations to
/// reach it (rendered as a scalar subquery).
fn resolve(meta: &'static ModelMeta, name: &str) -> Result<(Vec<Hop>, &'static str)> {
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
            Expr::Field(_) | Expr::Outer(_) => false,
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
            Expr::Binary(l, _, r) => {
                let (l, r) = (
                    numeric(l.result_type(meta)?)?,
                    numeric(r.result_type(meta)?)?,
                );
                Ok(if l == SqlType::Double || r == SqlType::Double {
                    SqlType::Double
                } else {
                    SqlType::BigInt
                })
            }
            Expr::Outer(name) => Err(Error::from(crate::error::QueryError {
                model: meta.name,
                reason: format!("OuterRef(\"{name}\") is only meaningful inside Exists(..)"),
            })),
        }
    }

    /// Renders the expression cast to `ty` when it is arithmetic, so its
    /// value decodes as [`result_type`](Self::result_type) says.
    pub(crate) fn push_typed(&self, w: &mut SqlWriter, scope: Scope<'_>, ty: SqlType) {
        self.push_sql(w, scope);
        if matches!(self, Expr::Binary(..) | Expr::Value(_)) {
            w.push_sql("::");
            w.push_text(&ty.ddl(None));
        }
    }

    /// Renders the expression in `scope` (names were checked).
    pub(crate) fn push_sql(&self, w: &mut SqlWriter, scope: Scope<'_>) {
        match self {
            // A float says so: next to an integer column PostgreSQL would
            // take the parameter for an integer and refuse the value.
            Expr::Value(v @ (Value::F32(_) | Value::F64(_))) => {
                w.push_bind(v.clone());
                w.push_sql("::double precision");
            }
            Expr::Value(v) => w.push_bind(v.clone()),
            Expr::Binary(l, op, r) => {
                w.push_sql("(");
                l.push_sql(w, scope);
                w.push_sql(match op {
                    Arith::Add => " + ",
                    Arith::Sub => " - ",
                    Arith::Mul => " * ",
                    Arith::Div => " / ",
                });
                r.push_sql(w, scope);
                w.push_sql(")");
            }
            Expr::Outer(name) => match scope.outer {
                Some((alias, meta)) => match resolve(meta, name) {
                    Ok((hops, column)) if hops.is_empty() => w.push_column(alias, column),
                    _ => w.push_sql("NULL"),
                },
                None => w.push_sql("NULL"),
            },
            Expr::Field(name) => {
                let (row_alias, row_meta) = scope.row;
                let Ok((hops, column)) = resolve(row_meta, name) else {
                    w.push_sql("NULL");
                    return;
                };
                if hops.is_empty() {
                    w.push_column(row_alias, column);
                    return;
                }
                // (SELECT "F2"."karma" FROM "users" AS "F1" JOIN .. WHERE "F1"."id" = outer.author_id)
                let mut aliases = Vec::new();
                for depth in 1..=hops.len() {
                    aliases.push(format!("F{}_{depth}", scope.depth));
                }
                w.push_sql("(SELECT ");
                w.push_column(&aliases[hops.len() - 1], column);
                w.push_sql(" FROM ");
                for (i, hop) in hops.iter().enumerate() {
                    let Hop::Key {
                        target,
                        target_col,
                        source_col,
                    } = hop
                    else {
                        continue;
                    };
                    if i > 0 {
                        w.push_sql(" JOIN ");
                    }
                    w.push_ident(target.table);
                    w.push_sql(" AS ");
                    w.push_ident(&aliases[i]);
                    if i > 0 {
                        w.push_sql(" ON ");
                        w.push_column(&aliases[i], target_col);
                        w.push_sql(" = ");
                        w.push_column(&aliases[i - 1], source_col);
                    }
                }
                if let Some(Hop::Key {
                    target_col,
                    source_col,
                    ..
                }) = hops.first()
                {
                    w.push_sql(" WHERE ");
                    w.push_column(&aliases[0], target_col);
                    w.push_sql(" = ");
                    w.push_column(row_alias, source_col);
                }
                w.push_sql(")");
            }
        }
    }
}

/// The SQL type a bound value has, for the types an expression can hold.
fn value_type(v: &Value) -> Option<SqlType> {
    Some(match v {
        Value::Bool(_) => SqlType::Bool,
        Value::I16(_) => SqlType::SmallInt,
        Value::I32(_) => SqlType::Integer,
        Value::I64(_) => SqlType::BigInt,
        Value::F32(_) => SqlType::Real,
        Value::F64(_) => SqlType::Double,
        Value::Text(_) => SqlType::Text,
        _ => return None,
    })
}
