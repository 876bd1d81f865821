//! The Active Record API: [`ActiveRecord`]'s methods (`save`, `create`,
//! `filter`, `get`, ...), which every [`Model`] has. They are the top
//! floor: they call the query chain ([`QuerySet`]), the writes
//! ([`persist`](crate::persist)) and raw SQL ([`raw`](crate::raw)), none of
//! which imports this file.

use std::future::Future;

use crate::error::Result;
use crate::model::Model;
use crate::persist::{self, OnConflict};
use crate::query::{Assign, Deferred, IntoQ, QuerySet};

/// What every model can do: `User::filter(..)`, `User::get(..)`,
/// `user.save()`, `User::create(..)`, ... Implemented for every [`Model`]
/// (so for every `#[derive(Model)]` struct); in scope through
/// `orm_core::prelude::*`.
pub trait ActiveRecord: Model {
    /// A query over every row: `User::all().await?` loads them all, and the
    /// chain goes on with `.filter(..)`, `.order_by(..)`, ...
    fn all() -> QuerySet<Self> {
        QuerySet::new()
    }

    /// Every row of every tenant: a query on a tenant model
    /// (`#[orm(tenant)]`) not restricted to the current tenant, the
    /// explicit escape of [`crate::tenant`] (as
    /// [`QuerySet::all_tenants`]). On other models, as [`all`](Self::all).
    fn objects_all_tenants() -> QuerySet<Self> {
        QuerySet::new().all_tenants()
    }

    /// Every row, locked for this transaction (`SELECT .. FOR UPDATE`):
    /// `Account::select_for_update().get(q!(id = 1))`.
    fn select_for_update() -> QuerySet<Self> {
        QuerySet::new().select_for_update()
    }

    /// Rows matching `q`: `User::filter(q!(name__icontains = "gem"))`.
    fn filter(q: impl IntoQ<Self>) -> QuerySet<Self> {
        QuerySet::new().filter(q)
    }

    /// Rows not matching `q` (Django's NULL semantics: see [`QuerySet::exclude`]).
    fn exclude(q: impl IntoQ<Self>) -> QuerySet<Self> {
        QuerySet::new().exclude(q)
    }

    /// The one row matching `q`.
    ///
    /// # Errors
    /// [`Error::DoesNotExist`](crate::Error::DoesNotExist) when none matches,
    /// [`Error::MultipleObjectsReturned`](crate::Error::MultipleObjectsReturned) when several do.
    #[inline]
    fn get(q: impl IntoQ<Self>) -> impl Future<Output = Result<Self>> + Send {
        QuerySet::new().get(q)
    }

    /// The one row matching `q`, or `None`.
    ///
    /// # Errors
    /// [`Error::MultipleObjectsReturned`](crate::Error::MultipleObjectsReturned) when several match.
    #[inline]
    fn get_or_none(q: impl IntoQ<Self>) -> impl Future<Output = Result<Option<Self>>> + Send {
        QuerySet::new().get_or_none(q)
    }

    /// Inserts `object` and returns it with its generated id, and its times
    /// and `jsonb` fields as stored (PostgreSQL keeps microseconds).
    ///
    /// # Errors
    /// [`Error::Integrity`](crate::Error::Integrity) naming the violated constraint.
    fn create(object: Self) -> impl Future<Output = Result<Self>> + Send {
        persist::create(object)
    }

    /// Inserts every object in one statement and returns them, in the same
    /// order, with their generated primary keys.
    ///
    /// As Django's `bulk_create`, only the keys are read back: the other
    /// fields are as given. They equal the stored values, except for a time
    /// finer than PostgreSQL's microsecond, which is stored truncated
    /// (`auto_now` times are already taken to the microsecond). One
    /// statement carries any number of rows (one array parameter per
    /// column); use [`bulk_insert`](ActiveRecord::bulk_insert) when the keys are
    /// not needed.
    ///
    /// # Errors
    /// [`Error::Integrity`](crate::Error::Integrity); then nothing is inserted.
    fn bulk_create(objects: Vec<Self>) -> impl Future<Output = Result<Vec<Self>>> + Send {
        persist::bulk_create(objects)
    }

    /// As [`bulk_create`](ActiveRecord::bulk_create), with what to do
    /// about rows that conflict with a unique constraint, as Django's
    /// `ignore_conflicts` and `update_conflicts` (see [`OnConflict`]):
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # use orm_core::OnConflict;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # struct User { #[orm(primary_key)] id: i64, #[orm(unique)] name: String, karma: i32 }
    /// # async fn run(users: Vec<User>) -> orm_core::Result<()> {
    /// // Insert new names, and set the karma of names already there.
    /// User::bulk_create_with(users, OnConflict::update(&["name"], &["karma"])).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As `bulk_create`; [`Error::InvalidLookup`](crate::Error::InvalidLookup)
    /// for an unknown field and [`Error::InvalidQuery`](crate::Error::InvalidQuery)
    /// for no unique or update fields, or the primary key among the update
    /// fields, before anything is sent.
    fn bulk_create_with(
        objects: Vec<Self>,
        on_conflict: OnConflict,
    ) -> impl Future<Output = Result<Vec<Self>>> + Send {
        persist::bulk_create_with(objects, on_conflict)
    }

