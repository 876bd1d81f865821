//! What awaiting a [`QuerySet`] does: the rows, `count`, `exists`,
//! `first`/`last`, `get`, `update`, `delete`, `values_list`, `aggregate`,
//! `stream`; each future holds only its rendered statement.

use std::borrow::Cow;
use std::future::{Future, IntoFuture};
use std::pin::Pin;

use crate::db::{self, Db};
use crate::error::{Error, Result};
use crate::exec::plan::{run, Plan};
use crate::meta::FieldMeta;
use crate::model::Model;
use crate::query::paths::{PathPlan, Reach};
use crate::query::q::{IntoQ, Node, Q};
use crate::query::values::{self, Aggregate, Aggregated, FieldNames, FromRowTuple};
use crate::sql::kept::ByKey;
use crate::sql::statements;
use crate::sql::Bound;
use crate::value::Value;

#[cfg(debug_assertions)]
use super::compile::check_fast_get;
use super::compile::{exact_get, is_unique};
use super::*;

impl<M: Model> QuerySet<M> {
    /// Runs the query and returns every matching row.
    ///
    /// # Errors
    /// Database errors, and as [`sql`](QuerySet::sql).
    pub fn fetch(self) -> impl Future<Output = Result<Vec<M>>> + Send + 'static {
        let plan = Planned::new(self);
        async move {
            match plan.plan()? {
                Some(plan) => run(&plan).await,
                None => Ok(Vec::new()),
            }
        }
    }

    /// The number of matching rows (`SELECT COUNT(*)`). A lookup across a
    /// multi-valued relation never repeats a row, so this counts each
    /// matching row once: Django's `.distinct().count()`, where its plain
    /// `count()` would count the join's repeats.
    ///
    /// # Errors
    /// Database errors.
    #[inline]
    pub fn count(self) -> impl Future<Output = Result<i64>> + Send + 'static {
        if crate::tenant::in_use() {
            let db = self.db.clone();
            return count_later(Later::deferred(move || self.count_or_exists(false)), db);
        }
        count_later(Later::from(self.count_or_exists(false)), self.db)
    }

    /// True when at least one row matches.
    ///
    /// # Errors
    /// Database errors.
    #[inline]
    pub fn exists(self) -> impl Future<Output = Result<bool>> + Send + 'static {
        if crate::tenant::in_use() {
            let db = self.db.clone();
            return exists_later(Later::deferred(move || self.count_or_exists(true)), db);
        }
        exists_later(Later::from(self.count_or_exists(true)), self.db)
    }

    /// The first row: by the query's ordering, or by primary key when it has none.
    ///
    /// # Errors
    /// Database errors.
    pub async fn first(self) -> Result<Option<M>> {
        Ok(self.first_query().fetch().await?.into_iter().next())
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
        // The ordering (the primary key's when there is none), the other
        // way: `reversed` flips it when the query is compiled.
        if self.order.is_empty() {
            self.order = crate::query::queryset::compile::pk_order(M::META);
        }
        self.reversed = !self.reversed;
        self.limit = Some(1);
        Ok(self.fetch().await?.into_iter().next())
    }

    /// The distinct dates of `field` (a date or date-time field) among the
    /// matching rows, cut to `kind` (`"year"`, `"month"`, `"week"`, which
    /// starts on Monday, or `"day"`), in `order` `"ASC"` or `"DESC"`, as
    /// Django's `dates(field, kind, order)`. A `DateTime<Utc>` field is cut
    /// in the [active time zone](crate::timezone) (UTC unless set), as
    /// Django's with `USE_TZ`.
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # use chrono::{DateTime, Utc};
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct Post { #[orm(primary_key)] pub id: i64, pub created: DateTime<Utc> }
    /// # async fn run() -> orm_core::Result<()> {
    /// let months = Post::all().dates("created", "month", "ASC").await?; // first days of months
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] for an unknown field; [`Error::InvalidQuery`]
    /// for a field that is not a date or date-time, another `kind` or
    /// `order`, or a sliced query (as Django refuses them); database errors.
    pub async fn dates(
        self,
        field: &str,
        kind: &str,
        order: &str,
    ) -> Result<Vec<chrono::NaiveDate>> {
        use crate::types::SqlType;
        let cut = self.cut(
            "dates()",
            field,
            kind,
            order,
            &["year", "month", "week", "day"],
            &[SqlType::Date, SqlType::Timestamp, SqlType::TimestampTz],
        )?;
        let Some((qs, column, kind, desc)) = cut else {
            return Ok(Vec::new());
        };
        let zone = crate::timezone::current();
        let time_zone = (column.sql_type == SqlType::TimestampTz).then_some(zone.as_str());
        let db = db::resolve(qs.db.as_ref())?;
        let filter = qs.simplified()?;
        let stmt = statements::dates(M::META, &filter, column, kind, time_zone, desc);
        let rows = db.query(&stmt.sql, &stmt.binds).await?;
        rows.iter()
            .map(|row| row.try_get(0).map_err(Error::Database))
            .collect()
    }

    /// The distinct instants of `field` (a `DateTime<Utc>` field) among
    /// the matching rows, cut to `kind` (`"year"`, `"month"`, `"week"`,
    /// `"day"`, `"hour"`, `"minute"` or `"second"`) in the
    /// [active time zone](crate::timezone) (UTC unless set), in `order`
    /// `"ASC"` or `"DESC"`, as Django's `datetimes(field, kind, order)`:
    /// in New York, `"day"` gives the instants of New York's midnights.
    ///
    /// # Errors
    /// As [`dates`](Self::dates), for a field that is not a `DateTime<Utc>`
    /// or another `kind`.
    pub async fn datetimes(
        self,
        field: &str,
        kind: &str,
        order: &str,
    ) -> Result<Vec<chrono::DateTime<chrono::Utc>>> {
        let cut = self.cut(
            "datetimes()",
            field,
            kind,
            order,
            &["year", "month", "week", "day", "hour", "minute", "second"],
            &[crate::types::SqlType::TimestampTz],
        )?;
        let Some((qs, column, kind, desc)) = cut else {
            return Ok(Vec::new());
        };
        let db = db::resolve(qs.db.as_ref())?;
        let filter = qs.simplified()?;
        let zone = crate::timezone::current();
        let stmt = statements::datetimes(M::META, &filter, column, kind, &zone, desc);
        let rows = db.query(&stmt.sql, &stmt.binds).await?;
        rows.iter()
            .map(|row| row.try_get(0).map_err(Error::Database))
            .collect()
    }

    /// The checks of [`dates`](Self::dates) and
    /// [`datetimes`](Self::datetimes): the field (of one of `types`), the
    /// kind (one of `kinds`), the order, no slice; `None` when nothing
    /// can match.
    #[allow(clippy::type_complexity)]
    fn cut(
        self,
        what: &str,
        field: &str,
        kind: &str,
        order: &str,
        kinds: &[&'static str],
        types: &[crate::types::SqlType],
    ) -> Result<Option<(Self, &'static FieldMeta, &'static str, bool)>> {
        let invalid = |reason: String| {
            Error::from(crate::error::QueryError {
                model: M::META.name,
                reason,
            })
        };
        let column = values::resolve_fields(M::META, &[field])?[0];
        if !types.contains(&column.sql_type) {
            return Err(invalid(format!(
                "{what} takes a date or date-time field, not `{}` ({})",
                column.name,
                column.sql_type.name()
            )));
        }
        let Some(kind) = kinds.iter().copied().find(|k| *k == kind) else {
            return Err(invalid(format!(
                "{what} cuts to one of {kinds:?}, not {:?}",
                crate::query::lookup::shown(kind)
            )));
        };
        let desc = match order {
            "ASC" => false,
            "DESC" => true,
            other => {
                return Err(invalid(format!(
                    "{what} orders \"ASC\" or \"DESC\", not {:?}",
                    crate::query::lookup::shown(other)
                )))
            }
        };
        if self.limit.is_some() || self.offset.is_some() {
            return Err(invalid(format!(
                "cannot use {what} once a slice (limit/offset) has been taken"
            )));
        }
        if matches!(*self.simplified()?, Node::Nothing) {
            return Ok(None);
        }
        Ok(Some((self, column, kind, desc)))
    }

    /// PostgreSQL's plan for this query's `SELECT` (`EXPLAIN`), one line of
    /// text per plan line, as Django's `explain()`; with `analyze`, the
    /// query runs and the plan has its timings (`EXPLAIN ANALYZE`, Django's
    /// `explain(analyze=True)`). A query that can match nothing sends no
    /// `SELECT`, and its plan says so.
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct User { #[orm(primary_key)] pub id: i64, pub karma: i32 }
    /// # async fn run() -> orm_core::Result<()> {
    /// let plan = User::filter(q!(karma__gte = 10)).explain(false).await?;
    /// assert!(plan.contains("Scan"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As awaiting the query; database errors.
    pub async fn explain(self, analyze: bool) -> Result<String> {
        let db = db::resolve(self.db.as_ref())?;
        let Some(stmt) = self.sql()? else {
            return Ok("no query: nothing can match".to_owned());
        };
        let stmt = statements::explain(stmt, analyze);
        let rows = db.query(&stmt.sql, &stmt.binds).await?;
        let lines: Vec<String> = rows
            .iter()
            .map(|row| row.try_get::<_, String>(0).map_err(Error::Database))
            .collect::<Result<_>>()?;
        Ok(lines.join("\n"))
    }

    /// The rows whose primary key is one of `ids`, by key, as Django's
    /// `in_bulk(id_list)`: one query (`"pk" = ANY($1)`) on this query set,
    /// none at all for no ids; a key no row has is absent from the map.
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct User { #[orm(primary_key)] pub id: i64, pub name: String }
    /// # async fn run() -> orm_core::Result<()> {
    /// let users = User::all().in_bulk([1, 2, 3]).await?;
    /// if let Some(user) = users.get(&2) {
    ///     println!("{}", user.name);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] on a sliced query (as Django refuses it);
    /// database errors.
    pub async fn in_bulk<I>(self, ids: I) -> Result<std::collections::HashMap<M::Pk, M>>
    where
        I: IntoIterator<Item = M::Pk>,
        M::Pk: std::hash::Hash + Eq,
    {
        if self.limit.is_some() || self.offset.is_some() {
            return Err(Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: "cannot use in_bulk() once a slice (limit/offset) has been taken".into(),
            }));
        }
        let meta = M::META;
        let ids: Vec<Value> = ids
            .into_iter()
            .map(|id| {
                let mut values = crate::key::PkValue::to_values(&id);
                match values.len() {
                    1 => values.pop().unwrap_or(Value::Array(Vec::new())),
                    _ => Value::Array(values),
                }
            })
            .collect();
        if ids.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        let filter = if meta.has_composite_pk() {
            crate::sql::tree::key_in_node(meta, ids)
        } else {
            Node::leaf(meta.pk_field(), crate::query::q::Op::In(ids))
        };
        let rows = self.filter(Q::from_node(filter)).fetch().await?;
        rows.into_iter()
            .map(|row| {
                let values = meta.pk_fields.iter().map(|&i| row.field_value(i)).collect();
                let key = <M::Pk as crate::key::PkValue>::from_values(values);
                let key = key.ok_or_else(|| {
                    Error::from(crate::error::ValueError {
                        model: meta.name,
                        field: meta.pk_field().name,
                        reason: "the primary key read back is not of the key's type".into(),
                    })
                })?;
                Ok((key, row))
            })
            .collect()
    }

    /// What `get()`'s future starts from: on a plain query set, `field =
    /// value` split out when it is one ([`IntoQ::into_exact`]).
    #[inline]
    pub(super) fn get_args(self, q: impl IntoQ<M>) -> GetArgs<M> {
        if self.is_plain() {
            match q.into_exact() {
                Ok((field, value)) => GetArgs::Exact(self.db, field, value),
                Err(q) => GetArgs::Query(Box::new((self, q))),
            }
        } else {
            GetArgs::Query(Box::new((self, q.into_q())))
        }
    }

    /// Deletes every matching row (one `DELETE`) and returns how many.
    ///
    /// On a soft delete model (`#[orm(soft_delete)]`) it marks them
    /// instead (one `UPDATE .. SET "deleted_at" = now()`, cascading to soft
    /// delete models that refer to them by `CASCADE` keys, in one
    /// transaction) and returns how many it marked; see
    /// [`hard_delete`](QuerySet::hard_delete) and the crate docs' "Soft delete".
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] on a sliced or distinct query;
    /// [`Error::Integrity`] when other rows still refer to them.
    #[inline]
    pub fn delete(mut self) -> impl Future<Output = Result<u64>> + Send + 'static {
        if M::META.soft_delete.is_some() {
            return futures_util::future::Either::Right(Box::pin(crate::soft_delete::mark(self)));
        }
        if crate::tenant::in_use() {
            let db = self.db.clone();
            let stmt = Later::deferred(move || self.delete_bound());
            return futures_util::future::Either::Left(execute_later(stmt, db));
        }
        let stmt = Later::from(self.delete_bound());
        futures_util::future::Either::Left(execute_later(stmt, self.db))
    }
}

