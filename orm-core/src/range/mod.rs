//! Range values (PostgreSQL's range types, Django's `contrib.postgres`
//! range fields): [`Range<T>`], its binary wire format (written here by
//! hand: `postgres-types` has none) and its text form (`[1,10)`, `(,5]`,
//! `empty`, PostgreSQL's literal syntax). The fields and their lookups are
//! in `fields.rs`.
//!
//! A range has a lower and an upper bound, each inclusive, exclusive or
//! unbounded, or is empty. Its constructors follow Django's (psycopg's)
//! `NumericRange(1, 10)`, whose bounds default to `[)`:
//!
//! ```
//! use orm_core::Range;
//!
//! let r = Range::new(1, 10); // [1,10)
//! assert!(r.lower_inc() && !r.upper_inc());
//! assert_eq!(r, Range::from(1..10));
//! assert_eq!(Range::closed(1, 10), Range::from(1..=10)); // [1,10]
//! assert_eq!(Range::from(..5).to_string(), "(,5)");
//! assert!(Range::<i32>::empty().is_empty());
//! assert_eq!("[1,10)".parse::<Range<i32>>().unwrap(), r);
//! ```
//!
//! Ranges of discrete elements (`int4range`, `int8range`, `daterange`) are
//! normalized by the server to the `[)` form: `[1,10]` is stored, and
//! reads back, as `[1,11)`, and `[5,5)` as `empty`. This crate sends the
//! bounds as given and does not normalize them itself, so compare what
//! you read back with the `[)` form.

pub(crate) mod fields;
pub(crate) mod runtime;

use std::error::Error as StdError;
use std::fmt;
use std::ops::Bound;

use bytes::{BufMut, BytesMut};
use postgres_types::{FromSql, IsNull, Kind, ToSql, Type};

/// A range of `T`: a lower and an upper bound (each inclusive, exclusive
/// or unbounded), or empty. A model field of type `Range<T>` is a
/// PostgreSQL range column: `Range<i32>` is `int4range`, `Range<i64>`
/// `int8range`, `Range<NaiveDate>` `daterange`, `Range<NaiveDateTime>`
/// `tsrange`, `Range<DateTime<Utc>>` `tstzrange`.
///
/// The default is the empty range.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Range<T> {
    /// `None`: empty.
    bounds: Option<(Bound<T>, Bound<T>)>,
}

impl<T> Default for Range<T> {
    fn default() -> Self {
        Range::empty()
    }
}

impl<T> Range<T> {
    /// `[lower, upper)`: the lower bound included, the upper one excluded,
    /// as Django's `NumericRange(lower, upper)` and PostgreSQL's
    /// `int4range(lower, upper)`.
    pub const fn new(lower: T, upper: T) -> Self {
        Range::from_bounds(Bound::Included(lower), Bound::Excluded(upper))
    }

    /// `[lower, upper]`: both bounds included (`bounds='[]'`).
    pub const fn closed(lower: T, upper: T) -> Self {
        Range::from_bounds(Bound::Included(lower), Bound::Included(upper))
    }

    /// The empty range (`'empty'`), which contains nothing.
    pub const fn empty() -> Self {
        Range { bounds: None }
    }

    /// A range of the given bounds: `Bound::Unbounded` for an infinite one
    /// (`(,5]` is `from_bounds(Unbounded, Included(5))`).
    pub const fn from_bounds(lower: Bound<T>, upper: Bound<T>) -> Self {
        Range {
            bounds: Some((lower, upper)),
        }
    }

    /// True for the empty range.
    pub const fn is_empty(&self) -> bool {
        self.bounds.is_none()
    }

    /// The lower bound (`Unbounded` for an empty range, as PostgreSQL's
    /// `lower()` is NULL for it).
    pub fn lower_bound(&self) -> Bound<&T> {
        match &self.bounds {
            Some((lower, _)) => lower.as_ref(),
            None => Bound::Unbounded,
        }
    }

    /// The upper bound (`Unbounded` for an empty range).
    pub fn upper_bound(&self) -> Bound<&T> {
        match &self.bounds {
            Some((_, upper)) => upper.as_ref(),
            None => Bound::Unbounded,
        }
    }

