//! JSON fields (`serde_json::Value`, PostgreSQL `jsonb`, Django's
//! `JSONField`): key, index and path transforms ([`JsonPath`]:
//! `data__owner__name`, `data__items__0`), `has_key` / `has_keys` /
//! `has_any_keys` (`?`, `?&`, `?|`), `contains` / `contained_by` (`@>`,
//! `<@`), and the type-level steps `q!` takes for a key after a JSON field.
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # use serde_json::json;
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Dog { #[orm(primary_key)] pub id: i64, pub data: serde_json::Value }
//! # async fn run() -> orm_core::Result<()> {
//! let f = Dog::fields();
//! let dogs = Dog::filter(
//!     f.data.key("owner").key("name").icontains("bo")
//!         & f.data.key("tags").key(0).eq("good")
//!         & f.data.has_key("breed")
//!         & f.data.contains(json!({"breed": "collie"})),
//! )
//! .await?;
//! // The same with q!:
//! let same = Dog::filter(q!(
//!     data__owner__name__icontains = "bo",
//!     data__tags__0 = "good",
//!     data__has_key = "breed",
//!     data__contains = json!({"breed": "collie"}),
//! ))
//! .await?;
//! # Ok(()) }
//! ```
//!
//! As in Django on PostgreSQL:
//! - a key's `exact`, `in`, `gt`/`gte`/`lt`/`lte`, `range`, `contains` and
//!   `contained_by` compare `jsonb` values (`(data -> $1) = $2`, the value
//!   JSON-encoded): `"5"` and `5` differ, and the order is PostgreSQL's
//!   `jsonb` order (null < strings < numbers < booleans < arrays <
//!   objects), so `data__n__gt = 5` also matches `true`;
//! - `iexact`, `icontains`, `startswith`, `istartswith`, `endswith`,
//!   `iendswith`, `regex` and `iregex` compare the text form of the value
//!   (`(data ->> $1)`, Django's `KeyTextTransform`): a JSON string without
//!   its quotes, a number as written;
//! - `data__owner = None` matches a JSON `null` at the key, while
//!   `data__owner__isnull = true` matches rows without the key (or whose
//!   field is SQL NULL); on the field itself `data = None` is the JSON
//!   `null` and `data__isnull = true` SQL NULL;
//! - a name of digits is an array index (`data__items__0`); with the
//!   typed handle, `.key(0)` is an index and `.key("0")` a key.
//!
//! In `q!` every name after a JSON field is a key, and the last name is a
//! lookup when it is one (`data__owner__contains`): a key spelled like a
//! lookup, or like a mistyped one (`icontainz`), needs the typed handle
//! (`f.data.key("contains")`), as do paths of more than five names and
//! keys that are not Rust identifiers. Keys are always bound parameters.

use std::marker::PhantomData;

use crate::field::Field;
use crate::meta::FieldMeta;
use crate::model::{Ch, Model};
use crate::query::q::{Cmp, Like, Node, Op, RelPath, Q};
use crate::sql::tree::JsonKey;
use crate::transform::steps::{LookupEq, LookupIn, LookupOrd, Next};
use crate::transform::Step;
use crate::types::{Arg, FieldType};
use crate::value::Value;

/// JSON fields: `serde_json::Value` and `Option<serde_json::Value>`
/// (PostgreSQL `jsonb`), the fields keys, `has_key` and JSON containment
/// apply to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a JSON field: keys, `has_key`, `has_keys` and `has_any_keys` work on `serde_json::Value` fields",
    label = "JSON lookup on a non-JSON field",
    note = "keys (`data__owner`), has_key, has_keys and has_any_keys apply to serde_json::Value and Option<serde_json::Value> fields"
)]
pub trait JsonField: FieldType {}
impl JsonField for serde_json::Value {}
impl JsonField for Option<serde_json::Value> {}

/// A value compared with a JSON field or key, JSON-encoded: a
/// `serde_json::Value` (`json!(..)`), text, a bool, an integer, a float
/// (NaN and infinities, which JSON lacks, are `null`, as in `serde_json`),
/// `Option` of one (`None` is the JSON `null`) or a `Vec` of them (an
/// array).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a JSON value",
    label = "expected a JSON value",
    note = "JSON values: serde_json::Value (json!(..)), &str, String, bool, integers, f32, f64, Option<_> of one (None is JSON null), Vec<_> of them"
)]
pub trait JsonArg {
    /// The JSON value.
    fn into_json(self) -> serde_json::Value;
}

