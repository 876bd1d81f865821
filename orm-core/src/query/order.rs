//! Ordering terms for [`QuerySet::order_by`](crate::QuerySet::order_by).

use std::borrow::Cow;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::meta::{FieldMeta, ModelMeta};
use crate::query::paths::{PathPlan, Reach};
use crate::sql::clauses::{Nulls, Sort, SortKey};
use crate::sql::expr::Expr;

/// One `ORDER BY` term: a typed field handle's `.asc()` / `.desc()`,
/// `F("name").asc()`, an expression (`(F("likes") + F("views")).desc()`),
/// or a Django-style name (`"name"`, `"-karma"`, `"author__name"`),
/// checked when the query runs; [`nulls_first`](OrderBy::nulls_first) /
/// [`nulls_last`](OrderBy::nulls_last) place the NULLs.
///
/// A name may cross relations (`"author__name"`, `"-author__profile__website"`):
/// each relation is a `LEFT JOIN`, so a row without a related row is kept,
/// its value NULL (last ascending, first descending). A bare forward
/// relation (`"author"`) orders by its key column (`author_id`): Django
/// would use the related model's `Meta.ordering`, which models here do not
/// have. On model rows, a relation to many rows (`"tags__name"`) is
/// refused: order by an aggregate of it (`Min("tags__name")`) instead; a
/// [`values`](crate::QuerySet::values) query joins it as Django does, one
/// row per related row.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy(Term, Nulls);

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Field {
        field: &'static FieldMeta,
        desc: bool,
    },
    Name(Cow<'static, str>),
    /// An expression other than a bare field, checked when the query runs.
    Expr(Arc<Expr>, bool),
    /// Not orderable; reported when the query runs.
    Invalid(String),
}

/// An ordering term resolved for a query with outputs (annotations,
/// aggregates): a sort, or an output by its name.
#[derive(Debug, Clone)]
pub(crate) enum Resolved {
    Sort(Sort),
    Output(String, bool, Nulls),
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

