//! The Rust types a model field may have, and the values each accepts.
//!
//! * [`FieldType`] maps a Rust type to its PostgreSQL type ([`SqlType`]).
//! * [`Arg<T>`] says which Rust values may be compared with (or assigned to)
//!   a field of type `T`: `u.karma.gte("x")` does not compile because `&str`
//!   is not an `Arg<i32>`.
//! * [`TextField`] and [`OrderedField`] gate the lookups that only make sense
//!   for some types (`icontains` on text, `gt` on ordered values).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SubsecRound, Utc};
use postgres_types::{FromSql, ToSql};
use uuid::Uuid;

use crate::value::Value;

/// The PostgreSQL type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SqlType {
    /// `boolean` (`bool`)
    Bool,
    /// `smallint` (`i16`)
    SmallInt,
    /// `integer` (`i32`)
    Integer,
    /// `bigint` (`i64`)
    BigInt,
    /// `real` (`f32`)
    Real,
    /// `double precision` (`f64`)
    Double,
    /// `text`, or `varchar(n)` with `max_length` (`String`)
    Text,
    /// `bytea` (`Vec<u8>`)
    Bytea,
    /// `date` (`chrono::NaiveDate`)
    Date,
    /// `time` (`chrono::NaiveTime`)
    Time,
    /// `timestamp` (`chrono::NaiveDateTime`)
    Timestamp,
    /// `timestamptz` (`chrono::DateTime<Utc>`)
    TimestampTz,
    /// `uuid` (`uuid::Uuid`)
    Uuid,
    /// `jsonb` (`serde_json::Value`)
    Jsonb,
    /// A `#[derive(DbEnum)]` enum, stored as text; the stored names of its variants.
    Enum(&'static [&'static str]),
    /// An array of the element type (`bigint[]`): a `Vec<T>` field (as
    /// Django's `ArrayField`) or the result of an `ArrayAgg`. Read as
    /// [`Value::Array`]; a NULL array reads as the element type's NULL (an
    /// array value is never NULL).
    Array(&'static SqlType),
    /// A range of the element type (`int4range`, `int8range`,
    /// `daterange`, `tsrange`, `tstzrange`): a [`Range<T>`](crate::Range)
    /// field (Django's `IntegerRangeField`, ...). Read as [`Value::Range`].
    Range(crate::range::RangeKind),
    /// `tsvector`: a full-text search document (Django's
    /// `SearchVectorField`), the type of a `SearchVector` annotation, read
    /// as its text form.
    TsVector,
    /// `numeric` (`rust_decimal::Decimal`, Django's `DecimalField`);
    /// `numeric(p,s)` with `#[orm(max_digits = p, decimal_places = s)]`.
    Numeric,
    /// `inet` (`std::net::IpAddr`, Django's `GenericIPAddressField`).
    Inet,
    /// `citext` (a `String` field with `#[orm(citext)]`): text compared
    /// case-insensitively by the type itself (the `citext` extension).
    CiText,
    /// `interval` ([`Interval`](crate::Interval), Django's `DurationField`).
    Interval,
}

impl SqlType {
    /// The type as written in DDL; `max_length` turns text into `varchar(n)`.
    pub fn ddl(&self, max_length: Option<u32>) -> String {
        match (self, max_length) {
            // `citext` has no length: `max_length` is checked before writes
            // only (as Django's `CICharField`).
            (SqlType::CiText, _) => "citext".to_owned(),
            (SqlType::Text | SqlType::Enum(_), Some(n)) => format!("varchar({n})"),
            _ => self.name().to_owned(),
        }
    }