macro_rules! json_args {
    ($($ty:ty),*) => {$(
        impl JsonArg for $ty {
            fn into_json(self) -> serde_json::Value {
                serde_json::Value::from(self)
            }
        }
    )*};
}
json_args!(
    serde_json::Value,
    &str,
    String,
    bool,
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    f32,
    f64
);

impl JsonArg for &serde_json::Value {
    fn into_json(self) -> serde_json::Value {
        self.clone()
    }
}
impl JsonArg for &String {
    fn into_json(self) -> serde_json::Value {
        serde_json::Value::String(self.clone())
    }
}
impl<A: JsonArg> JsonArg for Option<A> {
    fn into_json(self) -> serde_json::Value {
        self.map_or(serde_json::Value::Null, JsonArg::into_json)
    }
}
impl<A: JsonArg> JsonArg for Vec<A> {
    fn into_json(self) -> serde_json::Value {
        serde_json::Value::Array(self.into_iter().map(JsonArg::into_json).collect())
    }
}

fn json<A: JsonArg>(value: A) -> Value {
    Value::Json(Some(value.into_json()))
}

/// A key or an index of a JSON path, for [`JsonPath::key`] and
/// [`Field::key`]: text is an object key, an `i32` an array index (from
/// the end when negative).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a JSON key",
    label = "expected a key (text) or an array index (i32)"
)]
pub trait IntoJsonKey {
    #[doc(hidden)]
    fn into_key(self) -> JsonKey;
}
impl IntoJsonKey for &str {
    fn into_key(self) -> JsonKey {
        JsonKey::Key(self.to_owned())
    }
}
impl IntoJsonKey for String {
    fn into_key(self) -> JsonKey {
        JsonKey::Key(self)
    }
}
impl IntoJsonKey for &String {
    fn into_key(self) -> JsonKey {
        JsonKey::Key(self.clone())
    }
}
impl IntoJsonKey for i32 {
    fn into_key(self) -> JsonKey {
        JsonKey::Index(self)
    }
}

/// The keys of `has_keys` / `has_any_keys`: a list of texts.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list of keys",
    label = "`has_keys` and `has_any_keys` take a list of keys",
    note = "write a list: `data__has_keys = [\"a\", \"b\"]`; one key is `has_key`"
)]
pub trait KeyList {
    #[doc(hidden)]
    fn into_keys(self) -> Vec<String>;
}
impl<S: AsRef<str>> KeyList for Vec<S> {
    fn into_keys(self) -> Vec<String> {
        self.iter().map(|s| s.as_ref().to_owned()).collect()
    }
}
impl<S: AsRef<str>, const N: usize> KeyList for [S; N] {
    fn into_keys(self) -> Vec<String> {
        self.iter().map(|s| s.as_ref().to_owned()).collect()
    }
}
impl<S: AsRef<str>> KeyList for &[S] {
    fn into_keys(self) -> Vec<String> {
        self.iter().map(|s| s.as_ref().to_owned()).collect()
    }
}

fn has_keys_op(keys: Vec<String>, any: bool) -> Op {
    Op::HasKeys {
        keys,
        any,
        list: true,
    }
}

fn has_key_op(key: impl Into<String>) -> Op {
    Op::HasKeys {
        keys: vec![key.into()],
        any: false,
        list: false,
    }
}

impl<M: Model, T: FieldType> Field<M, T> {
    /// The value at `key` of a JSON field (`data__owner`): a text key
    /// (`"owner"`) or an array index (`0`, from the end when negative).
    /// Chain [`JsonPath::key`] for a path (`data__owner__name`).
    pub fn key<K: IntoJsonKey>(self, key: K) -> JsonPath<M>
    where
        T: JsonField,
    {
        JsonPath {
            field: self.meta(),
            path: self.path,
            index: self.index,
            keys: vec![key.into_key()],
            _marker: PhantomData,
        }
    }