    /// The term as an expression over the row, its direction and NULLs'
    /// place (a window's `ORDER BY`, which the SQL layer checks against
    /// the model); `Err`: why it cannot be one.
    pub(crate) fn into_expr(self) -> std::result::Result<(Expr, bool, Nulls), String> {
        let nulls = self.1;
        match self.0 {
            Term::Field { field, desc } => Ok((Expr::Field(field.name.to_owned()), desc, nulls)),
            Term::Name(name) => {
                let (desc, bare) = match name.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, name.strip_prefix('+').unwrap_or(&name)),
                };
                Ok((Expr::Field(bare.to_owned()), desc, nulls))
            }
            Term::Expr(expr, desc) => Ok((Arc::unwrap_or_clone(expr), desc, nulls)),
            Term::Invalid(why) => Err(why),
        }
    }

    /// Resolves the term against `meta`'s own fields (no join can be
    /// written where this is used).
    pub(crate) fn resolve(&self, meta: &'static ModelMeta) -> Result<Sort> {
        self.resolve_in(&mut PathPlan::new(meta, &[], Reach::Own))
    }

    /// Resolves the term, planning the joins of a path across relations
    /// in `plan`.
    pub(crate) fn resolve_in(&self, plan: &mut PathPlan<'_>) -> Result<Sort> {
        match self.resolve_among(plan, &[])? {
            Resolved::Sort(sort) => Ok(sort),
            // No outputs to name.
            Resolved::Output(name, ..) => Err(Error::from(crate::error::QueryError {
                model: plan.root().name,
                reason: format!("no output named {name}"),
            })),
        }
    }

    /// Resolves the term where `outputs` (annotation or aggregate names)
    /// may be named too; a name is a field of the model first, then an
    /// output, then a path across relations.
    pub(crate) fn resolve_among(
        &self,
        plan: &mut PathPlan<'_>,
        outputs: &[String],
    ) -> Result<Resolved> {
        let meta = plan.root();
        let sort = |key, desc| {
            Resolved::Sort(Sort {
                key,
                desc,
                nulls: self.1,
            })
        };
        match &self.0 {
            Term::Invalid(why) => Err(Error::from(crate::error::QueryError {
                model: meta.name,
                reason: why.clone(),
            })),
            Term::Field { field, desc } => Ok(sort(
                SortKey::Column(crate::sql::joins::ColumnRef::root(field)),
                *desc,
            )),
            Term::Expr(expr, desc) => {
                expr.check(meta, None)?;
                expr.result_type(meta)?;
                Ok(sort(SortKey::Expr(expr.clone()), *desc))
            }
            Term::Name(name) => {
                let (desc, bare) = match name.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, name.strip_prefix('+').unwrap_or(name)),
                };
                if let Some(field) = meta.field(bare) {
                    let column = crate::sql::joins::ColumnRef::root(field);
                    return Ok(sort(SortKey::Column(column), desc));
                }
                if outputs.iter().any(|o| o == bare) {
                    return Ok(Resolved::Output(bare.to_owned(), desc, self.1));
                }
                match plan.column(bare) {
                    Ok(column) => Ok(sort(SortKey::Column(column), desc)),
                    // One unknown name: the outputs are valid names too.
                    Err(Error::InvalidLookup(mut e))
                        if !outputs.is_empty() && !bare.contains("__") =>
                    {
                        e.valid.extend(outputs.iter().cloned());
                        Err(Error::InvalidLookup(e))
                    }
                    Err(e) => Err(e),
                }
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
/// (here `F("rating").desc().nulls_last()`): a field of the model by name
/// (also across relations, or an annotation's name in an
/// [`annotate`](crate::QuerySet::annotate) query), or an expression over
/// the row's fields (`(F("likes") + F("views")).desc()`), checked when the
/// query runs.
impl Expr {
    /// Ascending order on this field or expression.
    pub fn asc(self) -> OrderBy {
        self.order(false)
    }

    /// Descending order on this field or expression.
    pub fn desc(self) -> OrderBy {
        self.order(true)
    }

    fn order(self, desc: bool) -> OrderBy {
        match self {
            Expr::Field(name) if !name.starts_with(['-', '+']) => OrderBy::named(name, desc),
            expr @ (Expr::Binary(..)
            | Expr::Value(_)
            | Expr::Func(_)
            | Expr::Case(_)
            | Expr::Subquery(_)) => OrderBy(Term::Expr(Arc::new(expr), desc), Nulls::Default),
            other => OrderBy::invalid(format!(
                "order_by() takes a field (F(\"name\")) or an expression over fields, not {other:?}"
            )),
        }
    }
}

/// Whether `key` is an expression holding a bound value, which PostgreSQL
/// cannot match with a copy of it elsewhere in the statement (`$1` and
/// `$2` differ).
pub(crate) fn holds_value(key: &SortKey) -> bool {
    fn has_value(expr: &Expr) -> bool {
        match expr {
            Expr::Value(_) => true,
            Expr::Binary(l, _, r) => has_value(l) || has_value(r),
            Expr::Field(_) | Expr::Outer(_) => false,
            Expr::Func(f) => f.args.iter().any(has_value),
            // Their conditions and branches may: kept out of a DISTINCT.
            Expr::Case(_) | Expr::Subquery(_) | Expr::Window(_) | Expr::Search(_) => true,
        }
    }
    matches!(key, SortKey::Expr(e) if has_value(e))
}

/// Checks the ordering of a `SELECT DISTINCT`: a value it sorts by and
/// does not select is added to the selected ones, which an expression
/// holding a bound value cannot be (PostgreSQL tells `$1` and `$2` apart).
///
/// # Errors
/// [`Error::InvalidQuery`] for such an expression.
pub(crate) fn check_distinct(meta: &ModelMeta, order: &[Sort]) -> Result<()> {
    if order.iter().any(|s| holds_value(&s.key)) {
        return Err(Error::from(crate::error::QueryError {
            model: meta.name,
            reason: "distinct() cannot be ordered by an expression holding a value \
                     (PostgreSQL sorts distinct rows by selected values only)"
                .into(),
        }));
    }
    Ok(())
}