    /// The type's PostgreSQL name.
    pub const fn name(&self) -> &'static str {
        match self {
            SqlType::Bool => "boolean",
            SqlType::SmallInt => "smallint",
            SqlType::Integer => "integer",
            SqlType::BigInt => "bigint",
            SqlType::Real => "real",
            SqlType::Double => "double precision",
            SqlType::Text | SqlType::Enum(_) => "text",
            SqlType::Bytea => "bytea",
            SqlType::Date => "date",
            SqlType::Time => "time",
            SqlType::Timestamp => "timestamp",
            SqlType::TimestampTz => "timestamptz",
            SqlType::Uuid => "uuid",
            SqlType::Jsonb => "jsonb",
            SqlType::TsVector => "tsvector",
            SqlType::Array(element) => match element {
                SqlType::Bool => "boolean[]",
                SqlType::SmallInt => "smallint[]",
                SqlType::Integer => "integer[]",
                SqlType::BigInt => "bigint[]",
                SqlType::Real => "real[]",
                SqlType::Double => "double precision[]",
                SqlType::Text | SqlType::Enum(_) => "text[]",
                SqlType::Bytea => "bytea[]",
                SqlType::Date => "date[]",
                SqlType::Time => "time[]",
                SqlType::Timestamp => "timestamp[]",
                SqlType::TimestampTz => "timestamptz[]",
                SqlType::Uuid => "uuid[]",
                SqlType::Jsonb => "jsonb[]",
                SqlType::Array(_) | SqlType::Range(_) => "array",
                SqlType::TsVector => "tsvector[]",
                SqlType::Numeric => "numeric[]",
                SqlType::Inet => "inet[]",
                SqlType::CiText => "citext[]",
                SqlType::Interval => "interval[]",
            },
            SqlType::Range(kind) => kind.name(),
            SqlType::Numeric => "numeric",
            SqlType::Inet => "inet",
            SqlType::CiText => "citext",
            SqlType::Interval => "interval",
        }
    }

    /// True for the integer types, whose primary keys are identity columns.
    pub const fn is_integer(&self) -> bool {
        matches!(self, SqlType::SmallInt | SqlType::Integer | SqlType::BigInt)
    }

    /// True for text and text-stored enums.
    pub const fn is_text(&self) -> bool {
        matches!(self, SqlType::Text | SqlType::Enum(_) | SqlType::CiText)
    }

    /// True for types that `gt`, `lt` and `range` compare.
    pub const fn is_ordered(&self) -> bool {
        !matches!(
            self,
            SqlType::Bool
                | SqlType::Bytea
                | SqlType::Jsonb
                | SqlType::Enum(_)
                | SqlType::Array(_)
                | SqlType::Range(_)
                | SqlType::TsVector
        )
    }

    /// A typed NULL of this type.
    pub fn null(&self) -> Value {
        match self {
            SqlType::Bool => Value::Bool(None),
            SqlType::SmallInt => Value::I16(None),
            SqlType::Integer => Value::I32(None),
            SqlType::BigInt => Value::I64(None),
            SqlType::Real => Value::F32(None),
            SqlType::Double => Value::F64(None),
            SqlType::Text | SqlType::Enum(_) => Value::Text(None),
            SqlType::Bytea => Value::Bytes(None),
            SqlType::Date => Value::Date(None),
            SqlType::Time => Value::Time(None),
            SqlType::Timestamp => Value::Timestamp(None),
            SqlType::TimestampTz => Value::TimestampTz(None),
            SqlType::Uuid => Value::Uuid(None),
            SqlType::Jsonb => Value::Json(None),
            SqlType::Array(element) => element.null(),
            SqlType::Range(kind) => Value::Range(*kind, None),
            SqlType::TsVector => Value::Text(None),
            SqlType::Numeric => Value::Decimal(None),
            SqlType::Inet => Value::Inet(None),
            SqlType::CiText => Value::Text(None),
            SqlType::Interval => Value::Interval(None),
        }
    }

    /// True when `value` (NULL or not) has this type.
    pub fn matches(&self, value: &Value) -> bool {
        if let SqlType::Array(element) = self {
            return match value {
                Value::Array(items) => items.iter().all(|v| element.matches(v)),
                other => other.is_null() && element.matches(other),
            };
        }
        if let SqlType::Range(element) = self {
            return matches!(value, Value::Range(kind, _) if kind == element);
        }
        std::mem::discriminant(&self.null()) == std::mem::discriminant(value)
            && match (self, value) {
                (SqlType::Enum(names), Value::Text(Some(s))) => names.contains(&s.as_str()),
                _ => true,
            }
    }

    /// Parses the text form of a value (as found in a query string) into a
    /// value of this type. Used by the runtime [`Lookup`](crate::Lookup) form.
    pub fn parse(&self, text: &str) -> Result<Value, String> {
        fn num<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
            text.trim()
                .parse()
                .map_err(|_| format!("`{text}` is not a valid {what}"))
        }
        Ok(match self {
            SqlType::Bool => Value::Bool(Some(match text.trim().to_ascii_lowercase().as_str() {
                "true" | "t" | "1" | "yes" | "on" => true,
                "false" | "f" | "0" | "no" | "off" => false,
                _ => return Err(format!("`{text}` is not a boolean (true/false)")),
            })),
            SqlType::SmallInt => Value::I16(Some(num(text, "smallint")?)),
            SqlType::Integer => Value::I32(Some(num(text, "integer")?)),
            SqlType::BigInt => Value::I64(Some(num(text, "bigint")?)),
            SqlType::Real => Value::F32(Some(num(text, "real number")?)),
            SqlType::Double => Value::F64(Some(num(text, "real number")?)),
            SqlType::Text | SqlType::TsVector => Value::Text(Some(text.to_owned())),
            SqlType::Enum(names) => {
                if !names.contains(&text) {
                    return Err(format!(
                        "`{text}` is not one of the choices: {}",
                        names.join(", ")
                    ));
                }
                Value::Text(Some(text.to_owned()))
            }
            SqlType::Bytea => Value::Bytes(Some(text.as_bytes().to_vec())),
            SqlType::Date => Value::Date(Some(
                text.trim()
                    .parse()
                    .map_err(|_| format!("`{text}` is not a date (YYYY-MM-DD)"))?,
            )),
            SqlType::Time => Value::Time(Some(
                text.trim()
                    .parse()
                    .map_err(|_| format!("`{text}` is not a time (HH:MM:SS)"))?,
            )),
            SqlType::Timestamp => {
                Value::Timestamp(Some(text.trim().parse().map_err(|_| {
                    format!("`{text}` is not a timestamp (YYYY-MM-DDTHH:MM:SS)")
                })?))
            }
            SqlType::TimestampTz => Value::TimestampTz(Some(
                DateTime::parse_from_rfc3339(text.trim())
                    .map_err(|_| format!("`{text}` is not an RFC 3339 timestamp"))?
                    .with_timezone(&Utc),
            )),
            SqlType::Uuid => Value::Uuid(Some(
                text.trim()
                    .parse()
                    .map_err(|_| format!("`{text}` is not a UUID"))?,
            )),
            SqlType::Jsonb => Value::Json(Some(
                serde_json::from_str(text).map_err(|e| format!("`{text}` is not JSON: {e}"))?,
            )),
            // Django's `SimpleArrayField` form: comma-separated items; an
            // empty text is the empty array. Text items cannot hold a comma.
            SqlType::Array(SqlType::Array(_) | SqlType::Range(_)) => {
                return Err(format!("`{text}`: arrays do not nest"))
            }
            // PostgreSQL's literal: `[1,10)`, `(,5]`, `empty`.
            SqlType::Range(kind) => {
                let element = kind.element();
                Value::Range(
                    *kind,
                    Some(Box::new(crate::range::parse_with(text, |b| {
                        element.parse(b)
                    })?)),
                )
            }
            SqlType::Array(element) => Value::Array(if text.is_empty() {
                Vec::new()
            } else {
                text.split(',')
                    .map(|item| element.parse(item))
                    .collect::<Result<_, _>>()?
            }),
            // Django's `DecimalField.to_python`: the decimal's text
            // (`1.50`, `-3`, `1e3`), nothing else.
            SqlType::Numeric => {
                let t = text.trim();
                Value::Decimal(Some(
                    t.parse::<rust_decimal::Decimal>()
                        .or_else(|_| rust_decimal::Decimal::from_scientific(t))
                        .map_err(|_| format!("`{text}` is not a decimal number"))?,
                ))
            }
            SqlType::Inet => Value::Inet(Some(
                text.trim()
                    .parse()
                    .map_err(|_| format!("`{text}` is not an IPv4 or IPv6 address"))?,
            )),
            SqlType::CiText => Value::Text(Some(text.to_owned())),
            // Django's `parse_duration` forms, PostgreSQL's and ISO 8601.
            SqlType::Interval => {
                Value::Interval(Some(text.parse::<crate::Interval>().map_err(|e| e.0)?))
            }
        })
    }
}