    /// `has_key`: a JSON object holding `key` at its top level (`?`).
    pub fn has_key(self, key: impl Into<String>) -> Q<M>
    where
        T: JsonField,
    {
        self.q(has_key_op(key))
    }

    /// `has_keys`: a JSON object holding every key of `keys` (`?&`).
    pub fn has_keys<K: KeyList>(self, keys: K) -> Q<M>
    where
        T: JsonField,
    {
        self.q(has_keys_op(keys.into_keys(), false))
    }

    /// `has_any_keys`: a JSON object holding at least one key of `keys`
    /// (`?|`).
    pub fn has_any_keys<K: KeyList>(self, keys: K) -> Q<M>
    where
        T: JsonField,
    {
        self.q(has_keys_op(keys.into_keys(), true))
    }
}

impl<V: JsonArg> crate::field::ContainsField<V> for serde_json::Value {
    /// `@>`: the JSON holds `value` (Django's `DataContains`).
    fn contains_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
        field.q(Op::ArrayContains(json(value)))
    }
}
impl<V: JsonArg> crate::field::ContainsField<V> for Option<serde_json::Value> {
    fn contains_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
        field.q(Op::ArrayContains(json(value)))
    }
}
impl<V: JsonArg> crate::ContainedByField<V> for serde_json::Value {
    /// `<@`: the JSON is held by `value`.
    fn contained_by_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
        field.q(Op::ContainedBy(json(value)))
    }
}
impl<V: JsonArg> crate::ContainedByField<V> for Option<serde_json::Value> {
    fn contained_by_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
        field.q(Op::ContainedBy(json(value)))
    }
}

/// A handle on the value at a key path of a JSON field
/// (`Dog::fields().data.key("owner").key("name")`, `data__owner__name` in
/// `q!`), with the lookups Django allows after a key transform. See the
/// [crate docs](crate#postgresql-types) for how each compares.
pub struct JsonPath<M> {
    field: &'static FieldMeta,
    path: RelPath,
    /// The element of an array of JSON values the path starts from.
    index: Option<u32>,
    keys: Vec<JsonKey>,
    _marker: PhantomData<fn() -> M>,
}

impl<M> Clone for JsonPath<M> {
    fn clone(&self) -> Self {
        JsonPath {
            field: self.field,
            path: self.path,
            index: self.index,
            keys: self.keys.clone(),
            _marker: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for JsonPath<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonPath")
            .field("field", &self.field.name)
            .field("keys", &self.keys)
            .finish()
    }
}

impl<M: Model> JsonPath<M> {
    /// One key (text) or array index (`i32`) further:
    /// `data.key("owner").key("name")`.
    #[must_use]
    pub fn key<K: IntoJsonKey>(mut self, key: K) -> Self {
        self.keys.push(key.into_key());
        self
    }

    fn q(self, op: Op) -> Q<M> {
        let op = Op::JsonPath(self.keys, Box::new(op));
        let op = match self.index {
            Some(index) => Op::Index(index, Box::new(op)),
            None => op,
        };
        Q::from_node(Node::leaf_at(self.path, self.field, op))
    }

    fn like<V: Arg<String>>(self, at: Like, ci: bool, value: V) -> Q<M> {
        match value.into_value() {
            Value::Text(Some(text)) => self.q(Op::Like { at, ci, text }),
            // `Arg<String>` only yields text; keep the tree total anyway.
            _ => Q::none(),
        }
    }

    /// `exact`: the value at the path equals `value` as JSON
    /// (`(data -> $1) = $2`); `None` (or `serde_json::Value::Null`) is the
    /// JSON `null`.
    pub fn eq<V: JsonArg>(self, value: V) -> Q<M> {
        self.q(Op::Exact(json(value)))
    }

    /// `in`: equal as JSON to one of `values`. An empty list matches
    /// nothing and sends no query.
    pub fn in_<I, V>(self, values: I) -> Q<M>
    where
        I: IntoIterator<Item = V>,
        V: JsonArg,
    {
        self.q(Op::In(values.into_iter().map(json).collect()))
    }

    /// `gt`: greater than `value` in PostgreSQL's `jsonb` order.
    pub fn gt<V: JsonArg>(self, value: V) -> Q<M> {
        self.q(Op::Cmp(Cmp::Gt, json(value)))
    }

