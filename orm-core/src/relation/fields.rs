//! The relation field types a model declares: [`ForeignKey`] (and
//! [`OneToOne`]), [`ManyToMany`], [`Reverse`], [`ReverseOne`].

use std::any::Any;
use std::fmt;

use bytes::BytesMut;
use postgres_types::{FromSql, IsNull, ToSql, Type};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::types::{Arg, BaseType, FieldType, SqlType};
use crate::value::Value;

use super::ops::{take, take_boxed, Related, RelationField};

// ---------------------------------------------------------------- ForeignKey

/// A foreign key to model `T`: the column `<field>_id` holding `T`'s primary
/// key, and `T` itself once loaded (by `select_related`, `prefetch_related`
/// or [`ForeignKey::load`]).
///
/// `Option<ForeignKey<T>>` is a nullable foreign key.
pub struct ForeignKey<T: Model> {
    key: T::Pk,
    loaded: Option<Box<T>>,
}

/// A one-to-one relation: a unique [`ForeignKey`].
pub type OneToOne<T> = ForeignKey<T>;

impl<T: crate::model::SingleKey> ForeignKey<T> {
    /// A key to the row of `T` with primary key `key`.
    pub fn from_key(key: T::Pk) -> Self {
        ForeignKey { key, loaded: None }
    }

    /// A key to `object`, which must be saved already.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when `object` has no primary key yet.
    pub fn to(object: &T) -> Result<Self> {
        if object.pk_is_unset() {
            return Err(Error::from(crate::error::ValueError {
                model: T::META.name,
                field: T::META.pk_field().name,
                reason: format!(
                    "cannot refer to an unsaved {}: save it first, so it has a primary key",
                    T::META.name
                ),
            }));
        }
        let key = crate::__private::from_value::<T::Pk>(object.pk(), T::META.name, "pk")?;
        Ok(ForeignKey { key, loaded: None })
    }

    /// The primary key of the target row.
    pub fn key(&self) -> &T::Pk {
        &self.key
    }

    /// The target, when it was loaded.
    pub fn get(&self) -> Option<&T> {
        self.loaded.as_deref()
    }

    /// The loaded target, by value: moved out, no clone (the key stays, the
    /// target is no longer loaded).
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct User { #[orm(primary_key)] pub id: i64, pub name: String }
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct Post { #[orm(primary_key)] pub id: i64, pub author: ForeignKey<User> }
    /// # async fn run() -> orm_core::Result<()> {
    /// let authors: Vec<User> = Post::all()
    ///     .select_related(["author"])
    ///     .await?
    ///     .into_iter()
    ///     .filter_map(|mut post| post.author.take())
    ///     .collect();
    /// # Ok(()) }
    /// ```
    pub fn take(&mut self) -> Option<T> {
        self.loaded.take().map(|target| *target)
    }

    /// The loaded target, by value, consuming the key.
    pub fn into_loaded(self) -> Option<T> {
        self.loaded.map(|target| *target)
    }

    /// True when the target has been loaded.
    pub fn is_loaded(&self) -> bool {
        self.loaded.is_some()
    }

    /// Fetches the target row from the database (always a query).
    ///
    /// # Errors
    /// [`Error::DanglingKey`] when no row has this key.
    pub async fn fetch(&self) -> Result<T> {
        let key = self.key.to_value();
        let q = crate::Q::<T>::from_node(crate::query::q::Node::leaf(
            T::META.pk_field(),
            crate::query::q::Op::Exact(key.clone()),
        ));
        // Django's base manager: the row the key names, even marked deleted.
        match crate::QuerySet::<T>::new()
            .with_deleted()
            .get_or_none(q)
            .await?
        {
            Some(t) => Ok(t),
            None => Err(Error::from(crate::error::DanglingKeyError {
                model: T::META.name,
                key: key.to_string(),
            })),
        }
    }

    /// The target, fetched once and kept.
    ///
    /// # Errors
    /// As [`fetch`](ForeignKey::fetch).
    pub async fn load(&mut self) -> Result<&T> {
        if self.loaded.is_none() {
            let t = self.fetch().await?;
            self.loaded = Some(Box::new(t));
        }
        Ok(self.loaded.as_deref().expect("just loaded"))
    }
}

impl<T: crate::model::SingleKey> Default for ForeignKey<T>
where
    T::Pk: Default,
{
    fn default() -> Self {
        ForeignKey::from_key(T::Pk::default())
    }
}

impl<T: Model + Clone> Clone for ForeignKey<T> {
    fn clone(&self) -> Self {
        ForeignKey {
            key: self.key.clone(),
            loaded: self.loaded.clone(),
        }
    }
}

impl<T: crate::model::SingleKey> fmt::Debug for ForeignKey<T>
where
    T::Pk: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ForeignKey<{}>({:?}", T::META.name, self.key)?;
        if self.loaded.is_some() {
            f.write_str(", loaded")?;
        }
        f.write_str(")")
    }
}

/// Two keys are equal when they point at the same row.
impl<T: crate::model::SingleKey> PartialEq for ForeignKey<T>
where
    T::Pk: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<T: crate::model::SingleKey> ToSql for ForeignKey<T> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.key.to_sql(ty, out)
    }
    fn accepts(ty: &Type) -> bool {
        <T::Pk as ToSql>::accepts(ty)
    }
    postgres_types::to_sql_checked!();
}