impl crate::range::RangeKind {
    /// The element type of the range type.
    pub const fn element(self) -> SqlType {
        use crate::range::RangeKind as K;
        match self {
            K::Int4 => SqlType::Integer,
            K::Int8 => SqlType::BigInt,
            K::Date => SqlType::Date,
            K::Ts => SqlType::Timestamp,
            K::TsTz => SqlType::TimestampTz,
            K::Num => SqlType::Numeric,
        }
    }
}

/// A Rust type that can be a model field.
///
/// Implemented for `bool`, `i16`, `i32`, `i64`, `f32`, `f64`, `String`,
/// `Vec<u8>`, chrono's `NaiveDate`, `NaiveTime`, `NaiveDateTime` and
/// `DateTime<Utc>`, `uuid::Uuid`, `serde_json::Value`, enums with
/// `#[derive(DbEnum)]`, [`Decimal`](crate::Decimal) (`numeric`),
/// `std::net::IpAddr` (`inet`), [`Interval`](crate::Interval)
/// (`interval`), and `Option<T>` of each (a nullable column).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported model field type",
    label = "unsupported field type",
    note = "supported: bool, i16, i32, i64, f32, f64, String, Vec<u8>, chrono::{{NaiveDate, NaiveTime, NaiveDateTime, DateTime<Utc>}}, uuid::Uuid, serde_json::Value, rust_decimal::Decimal, std::net::IpAddr, orm_core::Interval, an enum with #[derive(DbEnum)], and Option<T> of each; relations: ForeignKey<T>, OneToOne<T>, ManyToMany<T>, Reverse<T>, ReverseOne<T>"
)]
pub trait FieldType: ToSql + for<'a> FromSql<'a> + Sized + Send + Sync + 'static {
    /// The column's PostgreSQL type.
    const SQL_TYPE: SqlType;
    /// True for `Option<T>`: the column allows NULL.
    const NULLABLE: bool = false;
    /// The non-null type: `T` for both `T` and `Option<T>`.
    type Base: FieldType;
    /// The value as an owned [`Value`].
    fn to_value(&self) -> Value;
    /// The field value held by `value`, or `None` when the type does not match.
    fn from_value(value: Value) -> Option<Self>;
    /// True for an integer primary key that is still 0 (not yet inserted).
    fn is_unset_pk(&self) -> bool {
        false
    }
}

/// A field type that is not an `Option`: the `T` of a nullable `Option<T>` field.
pub trait BaseType: FieldType {}

