//! The runtime form of a lookup, for filters built from user input (the
//! query string of a web API), checked against the model's metadata.
//!
//! Input from users goes through a [`LookupPolicy`]: an allow-list of the
//! fields and lookups a client may filter on (as django-filter's
//! `Meta.fields = {"name": ["exact", "icontains"]}`), with limits on the
//! size of values. Anything else is refused before a query is built, with
//! an error naming the parameter and listing what is allowed:
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # use orm_core::query::LookupPolicy;
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct User {
//! #     #[orm(primary_key)] pub id: i64,
//! #     pub name: String,
//! #     pub karma: i32,
//! # }
//! # async fn run() -> orm_core::Result<()> {
//! // Built once, e.g. in a static.
//! let policy = LookupPolicy::new()
//!     .allow("name", &["exact", "icontains", "regex"])
//!     .allow("karma", &["gte", "lte", "in"])
//!     .max_regex_len(200);
//! // GET /users?karma__gte=10&name__icontains=gem
//! let query_pairs = [("karma__gte", "10"), ("name__icontains", "gem")];
//! let mut q = Q::all();
//! for (key, value) in query_pairs {
//!     // `email__isnull`, `name__iregex`, a regex of 201 characters or an
//!     // `in` list of 1,001 items are errors, not queries.
//!     q = q & Lookup::parse_with::<User>(&policy, key, value)?;
//! }
//! let users = User::filter(q).await?;
//! # Ok(()) }
//! ```
//!
//! [`Lookup::parse`] allows every field and lookup of the model (its keys
//! come from the application, not from users) but keeps the default limits
//! of [`LookupPolicy::any`]: [`DEFAULT_MAX_REGEX_LEN`] characters for a
//! `regex`/`iregex` pattern (a pattern is run by the server, and a long one
//! can keep a backend busy for minutes), [`DEFAULT_MAX_VALUE_LEN`]
//! characters for any other value, [`DEFAULT_MAX_IN_ITEMS`] items for `in`.
//!
//! Paths given at run time anywhere in the query API (lookup keys,
//! `select_related`, `prefetch_related`, aggregate and `F()` paths) are
//! checked in time linear in their length before anything is built from
//! them: at most [`MAX_NAME_LEN`] bytes and [`MAX_RELATIONS`] relations.

use orm_names::{FieldKind, Lookup as Kind, Operand, Transform, TransformOn, TransformOutput};

use crate::error::{Error, Result};
use crate::meta::{FieldMeta, ModelMeta};
use crate::model::Model;
use crate::query::q::{Cmp, Like, Node, Op, RelPath, MAX_DEPTH, Q};
use crate::sql::tree::JsonKey;
use crate::types::SqlType;
use crate::value::{Value, NUL_MESSAGE};

pub(crate) use crate::meta::{check_len, relation_names, shown, too_deep};
pub use crate::meta::{MAX_NAME_LEN, MAX_RELATIONS};

/// The longest `regex`/`iregex` pattern a runtime filter takes by default,
/// in characters.
pub const DEFAULT_MAX_REGEX_LEN: usize = 1_000;

/// The longest value of any other runtime filter by default, in
/// characters (each item of an `in` list, each bound of a `range`).
pub const DEFAULT_MAX_VALUE_LEN: usize = 10_000;

/// The most items of a runtime `in` filter by default.
pub const DEFAULT_MAX_IN_ITEMS: usize = 1_000;

/// Which runtime filters input from users may use, and how large their
/// values may be, for [`Lookup::parse_with`]:
///
/// ```
/// # use orm_core::prelude::*;
/// # use orm_core::query::LookupPolicy;
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct User {
/// #     #[orm(primary_key)] pub id: i64,
/// #     pub name: String,
/// #     pub email: Option<String>,
/// # }
/// let policy = LookupPolicy::new()
///     .allow("name", &["exact", "icontains"])
///     .max_value_len(100);
/// assert!(Lookup::parse_with::<User>(&policy, "name__icontains", "gem").is_ok());
/// let err = Lookup::parse_with::<User>(&policy, "email__isnull", "true").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "User has no filter `email__isnull`; valid filters: name, name__icontains"
/// );
/// assert!(Lookup::parse_with::<User>(&policy, "name", &"x".repeat(101)).is_err());
/// ```
///
/// [`new`](LookupPolicy::new) starts an allow-list (as django-filter's
/// `Meta.fields`): only the `field`/lookup pairs given to
/// [`allow`](LookupPolicy::allow) pass. [`any`](LookupPolicy::any) allows
/// every field and lookup, with the limits only (what [`Lookup::parse`]
/// uses). The limits are in characters and default to
/// [`DEFAULT_MAX_VALUE_LEN`], [`DEFAULT_MAX_REGEX_LEN`] and
/// [`DEFAULT_MAX_IN_ITEMS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupPolicy {
    /// `None`: every field and lookup; else each allowed field path with
    /// its lookups.
    allowed: Option<Vec<(String, Vec<String>)>>,
    max_value_len: usize,
    max_regex_len: usize,
    max_in_items: usize,
}

impl Default for LookupPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl LookupPolicy {
    /// An allow-list that allows nothing yet: add fields with
    /// [`allow`](LookupPolicy::allow).
    pub const fn new() -> Self {
        LookupPolicy {
            allowed: Some(Vec::new()),
            max_value_len: DEFAULT_MAX_VALUE_LEN,
            max_regex_len: DEFAULT_MAX_REGEX_LEN,
            max_in_items: DEFAULT_MAX_IN_ITEMS,
        }
    }

    /// Every field and lookup of the model, with the default limits.
    pub const fn any() -> Self {
        LookupPolicy {
            allowed: None,
            max_value_len: DEFAULT_MAX_VALUE_LEN,
            max_regex_len: DEFAULT_MAX_REGEX_LEN,
            max_in_items: DEFAULT_MAX_IN_ITEMS,
        }
    }

    /// Allows `lookups` (`"exact"`, `"icontains"`, ...) on `field`, a field
    /// name or a path across relations (`"author__name"`). `"exact"` also
    /// allows the bare key (`name=..`). On a policy from
    /// [`any`](LookupPolicy::any), this starts an allow-list.
    #[must_use]
    pub fn allow(mut self, field: &str, lookups: &[&str]) -> Self {
        let allowed = self.allowed.get_or_insert_with(Vec::new);
        let at = match allowed.iter().position(|(f, _)| f == field) {
            Some(at) => at,
            None => {
                allowed.push((field.to_owned(), Vec::new()));
                allowed.len() - 1
            }
        };
        let list = &mut allowed[at].1;
        for lookup in lookups {
            if !list.iter().any(|l| l == lookup) {
                list.push((*lookup).to_owned());
            }
        }
        self
    }

    /// The longest value of a lookup other than `regex`/`iregex`, in
    /// characters (each item of an `in` list, each bound of a `range`).
    #[must_use]
    pub fn max_value_len(mut self, chars: usize) -> Self {
        self.max_value_len = chars;
        self
    }

    /// The longest `regex`/`iregex` pattern, in characters.
    #[must_use]
    pub fn max_regex_len(mut self, chars: usize) -> Self {
        self.max_regex_len = chars;
        self
    }

    /// The most items of an `in` list.
    #[must_use]
    pub fn max_in_items(mut self, items: usize) -> Self {
        self.max_in_items = items;
        self
    }

    /// This policy's allow-list with `other`'s limits.
    pub(crate) fn with_limits_of(self, other: &LookupPolicy) -> LookupPolicy {
        LookupPolicy {
            allowed: self.allowed,
            ..other.clone()
        }
    }

    /// Every field and lookup, with this policy's limits.
    pub(crate) fn any_field(&self) -> LookupPolicy {
        LookupPolicy {
            allowed: None,
            ..self.clone()
        }
    }

    /// The keys allowed for `field` (every allowed field when `None`):
    /// `name` for `exact`, `name__icontains`...
    fn allowed_keys(&self, field: Option<&str>) -> Vec<String> {
        let Some(allowed) = &self.allowed else {
            return Vec::new();
        };
        let mut keys = Vec::new();
        for (f, lookups) in allowed {
            if field.is_some_and(|only| only != f) {
                continue;
            }
            for lookup in lookups {
                keys.push(if lookup == Kind::Exact.name() {
                    f.clone()
                } else {
                    format!("{f}__{lookup}")
                });
            }
        }
        keys
    }

    /// Refuses a key the allow-list does not name, before it is resolved.
    fn check_key(&self, meta: &ModelMeta, key: &str) -> Result<()> {
        let Some(allowed) = &self.allowed else {
            return Ok(());
        };
        let (field, lookup) = split_key(key);
        let listed = allowed.iter().find(|(f, _)| f == field);
        if listed.is_some_and(|(_, lookups)| lookups.iter().any(|l| l == lookup.name())) {
            return Ok(());
        }
        Err(Error::from(crate::error::LookupError {
            model: meta.name,
            what: "filter",
            name: shown(key),
            valid: self.allowed_keys(listed.map(|(f, _)| f.as_str())),
        }))
    }

    /// Checks one text operand: no NUL, at most the lookup's length.
    fn check_text(
        &self,
        model: &'static str,
        field: &FieldMeta,
        key: &str,
        lookup: Kind,
        text: &str,
    ) -> Result<()> {
        let max = if lookup.operand() == Operand::Pattern {
            self.max_regex_len
        } else {
            self.max_value_len
        };
        // Bytes bound characters from above: the count is only taken (up
        // to `max`) for a long text.
        let reason = if text.len() > max && text.chars().nth(max).is_some() {
            format!(
                "`{}`: the value is longer than {max} characters",
                shown(key)
            )
        } else if crate::value::has_nul_byte(text.as_bytes()) {
            format!("`{}`: {NUL_MESSAGE}", shown(key))
        } else {
            return Ok(());
        };
        Err(Error::from(crate::error::ValueError {
            model,
            field: field.name,
            reason,
        }))
    }

    /// Refuses an `in` list of more than the allowed items.
    fn check_items(
        &self,
        model: &'static str,
        field: &FieldMeta,
        key: &str,
        more: bool,
    ) -> Result<()> {
        if !more {
            return Ok(());
        }
        Err(Error::from(crate::error::ValueError {
            model,
            field: field.name,
            reason: format!(
                "`{}`: more than {} items in the list",
                shown(key),
                self.max_in_items
            ),
        }))
    }

    /// Checks a typed operand (and each item of an array).
    fn check_value(
        &self,
        model: &'static str,
        field: &FieldMeta,
        key: &str,
        lookup: Kind,
        value: &Value,
    ) -> Result<()> {
        match value {
            Value::Text(Some(text)) => self.check_text(model, field, key, lookup, text),
            Value::Array(items) => {
                if lookup.operand() == Operand::List {
                    self.check_items(model, field, key, items.len() > self.max_in_items)?;
                }
                items
                    .iter()
                    .try_for_each(|v| self.check_value(model, field, key, lookup, v))
            }
            _ => Ok(()),
        }
    }
}

/// `name__icontains` -> (`name`, `icontains`); `name` -> (`name`, `exact`),
/// as [`Lookup`] reads a key.
fn split_key(key: &str) -> (&str, Kind) {
    match Kind::split(key) {
        (field, Some(lookup)) if !field.is_empty() => (field, lookup),
        _ => (key, Kind::Exact),
    }
}

/// Builds a [`Q`] from a Django-style key (`"karma__gte"`) and a value known
/// only at run time.
///
/// ```no_run
/// # use orm_core::prelude::*;
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct User {
/// #     #[orm(primary_key)] pub id: i64,
/// #     pub name: String,
/// #     pub email: Option<String>,
/// #     pub karma: i32,
/// # }
/// # async fn run() -> orm_core::Result<()> {
/// // GET /users?karma__gte=10&name__icontains=gem
/// let query_pairs = [("karma__gte", "10"), ("name__icontains", "gem")];
/// let mut q = Q::all();
/// for (key, value) in query_pairs {
///     q = q & Lookup::parse::<User>(key, value)?;
/// }
/// let users = User::filter(q).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Lookup;

/// True when `lookup` applies to `field` (the table's [`FieldKind`]).
fn applies(lookup: Kind, field: &FieldMeta) -> bool {
    applies_to_type(lookup, field.sql_type)
}

/// True when `lookup` applies to a value of type `ty`.
fn applies_to_type(lookup: Kind, ty: SqlType) -> bool {
    if let Some(applies) = crate::range::runtime::range_applies(lookup, ty) {
        return applies;
    }
    if ty == SqlType::Jsonb {
        return json_applies(lookup, false);
    }
    match lookup.applies_to() {
        FieldKind::Json => false,
        FieldKind::Any => true,
        FieldKind::Text => matches!(ty, SqlType::Text | SqlType::CiText),
        FieldKind::Ordered => ty.is_ordered(),
        FieldKind::Array => matches!(ty, SqlType::Array(_)),
        FieldKind::TextOrArray => {
            matches!(ty, SqlType::Text | SqlType::Array(_) | SqlType::CiText)
        }
        FieldKind::Range => matches!(ty, SqlType::Range(_)),
    }
}

/// True when `lookup` applies to a JSON field (`at_key: false`: Django's
/// `JSONField` lookups) or after a key of one (`at_key: true`: those of
/// its `KeyTransform`, the text lookups on the key's text form).
fn json_applies(lookup: Kind, at_key: bool) -> bool {
    match lookup.applies_to() {
        FieldKind::Json => true,
        _ if matches!(
            lookup,
            Kind::Exact | Kind::In | Kind::IsNull | Kind::Contains | Kind::ContainedBy
        ) =>
        {
            true
        }
        FieldKind::Text | FieldKind::Ordered => at_key,
        _ => false,
    }
}

/// The most keys of a JSON path in a runtime lookup (`data__a__b__c`).
pub const MAX_JSON_KEYS: usize = 32;

/// A JSON path's keys from a runtime key's names: a name of digits (with
/// an optional `-`) is an array index, as in Django.
fn json_keys(
    model: &'static str,
    field: &'static FieldMeta,
    key: &str,
    names: &[&str],
) -> Result<Vec<JsonKey>> {
    let bad = |reason: String| {
        Err(Error::from(crate::error::ValueError {
            model,
            field: field.name,
            reason,
        }))
    };
    if names.len() > MAX_JSON_KEYS {
        return bad(format!(
            "`{}`: a JSON path of more than {MAX_JSON_KEYS} keys",
            shown(key)
        ));
    }
    let mut keys = Vec::with_capacity(names.len());
    for name in names {
        if name.is_empty() {
            return bad(format!(
                "`{}`: an empty JSON key (names are separated by `__`)",
                shown(key)
            ));
        }
        if crate::value::has_nul_byte(name.as_bytes()) {
            return bad(format!("`{}`: {NUL_MESSAGE}", shown(key)));
        }
        let digits = name.strip_prefix('-').unwrap_or(name);
        let index = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| name.parse::<i32>().ok())
            .flatten();
        keys.push(match index {
            Some(index) => JsonKey::Index(index),
            None => JsonKey::Key((*name).to_owned()),
        });
    }
    Ok(keys)
}

/// A JSON value from the text of a runtime filter: the text decoded as
/// JSON where it is JSON (`5`, `true`, `null`, `"5"`, `{"a": 1}`), else
/// the text as a JSON string (`Bob`).
fn json_of_text(text: &str) -> Value {
    Value::Json(Some(
        serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned())),
    ))
}

