//! [`ValuesQuery`]: Django's `values(..)`, with `annotate(..)` for
//! `GROUP BY`, and as a one-column subquery for `__in`.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use crate::db;
use crate::error::{Error, Result};
use crate::meta::FieldMeta;
use crate::model::Model;
use crate::query::having::{HavingQ, HQ};
use crate::query::order::{self, holds_value, OrderBy};
use crate::query::paths::{PathPlan, Reach};
use crate::query::q::check_nul;
use crate::query::q::{InArg, InOperand, Node, Subquery};
use crate::query::values::{resolve_fields, Aggregate, Record, Resolved};
use crate::query::QuerySet;
use crate::sql::clauses::Nulls;
use crate::sql::grouped::{self, OrderKey, OutputNode, Tail, ValuesSelect};
use crate::sql::Statement;
use crate::types::SqlType;
use crate::value::Value;

/// The named fields of the rows of a query; see [`QuerySet::values`].
pub struct ValuesQuery<M> {
    qs: QuerySet<M>,
    fields: Vec<String>,
    aggregates: Vec<Aggregate>,
    having: HavingQ,
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
            having: HavingQ::all(),
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
    /// `__in` with an array (`[1i64, 2]`), `__range` with an array of two,
    /// and the text lookups on text aggregates; every lookup of
    /// [`HavingQ`]. Several calls all hold.
    #[must_use]
    pub fn having(self, key: &str, value: impl Into<Value>) -> Self {
        self.having_q(HQ(key, value))
    }

    /// Keeps the groups matching a combination of conditions on the
    /// aggregates, as Django's `filter(Q(n__gte=3) | Q(n__isnull=True))`
    /// after `values(..).annotate(..)`: `having_q(HQ("id__count__gte", 3i64)
    /// | !HQ("karma__sum__lt", 10i64))`. ANDed with earlier calls.
    #[must_use]
    pub fn having_q(mut self, q: HavingQ) -> Self {
        self.having = std::mem::replace(&mut self.having, HavingQ::all()) & q;
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
        let Some((stmt, names, types)) = self.compile()? else {
            return Ok(Vec::new());
        };
        let db = db::resolve(self.qs.db.as_ref())?;
        let rows = db.query(&stmt.sql, &stmt.binds).await?;
        rows.iter()
            .map(|row| Record::read(&names, &types, row, 0))
            .collect()
    }

    /// The statement that would be sent (`None`: nothing can match, so
    /// nothing is sent), for logs and tests.
    ///
    /// # Errors
    /// As [`fetch`](Self::fetch), before anything is sent.
    pub fn sql(&self) -> Result<Option<Statement>> {
        Ok(self.compile()?.map(|(stmt, ..)| stmt))
    }

    /// The statement, the names of its columns and their types.
    #[allow(clippy::type_complexity)]
    fn compile(&self) -> Result<Option<(Statement, Arc<[String]>, Vec<SqlType>)>> {
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
        let filter = self.qs.scoped_filter().simplify();
        let filter =
            crate::tenant::restrict(meta, self.qs.all_tenants, std::borrow::Cow::Owned(filter))?
                .into_owned();
        filter.check_relations()?;
        filter.check_exprs(meta)?;
        check_nul(meta, &filter)?;
        if matches!(filter, Node::Nothing) || self.qs.limit == Some(0) {
            return Ok(None);
        }
        let targets: Vec<(String, SqlType, &Resolved)> = aggregates
            .iter()
            .map(|r| (r.name.clone(), r.ty, r))
            .collect();
        let having = self.having.resolve(meta.name, "aggregate", &targets)?;
        if matches!(having, OutputNode::Nothing) {
            // An empty `in`: no group matches.
            return Ok(None);
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
        Ok(Some((stmt, names, types)))
    }
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
        InOperand::Query(self.into_subquery())
    }
}

impl<M: Model> ValuesQuery<M> {
    /// The query as a one-column subquery (an `__in` operand, a scalar
    /// `Subquery(..)`): what cannot be one is its error, reported when
    /// the outer query runs.
    pub(crate) fn into_subquery(self) -> Box<Subquery> {
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
                error.get_or_insert(format!("a subquery selects one field, not {}", names.len()));
                None
            }
        };
        if !self.aggregates.is_empty() {
            error.get_or_insert("a subquery cannot annotate".into());
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
        Box::new(Subquery {
            meta,
            column,
            filter: crate::tenant::restrict_subquery(
                meta,
                self.qs.all_tenants,
                self.qs.scoped_filter().simplify(),
                &mut error,
            ),
            order,
            limit: self.qs.limit,
            offset: self.qs.offset,
            error,
            whole_key: false,
        })
    }
}

/// A query set as an `__in` operand: its rows' primary keys, which Django
/// implies (`q!(author__in = User::filter(q!(karma__gte = 10)))`).
#[diagnostic::do_not_recommend]
impl<M: Model, T> InArg<T> for QuerySet<M> {
    fn into_in(self) -> InOperand {
        let pk = M::META.pk_field().name;
        let mut operand = <ValuesQuery<M> as InArg<T>>::into_in(ValuesQuery::new(self, vec![pk]));
        // A composite key: every key field, for `pk__in` of a model with
        // the same key (Django 5.2's tuple lookups take a subquery).
        if let (true, InOperand::Query(sub)) = (M::META.has_composite_pk(), &mut operand) {
            sub.whole_key = true;
        }
        operand
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
                order::Resolved::Sort(sort) => (OrderKey::Sort(sort.key), sort.desc, sort.nulls),
                order::Resolved::Output(name, desc, nulls) => (OrderKey::Output(name), desc, nulls),
            };
            // Django's `standard_ordering`.
            Ok(match qs.reversed {
                true => (key, !desc, nulls.flipped()),
                false => (key, desc, nulls),
            })
        })
        .collect()
}
