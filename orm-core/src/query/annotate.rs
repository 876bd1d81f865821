//! `annotate(..)` on model rows: per-row aggregates across relations
//! (`Count("posts")`, `Sum("posts__views")`), each a correlated scalar
//! subquery, so two counts over different relations never inflate each
//! other (Django's joins do, unless `distinct=True`).

use std::future::{Future, IntoFuture};
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use crate::db;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::query::expr::Expr;
use crate::query::having::{HavingQ, HQ};
use crate::query::order::OrderBy;
use crate::query::paths::{PathPlan, Reach};
use crate::query::q::check_nul;
use crate::query::q::Node;
use crate::query::values::{check_alias, Aggregate, Record};
use crate::query::values_query::order_keys;
use crate::query::QuerySet;
use crate::sql::grouped::{self, AnnotateSelect, Output, OutputNode, Tail};
use crate::sql::Statement;
use crate::types::{FromValue, SqlType};
use crate::value::Value;

/// A model row with the values `annotate` computed for it; dereferences to
/// the model.
#[derive(Debug, Clone)]
pub struct Annotated<M> {
    object: M,
    values: Record,
}

impl<M> Deref for Annotated<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.object
    }
}

impl<M> Annotated<M> {
    /// The annotation called `name` as `T` (`i64` for counts).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for an unknown name or a different type.
    pub fn get<T: FromValue>(&self, name: &str) -> Result<T> {
        self.values.get(name)
    }

    /// The annotations, by name.
    pub fn annotations(&self) -> &Record {
        &self.values
    }

    /// The row itself.
    pub fn into_inner(self) -> M {
        self.object
    }
}

/// A query of model rows with annotations; see [`QuerySet::annotate`].
pub struct AnnotatedQuery<M> {
    qs: QuerySet<M>,
    aggregates: Vec<Aggregate>,
    exprs: Vec<(String, Expr)>,
    filters: HavingQ,
    order: Option<Vec<OrderBy>>,
}

impl<M: Model> std::fmt::Debug for AnnotatedQuery<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnnotatedQuery")
            .field("query", &self.qs)
            .finish_non_exhaustive()
    }
}

impl<M: Model> QuerySet<M> {
    /// Adds per-row aggregates across relations, as Django's `annotate`:
    /// `User::all().annotate([Count("posts")])`, read with
    /// `row.get::<i64>("posts__count")`. Filter on them with
    /// [`AnnotatedQuery::filter`] and order with their names.
    ///
    /// Each is a correlated subquery: two counts over different relations
    /// are each right (Django inflates them through its joins unless
    /// `distinct=True`: a deliberate difference).
    pub fn annotate(self, aggregates: impl IntoIterator<Item = Aggregate>) -> AnnotatedQuery<M> {
        AnnotatedQuery {
            qs: self,
            aggregates: aggregates.into_iter().collect(),
            exprs: Vec::new(),
            filters: HavingQ::all(),
            order: None,
        }
    }
}

impl<M: Model> QuerySet<M> {
    /// Adds a per-row expression (Django's `annotate(total=F("a") + F("b"))`);
    /// see [`AnnotatedQuery::annotate_expr`].
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct Post { #[orm(primary_key)] pub id: i64, pub views: i64, pub likes: i32 }
    /// # async fn run() -> orm_core::Result<()> {
    /// let rows = Post::all()
    ///     .annotate_expr("score", F("views") + F("likes") * 10)
    ///     .order_by(["-score"])
    ///     .await?;
    /// let best: i64 = rows[0].get("score")?;
    /// # Ok(()) }
    /// ```
    pub fn annotate_expr(self, name: &str, expr: impl Into<Expr>) -> AnnotatedQuery<M> {
        self.annotate([]).annotate_expr(name, expr)
    }
}

impl<M: Model> AnnotatedQuery<M> {
    /// Keeps the rows whose annotation matches: `"posts__count__gte"`
    /// (`gt`, `lt`, `lte`, `exact`), a bare name for equality,
    /// `"posts__count__isnull"` with a bool, `"posts__count__in"` with an
    /// array (`[1i64, 2]`) and `"posts__count__range"` with an array of two,
    /// and the text lookups on text annotations; every lookup of
    /// [`HavingQ`]. Several calls all hold.
    #[must_use]
    pub fn filter(self, key: &str, value: impl Into<Value>) -> Self {
        self.filter_q(HQ(key, value))
    }

    /// Keeps the rows matching a combination of conditions on annotations,
    /// as Django's `filter(Q(n__gte=3) | Q(n__isnull=True))` after
    /// `annotate`: `filter_q(HQ("n__gte", 3i64) | HQ("n__isnull", true))`.
    /// ANDed with earlier calls.
    #[must_use]
    pub fn filter_q(mut self, q: HavingQ) -> Self {
        self.filters = std::mem::replace(&mut self.filters, HavingQ::all()) & q;
        self
    }