impl<'a, T: crate::model::SingleKey> FromSql<'a> for ForeignKey<T> {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(ForeignKey::from_key(<T::Pk as FromSql>::from_sql(ty, raw)?))
    }
    fn accepts(ty: &Type) -> bool {
        <T::Pk as FromSql>::accepts(ty)
    }
}

impl<T: crate::model::SingleKey> FieldType for ForeignKey<T> {
    const SQL_TYPE: SqlType = <T::Pk as FieldType>::SQL_TYPE;
    type Base = Self;
    fn to_value(&self) -> Value {
        self.key.to_value()
    }
    fn from_value(value: Value) -> Option<Self> {
        T::Pk::from_value(value).map(ForeignKey::from_key)
    }
}

impl<T: crate::model::SingleKey> BaseType for ForeignKey<T> {}

impl<T: crate::model::SingleKey> RelationField for ForeignKey<T> {
    fn attach(&mut self, related: Related, model: &'static str) -> Result<()> {
        if let Related::One(Some(b)) = related {
            self.loaded = Some(take_boxed::<T>(b, model)?);
        }
        Ok(())
    }
    fn loaded_mut(&mut self) -> Vec<&mut (dyn Any + Send)> {
        self.loaded
            .as_deref_mut()
            .map(|t| vec![t as &mut (dyn Any + Send)])
            .unwrap_or_default()
    }
}

impl<T: crate::model::SingleKey> RelationField for Option<ForeignKey<T>> {
    fn attach(&mut self, related: Related, model: &'static str) -> Result<()> {
        match self {
            Some(fk) => fk.attach(related, model),
            None => Ok(()),
        }
    }
    fn loaded_mut(&mut self) -> Vec<&mut (dyn Any + Send)> {
        match self {
            Some(fk) => fk.loaded_mut(),
            None => Vec::new(),
        }
    }
}

/// A saved object, or a key of `T`'s, as the value of a foreign key.
#[diagnostic::do_not_recommend]
impl<T: crate::model::SingleKey> Arg<ForeignKey<T>> for &T {
    fn into_value(self) -> Value {
        self.pk()
    }
}
#[diagnostic::do_not_recommend]
impl<T: crate::model::SingleKey> Arg<Option<ForeignKey<T>>> for &T {
    fn into_value(self) -> Value {
        self.pk()
    }
}
#[diagnostic::do_not_recommend]
impl<T: crate::model::SingleKey> Arg<ForeignKey<T>> for &ForeignKey<T> {
    fn into_value(self) -> Value {
        self.key.to_value()
    }
}
#[diagnostic::do_not_recommend]
impl<T: crate::model::SingleKey> Arg<Option<ForeignKey<T>>> for &ForeignKey<T> {
    fn into_value(self) -> Value {
        self.key.to_value()
    }
}

