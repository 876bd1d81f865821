//! JSON (and any serde format) for models, with the `serde` feature.
//!
//! `#[derive(Serialize, Deserialize)]` on a model works with its relation
//! fields; this module holds what goes beyond the field types' own impls:
//! [`nested`] (a loaded foreign key as its object), [`not_loaded`] (leave out
//! a reverse or many-to-many field that was not prefetched) and
//! [`from_json`] (a request body, deserialized and validated, every field's
//! error reported at once).
//!
//! | Rust | JSON |
//! |---|---|
//! | `ForeignKey<T>`, `OneToOne<T>` | the key: `"author": 4` (DRF's `ModelSerializer` default) |
//! | the same with `#[serde(serialize_with = "orm_core::serde::nested")]` | the object when loaded, else the key |
//! | `Option<ForeignKey<T>>` | the key or `null` (`nested` works on it too) |
//! | `ManyToMany<T>`, `Reverse<T>` | the list when loaded, `null` when not (or no key with [`not_loaded`]) |
//! | `ReverseOne<T>` | the object when loaded, `null` when absent or not loaded |
//! | [`Value`] | its natural JSON: numbers, strings, ISO 8601 dates, UUIDs as strings, JSON as itself, NULL as `null` |
//! | [`Record`] (`values()` rows, `aggregate()`) | an object of its names and values |
//! | [`Annotated<M>`] | the model's object with the annotations added to it |
//! | [`Deferred<M>`] (`only()`, `defer()`) | the model's object without the fields that were not read |
//!
//! Reading JSON, a foreign key is read from its key (`"author": 4`) or from
//! an object holding it (what `nested` wrote: a body reads back); a
//! reverse or many-to-many field accepts and ignores whatever is given (it is
//! not a column: `save()` never writes it) and is not loaded, also when its
//! key is missing (no `#[serde(default)]` needed).
//!
//! Unknown keys are ignored, as DRF's serializers do (a client may send
//! back what it read, `"tags"` included); put `#[serde(deny_unknown_fields)]`
//! on the model to refuse them: [`from_json`] then reports each one.

use std::cell::Cell;
use std::marker::PhantomData;

use ::serde::de::{
    self, DeserializeOwned, Deserializer, IgnoredAny, IntoDeserializer, MapAccess, Visitor,
};
use ::serde::ser::{self, Impossible, SerializeMap, SerializeStruct, Serializer};
use ::serde::{Deserialize, Serialize};

use crate::error::{Error, FieldError, Result, ValidationError};
use crate::meta::FieldMeta;
use crate::model::Model;
use crate::model::SingleKey;
use crate::query::{Annotated, Deferred, Record};
use crate::relation::{ForeignKey, ManyToMany, Reverse, ReverseOne};
use crate::types::SqlType;
use crate::value::Value;

// ------------------------------------------------------------ relation fields

/// The key: `"author": 4`, whether the target is loaded or not (use
/// [`nested`] for the object).
impl<T: SingleKey> Serialize for ForeignKey<T>
where
    T::Pk: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.key().serialize(serializer)
    }
}

/// From the key, `"author": 4`, or from an object holding it, `"author":
/// {"id": 4, "name": "Ada"}` (what [`nested`] writes: the rest of the object
/// is ignored); the target is not loaded. A format that is not
/// self-describing (not human-readable) reads the key only.
impl<'de, T: SingleKey> Deserialize<'de> for ForeignKey<T>
where
    T::Pk: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if !deserializer.is_human_readable() {
            return T::Pk::deserialize(deserializer).map(ForeignKey::from_key);
        }
        deserializer
            .deserialize_any(KeyOf::<T>(PhantomData))
            .map(ForeignKey::from_key)
    }
}

/// Reads the key of a `T`, alone or in an object.
struct KeyOf<T>(PhantomData<fn() -> T>);

