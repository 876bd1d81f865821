//! [`ValuesQuery`]: Django's `values(..)`, with `annotate(..)` for
//! `GROUP BY`, and as a one-column subquery for `__in`.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use crate::db;
use crate::error::{Error, Result};
use crate::meta::FieldMeta;
use crate::model::Model;
use crate::query::lookup::shown;
use crate::query::order::{holds_value, OrderBy, Resolved};
use crate::query::paths::{PathPlan, Reach};
use crate::query::q::check_nul;
use crate::query::q::{InArg, InOperand, Node, Subquery};
use crate::query::values::{resolve_fields, Aggregate, Record};
use crate::query::QuerySet;
use crate::sql::clauses::Nulls;
use crate::sql::grouped::{self, OrderKey, OutputOp, Tail, ValuesSelect};
use crate::types::SqlType;
use crate::value::Value;

/// The named fields of the rows of a query; see [`QuerySet::values`].
pub struct ValuesQuery<M> {
    qs: QuerySet<M>,
    fields: Vec<String>,
    aggregates: Vec<Aggregate>,
    having: Vec<(String, Value)>,
    order: Option<Vec<OrderBy>>,
}

impl<M: Model> std::fmt::Debug for ValuesQuery<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValuesQuery")
            .field("query", &self.qs)
            .finish_non_exhaustive()
    }
}

impl<M: Model> ValuesQuery<M> {
    pub(crate) fn new(qs: QuerySet<M>, fields: Vec<&str>) -> Self {
        ValuesQuery {
            qs,
            fields: fields.into_iter().map(str::to_owned).collect(),
            aggregates: Vec::new(),
            having: Vec::new(),
            order: None,
        }
    }

    /// Aggregates per group of the selected fields (`GROUP BY`), as
    /// Django's `values(..).annotate(..)`:
    /// `User::all().values("karma").annotate([Count("id")])`.
    #[must_use]
    pub fn annotate(mut self, aggregates: impl IntoIterator<Item = Aggregate>) -> Self {
        self.aggregates.extend(aggregates);
        self
    }

    /// Keeps the groups whose aggregate matches (`HAVING`): `"id__count__gte"`,
    /// `"total__lt"`, a bare name for equality, `__isnull` with a bool,
    /// `__in` with an array (`[1i64, 2]`), `__range` with an array of two.
    #[must_use]
    pub fn having(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.having.push((key.to_owned(), value.into()));
        self
    }

    /// Orders by fields (also across relations: `"author__name"`),
    /// aggregate names (`"-id__count"`) or [`OrderBy`] terms
    /// (`F("id__count").desc().nulls_last()`), replacing the query's
    /// ordering.
    #[must_use]
    pub fn order_by<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<OrderBy>,
    {
        self.order = Some(names.into_iter().map(Into::into).collect());
        self
    }

    fn field_names(&self) -> Vec<&str> {
        self.fields.iter().map(String::as_str).collect()
    }

