//! Owned SQL values with typed NULLs, bound as query parameters.

use std::error::Error as StdError;
use std::fmt;

use bytes::BytesMut;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use postgres_types::{to_sql_checked, IsNull, ToSql, Type};
use uuid::Uuid;

use crate::error::Error;

/// An owned SQL value. Every variant but [`Value::Array`] carries an
/// `Option`, so a NULL still knows its PostgreSQL type.
///
/// Values are always sent as bound parameters (`$1`, `$2`, ...), never
/// spliced into SQL text.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// `boolean`
    Bool(Option<bool>),
    /// `smallint`
    I16(Option<i16>),
    /// `integer`
    I32(Option<i32>),
    /// `bigint`
    I64(Option<i64>),
    /// `real`
    F32(Option<f32>),
    /// `double precision`
    F64(Option<f64>),
    /// `text` / `varchar`
    Text(Option<String>),
    /// `bytea`
    Bytes(Option<Vec<u8>>),
    /// `date`
    Date(Option<NaiveDate>),
    /// `time`
    Time(Option<NaiveTime>),
    /// `timestamp` (without time zone)
    Timestamp(Option<NaiveDateTime>),
    /// `timestamptz`
    TimestampTz(Option<DateTime<Utc>>),
    /// `uuid`
    Uuid(Option<Uuid>),
    /// `jsonb`
    Json(Option<serde_json::Value>),
    /// An array of values of one type (bound for `= ANY($n)` and `UNNEST`).
    Array(Vec<Value>),
    /// A range (`int4range`, `daterange`, ...) of the element type given,
    /// its bounds values of that type; `None` is NULL.
    Range(
        crate::range::RangeKind,
        Option<Box<crate::range::Range<Value>>>,
    ),
    /// `numeric`
    Decimal(Option<rust_decimal::Decimal>),
    /// `inet`
    Inet(Option<std::net::IpAddr>),
    /// `interval`
    Interval(Option<crate::Interval>),
}

/// Why a text value holding a NUL character is refused, in Django's words:
/// PostgreSQL's text types cannot store one (SQLSTATE 22021).
pub(crate) const NUL_MESSAGE: &str = "A string literal cannot contain NUL (0x00) characters.";

/// The error for a NUL character in a value of `model.field`.
pub(crate) fn nul_error(model: &'static str, field: &'static str) -> Error {
    Error::from(crate::error::ValueError {
        model,
        field,
        reason: NUL_MESSAGE.to_owned(),
    })
}

/// A text value refused while being encoded, before it is sent: it holds
/// a NUL character. Every path that knows the value's field refuses it
/// earlier, naming the field (`query::q::check_nul`, `persist`); this catches the
/// others (a raw query's values).
#[derive(Debug)]
pub(crate) struct NulInText;

impl fmt::Display for NulInText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NUL_MESSAGE)
    }
}

impl StdError for NulInText {}

/// True when `bytes` holds a 0 byte. Most values are short: up to 16
/// bytes are read as two (overlapping) words and tested at once, without
/// a loop (`core`'s `memchr` goes byte by byte below two words); longer
/// ones go to `memchr`.
#[inline]
pub(crate) fn has_nul_byte(bytes: &[u8]) -> bool {
    // The classic test for a 0 byte in a word: no false positive.
    const fn zero64(w: u64) -> bool {
        w.wrapping_sub(0x0101_0101_0101_0101) & !w & 0x8080_8080_8080_8080 != 0
    }
    const fn zero32(w: u32) -> bool {
        w.wrapping_sub(0x0101_0101) & !w & 0x8080_8080 != 0
    }
    let n = bytes.len();
    match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (Some(head), Some(tail)) if n <= 16 => {
            zero64(u64::from_ne_bytes(*head)) || zero64(u64::from_ne_bytes(*tail))
        }
        (Some(_), _) => bytes.contains(&0),
        _ => match (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
            (Some(head), Some(tail)) => {
                zero32(u32::from_ne_bytes(*head)) || zero32(u32::from_ne_bytes(*tail))
            }
            _ => bytes.contains(&0),
        },
    }
}