    /// The lower bound's value: `None` when unbounded or empty
    /// (PostgreSQL's `lower()`).
    pub fn lower(&self) -> Option<&T> {
        bound_value(self.lower_bound())
    }

    /// The upper bound's value: `None` when unbounded or empty
    /// (PostgreSQL's `upper()`).
    pub fn upper(&self) -> Option<&T> {
        bound_value(self.upper_bound())
    }

    /// The lower bound is included (`lower_inc()`; false when empty).
    pub fn lower_inc(&self) -> bool {
        matches!(self.lower_bound(), Bound::Included(_))
    }

    /// The upper bound is included (`upper_inc()`; false when empty).
    pub fn upper_inc(&self) -> bool {
        matches!(self.upper_bound(), Bound::Included(_))
    }

    /// The range has no lower bound (`lower_inf()`; false when empty).
    pub fn lower_inf(&self) -> bool {
        matches!(&self.bounds, Some((Bound::Unbounded, _)))
    }

    /// The range has no upper bound (`upper_inf()`; false when empty).
    pub fn upper_inf(&self) -> bool {
        matches!(&self.bounds, Some((_, Bound::Unbounded)))
    }

    /// The range with `f` applied to its bounds.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Range<U> {
        Range {
            bounds: self
                .bounds
                .map(|(lower, upper)| (lower.map(&mut f), upper.map(&mut f))),
        }
    }

    /// The range with `f` applied to its bounds, `None` when `f` gives
    /// `None` for one.
    pub fn try_map<U>(self, mut f: impl FnMut(T) -> Option<U>) -> Option<Range<U>> {
        let mut bound = |b: Bound<T>| -> Option<Bound<U>> {
            Some(match b {
                Bound::Included(v) => Bound::Included(f(v)?),
                Bound::Excluded(v) => Bound::Excluded(f(v)?),
                Bound::Unbounded => Bound::Unbounded,
            })
        };
        Some(Range {
            bounds: match self.bounds {
                Some((lower, upper)) => Some((bound(lower)?, bound(upper)?)),
                None => None,
            },
        })
    }
}

fn bound_value<T>(bound: Bound<&T>) -> Option<&T> {
    match bound {
        Bound::Included(v) | Bound::Excluded(v) => Some(v),
        Bound::Unbounded => None,
    }
}

/// `1..10` is `[1,10)`.
impl<T> From<std::ops::Range<T>> for Range<T> {
    fn from(r: std::ops::Range<T>) -> Self {
        Range::new(r.start, r.end)
    }
}

/// `1..=10` is `[1,10]`.
impl<T> From<std::ops::RangeInclusive<T>> for Range<T> {
    fn from(r: std::ops::RangeInclusive<T>) -> Self {
        let (lower, upper) = r.into_inner();
        Range::closed(lower, upper)
    }
}

/// `1..` is `[1,)`.
impl<T> From<std::ops::RangeFrom<T>> for Range<T> {
    fn from(r: std::ops::RangeFrom<T>) -> Self {
        Range::from_bounds(Bound::Included(r.start), Bound::Unbounded)
    }
}

/// `..5` is `(,5)`.
impl<T> From<std::ops::RangeTo<T>> for Range<T> {
    fn from(r: std::ops::RangeTo<T>) -> Self {
        Range::from_bounds(Bound::Unbounded, Bound::Excluded(r.end))
    }
}

/// `..=5` is `(,5]`.
impl<T> From<std::ops::RangeToInclusive<T>> for Range<T> {
    fn from(r: std::ops::RangeToInclusive<T>) -> Self {
        Range::from_bounds(Bound::Unbounded, Bound::Included(r.end))
    }
}

/// `..` is `(,)`: every value.
impl<T> From<std::ops::RangeFull> for Range<T> {
    fn from(_: std::ops::RangeFull) -> Self {
        Range::from_bounds(Bound::Unbounded, Bound::Unbounded)
    }
}

/// The PostgreSQL range types, by element: each is one row here (its
/// names) and one in `SqlType::range_element` (its element type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RangeKind {
    /// `int4range` (`Range<i32>`).
    Int4,
    /// `int8range` (`Range<i64>`).
    Int8,
    /// `daterange` (`Range<NaiveDate>`).
    Date,
    /// `tsrange` (`Range<NaiveDateTime>`).
    Ts,
    /// `tstzrange` (`Range<DateTime<Utc>>`).
    TsTz,
    /// `numrange` (`Range<Decimal>`, Django's `DecimalRangeField`).
    Num,
}