/// The error for `key`, whose lookup does not apply: the valid ones are
/// the lookups `valid` keeps, in the table's order.
fn no_lookup(meta: &ModelMeta, key: &str, valid: impl Fn(Kind) -> bool) -> Error {
    Error::from(crate::error::LookupError {
        model: meta.name,
        what: "lookup",
        name: shown(key),
        valid: Kind::ALL
            .iter()
            .filter(|l| valid(**l))
            .map(|l| l.name().to_owned())
            .collect(),
    })
}

/// True when `transform` applies to `field` (as Django: the date parts to
/// dates and date-times, `date`/`time` to date-times, the time parts to
/// times and date-times).
fn transform_applies(transform: Transform, field: &FieldMeta) -> bool {
    transform_applies_to_type(transform, field.sql_type)
}

/// True when `transform` applies to a value of type `ty`.
fn transform_applies_to_type(transform: Transform, ty: SqlType) -> bool {
    matches!(
        (transform.applies_to(), ty),
        (
            TransformOn::Date | TransformOn::DateTime | TransformOn::Time,
            SqlType::Timestamp | SqlType::TimestampTz
        ) | (TransformOn::Date, SqlType::Date)
            | (TransformOn::Time, SqlType::Time)
            | (TransformOn::Array, SqlType::Array(_))
            | (TransformOn::Text, SqlType::Text | SqlType::CiText)
    )
}