impl Value {
    /// True for text (or an array holding text) with a NUL character,
    /// which PostgreSQL's text types cannot store. A scan of text only.
    #[inline]
    pub(crate) fn has_nul(&self) -> bool {
        match self {
            Value::Text(Some(text)) => has_nul_byte(text.as_bytes()),
            Value::Array(items) => Value::any_has_nul(items),
            _ => false,
        }
    }

    /// [`has_nul`](Value::has_nul) of any of `items`: out of line, so that
    /// the test of a single value is inlined.
    #[inline(never)]
    fn any_has_nul(items: &[Value]) -> bool {
        items.iter().any(Value::has_nul)
    }

    /// True for a NULL of any type.
    pub fn is_null(&self) -> bool {
        match self {
            Value::Bool(v) => v.is_none(),
            Value::I16(v) => v.is_none(),
            Value::I32(v) => v.is_none(),
            Value::I64(v) => v.is_none(),
            Value::F32(v) => v.is_none(),
            Value::F64(v) => v.is_none(),
            Value::Text(v) => v.is_none(),
            Value::Bytes(v) => v.is_none(),
            Value::Date(v) => v.is_none(),
            Value::Time(v) => v.is_none(),
            Value::Timestamp(v) => v.is_none(),
            Value::TimestampTz(v) => v.is_none(),
            Value::Uuid(v) => v.is_none(),
            Value::Json(v) => v.is_none(),
            Value::Array(_) => false,
            Value::Range(_, v) => v.is_none(),
            Value::Decimal(v) => v.is_none(),
            Value::Inet(v) => v.is_none(),
            Value::Interval(v) => v.is_none(),
        }
    }
}

fn bind<T: ToSql>(
    value: &T,
    name: &str,
    ty: &Type,
    out: &mut BytesMut,
) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
    if !T::accepts(ty) {
        return Err(format!("cannot bind a {name} value to a parameter of type {ty}").into());
    }
    value.to_sql(ty, out)
}