/// What a named result ([`Record::get`](crate::query::Record::get),
/// [`Annotated::get`](crate::query::Annotated::get)) reads as: every
/// [`FieldType`] (`i64`, `Option<String>`, ...), and the arrays of an
/// `ArrayAgg`: `Vec<T>` and `Option<Vec<T>>` (None over no rows), whose
/// elements are `T` or, where they may be NULL, `Option<T>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from a result",
    label = "not a field type or an array of one",
    note = "read a field type (i64, Option<String>, ...), or an ArrayAgg as Vec<T> / Option<Vec<T>>"
)]
pub trait FromValue: Sized {
    /// The value held by `value`, or `None` when the type does not match.
    fn decode(value: Value) -> Option<Self>;
    /// What it expects, for errors (`bigint`, `an array`).
    fn expected() -> &'static str;
}

impl<T: FieldType> FromValue for T {
    fn decode(value: Value) -> Option<Self> {
        T::from_value(value)
    }
    fn expected() -> &'static str {
        T::SQL_TYPE.name()
    }
}

/// An element type of an array field or result (`Vec<T>`, PostgreSQL
/// `T[]`): every base type but `u8` (`Vec<u8>` is `bytea`), and `Option`
/// of one where elements may be NULL (`Vec<Option<i32>>`, as an
/// `ArrayAgg` over a nullable column reads).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the element of an array field",
    label = "not an array element type",
    note = "array elements: bool, i16, i32, i64, f32, f64, String, chrono's date and time types, uuid::Uuid, serde_json::Value, Vec<u8>, a DbEnum, or Option of one; arrays do not nest"
)]
pub trait ArrayItem: FieldType {
    /// The element's PostgreSQL type (a `'static` place for
    /// [`SqlType::Array`] to point to).
    const ELEMENT: &'static SqlType;
}

/// The element types of an array result (an alias of [`ArrayItem`], kept
/// for `ArrayAgg` readers).
pub trait ArrayElement: ArrayItem {}
impl<T: ArrayItem> ArrayElement for T {}

impl<T: ArrayItem> FieldType for Vec<T> {
    const SQL_TYPE: SqlType = SqlType::Array(T::ELEMENT);
    type Base = Self;
    fn to_value(&self) -> Value {
        Value::Array(self.iter().map(FieldType::to_value).collect())
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Array(items) => items.into_iter().map(T::from_value).collect(),
            _ => None,
        }
    }
}
impl<T: ArrayItem> BaseType for Vec<T> {}

/// Array fields (`Vec<T>`, `Option<Vec<T>>`, PostgreSQL `T[]`): the types
/// `contained_by`, `overlap`, `len`, an index (`tags__0`) and the array
/// form of `contains` apply to, as Django's `ArrayField`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an array field: this lookup works on `Vec<T>` fields",
    label = "array lookup on a non-array field",
    note = "contained_by, overlap, len and indexes (`tags__0`) apply to Vec<T> and Option<Vec<T>> fields (PostgreSQL arrays)"
)]
pub trait ArrayField: FieldType {
    /// The element type.
    type Item: ArrayItem;
}
impl<T: ArrayItem> ArrayField for Vec<T> {
    type Item = T;
}
impl<T: ArrayItem> ArrayField for Option<Vec<T>> {
    type Item = T;
}

/// An array value for an array field of `T`: a `Vec`, an array or a
/// slice of values for `T` (`["a", "b"]` for a `Vec<String>` field).
#[diagnostic::do_not_recommend]
impl<T: ArrayItem, A: Arg<T>> Arg<Vec<T>> for Vec<A> {
    fn into_value(self) -> Value {
        Value::Array(self.into_iter().map(Arg::into_value).collect())
    }
}
#[diagnostic::do_not_recommend]
impl<T: ArrayItem, A: Arg<T>, const N: usize> Arg<Vec<T>> for [A; N] {
    fn into_value(self) -> Value {
        Value::Array(self.into_iter().map(Arg::into_value).collect())
    }
}
#[diagnostic::do_not_recommend]
impl<'a, T: ArrayItem, A> Arg<Vec<T>> for &'a [A]
where
    &'a A: Arg<T>,
{
    fn into_value(self) -> Value {
        Value::Array(self.iter().map(Arg::into_value).collect())
    }
}
#[diagnostic::do_not_recommend]
impl<'a, T: ArrayItem, A> Arg<Vec<T>> for &'a Vec<A>
where
    &'a A: Arg<T>,
{
    fn into_value(self) -> Value {
        Value::Array(self.iter().map(Arg::into_value).collect())
    }
}
#[diagnostic::do_not_recommend]
impl<T: ArrayItem, A: Arg<T>> Arg<Option<Vec<T>>> for Vec<A> {
    fn into_value(self) -> Value {
        <Vec<A> as Arg<Vec<T>>>::into_value(self)
    }
}
#[diagnostic::do_not_recommend]
impl<T: ArrayItem, A: Arg<T>, const N: usize> Arg<Option<Vec<T>>> for [A; N] {
    fn into_value(self) -> Value {
        <[A; N] as Arg<Vec<T>>>::into_value(self)
    }
}
#[diagnostic::do_not_recommend]
impl<'a, T: ArrayItem, A> Arg<Option<Vec<T>>> for &'a [A]
where
    &'a A: Arg<T>,
{
    fn into_value(self) -> Value {
        <&'a [A] as Arg<Vec<T>>>::into_value(self)
    }
}