/// The type of the values a transform's lookups compare.
fn output_type(transform: Transform) -> SqlType {
    match transform.output() {
        TransformOutput::Int => SqlType::Integer,
        TransformOutput::Date => SqlType::Date,
        TransformOutput::Time => SqlType::Time,
        TransformOutput::Text => SqlType::Text,
    }
}

/// The lookups, then the transforms, that apply to `field`, in the
/// tables' order, for error messages.
fn valid_lookups(field: &FieldMeta) -> Vec<String> {
    Kind::ALL
        .iter()
        .filter(|l| applies(**l, field))
        .map(|l| l.name().to_owned())
        .chain(
            Transform::ALL
                .iter()
                .filter(|t| transform_applies(**t, field))
                .map(|t| t.name().to_owned()),
        )
        .collect()
}

/// A key resolved against the model: the relations crossed, the field,
/// the element of an array field (`tags__0`), the transforms applied to
/// it in order (`created__date__year`), the lookup.
struct Resolved {
    path: RelPath,
    field: &'static FieldMeta,
    index: Option<u32>,
    transforms: Vec<Transform>,
    /// The key path of a JSON field (`data__owner__name`).
    json: Option<Vec<JsonKey>>,
    lookup: Kind,
    /// A range field's bound (`span__startswith__gte`): true for the
    /// upper one.
    end: Option<bool>,
}

