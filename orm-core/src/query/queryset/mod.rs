//! [`QuerySet`]: a lazy, cloneable, awaitable query over one model.

use std::future::Future;
use std::marker::PhantomData;

use crate::db::Db;
use crate::model::Model;
use crate::query::order::OrderBy;
use crate::query::q::{IntoAssign, IntoQ, Node};
use crate::query::related::PrefetchSpec;
use crate::sql::statements::Lock;

use crate::error::Result;
use combine::Combined;
use run::{execute_later, get_one, Later};

mod combine;
mod compile;
mod run;

#[cfg(test)]
pub(crate) use compile::FAST_GETS;

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
    /// [`reverse`](QuerySet::reverse): the ordering, whatever it is when
    /// the query runs, runs the other way (Django's `standard_ordering`).
    pub(crate) reversed: bool,
    /// `union`/`intersection`/`difference`: the parts this query combines.
    pub(crate) combined: Option<Box<Combined<M>>>,
    /// Which rows of a soft delete model it sees (`with_deleted`, `only_deleted`).
    pub(crate) deleted: crate::soft_delete::filter::DeletedRows,
    /// [`all_tenants`](QuerySet::all_tenants): not restricted to the
    /// current tenant (`crate::tenant`).
    pub(crate) all_tenants: bool,
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
            reversed: self.reversed,
            combined: self.combined.clone(),
            deleted: self.deleted,
            all_tenants: self.all_tenants,
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
    /// A query over every row of `M` (same as [`ActiveRecord::all`](crate::ActiveRecord::all)).
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
            reversed: false,
            combined: None,
            deleted: Default::default(),
            all_tenants: false,
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
    /// `"-karma"` for descending), paths across foreign keys and
    /// one-to-ones (`"author__name"`: a `LEFT JOIN`, NULL last ascending;
    /// `"author"`: its key column), typed terms (`f.karma.desc()`) or
    /// expressions (`(F("likes") + F("views")).desc()`), see [`OrderBy`].
    /// An unknown name, or a path across a relation to many rows (order by
    /// an aggregate of it: `annotate([Min("tags__name")])`), is reported
    /// when the query runs, before anything is sent.
    #[must_use]
    pub fn order_by<I>(mut self, terms: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<OrderBy>,
    {
        self.order = terms.into_iter().map(Into::into).collect();
        self
    }

    /// Runs the ordering the other way round, as Django's `reverse()`: each
    /// term of [`order_by`](Self::order_by) flips, also one given after
    /// this call, and twice is the original. A query without ordering is
    /// not reordered (`first()`/`last()` still use the primary key,
    /// flipped).
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct User { #[orm(primary_key)] pub id: i64, pub name: String, pub karma: i32 }
    /// # async fn run() -> orm_core::Result<()> {
    /// // ORDER BY "users"."karma" ASC, "users"."name" DESC
    /// let users = User::all().order_by(["-karma", "name"]).reverse().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// On a sliced query (`limit`/`offset`) the query reports
    /// [`Error::InvalidQuery`](crate::Error::InvalidQuery) when it runs, as
    /// Django refuses to reverse it.
    #[must_use]
    pub fn reverse(mut self) -> Self {
        if self.limit.is_some() || self.offset.is_some() {
            if self.error.is_none() {
                self.error = Some((
                    M::META.name,
                    "cannot reverse a query once a slice (limit/offset) has been taken".into(),
                ));
            }
            return self;
        }
        self.reversed = !self.reversed;
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
    /// these tables (`"self"` and `select_related` paths, nested ones too:
    /// `"author__profile"`), as Django's `select_for_update(of=..)`. Any
    /// other name is reported as
    /// [`Error::InvalidLookup`](crate::Error::InvalidLookup) when the query
    /// runs, before anything is sent. A path through a nullable key or a
    /// reverse one-to-one is a `LEFT JOIN`, whose NULL side PostgreSQL
    /// cannot lock: [`Error::InvalidQuery`](crate::Error::InvalidQuery).
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
    /// query (an `INNER JOIN` for a non-null key, as Django's, a `LEFT
    /// JOIN` for a nullable one or a reverse one-to-one), so
    /// `post.author.get()` needs no further query.
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
    /// [`Error::InvalidLookup`](crate::Error::InvalidLookup).
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
            filter: Some(query.scoped_filter().into_owned()),
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
    /// [`Record`](crate::query::Record) per row, each value named as asked;
    /// a name may cross any relation (`"author__name"`, `"tags__name"`) as
    /// Django's `LEFT JOIN`: one row per related row, and one with NULL
    /// where there is none; with
    /// [`annotate`](crate::query::ValuesQuery::annotate), one per group
    /// (`GROUP BY` those fields); used as an `__in` value, a subquery:
    /// `User::filter(q!(id__in = Post::filter(q!(published = true)).values("author_id")))`.
    pub fn values(self, fields: impl crate::query::FieldNames) -> crate::query::ValuesQuery<M> {
        crate::query::ValuesQuery::new(self, fields.names())
    }

    /// Reaches across tenants: this query on a tenant model
    /// (`#[orm(tenant)]`) is not restricted to the current tenant, and
    /// runs without one (see [`crate::tenant`]). The explicit, greppable
    /// escape; relations it loads (`prefetch_related`) are still
    /// restricted unless run inside [`tenant::unscoped`](crate::tenant::unscoped).
    #[must_use]
    pub fn all_tenants(mut self) -> Self {
        self.all_tenants = true;
        self
    }

    /// Runs this query on `db` instead of the scoped or default database.
    #[must_use]
    pub fn using(mut self, db: &Db) -> Self {
        self.db = Some(db.clone());
        self
    }

    // The terminal methods whose arguments carry a trait bound are here,
    // beside the chain, so that a compile error about the bound names
    // `QuerySet::<M>::update`, not the module of `run.rs`.

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
    /// [`Error::DoesNotExist`](crate::Error::DoesNotExist) or [`Error::MultipleObjectsReturned`](crate::Error::MultipleObjectsReturned).
    #[inline]
    pub fn get(self, q: impl IntoQ<M>) -> impl Future<Output = Result<M>> + Send + 'static {
        get_one(self.get_args(q))
    }

    /// The one row matching this query and `q`, or `None`.
    ///
    /// # Errors
    /// [`Error::MultipleObjectsReturned`](crate::Error::MultipleObjectsReturned) when several match.
    #[inline]
    pub fn get_or_none(
        self,
        q: impl IntoQ<M>,
    ) -> impl Future<Output = Result<Option<M>>> + Send + 'static {
        get_one(self.get_args(q))
    }

    /// Sets the assigned fields on every matching row (one `UPDATE`) and
    /// returns the number of rows matched. `auto_now` fields are not
    /// touched, as in Django.
    ///
    /// # Errors
    /// [`Error::InvalidQuery`](crate::Error::InvalidQuery) on a sliced query or with no assignment;
    /// [`Error::Integrity`](crate::Error::Integrity) for a violated constraint.
    #[inline]
    pub fn update(
        self,
        assign: impl IntoAssign<M>,
    ) -> impl Future<Output = Result<u64>> + Send + 'static {
        let mut qs = self;
        let assign = assign.into_assign();
        if crate::tenant::in_use() {
            let db = qs.db.clone();
            return execute_later(Later::deferred(move || qs.update_bound(assign)), db);
        }
        let stmt = Later::from(qs.update_bound(assign));
        execute_later(stmt, qs.db)
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
    let filter = query.scoped_filter().simplify();
    if matches!(filter, Node::Nothing) {
        return crate::Q::none();
    }
    let mut error = query.error.map(|(_, reason)| reason);
    let filter = crate::tenant::restrict_subquery(T::META, query.all_tenants, filter, &mut error);
    crate::Q::from_node(Node::Exists(Box::new(crate::query::q::Subquery {
        meta: T::META,
        column: None,
        filter,
        order: Vec::new(),
        limit: None,
        offset: None,
        error,
        whole_key: false,
    })))
}