impl<T: ArrayItem + BaseType> ArrayItem for Option<T> {
    const ELEMENT: &'static SqlType = T::ELEMENT;
}

macro_rules! array_items {
    ($($ty:ty => $sql:expr),* $(,)?) => {$(
        impl ArrayItem for $ty {
            const ELEMENT: &'static SqlType = &$sql;
        }
    )*};
}
array_items!(
    bool => SqlType::Bool,
    i16 => SqlType::SmallInt,
    i32 => SqlType::Integer,
    i64 => SqlType::BigInt,
    f32 => SqlType::Real,
    f64 => SqlType::Double,
    String => SqlType::Text,
    Vec<u8> => SqlType::Bytea,
    NaiveDate => SqlType::Date,
    NaiveTime => SqlType::Time,
    NaiveDateTime => SqlType::Timestamp,
    DateTime<Utc> => SqlType::TimestampTz,
    Uuid => SqlType::Uuid,
    serde_json::Value => SqlType::Jsonb,
    rust_decimal::Decimal => SqlType::Numeric,
    std::net::IpAddr => SqlType::Inet,
    crate::Interval => SqlType::Interval,
);

impl<T: BaseType> FieldType for Option<T> {
    const SQL_TYPE: SqlType = T::SQL_TYPE;
    type Base = T;
    const NULLABLE: bool = true;
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => T::SQL_TYPE.null(),
        }
    }
    fn from_value(value: Value) -> Option<Self> {
        if !T::SQL_TYPE.matches(&value) {
            return None;
        }
        if value.is_null() {
            Some(None)
        } else {
            T::from_value(value).map(Some)
        }
    }
}

/// A value that can be compared with, or assigned to, a field of type `T`.
///
/// `&str` and `String` for text fields, the exact integer type for integer
/// fields, and so on; for a nullable field `Option<T>` also `Option<_>`
/// (where `None` means NULL).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a value for a field of type `{T}`",
    label = "expected a value for a `{T}` field"
)]
pub trait Arg<T> {
    /// Converts the argument into an owned [`Value`].
    fn into_value(self) -> Value;
}

#[diagnostic::do_not_recommend]
impl<T: BaseType, A: Arg<T>> Arg<Option<T>> for Option<A> {
    fn into_value(self) -> Value {
        match self {
            Some(a) => a.into_value(),
            None => T::SQL_TYPE.null(),
        }
    }
}

/// Field types the text lookups (`contains`, `icontains`, `startswith`,
/// `iexact`, `regex`, ...) apply to.
#[diagnostic::on_unimplemented(
    message = "this lookup works on text fields, not on a `{Self}` field",
    label = "text lookup on a non-text field"
)]
pub trait TextField: FieldType {}
impl TextField for String {}
impl TextField for Option<String> {}

/// Field types `max_length` applies to.
#[diagnostic::on_unimplemented(
    message = "`max_length` applies to text fields (`String`, `Option<String>`), not to a `{Self}` field",
    label = "`max_length` on a non-text field"
)]
pub trait MaxLengthField: FieldType {
    /// The length in characters, as `varchar(n)` counts it.
    fn char_len(&self) -> usize;
}
impl MaxLengthField for String {
    fn char_len(&self) -> usize {
        self.chars().count()
    }
}
impl MaxLengthField for Option<String> {
    fn char_len(&self) -> usize {
        self.as_deref().map_or(0, |s| s.chars().count())
    }
}

/// Field types `#[orm(citext)]` applies to: `String` and `Option<String>`.
#[diagnostic::on_unimplemented(
    message = "`citext` applies to text fields (`String`, `Option<String>`), not to a `{Self}` field",
    label = "`citext` on a non-text field"
)]
pub trait CiTextField: FieldType {}
impl CiTextField for String {}
impl CiTextField for Option<String> {}

/// Field types `max_digits` and `decimal_places` apply to:
/// [`Decimal`](crate::Decimal) and `Option<Decimal>` (`numeric(p, s)`).
#[diagnostic::on_unimplemented(
    message = "`max_digits`/`decimal_places` apply to `Decimal` fields, not to a `{Self}` field",
    label = "`max_digits` on a non-Decimal field",
    note = "a `numeric(p, s)` column is a `orm_core::Decimal` (rust_decimal) or `Option<Decimal>` field"
)]
pub trait DecimalField: FieldType {
    /// The decimal held, if any.
    fn decimal(&self) -> Option<rust_decimal::Decimal>;
}
impl DecimalField for rust_decimal::Decimal {
    fn decimal(&self) -> Option<rust_decimal::Decimal> {
        Some(*self)
    }
}
impl DecimalField for Option<rust_decimal::Decimal> {
    fn decimal(&self) -> Option<rust_decimal::Decimal> {
        *self
    }
}