impl Resolved {
    /// The type of the values the lookup compares: the last transform's
    /// output, else the array element's, else the field's.
    /// On a JSON field: text for the keys of `has_key` and for the text
    /// lookups after a key, else JSON.
    fn value_type(&self) -> SqlType {
        self.value_type_of(None)
    }

    /// The type of the compared value before the lookup: the last
    /// transform's output, or the element of a range's bound
    /// (`span__startswith__gte`), else the field's.
    fn compared_type(&self) -> SqlType {
        match (self.transforms.last(), self.end, self.field.sql_type) {
            (Some(transform), _, _) => output_type(*transform),
            (None, Some(_), SqlType::Range(kind)) => kind.element(),
            (None, _, ty) => ty,
        }
    }

    /// As [`value_type`](Self::value_type), for the value's `text` when
    /// known: `contains` on a range takes an element or a range literal,
    /// `contained_by` on a scalar (also a transformed one:
    /// `created__year__contained_by`) a range.
    fn value_type_of(&self, text: Option<&str>) -> SqlType {
        if self.field.sql_type == SqlType::Jsonb && self.index.is_none() {
            let text = matches!(self.lookup.applies_to(), FieldKind::Json | FieldKind::Text)
                && self.lookup != Kind::Contains;
            return if text { SqlType::Text } else { SqlType::Jsonb };
        }
        match (self.transforms.is_empty(), self.index, self.field.sql_type) {
            (true, Some(_), SqlType::Array(element)) => *element,
            _ => {
                let ty = self.compared_type();
                crate::range::runtime::range_value_type(self.lookup, ty, text).unwrap_or(ty)
            }
        }
    }
}

/// An array index in a key (`0` in `tags__0`): digits only, as Django's
/// `IndexTransform` (a name of digits), below 2^31 so it fits PostgreSQL's
/// `integer` subscripts once 1 is added.
fn array_index(name: &str) -> Option<u32> {
    if name.is_empty() || name.len() > 10 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse::<u32>().ok().filter(|i| *i < i32::MAX as u32)
}

/// A lookup's value, parsed or checked into the shape of its
/// [`Operand`].
#[derive(Debug)]
enum Arg {
    /// [`Operand::One`] and [`Operand::Pattern`].
    One(Value),
    List(Vec<Value>),
    Pair(Value, Value),
    Bool(bool),
}