/// An integer bound to whichever integer type the server expects (an
/// integer literal in `F("balance") + 100` is an `i32` in Rust, and
/// PostgreSQL asks for a `bigint`, or a `numeric` next to a decimal),
/// refusing values that do not fit.
fn bind_int(
    value: Option<i64>,
    name: &str,
    ty: &Type,
    out: &mut BytesMut,
) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
    let narrow = |v: i64, target: &str| -> Result<_, Box<dyn StdError + Sync + Send>> {
        Err(format!("{v} does not fit in {target} parameter").into())
    };
    match *ty {
        Type::INT8 => bind(&value, name, ty, out),
        Type::INT4 => match value.map(i32::try_from).transpose() {
            Ok(v) => bind(&v, name, ty, out),
            Err(_) => narrow(value.unwrap_or_default(), "an integer"),
        },
        Type::INT2 => match value.map(i16::try_from).transpose() {
            Ok(v) => bind(&v, name, ty, out),
            Err(_) => narrow(value.unwrap_or_default(), "a smallint"),
        },
        Type::FLOAT8 => bind(&value.map(|v| v as f64), name, ty, out),
        // `F("price") * 2`, `Sum("price").default(0)`: exact as a decimal.
        Type::NUMERIC => bind(&value.map(rust_decimal::Decimal::from), name, ty, out),
        _ => bind(&value, name, ty, out),
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        // A NULL array (field) is its element type's NULL.
        if matches!(ty.kind(), postgres_types::Kind::Array(_)) && self.is_null() {
            return Ok(IsNull::Yes);
        }
        match self {
            Value::Bool(v) => bind(v, "bool", ty, out),
            Value::I16(v) => bind_int(v.map(i64::from), "i16", ty, out),
            Value::I32(v) => bind_int(v.map(i64::from), "i32", ty, out),
            Value::I64(v) => bind_int(*v, "i64", ty, out),
            Value::F32(v) if *ty == Type::FLOAT8 => bind(&v.map(f64::from), "f32", ty, out),
            Value::F32(v) => bind(v, "f32", ty, out),
            Value::F64(v) if *ty == Type::FLOAT4 => bind(&v.map(|f| f as f32), "f64", ty, out),
            Value::F64(v) => bind(v, "f64", ty, out),
            // See `NulInText`.
            Value::Text(Some(text)) if has_nul_byte(text.as_bytes()) => Err(Box::new(NulInText)),
            Value::Text(v) => bind(v, "text", ty, out),
            Value::Bytes(v) => bind(v, "bytea", ty, out),
            Value::Date(v) => bind(v, "date", ty, out),
            Value::Time(v) => bind(v, "time", ty, out),
            Value::Timestamp(v) => bind(v, "timestamp", ty, out),
            Value::TimestampTz(v) => bind(v, "timestamptz", ty, out),
            Value::Uuid(v) => bind(v, "uuid", ty, out),
            Value::Json(v) => bind(v, "jsonb", ty, out),
            Value::Array(items) => {
                if !matches!(ty.kind(), postgres_types::Kind::Array(_)) {
                    return Err(format!("cannot bind an array to a parameter of type {ty}").into());
                }
                items.to_sql(ty, out)
            }
            Value::Range(_, v) => v.as_deref().to_sql(ty, out),
            Value::Decimal(v) => bind(v, "numeric", ty, out),
            Value::Inet(v) => bind(v, "inet", ty, out),
            Value::Interval(v) => bind(v, "interval", ty, out),
        }
    }

    /// Every type is accepted here; the check happens per variant in
    /// `to_sql`, which knows the value's own type.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl fmt::Display for Value {
    /// A readable, SQL-like rendering for logs and `Statement`'s debug form.
    /// It is never sent to the server.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn opt<T: fmt::Display>(f: &mut fmt::Formatter<'_>, v: &Option<T>) -> fmt::Result {
            match v {
                Some(v) => write!(f, "{v}"),
                None => f.write_str("NULL"),
            }
        }
        fn quoted<T: fmt::Display>(f: &mut fmt::Formatter<'_>, v: &Option<T>) -> fmt::Result {
            match v {
                Some(v) => write!(f, "'{}'", v.to_string().replace('\'', "''")),
                None => f.write_str("NULL"),
            }
        }
        match self {
            Value::Bool(v) => opt(f, v),
            Value::I16(v) => opt(f, v),
            Value::I32(v) => opt(f, v),
            Value::I64(v) => opt(f, v),
            Value::F32(v) => opt(f, v),
            Value::F64(v) => opt(f, v),
            Value::Text(v) => quoted(f, v),
            Value::Bytes(v) => match v {
                Some(b) => {
                    f.write_str("'\\x")?;
                    for byte in b {
                        write!(f, "{byte:02x}")?;
                    }
                    f.write_str("'")
                }
                None => f.write_str("NULL"),
            },
            Value::Date(v) => quoted(f, v),
            Value::Time(v) => quoted(f, v),
            Value::Timestamp(v) => quoted(f, v),
            Value::TimestampTz(v) => quoted(f, v),
            Value::Uuid(v) => quoted(f, v),
            Value::Json(v) => quoted(f, v),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Range(_, Some(range)) => write!(f, "'{range}'"),
            Value::Range(_, None) => f.write_str("NULL"),
            Value::Decimal(v) => opt(f, v),
            Value::Inet(v) => quoted(f, v),
            Value::Interval(v) => quoted(f, v),
        }
    }
}