    /// `gte`: greater than or equal to `value` (`jsonb` order).
    pub fn gte<V: JsonArg>(self, value: V) -> Q<M> {
        self.q(Op::Cmp(Cmp::Gte, json(value)))
    }

    /// `lt`: less than `value` (`jsonb` order).
    pub fn lt<V: JsonArg>(self, value: V) -> Q<M> {
        self.q(Op::Cmp(Cmp::Lt, json(value)))
    }

    /// `lte`: less than or equal to `value` (`jsonb` order).
    pub fn lte<V: JsonArg>(self, value: V) -> Q<M> {
        self.q(Op::Cmp(Cmp::Lte, json(value)))
    }

    /// `range`: between `low` and `high`, both included (`jsonb` order).
    pub fn range<V: JsonArg>(self, (low, high): (V, V)) -> Q<M> {
        self.q(Op::Range(json(low), json(high)))
    }

    /// `isnull`: `true` matches rows where the path is missing (or the
    /// field is SQL NULL); a JSON `null` at the key is not missing.
    pub fn is_null(self, is_null: bool) -> Q<M> {
        self.q(Op::IsNull(is_null))
    }

    /// `contains`: the value at the path holds `value` (`@>`, JSON
    /// containment as Django's, not a substring).
    pub fn contains<V: JsonArg>(self, value: V) -> Q<M> {
        self.q(Op::ArrayContains(json(value)))
    }

    /// `contained_by`: the value at the path is held by `value` (`<@`).
    pub fn contained_by<V: JsonArg>(self, value: V) -> Q<M> {
        self.q(Op::ContainedBy(json(value)))
    }

    /// `has_key`: the object at the path holds `key` (`?`).
    pub fn has_key(self, key: impl Into<String>) -> Q<M> {
        self.q(has_key_op(key))
    }

    /// `has_keys`: the object at the path holds every key (`?&`).
    pub fn has_keys<K: KeyList>(self, keys: K) -> Q<M> {
        self.q(has_keys_op(keys.into_keys(), false))
    }

    /// `has_any_keys`: the object at the path holds one of the keys (`?|`).
    pub fn has_any_keys<K: KeyList>(self, keys: K) -> Q<M> {
        self.q(has_keys_op(keys.into_keys(), true))
    }

    /// `iexact`: the text form equals `value` ignoring case
    /// (`UPPER(data ->> $1) = UPPER($2)`).
    pub fn iexact<V: Arg<String>>(self, value: V) -> Q<M> {
        self.q(Op::IExact(value.into_value()))
    }

    /// `icontains`: the text form contains `value`, ignoring case.
    pub fn icontains<V: Arg<String>>(self, value: V) -> Q<M> {
        self.like(Like::Contains, true, value)
    }

    /// `startswith`: the text form starts with `value`.
    pub fn startswith<V: Arg<String>>(self, value: V) -> Q<M> {
        self.like(Like::StartsWith, false, value)
    }

    /// `istartswith`: as `startswith`, ignoring case.
    pub fn istartswith<V: Arg<String>>(self, value: V) -> Q<M> {
        self.like(Like::StartsWith, true, value)
    }

    /// `endswith`: the text form ends with `value`.
    pub fn endswith<V: Arg<String>>(self, value: V) -> Q<M> {
        self.like(Like::EndsWith, false, value)
    }

    /// `iendswith`: as `endswith`, ignoring case.
    pub fn iendswith<V: Arg<String>>(self, value: V) -> Q<M> {
        self.like(Like::EndsWith, true, value)
    }

    /// `regex`: the text form matches `pattern` (PostgreSQL's `~`).
    pub fn regex<V: Arg<String>>(self, pattern: V) -> Q<M> {
        match pattern.into_value() {
            Value::Text(Some(pattern)) => self.q(Op::Regex { ci: false, pattern }),
            _ => Q::none(),
        }
    }