/// Django's `DecimalValidator`: why `value` does not fit `numeric(max_digits,
/// decimal_places)`, in Django's words, or `None` when it does. Digits are
/// counted as Django counts them, trailing zeros included (`1.50` has two
/// decimal places), so a value is refused rather than rounded by the server.
pub(crate) fn decimal_error(
    value: rust_decimal::Decimal,
    max_digits: u32,
    decimal_places: u32,
) -> Option<String> {
    let scale = value.scale();
    let mut n = value.mantissa().unsigned_abs();
    let mut len = 1u32;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    let (digits, decimals) = if scale == 0 {
        (len, 0)
    } else if scale > len {
        (scale, scale)
    } else {
        (len, scale)
    };
    let plural = |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let whole = max_digits.saturating_sub(decimal_places);
    if digits > max_digits {
        Some(format!(
            "Ensure that there are no more than {} in total.",
            plural(max_digits, "digit", "digits")
        ))
    } else if decimals > decimal_places {
        Some(format!(
            "Ensure that there are no more than {}.",
            plural(decimal_places, "decimal place", "decimal places")
        ))
    } else if digits - decimals > whole {
        Some(format!(
            "Ensure that there are no more than {} before the decimal point.",
            plural(whole, "digit", "digits")
        ))
    } else {
        None
    }
}

/// Nullable field types (`Option<T>`), which `field = None` sets to NULL.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` field is NOT NULL: it cannot be compared with or set to `None`",
    label = "not an `Option` field"
)]
pub trait NullableField: FieldType {}
impl<T: BaseType> NullableField for Option<T> {}

/// Field types that `gt`, `gte`, `lt`, `lte` and `range` compare.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` field cannot be compared with gt/gte/lt/lte/range",
    label = "ordering lookup on an unordered field"
)]
pub trait OrderedField: FieldType {}

/// Field types the date transforms apply to (`year`, `iso_year`, `month`,
/// `day`, `week`, `week_day`, `iso_week_day`, `quarter`): `NaiveDate`,
/// `NaiveDateTime`, `DateTime<Utc>` and their `Option`s, as Django's
/// `DateField` and `DateTimeField`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a date or date-time field: `year`, `month`, `day`, ... do not apply to it",
    label = "not a date field",
    note = "date transforms apply to NaiveDate, NaiveDateTime and DateTime<Utc> fields (and their Options)"
)]
pub trait DateField: FieldType {}

/// Field types all transforms apply to, `date` and `time` included:
/// `NaiveDateTime`, `DateTime<Utc>` and their `Option`s (Django's
/// `DateTimeField`). A `DateTime<Utc>` is read in the
/// [active time zone](crate::timezone).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a date-time field: `date` and `time` do not apply to it",
    label = "not a date-time field",
    note = "`date` and `time` apply to NaiveDateTime and DateTime<Utc> fields (and their Options)"
)]
pub trait DateTimeField: DateField + TimeField {}

/// Field types the time transforms apply to (`hour`, `minute`, `second`):
/// `NaiveTime`, `NaiveDateTime`, `DateTime<Utc>` and their `Option`s, as
/// Django's `TimeField` and `DateTimeField`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a time or date-time field: `hour`, `minute` and `second` do not apply to it",
    label = "not a time field",
    note = "time transforms apply to NaiveTime, NaiveDateTime and DateTime<Utc> fields (and their Options)"
)]
pub trait TimeField: FieldType {}

impl DateField for NaiveDate {}
impl DateField for NaiveDateTime {}
impl DateField for DateTime<Utc> {}
impl TimeField for NaiveTime {}
impl TimeField for NaiveDateTime {}
impl TimeField for DateTime<Utc> {}
impl DateTimeField for NaiveDateTime {}
impl DateTimeField for DateTime<Utc> {}
impl<T: DateField + BaseType> DateField for Option<T> {}
impl<T: TimeField + BaseType> TimeField for Option<T> {}
impl<T: DateTimeField + BaseType> DateTimeField for Option<T> {}

/// Field types `auto_now` and `auto_now_add` can fill.
#[diagnostic::on_unimplemented(
    message = "`auto_now`/`auto_now_add` need a `DateTime<Utc>` or `NaiveDateTime` field, not `{Self}`",
    label = "not a timestamp"
)]
pub trait Timestamp: FieldType {
    /// The value for the time `now` (truncated to PostgreSQL's microseconds).
    fn from_now(now: DateTime<Utc>) -> Self;
}

impl Timestamp for DateTime<Utc> {
    fn from_now(now: DateTime<Utc>) -> Self {
        now.trunc_subsecs(6)
    }
}
impl Timestamp for NaiveDateTime {
    fn from_now(now: DateTime<Utc>) -> Self {
        now.trunc_subsecs(6).naive_utc()
    }
}
impl<T: Timestamp + BaseType> Timestamp for Option<T> {
    fn from_now(now: DateTime<Utc>) -> Self {
        Some(T::from_now(now))
    }
}

