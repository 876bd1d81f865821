//! Compiling a [`QuerySet`] into SQL: its `SELECT`, `UPDATE`, `DELETE` and
//! count statements, with the text kept by statement key (or by
//! [`ByKey`] for the commonest gets, updates and deletes).

use std::borrow::Cow;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::exec::plan::Plan;
use crate::meta::FieldMeta;
use crate::model::Model;
use crate::query::order::OrderBy;
use crate::query::paths::{PathPlan, Reach};
use crate::query::q::{Cond, Node, Op, ACROSS_RELATION, Q};
use crate::query::related::{self, Join};
use crate::sql::clauses::Sort;
use crate::sql::joins::ColumnRef;
use crate::sql::kept::{self, ByKey};
use crate::sql::statements::{self, Select};
use crate::sql::{Binds, Bound, SqlWriter, Statement};
use crate::value::Value;

use super::*;

impl<M: Model> QuerySet<M> {
    /// The ordering's terms, flipped by [`reverse`](QuerySet::reverse),
    /// their joins planned in `plan`.
    pub(super) fn resolve_order_in(&self, plan: &mut PathPlan<'_>) -> Result<Vec<Sort>> {
        self.order
            .iter()
            .map(|o| {
                let sort = o.resolve_in(plan)?;
                Ok(if self.reversed { sort.flipped() } else { sort })
            })
            .collect()
    }

    /// Checks the ordering's terms (`get()` drops them).
    pub(crate) fn resolve_order(&self) -> Result<Vec<Sort>> {
        self.resolve_order_in(&mut PathPlan::new(M::META, &[], Reach::Single))
    }