    /// `iregex`: as `regex`, ignoring case (`~*`).
    pub fn iregex<V: Arg<String>>(self, pattern: V) -> Q<M> {
        match pattern.into_value() {
            Value::Text(Some(pattern)) => self.q(Op::Regex { ci: true, pattern }),
            _ => Q::none(),
        }
    }
}

/// A name after a JSON field or key in `q!`: a key (a tuple of [`Ch`])
/// or an array index ([`Idx`](crate::array::Idx)).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this name cannot be a JSON key in `q!`",
    label = "a key of more than 48 characters",
    note = "for a longer key, use the typed handle: `Model::fields().data.key(\"...\")`"
)]
pub trait JsonName {
    /// The key or index.
    fn key() -> JsonKey;
}

impl<const I: u32> JsonName for crate::array::Idx<I> {
    fn key() -> JsonKey {
        // `q!` refuses indexes from 2^31 - 1 on.
        JsonKey::Index(i32::try_from(I).unwrap_or(i32::MAX))
    }
}

macro_rules! json_names {
    ($($c:ident)*) => {
        json_names!(@each [] $($c)*);
    };
    (@each [$($done:ident)*] $next:ident $($rest:ident)*) => {
        impl<$(const $done: char,)* const $next: char> JsonName for ($(Ch<$done>,)* Ch<$next>,) {
            fn key() -> JsonKey {
                JsonKey::Key([$($done,)* $next].iter().collect())
            }
        }
        json_names!(@each [$($done)* $next] $($rest)*);
    };
    (@each [$($done:ident)*]) => {};
}

json_names!(
    C1 C2 C3 C4 C5 C6 C7 C8 C9 C10 C11 C12 C13 C14 C15 C16 C17 C18 C19 C20 C21 C22 C23 C24
    C25 C26 C27 C28 C29 C30 C31 C32 C33 C34 C35 C36 C37 C38 C39 C40 C41 C42 C43 C44 C45 C46
    C47 C48
);

impl<M: Model, N: JsonName> Step<M, N> for serde_json::Value {
    type Out = JsonPath<M>;
    fn step(field: Field<M, Self>) -> Self::Out {
        field.key_of(N::key())
    }
}

impl<M: Model, N: JsonName> Step<M, N> for Option<serde_json::Value> {
    type Out = JsonPath<M>;
    fn step(field: Field<M, Self>) -> Self::Out {
        field.key_of(N::key())
    }
}

impl<M: Model, T: JsonField> Field<M, T> {
    fn key_of(self, key: JsonKey) -> JsonPath<M> {
        JsonPath {
            field: self.meta(),
            path: self.path,
            index: self.index,
            keys: vec![key],
            _marker: PhantomData,
        }
    }
}

impl<M: Model, N: JsonName> Next<M, N> for JsonPath<M> {
    type Out = JsonPath<M>;
    fn next(mut self) -> Self::Out {
        self.keys.push(N::key());
        self
    }
}

impl<M: Model, A: JsonArg> LookupEq<M, A> for JsonPath<M> {
    fn eq(self, value: A) -> Q<M> {
        JsonPath::eq(self, value)
    }
}

impl<M: Model, I: IntoIterator<Item = A>, A: JsonArg> LookupIn<M, I> for JsonPath<M> {
    fn in_(self, values: I) -> Q<M> {
        JsonPath::in_(self, values)
    }
}

impl<M: Model, A: JsonArg> LookupOrd<M, A> for JsonPath<M> {
    fn gt(self, value: A) -> Q<M> {
        JsonPath::gt(self, value)
    }
    fn gte(self, value: A) -> Q<M> {
        JsonPath::gte(self, value)
    }
    fn lt(self, value: A) -> Q<M> {
        JsonPath::lt(self, value)
    }
    fn lte(self, value: A) -> Q<M> {
        JsonPath::lte(self, value)
    }
    fn range(self, bounds: (A, A)) -> Q<M> {
        JsonPath::range(self, bounds)
    }
}

/// The `q!` steps of JSON lookups (`steps::has_key`, ...), and the impls
/// that let the shared steps (`steps::icontains`, `steps::contains`,
/// `steps::is_null`, `= None`) take a [`JsonPath`].
#[doc(hidden)]
pub mod steps {
    use super::{JsonArg, JsonField, JsonPath, KeyList};
    use crate::field::Field;
    use crate::model::Model;
    use crate::query::q::Q;
    use crate::transform::steps::{
        At, ContainedByLookup, ContainsLookup, NullLookups, StartsEndsLookup, TextLookups,
    };
    use crate::types::Arg;

