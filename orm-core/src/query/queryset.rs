//! [`QuerySet`]: a lazy, cloneable, awaitable query over one model.

use std::borrow::Cow;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use crate::db::{self, Db};
use crate::error::{Error, Result};
use crate::exec::plan::{run, Plan};
use crate::model::{FieldMeta, Model};
use crate::query::order::OrderBy;
use crate::query::q::{Cond, IntoAssign, IntoQ, Node, Op, ACROSS_RELATION, Q};
use crate::query::related::{self, Join, PrefetchSpec};
use crate::query::values::{self, Aggregate, Aggregated, FieldNames, FromRowTuple};
use crate::sql::shape::{self, Kind, Shape};
use crate::sql::statements::{self, Lock, Select};
use crate::sql::{Binds, Bound, Statement};
use crate::value::Value;

/// Django's `MAX_GET_RESULTS`: `get()` fetches at most this many rows.
const MAX_GET_RESULTS: i64 = 21;

/// A query over model `M`, built by chaining and run when awaited.
///
/// Nothing is sent until the chain is awaited (or a terminal method such as
/// [`count`](QuerySet::count) is awaited). A `QuerySet` can be cloned and
/// reused. Awaiting it yields `Result<Vec<M>>`.
///
/// `limit` and `offset` apply to the final query whatever the order of the
/// calls in the chain.
pub struct QuerySet<M> {
    pub(crate) filter: Node,
    pub(crate) order: Vec<OrderBy>,
    pub(crate) limit: Option<i64>,
    pub(crate) offset: Option<i64>,
    pub(crate) distinct: bool,
    pub(crate) db: Option<Db>,
    /// A problem found while building the chain, reported when it runs.
    pub(crate) error: Option<(&'static str, String)>,
    pub(crate) select_related: Vec<String>,
    pub(crate) prefetch: Vec<PrefetchSpec>,
    pub(crate) lock: Option<Lock>,
    pub(crate) distinct_on: Vec<OrderBy>,
    _model: PhantomData<fn() -> M>,
}

/// The largest `LIMIT` whose rows are allocated up front: a page of rows in
/// one allocation instead of four or five, without holding much for a
/// large limit few rows meet.
const ROWS_UP_FRONT: i64 = 64;

impl<M> Clone for QuerySet<M> {
    fn clone(&self) -> Self {
        QuerySet {
            filter: self.filter.clone(),
            order: self.order.clone(),
            limit: self.limit,
            offset: self.offset,
            distinct: self.distinct,
            db: self.db.clone(),
            error: self.error.clone(),
            select_related: self.select_related.clone(),
            prefetch: self.prefetch.clone(),
            lock: self.lock.clone(),
            distinct_on: self.distinct_on.clone(),
            _model: PhantomData,
        }
    }
}

impl<M: Model> std::fmt::Debug for QuerySet<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.sql() {
            Ok(Some(stmt)) => write!(f, "QuerySet<{}>({stmt})", M::META.name),
            Ok(None) => write!(f, "QuerySet<{}>(matches nothing)", M::META.name),
            Err(e) => write!(f, "QuerySet<{}>(error: {e})", M::META.name),
        }
    }
}

impl<M: Model> Default for QuerySet<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Model> QuerySet<M> {
    /// A query over every row of `M` (same as [`Model::all`]).
    pub fn new() -> Self {
        QuerySet {
            filter: Node::All,
            order: Vec::new(),
            limit: None,
            offset: None,
            distinct: false,
            db: None,
            error: None,
            select_related: Vec::new(),
            prefetch: Vec::new(),
            lock: None,
            distinct_on: Vec::new(),
            _model: PhantomData,
        }
    }

    /// Keeps the rows matching `q` (AND with earlier filters).
    #[must_use]
    ///
    /// Conditions across a multi-valued relation inside one call must hold
    /// for the same related row; each chained call may match a different
    /// one (Django's rule).
    pub fn filter(mut self, q: impl IntoQ<M>) -> Self {
        let call = match q.into_q().node {
            // The call matters only to lookups across relations.
            Node::Leaf(cond) if cond.path.is_empty() => Node::Leaf(cond),
            node => Node::Call {
                node: Box::new(node),
                same_row: true,
            },
        };
        self.filter = std::mem::replace(&mut self.filter, Node::All).and(call);
        self
    }