impl RangeKind {
    /// The range type's name: `int4range`.
    pub const fn name(self) -> &'static str {
        match self {
            RangeKind::Int4 => "int4range",
            RangeKind::Int8 => "int8range",
            RangeKind::Date => "daterange",
            RangeKind::Ts => "tsrange",
            RangeKind::TsTz => "tstzrange",
            RangeKind::Num => "numrange",
        }
    }

    /// The element type's name (for a cast: `$1::integer`).
    pub const fn element_name(self) -> &'static str {
        match self {
            RangeKind::Int4 => "integer",
            RangeKind::Int8 => "bigint",
            RangeKind::Date => "date",
            RangeKind::Ts => "timestamp",
            RangeKind::TsTz => "timestamptz",
            RangeKind::Num => "numeric",
        }
    }
}

// ------------------------------------------------------------ binary form

/// The flags byte of PostgreSQL's binary range format (`rangetypes.h`).
const EMPTY: u8 = 0x01;
const LB_INC: u8 = 0x02;
const UB_INC: u8 = 0x04;
const LB_INF: u8 = 0x08;
const UB_INF: u8 = 0x10;

type BoxError = Box<dyn StdError + Sync + Send>;

/// The element type of range type `ty`.
fn element_type(ty: &Type) -> Result<&Type, BoxError> {
    match ty.kind() {
        Kind::Range(element) => Ok(element),
        _ => Err(format!("cannot bind a range to a parameter of type {ty}").into()),
    }
}

/// PostgreSQL's `range_send`: the flags, then each finite bound as a
/// length-prefixed element.
impl<T: ToSql> ToSql for Range<T> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let element = element_type(ty)?;
        let Some((lower, upper)) = &self.bounds else {
            out.put_u8(EMPTY);
            return Ok(IsNull::No);
        };
        let flags = match lower {
            Bound::Included(_) => LB_INC,
            Bound::Excluded(_) => 0,
            Bound::Unbounded => LB_INF,
        } | match upper {
            Bound::Included(_) => UB_INC,
            Bound::Excluded(_) => 0,
            Bound::Unbounded => UB_INF,
        };
        out.put_u8(flags);
        for bound in [lower, upper] {
            if let Some(value) = bound_value(bound.as_ref()) {
                let at = out.len();
                out.put_i32(0);
                if let IsNull::Yes = value.to_sql_checked(element, out)? {
                    return Err("a range bound cannot be NULL (leave it unbounded)".into());
                }
                let len = i32::try_from(out.len() - at - 4)
                    .map_err(|_| "a range bound is too large to send")?;
                out[at..at + 4].copy_from_slice(&len.to_be_bytes());
            }
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.kind(), Kind::Range(element) if T::accepts(element))
    }

    postgres_types::to_sql_checked!();
}

/// PostgreSQL's `range_recv`.
impl<'a, T: FromSql<'a>> FromSql<'a> for Range<T> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let element = element_type(ty)?;
        let (&flags, mut rest) = raw.split_first().ok_or("a range value without flags")?;
        if flags & EMPTY != 0 {
            return Ok(Range::empty());
        }
        let mut bound = |inf: u8, inc: u8| -> Result<Bound<T>, BoxError> {
            if flags & inf != 0 {
                return Ok(Bound::Unbounded);
            }
            let (len, tail) = rest
                .split_first_chunk::<4>()
                .ok_or("a range bound without its length")?;
            let len = usize::try_from(i32::from_be_bytes(*len))
                .map_err(|_| "a range bound of negative length")?;
            if tail.len() < len {
                return Err("a range bound longer than the value".into());
            }
            let (bytes, tail) = tail.split_at(len);
            rest = tail;
            let value = T::from_sql(element, bytes)?;
            Ok(if flags & inc != 0 {
                Bound::Included(value)
            } else {
                Bound::Excluded(value)
            })
        };
        let lower = bound(LB_INF, LB_INC)?;
        let upper = bound(UB_INF, UB_INC)?;
        if !rest.is_empty() {
            return Err("extra bytes after a range value".into());
        }
        Ok(Range::from_bounds(lower, upper))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.kind(), Kind::Range(element) if T::accepts(element))
    }
}