    /// Inserts every object with one binary `COPY` and returns the number
    /// of rows: the fastest way to load many rows, when the stored rows are
    /// not needed back. Nothing is read back, so the objects' generated
    /// primary keys are not known; use [`bulk_create`](ActiveRecord::bulk_create)
    /// for them.
    ///
    /// As with `bulk_create`, objects are validated first, `auto_now` fields
    /// are set, save hooks do not run, and the batch is atomic: a violated
    /// constraint inserts nothing. There is no parameter limit; one
    /// statement carries any number of rows.
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # #[orm(table = "users")]
    /// # struct User { #[orm(primary_key)] id: i64, name: String }
    /// # async fn run() -> orm_core::Result<()> {
    /// let users = (0..10_000).map(|i| User { name: format!("user {i}"), ..Default::default() });
    /// let inserted = User::bulk_insert(users.collect()).await?;
    /// assert_eq!(inserted, 10_000);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Integrity`](crate::Error::Integrity) naming the violated
    /// constraint, [`Error::Validation`](crate::Error::Validation); then
    /// nothing is inserted.
    fn bulk_insert(objects: Vec<Self>) -> impl Future<Output = Result<u64>> + Send {
        persist::bulk_insert(objects)
    }

    /// Writes `fields` of every object, by primary key, in one statement
    /// (`UPDATE .. FROM UNNEST(..)`), as Django's `bulk_update(objs,
    /// fields)`; returns the number of rows matched. As in Django, only
    /// the named fields are written (`auto_now` fields too only when
    /// named), save hooks do not run, and an object given twice is
    /// written as its first copy.
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # struct User { #[orm(primary_key)] id: i64, name: String, karma: i32 }
    /// # async fn run() -> orm_core::Result<()> {
    /// let mut users = User::filter(q!(karma__lt = 0)).await?;
    /// for user in &mut users {
    ///     user.karma = 0;
    /// }
    /// User::bulk_update(&users, &["karma"]).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidLookup`](crate::Error::InvalidLookup) for an unknown
    /// field; [`Error::InvalidQuery`](crate::Error::InvalidQuery) for no
    /// fields, the primary key among them, or an unsaved object;
    /// [`Error::Validation`](crate::Error::Validation); database errors.
    fn bulk_update<'a>(
        objects: &'a [Self],
        fields: &'a [&'a str],
    ) -> impl Future<Output = Result<u64>> + Send + 'a {
        persist::bulk_update(objects, fields)
    }

    /// The row matching `q`, or `object` inserted when there is none;
    /// `(object, created)`.
    ///
    /// Survives a concurrent insert of the same unique key: the insert's
    /// unique violation is answered by fetching the row the other side created.
    ///
    /// # Errors
    /// [`Error::MultipleObjectsReturned`](crate::Error::MultipleObjectsReturned), or a
    /// database error.
    fn get_or_create(
        q: impl IntoQ<Self>,
        object: Self,
    ) -> impl Future<Output = Result<(Self, bool)>> + Send {
        persist::get_or_create(q.into_q(), object)
    }

    /// Updates the row matching `q` with `defaults`, or creates one from
    /// `Self::default()`, the `field = value` terms of `q`, and `defaults`;
    /// `(object, created)`.
    ///
    /// # Errors
    /// As [`get_or_create`](ActiveRecord::get_or_create).
    fn update_or_create(
        q: impl IntoQ<Self>,
        defaults: Assign<Self>,
    ) -> impl Future<Output = Result<(Self, bool)>> + Send
    where
        Self: Default,
    {
        persist::update_or_create(q.into_q(), defaults, None)
    }

    /// As [`update_or_create`](ActiveRecord::update_or_create), with other
    /// values for a created object than for an updated one, as Django 5.0's
    /// `create_defaults`: the row matching `q` gets `defaults`; a new
    /// object gets `Self::default()`, the `field = value` terms of `q`, and
    /// `create_defaults` (not `defaults`).
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # struct User { #[orm(primary_key)] id: i64, name: String, karma: i32, visits: i32 }
    /// # async fn run() -> orm_core::Result<()> {
    /// let (user, created) = User::update_or_create_with(
    ///     q!(name = "ada"),
    ///     q!(visits = F("visits") + 1),   // an existing user: one more visit
    ///     q!(visits = 1, karma = 10),     // a new one: the first, and a welcome bonus
    /// )
    /// .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`get_or_create`](ActiveRecord::get_or_create).
    fn update_or_create_with(
        q: impl IntoQ<Self>,
        defaults: Assign<Self>,
        create_defaults: Assign<Self>,
    ) -> impl Future<Output = Result<(Self, bool)>> + Send
    where
        Self: Default,
    {
        persist::update_or_create(q.into_q(), defaults, Some(create_defaults))
    }

    /// Saves the object: an `INSERT` while an integer primary key is unset
    /// (0), filling in the id and `auto_now` times; otherwise an `UPDATE`
    /// of every column by primary key (an `INSERT` if no row has that key).
    ///
    /// # Errors
    /// [`Error::Integrity`](crate::Error::Integrity) naming the violated constraint.
    fn save(&mut self) -> impl Future<Output = Result<()>> + Send {
        persist::save(self)
    }

    /// Updates only the named fields (and `auto_now` ones) of the object's
    /// row, as Django's `save(update_fields=[..])`: a concurrent change to
    /// another column is not overwritten.
    ///
    /// # Errors
    /// [`Error::InvalidLookup`](crate::Error::InvalidLookup) for an unknown
    /// field; [`Error::DoesNotExist`](crate::Error::DoesNotExist) when no row
    /// has this primary key.
    fn save_fields<'a>(
        &'a mut self,
        fields: &'a [&'a str],
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        persist::save_fields(self, fields)
    }

    /// Deletes the object's row by primary key; returns the number of rows
    /// deleted (0 or 1).
    ///
    /// # Errors
    /// [`Error::Integrity`](crate::Error::Integrity) when another row still refers to it.
    ///
    /// On a soft delete model (`#[orm(soft_delete)]`) it marks the row
    /// (`UPDATE .. SET "deleted_at" = now()`, cascading as
    /// [`QuerySet::delete`](crate::QuerySet::delete)) and returns 1, or 0
    /// when it was already marked; the object's own `deleted_at` is not
    /// changed (read it again with `refresh_from_db()`).
    fn delete(&self) -> impl Future<Output = Result<u64>> + Send {
        persist::delete(self, false)
    }

    /// Deletes the object's row for good, also on a soft delete model
    /// (where [`delete`](ActiveRecord::delete) only marks it); returns
    /// the number of rows deleted (0 or 1). The delete hooks run around it.
    ///
    /// # Errors
    /// As [`delete`](ActiveRecord::delete).
    fn hard_delete(&self) -> impl Future<Output = Result<u64>> + Send {
        persist::delete(self, true)
    }

    /// Clears the soft delete mark of the object's row (and of the rows
    /// its delete cascaded to, see [`QuerySet::restore`](crate::QuerySet::restore));
    /// returns 1, or 0 when it was not marked. The object's own
    /// `deleted_at` is not changed.
    ///
    /// # Errors
    /// [`Error::InvalidQuery`](crate::Error::InvalidQuery) on a model
    /// without `#[orm(soft_delete)]`.
    fn restore(&self) -> impl Future<Output = Result<u64>> + Send {
        persist::restore(self)
    }

    /// Runs raw SQL whose rows are this model's rows (every column, by
    /// name, in any order): `User::raw("SELECT * FROM users WHERE karma > $1", &[&10])`.
    /// Values are always bound parameters; a SQL text built at run time must
    /// be wrapped in [`AssertSqlSafe`](crate::AssertSqlSafe).
    ///
    /// # Errors
    /// [`Error::InvalidQuery`](crate::Error::InvalidQuery) when a column of
    /// the model is missing from the result; database errors.
    fn raw<'a>(
        sql: impl Into<crate::raw::RawSql>,
        params: &'a [&'a (dyn postgres_types::ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Self>>> + Send + 'a {
        crate::raw::models::<Self>(sql.into(), params)
    }

    /// Reloads every field from the database (also a soft deleted row's,
    /// as Django's `refresh_from_db` reads through the base manager).
    ///
    /// # Errors
    /// [`Error::DoesNotExist`](crate::Error::DoesNotExist) when the row is gone.
    fn refresh_from_db(&mut self) -> impl Future<Output = Result<()>> + Send {
        persist::refresh(self)
    }
}

