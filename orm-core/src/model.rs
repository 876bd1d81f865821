//! The [`Model`] trait that `#[derive(Model)]` implements: a model's
//! metadata ([`ModelMeta`]), reading and writing its fields by position,
//! decoding its rows; and the compile-time field checks of `q!`
//! ([`HasField`], [`HasRelation`]). The Active Record methods are
//! [`ActiveRecord`](crate::ActiveRecord)'s, a floor above.

use std::future::Future;

use tokio_postgres::Row;

use crate::error::Result;
use crate::meta::ModelMeta;
use crate::value::Value;

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
    /// The field's Rust type (for `pk` on a model with a composite key, the
    /// tuple of the key fields' types).
    type Type: 'static;
    /// Its index in [`ModelMeta::fields`], or [`RELATION_FIELD`]` | i` for
    /// the many-side relation `i` (which only `isnull` applies to), or
    /// [`COMPOSITE_PK`](crate::key::COMPOSITE_PK) for a composite `pk`.
    const INDEX: usize;
}

/// The model's field named `N` is a column of type `Column` (what the
/// derive's generated code decodes and binds; `HasField` also names
/// relations and a composite `pk`). Its bound reports an unsupported field
/// type once, at the field's type.
#[doc(hidden)]
pub trait ColumnField<N>: HasField<N> {
    /// The field's Rust type.
    type Column: crate::types::FieldType;
}

/// A database table mapped to a Rust struct; implement it with `#[derive(Model)]`.
///
/// The derive implements it: the table's metadata, and reading and writing
/// the struct's fields by position. The Active Record API
/// ([`create`](crate::ActiveRecord::create), [`save`](crate::ActiveRecord::save),
/// [`filter`](crate::ActiveRecord::filter), [`get`](crate::ActiveRecord::get),
/// ...) is [`ActiveRecord`](crate::ActiveRecord)'s, which every model has.
pub trait Model: Sized + Send + Sync + Unpin + 'static {
    /// The struct of typed field handles returned by [`fields`](Model::fields).
    type Fields: Copy;

    /// The primary key's type: the key field's type, or for a composite
    /// key the tuple of its fields' types, in key order.
    type Pk: crate::key::PkValue;

    /// The table's metadata.
    const META: &'static ModelMeta;

    /// Typed handles of the fields, for building conditions without `q!`:
    /// `let f = User::fields(); User::filter(f.karma.gte(10))`.
    fn fields() -> Self::Fields;

    /// This model's cached statement texts (a static emitted by the derive).
    #[doc(hidden)]
    fn statements() -> &'static crate::sql::writes::ModelStatements;

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
    /// Every rule is checked, so one error reports every field in error.
    ///
    /// # Errors
    /// [`Error::Validation`](crate::Error::Validation) naming each field and
    /// the rule it broke ([`ValidationError::errors`](crate::ValidationError::errors)).
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

    /// The primary key's value; for a composite key, a [`Value::Array`]
    /// of its fields' values in key order.
    fn pk(&self) -> Value {
        if Self::META.has_composite_pk() {
            return Value::Array(
                Self::META
                    .pk_fields
                    .iter()
                    .map(|&i| self.field_value(i))
                    .collect(),
            );
        }
        self.field_value(Self::META.pk)
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

/// Implemented by `#[derive(Model)]` for a model whose primary key is one
/// field: what a [`ForeignKey`](crate::ForeignKey),
/// [`OneToOne`](crate::OneToOne), [`ManyToMany`](crate::ManyToMany) or
/// [`Reverse`](crate::Reverse) relation needs of the model at its other
/// end (as in Django 5.2, a relation to a model with a composite primary
/// key is not supported).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has a composite primary key: a relation to it is not supported",
    label = "a model with a composite primary key",
    note = "as in Django 5.2, a ForeignKey, OneToOne, ManyToMany or Reverse relation cannot point to a model with a composite primary key (nor a ManyToMany start from one); filter its rows by their key fields instead"
)]
pub trait SingleKey: Model<Pk: crate::types::FieldType> {}

/// Checks that `T` has a one-field primary key (used by the derive on the
/// models a relation names).
#[doc(hidden)]
pub const fn assert_single_key<T: SingleKey>() {}
