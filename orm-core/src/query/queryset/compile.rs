//! Compiling a [`QuerySet`] into SQL: its `SELECT`, `UPDATE`, `DELETE` and
//! count statements, with the text kept per statement shape (or per key
//! for the commonest gets, updates and deletes).

use std::borrow::Cow;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::exec::plan::Plan;
use crate::model::{FieldMeta, Model};
use crate::query::order::OrderBy;
use crate::query::q::{Cond, Node, Op, ACROSS_RELATION, Q};
use crate::query::related::{self, Join};
use crate::sql::shape::{self, Kind, Shape};
use crate::sql::statements::{self, Select};
use crate::sql::{Binds, Bound, Statement};
use crate::value::Value;

use super::*;

impl<M: Model> QuerySet<M> {
    pub(super) fn resolve_order(&self) -> Result<Vec<(&'static FieldMeta, bool)>> {
        self.order.iter().map(|o| o.resolve(M::META)).collect()
    }

    /// The filter with its constants folded, borrowed when already simple.
    pub(super) fn simplified(&self) -> Result<Cow<'_, Node>> {
        if let Some((model, reason)) = &self.error {
            return Err(Error::from(crate::error::QueryError {
                model,
                reason: reason.clone(),
            }));
        }
        self.filter.check_relations()?;
        self.filter.check_exprs(M::META)?;
        crate::query::q::check_nul(M::META, &self.filter)?;
        Ok(if self.filter.is_simple() {
            Cow::Borrowed(&self.filter)
        } else {
            Cow::Owned(self.filter.simplify())
        })
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
        let order = self.resolve_order()?;
        let distinct_on: Vec<&'static FieldMeta> = self
            .distinct_on
            .iter()
            .map(|o| o.resolve(M::META).map(|(f, _)| f))
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
            joins,
            lock: self.lock.as_ref(),
            columns: None,
            distinct_on: &distinct_on,
        })))
    }

    /// `SELECT` of these columns only (`values_list`, `only`), or `None`
    /// when the query matches nothing.
    pub(crate) fn select_columns(
        &self,
        columns: &[&'static FieldMeta],
    ) -> Result<Option<Statement>> {
        self.with_select_joined(&[], |s| {
            statements::select(&Select {
                columns: Some(columns),
                ..*s
            })
        })
    }

    /// The `SELECT` this query sends, or `None` when it matches nothing and
    /// would send no query at all.
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] for an unknown field in `order_by`.
    pub fn sql(&self) -> Result<Option<Statement>> {
        let joins = related::plan_joins(M::META, &self.select_related)?;
        if let Some(lock) = &self.lock {
            related::check_lock_of(M::META, &lock.of, &joins)?;
        }
        self.with_select_joined(&joins, statements::select)
    }

    /// The statement of a `SELECT` and how to run it, rendered before the
    /// first `.await` so that the futures stay small; `None` when nothing
    /// can match.
    pub(crate) fn plan(mut self) -> Result<Option<Plan>> {
        if !self.prefetch.is_empty() {
            // Checked before the main query, not only when it finds rows.
            related::check_prefetch::<M>(&self.prefetch)?;
        }
        let joins = if self.select_related.is_empty() {
            Vec::new()
        } else {
            related::plan_joins(M::META, &self.select_related)?
        };
        if let Some(lock) = &self.lock {
            related::check_lock_of(M::META, &lock.of, &joins)?;
        }
        // Taken before rendering, which may move the filter's values out.
        let root = (!self.prefetch.is_empty() && self.limit.is_none() && self.offset.is_none())
            .then(|| Box::new(self.filter.simplify()));
        let shape = self.shape(Kind::Select);
        let render = |qs: &Self, ()| qs.with_select_joined(&joins, statements::select);
        let Some(stmt) = self.kept_or_render(shape, (), |()| Vec::new(), render)? else {
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

    /// The shape of this query's statement of `kind` when it is plain
    /// enough to keep its text (see [`shape`](crate::sql::shape)); `None`
    /// also when rendering would report an error or send no query.
    pub(super) fn shape(&self, kind: Kind) -> Option<Shape> {
        if self.error.is_some()
            || !self.select_related.is_empty()
            || self.lock.is_some()
            || !self.distinct_on.is_empty()
            || self.limit == Some(0)
        {
            return None;
        }
        let mut shape = Shape::new(kind, M::META);
        match kind {
            Kind::Select | Kind::Count | Kind::Exists => {
                shape.push_select(self.limit, self.offset, self.distinct)?;
                shape.push(self.order.len())?;
                for order in &self.order {
                    let (field, desc) = order.resolve(M::META).ok()?;
                    shape.push_field(field)?;
                    shape.push(usize::from(desc))?;
                }
            }
            // Sliced or distinct: an error, reported by rendering.
            Kind::Update | Kind::Delete => {
                if self.limit.is_some() || self.offset.is_some() || self.distinct {
                    return None;
                }
            }
        }
        shape.push_filter(&self.filter)?;
        Some(shape)
    }

    /// The statement of `shape` (`None`: not kept). When its text is kept,
    /// that text with this query's values moved in: `values(arg)` (an
    /// `UPDATE`'s assignments), the filter's, then the offset, as rendering
    /// binds them. Otherwise `render(self, arg)`, whose text is then kept.
    pub(super) fn kept_or_render<A: Clone>(
        &mut self,
        shape: Option<Shape>,
        arg: A,
        values: impl FnOnce(A) -> Vec<Value>,
        render: impl FnOnce(&Self, A) -> Result<Option<Statement>>,
    ) -> Result<Option<Bound>> {
        let Some((sql, shape)) = shape.as_ref().and_then(|s| Some((s.text()?, s))) else {
            let stmt = render(self, arg)?;
            if let (Some(shape), Some(stmt)) = (&shape, &stmt) {
                shape.remember(&stmt.sql);
            }
            return Ok(stmt.map(Bound::from));
        };
        // Rendering checks this (`simplified`); a kept text does not render.
        crate::query::q::check_nul(M::META, &self.filter)?;
        #[cfg(debug_assertions)]
        let rendered = render(self, arg.clone());
        let mut binds = Binds::from_vec(values(arg));
        binds.reserve_exact(shape.values + usize::from(self.offset.is_some()));
        shape::take_binds(std::mem::replace(&mut self.filter, Node::All), &mut binds);
        if let Some(offset) = self.offset {
            binds.push(Value::I64(Some(offset)));
        }
        let stmt = Bound {
            sql: Cow::Borrowed(sql),
            binds,
        };
        #[cfg(debug_assertions)]
        check_kept(&stmt, rendered);
        Ok(Some(stmt))
    }

    /// The statement of [`count`](Self::count), or of
    /// [`exists`](Self::exists) when `exists`: the shape's kind and the
    /// renderer come from the one flag, so they cannot disagree.
    pub(crate) fn count_or_exists(&mut self, exists: bool) -> Result<Option<Bound>> {
        let (kind, render): (_, fn(&Select<'_>) -> Statement) = if exists {
            (Kind::Exists, statements::exists)
        } else {
            (Kind::Count, statements::count)
        };
        let shape = self.shape(kind);
        self.kept_or_render(shape, (), |()| Vec::new(), |qs, ()| qs.with_select(render))
    }

    /// The query of [`first`](Self::first): ordered (by primary key if not
    /// yet), at most one row.
    pub(crate) fn first_query(mut self) -> Self {
        if self.order.is_empty() {
            self.order = vec![OrderBy::field(M::META.pk_field(), false)];
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
    }

    /// The `UPDATE` of [`update`](Self::update), from its kept text when
    /// there is one (found by key when filtered by one `field = value`,
    /// else by shape); `None` when no row can match.
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
            .and_then(|field| Shape::update_text(M::META, field, &assign.items));
        let by_key = match by_key {
            Some(Ok(sql)) => {
                // Its one value: a text by key renders nothing.
                crate::query::q::check_nul(M::META, &self.filter)?;
                #[cfg(debug_assertions)]
                let rendered = self.update_statement(assign.clone());
                let values = assign.items.into_iter().map(|set| set.value);
                let stmt = self.by_key_bound(sql, values);
                #[cfg(debug_assertions)]
                check_kept(&stmt, rendered);
                return Ok(Some(stmt));
            }
            Some(Err(shape)) => shape,
            None => None,
        };
        let mut shape = self.shape(Kind::Update);
        if let Some(s) = &mut shape {
            if s.push_sets(&assign.items).is_none() {
                shape = None;
            }
        }
        let stmt = self.kept_or_render(
            shape,
            assign,
            |assign| assign.items.into_iter().map(|set| set.value).collect(),
            |qs, assign| qs.update_statement(assign),
        )?;
        remember_by_key(by_key, &stmt);
        Ok(stmt)
    }

    /// The field of this query's one filter when it is `field = value` (not
    /// NULL) on the model's own field and nothing else sets an `UPDATE`'s
    /// or `DELETE`'s text: such statements take their text by key
    /// ([`Shape::update_text`], [`Shape::delete_text`]).
    pub(super) fn by_key(&self) -> Option<&'static FieldMeta> {
        if self.error.is_some()
            || !self.select_related.is_empty()
            || self.lock.is_some()
            || !self.distinct_on.is_empty()
            || self.limit.is_some()
            || self.offset.is_some()
            || self.distinct
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
        shape::take_binds(std::mem::replace(&mut self.filter, Node::All), &mut binds);
        Bound {
            sql: Cow::Borrowed(sql),
            binds,
        }
    }

    /// The `UPDATE` of [`update`](Self::update); `None` when no row can match.
    pub(super) fn update_statement(
        &self,
        assign: crate::query::q::Assign<M>,
    ) -> Result<Option<Statement>> {
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
        Ok(Some(statements::update(M::META, &filter, &assign.items)))
    }

    /// The `DELETE` of [`delete`](Self::delete), from its kept text when
    /// there is one (found by key when filtered by one `field = value`,
    /// else by shape); `None` when no row can match.
    pub(crate) fn delete_bound(&mut self) -> Result<Option<Bound>> {
        let by_key = match self.by_key() {
            Some(field) => match Shape::delete_text(M::META, field) {
                Ok(sql) => {
                    // Its one value: a text by key renders nothing.
                    crate::query::q::check_nul(M::META, &self.filter)?;
                    #[cfg(debug_assertions)]
                    let rendered = self.delete_statement();
                    let stmt = self.by_key_bound(sql, std::iter::empty());
                    #[cfg(debug_assertions)]
                    check_kept(&stmt, rendered);
                    return Ok(Some(stmt));
                }
                Err(shape) => shape,
            },
            None => None,
        };
        let shape = self.shape(Kind::Delete);
        let stmt =
            self.kept_or_render(shape, (), |()| Vec::new(), |qs, ()| qs.delete_statement())?;
        remember_by_key(by_key, &stmt);
        Ok(stmt)
    }

    /// The `DELETE` of [`delete`](Self::delete); `None` when no row can match.
    pub(super) fn delete_statement(&self) -> Result<Option<Statement>> {
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
        Ok(Some(statements::delete(M::META, &filter)))
    }
}

/// Keeps the text of a statement by key (rendered, or kept under its full
/// shape) under `shape`, its shape by key, the first time it runs.
pub(super) fn remember_by_key(shape: Option<Shape>, stmt: &Option<Bound>) {
    if let (Some(shape), Some(stmt)) = (shape, stmt) {
        shape.remember(&stmt.sql);
    }
}

/// Debug builds: a statement built from a kept text is the one rendering
/// gives.
#[cfg(debug_assertions)]
pub(super) fn check_kept(kept: &Bound, rendered: Result<Option<Statement>>) {
    match rendered {
        Ok(Some(rendered)) => assert_eq!(
            (&*kept.sql, &kept.binds[..]),
            (&*rendered.sql, &rendered.binds[..]),
            "a kept query shape diverged"
        ),
        other => panic!("a kept query shape renders {other:?}"),
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

/// Whether no two rows can hold the same non-NULL value of `field`.
pub(super) fn is_unique(field: &FieldMeta) -> bool {
    field.primary_key || field.unique
}