    /// `has_key`, `has_keys` and `has_any_keys`: on a JSON field or key.
    #[diagnostic::on_unimplemented(
        message = "`has_key`, `has_keys` and `has_any_keys` work on JSON fields and keys",
        label = "not a JSON field or key"
    )]
    pub trait KeyLookups<M> {
        /// `has_key`.
        fn has_key(self, key: String) -> Q<M>;
        /// `has_keys` (`any: false`) or `has_any_keys`.
        fn has_keys(self, keys: Vec<String>, any: bool) -> Q<M>;
    }
    impl<M: Model, T: JsonField> KeyLookups<M> for Field<M, T> {
        fn has_key(self, key: String) -> Q<M> {
            Field::has_key(self, key)
        }
        fn has_keys(self, keys: Vec<String>, any: bool) -> Q<M> {
            let field = self;
            if any {
                field.has_any_keys(keys)
            } else {
                field.has_keys(keys)
            }
        }
    }
    impl<M: Model> KeyLookups<M> for JsonPath<M> {
        fn has_key(self, key: String) -> Q<M> {
            JsonPath::has_key(self, key)
        }
        fn has_keys(self, keys: Vec<String>, any: bool) -> Q<M> {
            if any {
                JsonPath::has_any_keys(self, keys)
            } else {
                JsonPath::has_keys(self, keys)
            }
        }
    }

    /// `has_key`.
    pub fn has_key<M, H: KeyLookups<M>>(handle: At<M, H>, key: impl Into<String>) -> Q<M> {
        handle.into_inner().has_key(key.into())
    }

    /// `has_keys`.
    pub fn has_keys<M, H: KeyLookups<M>, K: KeyList>(handle: At<M, H>, keys: K) -> Q<M> {
        handle.into_inner().has_keys(keys.into_keys(), false)
    }

    /// `has_any_keys`.
    pub fn has_any_keys<M, H: KeyLookups<M>, K: KeyList>(handle: At<M, H>, keys: K) -> Q<M> {
        handle.into_inner().has_keys(keys.into_keys(), true)
    }

    impl<M: Model, A: Arg<String>> StartsEndsLookup<M, A> for JsonPath<M> {
        fn startswith(self, value: A) -> Q<M> {
            JsonPath::startswith(self, value)
        }
        fn endswith(self, value: A) -> Q<M> {
            JsonPath::endswith(self, value)
        }
    }

    impl<M: Model> TextLookups<M> for JsonPath<M> {
        fn iexact<A: Arg<String>>(self, value: A) -> Q<M> {
            JsonPath::iexact(self, value)
        }
        fn icontains<A: Arg<String>>(self, value: A) -> Q<M> {
            JsonPath::icontains(self, value)
        }
        fn istartswith<A: Arg<String>>(self, value: A) -> Q<M> {
            JsonPath::istartswith(self, value)
        }
        fn iendswith<A: Arg<String>>(self, value: A) -> Q<M> {
            JsonPath::iendswith(self, value)
        }
        fn regex<A: Arg<String>>(self, value: A) -> Q<M> {
            JsonPath::regex(self, value)
        }
        fn iregex<A: Arg<String>>(self, value: A) -> Q<M> {
            JsonPath::iregex(self, value)
        }
    }

    impl<M: Model, A: JsonArg> ContainsLookup<M, A> for JsonPath<M> {
        fn contains(self, value: A) -> Q<M> {
            JsonPath::contains(self, value)
        }
    }

    impl<M: Model, A: JsonArg> ContainedByLookup<M, A> for JsonPath<M> {
        fn contained_by(self, value: A) -> Q<M> {
            JsonPath::contained_by(self, value)
        }
    }

    impl<M: Model> NullLookups<M> for JsonPath<M> {
        fn isnull(self, is_null: bool) -> Q<M> {
            JsonPath::is_null(self, is_null)
        }
        /// `data__owner = None`: the JSON `null` at the key (Django).
        fn eq_none(self) -> Q<M> {
            JsonPath::eq(self, serde_json::Value::Null)
        }
    }
}