macro_rules! key_args {
    ($($ty:ty => |$a:ident| $conv:expr),* $(,)?) => {$(
        #[diagnostic::do_not_recommend]
        impl<'a, T: crate::model::SingleKey> Arg<ForeignKey<T>> for $ty where $ty: Arg<T::Pk> {
            fn into_value(self) -> Value {
                let $a = self;
                $conv
            }
        }
        #[diagnostic::do_not_recommend]
        impl<'a, T: crate::model::SingleKey> Arg<Option<ForeignKey<T>>> for $ty where $ty: Arg<T::Pk> {
            fn into_value(self) -> Value {
                let $a = self;
                $conv
            }
        }
    )*};
}

key_args!(
    i16 => |a| Value::I16(Some(a)),
    i32 => |a| Value::I32(Some(a)),
    i64 => |a| Value::I64(Some(a)),
    uuid::Uuid => |a| Value::Uuid(Some(a)),
    String => |a| Value::Text(Some(a)),
    &'a str => |a| Value::Text(Some(a.to_owned())),
);

// ------------------------------------------------------ ManyToMany / Reverse

/// The impls that let a relation field that is not a column be named in
/// `q!` (for `isnull` and paths); it is never bound or decoded.
macro_rules! non_column {
    ($name:ident) => {
        impl<T: crate::model::SingleKey> ToSql for $name<T> {
            fn to_sql(
                &self,
                _ty: &Type,
                _out: &mut BytesMut,
            ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
                Err(concat!(stringify!($name), " is not a column").into())
            }
            fn accepts(_ty: &Type) -> bool {
                false
            }
            postgres_types::to_sql_checked!();
        }

        impl<'a, T: crate::model::SingleKey> FromSql<'a> for $name<T> {
            fn from_sql(
                _ty: &Type,
                _raw: &'a [u8],
            ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
                Ok($name::default())
            }
            fn accepts(_ty: &Type) -> bool {
                false
            }
        }

        impl<T: crate::model::SingleKey> FieldType for $name<T> {
            const SQL_TYPE: SqlType = <T::Pk as FieldType>::SQL_TYPE;
            type Base = Self;
            fn to_value(&self) -> Value {
                Self::SQL_TYPE.null()
            }
            fn from_value(_value: Value) -> Option<Self> {
                Some($name::default())
            }
        }
    };
}

macro_rules! many_side {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name<T> {
            loaded: Option<Vec<T>>,
        }

        impl<T> $name<T> {
            /// The related objects, when loaded by `prefetch_related`.
            pub fn get(&self) -> Option<&[T]> {
                self.loaded.as_deref()
            }

            /// The loaded objects, by value: moved out, no clone (the
            /// field is no longer loaded).
            pub fn take(&mut self) -> Option<Vec<T>> {
                self.loaded.take()
            }

            /// The loaded objects, by value.
            pub fn into_loaded(self) -> Option<Vec<T>> {
                self.loaded
            }

            /// True when the related objects have been loaded.
            pub fn is_loaded(&self) -> bool {
                self.loaded.is_some()
            }
        }

        impl<T> Default for $name<T> {
            fn default() -> Self {
                $name { loaded: None }
            }
        }

        impl<T: Clone> Clone for $name<T> {
            fn clone(&self) -> Self {
                $name { loaded: self.loaded.clone() }
            }
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match &self.loaded {
                    Some(items) => write!(f, concat!(stringify!($name), "({} loaded)"), items.len()),
                    None => f.write_str(concat!(stringify!($name), "(not loaded)")),
                }
            }
        }

        /// Relation fields are not compared (they are not columns).
        impl<T> PartialEq for $name<T> {
            fn eq(&self, _other: &Self) -> bool {
                true
            }
        }

        non_column!($name);

        impl<T: Model> RelationField for $name<T> {
            fn attach(&mut self, related: Related, model: &'static str) -> Result<()> {
                match related {
                    Related::Many(items) => {
                        self.loaded = Some(
                            items
                                .into_iter()
                                .map(|b| take::<T>(b, model))
                                .collect::<Result<_>>()?,
                        );
                    }
                    Related::Group(group) => {
                        self.loaded = Some(take::<Vec<T>>(group, model)?);
                    }
                    Related::One(_) => {}
                }
                Ok(())
            }
            fn loaded_mut(&mut self) -> Vec<&mut (dyn Any + Send)> {
                match &mut self.loaded {
                    Some(items) => items.iter_mut().map(|t| t as &mut (dyn Any + Send)).collect(),
                    None => Vec::new(),
                }
            }
        }
    };
}