    /// Runs the query: one [`Record`] per row, or per group with `annotate`.
    ///
    /// A field across a relation (`"author__name"`, `"tags__name"`) is a
    /// `LEFT JOIN`, as Django's: one row per related row, and one with
    /// NULL for a row without any; the record names it as asked.
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] for an unknown field, relation or
    /// aggregate name; database errors.
    pub async fn fetch(self) -> Result<Vec<Record>> {
        let meta = M::META;
        let mut plan = PathPlan::new(meta, &[], Reach::Many);
        let fields = self
            .fields
            .iter()
            .map(|name| plan.column(name))
            .collect::<Result<Vec<_>>>()?;
        let mut aggregates = Vec::new();
        for agg in &self.aggregates {
            let resolved = agg.resolve(meta)?;
            if !resolved.hops.is_empty() {
                return Err(Error::from(crate::error::QueryError {
                    model: meta.name,
                    reason: format!(
                        "values(..).annotate({}) groups this model's own fields; \
                         aggregate across a relation with annotate() or aggregate()",
                        agg.field
                    ),
                }));
            }
            aggregates.push(resolved);
        }
        let filter = self.qs.filter.simplify();
        filter.check_relations()?;
        filter.check_exprs(meta)?;
        check_nul(meta, &filter)?;
        if matches!(filter, Node::Nothing) || self.qs.limit == Some(0) {
            return Ok(Vec::new());
        }
        let mut having = Vec::with_capacity(self.having.len());
        for (key, value) in &self.having {
            let (name, op) = output_condition(meta.name, key, value)?;
            let Some(r) = aggregates.iter().find(|r| r.name == name) else {
                return Err(Error::from(crate::error::LookupError {
                    model: meta.name,
                    what: "aggregate",
                    name: shown(name),
                    valid: aggregates.iter().map(|r| r.name.clone()).collect(),
                }));
            };
            match op {
                Some(op) => having.push((r, op)),
                // An empty `in`: no group matches.
                None => return Ok(Vec::new()),
            }
        }
        let outputs: Vec<String> = aggregates.iter().map(|r| r.name.clone()).collect();
        let order = order_keys(&self.qs, self.order.as_deref(), &outputs, &mut plan)?;
        if (self.qs.distinct || !aggregates.is_empty())
            && order
                .iter()
                .any(|(key, ..)| matches!(key, OrderKey::Sort(key) if holds_value(key)))
        {
            return Err(Error::from(crate::error::QueryError {
                model: meta.name,
                reason: "a grouped or distinct values() query cannot be ordered by an \
                         expression holding a value"
                    .into(),
            }));
        }
        let stmt = grouped::values_select(&ValuesSelect {
            meta,
            fields: &fields,
            paths: &plan.joins,
            distinct: self.qs.distinct,
            aggregates: &aggregates,
            filter: &filter,
            having: &having,
            tail: Tail {
                order: &order,
                limit: self.qs.limit,
                offset: self.qs.offset,
            },
        });
        let db = db::resolve(self.qs.db.as_ref())?;
        let rows = db.query(&stmt.sql, &stmt.binds).await?;
        // Named as asked (`author_id`, `pk`), as Django's rows are.
        let names: Arc<[String]> = self
            .fields
            .iter()
            .cloned()
            .chain(aggregates.iter().map(|r| r.name.clone()))
            .collect();
        let types: Vec<SqlType> = fields
            .iter()
            .map(|c| c.field.sql_type)
            .chain(aggregates.iter().map(|r| r.ty))
            .collect();
        rows.iter()
            .map(|row| Record::read(&names, &types, row, 0))
            .collect()
    }
}

/// A condition on an aggregate or annotation from a key and a value, as
/// Django's lookups on them: `n__gte` (`gt`, `lt`, `lte`, `exact`, a bare
/// name for equality), `n__isnull` (a bool), `n__in` (an array:
/// `[1i64, 2]`) and `n__range` (an array of two); the name and the
/// condition, `None` when an empty `in` matches nothing.
pub(crate) fn output_condition<'k>(
    model: &'static str,
    key: &'k str,
    value: &Value,
) -> Result<(&'k str, Option<OutputOp>)> {
    let bad = |lookup: &str, wants: &str| {
        Error::from(crate::error::ValueError {
            model,
            field: "annotation",
            reason: format!("`{}` takes {wants}, got {value}", shown(lookup)),
        })
    };
    for (suffix, op) in [
        ("__gte", " >= "),
        ("__gt", " > "),
        ("__lte", " <= "),
        ("__lt", " < "),
        ("__exact", " = "),
    ] {
        if let Some(name) = key.strip_suffix(suffix) {
            return Ok((name, Some(OutputOp::Cmp(op, value.clone()))));
        }
    }
    if let Some(name) = key.strip_suffix("__isnull") {
        return match value {
            Value::Bool(Some(b)) => Ok((name, Some(OutputOp::IsNull(*b)))),
            _ => Err(bad(key, "true or false")),
        };
    }
    if let Some(name) = key.strip_suffix("__in") {
        return match value {
            Value::Array(items) if items.iter().all(|v| v.is_null()) => Ok((name, None)),
            Value::Array(items) => Ok((
                name,
                Some(OutputOp::In(Value::Array(
                    items.iter().filter(|v| !v.is_null()).cloned().collect(),
                ))),
            )),
            _ => Err(bad(key, "an array of values")),
        };
    }
    if let Some(name) = key.strip_suffix("__range") {
        return match value {
            Value::Array(items) if items.len() == 2 => Ok((
                name,
                Some(OutputOp::Range(items[0].clone(), items[1].clone())),
            )),
            _ => Err(bad(key, "an array of two values")),
        };
    }
    Ok((key, Some(OutputOp::Cmp(" = ", value.clone()))))
}

impl<M: Model> IntoFuture for ValuesQuery<M> {
    type Output = Result<Vec<Record>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Vec<Record>>> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.fetch())
    }
}