/// Implements [`FieldType`], [`BaseType`] and the [`Arg`] forms for a base type.
///
/// `$variant` is the [`Value`] variant; the listed argument types are the
/// values accepted for fields of this type (owned and borrowed forms).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_base_type {
    ($ty:ty, $sql:expr, $variant:ident, to: |$s:ident| $to:expr, from: |$f:ident| $from:expr, args: [$($arg:ty => |$a:ident| $conv:expr),* $(,)?]) => {
        impl $crate::types::FieldType for $ty {
            const SQL_TYPE: $crate::types::SqlType = $sql;
            type Base = Self;
            fn to_value(&self) -> $crate::Value {
                let $s = self;
                $crate::Value::$variant(Some($to))
            }
            fn from_value(value: $crate::Value) -> Option<Self> {
                match value {
                    $crate::Value::$variant(Some($f)) => $from,
                    _ => None,
                }
            }
        }
        impl $crate::types::BaseType for $ty {}
        $(
            #[diagnostic::do_not_recommend]
            impl<'__a> $crate::types::Arg<$ty> for $arg {
                fn into_value(self) -> $crate::Value {
                    let $a = self;
                    $crate::Value::$variant(Some($conv))
                }
            }
            #[diagnostic::do_not_recommend]
            impl<'__a> $crate::types::Arg<Option<$ty>> for $arg {
                fn into_value(self) -> $crate::Value {
                    let $a = self;
                    $crate::Value::$variant(Some($conv))
                }
            }
        )*
    };
}