/// [`count`](QuerySet::count)'s future: the number in the statement's one
/// row (0 when no row can match and nothing is sent).
pub(super) async fn count_later(stmt: Later, using: Option<Db>) -> Result<i64> {
    match first_row_later(stmt, using).await? {
        Some(row) => Ok(row.try_get(0)?),
        None => Ok(0),
    }
}

/// [`exists`](QuerySet::exists)'s future.
pub(super) async fn exists_later(stmt: Later, using: Option<Db>) -> Result<bool> {
    Ok(first_row_later(stmt, using).await?.is_some())
}

/// The first row of a statement rendered before the first `.await`, on the
/// query's database, found when it runs; `None` without a query when no row
/// can match.
pub(super) async fn first_row_later(
    stmt: Later,
    using: Option<Db>,
) -> Result<Option<tokio_postgres::Row>> {
    let Some(stmt) = stmt.rendered()? else {
        return Ok(None);
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
pub(super) enum Later {
    Run(Box<Bound>),
    /// No row can match: nothing is sent.
    Skip,
    Fail(Box<Error>),
    /// Rendered when the future first runs (tenant models in use: see
    /// [`tenant::in_use`](crate::tenant::in_use)).
    Deferred(Box<dyn FnOnce() -> Result<Option<Bound>> + Send>),
}

impl Later {
    /// A statement rendered by `render` when the future first runs, in the
    /// tenant scope it runs in.
    pub(super) fn deferred(
        render: impl FnOnce() -> Result<Option<Bound>> + Send + 'static,
    ) -> Later {
        Later::Deferred(Box::new(render))
    }

    /// The statement (rendered now when it was deferred); `None` when no
    /// row can match.
    fn rendered(self) -> Result<Option<Box<Bound>>> {
        match self {
            Later::Run(stmt) => Ok(Some(stmt)),
            Later::Skip => Ok(None),
            Later::Fail(e) => Err(*e),
            Later::Deferred(render) => Ok(render()?.map(Box::new)),
        }
    }
}

/// What [`fetch`](QuerySet::fetch)'s future runs: planned when it is made,
/// or (tenant models in use) when it first runs.
enum Planned<M> {
    Now(Result<Option<Plan>>),
    Deferred(Box<QuerySet<M>>),
}

impl<M: Model> Planned<M> {
    fn new(qs: QuerySet<M>) -> Planned<M> {
        if crate::tenant::in_use() {
            Planned::Deferred(Box::new(qs))
        } else {
            Planned::Now(qs.plan())
        }
    }

    fn plan(self) -> Result<Option<Plan>> {
        match self {
            Planned::Now(plan) => plan,
            Planned::Deferred(qs) => qs.plan(),
        }
    }
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
pub(super) async fn execute_later(stmt: Later, using: Option<Db>) -> Result<u64> {
    match stmt.rendered()? {
        None => Ok(0),
        Some(stmt) => {
            db::resolve(using.as_ref())?
                .execute(&stmt.sql, &stmt.binds)
                .await
        }
    }
}

/// What a `get()`'s future starts from. Small, so that the future, built
/// where it is awaited, is not first made elsewhere and moved there (with
/// its whole size) twice.
pub(super) enum GetArgs<M> {
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
    pub(super) fn plan(self) -> Result<Option<Plan>> {
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
        // kept: no query set or filter tree is built, nothing is walked.
        let limit = (!is_unique(field)).then_some(MAX_GET_RESULTS);
        let key = ByKey::get(M::META, field, limit);
        if let Some(sql) = key.text() {
            #[cfg(test)]
            FAST_GETS.set(FAST_GETS.get() + 1);
            #[cfg(debug_assertions)]
            check_fast_get::<M>(sql, field, &value);
            return Ok(Some(Plan::get(db, sql, value)));
        }
        let plan = exact_get::<M>(db, field, value)?.plan()?;
        if let Some(Plan {
            stmt: Bound {
                sql: Cow::Borrowed(sql),
                ..
            },
            ..
        }) = &plan
        {
            key.remember(sql);
        }
        Ok(plan)
    }
}

/// The one row of a `get()`: the first row decoded, the others (up to
/// [`MAX_GET_RESULTS`]) only counted. One `async fn` layer down to the
/// driver, like [`run`].
///
/// The future `get()` returns is this `async fn`'s own, not one wrapping
/// it: each wrapper would move this (2 KB) future once more. It plans the
/// query itself ([`GetArgs::plan`]), so that what `get()` hands it is
/// small ([`GetArgs`]) and the future is built where it is awaited.
pub(super) async fn get_one<M: Model, T: GetOutput<M>>(args: GetArgs<M>) -> Result<T> {
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

/// What a get returns: the row (`get`, none is an error) or an `Option`
/// (`get_or_none`).
pub(super) trait GetOutput<M>: Sized {
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
    /// A name may cross relations as in [`values`](QuerySet::values)
    /// (`"author__name"`: one row per related row, NULL where there is
    /// none, so read it as an `Option`), the ordering's paths sharing its
    /// joins.
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] for an unknown field; [`Error::InvalidQuery`]
    /// when the tuple has another number of elements; [`Error::Decode`] when
    /// an element's type does not match the column.
    pub async fn values_list<T: FromRowTuple>(self, fields: impl FieldNames) -> Result<Vec<T>> {
        let names = fields.names();
        // Across relations as Django's joins: one row per related row.
        let mut plan = PathPlan::new(M::META, &[], Reach::Many);
        let columns = names
            .iter()
            .map(|name| plan.column(name))
            .collect::<Result<Vec<_>>>()?;
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
        let labels: Vec<&'static str> = columns.iter().map(|c| c.field.name).collect();
        let Some(stmt) = self.select_columns(&mut plan, &columns)? else {
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
    /// are NULL (`None`). An aggregate across a relation (`Sum("posts__views")`)
    /// is computed in a subquery of its own: neither the filter's relations
    /// nor another aggregate's join inflate it, as Django's joins would.
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
        let items: Vec<values::Resolved> = aggregates
            .iter()
            .map(|agg| agg.resolve(M::META))
            .collect::<Result<_>>()?;
        let names: std::sync::Arc<[String]> = items.iter().map(|r| r.name.clone()).collect();
        let Some(stmt) =
            self.with_select_joined(&[], |s| crate::sql::aggregate::aggregate(s, &items))?
        else {
            // Nothing can match: COUNT is 0, the others NULL.
            return Ok(Aggregated::new(
                names,
                items
                    .iter()
                    .map(|r| match (&r.default, r.function) {
                        (_, values::Function::Count) => Value::I64(Some(0)),
                        // Django's `default=` also stands in here.
                        (Some(default), _) => values::default_as(default, r.ty),
                        (None, _) => r.ty.null(),
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
        use futures_util::future::Either;
        use futures_util::StreamExt;
        if crate::tenant::in_use() {
            // Planned when first polled, in the tenant scope it runs in.
            let later = async move { crate::exec::stream::rows::<M>(self.stream_plan()) };
            return Either::Right(Box::pin(futures_util::stream::once(later).flatten()));
        }
        Either::Left(Box::pin(crate::exec::stream::rows::<M>(self.stream_plan())))
    }

    /// [`stream`](QuerySet::stream)'s plan: the query's, refused with
    /// `prefetch_related`.
    fn stream_plan(self) -> Result<Option<Plan>> {
        if self.prefetch.is_empty() {
            self.plan()
        } else {
            Err(Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: "prefetch_related does not apply to stream(); use select_related or await the query".into(),
            }))
        }
    }

    /// The rows as a stream, as Django's `iterator(chunk_size)`.
    ///
    /// Without `prefetch_related` this is [`stream`](QuerySet::stream):
    /// rows are decoded as the server sends them and memory stays bounded
    /// whatever the chunk size. With `prefetch_related`, the rows are read
    /// `chunk_size` at a time through a server-side cursor (`DECLARE` /
    /// `FETCH`), and each chunk's relations are prefetched (one query per
    /// level and chunk) before its rows come out, so memory holds one
    /// chunk. The cursor needs a transaction: inside one it uses it,
    /// otherwise it begins one for the iteration and commits it after the
    /// last row (dropped half-way, that transaction rolls back and its
    /// connection is closed).
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct User { #[orm(primary_key)] pub id: i64, pub posts: Reverse<Post> }
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct Post { #[orm(primary_key)] pub id: i64, #[orm(related_name = "posts")] pub author: ForeignKey<User> }
    /// # async fn run() -> orm_core::Result<()> {
    /// let mut users = User::all().prefetch_related(["posts"]).iterator(500);
    /// while let Some(user) = users.try_next().await? {
    ///     let posts = user.posts.get().expect("prefetched");
    ///     // ...
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The stream's first item is [`Error::InvalidQuery`] for a chunk size
    /// of 0 (Django: "Chunk size must be strictly positive"); then as
    /// [`stream`](QuerySet::stream).
    pub fn iterator(
        self,
        chunk_size: usize,
    ) -> impl futures_util::Stream<Item = Result<M>> + Send + Unpin + 'static {
        use futures_util::StreamExt;
        if chunk_size == 0 {
            let err = Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: "iterator(): the chunk size must be strictly positive".into(),
            });
            return futures_util::stream::once(async move { Err(err) }).boxed();
        }
        if self.prefetch.is_empty() {
            return self.stream().boxed();
        }
        let chunked = move |qs: QuerySet<M>| {
            let mut plan = qs.plan();
            if let Ok(Some(plan)) = &mut plan {
                // Each chunk prefetches for its own rows.
                plan.root = None;
            }
            crate::exec::cursor::chunked::<M>(plan, chunk_size)
        };
        if crate::tenant::in_use() {
            // Planned when first polled, in the tenant scope it runs in.
            let later = async move { chunked(self) };
            return futures_util::stream::once(later).flatten().boxed();
        }
        chunked(self).boxed()
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
        if M::META.soft_delete.is_some() {
            return crate::soft_delete::report(self).await;
        }
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

    /// What [`delete_report`](QuerySet::delete_report) would remove,
    /// counted without deleting anything, with the rows whose key would be
    /// set to NULL and those that would refuse the delete (Django admin's
    /// delete confirmation page). The counts are of this moment: rows may
    /// change before a delete runs.
    ///
    /// # Errors
    /// As [`delete_report`](QuerySet::delete_report).
    pub async fn delete_preview(self) -> Result<crate::query::DeletePreview> {
        if M::META.soft_delete.is_some() {
            return crate::soft_delete::preview(self).await;
        }
        if self.limit.is_some() || self.offset.is_some() || self.distinct {
            return Err(Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: "cannot preview the delete of a sliced (limit/offset) or distinct query"
                    .into(),
            }));
        }
        let filter = self.simplified()?.into_owned();
        if matches!(filter, Node::Nothing) {
            return Ok(crate::query::DeletePreview::default());
        }
        let db = db::resolve(self.db.as_ref())?;
        crate::query::cascade::delete_preview(&db, M::META, &filter).await
    }
}

impl<M: Model> IntoFuture for QuerySet<M> {
    type Output = Result<Vec<M>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Vec<M>>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.fetch())
    }
}