    /// Drops the rows matching `q`. As in Django, a row whose column is
    /// NULL does not match `x = 1`, so `exclude(q!(x = 1))` keeps it.
    #[must_use]
    ///
    /// Across a multi-valued relation this is `NOT EXISTS (..)`, and the
    /// conditions of one call need not hold for the same related row: it
    /// excludes rows having some related row matching each (Django's rule).
    pub fn exclude(mut self, q: impl IntoQ<M>) -> Self {
        let call = Node::Call {
            node: Box::new(Node::Not(Box::new(q.into_q().node))),
            same_row: false,
        };
        self.filter = std::mem::replace(&mut self.filter, Node::All).and(call);
        self
    }

    /// Sets the ordering, replacing any earlier one: field names (`"name"`,
    /// `"-karma"` for descending) or typed terms (`f.karma.desc()`). An
    /// unknown name is reported when the query runs.
    #[must_use]
    pub fn order_by<I>(mut self, terms: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<OrderBy>,
    {
        self.order = terms.into_iter().map(Into::into).collect();
        self
    }

    /// Returns at most `n` rows (`LIMIT`).
    #[must_use]
    pub fn limit(mut self, n: i64) -> Self {
        self.limit = Some(n.max(0));
        self
    }

    /// Skips the first `n` rows (`OFFSET`).
    #[must_use]
    pub fn offset(mut self, n: i64) -> Self {
        self.offset = Some(n.max(0));
        self
    }

    /// Keeps the first row of each group of equal values of these fields
    /// (PostgreSQL's `SELECT DISTINCT ON (..)`); which row is first follows
    /// the ordering, which must start with the same fields.
    #[must_use]
    pub fn distinct_on<I>(mut self, fields: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<OrderBy>,
    {
        self.distinct_on = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Removes duplicate rows (`SELECT DISTINCT`).
    #[must_use]
    pub fn distinct(mut self) -> Self {
        self.distinct = true;
        self
    }

    /// The same query (Django's `.all()`), so `User::all().all()` reads naturally.
    #[must_use]
    pub fn all(self) -> Self {
        self
    }

    /// Locks the selected rows until the transaction ends (`SELECT .. FOR
    /// UPDATE`); other transactions wait to update or lock them. Only inside
    /// a transaction.
    #[must_use]
    pub fn select_for_update(mut self) -> Self {
        self.lock.get_or_insert_with(Lock::default);
        self
    }

    /// With [`select_for_update`](QuerySet::select_for_update): fail at once
    /// (`NOWAIT`) instead of waiting for rows another transaction locked.
    #[must_use]
    pub fn nowait(mut self) -> Self {
        self.lock.get_or_insert_with(Lock::default).nowait = true;
        self
    }

    /// With [`select_for_update`](QuerySet::select_for_update): leave out
    /// rows another transaction locked (`SKIP LOCKED`), e.g. for job queues.
    #[must_use]
    pub fn skip_locked(mut self) -> Self {
        self.lock.get_or_insert_with(Lock::default).skip_locked = true;
        self
    }

    /// With [`select_for_update`](QuerySet::select_for_update): lock only
    /// these tables (`"self"` and `select_related` paths). Any other name
    /// is reported as [`Error::InvalidLookup`] when the query runs, before
    /// anything is sent.
    #[must_use]
    pub fn lock_of<I>(mut self, of: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.lock.get_or_insert_with(Lock::default).of = of.into_iter().map(Into::into).collect();
        self
    }

    /// Loads the targets of these foreign keys / one-to-ones with the same
    /// query (`LEFT JOIN`s), so `post.author.get()` needs no further query.
    /// Nested paths (`"author__profile"`) follow forward relations.
    ///
    /// An unknown or many-valued relation, or a path longer than
    /// [`MAX_NAME_LEN`](crate::query::MAX_NAME_LEN) bytes or crossing more
    /// than [`MAX_RELATIONS`](crate::query::MAX_RELATIONS) relations, is
    /// reported when the query runs, before anything is sent.
    #[must_use]
    pub fn select_related<I>(mut self, paths: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.select_related
            .extend(paths.into_iter().map(Into::into));
        self
    }

    /// Loads these relations (reverse foreign keys, many-to-many, foreign
    /// keys; nested as `"posts__tags"`) with one more query per relation
    /// level, `WHERE key = ANY($1)`, after the main query. Read them with
    /// `user.posts.get()`, `post.tags.get()`, `post.author.get()`; each
    /// list is in primary key order unless a query given to
    /// [`prefetch_related_with`](QuerySet::prefetch_related_with) orders it
    /// (rows that tie in that order come in no set order, as in Django).
    ///
    /// The queries of one depth (`["author", "tags"]`, or `posts__tags`
    /// and `posts__comments`) go out together, pipelined on one connection;
    /// a deeper level waits for the rows of the one above.
    ///
    /// Every path is checked when the query runs, before its main query:
    /// an unknown relation, or a path longer than
    /// [`MAX_NAME_LEN`](crate::query::MAX_NAME_LEN) bytes or crossing more
    /// than [`MAX_RELATIONS`](crate::query::MAX_RELATIONS) relations, is an
    /// [`Error::InvalidLookup`].
    #[must_use]
    pub fn prefetch_related<I>(mut self, paths: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.prefetch
            .extend(paths.into_iter().map(|p| PrefetchSpec {
                path: p.into(),
                filter: None,
                order: Vec::new(),
                model: None,
            }));
        self
    }

    /// As [`prefetch_related`](QuerySet::prefetch_related) for one path,
    /// loading only the related rows `query` selects, in its order (Django's
    /// `Prefetch("posts", queryset=Post.objects.filter(..))`).
    #[must_use]
    pub fn prefetch_related_with<T: Model>(mut self, path: &str, query: QuerySet<T>) -> Self {
        self.prefetch.push(PrefetchSpec {
            path: path.to_owned(),
            filter: Some(query.filter),
            order: query.order,
            model: Some(T::META.table),
        });
        self
    }

    /// Fails the query with [`Error::InvalidQuery`] when it runs.
    pub(crate) fn with_error(mut self, model: &'static str, reason: String) -> Self {
        self.error = Some((model, reason));
        self
    }

    /// The named fields of the rows, as Django's `values()`: awaited, a
    /// [`Record`](crate::query::Record) per row; with
    /// [`annotate`](crate::query::ValuesQuery::annotate), one per group
    /// (`GROUP BY` those fields); used as an `__in` value, a subquery:
    /// `User::filter(q!(id__in = Post::filter(q!(published = true)).values("author_id")))`.
    pub fn values(self, fields: impl crate::query::FieldNames) -> crate::query::ValuesQuery<M> {
        crate::query::ValuesQuery::new(self, fields.names())
    }

    /// Runs this query on `db` instead of the scoped or default database.
    #[must_use]
    pub fn using(mut self, db: &Db) -> Self {
        self.db = Some(db.clone());
        self
    }

    fn resolve_order(&self) -> Result<Vec<(&'static FieldMeta, bool)>> {
        self.order.iter().map(|o| o.resolve(M::META)).collect()
    }

    /// The filter with its constants folded, borrowed when already simple.
    fn simplified(&self) -> Result<Cow<'_, Node>> {
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
    fn with_select<T>(&self, f: impl FnOnce(&Select<'_>) -> T) -> Result<Option<T>> {
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
    fn shape(&self, kind: Kind) -> Option<Shape> {
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
    fn kept_or_render<A: Clone>(
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

    /// Runs the query and returns every matching row.
    ///
    /// # Errors
    /// Database errors, and as [`sql`](QuerySet::sql).
    pub fn fetch(self) -> impl Future<Output = Result<Vec<M>>> + Send + 'static {
        let plan = self.plan();
        async move {
            match plan? {
                Some(plan) => run(&plan).await,
                None => Ok(Vec::new()),
            }
        }
    }

    /// The number of matching rows (`SELECT COUNT(*)`).
    ///
    /// # Errors
    /// Database errors.
    #[inline]
    pub fn count(mut self) -> impl Future<Output = Result<i64>> + Send + 'static {
        count_later(Later::from(self.count_or_exists(false)), self.db)
    }

    /// True when at least one row matches.
    ///
    /// # Errors
    /// Database errors.
    #[inline]
    pub fn exists(mut self) -> impl Future<Output = Result<bool>> + Send + 'static {
        exists_later(Later::from(self.count_or_exists(true)), self.db)
    }

    /// The first row: by the query's ordering, or by primary key when it has none.
    ///
    /// # Errors
    /// Database errors.
    pub async fn first(self) -> Result<Option<M>> {
        Ok(self.first_query().fetch().await?.into_iter().next())
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

    /// The last row: the query's ordering reversed, or primary key descending.
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] on a sliced query (it cannot be reversed).
    pub async fn last(mut self) -> Result<Option<M>> {
        if self.limit.is_some() || self.offset.is_some() {
            return Err(Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: "cannot reverse a query once a slice (limit/offset) has been taken".into(),
            }));
        }
        let order = if self.order.is_empty() {
            vec![(M::META.pk_field(), true)]
        } else {
            self.resolve_order()?
                .into_iter()
                .map(|(f, desc)| (f, !desc))
                .collect()
        };
        self.order = order
            .into_iter()
            .map(|(f, desc)| OrderBy::field(f, desc))
            .collect();
        self.limit = Some(1);
        Ok(self.fetch().await?.into_iter().next())
    }

    /// The one row matching this query and `q`.
    ///
    /// It fetches at most 21 rows (`LIMIT 21`, or the query's own limit if
    /// smaller) to report how many matched, as Django; no `LIMIT` is sent
    /// when the query has none of its own and its conditions, all on the
    /// model's own fields and joined by `AND`, include `=` on its primary
    /// key or a unique field, as then at most one row can match.
    ///
    /// As in Django, the ordering is dropped (it cannot change which row
    /// is found) unless the query is sliced or uses `distinct_on`, where it
    /// decides which rows are in the query.
    ///
    /// # Errors
    /// [`Error::DoesNotExist`] or [`Error::MultipleObjectsReturned`].
    #[inline]
    pub fn get(self, q: impl IntoQ<M>) -> impl Future<Output = Result<M>> + Send + 'static {
        get_one(self.get_args(q))
    }

    /// The one row matching this query and `q`, or `None`.
    ///
    /// # Errors
    /// [`Error::MultipleObjectsReturned`] when several match.
    #[inline]
    pub fn get_or_none(
        self,
        q: impl IntoQ<M>,
    ) -> impl Future<Output = Result<Option<M>>> + Send + 'static {
        get_one(self.get_args(q))
    }

