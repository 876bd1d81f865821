//! The [`Model`] trait that `#[derive(Model)]` implements, and the static
//! metadata ([`ModelMeta`], [`FieldMeta`]) that describes a model's table.

use std::future::Future;

use tokio_postgres::Row;

use crate::error::Result;
use crate::persist;
use crate::query::{Assign, IntoQ, QuerySet};
use crate::types::SqlType;
use crate::value::Value;

/// One field of a model: its column and how the schema declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldMeta {
    /// The Rust field name (used in lookups: `name__icontains`).
    pub name: &'static str,
    /// The column name (`#[orm(column = "..")]`, default: the field name).
    pub column: &'static str,
    /// Its position in its model's [`ModelMeta::fields`]: how the field is
    /// told apart from the model's others (never by address: a constant's
    /// copies in two crates have two).
    pub position: usize,
    /// The PostgreSQL type.
    pub sql_type: SqlType,
    /// True for `Option<T>` fields.
    pub nullable: bool,
    /// True for the primary key.
    pub primary_key: bool,
    /// True for an integer primary key, an identity column filled on insert.
    pub auto: bool,
    /// `#[orm(unique)]`.
    pub unique: bool,
    /// `#[orm(index)]`.
    pub index: bool,
    /// `#[orm(max_length = n)]`: `varchar(n)`.
    pub max_length: Option<u32>,
    /// `#[orm(default = ..)]` as an SQL literal, used as the column's `DEFAULT`.
    pub default: Option<&'static str>,
    /// `#[orm(auto_now)]`: set to the current time on every save.
    pub auto_now: bool,
    /// `#[orm(auto_now_add)]`: set to the current time when first inserted.
    pub auto_now_add: bool,
    /// `#[orm(renamed_from = "..")]`: the column's previous name, so
    /// `makemigrations` renames it instead of dropping and adding.
    pub renamed_from: Option<&'static str>,
}

impl FieldMeta {
    /// The column's type as written in DDL (`varchar(30)`, `bigint`, ...).
    pub fn ddl_type(&self) -> String {
        self.sql_type.ddl(self.max_length)
    }
}

/// A model's table: its name, fields, and table-level constraints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelMeta {
    /// The Rust struct name.
    pub name: &'static str,
    /// The table name (`#[orm(table = "..")]`, default: snake_case of the struct name).
    pub table: &'static str,
    /// The fields, in declaration order (the order of the SELECT list).
    pub fields: &'static [FieldMeta],
    /// Index of the primary key in `fields`.
    pub pk: usize,
    /// `#[orm(unique_together(a, b))]`: column lists.
    pub unique_together: &'static [&'static [&'static str]],
    /// `#[orm(index(a, b))]`: column lists of composite indexes.
    pub indexes: &'static [&'static [&'static str]],
    /// Relation fields, in declaration order.
    pub relations: &'static [crate::relation::RelationMeta],
    /// `#[orm(renamed_from = "..")]`: the table's previous name, for
    /// `makemigrations`.
    pub renamed_from: Option<&'static str>,
}

impl ModelMeta {
    /// The relation called `name`.
    pub fn relation(&self, name: &str) -> Option<&'static crate::relation::RelationMeta> {
        self.relations.iter().find(|r| r.name == name)
    }

    /// The relation whose key column is field `index`, if any.
    pub fn relation_of_field(
        &self,
        index: usize,
    ) -> Option<&'static crate::relation::RelationMeta> {
        self.relations.iter().find(|r| r.field == Some(index))
    }

    /// The primary key field.
    pub fn pk_field(&self) -> &'static FieldMeta {
        &self.fields[self.pk]
    }

    /// The field called `name` (`pk` names the primary key).
    pub fn field(&self, name: &str) -> Option<&'static FieldMeta> {
        if name == "pk" {
            return Some(self.pk_field());
        }
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field names, for error messages.
    pub fn field_names(&self) -> Vec<String> {
        self.fields.iter().map(|f| f.name.to_owned()).collect()
    }
}

/// A registered model, collected by [`generate_schemas`](crate::generate_schemas).
#[doc(hidden)]
#[derive(Debug)]
pub struct ModelRegistration {
    pub meta: &'static ModelMeta,
}

inventory::collect!(ModelRegistration);

/// What a command that needs the models found when none is linked into the
/// binary, and how to link them.
pub(crate) const NO_MODELS_LINKED: &str =
    "no models are linked into this binary. A binary links only the crates it names: \
     if the models are in your library crate (src/lib.rs), add `use your_crate as _;` \
     to this binary (src/bin/manage.rs, src/main.rs), with the library's crate name \
     (the package name, `-` written `_`)";