macro_rules! copy_type {
    ($ty:ty, $sql:expr, $variant:ident) => {
        __impl_base_type!($ty, $sql, $variant, to: |s| *s, from: |v| Some(v),
            args: [$ty => |a| a, &'__a $ty => |a| *a]);
    };
}

copy_type!(bool, SqlType::Bool, Bool);
copy_type!(f32, SqlType::Real, F32);
copy_type!(f64, SqlType::Double, F64);
copy_type!(NaiveDate, SqlType::Date, Date);
copy_type!(NaiveTime, SqlType::Time, Time);
copy_type!(NaiveDateTime, SqlType::Timestamp, Timestamp);
copy_type!(DateTime<Utc>, SqlType::TimestampTz, TimestampTz);
copy_type!(Uuid, SqlType::Uuid, Uuid);
copy_type!(rust_decimal::Decimal, SqlType::Numeric, Decimal);
copy_type!(std::net::IpAddr, SqlType::Inet, Inet);
copy_type!(crate::Interval, SqlType::Interval, Interval);

macro_rules! int_type {
    ($ty:ty, $sql:expr, $variant:ident) => {
        impl FieldType for $ty {
            const SQL_TYPE: SqlType = $sql;
            type Base = Self;
            fn to_value(&self) -> Value {
                Value::$variant(Some(*self))
            }
            fn from_value(value: Value) -> Option<Self> {
                match value {
                    Value::$variant(Some(v)) => Some(v),
                    _ => None,
                }
            }
            fn is_unset_pk(&self) -> bool {
                *self == 0
            }
        }
        impl BaseType for $ty {}
        #[diagnostic::do_not_recommend]
        impl Arg<$ty> for $ty {
            fn into_value(self) -> Value {
                Value::$variant(Some(self))
            }
        }
        #[diagnostic::do_not_recommend]
        impl Arg<$ty> for &$ty {
            fn into_value(self) -> Value {
                Value::$variant(Some(*self))
            }
        }
        #[diagnostic::do_not_recommend]
        impl Arg<Option<$ty>> for $ty {
            fn into_value(self) -> Value {
                Value::$variant(Some(self))
            }
        }
        #[diagnostic::do_not_recommend]
        impl Arg<Option<$ty>> for &$ty {
            fn into_value(self) -> Value {
                Value::$variant(Some(*self))
            }
        }
        impl OrderedField for $ty {}
        impl OrderedField for Option<$ty> {}
    };
}

int_type!(i16, SqlType::SmallInt, I16);
int_type!(i32, SqlType::Integer, I32);
int_type!(i64, SqlType::BigInt, I64);

__impl_base_type!(String, SqlType::Text, Text, to: |s| s.clone(), from: |v| Some(v),
    args: [&'__a str => |a| a.to_owned(), String => |a| a, &'__a String => |a| a.clone()]);
__impl_base_type!(Vec<u8>, SqlType::Bytea, Bytes, to: |s| s.clone(), from: |v| Some(v),
    args: [&'__a [u8] => |a| a.to_vec(), Vec<u8> => |a| a, &'__a Vec<u8> => |a| a.clone()]);
__impl_base_type!(serde_json::Value, SqlType::Jsonb, Json, to: |s| s.clone(), from: |v| Some(v),
    args: [serde_json::Value => |a| a, &'__a serde_json::Value => |a| a.clone()]);

macro_rules! ordered {
    ($($ty:ty),*) => { $( impl OrderedField for $ty {} impl OrderedField for Option<$ty> {} )* };
}
ordered!(
    f32,
    f64,
    String,
    NaiveDate,
    NaiveTime,
    NaiveDateTime,
    DateTime<Utc>,
    Uuid,
    rust_decimal::Decimal,
    std::net::IpAddr,
    crate::Interval
);

/// An enum stored as text, implemented by `#[derive(DbEnum)]`.
pub trait DbEnum: Sized + Copy + Send + Sync + 'static {
    /// The stored names of the variants, in declaration order.
    const VARIANTS: &'static [&'static str];
    /// The stored name of this variant.
    fn as_str(&self) -> &'static str;
    /// The variant stored under `name`.
    fn from_name(name: &str) -> Option<Self>;
}

/// Implements the field traits and `ToSql`/`FromSql` for a [`DbEnum`] (used
/// by `#[derive(DbEnum)]`).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_db_enum {
    ($ty:ty) => {
        impl $crate::__private::ToSql for $ty {
            fn to_sql(
                &self,
                ty: &$crate::__private::Type,
                out: &mut $crate::__private::BytesMut,
            ) -> ::std::result::Result<
                $crate::__private::IsNull,
                ::std::boxed::Box<dyn ::std::error::Error + Sync + Send>,
            > {
                <&str as $crate::__private::ToSql>::to_sql(
                    &<$ty as $crate::types::DbEnum>::as_str(self),
                    ty,
                    out,
                )
            }
            fn accepts(ty: &$crate::__private::Type) -> bool {
                <&str as $crate::__private::ToSql>::accepts(ty)
            }
            $crate::__private::to_sql_checked!();
        }
        impl<'a> $crate::__private::FromSql<'a> for $ty {
            fn from_sql(
                ty: &$crate::__private::Type,
                raw: &'a [u8],
            ) -> ::std::result::Result<Self, ::std::boxed::Box<dyn ::std::error::Error + Sync + Send>>
            {
                let name = <&str as $crate::__private::FromSql>::from_sql(ty, raw)?;
                <$ty as $crate::types::DbEnum>::from_name(name).ok_or_else(|| {
                    format!(
                        "`{}` is not a variant of {} (expected one of: {})",
                        name,
                        stringify!($ty),
                        <$ty as $crate::types::DbEnum>::VARIANTS.join(", ")
                    )
                    .into()
                })
            }
            fn accepts(ty: &$crate::__private::Type) -> bool {
                <&str as $crate::__private::FromSql>::accepts(ty)
            }
        }
        impl $crate::types::FieldType for $ty {
            const SQL_TYPE: $crate::types::SqlType =
                $crate::types::SqlType::Enum(<$ty as $crate::types::DbEnum>::VARIANTS);
            type Base = Self;
            fn to_value(&self) -> $crate::Value {
                $crate::Value::Text(Some(<$ty as $crate::types::DbEnum>::as_str(self).to_owned()))
            }
            fn from_value(value: $crate::Value) -> Option<Self> {
                match value {
                    $crate::Value::Text(Some(v)) => <$ty as $crate::types::DbEnum>::from_name(&v),
                    _ => None,
                }
            }
        }
        impl $crate::types::BaseType for $ty {}
        impl $crate::types::ArrayItem for $ty {
            const ELEMENT: &'static $crate::types::SqlType =
                &$crate::types::SqlType::Enum(<$ty as $crate::types::DbEnum>::VARIANTS);
        }
        // `Option<E>: Arg<Option<E>>` comes from the blanket impl over
        // `Option<A>`: the orphan rule forbids it in the enum's crate.
        impl $crate::types::Arg<$ty> for $ty {
            fn into_value(self) -> $crate::Value {
                $crate::types::FieldType::to_value(&self)
            }
        }
        impl $crate::types::Arg<$ty> for &$ty {
            fn into_value(self) -> $crate::Value {
                $crate::types::FieldType::to_value(self)
            }
        }
        impl $crate::types::Arg<Option<$ty>> for $ty {
            fn into_value(self) -> $crate::Value {
                $crate::types::FieldType::to_value(&self)
            }
        }
        impl $crate::types::Arg<Option<$ty>> for &$ty {
            fn into_value(self) -> $crate::Value {
                $crate::types::FieldType::to_value(self)
            }
        }
    };
}

/// Decodes any column without looking at it: `Option<AnyValue>` tells a
/// NULL from a value (used to spot the empty side of a LEFT JOIN).
#[doc(hidden)]
#[derive(Debug)]
pub struct AnyValue;

impl<'a> FromSql<'a> for AnyValue {
    fn from_sql(
        _ty: &postgres_types::Type,
        _raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(AnyValue)
    }
    fn accepts(_ty: &postgres_types::Type) -> bool {
        true
    }
}

/// Field types stored in a column (not `ManyToMany` / `Reverse`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is a relation, not a column: it cannot be ordered or assigned",
    label = "not a column"
)]
pub trait Column: FieldType {}
impl<T: BaseType> Column for T {}
impl<T: BaseType> Column for Option<T> {}