    /// Orders by fields (also across foreign keys and one-to-ones:
    /// `"author__name"`), annotation names (`"-posts__count"`) or
    /// [`OrderBy`] terms (`F("posts__count").desc().nulls_last()`,
    /// `(F("likes") + F("views")).desc()`), replacing the query's ordering.
    #[must_use]
    pub fn order_by<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<OrderBy>,
    {
        self.order = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Adds a per-row expression named `name`, as Django's
    /// `annotate(name=F("views") + F("likes"))`: fields (also across
    /// foreign keys), values and `+ - * /`. Integer arithmetic reads as
    /// `i64`, arithmetic with a float as `f64`, a bare field as its type.
    /// `name` is an identifier (`[A-Za-z_][A-Za-z0-9_]*`) without `__`, of
    /// at most 63 bytes, as Django's keyword names; another is reported
    /// when the query runs, before anything is sent.
    #[must_use]
    pub fn annotate_expr(mut self, name: &str, expr: impl Into<Expr>) -> Self {
        self.exprs.push((name.to_owned(), expr.into()));
        self
    }

    /// Runs the query.
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] / [`Error::InvalidQuery`] for an unknown
    /// relation, field or annotation, or an annotation named as a field;
    /// database errors.
    pub async fn fetch(self) -> Result<Vec<Annotated<M>>> {
        let meta = M::META;
        let Some((stmt, names, types)) = self.compile()? else {
            return Ok(Vec::new());
        };
        let db = db::resolve(self.qs.db.as_ref())?;
        let width = meta.fields.len();
        let names: Arc<[String]> = names.into();
        db.load_with(&stmt.sql, stmt.binds.iter(), |row| {
            Ok(Annotated {
                object: M::from_row(row, 0)?,
                values: Record::read(&names, &types, row, width)?,
            })
        })
        .await
    }

    /// The statement that would be sent (`None`: nothing can match, so
    /// nothing is sent), for logs and tests.
    ///
    /// # Errors
    /// As [`fetch`](Self::fetch), before anything is sent.
    pub fn sql(&self) -> Result<Option<Statement>> {
        Ok(self.compile()?.map(|(stmt, ..)| stmt))
    }

    /// The statement, the annotations' names and their types.
    #[allow(clippy::type_complexity)]
    fn compile(&self) -> Result<Option<(Statement, Vec<String>, Vec<SqlType>)>> {
        let meta = M::META;
        let mut outputs: Vec<Output<'_>> = Vec::new();
        for agg in &self.aggregates {
            outputs.push(Output::Aggregate(agg.resolve_annotation(meta)?));
        }
        for (name, expr) in &self.exprs {
            check_alias(meta, "the annotation", name)?;
            expr.check(meta, None)?;
            let ty = expr.result_type(meta)?;
            outputs.push(Output::Expr(name, expr, ty));
        }
        let names: Vec<String> = outputs.iter().map(Output::name).collect();
        for (i, name) in names.iter().enumerate() {
            let clash = if meta.field(name).is_some() {
                format!("has the name of a field of {}", meta.name)
            } else if names[..i].contains(name) {
                "is given twice".to_owned()
            } else {
                continue;
            };
            return Err(Error::from(crate::error::QueryError {
                model: meta.name,
                reason: format!(
                    "the annotation `{name}` {clash}; give it another name (.alias(..))"
                ),
            }));
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
        let targets: Vec<(String, SqlType, &Output<'_>)> =
            outputs.iter().map(|o| (o.name(), o.ty(), o)).collect();
        let conditions = self.filters.resolve(meta.name, "annotation", &targets)?;
        if matches!(conditions, OutputNode::Nothing) {
            // An empty `in`: no row matches.
            return Ok(None);
        }
        let mut plan = PathPlan::new(meta, &[], Reach::Single);
        let order = order_keys(&self.qs, self.order.as_deref(), &names, &mut plan)?;
        let windowed = !matches!(conditions, OutputNode::All)
            && self.exprs.iter().any(|(_, e)| e.has_window());
        if windowed && !plan.joins.is_empty() {
            // The filtered subquery hides the joins an ordering across
            // relations needs.
            return Err(Error::from(crate::error::QueryError {
                model: meta.name,
                reason: "a filter on a window annotation cannot be combined with an ordering \
                         across relations"
                    .into(),
            }));
        }
        let stmt = grouped::annotate_select(&AnnotateSelect {
            meta,
            columns: M::statements().columns(meta),
            paths: &plan.joins,
            outputs: &outputs,
            filter: &filter,
            conditions: &conditions,
            tail: Tail {
                order: &order,
                limit: self.qs.limit,
                offset: self.qs.offset,
            },
        });
        let types: Vec<SqlType> = outputs.iter().map(Output::ty).collect();
        Ok(Some((stmt, names, types)))
    }
}

impl<M: Model> IntoFuture for AnnotatedQuery<M> {
    type Output = Result<Vec<Annotated<M>>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.fetch())
    }
}