impl<M: Model> ActiveRecord for M {}

/// The Active Record methods of a row read with
/// [`only`](QuerySet::only) or [`defer`](QuerySet::defer).
impl<M: Model> Deferred<M> {
    /// Saves the fields that were read (the primary key identifies the row),
    /// as Django saves a deferred instance: the unread columns keep their
    /// values in the database.
    ///
    /// # Errors
    /// As [`ActiveRecord::save_fields`].
    pub async fn save(&mut self) -> Result<()> {
        let names: Vec<&str> = self
            .loaded
            .iter()
            .filter(|f| !M::META.is_pk_field(f.position))
            .map(|f| f.name)
            .collect();
        persist::save_fields(&mut self.object, &names).await
    }

    /// Reads every field from the database; the row is then complete.
    ///
    /// # Errors
    /// [`Error::DoesNotExist`](crate::Error::DoesNotExist) when the row is gone.
    pub async fn refresh_from_db(&mut self) -> Result<()> {
        persist::refresh(&mut self.object).await?;
        self.loaded = M::META.fields.iter().collect();
        Ok(())
    }

    /// The complete model: reads the deferred fields first, so nothing
    /// unread can be saved over the database's values later.
    ///
    /// # Errors
    /// As [`refresh_from_db`](Self::refresh_from_db).
    pub async fn into_complete(mut self) -> Result<M> {
        if self.loaded.len() < M::META.fields.len() {
            self.refresh_from_db().await?;
        }
        Ok(self.object)
    }
}