    /// The filter with its constants folded, borrowed when already simple.
    pub(crate) fn simplified(&self) -> Result<Cow<'_, Node>> {
        if let Some((model, reason)) = &self.error {
            return Err(Error::from(crate::error::QueryError {
                model,
                reason: reason.clone(),
            }));
        }
        self.filter.check_relations()?;
        self.filter.check_exprs(M::META)?;
        crate::query::q::check_nul(M::META, &self.filter)?;
        let filter = match self.scoped_filter() {
            Cow::Borrowed(filter) if filter.is_simple() => Cow::Borrowed(filter),
            filter => Cow::Owned(filter.simplify()),
        };
        crate::tenant::restrict(M::META, self.all_tenants, filter)
    }

    /// The filter with the condition of a soft delete model's scope
    /// (`AND "deleted_at" IS NULL` unless `with_deleted`), not simplified.
    pub(crate) fn scoped_filter(&self) -> Cow<'_, Node> {
        crate::soft_delete::filter::scoped(M::META, self.deleted, &self.filter)
    }

    /// Renders the parts; `None` when the filter matches nothing.
    pub(super) fn with_select<T>(&self, f: impl FnOnce(&Select<'_>) -> T) -> Result<Option<T>> {
        self.with_select_joined(&[], f)
    }

    pub(crate) fn with_select_joined<T>(
        &self,
        joins: &[Join],
        f: impl FnOnce(&Select<'_>) -> T,
    ) -> Result<Option<T>> {
        let mut plan = PathPlan::new(M::META, joins, Reach::Single);
        self.with_select_planned(&mut plan, None, f)
    }

    /// As [`with_select_joined`](Self::with_select_joined), selecting
    /// `columns` when given, the ordering's joins planned in `plan` (with
    /// the columns' own).
    pub(crate) fn with_select_planned<T>(
        &self,
        plan: &mut PathPlan<'_>,
        columns: Option<&[ColumnRef]>,
        f: impl FnOnce(&Select<'_>) -> T,
    ) -> Result<Option<T>> {
        let order = self.resolve_order_in(plan)?;
        if self.distinct && self.distinct_on.is_empty() {
            crate::query::order::check_distinct(M::META, &order)?;
        }
        let distinct_on: Vec<&'static FieldMeta> = self
            .distinct_on
            .iter()
            .map(|o| {
                o.resolve(M::META)?.own_field().ok_or_else(|| {
                    Error::from(crate::error::QueryError {
                        model: M::META.name,
                        reason: "distinct_on() takes fields of the model, not expressions".into(),
                    })
                })
            })
            .collect::<Result<_>>()?;
        let filter = self.simplified()?;
        if matches!(*filter, Node::Nothing) || self.limit == Some(0) {
            return Ok(None);
        }
        Ok(Some(f(&Select {
            meta: M::META,
            statements: M::statements(),
            filter: &filter,
            order: &order,
            limit: self.limit,
            offset: self.offset,
            distinct: self.distinct,
            joins: plan.tables().selected,
            paths: &plan.joins,
            lock: self.lock.as_ref(),
            columns,
            distinct_on: &distinct_on,
        })))
    }

    /// `SELECT` of these columns only (`values_list`, `only`), their
    /// joins and the ordering's planned in `plan`, or `None` when the
    /// query matches nothing.
    pub(crate) fn select_columns(
        &self,
        plan: &mut PathPlan<'_>,
        columns: &[ColumnRef],
    ) -> Result<Option<Statement>> {
        self.with_select_planned(plan, Some(columns), statements::select)
    }

    /// The `SELECT` this query sends, or `None` when it matches nothing and
    /// would send no query at all.
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] for an unknown field in `order_by`.
    pub fn sql(&self) -> Result<Option<Statement>> {
        if self.combined.is_some() {
            return self.combined_sql();
        }
        let mut joins = related::plan_joins(M::META, &self.select_related)?;
        crate::tenant::restrict_joins(&mut joins, self.all_tenants)?;
        if let Some(lock) = &self.lock {
            related::check_lock_of(M::META, &lock.of, &joins)?;
        }
        self.with_select_joined(&joins, statements::select)
    }

    /// The statement of a `SELECT` and how to run it, rendered before the
    /// first `.await` so that the futures stay small; `None` when nothing
    /// can match.
    pub(crate) fn plan(self) -> Result<Option<Plan>> {
        if self.combined.is_some() {
            return self.combined_plan();
        }
        if !self.prefetch.is_empty() {
            // Checked before the main query, not only when it finds rows.
            related::check_prefetch::<M>(&self.prefetch)?;
        }
        let joins = if self.select_related.is_empty() {
            Vec::new()
        } else {
            let mut joins = related::plan_joins(M::META, &self.select_related)?;
            crate::tenant::restrict_joins(&mut joins, self.all_tenants)?;
            joins
        };
        if let Some(lock) = &self.lock {
            related::check_lock_of(M::META, &lock.of, &joins)?;
        }
        let root = (!self.prefetch.is_empty() && self.limit.is_none() && self.offset.is_none())
            .then(|| self.simplified().map(|f| Box::new(f.into_owned())))
            .transpose()?;
        let Some(stmt) = self.kept_or_render(|qs, w| {
            qs.with_select_joined(&joins, |s| statements::push_select(w, s))
        })?
        else {
            return Ok(None);
        };
        Ok(Some(Plan {
            locks: self.lock.is_some(),
            using: self.db,
            stmt,
            joins,
            prefetch: self.prefetch,
            root,
            rows: self
                .limit
                .filter(|&n| n <= ROWS_UP_FRONT)
                .map_or(0, |n| n.max(0) as usize),
        }))
    }

    /// The statement `write` writes for this query (`Ok(None)`: none is
    /// sent), its text kept by key: walked once with a
    /// [`key_only`](SqlWriter::key_only) writer for its key and values,
    /// then sent with the text kept under that key, or rendered (and its
    /// text kept) the first time.
    pub(super) fn kept_or_render(
        &self,
        write: impl Fn(&Self, &mut SqlWriter) -> Result<Option<()>>,
    ) -> Result<Option<Bound>> {
        let mut w = SqlWriter::key_only();
        if write(self, &mut w)?.is_none() {
            return Ok(None);
        }
        let (key, binds) = w.finish_key();
        if let Some(sql) = key.as_ref().and_then(kept::text) {
            return Ok(Some(Bound {
                sql: Cow::Borrowed(sql),
                binds,
            }));
        }
        let mut w = SqlWriter::new();
        write(self, &mut w)?;
        let stmt = w.finish_bound();
        Ok(Some(
            match key.and_then(|key| kept::remember(&key, &stmt.sql)) {
                Some(sql) => Bound {
                    sql: Cow::Borrowed(sql),
                    binds: stmt.binds,
                },
                // Too long to keep, or no room left.
                None => stmt,
            },
        ))
    }

    /// The statement of [`count`](Self::count), or of
    /// [`exists`](Self::exists) when `exists`.
    pub(crate) fn count_or_exists(&self, exists: bool) -> Result<Option<Bound>> {
        if self.combined.is_some() {
            return self.combined_count(exists);
        }
        let write = if exists {
            statements::push_exists
        } else {
            statements::push_count
        };
        self.kept_or_render(|qs, w| qs.with_select(|s| write(w, s)))
    }

    /// The query of [`first`](Self::first): ordered (by primary key if not
    /// yet), at most one row.
    pub(crate) fn first_query(mut self) -> Self {
        if self.order.is_empty() {
            self.order = pk_order(M::META);
        }
        self.limit = Some(self.limit.map_or(1, |l| l.min(1)));
        self
    }

    /// The plan of `get()` with `q` (tests).
    #[cfg(test)]
    pub(crate) fn get_plan_of(self, q: impl IntoQ<M>) -> Result<Option<Plan>> {
        self.get_args(q).plan()
    }

    /// The query `get()` runs, as Django's `get()` builds it: without its
    /// ordering unless sliced or `distinct_on` (Django's `can_filter()` and
    /// `distinct_fields`), and fetching at most [`MAX_GET_RESULTS`] rows
    /// (fewer if its own limit is smaller; no `LIMIT` when it has none and
    /// at most one row can match).
    ///
    /// # Errors
    /// An unknown field in the dropped ordering, as if it were sent.
    pub(super) fn get_limit(mut self) -> Result<Self> {
        if self.limit.is_none() && self.offset.is_none() && self.distinct_on.is_empty() {
            self.resolve_order()?;
            self.order.clear();
        }
        match self.limit {
            Some(own) => self.limit = Some(own.min(MAX_GET_RESULTS)),
            None if !self.one_at_most() => self.limit = Some(MAX_GET_RESULTS),
            None => {}
        }
        Ok(self)
    }

    /// Whether at most one row can match: every condition is on the
    /// model's own fields (so no join repeats a row; `select_related` joins
    /// are to one row) and one of them is `field = value` on its primary
    /// key or a unique field. Django sends `LIMIT 21` then too; without it
    /// PostgreSQL runs one plan node less on every get by key.
    pub(super) fn one_at_most(&self) -> bool {
        own_fields_only(&self.filter) && has_unique_eq(&self.filter)
    }

    /// Nothing set but the database: no filter, ordering, slice,
    /// `DISTINCT`, relation, lock or deferred error.
    pub(super) fn is_plain(&self) -> bool {
        matches!(self.filter, Node::All)
            && self.order.is_empty()
            && self.limit.is_none()
            && self.offset.is_none()
            && !self.distinct
            && self.error.is_none()
            && self.select_related.is_empty()
            && self.prefetch.is_empty()
            && self.lock.is_none()
            && self.distinct_on.is_empty()
            && !self.reversed
            && self.deleted == Default::default()
            && M::META.tenant.is_none()
    }

    /// The `UPDATE` of [`update`](Self::update), from its kept text when
    /// there is one (found by key when filtered by one `field = value`,
    /// else by its statement key); `None` when no row can match.
    pub(crate) fn update_bound(
        &mut self,
        assign: crate::query::q::Assign<M>,
    ) -> Result<Option<Bound>> {
        // Rendering does not check the assigned values: they are here.
        for set in &assign.items {
            if set.value.has_nul() || set.expr.as_ref().is_some_and(|e| e.has_nul()) {
                return Err(crate::value::nul_error(M::META.name, set.field.name));
            }
        }
        let by_key = self
            .by_key()
            .and_then(|field| ByKey::update(M::META, field, &assign.items));
        if let Some(sql) = by_key.and_then(|key| key.text()) {
            // Its one value: a text by key renders nothing.
            crate::query::q::check_nul(M::META, &self.filter)?;
            #[cfg(debug_assertions)]
            let rendered = self.update_statement(&assign);
            let values = assign.items.into_iter().map(|set| set.value);
            let stmt = self.by_key_bound(sql, values);
            #[cfg(debug_assertions)]
            check_by_key(&stmt, rendered);
            return Ok(Some(stmt));
        }
        let stmt = self.kept_or_render(|qs, w| qs.write_update(w, &assign))?;
        remember_by_key(by_key, &stmt);
        Ok(stmt)
    }

    /// The field of this query's one filter when it is `field = value` (not
    /// NULL) on the model's own field and nothing else sets an `UPDATE`'s
    /// or `DELETE`'s text: such statements take their text by key
    /// ([`ByKey`]).
    pub(super) fn by_key(&self) -> Option<&'static FieldMeta> {
        if self.error.is_some()
            || M::META.tenant.is_some()
            || !self.select_related.is_empty()
            || self.lock.is_some()
            || !self.distinct_on.is_empty()
            || self.limit.is_some()
            || self.offset.is_some()
            || self.distinct
            || self.deleted != Default::default()
        {
            return None;
        }
        match &self.filter {
            Node::Leaf(Cond {
                path,
                field,
                op: Op::Exact(value),
            }) if path.is_empty() && !value.is_null() => Some(field),
            _ => None,
        }
    }

    /// A statement by key with its kept `sql`, binding `values` (an
    /// update's assignments), then the filter's value, as rendering does.
    pub(super) fn by_key_bound(
        &mut self,
        sql: &'static str,
        values: impl Iterator<Item = Value>,
    ) -> Bound {
        // Pushed one by one: `collect` runs `SmallVec`'s generic `extend`
        // (about 120 instructions for one value).
        let mut binds = Binds::new();
        for value in values {
            binds.push(value);
        }
        if let Node::Leaf(Cond {
            op: Op::Exact(value),
            ..
        }) = std::mem::replace(&mut self.filter, Node::All)
        {
            binds.push(value);
        }
        Bound {
            sql: Cow::Borrowed(sql),
            binds,
        }
    }

    /// The `UPDATE` of [`update`](Self::update); `None` when no row can
    /// match (debug builds: what a text by key must equal).
    #[cfg(debug_assertions)]
    pub(super) fn update_statement(
        &self,
        assign: &crate::query::q::Assign<M>,
    ) -> Result<Option<Statement>> {
        let mut w = SqlWriter::new();
        Ok(self.write_update(&mut w, assign)?.map(|()| w.finish()))
    }

    /// Writes the `UPDATE` of [`update`](Self::update); `None` when no row
    /// can match.
    pub(super) fn write_update(
        &self,
        w: &mut SqlWriter,
        assign: &crate::query::q::Assign<M>,
    ) -> Result<Option<()>> {
        if self.limit.is_some() || self.offset.is_some() {
            return Err(Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: "cannot update a query once a slice (limit/offset) has been taken".into(),
            }));
        }
        if assign.is_empty() {
            return Err(Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: "update() needs at least one assignment".into(),
            }));
        }
        if assign.items.iter().any(|s| s.index == ACROSS_RELATION) {
            return Err(Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: "update() assigns fields of this model, not across relations".into(),
            }));
        }
        for set in &assign.items {
            if let Some(expr) = &set.expr {
                expr.check(M::META, None)?;
            }
        }
        let filter = self.simplified()?;
        if matches!(*filter, Node::Nothing) {
            return Ok(None);
        }
        statements::push_update(w, M::META, &filter, &assign.items);
        Ok(Some(()))
    }

    /// The `DELETE` of [`delete`](Self::delete), from its kept text when
    /// there is one (found by key when filtered by one `field = value`,
    /// else by its statement key); `None` when no row can match.
    pub(crate) fn delete_bound(&mut self) -> Result<Option<Bound>> {
        let by_key = self.by_key().map(|field| ByKey::delete(M::META, field));
        if let Some(sql) = by_key.and_then(|key| key.text()) {
            // Its one value: a text by key renders nothing.
            crate::query::q::check_nul(M::META, &self.filter)?;
            #[cfg(debug_assertions)]
            let rendered = {
                let mut w = SqlWriter::new();
                self.write_delete(&mut w)
                    .map(|sent| sent.map(|()| w.finish()))
            };
            let stmt = self.by_key_bound(sql, std::iter::empty());
            #[cfg(debug_assertions)]
            check_by_key(&stmt, rendered);
            return Ok(Some(stmt));
        }
        let stmt = self.kept_or_render(Self::write_delete)?;
        remember_by_key(by_key, &stmt);
        Ok(stmt)
    }

    /// Writes the `DELETE` of [`delete`](Self::delete); `None` when no row
    /// can match.
    pub(super) fn write_delete(&self, w: &mut SqlWriter) -> Result<Option<()>> {
        if self.limit.is_some() || self.offset.is_some() || self.distinct {
            return Err(Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: "cannot delete a sliced (limit/offset) or distinct query".into(),
            }));
        }
        let filter = self.simplified()?;
        if matches!(*filter, Node::Nothing) {
            return Ok(None);
        }
        statements::push_delete(w, M::META, &filter);
        Ok(Some(()))
    }
}