impl<'de, T: SingleKey> Visitor<'de> for KeyOf<T>
where
    T::Pk: Deserialize<'de>,
{
    type Value = T::Pk;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the key of a {0}, or a {0} object with its `{1}`",
            T::META.name,
            T::META.pk_field().name
        )
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T::Pk, E> {
        T::Pk::deserialize(IntoDeserializer::<E>::into_deserializer(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T::Pk, E> {
        T::Pk::deserialize(IntoDeserializer::<E>::into_deserializer(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T::Pk, E> {
        T::Pk::deserialize(IntoDeserializer::<E>::into_deserializer(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<T::Pk, E> {
        T::Pk::deserialize(de::value::BorrowedStrDeserializer::new(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T::Pk, E> {
        T::Pk::deserialize(IntoDeserializer::<E>::into_deserializer(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<T::Pk, E> {
        T::Pk::deserialize(IntoDeserializer::<E>::into_deserializer(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T::Pk, A::Error> {
        let name = T::META.pk_field().name;
        let mut key = None;
        while let Some(field) = map.next_key::<String>()? {
            if field == name && key.is_none() {
                key = Some(map.next_value::<T::Pk>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        key.ok_or_else(|| de::Error::missing_field(name))
    }
}

/// Reads and drops any value of a relation field that is not a column
/// (its key missing, `null`, a list, an object): the field is not loaded.
struct Unloaded;

impl<'de> Visitor<'de> for Unloaded {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any value (a relation that is not a column is not read)")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| ())
    }
}

macro_rules! many_side {
    ($name:ident) => {
        /// The list of related objects when loaded (`prefetch_related`),
        /// `null` when not; leave the key out with
        /// `#[serde(skip_serializing_if = "orm_core::serde::not_loaded")]`.
        impl<T: Serialize> Serialize for $name<T> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self.get() {
                    Some(items) => items.serialize(serializer),
                    None => serializer.serialize_none(),
                }
            }
        }

        /// Not loaded, whatever the JSON holds (and when the key is missing):
        /// the field is not a column, `save()` never writes it.
        impl<'de, T> Deserialize<'de> for $name<T> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_option(Unloaded)?;
                Ok($name::default())
            }
        }
    };
}

many_side!(ManyToMany);
many_side!(Reverse);

/// The object when loaded and present, else `null`.
impl<T: Serialize> Serialize for ReverseOne<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.get() {
            Some(object) => object.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }
}

/// Not loaded, whatever the JSON holds (and when the key is missing).
impl<'de, T> Deserialize<'de> for ReverseOne<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_option(Unloaded)?;
        Ok(ReverseOne::default())
    }
}

/// A foreign key that [`nested`] serializes: [`ForeignKey`] (and
/// [`OneToOne`](crate::relation::OneToOne)) and `Option` of one.
pub trait NestedKey {
    /// The loaded target as itself, else the key (or `null`).
    ///
    /// # Errors
    /// The serializer's.
    fn serialize_nested<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;
}

impl<T: SingleKey + Serialize> NestedKey for ForeignKey<T>
where
    T::Pk: Serialize,
{
    fn serialize_nested<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.get() {
            Some(target) => target.serialize(serializer),
            None => self.key().serialize(serializer),
        }
    }
}

impl<T: SingleKey + Serialize> NestedKey for Option<ForeignKey<T>>
where
    T::Pk: Serialize,
{
    fn serialize_nested<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(key) => key.serialize_nested(serializer),
            None => serializer.serialize_none(),
        }
    }
}

/// A foreign key as its target object when it was loaded
/// (`select_related`, `prefetch_related`, `load()`), else as its key:
/// `#[serde(serialize_with = "orm_core::serde::nested")]` on the field.
///
/// ```
/// # use orm_core::prelude::*;
/// # use serde::Serialize;
/// #[derive(Model, Serialize, Debug, Clone, Default)]
/// pub struct Author { #[orm(primary_key)] pub id: i64, pub name: String }
///
/// #[derive(Model, Serialize, Debug, Clone, Default)]
/// pub struct Book {
///     #[orm(primary_key)]
///     pub id: i64,
///     #[serde(serialize_with = "orm_core::serde::nested")]
///     pub author: ForeignKey<Author>,
/// }
///
/// let book = Book { id: 1, author: ForeignKey::from_key(4) };
/// assert_eq!(serde_json::to_string(&book).unwrap(), r#"{"id":1,"author":4}"#);
/// ```
///
/// # Errors
/// The serializer's.
pub fn nested<F: NestedKey + ?Sized, S: Serializer>(
    field: &F,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    field.serialize_nested(serializer)
}

/// A relation field that may be loaded or not: [`ManyToMany`], [`Reverse`],
/// [`ReverseOne`], for [`not_loaded`].
pub trait LoadedRelation {
    /// True when its related objects were loaded.
    fn is_loaded(&self) -> bool;
}

impl<T> LoadedRelation for ManyToMany<T> {
    fn is_loaded(&self) -> bool {
        ManyToMany::is_loaded(self)
    }
}

impl<T> LoadedRelation for Reverse<T> {
    fn is_loaded(&self) -> bool {
        Reverse::is_loaded(self)
    }
}

impl<T> LoadedRelation for ReverseOne<T> {
    fn is_loaded(&self) -> bool {
        ReverseOne::is_loaded(self)
    }
}

/// True when the relation was not loaded: with
/// `#[serde(skip_serializing_if = "orm_core::serde::not_loaded")]`, a
/// reverse or many-to-many field that was not prefetched leaves no key (a
/// serde field cannot leave itself out: the attribute asks the struct to).
pub fn not_loaded<F: LoadedRelation + ?Sized>(field: &F) -> bool {
    !field.is_loaded()
}

// --------------------------------------------------------------------- values

/// Its natural JSON: `true`, `4`, `2.5`, `"text"`, bytes as a list of
/// numbers, `"2024-05-01"`, `"12:30:00"`, `"2024-05-01T12:30:00"`,
/// `"2024-05-01T12:30:00Z"` (ISO 8601; fractions of seconds when there are
/// some), a UUID as its hyphenated string, JSON as itself, an array as a
/// list; NULL of any type as `null`.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn opt<S: Serializer, T>(
            serializer: S,
            value: &Option<T>,
            some: impl FnOnce(S, &T) -> Result<S::Ok, S::Error>,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(v) => some(serializer, v),
                None => serializer.serialize_none(),
            }
        }
        match self {
            Value::Bool(v) => opt(serializer, v, |s, v| s.serialize_bool(*v)),
            Value::I16(v) => opt(serializer, v, |s, v| s.serialize_i16(*v)),
            Value::I32(v) => opt(serializer, v, |s, v| s.serialize_i32(*v)),
            Value::I64(v) => opt(serializer, v, |s, v| s.serialize_i64(*v)),
            Value::F32(v) => opt(serializer, v, |s, v| s.serialize_f32(*v)),
            Value::F64(v) => opt(serializer, v, |s, v| s.serialize_f64(*v)),
            Value::Text(v) => opt(serializer, v, |s, v| s.serialize_str(v)),
            Value::Bytes(v) => opt(serializer, v, |s, v| s.serialize_bytes(v)),
            Value::Date(v) => opt(serializer, v, |s, v| s.collect_str(&v.format("%Y-%m-%d"))),
            Value::Time(v) => opt(serializer, v, |s, v| {
                s.collect_str(&v.format("%H:%M:%S%.f"))
            }),
            Value::Timestamp(v) => opt(serializer, v, |s, v| {
                s.collect_str(&v.format("%Y-%m-%dT%H:%M:%S%.f"))
            }),
            Value::TimestampTz(v) => opt(serializer, v, |s, v| {
                s.serialize_str(&v.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            }),
            Value::Uuid(v) => opt(serializer, v, |s, v| s.collect_str(&v.hyphenated())),
            Value::Json(v) => opt(serializer, v, |s, v| v.serialize(s)),
            Value::Array(items) => items.serialize(serializer),
            Value::Range(_, v) => opt(serializer, v, |s, v| v.serialize(s)),
            // As Django's `DjangoJSONEncoder`: a decimal as its text, so
            // that no digit is lost to a float.
            Value::Decimal(v) => opt(serializer, v, |s, v| s.collect_str(v)),
            Value::Inet(v) => opt(serializer, v, |s, v| s.collect_str(v)),
            // Django's `duration_string` (`"1 02:03:04"`), as the field.
            Value::Interval(v) => opt(serializer, v, |s, v| v.serialize(s)),
        }
    }
}

/// An object of its names and values, in order: `{"author": 4, "n": 2}`.
impl Serialize for Record {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let names: Vec<&str> = self.names().collect();
        let mut map = serializer.serialize_map(Some(names.len()))?;
        for name in names {
            if let Some(value) = self.value(name) {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

/// The model's object (as its own `Serialize` writes it) with the
/// annotations added: `{"id": 1, "name": "ada", "posts__count": 2}`. The
/// model must serialize as a struct or a map.
impl<M: Serialize> Serialize for Annotated<M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        (**self).serialize(Entries {
            map: &mut map,
            skip: &|_| false,
        })?;
        let annotations = self.annotations();
        for name in annotations.names() {
            if let Some(value) = annotations.value(name) {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

/// The model's object (as its own `Serialize` writes it) without the
/// fields that were not read (they hold placeholders): `only(["title"])`
/// gives `{"id": 1, "title": "x"}` plus the relation fields the model
/// serializes. A field is left out by its Rust name (the model's
/// `#[serde(rename)]`s are not followed); the model must serialize as a
/// struct (a map, from `#[serde(flatten)]`, is written whole).
impl<M: Model + Serialize> Serialize for Deferred<M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let deferred = self.deferred_fields();
        let mut map = serializer.serialize_map(None)?;
        self.object.serialize(Entries {
            map: &mut map,
            skip: &|name| deferred.contains(&name),
        })?;
        map.end()
    }
}

/// A serializer that writes a struct's fields into an outer map, skipping
/// those `skip` names: how [`Annotated`] and [`Deferred`] write the model.
struct Entries<'a, M> {
    map: &'a mut M,
    skip: &'a dyn Fn(&str) -> bool,
}

impl<M: SerializeMap> Entries<'_, M> {
    fn not_a_struct(what: &str) -> M::Error {
        ser::Error::custom(format!(
            "a model serializes as a struct or a map to be written with its \
             annotations or without its deferred fields, not as {what}"
        ))
    }
}

macro_rules! not_a_struct {
    ($($method:ident($($ty:ty),*) $what:literal;)*) => {$(
        fn $method(self, $(_: $ty),*) -> Result<(), M::Error> {
            Err(Self::not_a_struct($what))
        }
    )*};
}

impl<'a, M: SerializeMap> Serializer for Entries<'a, M> {
    type Ok = ();
    type Error = M::Error;
    type SerializeSeq = Impossible<(), M::Error>;
    type SerializeTuple = Impossible<(), M::Error>;
    type SerializeTupleStruct = Impossible<(), M::Error>;
    type SerializeTupleVariant = Impossible<(), M::Error>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), M::Error>;

    not_a_struct! {
        serialize_bool(bool) "a boolean";
        serialize_i8(i8) "a number";
        serialize_i16(i16) "a number";
        serialize_i32(i32) "a number";
        serialize_i64(i64) "a number";
        serialize_u8(u8) "a number";
        serialize_u16(u16) "a number";
        serialize_u32(u32) "a number";
        serialize_u64(u64) "a number";
        serialize_f32(f32) "a number";
        serialize_f64(f64) "a number";
        serialize_char(char) "a character";
        serialize_str(&str) "a string";
        serialize_bytes(&[u8]) "bytes";
        serialize_none() "null";
        serialize_unit() "a unit";
        serialize_unit_struct(&'static str) "a unit struct";
        serialize_unit_variant(&'static str, u32, &'static str) "an enum variant";
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), M::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), M::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), M::Error> {
        Err(Self::not_a_struct("an enum variant"))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, M::Error> {
        Err(Self::not_a_struct("a list"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, M::Error> {
        Err(Self::not_a_struct("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, M::Error> {
        Err(Self::not_a_struct("a tuple struct"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, M::Error> {
        Err(Self::not_a_struct("an enum variant"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self, M::Error> {
        Ok(self)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self, M::Error> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, M::Error> {
        Err(Self::not_a_struct("an enum variant"))
    }
}

impl<M: SerializeMap> SerializeStruct for Entries<'_, M> {
    type Ok = ();
    type Error = M::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), M::Error> {
        if (self.skip)(key) {
            return Ok(());
        }
        self.map.serialize_entry(key, value)
    }
    fn end(self) -> Result<(), M::Error> {
        Ok(())
    }
}

/// A model that serializes as a map (`#[serde(flatten)]`): its entries are
/// written as they come.
impl<M: SerializeMap> SerializeMap for Entries<'_, M> {
    type Ok = ();
    type Error = M::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), M::Error> {
        self.map.serialize_key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), M::Error> {
        self.map.serialize_value(value)
    }
    fn end(self) -> Result<(), M::Error> {
        Ok(())
    }
}

// ------------------------------------------------------------------ from_json

/// A model from a JSON request body, checked as `save()` checks it: the
/// model's `Deserialize`, then [`Model::validate`] (`max_length`,
/// `#[orm(validate = ..)]`) and the refusal of NUL characters in text.
///
/// Every field's error is reported at once, in one
/// [`Error::Validation`] ([`ValidationError::errors`]): a missing field
/// (`This field is required.`), a value of the wrong type (serde's message:
/// `invalid type: string "x", expected i64`), a broken rule. An error of the
/// whole body (not JSON, not an object, a key the model refuses under
/// `#[serde(deny_unknown_fields)]`) is named
/// [`ValidationError::NON_FIELD_ERRORS`] (`__all__`).
///
/// An integer primary key and `auto_now` / `auto_now_add` fields may be left
/// out: they are filled on save (the key stays unset, so `save()` inserts).
/// A given key is kept (`save()` then updates that row).
///
/// ```
/// # use orm_core::prelude::*;
/// # use serde::Deserialize;
/// #[derive(Model, Deserialize, Debug, Clone, Default)]
/// pub struct Note {
///     #[orm(primary_key)]
///     pub id: i64,
///     #[orm(max_length = 5)]
///     pub title: String,
///     pub stars: i32,
/// }
///
/// let note: Note = orm_core::serde::from_json(r#"{"title": "hi", "stars": 3}"#).unwrap();
/// assert_eq!((note.id, note.title.as_str(), note.stars), (0, "hi", 3));
///
/// let err = orm_core::serde::from_json::<Note>(r#"{"title": "too long", "stars": "x"}"#)
///     .unwrap_err();
/// let orm_core::Error::Validation(err) = err else { panic!("{err}") };
/// assert_eq!(err.fields(), ["stars", "title"]);
/// ```
///
/// # Errors
/// [`Error::Validation`] listing every field in error.
pub fn from_json<M: Model + DeserializeOwned>(body: &str) -> Result<M> {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(value) => from_json_value(value),
        Err(e) => Err(non_field::<M>(format!("invalid JSON: {e}"))),
    }
}

/// [`from_json`] of JSON already parsed (a web framework's `Json<Value>`).
///
/// # Errors
/// As [`from_json`].
pub fn from_json_value<M: Model + DeserializeOwned>(value: serde_json::Value) -> Result<M> {
    let serde_json::Value::Object(mut object) = value else {
        return Err(non_field::<M>(format!(
            "expected a JSON object of {}'s fields, got {}",
            M::META.name,
            kind(&value)
        )));
    };
    // Filled on save: may be left out.
    for field in M::META.fields {
        if (field.auto || field.auto_now || field.auto_now_add) && !object.contains_key(field.name)
        {
            if let Some(placeholder) = placeholder(field) {
                object.insert(field.name.to_owned(), placeholder);
            }
        }
    }

    let mut errors: Vec<FieldError> = Vec::new();
    // Each round either reports one more field (and puts a placeholder in
    // its place, to read on) or stops: at most one round per key and field.
    let rounds = object.len() + M::META.fields.len() + 1;
    let mut model = None;
    for _ in 0..rounds {
        let key = Cell::new(None);
        let result = M::deserialize(Fields {
            object: &object,
            key: &key,
        });
        let err = match result {
            Ok(m) => {
                model = Some(m);
                break;
            }
            Err(e) => e,
        };
        let message = err.to_string();
        let (name, message) = match key.get() {
            Some(name) => (name.to_owned(), message),
            None => match message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.strip_suffix('`'))
            {
                Some(name) => (name.to_owned(), "This field is required.".to_owned()),
                None => {
                    errors.push(FieldError {
                        field: ValidationError::NON_FIELD_ERRORS,
                        message,
                    });
                    break;
                }
            },
        };
        let field = M::META.fields.iter().find(|f| f.name == name);
        let reported = field.map_or(ValidationError::NON_FIELD_ERRORS, |f| f.name);
        if field.is_some() && errors.iter().any(|e| e.field == reported) {
            // Its placeholder was refused too (a type of the user's own).
            break;
        }
        errors.push(FieldError {
            field: reported,
            message: match field {
                Some(_) => message,
                None => format!("`{name}`: {message}"),
            },
        });
        match field.and_then(placeholder) {
            Some(placeholder) => {
                object.insert(name, placeholder);
            }
            None if object.remove(&name).is_some() => {}
            // Nothing to read on with.
            None => break,
        }
    }

    if let Some(model) = &model {
        let wrong: Vec<&str> = errors.iter().map(|e| e.field).collect();
        for (i, field) in M::META.fields.iter().enumerate() {
            if !wrong.contains(&field.name) && model.field_value(i).has_nul() {
                errors.push(FieldError {
                    field: field.name,
                    message: crate::value::NUL_MESSAGE.to_owned(),
                });
            }
        }
        match model.validate() {
            Ok(()) => {}
            Err(Error::Validation(e)) => {
                // A placeholder's own rule breaks are not the client's.
                errors.extend(e.errors().filter(|e| !wrong.contains(&e.field)));
            }
            Err(other) => return Err(other),
        }
    }
    match (ValidationError::from_errors(M::META.name, errors), model) {
        (Some(e), _) => Err(Error::from(e)),
        (None, Some(model)) => Ok(model),
        (None, None) => Err(non_field::<M>(format!(
            "the body could not be read as {}",
            M::META.name
        ))),
    }
}

/// An error of the whole body.
fn non_field<M: Model>(message: String) -> Error {
    Error::from(ValidationError::new(
        M::META.name,
        ValidationError::NON_FIELD_ERRORS,
        message,
    ))
}

/// What a JSON value is, for a message.
fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A valid JSON value of `field`'s type, put in place of a value in error
/// so that the rest of the body is still read (and its errors reported).
fn placeholder(field: &FieldMeta) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    if field.nullable {
        return Some(J::Null);
    }
    let text = |s: &str| Some(J::String(s.to_owned()));
    match field.sql_type {
        SqlType::Bool => Some(J::Bool(false)),
        SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => Some(J::from(0)),
        SqlType::Real | SqlType::Double => Some(J::from(0.0)),
        SqlType::Text | SqlType::TsVector => text(""),
        SqlType::Bytea | SqlType::Array(_) => Some(J::Array(Vec::new())),
        SqlType::Date => text("1970-01-01"),
        SqlType::Time => text("00:00:00"),
        SqlType::Timestamp => text("1970-01-01T00:00:00"),
        SqlType::TimestampTz => text("1970-01-01T00:00:00Z"),
        SqlType::Uuid => text("00000000-0000-0000-0000-000000000000"),
        SqlType::Jsonb => Some(J::Null),
        SqlType::Enum(names) => names.first().and_then(|n| text(n)),
        SqlType::Range(_) => Some(serde_json::json!({ "empty": true })),
        SqlType::Numeric => text("0"),
        SqlType::Inet => text("0.0.0.0"),
        SqlType::CiText => text(""),
        SqlType::Interval => text("00:00:00"),
    }
}

/// A JSON object read as a model's fields, noting which key is being read:
/// serde's errors do not name the field they concern.
struct Fields<'a> {
    object: &'a serde_json::Map<String, serde_json::Value>,
    key: &'a Cell<Option<&'a str>>,
}

impl<'a> Deserializer<'a> for Fields<'a> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(FieldEntries {
            entries: self.object.iter(),
            value: None,
            key: self.key,
        })
    }

    ::serde::forward_to_deserialize_any! {
        <W: Visitor<'a>>
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// The entries of [`Fields`].
struct FieldEntries<'a> {
    entries: serde_json::map::Iter<'a>,
    value: Option<&'a serde_json::Value>,
    key: &'a Cell<Option<&'a str>>,
}

impl<'a> MapAccess<'a> for FieldEntries<'a> {
    type Error = serde_json::Error;

    fn next_key_seed<K: de::DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.key.set(Some(key));
                self.value = Some(value);
                seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
                    .map(Some)
            }
            None => {
                // What fails now (a missing field) is of no key.
                self.key.set(None);
                Ok(None)
            }
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'a>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(value),
            None => Err(de::Error::custom("a value was asked for before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ::serde::{Deserialize, Serialize};
    use chrono::{NaiveDate, TimeZone, Utc};

    use crate::prelude::*;
    use crate::query::{Deferred, Record};
    use crate::relation::ops::{Related, RelationField};
    use crate::{Error, Value};

    use super::from_json;

    #[derive(Model, Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    #[orm(table = "serde_writers")]
    struct Writer {
        #[orm(primary_key)]
        id: i64,
        name: String,
        #[serde(skip_serializing_if = "crate::serde::not_loaded")]
        notes: Reverse<Note>,
    }

    // A rule takes a reference to the field's type.
    #[allow(clippy::ptr_arg)]
    fn not_blank(s: &String) -> std::result::Result<(), String> {
        if s.trim().is_empty() {
            return Err("must not be blank".into());
        }
        Ok(())
    }

    #[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
    #[orm(table = "serde_notes")]
    struct Note {
        #[orm(primary_key)]
        id: i64,
        #[orm(related_name = "notes")]
        writer: ForeignKey<Writer>,
        #[serde(serialize_with = "crate::serde::nested")]
        editor: Option<ForeignKey<Writer>>,
        #[orm(max_length = 10, validate = not_blank)]
        title: String,
        stars: i32,
        labels: ManyToMany<Label>,
    }

    #[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
    #[orm(table = "serde_labels")]
    struct Label {
        #[orm(primary_key)]
        id: i64,
        name: String,
    }

    #[derive(Model, Deserialize, Debug, Clone, Default)]
    #[orm(table = "serde_strict")]
    #[serde(deny_unknown_fields)]
    struct Strict {
        #[orm(primary_key)]
        id: i64,
        name: String,
    }

    fn note() -> Note {
        Note {
            id: 1,
            writer: ForeignKey::from_key(4),
            editor: None,
            title: "Hi".into(),
            stars: 3,
            labels: ManyToMany::default(),
        }
    }

    fn json(value: &impl Serialize) -> String {
        serde_json::to_string(value).unwrap()
    }

    /// The field errors of a `from_json` that must fail.
    fn errors<M: Model + ::serde::de::DeserializeOwned + std::fmt::Debug>(
        body: &str,
    ) -> Vec<(&'static str, String)> {
        match from_json::<M>(body) {
            Err(Error::Validation(e)) => e.errors().map(|e| (e.field, e.message)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn foreign_keys_are_their_keys_and_unloaded_many_sides_null() {
        assert_eq!(
            json(&note()),
            r#"{"id":1,"writer":4,"editor":null,"title":"Hi","stars":3,"labels":null}"#
        );
        let mut n = note();
        n.editor = Some(ForeignKey::from_key(7));
        assert!(json(&n).contains(r#""editor":7"#), "{}", json(&n));
    }

    #[test]
    fn loaded_relations_nest_where_asked() {
        let mut n = note();
        let ada = Writer {
            id: 7,
            name: "Ada".into(),
            notes: Reverse::default(),
        };
        let mut editor = ForeignKey::<Writer>::from_key(7);
        editor
            .attach(Related::One(Some(Box::new(ada.clone()))), "Note")
            .unwrap();
        n.editor = Some(editor);
        // A loaded key without `nested` stays a key.
        n.writer
            .attach(Related::One(Some(Box::new(ada.clone()))), "Note")
            .unwrap();
        n.labels
            .attach(
                Related::Many(vec![Box::new(Label {
                    id: 2,
                    name: "rust".into(),
                })]),
                "Note",
            )
            .unwrap();
        assert_eq!(
            json(&n),
            r#"{"id":1,"writer":4,"editor":{"id":7,"name":"Ada"},"title":"Hi","stars":3,"labels":[{"id":2,"name":"rust"}]}"#
        );
        let mut writer = ada;
        writer
            .notes
            .attach(Related::Many(vec![Box::new(note())]), "Writer")
            .unwrap();
        assert_eq!(
            json(&writer),
            r#"{"id":7,"name":"Ada","notes":[{"id":1,"writer":4,"editor":null,"title":"Hi","stars":3,"labels":null}]}"#
        );
        writer
            .notes
            .attach(Related::Many(vec![]), "Writer")
            .unwrap();
        assert_eq!(json(&writer), r#"{"id":7,"name":"Ada","notes":[]}"#);
    }

    #[test]
    fn unloaded_reverse_fields_leave_no_key_with_not_loaded() {
        let w = Writer {
            id: 7,
            name: "Ada".into(),
            notes: Reverse::default(),
        };
        assert_eq!(json(&w), r#"{"id":7,"name":"Ada"}"#);
        let one: ReverseOne<Writer> = ReverseOne::default();
        assert_eq!(json(&one), "null");
    }

    #[test]
    fn relations_deserialize_from_keys_and_many_sides_unloaded() {
        let n: Note = serde_json::from_str(
            r#"{"id":1,"writer":4,"editor":null,"title":"Hi","stars":3,"labels":[{"id":2,"name":"x"}]}"#,
        )
        .unwrap();
        assert_eq!(*n.writer.key(), 4);
        assert!(!n.writer.is_loaded());
        assert!(n.editor.is_none());
        assert!(!n.labels.is_loaded());
        // A many side may be left out, without `#[serde(default)]`.
        let w: Writer = serde_json::from_str(r#"{"id":7,"name":"Ada"}"#).unwrap();
        assert!(!w.notes.is_loaded());
        // A nested object reads back as its key.
        let n: Note = serde_json::from_str(
            r#"{"id":1,"writer":{"name":"Ada","id":4,"notes":[]},"editor":{"id":5},"title":"Hi","stars":3}"#,
        )
        .unwrap();
        assert_eq!((*n.writer.key(), n.editor.map(|e| *e.key())), (4, Some(5)));
        let err = serde_json::from_str::<Note>(
            r#"{"id":1,"writer":{"name":"Ada"},"editor":null,"title":"Hi","stars":3}"#,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("missing field `id`"), "{err}");
        let err = serde_json::from_str::<Note>(
            r#"{"id":1,"writer":true,"editor":null,"title":"Hi","stars":3}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "invalid type: boolean `true`, expected the key of a Writer, or a Writer object with its `id`"
            ),
            "{err}"
        );
        // A key of the wrong type is an error.
        let err = serde_json::from_str::<Note>(
            r#"{"id":1,"writer":"four","editor":null,"title":"Hi","stars":3}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("expected i64"), "{err}");
    }

    #[test]
    fn values_are_their_natural_json() {
        let at = Utc.with_ymd_and_hms(2024, 5, 1, 12, 30, 0).unwrap();
        let day = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
        let id = uuid::Uuid::from_u128(0x67e5_5044_10b1_426f_9247_bb68_0e5f_e0c8);
        let values = vec![
            Value::Bool(Some(true)),
            Value::I16(Some(-2)),
            Value::I32(Some(3)),
            Value::I64(Some(1 << 40)),
            Value::F32(Some(0.5)),
            Value::F64(Some(2.25)),
            Value::Text(Some("a \"q\"".into())),
            Value::Bytes(Some(vec![0, 255])),
            Value::Date(Some(day)),
            Value::Time(Some(
                chrono::NaiveTime::from_hms_milli_opt(12, 30, 1, 500).unwrap(),
            )),
            Value::Timestamp(Some(day.and_hms_opt(12, 30, 0).unwrap())),
            Value::TimestampTz(Some(at)),
            Value::Uuid(Some(id)),
            Value::Json(Some(serde_json::json!({"a": [1, null]}))),
            Value::Array(vec![Value::I64(Some(1)), Value::I64(None)]),
            Value::Text(None),
            Value::TimestampTz(None),
        ];
        assert_eq!(
            json(&values),
            concat!(
                r#"[true,-2,3,1099511627776,0.5,2.25,"a \"q\"",[0,255],"2024-05-01","12:30:01.500","#,
                r#""2024-05-01T12:30:00","2024-05-01T12:30:00Z","67e55044-10b1-426f-9247-bb680e5fe0c8","#,
                r#"{"a":[1,null]},[1,null],null,null]"#
            )
        );
    }

    #[test]
    fn records_and_deferred_rows_are_objects_of_their_names() {
        let names: Arc<[String]> = vec!["writer".to_owned(), "n".to_owned()].into();
        let record = Record::new(names, vec![Value::I64(Some(4)), Value::I64(None)]);
        assert_eq!(json(&record), r#"{"writer":4,"n":null}"#);

        let fields = &<Note as Model>::META.fields;
        let loaded: Arc<[&'static crate::FieldMeta]> =
            fields.iter().filter(|f| f.name != "stars").collect();
        let deferred = Deferred {
            object: note(),
            loaded,
        };
        assert_eq!(
            json(&deferred),
            r#"{"id":1,"writer":4,"editor":null,"title":"Hi","labels":null}"#
        );
    }

    #[test]
    fn from_json_reads_and_validates() {
        let n: Note =
            from_json(r#"{"writer": 4, "editor": 5, "title": "Hi", "stars": 2}"#).unwrap();
        assert_eq!(n.id, 0, "the auto key may be left out, and stays unset");
        assert_eq!(*n.writer.key(), 4);
        assert_eq!(n.editor.as_ref().map(|e| *e.key()), Some(5));
        assert_eq!(n.stars, 2);
        // Unknown keys are ignored, as DRF does.
        let w: Writer = from_json(r#"{"id": 3, "name": "Bo", "extra": [1, 2]}"#).unwrap();
        assert_eq!(w.id, 3);
    }

    #[test]
    fn from_json_reports_every_field_at_once() {
        assert_eq!(
            errors::<Note>(
                r#"{"writer": "four", "editor": null, "title": "far too long a title"}"#
            ),
            [
                (
                    "writer",
                    "invalid type: string \"four\", expected i64".to_owned()
                ),
                ("stars", "This field is required.".to_owned()),
                (
                    "title",
                    "at most 10 characters allowed (max_length), it has 20".to_owned()
                ),
            ]
        );
        // Two rules of one field, and a wrong type in another.
        assert_eq!(
            errors::<Note>(r#"{"writer": 1, "editor": null, "title": "  ", "stars": 1.5}"#),
            [
                (
                    "stars",
                    "invalid type: floating point `1.5`, expected i32".to_owned()
                ),
                ("title", "must not be blank".to_owned()),
            ]
        );
        let Err(Error::Validation(e)) =
            from_json::<Note>(r#"{"writer": 1, "editor": null, "title": "", "stars": "x"}"#)
        else {
            panic!("expected a validation error");
        };
        assert_eq!(e.fields(), ["stars", "title"]);
        assert_eq!(
            e.to_string(),
            "Note.stars: invalid type: string \"x\", expected i32; title: must not be blank"
        );
    }

    #[test]
    fn hostile_bodies_are_errors_never_panics() {
        let all = |m: &str| vec![("__all__", m.to_owned())];
        assert_eq!(
            errors::<Note>("[1, 2]"),
            all("expected a JSON object of Note's fields, got a list")
        );
        assert_eq!(
            errors::<Note>("null"),
            all("expected a JSON object of Note's fields, got null")
        );
        let bad = errors::<Note>(r#"{"title": "x""#);
        assert!(bad[0].1.starts_with("invalid JSON: EOF"), "{bad:?}");
        // Deeper than serde_json's recursion limit.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let bad = errors::<Note>(&deep);
        assert!(bad[0].1.contains("recursion limit"), "{bad:?}");
        // A huge string: the max_length rule, not a crash.
        let huge = format!(
            r#"{{"writer": 1, "editor": null, "title": "{}", "stars": 1}}"#,
            "x".repeat(1 << 20)
        );
        assert_eq!(
            errors::<Note>(&huge),
            [(
                "title",
                format!(
                    "at most 10 characters allowed (max_length), it has {}",
                    1 << 20
                )
            )]
        );
        // NUL characters: refused as save() refuses them, naming the field.
        assert_eq!(
            errors::<Writer>(r#"{"name": "a\u0000b"}"#),
            [("name", crate::value::NUL_MESSAGE.to_owned())]
        );
        // Numbers out of range, every type wrong.
        let wrong = errors::<Note>(
            r#"{"id": 99999999999999999999, "writer": [], "editor": {}, "title": 5, "stars": 4294967296}"#,
        );
        let fields: Vec<&str> = wrong.iter().map(|e| e.0).collect();
        assert_eq!(
            fields,
            ["editor", "id", "stars", "title", "writer"],
            "{wrong:?}"
        );
        // Under deny_unknown_fields, every unknown key is reported.
        assert_eq!(
            errors::<Strict>(r#"{"name": "a", "x": 1, "y": 2}"#)
                .into_iter()
                .map(|e| e.0)
                .collect::<Vec<_>>(),
            ["__all__", "__all__"]
        );
        let strict = errors::<Strict>(r#"{"name": "a", "zz": 1}"#);
        assert!(
            strict[0]
                .1
                .starts_with("`zz`: unknown field `zz`, expected"),
            "{strict:?}"
        );
    }
}