impl Arg {
    fn one(self) -> Option<Value> {
        match self {
            Arg::One(v) => Some(v),
            _ => None,
        }
    }

    /// The text of a text lookup's value.
    fn text(self) -> Option<String> {
        self.one().map(|v| match v {
            Value::Text(Some(s)) => s,
            other => other.to_string(),
        })
    }

    fn list(self) -> Option<Vec<Value>> {
        match self {
            Arg::List(items) => Some(items),
            _ => None,
        }
    }

    fn pair(self) -> Option<(Value, Value)> {
        match self {
            Arg::Pair(low, high) => Some((low, high)),
            _ => None,
        }
    }

    fn flag(self) -> Option<bool> {
        match self {
            Arg::Bool(b) => Some(b),
            _ => None,
        }
    }
}

/// The condition `lookup` makes of `arg`: one arm per lookup of the table.
/// `None` when `arg` is not in the shape of the lookup's operand, which
/// [`Lookup::parse_with`] and [`Lookup::value_with`] make sure it is.
fn op_of(lookup: Kind, arg: Arg) -> Option<Op> {
    let like = |at, ci, arg: Arg| arg.text().map(|text| Op::Like { at, ci, text });
    let regex = |ci, arg: Arg| arg.text().map(|pattern| Op::Regex { ci, pattern });
    Some(match lookup {
        Kind::Exact => Op::Exact(arg.one()?),
        Kind::IExact => Op::IExact(arg.one()?),
        // An array value: `contains` on an array field (the value was
        // checked against the field's type).
        Kind::Contains => match arg {
            Arg::One(v @ (Value::Array(_) | Value::Json(_))) => Op::ArrayContains(v),
            arg => like(Like::Contains, false, arg)?,
        },
        Kind::IContains => like(Like::Contains, true, arg)?,
        Kind::StartsWith => like(Like::StartsWith, false, arg)?,
        Kind::IStartsWith => like(Like::StartsWith, true, arg)?,
        Kind::EndsWith => like(Like::EndsWith, false, arg)?,
        Kind::IEndsWith => like(Like::EndsWith, true, arg)?,
        Kind::In => Op::In(arg.list()?),
        Kind::Gt => Op::Cmp(Cmp::Gt, arg.one()?),
        Kind::Gte => Op::Cmp(Cmp::Gte, arg.one()?),
        Kind::Lt => Op::Cmp(Cmp::Lt, arg.one()?),
        Kind::Lte => Op::Cmp(Cmp::Lte, arg.one()?),
        Kind::Range => {
            let (low, high) = arg.pair()?;
            Op::Range(low, high)
        }
        Kind::IsNull => Op::IsNull(arg.flag()?),
        Kind::Regex => regex(false, arg)?,
        Kind::IRegex => regex(true, arg)?,
        Kind::ContainedBy => Op::ContainedBy(arg.one()?),
        Kind::Overlap => Op::Overlap(arg.one()?),
        Kind::FullyLt | Kind::FullyGt | Kind::NotLt | Kind::NotGt | Kind::AdjacentTo => {
            crate::range::runtime::range_only_op(lookup, arg.one(), None)?
        }
        Kind::IsEmpty | Kind::LowerInc | Kind::LowerInf | Kind::UpperInc | Kind::UpperInf => {
            crate::range::runtime::range_only_op(lookup, None, arg.flag())?
        }
        Kind::HasKey => Op::HasKeys {
            keys: vec![arg.text()?],
            any: false,
            list: false,
        },
        Kind::HasKeys | Kind::HasAnyKeys => Op::HasKeys {
            keys: arg
                .list()?
                .into_iter()
                .map(|v| match v {
                    Value::Text(Some(s)) => s,
                    other => other.to_string(),
                })
                .collect(),
            any: lookup == Kind::HasAnyKeys,
            list: true,
        },
        // A plain query of the text (Django's `search` lookup).
        Kind::Search => Op::Search(Box::new(crate::search::SearchQuery(arg.text()?))),
    })
}

