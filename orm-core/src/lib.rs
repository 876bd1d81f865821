//! An Active Record ORM for PostgreSQL, with Django-style queries checked at
//! compile time.
//!
//! # Quick start
//!
//! ```no_run
//! use orm_core::prelude::*;
//! use chrono::{DateTime, Utc};
//!
//! #[derive(Model, Debug, Clone, Default, PartialEq)]
//! #[orm(table = "users")]
//! pub struct User {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     #[orm(max_length = 30, unique)]
//!     pub name: String,
//!     pub email: Option<String>,
//!     #[orm(default = 0, index)]
//!     pub karma: i32,
//!     #[orm(auto_now_add)]
//!     pub created_at: DateTime<Utc>,
//! }
//!
//! # async fn run() -> orm_core::Result<()> {
//! orm_core::connect("postgres://postgres@localhost/app").await?;
//! orm_core::generate_schemas().await?;
//!
//! let mut ada = User { name: "Ada".into(), ..Default::default() };
//! ada.save().await?;                      // INSERT; fills id and created_at
//! ada.karma += 1;
//! ada.save().await?;                      // UPDATE ... WHERE "id" = $n
//!
//! let top: Vec<User> = User::filter(q!(name__icontains = "a", karma__gte = 1))
//!     .exclude(q!(email__isnull = true))
//!     .order_by(["-karma", "name"])
//!     .limit(10)
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # Models
//!
//! `#[derive(Model)]` maps a struct with named fields to a table and
//! implements [`Model`]; see [the derive's documentation](macro@Model) for
//! every `#[orm(..)]` attribute. Field types: `bool`, `i16`, `i32`, `i64`,
//! `f32`, `f64`, `String`, `Vec<u8>`, chrono's `NaiveDate`, `NaiveTime`,
//! `NaiveDateTime`, `DateTime<Utc>`, `uuid::Uuid`, `serde_json::Value`, enums
//! with `#[derive(DbEnum)]` (stored as text), and `Option<T>` of each for a
//! nullable column.
//!
//! # Filtering
//!
//! [`q!`] takes Django's `field__lookup = value` form; a comma means AND.
//! Fields, lookups and value types are checked at compile time. `Q` values
//! combine with `&`, `|` and `!`:
//!
//! ```ignore
//! User::filter(q!(karma__in = [1, 2, 3]) | !q!(name__startswith = "A")).count().await?;
//! ```
//!
//! The same conditions can be written with typed field handles:
//!
//! ```ignore
//! let f = User::fields();
//! User::filter(f.name.icontains("gem") & f.karma.gte(10));
//! ```
//!
//! Lookups: `exact` (the default), `iexact`, `contains`, `icontains`,
//! `startswith`, `istartswith`, `endswith`, `iendswith`, `in`, `gt`, `gte`,
//! `lt`, `lte`, `range`, `isnull`, `regex`, `iregex`. They follow Django's
//! semantics: `= None` is `IS NULL`, `exclude` keeps rows whose column is
//! NULL, an empty `in` matches nothing without sending a query, and `LIKE`
//! patterns match `%`, `_` and `\` literally. For filters known only at run
//! time (a web API's query string), use [`Lookup::parse`].
//!
//! # Saving and updating
//!
//! [`Model::save`] inserts while an integer primary key is 0 and updates
//! otherwise; [`Model::create`], [`Model::bulk_create`],
//! [`Model::get_or_create`] and [`Model::update_or_create`] work as in
//! Django. [`QuerySet::update`] takes assignments written with `q!` and `=`
//! only: `User::filter(q!(karma__lt = 0)).update(q!(karma = 0))`.
//!
//! # Connections
//!
//! [`connect`] sets the global default database. [`scope`] routes every ORM
//! call inside a block (and in the functions it calls) to another [`Db`],
//! and [`QuerySet::using`] picks one for a single query. Pools are
//! deadpool-postgres pools; statements are prepared once per connection and
//! reused. With the `testing` feature, [`testing::test_db`] gives each test
//! a fresh database on a throwaway server.
//!
//! # Errors
//!
//! Every fallible call returns [`Error`]: [`Error::DoesNotExist`],
//! [`Error::MultipleObjectsReturned`], [`Error::Integrity`] (naming the
//! constraint), [`Error::NotConnected`], [`Error::InvalidLookup`],
//! [`Error::PoolTimeout`], [`Error::Database`], ...

// Lets the derive's generated `::orm_core::..` paths resolve inside this
// crate's own tests and doc examples.
#[allow(unused_extern_crates)]
extern crate self as orm_core;

mod db;
mod error;
mod field;
mod model;
mod persist;
pub mod query;
pub mod schema;
pub mod sql;
pub mod types;
mod value;

#[cfg(feature = "testing")]
pub mod testing;

pub use db::{connect, current, scope, set_default, Db, DbBuilder};
pub use error::{Error, IntegrityKind, Result};
pub use field::Field;
pub use model::{registered_models, FieldMeta, Model, ModelMeta};
pub use query::{Assign, IntoQ, Lookup, OrderBy, Q, QuerySet};
pub use schema::{generate_schemas, generate_schemas_on};
pub use types::{DbEnum, FieldType, SqlType};
pub use value::Value;

pub use orm_derive::{q, DbEnum, Model};

/// The names most programs need: `use orm_core::prelude::*;`.
pub mod prelude {
    pub use crate::{
        q, Assign, Db, DbEnum, Error, IntegrityKind, IntoQ, Lookup, Model, QuerySet, Result, Q,
    };
}

/// Items used by the code that the macros generate. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::field::{field_by_name, Field};
    pub use crate::model::{Ch, FieldMeta, HasField, Model, ModelMeta, ModelRegistration};
    pub use crate::types::{Arg, DbEnum, FieldType, NullableField, SqlType, TextField, Timestamp};
    pub use crate::value::Value;
    pub use crate::{Error, Result};
    pub use bytes::BytesMut;
    pub use chrono::{DateTime, Utc};
    pub use inventory;
    pub use postgres_types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
    pub use tokio_postgres::Row;

    /// Decodes column `index` of `row` as `T`, naming the column on error.
    #[inline]
    pub fn decode<'a, T: FromSql<'a>>(
        row: &'a Row,
        index: usize,
        model: &'static str,
        column: &'static str,
    ) -> Result<T> {
        row.try_get(index)
            .map_err(|source| Error::Decode {
                model,
                column,
                source,
            })
    }

    /// Converts a [`Value`] into field type `T`, naming the field on error.
    pub fn from_value<T: FieldType>(
        value: Value,
        model: &'static str,
        field: &'static str,
    ) -> Result<T> {
        let shown = format!("{value:?}");
        T::from_value(value).ok_or_else(|| Error::InvalidValue {
            model,
            field,
            reason: format!("expected a {} value, got {shown}", T::SQL_TYPE.name()),
        })
    }

    /// Compile-time checks the derive emits (never called at run time).
    pub fn assert_field_type<T: FieldType>() {}
    /// `max_length` needs a text field.
    pub fn assert_text<T: TextField>() {}
    /// `auto_now` / `auto_now_add` need a timestamp field.
    pub fn assert_timestamp<T: Timestamp>() {}
    /// `default = ..` must be a value of the field's type.
    pub fn assert_default<T: FieldType, V: Arg<T>>(_value: V) {}
}