// -------------------------------------------------------------- text form

/// How a bound is written in a range literal.
pub trait WriteBound {
    /// The bound as PostgreSQL reads it inside a range literal (unquoted
    /// text without `,`, `(`, `)`, `[`, `]`, `"`, `\` or spaces).
    fn write_bound(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// How a bound is read from a range literal.
pub trait BoundText: WriteBound + Sized {
    /// A bound's text (unquoted), or why it is not one.
    fn read_bound(text: &str) -> Result<Self, String>;
}

macro_rules! bound_text {
    ($($ty:ty => $what:literal, |$v:ident, $f:ident| $write:expr;)*) => {$(
        impl WriteBound for $ty {
            fn write_bound(&self, $f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let $v = self;
                $write
            }
        }
        impl BoundText for $ty {
            fn read_bound(text: &str) -> Result<Self, String> {
                text.parse().map_err(|_| format!("`{text}` is not {}", $what))
            }
        }
    )*};
}

bound_text! {
    i32 => "an integer", |v, f| write!(f, "{v}");
    i64 => "a bigint", |v, f| write!(f, "{v}");
    rust_decimal::Decimal => "a decimal number", |v, f| write!(f, "{v}");
    chrono::NaiveDate => "a date (YYYY-MM-DD)", |v, f| write!(f, "{}", v.format("%Y-%m-%d"));
    chrono::NaiveDateTime => "a timestamp (YYYY-MM-DDTHH:MM:SS)",
        |v, f| write!(f, "{}", v.format("%Y-%m-%dT%H:%M:%S%.f"));
}

impl WriteBound for chrono::DateTime<chrono::Utc> {
    fn write_bound(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

impl BoundText for chrono::DateTime<chrono::Utc> {
    fn read_bound(text: &str) -> Result<Self, String> {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|_| format!("`{text}` is not an RFC 3339 timestamp"))
    }
}

/// PostgreSQL's literal: `[1,10)`, `(,5]`, `empty`.
impl<T: WriteBound> fmt::Display for Range<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((lower, upper)) = &self.bounds else {
            return f.write_str("empty");
        };
        f.write_str(if matches!(lower, Bound::Included(_)) {
            "["
        } else {
            "("
        })?;
        if let Some(v) = bound_value(lower.as_ref()) {
            v.write_bound(f)?;
        }
        f.write_str(",")?;
        if let Some(v) = bound_value(upper.as_ref()) {
            v.write_bound(f)?;
        }
        f.write_str(if matches!(upper, Bound::Included(_)) {
            "]"
        } else {
            ")"
        })
    }
}

/// The longest range literal read, in bytes: two bounds of the element
/// types here fit many times over. Longer text is refused before it is
/// looked at.
pub const MAX_RANGE_TEXT: usize = 200;

/// Reads PostgreSQL's literal (`[1,10)`, `(,5]`, `(1,)`, `empty`, bounds
/// optionally in double quotes) into its bound texts; an empty bound is
/// unbounded. Linear in the text, which is at most [`MAX_RANGE_TEXT`]
/// bytes.
pub(crate) fn parse_literal(text: &str) -> Result<Range<&str>, String> {
    let shown = || {
        if text.len() > 40 {
            let mut end = 40;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}...", &text[..end])
        } else {
            text.to_owned()
        }
    };
    if text.len() > MAX_RANGE_TEXT {
        return Err(format!(
            "`{}` is not a range: longer than {MAX_RANGE_TEXT} bytes",
            shown()
        ));
    }
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case("empty") {
        return Ok(Range::empty());
    }
    let bad = || {
        format!(
            "`{}` is not a range: expected `[lower,upper)` (each bracket `[`/`]` inclusive or `(`/`)` exclusive, an empty bound unbounded: `(,5]`) or `empty`",
            shown()
        )
    };
    let mut chars = trimmed.chars();
    let (Some(open), Some(close)) = (chars.next(), chars.next_back()) else {
        return Err(bad());
    };
    let inner = chars.as_str();
    let (lower, upper) = match inner.split_once(',') {
        Some((l, u)) if !u.contains(',') => (l.trim(), u.trim()),
        _ => return Err(bad()),
    };
    fn bound<'t>(
        b: &'t str,
        inclusive: bool,
        bad: &dyn Fn() -> String,
    ) -> Result<Bound<&'t str>, String> {
        let b = b
            .strip_prefix('"')
            .and_then(|b| b.strip_suffix('"'))
            .unwrap_or(b);
        if b.is_empty() {
            Ok(Bound::Unbounded)
        } else if b.contains(['"', '(', ')', '[', ']', '\\']) {
            Err(bad())
        } else if inclusive {
            Ok(Bound::Included(b))
        } else {
            Ok(Bound::Excluded(b))
        }
    }
    let lower_inc = match open {
        '[' => true,
        '(' => false,
        _ => return Err(bad()),
    };
    let upper_inc = match close {
        ']' => true,
        ')' => false,
        _ => return Err(bad()),
    };
    Ok(Range::from_bounds(
        bound(lower, lower_inc, &bad)?,
        bound(upper, upper_inc, &bad)?,
    ))
}