/// Keeps the text of a statement by key (kept under its full key) in
/// this thread's slot for `key`, the first time it runs.
pub(super) fn remember_by_key(key: Option<ByKey>, stmt: &Option<Bound>) {
    if let (
        Some(key),
        Some(Bound {
            sql: Cow::Borrowed(sql),
            ..
        }),
    ) = (key, stmt)
    {
        key.remember(sql);
    }
}

/// Debug builds: a statement by key (its text kept for an equal
/// [`ByKey`], its values moved in without a walk) is the one rendering
/// gives.
#[cfg(debug_assertions)]
pub(super) fn check_by_key(by_key: &Bound, rendered: Result<Option<Statement>>) {
    match rendered {
        Ok(Some(rendered)) => assert_eq!(
            (&*by_key.sql, &by_key.binds[..]),
            (&*rendered.sql, &rendered.binds[..]),
            "a statement by key diverged"
        ),
        other => panic!("a statement by key renders {other:?}"),
    }
}

/// The query set of a get by `field = value` on `db`, with its `LIMIT`.
pub(super) fn exact_get<M: Model>(
    db: Option<Db>,
    field: &'static FieldMeta,
    value: Value,
) -> Result<QuerySet<M>> {
    let mut qs = QuerySet::new();
    qs.db = db;
    qs.filter(Q::from_node(Node::leaf(field, Op::Exact(value))))
        .get_limit()
}