/// A one-field `values(..)` query is a subquery for `__in`.
#[diagnostic::do_not_recommend]
impl<M: Model, T> InArg<T> for ValuesQuery<M> {
    fn into_in(self) -> InOperand {
        let meta = M::META;
        let mut error = self.qs.error.as_ref().map(|(_, reason)| reason.clone());
        let column: Option<&'static FieldMeta> = match self.field_names().as_slice() {
            [one] => match resolve_fields(meta, &[one]) {
                Ok(fields) => Some(fields[0]),
                Err(err) => {
                    error.get_or_insert(err.to_string());
                    None
                }
            },
            names => {
                error.get_or_insert(format!(
                    "an `__in` subquery selects one field, not {}",
                    names.len()
                ));
                None
            }
        };
        if !self.aggregates.is_empty() {
            error.get_or_insert("an `__in` subquery cannot annotate".into());
        }
        // The ordering only picks the rows of a sliced subquery (it is not
        // written otherwise, as Django clears it); there a term it cannot
        // write (across a relation) is an error, not a silent change.
        let sliced = self.qs.limit.is_some() || self.qs.offset.is_some();
        let order = self
            .qs
            .order
            .iter()
            .filter(|_| sliced)
            .filter_map(|o| match o.resolve(meta) {
                Ok(sort) => Some(sort),
                Err(e) => {
                    error.get_or_insert(e.to_string());
                    None
                }
            })
            .map(|sort| {
                if self.qs.reversed {
                    sort.flipped()
                } else {
                    sort
                }
            })
            .collect();
        InOperand::Query(Box::new(Subquery {
            meta,
            column,
            filter: self.qs.filter.simplify(),
            order,
            limit: self.qs.limit,
            offset: self.qs.offset,
            error,
        }))
    }
}

/// A query set as an `__in` operand: its rows' primary keys, which Django
/// implies (`q!(author__in = User::filter(q!(karma__gte = 10)))`).
#[diagnostic::do_not_recommend]
impl<M: Model, T> InArg<T> for QuerySet<M> {
    fn into_in(self) -> InOperand {
        let pk = M::META.pk_field().name;
        <ValuesQuery<M> as InArg<T>>::into_in(ValuesQuery::new(self, vec![pk]))
    }
}

/// What `ORDER BY` names in `values(..)` and `annotate(..)` queries:
/// fields (also across relations, their joins planned in `plan`),
/// expressions, or output names (aggregates, annotations), `-` for
/// descending. `custom` replaces the query's own ordering when given;
/// [`reverse`](QuerySet::reverse) flips either.
pub(crate) fn order_keys<M: Model>(
    qs: &QuerySet<M>,
    custom: Option<&[OrderBy]>,
    outputs: &[String],
    plan: &mut PathPlan<'_>,
) -> Result<Vec<(OrderKey, bool, Nulls)>> {
    custom
        .unwrap_or(&qs.order)
        .iter()
        .map(|o| {
            let (key, desc, nulls) = match o.resolve_among(plan, outputs)? {
                Resolved::Sort(sort) => (OrderKey::Sort(sort.key), sort.desc, sort.nulls),
                Resolved::Output(name, desc, nulls) => (OrderKey::Output(name), desc, nulls),
            };
            // Django's `standard_ordering`.
            Ok(match qs.reversed {
                true => (key, !desc, nulls.flipped()),
                false => (key, desc, nulls),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::output_condition;
    use crate::value::Value;

    #[test]
    fn conditions_on_aggregates_take_isnull_in_and_range() {
        use crate::sql::grouped::OutputOp;
        let cond = |key: &str, value: Value| {
            output_condition("User", key, &value).map(|(n, op)| (n.to_owned(), op))
        };
        assert!(matches!(
            cond("n__isnull", Value::Bool(Some(true))),
            Ok((n, Some(OutputOp::IsNull(true)))) if n == "n"
        ));
        assert!(matches!(
            cond("n__in", [1i64, 2].into()),
            Ok((n, Some(OutputOp::In(Value::Array(v))))) if n == "n" && v.len() == 2
        ));
        assert!(matches!(
            cond("n__range", [1i64, 5].into()),
            Ok((
                _,
                Some(OutputOp::Range(Value::I64(Some(1)), Value::I64(Some(5))))
            ))
        ));
        assert!(matches!(cond("n__in", Value::Array(vec![])), Ok((_, None))));
        assert!(
            matches!(cond("n", 3i64.into()), Ok((n, Some(OutputOp::Cmp(" = ", _)))) if n == "n")
        );
        for (key, value) in [
            ("n__isnull", Value::I64(Some(1))),
            ("n__in", Value::I64(Some(1))),
            ("n__range", [1i64].into()),
        ] {
            assert!(
                matches!(cond(key, value), Err(crate::Error::InvalidValue(_))),
                "{key}"
            );
        }
    }
}