many_side!(
    /// A many-to-many relation to `T` through a link table (created with the
    /// models, or named with `#[orm(through = "..")]`). Not a column: manage
    /// the links with the accessor the derive generates (`post.tags().add(..)`),
    /// and read them after `prefetch_related(["tags"])` with [`ManyToMany::get`].
    ManyToMany
);

many_side!(
    /// The reverse side of a [`ForeignKey`] or [`ManyToMany`] declared on `T`:
    /// `posts: Reverse<Post>` on `User` mirrors `Post.author`. Not a column. It
    /// makes `posts__..` lookups, `user.posts()` and
    /// `prefetch_related(["posts"])` possible.
    Reverse
);

/// The reverse side of a [`OneToOne`] declared on `T`: `profile:
/// ReverseOne<Profile>` on `User` mirrors `Profile.user`. Not a column.
/// `user.profile().await?` is the row or `None`; `select_related` and
/// `prefetch_related` load it into [`ReverseOne::get`].
pub struct ReverseOne<T> {
    loaded: Option<Option<Box<T>>>,
}

impl<T> ReverseOne<T> {
    /// The related object, when loaded and present.
    pub fn get(&self) -> Option<&T> {
        self.loaded.as_ref().and_then(|o| o.as_deref())
    }

    /// The related object, by value, when loaded and present: moved out,
    /// no clone (the field is no longer loaded).
    pub fn take(&mut self) -> Option<T> {
        self.loaded.take().flatten().map(|object| *object)
    }

    /// The related object, by value: `None` when not loaded, `Some(None)`
    /// when loaded and absent.
    pub fn into_loaded(self) -> Option<Option<T>> {
        self.loaded.map(|object| object.map(|object| *object))
    }

    /// True when it has been loaded (present or not).
    pub fn is_loaded(&self) -> bool {
        self.loaded.is_some()
    }
}

impl<T> Default for ReverseOne<T> {
    fn default() -> Self {
        ReverseOne { loaded: None }
    }
}

impl<T: Clone> Clone for ReverseOne<T> {
    fn clone(&self) -> Self {
        ReverseOne {
            loaded: self.loaded.clone(),
        }
    }
}

impl<T> fmt::Debug for ReverseOne<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match &self.loaded {
            None => "ReverseOne(not loaded)",
            Some(None) => "ReverseOne(none)",
            Some(Some(_)) => "ReverseOne(loaded)",
        })
    }
}

non_column!(ReverseOne);

impl<T: Model> RelationField for ReverseOne<T> {
    fn attach(&mut self, related: Related, model: &'static str) -> Result<()> {
        let one = match related {
            Related::One(one) => one,
            Related::Many(items) => items.into_iter().next(),
            Related::Group(group) => take::<Vec<T>>(group, model)?
                .into_iter()
                .next()
                .map(|t| Box::new(t) as Box<dyn Any + Send>),
        };
        self.loaded = Some(match one {
            Some(b) => Some(take_boxed::<T>(b, model)?),
            None => None,
        });
        Ok(())
    }
    fn loaded_mut(&mut self) -> Vec<&mut (dyn Any + Send)> {
        match &mut self.loaded {
            Some(Some(t)) => vec![&mut **t as &mut (dyn Any + Send)],
            _ => Vec::new(),
        }
    }
}