/// Debug builds: the fast get sends what the full path renders (on any
/// database: it does not change the text).
#[cfg(debug_assertions)]
pub(super) fn check_fast_get<M: Model>(sql: &str, field: &'static FieldMeta, value: &Value) {
    let plan = exact_get::<M>(None, field, value.clone()).and_then(QuerySet::plan);
    let stmt = plan
        .expect("a plain get renders")
        .expect("a get sends a query")
        .stmt;
    assert_eq!(
        (&*stmt.sql, &stmt.binds[..]),
        (sql, std::slice::from_ref(value)),
        "the fast get diverged"
    );
}

/// Whether `node` is leaves on the model's own fields joined by `AND` (the
/// `filter()` calls around them only matter across relations).
pub(super) fn own_fields_only(node: &Node) -> bool {
    match node {
        Node::Leaf(cond) => cond.path.is_empty(),
        Node::And(items) => items.iter().all(own_fields_only),
        Node::Call { node, .. } => own_fields_only(node),
        _ => false,
    }
}

/// Whether one of `node`'s `AND`ed leaves is `=` a non-NULL value on the
/// primary key or a unique field.
pub(super) fn has_unique_eq(node: &Node) -> bool {
    match node {
        Node::Leaf(Cond {
            path,
            field,
            op: Op::Exact(value),
        }) => path.is_empty() && is_unique(field) && !value.is_null(),
        Node::And(items) => items.iter().any(has_unique_eq),
        Node::Call { node, .. } => has_unique_eq(node),
        _ => false,
    }
}

#[cfg(test)]
thread_local! {
    /// Gets that took the fast path on this thread (unit tests).
    pub(crate) static FAST_GETS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The ordering by primary key of `first()` / `last()`: by each of its
/// fields, in key order.
pub(crate) fn pk_order(meta: &'static crate::meta::ModelMeta) -> Vec<OrderBy> {
    meta.pk_field_metas()
        .map(|f| OrderBy::field(f, false))
        .collect()
}

/// Whether no two rows can hold the same non-NULL value of `field`.
pub(super) fn is_unique(field: &FieldMeta) -> bool {
    field.primary_key || field.unique
}