/// Every model linked into this binary, in no particular order.
pub fn registered_models() -> impl Iterator<Item = &'static ModelMeta> {
    inventory::iter::<ModelRegistration>
        .into_iter()
        .map(|r| r.meta)
}

/// A type-level field name: `(Ch<'i'>, Ch<'d'>)` names the field `id`.
///
/// `q!` names fields this way so that `User::filter(q!(name = "x"))` can check
/// the field against `User` before `User` is known to the macro.
#[doc(hidden)]
#[derive(Debug)]
pub struct Ch<const C: char>;

/// Marks a [`HasField::INDEX`] that names a many-side relation, not a column.
#[doc(hidden)]
pub const RELATION_FIELD: usize = 1 << (usize::BITS - 1);

/// The model has a relation named `N` (a tuple of [`Ch`]) to `Target`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no relation with this name",
    label = "not a relation of this model",
    note = "in `a__b__lookup`, every name before the last field must be a ForeignKey, OneToOne, ManyToMany or Reverse field"
)]
pub trait HasRelation<N>: Model {
    /// The model on the other side.
    type Target: Model;
    /// Its index in [`ModelMeta::relations`].
    const INDEX: usize;
}

/// The model has a field named `N` (a tuple of [`Ch`]) of type `Type`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no field with this name",
    label = "unknown field",
    note = "`q!` takes `field = value` or `field__lookup = value`, with a field of `{Self}`"
)]
pub trait HasField<N>: Model {
    /// The field's Rust type.
    type Type: crate::types::FieldType;
    /// Its index in [`ModelMeta::fields`], or [`RELATION_FIELD`]` | i` for
    /// the many-side relation `i` (which only `isnull` applies to).
    const INDEX: usize;
}