    /// What `get()`'s future starts from: on a plain query set, `field =
    /// value` split out when it is one ([`IntoQ::into_exact`]).
    #[inline]
    fn get_args(self, q: impl IntoQ<M>) -> GetArgs<M> {
        if self.is_plain() {
            match q.into_exact() {
                Ok((field, value)) => GetArgs::Exact(self.db, field, value),
                Err(q) => GetArgs::Query(Box::new((self, q))),
            }
        } else {
            GetArgs::Query(Box::new((self, q.into_q())))
        }
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
    fn get_limit(mut self) -> Result<Self> {
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
    fn one_at_most(&self) -> bool {
        own_fields_only(&self.filter) && has_unique_eq(&self.filter)
    }

    /// Nothing set but the database: no filter, ordering, slice,
    /// `DISTINCT`, relation, lock or deferred error.
    fn is_plain(&self) -> bool {
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

    /// Sets the assigned fields on every matching row (one `UPDATE`) and
    /// returns the number of rows matched. `auto_now` fields are not
    /// touched, as in Django.
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] on a sliced query or with no assignment;
    /// [`Error::Integrity`] for a violated constraint.
    #[inline]
    pub fn update(
        self,
        assign: impl IntoAssign<M>,
    ) -> impl Future<Output = Result<u64>> + Send + 'static {
        let mut qs = self;
        let stmt = Later::from(qs.update_bound(assign.into_assign()));
        execute_later(stmt, qs.db)
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
    fn by_key(&self) -> Option<&'static FieldMeta> {
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
    fn by_key_bound(&mut self, sql: &'static str, values: impl Iterator<Item = Value>) -> Bound {
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
    fn update_statement(&self, assign: crate::query::q::Assign<M>) -> Result<Option<Statement>> {
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

    /// Deletes every matching row (one `DELETE`) and returns how many.
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] on a sliced or distinct query;
    /// [`Error::Integrity`] when other rows still refer to them.
    #[inline]
    pub fn delete(mut self) -> impl Future<Output = Result<u64>> + Send + 'static {
        let stmt = Later::from(self.delete_bound());
        execute_later(stmt, self.db)
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
    fn delete_statement(&self) -> Result<Option<Statement>> {
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
fn remember_by_key(shape: Option<Shape>, stmt: &Option<Bound>) {
    if let (Some(shape), Some(stmt)) = (shape, stmt) {
        shape.remember(&stmt.sql);
    }
}

/// Debug builds: a statement built from a kept text is the one rendering
/// gives.
#[cfg(debug_assertions)]
fn check_kept(kept: &Bound, rendered: Result<Option<Statement>>) {
    match rendered {
        Ok(Some(rendered)) => assert_eq!(
            (&*kept.sql, &kept.binds[..]),
            (&*rendered.sql, &rendered.binds[..]),
            "a kept query shape diverged"
        ),
        other => panic!("a kept query shape renders {other:?}"),
    }
}

/// [`count`](QuerySet::count)'s future: the number in the statement's one
/// row (0 when no row can match and nothing is sent).
async fn count_later(stmt: Later, using: Option<Db>) -> Result<i64> {
    match first_row_later(stmt, using).await? {
        Some(row) => Ok(row.try_get(0)?),
        None => Ok(0),
    }
}

/// [`exists`](QuerySet::exists)'s future.
async fn exists_later(stmt: Later, using: Option<Db>) -> Result<bool> {
    Ok(first_row_later(stmt, using).await?.is_some())
}

/// The first row of a statement rendered before the first `.await`, on the
/// query's database, found when it runs; `None` without a query when no row
/// can match.
async fn first_row_later(stmt: Later, using: Option<Db>) -> Result<Option<tokio_postgres::Row>> {
    let stmt = match stmt {
        Later::Fail(e) => return Err(*e),
        Later::Skip => return Ok(None),
        Later::Run(stmt) => stmt,
    };
    let mut first = None;
    db::resolve(using.as_ref())?
        .for_each_row(&stmt.sql, stmt.binds.iter(), &stmt.binds, |row| {
            first.get_or_insert(row);
            Ok(())
        })
        .await?;
    Ok(first)
}

/// A statement rendered before the first `.await`, for the future that
/// runs it: a pointer and a tag, so that the future is built where it is
/// awaited instead of being made with the statement inside and moved there
/// (with its whole size, 1.8 KB) twice.
enum Later {
    Run(Box<Bound>),
    /// No row can match: nothing is sent.
    Skip,
    Fail(Box<Error>),
}

impl From<Result<Option<Bound>>> for Later {
    #[inline]
    fn from(stmt: Result<Option<Bound>>) -> Later {
        match stmt {
            Ok(Some(stmt)) => Later::Run(Box::new(stmt)),
            Ok(None) => Later::Skip,
            Err(e) => Later::Fail(Box::new(e)),
        }
    }
}

/// Runs a statement rendered before the first `.await` (the future then
/// holds only the text and binds) on the query's database, found when it
/// runs; 0 rows without a query when there is none.
async fn execute_later(stmt: Later, using: Option<Db>) -> Result<u64> {
    match stmt {
        Later::Fail(e) => Err(*e),
        Later::Skip => Ok(0),
        Later::Run(stmt) => {
            db::resolve(using.as_ref())?
                .execute(&stmt.sql, &stmt.binds)
                .await
        }
    }
}

/// `EXISTS (SELECT 1 FROM ..)`: a condition on the outer query's rows,
/// true when `query` finds a row; inside it, [`OuterRef`](crate::query::OuterRef)
/// names a field of the outer row (Django's `Exists` + `OuterRef`):
///
/// ```no_run
/// # use orm_core::prelude::*;
/// # use orm_core::query::{Exists, OuterRef};
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct User { #[orm(primary_key)] pub id: i64, pub name: String }
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct Post { #[orm(primary_key)] pub id: i64, pub author: ForeignKey<User>, pub published: bool }
/// # async fn run() -> orm_core::Result<()> {
/// let writers = User::filter(Exists(Post::filter(q!(author = OuterRef("id"), published = true)))).await?;
/// # Ok(()) }
/// ```
#[allow(non_snake_case)]
pub fn Exists<M, T: Model>(query: QuerySet<T>) -> crate::Q<M> {
    let filter = query.filter.simplify();
    if matches!(filter, Node::Nothing) {
        return crate::Q::none();
    }
    crate::Q::from_node(Node::Exists(Box::new(crate::query::q::Subquery {
        meta: T::META,
        column: None,
        filter,
        order: Vec::new(),
        limit: None,
        offset: None,
        error: query.error.map(|(_, reason)| reason),
    })))
}

/// What a `get()`'s future starts from. Small, so that the future, built
/// where it is awaited, is not first made elsewhere and moved there (with
/// its whole size) twice.
enum GetArgs<M> {
    /// `field = value` on a plain query set, on its database: the fast path.
    Exact(Option<Db>, &'static FieldMeta, Value),
    /// Any other query set and condition, boxed so that the arguments stay
    /// small whatever the query set holds.
    Query(Box<(QuerySet<M>, Q<M>)>),
}

impl<M: Model> GetArgs<M> {
    /// The query `get()` runs ([`get_limit`](QuerySet::get_limit): no
    /// ordering unless sliced, at most [`MAX_GET_RESULTS`] rows, no `LIMIT`
    /// when at most one row can match). Run by `get()`'s future, not when
    /// it is made.
    fn plan(self) -> Result<Option<Plan>> {
        let (db, field, value) = match self {
            GetArgs::Exact(_, field, value) if value.has_nul() => {
                return Err(crate::value::nul_error(M::META.name, field.name))
            }
            GetArgs::Exact(db, field, value) => (db, field, value),
            GetArgs::Query(query) => {
                let (qs, q) = *query;
                return qs.filter(q).get_limit()?.plan();
            }
        };
        // The most common get, `Model::get(q!(id = x))`, once its text is
        // kept: no query set, filter tree or full shape is built.
        let limit = (!is_unique(field)).then_some(MAX_GET_RESULTS);
        let shape = match Shape::get_text(M::META, field, limit) {
            Ok(sql) => {
                #[cfg(test)]
                FAST_GETS.set(FAST_GETS.get() + 1);
                #[cfg(debug_assertions)]
                check_fast_get::<M>(sql, field, &value);
                return Ok(Some(Plan::get(db, sql, value)));
            }
            Err(shape) => shape,
        };
        let plan = exact_get::<M>(db, field, value)?.plan()?;
        // Kept under this shape too, built here: a constant such as
        // `M::META` may have another address in `shape()`.
        if let (Some(shape), Some(plan)) = (&shape, &plan) {
            shape.remember(&plan.stmt.sql);
        }
        Ok(plan)
    }
}

/// The query set of a get by `field = value` on `db`, with its `LIMIT`.
fn exact_get<M: Model>(
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
fn check_fast_get<M: Model>(sql: &str, field: &'static FieldMeta, value: &Value) {
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

/// The one row of a `get()`: the first row decoded, the others (up to
/// [`MAX_GET_RESULTS`]) only counted. One `async fn` layer down to the
/// driver, like [`run`].
///
/// The future `get()` returns is this `async fn`'s own, not one wrapping
/// it: each wrapper would move this (2 KB) future once more. It plans the
/// query itself ([`GetArgs::plan`]), so that what `get()` hands it is
/// small ([`GetArgs`]) and the future is built where it is awaited.
async fn get_one<M: Model, T: GetOutput<M>>(args: GetArgs<M>) -> Result<T> {
    let Some(plan) = args.plan()? else {
        return T::from_found(None);
    };
    let db = plan.db()?;
    let mut found: Option<M> = None;
    let mut n = 0usize;
    let (sql, binds) = (&plan.stmt.sql, &plan.stmt.binds);
    db.for_each_row(sql, binds.iter(), binds, |row| {
        n += 1;
        if n == 1 {
            found = Some(plan.decode(&row)?);
        }
        Ok(())
    })
    .await?;
    if n > 1 {
        return Err(Error::MultipleObjectsReturned {
            model: M::META.name,
            count: if n as i64 >= MAX_GET_RESULTS {
                n - 1
            } else {
                n
            },
            more: n as i64 >= MAX_GET_RESULTS,
        });
    }
    if let Some(found) = &mut found {
        plan.prefetch(&db, std::slice::from_mut(found)).await?;
    }
    T::from_found(found)
}

/// Whether `node` is leaves on the model's own fields joined by `AND` (the
/// `filter()` calls around them only matter across relations).
fn own_fields_only(node: &Node) -> bool {
    match node {
        Node::Leaf(cond) => cond.path.is_empty(),
        Node::And(items) => items.iter().all(own_fields_only),
        Node::Call { node, .. } => own_fields_only(node),
        _ => false,
    }
}

/// Whether one of `node`'s `AND`ed leaves is `=` a non-NULL value on the
/// primary key or a unique field.
fn has_unique_eq(node: &Node) -> bool {
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
fn is_unique(field: &FieldMeta) -> bool {
    field.primary_key || field.unique
}

/// What a get returns: the row (`get`, none is an error) or an `Option`
/// (`get_or_none`).
trait GetOutput<M>: Sized {
    fn from_found(found: Option<M>) -> Result<Self>;
}

impl<M: Model> GetOutput<M> for M {
    fn from_found(found: Option<M>) -> Result<M> {
        found.ok_or(Error::DoesNotExist {
            model: M::META.name,
        })
    }
}

impl<M: Model> GetOutput<M> for Option<M> {
    fn from_found(found: Option<M>) -> Result<Option<M>> {
        Ok(found)
    }
}

impl<M: Model> QuerySet<M> {
    /// The rows as tuples of the named fields, in order:
    /// `let pairs: Vec<(i64, String)> = User::all().values_list(("id", "name")).await?`.
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] for an unknown field; [`Error::InvalidQuery`]
    /// when the tuple has another number of elements; [`Error::Decode`] when
    /// an element's type does not match the column.
    pub async fn values_list<T: FromRowTuple>(self, fields: impl FieldNames) -> Result<Vec<T>> {
        let names = fields.names();
        let columns = values::resolve_fields(M::META, &names)?;
        if columns.len() != T::WIDTH {
            return Err(Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: format!(
                    "values_list names {} fields for a tuple of {}",
                    columns.len(),
                    T::WIDTH
                ),
            }));
        }
        let labels: Vec<&'static str> = columns.iter().map(|f| f.name).collect();
        let Some(stmt) = self.select_columns(&columns)? else {
            return Ok(Vec::new());
        };
        let db = db::resolve(self.db.as_ref())?;
        db.load_with(&stmt.sql, stmt.binds.iter(), |row| {
            T::from_row(row, &labels, M::META.name)
        })
        .await
    }

    /// One field of every row: `let names: Vec<String> = User::all().values_list_flat("name").await?`.
    ///
    /// # Errors
    /// As [`values_list`](QuerySet::values_list).
    pub async fn values_list_flat<T>(self, field: &str) -> Result<Vec<T>>
    where
        T: for<'a> postgres_types::FromSql<'a> + Send,
    {
        let rows: Vec<(T,)> = self.values_list(field).await?;
        Ok(rows.into_iter().map(|(t,)| t).collect())
    }

    /// Aggregates over the matching rows, named as Django names them
    /// (`views__sum`, or `.alias(..)`): `Count` of no rows is 0, the others
    /// are NULL (`None`).
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # use orm_core::query::{Avg, Count, Max, Sum};
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct Post { #[orm(primary_key)] pub id: i64, pub views: i32, pub rating: f64 }
    /// # async fn run() -> orm_core::Result<()> {
    /// let stats = Post::all().aggregate([Count("id"), Sum("views"), Avg("rating"), Max("views")]).await?;
    /// let n: i64 = stats.get("id__count")?;
    /// let total: Option<i64> = stats.get("views__sum")?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] for an unknown field; [`Error::InvalidQuery`]
    /// for `Sum`/`Avg` of a non-numeric field or `Min`/`Max` of an unordered one.
    pub async fn aggregate(
        self,
        aggregates: impl IntoIterator<Item = Aggregate>,
    ) -> Result<Aggregated> {
        let aggregates: Vec<Aggregate> = aggregates.into_iter().collect();
        let items: Vec<values::Resolved<'_>> = aggregates
            .iter()
            .map(|agg| agg.resolve(M::META))
            .collect::<Result<_>>()?;
        let names: std::sync::Arc<[String]> = items.iter().map(|r| r.agg.name()).collect();
        let Some(stmt) = self.with_select_joined(&[], |s| statements::aggregate(s, &items))? else {
            // Nothing can match: COUNT is 0, the others NULL.
            return Ok(Aggregated::new(
                names,
                items
                    .iter()
                    .map(|r| {
                        if r.agg.function == values::Function::Count {
                            Value::I64(Some(0))
                        } else {
                            r.ty.null()
                        }
                    })
                    .collect(),
            ));
        };
        let db = db::resolve(self.db.as_ref())?;
        let rows = db.query(&stmt.sql, &stmt.binds).await?;
        let row = rows.first().ok_or(Error::DoesNotExist {
            model: M::META.name,
        })?;
        let types: Vec<crate::types::SqlType> = items.iter().map(|r| r.ty).collect();
        Aggregated::read(&names, &types, row, 0)
    }

    /// The rows as a stream, decoded as the server sends them: memory stays
    /// bounded however many rows match (the connection applies
    /// backpressure). The connection is held until the stream ends or is
    /// dropped. Dropped before its last row, outside a transaction, the
    /// statement is cancelled on the server and its connection closed;
    /// inside one, the connection reads the remaining rows and drops them
    /// (cancelling would abort the transaction). `prefetch_related` is not
    /// applied to a stream.
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct Post { #[orm(primary_key)] pub id: i64 }
    /// # async fn run() -> orm_core::Result<()> {
    /// let mut posts = Post::all().stream();
    /// while let Some(post) = posts.try_next().await? {
    ///     // ...
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream(self) -> impl futures_util::Stream<Item = Result<M>> + Send + Unpin + 'static {
        let plan = if self.prefetch.is_empty() {
            self.plan()
        } else {
            Err(Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: "prefetch_related does not apply to stream(); use select_related or await the query".into(),
            }))
        };
        Box::pin(crate::exec::stream::rows::<M>(plan))
    }

    /// As [`delete`](QuerySet::delete), and reports what the database
    /// cascaded too (Django's `(total, {model: count})`): the matching rows
    /// are locked, the rows that `ON DELETE CASCADE` will remove are counted
    /// per model (link tables of many-to-many relations included), then the
    /// rows are deleted, all in one transaction.
    ///
    /// # Errors
    /// As [`delete`](QuerySet::delete).
    pub async fn delete_report(self) -> Result<crate::query::Deleted> {
        if self.limit.is_some() || self.offset.is_some() || self.distinct {
            return Err(Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: "cannot delete a sliced (limit/offset) or distinct query".into(),
            }));
        }
        let filter = self.simplified()?.into_owned();
        if matches!(filter, Node::Nothing) {
            return Ok(crate::query::Deleted::default());
        }
        let db = db::resolve(self.db.as_ref())?;
        crate::query::cascade::delete_report(&db, M::META, &filter).await
    }
}

impl<M: Model> IntoFuture for QuerySet<M> {
    type Output = Result<Vec<M>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Vec<M>>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.fetch())
    }
}