impl Lookup {
    /// Parses `key` (`field` or `field__lookup`) and the text form of the
    /// value: numbers, `true`/`false`, ISO dates, RFC 3339 timestamps, UUIDs,
    /// JSON; comma-separated for `in` and `range`. A date or time transform
    /// may come before the lookup, as in `q!` (`created__year__gte` with
    /// `2020`, `created__date` with `2021-12-31`), read in the
    /// [active time zone](crate::timezone) when the query runs; after a
    /// relation a name is the related model's field (`event__date`); after
    /// a JSON field every name is a key or, when it is digits, an array
    /// index (`data__owner__name`, `data__items__0`, at most
    /// [`MAX_JSON_KEYS`]), and its value is decoded as JSON where it is
    /// JSON (`5`, `"5"`, `null`, `{"a": 1}`), else taken as a JSON string
    /// (`Bob`); `has_key` takes the text as it is. Every field and lookup
    /// of the model is allowed, within the default limits of
    /// [`LookupPolicy::any`]; for keys that come from users, use
    /// [`parse_with`](Lookup::parse_with) and an allow-list.
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] naming the model, the bad field or lookup and
    /// the valid ones; [`Error::InvalidValue`] for a value of the wrong form,
    /// over the limits, or holding a NUL character.
    pub fn parse<M: Model>(key: &str, value: &str) -> Result<Q<M>> {
        Self::parse_with(&LookupPolicy::any(), key, value)
    }

    /// As [`parse`](Lookup::parse), allowing only what `policy` allows,
    /// within its limits: for filters whose keys and values come from users.
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] for a key the policy does not allow (naming
    /// it and listing the allowed keys) or the model does not have;
    /// [`Error::InvalidValue`] for a value of the wrong form, over the
    /// policy's limits, or holding a NUL character. The value is checked
    /// before it is parsed.
    pub fn parse_with<M: Model>(policy: &LookupPolicy, key: &str, value: &str) -> Result<Q<M>> {
        policy.check_key(M::META, key)?;
        let resolved = Self::resolve::<M>(key)?;
        let (field, lookup, value_type) = (
            resolved.field,
            resolved.lookup,
            resolved.value_type_of(Some(value)),
        );
        let model = M::META.name;
        if lookup.operand() == Operand::List {
            // Counted before it is split into a list.
            let more = value.split(',').nth(policy.max_in_items).is_some();
            policy.check_items(model, field, key, more)?;
            for item in value.split(',') {
                policy.check_text(model, field, key, lookup, item)?;
            }
        } else {
            policy.check_text(model, field, key, lookup, value)?;
        }
        let bad = |reason: String| {
            Error::from(crate::error::ValueError {
                model,
                field: field.name,
                reason,
            })
        };
        let one = |text: &str| {
            if value_type == SqlType::Jsonb {
                Ok(json_of_text(text))
            } else {
                value_type.parse(text).map_err(bad)
            }
        };
        let arg = match lookup.operand() {
            Operand::Bool => Arg::Bool(match SqlType::Bool.parse(value).map_err(bad)? {
                Value::Bool(Some(b)) => b,
                _ => true,
            }),
            Operand::List => Arg::List(if value.is_empty() {
                Vec::new()
            } else {
                value.split(',').map(one).collect::<Result<Vec<_>>>()?
            }),
            Operand::Pair => {
                let parts: Vec<&str> = value.split(',').collect();
                let [low, high] = parts.as_slice() else {
                    return Err(bad(format!(
                        "{lookup} takes two comma-separated values, got `{value}`"
                    )));
                };
                Arg::Pair(one(low)?, one(high)?)
            }
            Operand::One | Operand::Pattern => Arg::One(one(value)?),
        };
        Self::build(model, resolved, arg)
    }

    /// As [`parse`](Lookup::parse), with an already typed value (a
    /// [`Value::Array`] for `in`, a two-element array for `range`, a
    /// [`Value::Bool`] for `isnull`; a NULL for `exact` means IS NULL).
    ///
    /// # Errors
    /// As [`parse`](Lookup::parse); [`Error::InvalidValue`] when the value's
    /// type is not the field's.
    pub fn value<M: Model>(key: &str, value: Value) -> Result<Q<M>> {
        Self::value_with(&LookupPolicy::any(), key, value)
    }

    /// As [`value`](Lookup::value), allowing only what `policy` allows,
    /// within its limits.
    ///
    /// # Errors
    /// As [`parse_with`](Lookup::parse_with); [`Error::InvalidValue`] when
    /// the value's type is not the field's.
    pub fn value_with<M: Model>(policy: &LookupPolicy, key: &str, value: Value) -> Result<Q<M>> {
        policy.check_key(M::META, key)?;
        let resolved = Self::resolve::<M>(key)?;
        let (field, lookup, value_type) = (resolved.field, resolved.lookup, resolved.value_type());
        policy.check_value(M::META.name, field, key, lookup, &value)?;
        let bad = |reason: String| {
            Error::from(crate::error::ValueError {
                model: M::META.name,
                field: field.name,
                reason,
            })
        };
        // `contains` on a range: an element, or a range of the field's type.
        let range_too = resolved.index.is_none()
            && resolved.transforms.is_empty()
            && lookup == Kind::Contains
            && matches!(resolved.compared_type(), SqlType::Range(_));
        let check = |v: Value| {
            if value_type.matches(&v) || (range_too && resolved.compared_type().matches(&v)) {
                Ok(v)
            } else {
                Err(bad(format!(
                    "expected a value of type {}, got {v:?}",
                    value_type.name()
                )))
            }
        };
        let arg = match (lookup.operand(), value) {
            (Operand::Bool, Value::Bool(Some(b))) => Arg::Bool(b),
            (Operand::Bool, v) => {
                return Err(bad(format!("{lookup} takes a boolean, got {v:?}")));
            }
            (Operand::List, Value::Array(items)) => {
                Arg::List(items.into_iter().map(check).collect::<Result<_>>()?)
            }
            (Operand::List, v) => {
                return Err(bad(format!("{lookup} takes an array value, got {v:?}")));
            }
            (Operand::Pair, Value::Array(items)) if items.len() == 2 => {
                let mut it = items.into_iter().map(check);
                match (it.next(), it.next()) {
                    (Some(low), Some(high)) => Arg::Pair(low?, high?),
                    _ => return Err(bad(format!("{lookup} takes two values"))),
                }
            }
            (Operand::Pair, v) => {
                return Err(bad(format!(
                    "{lookup} takes an array of two values, got {v:?}"
                )));
            }
            (Operand::One | Operand::Pattern, v) => Arg::One(check(v)?),
        };
        Self::build(M::META.name, resolved, arg)
    }

    /// `a__b__field[__transform]__lookup`: the relations crossed, the
    /// field, the transform, the lookup. A relation as the last name
    /// (`profile__isnull`) means its related row. A name after a relation
    /// is a field of the related model (`event__date`), after a date or
    /// time field a transform (`created__date`), as in `q!`.
    fn resolve<M: Model>(key: &str) -> Result<Resolved> {
        // Split only once known to be short.
        check_len(M::META, "lookup", key, || {
            let mut valid = M::META.field_names();
            valid.extend(relation_names(M::META));
            valid
        })?;
        let (names, lookup) = Kind::split(key);
        let lookup = lookup.unwrap_or(Kind::Exact);
        let names: Vec<&str> = names.split("__").collect();
        let mut meta = M::META;
        let mut path = RelPath::EMPTY;
        let (last, relations) = names.split_last().unwrap_or((&"", &[]));
        for name in relations {
            let Some(rel) = meta.relation(name) else {
                let rest = &names[path.steps().count() + 1..];
                // `tags__0`: an element of an array field, with the
                // element's lookups.
                if let (Some(field), [first, ..]) = (meta.field(name), rest) {
                    if let (SqlType::Array(element), Some(index)) =
                        (field.sql_type, array_index(first))
                    {
                        return Self::resolve_chain(meta, field, *element, rest, 1, lookup, key)
                            .map(|transforms| Resolved {
                                path,
                                field,
                                index: Some(index),
                                transforms,
                                json: None,
                                lookup,
                                end: None,
                            });
                    }
                }
                // `span__startswith__gte`: a range field's bound, then a
                // lookup of its element type.
                if let (Some(field), [first]) = (meta.field(name), rest) {
                    if let (SqlType::Range(kind), Some(at)) = (
                        field.sql_type,
                        orm_names::RANGE_ENDS.iter().position(|n| n == first),
                    ) {
                        if !applies_to_type(lookup, kind.element()) {
                            return Err(no_lookup(meta, key, |l| {
                                applies_to_type(l, kind.element())
                            }));
                        }
                        return Ok(Resolved {
                            path,
                            field,
                            index: None,
                            transforms: Vec::new(),
                            json: None,
                            lookup,
                            end: Some(at == 1),
                        });
                    }
                }
                // `data__owner__name`: a key path of a JSON field.
                if let Some(field) = meta.field(name).filter(|f| f.sql_type == SqlType::Jsonb) {
                    let keys = json_keys(meta.name, field, key, rest)?;
                    if !json_applies(lookup, true) {
                        return Err(no_lookup(meta, key, |l| json_applies(l, true)));
                    }
                    return Ok(Resolved {
                        path,
                        field,
                        index: None,
                        transforms: Vec::new(),
                        json: Some(keys),
                        lookup,
                        end: None,
                    });
                }
                // `created__year`, `created__date__year`: a field with
                // transforms.
                if let (Some(field), [first, ..]) = (meta.field(name), rest) {
                    if Transform::from_name(first).is_some() {
                        return Self::resolve_chain(
                            meta,
                            field,
                            field.sql_type,
                            rest,
                            0,
                            lookup,
                            key,
                        )
                        .map(|transforms| Resolved {
                            path,
                            field,
                            index: None,
                            transforms,
                            json: None,
                            lookup,
                            end: None,
                        });
                    }
                }
                // `karma__like`: a field with an unknown lookup, not a path.
                if let (Some(field), [_]) = (meta.field(name), rest) {
                    return Err(Error::from(crate::error::LookupError {
                        model: meta.name,
                        what: "lookup",
                        name: key.to_owned(),
                        valid: valid_lookups(field),
                    }));
                }
                return Err(Error::from(crate::error::LookupError {
                    model: meta.name,
                    what: "relation",
                    name: (*name).to_owned(),
                    valid: meta.relations.iter().map(|r| r.name.to_owned()).collect(),
                }));
            };
            if path.steps().count() == MAX_DEPTH {
                return Err(Error::from(crate::error::LookupError {
                    model: M::META.name,
                    what: "lookup",
                    name: key.to_owned(),
                    valid: vec![format!("at most {MAX_DEPTH} relations")],
                }));
            }
            path = path.push(rel);
            meta = rel.target.meta();
        }
        let field = match meta.field(last) {
            Some(field) => field,
            None => match meta.relation(last) {
                // `rel__isnull`: whether a related row exists.
                Some(rel) if lookup == Kind::IsNull => {
                    return Ok(Resolved {
                        path: path.push(rel),
                        field: rel.target.meta().pk_field(),
                        index: None,
                        transforms: Vec::new(),
                        json: None,
                        lookup,
                        end: None,
                    });
                }
                _ => {
                    return Err(Error::from(crate::error::LookupError {
                        model: meta.name,
                        what: "field",
                        name: (*last).to_owned(),
                        valid: meta.field_names(),
                    }))
                }
            },
        };
        if !applies(lookup, field) {
            return Err(Error::from(crate::error::LookupError {
                model: meta.name,
                what: "lookup",
                name: format!("{last}__{lookup}"),
                valid: valid_lookups(field),
            }));
        }
        Ok(Resolved {
            path,
            field,
            index: None,
            transforms: Vec::new(),
            json: None,
            lookup,
            end: None,
        })
    }

    /// Checks the transforms of `field__[index__]transform..__lookup`:
    /// `rest` is what follows the field before the lookup, of which the
    /// first `skip` names (an array index) are already read, leaving a
    /// value of type `ty`. Each name must be a transform of the value
    /// before it (`created__date__year`: `date` of a date-time, `year` of a
    /// date), and the lookup must apply to the last value. The transforms,
    /// in order.
    fn resolve_chain(
        meta: &'static ModelMeta,
        field: &'static FieldMeta,
        mut ty: SqlType,
        rest: &[&str],
        skip: usize,
        lookup: Kind,
        key: &str,
    ) -> Result<Vec<Transform>> {
        let invalid = |name: &str, ty: SqlType| {
            let valid = Kind::ALL
                .iter()
                .filter(|l| applies_to_type(**l, ty))
                .map(|l| l.name().to_owned())
                .chain(
                    Transform::ALL
                        .iter()
                        .filter(|t| transform_applies_to_type(**t, ty))
                        .map(|t| t.name().to_owned()),
                )
                .collect();
            Err(Error::from(crate::error::LookupError {
                model: meta.name,
                what: "lookup",
                name: shown(name),
                valid,
            }))
        };
        let mut transforms = Vec::new();
        for (i, name) in rest.iter().enumerate().skip(skip) {
            match Transform::from_name(name).filter(|t| transform_applies_to_type(*t, ty)) {
                Some(transform) if transforms.len() < crate::field::MAX_TRANSFORMS => {
                    transforms.push(transform);
                    ty = output_type(transform);
                }
                _ => {
                    let so_far = format!("{}__{}", field.name, rest[..=i].join("__"));
                    return invalid(&so_far, ty);
                }
            }
        }
        if !applies_to_type(lookup, ty) {
            return invalid(key, ty);
        }
        Ok(transforms)
    }

    /// The condition of the resolved lookup, valid for its field, with
    /// `arg` in the shape of its operand.
    fn build<M>(model: &'static str, resolved: Resolved, arg: Arg) -> Result<Q<M>> {
        let compared = resolved.compared_type();
        let Resolved {
            path,
            field,
            index,
            transforms,
            json,
            lookup,
            end,
        } = resolved;
        let bad = |reason: String| {
            Error::from(crate::error::ValueError {
                model,
                field: field.name,
                reason,
            })
        };
        if matches!(&arg, Arg::One(v) if v.is_null()) && !lookup.takes_null() {
            return Err(bad(format!("cannot use NULL with `{lookup}`")));
        }
        let op = match &arg {
            // Range lookups, and `contained_by` on a range's element type:
            // what the compared type decides.
            Arg::One(v) if index.is_none() => {
                match crate::range::runtime::range_lookup_op(lookup, compared, v) {
                    Some(op) => Some(op),
                    None => op_of(lookup, arg),
                }
            }
            _ => op_of(lookup, arg),
        };
        let Some(op) = op else {
            return Err(bad(format!("the value does not fit `{lookup}`")));
        };
        let op = match json {
            Some(keys) => Op::JsonPath(keys, Box::new(op)),
            None => op,
        };
        // The first transform outermost: it is applied to the column first.
        let op = transforms
            .into_iter()
            .rev()
            .fold(op, |op, t| Op::Transformed(t, Box::new(op)));
        let op = match index {
            Some(index) => Op::Index(index, Box::new(op)),
            None => op,
        };
        let op = match end {
            Some(upper) => Op::RangeEnd(upper, Box::new(op)),
            None => op,
        };
        Ok(Q::from_node(Node::leaf_at(path, field, op)))
    }
}

#[cfg(test)]
mod tests {
    use orm_names::{Lookup as Kind, Operand};

    use super::{op_of, Arg};
    use crate::value::Value;

    /// A value in the shape of `operand`.
    fn arg_for(operand: Operand) -> Arg {
        let text = || Value::Text(Some("a".to_owned()));
        match operand {
            Operand::One | Operand::Pattern => Arg::One(text()),
            Operand::List => Arg::List(vec![text()]),
            Operand::Pair => Arg::Pair(text(), text()),
            Operand::Bool => Arg::Bool(true),
        }
    }

    #[test]
    fn every_lookup_makes_a_condition_of_its_operand() {
        for &lookup in Kind::ALL {
            assert!(
                op_of(lookup, arg_for(lookup.operand())).is_some(),
                "{lookup}"
            );
            let other = match lookup.operand() {
                Operand::Bool => Operand::One,
                _ => Operand::Bool,
            };
            assert!(op_of(lookup, arg_for(other)).is_none(), "{lookup}");
        }
    }
}