/// A range's bounds parsed with `parse`: `Err` names the range and the
/// bad bound.
pub(crate) fn parse_with<T>(
    text: &str,
    mut parse: impl FnMut(&str) -> Result<T, String>,
) -> Result<Range<T>, String> {
    let literal = parse_literal(text)?;
    let mut error = None;
    let range = literal.try_map(|b| match parse(b) {
        Ok(v) => Some(v),
        Err(e) => {
            error = Some(e);
            None
        }
    });
    range.ok_or_else(|| {
        format!(
            "`{}` is not a valid range: {}",
            text.trim(),
            error.unwrap_or_default()
        )
    })
}

/// Why a text is not a range literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeParseError(String);

impl fmt::Display for RangeParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for RangeParseError {}

/// Reads PostgreSQL's literal: `"[1,10)".parse::<Range<i32>>()`.
impl<T: BoundText> std::str::FromStr for Range<T> {
    type Err = RangeParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_with(text, T::read_bound).map_err(RangeParseError)
    }
}

/// With the `serde` feature: `{"lower": 1, "upper": 10, "bounds": "[)"}`
/// (an unbounded side `null`), the empty range `{"empty": true}`, as
/// Django REST framework's range fields (drf-extra-fields) write them.
#[cfg(feature = "serde")]
impl<T: serde::Serialize> serde::Serialize for Range<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Some((lower, upper)) = &self.bounds else {
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry("empty", &true)?;
            return map.end();
        };
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("lower", &bound_value(lower.as_ref()))?;
        map.serialize_entry("upper", &bound_value(upper.as_ref()))?;
        let bounds = match (lower, upper) {
            (Bound::Included(_), Bound::Included(_)) => "[]",
            (Bound::Included(_), _) => "[)",
            (_, Bound::Included(_)) => "(]",
            _ => "()",
        };
        map.serialize_entry("bounds", bounds)?;
        map.end()
    }
}

/// With the `serde` feature: what `Serialize` writes; `bounds` defaults
/// to `"[)"`, a missing `lower`/`upper` is unbounded.
#[cfg(feature = "serde")]
impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Range<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Parts<T> {
            #[serde(default)]
            empty: bool,
            #[serde(default = "none")]
            lower: Option<T>,
            #[serde(default = "none")]
            upper: Option<T>,
            #[serde(default)]
            bounds: Option<String>,
        }
        fn none<T>() -> Option<T> {
            None
        }
        let parts = Parts::<T>::deserialize(deserializer)?;
        if parts.empty {
            return Ok(Range::empty());
        }
        let bounds = parts.bounds.as_deref().unwrap_or("[)");
        let (lower_inc, upper_inc) = match bounds {
            "[)" => (true, false),
            "[]" => (true, true),
            "(]" => (false, true),
            "()" => (false, false),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "`{other}` is not a range's bounds: expected \"[)\", \"[]\", \"(]\" or \"()\""
                )))
            }
        };
        let bound = |v: Option<T>, inc: bool| match v {
            Some(v) if inc => Bound::Included(v),
            Some(v) => Bound::Excluded(v),
            None => Bound::Unbounded,
        };
        Ok(Range::from_bounds(
            bound(parts.lower, lower_inc),
            bound(parts.upper, upper_inc),
        ))
    }
}

#[cfg(test)]
mod tests;