/// A bound of a [`Value::Range`], as its element type writes it.
impl crate::range::WriteBound for Value {
    fn write_bound(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::range::WriteBound as W;
        match self {
            Value::I32(Some(v)) => W::write_bound(v, f),
            Value::I64(Some(v)) => W::write_bound(v, f),
            Value::Date(Some(v)) => W::write_bound(v, f),
            Value::Timestamp(Some(v)) => W::write_bound(v, f),
            Value::TimestampTz(Some(v)) => W::write_bound(v, f),
            other => write!(f, "{other}"),
        }
    }
}

/// A borrowed parameter, so that a column of fields can be bound as one
/// array (`Vec<ByRef>`) without copying the values; each element is checked
/// against the array's member type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ByRef<'a>(pub(crate) &'a (dyn ToSql + Sync));

impl ToSql for ByRef<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        self.0.to_sql_checked(ty, out)
    }

    /// The wrapped value checks its type in `to_sql`.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A primary or foreign key value, hashable, for grouping related rows by
/// their parent without formatting it.
/// Ordered as PostgreSQL orders integers and UUIDs (text by bytes, which
/// a collation may not).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Key {
    Int(i64),
    Uuid(Uuid),
    Text(String),
}

/// Hashes the value alone: the keys of one relation are all of one kind,
/// so the variant would only add work to every row's lookup.
impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Key::Int(v) => v.hash(state),
            Key::Uuid(v) => v.hash(state),
            Key::Text(v) => v.hash(state),
        }
    }
}

impl Key {
    /// The key of a value; `None` for NULL.
    pub(crate) fn of(value: &Value) -> Option<Key> {
        Some(match value {
            Value::I16(v) => Key::Int(i64::from((*v)?)),
            Value::I32(v) => Key::Int(i64::from((*v)?)),
            Value::I64(v) => Key::Int((*v)?),
            Value::Uuid(v) => Key::Uuid((*v)?),
            Value::Text(v) => Key::Text(v.clone()?),
            other if other.is_null() => return None,
            other => Key::Text(other.to_string()),
        })
    }
}

macro_rules! value_from {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl From<$ty> for Value {
            fn from(v: $ty) -> Value {
                Value::$variant(Some(v))
            }
        }
    )*};
}
value_from!(
    bool => Bool, i16 => I16, i32 => I32, i64 => I64, f32 => F32, f64 => F64,
    String => Text, Vec<u8> => Bytes, NaiveDate => Date, NaiveTime => Time,
    NaiveDateTime => Timestamp, DateTime<Utc> => TimestampTz, Uuid => Uuid,
    serde_json::Value => Json,
    rust_decimal::Decimal => Decimal, std::net::IpAddr => Inet,
    crate::Interval => Interval,
);

/// An array (of an `in` or `range` value of an annotation's condition).
impl<T: Into<Value>, const N: usize> From<[T; N]> for Value {
    fn from(items: [T; N]) -> Value {
        Value::Array(items.into_iter().map(Into::into).collect())
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(Some(v.to_owned()))
    }
}

/// What a [`BindError`](crate::error::BindError) says of a value's type.
impl crate::error::Param for Value {
    fn type_name(&self) -> Option<&'static str> {
        Some(match self {
            Value::Bool(_) => "bool",
            Value::I16(_) => "i16",
            Value::I32(_) => "i32",
            Value::I64(_) => "i64",
            Value::F32(_) => "f32",
            Value::F64(_) => "f64",
            Value::Text(_) => "String",
            Value::Bytes(_) => "Vec<u8>",
            Value::Date(_) => "NaiveDate",
            Value::Time(_) => "NaiveTime",
            Value::Timestamp(_) => "NaiveDateTime",
            Value::TimestampTz(_) => "DateTime<Utc>",
            Value::Uuid(_) => "Uuid",
            Value::Json(_) => "serde_json::Value",
            Value::Array(_) => "an array",
            Value::Range(..) => "a range",
            Value::Decimal(_) => "Decimal",
            Value::Inet(_) => "IpAddr",
            Value::Interval(_) => "Interval",
        })
    }
}