/// A database table mapped to a Rust struct; implement it with `#[derive(Model)]`.
///
/// The derive implements the required items; the provided methods are the
/// Active Record API: [`create`](Model::create), [`save`](Model::save),
/// [`delete`](Model::delete), [`filter`](Model::filter), [`get`](Model::get)...
pub trait Model: Sized + Send + Sync + Unpin + 'static {
    /// The struct of typed field handles returned by [`fields`](Model::fields).
    type Fields: Copy;

    /// The primary key's type.
    type Pk: crate::types::FieldType + Clone;

    /// The table's metadata.
    const META: &'static ModelMeta;

    /// Typed handles of the fields, for building conditions without `q!`:
    /// `let f = User::fields(); User::filter(f.karma.gte(10))`.
    fn fields() -> Self::Fields;

    /// This model's cached statement texts (a static emitted by the derive).
    #[doc(hidden)]
    fn statements() -> &'static crate::sql::statements::ModelStatements;

    /// Decodes a row whose columns are this model's fields, in order, from `start`.
    #[doc(hidden)]
    fn from_row(row: &Row, start: usize) -> Result<Self>;

    /// Decodes a row whose field `i` is in column `columns[i]` (raw SQL).
    #[doc(hidden)]
    fn from_row_at(row: &Row, columns: &[usize]) -> Result<Self>;

    /// The value of field `index` (an index into [`ModelMeta::fields`]).
    #[doc(hidden)]
    fn field_value(&self, index: usize) -> Value;

    /// A reference to field `index`, bound directly as a parameter.
    #[doc(hidden)]
    fn field_sql(&self, index: usize) -> &(dyn postgres_types::ToSql + Sync);

    /// Sets field `index` from a value of the field's type.
    #[doc(hidden)]
    fn set_field(&mut self, index: usize, value: Value) -> Result<()>;

    /// Sets field `index` from column `at` of `row`, decoded straight into
    /// the field's type (no [`Value`] in between).
    #[doc(hidden)]
    fn read_field(&mut self, index: usize, row: &Row, at: usize) -> Result<()>;

    /// Fills `auto_now` (and, when `inserting`, `auto_now_add`) fields.
    #[doc(hidden)]
    fn touch(&mut self, inserting: bool, now: chrono::DateTime<chrono::Utc>);

    /// Stores loaded related objects into relation `relation` (an index into
    /// [`ModelMeta::relations`]).
    #[doc(hidden)]
    fn attach_related(&mut self, relation: usize, related: crate::relation::Related) -> Result<()>;

    /// The loaded objects of relation `relation`, for nested loading.
    #[doc(hidden)]
    fn related_mut(&mut self, relation: usize) -> Vec<&mut (dyn std::any::Any + Send)>;

    /// True while an integer primary key is 0: the object was never inserted.
    #[doc(hidden)]
    fn pk_is_unset(&self) -> bool;

    /// Checks every field's rules (`max_length`, `#[orm(validate = ..)]`);
    /// `save`, `create` and `bulk_create` call it before sending anything.
    ///
    /// # Errors
    /// [`Error::Validation`](crate::Error::Validation) naming the field and the rule.
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// Calls [`Hooks::before_save`] when the model has `#[orm(hooks)]`.
    #[doc(hidden)]
    fn run_before_save(&mut self, inserting: bool) -> impl Future<Output = Result<()>> + Send {
        let _ = inserting;
        std::future::ready(Ok(()))
    }

    /// Calls [`Hooks::after_save`] when the model has `#[orm(hooks)]`.
    #[doc(hidden)]
    fn run_after_save(&mut self, inserted: bool) -> impl Future<Output = Result<()>> + Send {
        let _ = inserted;
        std::future::ready(Ok(()))
    }

    /// Calls [`Hooks::before_delete`] when the model has `#[orm(hooks)]`.
    #[doc(hidden)]
    fn run_before_delete(&self) -> impl Future<Output = Result<()>> + Send {
        std::future::ready(Ok(()))
    }

    /// Calls [`Hooks::after_delete`] when the model has `#[orm(hooks)]`.
    #[doc(hidden)]
    fn run_after_delete(&self) -> impl Future<Output = Result<()>> + Send {
        std::future::ready(Ok(()))
    }

    /// The primary key's value.
    fn pk(&self) -> Value {
        self.field_value(Self::META.pk)
    }

    /// A query over every row: `User::all().await?` loads them all, and the
    /// chain goes on with `.filter(..)`, `.order_by(..)`, ...
    fn all() -> QuerySet<Self> {
        QuerySet::new()
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
    /// column); use [`bulk_insert`](Model::bulk_insert) when the keys are
    /// not needed.
    ///
    /// # Errors
    /// [`Error::Integrity`](crate::Error::Integrity); then nothing is inserted.
    fn bulk_create(objects: Vec<Self>) -> impl Future<Output = Result<Vec<Self>>> + Send {
        persist::bulk_create(objects)
    }

    /// Inserts every object with one binary `COPY` and returns the number
    /// of rows: the fastest way to load many rows, when the stored rows are
    /// not needed back. Nothing is read back, so the objects' generated
    /// primary keys are not known; use [`bulk_create`](Model::bulk_create)
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
    /// As [`get_or_create`](Model::get_or_create).
    fn update_or_create(
        q: impl IntoQ<Self>,
        defaults: Assign<Self>,
    ) -> impl Future<Output = Result<(Self, bool)>> + Send
    where
        Self: Default,
    {
        persist::update_or_create(q.into_q(), defaults)
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
    fn delete(&self) -> impl Future<Output = Result<u64>> + Send {
        persist::delete(self)
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

    /// Reloads every field from the database.
    ///
    /// # Errors
    /// [`Error::DoesNotExist`](crate::Error::DoesNotExist) when the row is gone.
    fn refresh_from_db(&mut self) -> impl Future<Output = Result<()>> + Send {
        persist::refresh(self)
    }
}

/// Code that runs around saves and deletes of a model, like Django's
/// `save()` overrides and signals or Tortoise's hooks. Implement it and mark
/// the model `#[orm(hooks)]`; every method defaults to doing nothing. An
/// error from a `before_` hook stops the write.
///
/// They run for `save`, `create`, `get_or_create`, `update_or_create` and an
/// instance's `delete`; like Django's, `bulk_create`, `QuerySet::update` and
/// `QuerySet::delete` do not call them.
pub trait Hooks: Model {
    /// Before an `INSERT` (`inserting`) or `UPDATE`.
    fn before_save(&mut self, inserting: bool) -> impl Future<Output = Result<()>> + Send {
        let _ = inserting;
        async { Ok(()) }
    }
    /// After the row was written (ids and defaults filled in).
    fn after_save(&mut self, inserted: bool) -> impl Future<Output = Result<()>> + Send {
        let _ = inserted;
        async { Ok(()) }
    }
    /// Before the row is deleted.
    fn before_delete(&self) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
    /// After the row was deleted.
    fn after_delete(&self) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}
