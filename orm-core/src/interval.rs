//! [`Interval`]: PostgreSQL's `interval` (Django's `DurationField`).
//!
//! # Why a type of our own
//!
//! chrono's `TimeDelta` cannot be a field type: [`FieldType`] needs
//! `ToSql`/`FromSql`, neither trait nor type is ours (the orphan rule), and
//! `Model::field_sql` lends out a `&dyn ToSql` borrowed from the field, so a
//! wrapper made on the fly would not outlive the call. A crate-owned type
//! solves both, and holding PostgreSQL's own three parts (months, days,
//! microseconds) makes it lossless both ways: `'1 mon'` and `'30 days'`
//! are different intervals to PostgreSQL (`'2024-01-31' + '1 mon'` is
//! February 29th, `+ '30 days'` March 1st), and a `TimeDelta` cannot tell
//! them apart. Conversions to and from `TimeDelta` are given, with
//! psycopg's rule for months (what Django reads on PostgreSQL).
//!
//! [`FieldType`]: crate::types::FieldType

use std::cmp::Ordering;
use std::error::Error as StdError;
use std::fmt;

use bytes::{BufMut, BytesMut};
use chrono::TimeDelta;
use postgres_types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

const US_PER_SEC: i64 = 1_000_000;
const US_PER_MIN: i64 = 60 * US_PER_SEC;
const US_PER_HOUR: i64 = 60 * US_PER_MIN;
const US_PER_DAY: i64 = 24 * US_PER_HOUR;

/// A PostgreSQL `interval` (Django's `DurationField`): months, days and
/// microseconds, as PostgreSQL stores them, each with its own sign.
///
/// `Interval::from_days(1) + ...` style constructors build the common
/// ones; [`TimeDelta`] converts both ways (see [`TryFrom<Interval>`] for
/// months). Equality is field by field (`1 mon` is not `30 days`, as in
/// Rust's `==` of the parts); [`PartialOrd`] orders as PostgreSQL does,
/// a month as 30 days and a day as 24 hours (`'1 mon' < '31 days'`), and
/// gives `None` for two different intervals PostgreSQL counts as equal
/// (`1 mon` and `30 days`); [`Interval::pg_cmp`] is PostgreSQL's total
/// order itself.
///
/// Text: [`Display`](fmt::Display) writes PostgreSQL's own output
/// (`1 year 2 mons 3 days 04:05:06.5`); [`FromStr`](std::str::FromStr)
/// reads that, Django's `duration_string` (`3 04:05:06`, `-1 23:59:59`,
/// `04:05:06.5`, a number of seconds) and ISO 8601 (`P1DT2H`,
/// `-PT1.5S`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    /// Whole months (a year is 12).
    pub months: i32,
    /// Whole days.
    pub days: i32,
    /// Microseconds (may exceed a day: `'25:00:00'`).
    pub microseconds: i64,
}

impl Interval {
    /// The zero interval.
    pub const ZERO: Interval = Interval::new(0, 0, 0);

    /// An interval of its three parts.
    pub const fn new(months: i32, days: i32, microseconds: i64) -> Interval {
        Interval {
            months,
            days,
            microseconds,
        }
    }

    /// `n` months (`n mons`).
    pub const fn from_months(n: i32) -> Interval {
        Interval::new(n, 0, 0)
    }

    /// `n` days (`n days`: a calendar day, 23 or 25 hours over a DST change
    /// when added to a `timestamptz`).
    pub const fn from_days(n: i32) -> Interval {
        Interval::new(0, n, 0)
    }

    /// `n` hours, as microseconds.
    pub const fn from_hours(n: i64) -> Interval {
        Interval::new(0, 0, n * US_PER_HOUR)
    }

    /// `n` minutes, as microseconds.
    pub const fn from_minutes(n: i64) -> Interval {
        Interval::new(0, 0, n * US_PER_MIN)
    }

    /// `n` seconds, as microseconds.
    pub const fn from_secs(n: i64) -> Interval {
        Interval::new(0, 0, n * US_PER_SEC)
    }

    /// `n` microseconds.
    pub const fn from_micros(n: i64) -> Interval {
        Interval::new(0, 0, n)
    }

    /// The interval in microseconds as PostgreSQL compares intervals
    /// (`interval_cmp_value`): a month is 30 days, a day 24 hours.
    pub const fn pg_micros(&self) -> i128 {
        (self.months as i128 * 30 + self.days as i128) * US_PER_DAY as i128
            + self.microseconds as i128
    }

    /// PostgreSQL's order of intervals (`ORDER BY`, `<`, `max()`): by
    /// [`pg_micros`](Interval::pg_micros), so `1 mon` and `30 days` are
    /// `Equal`.
    pub fn pg_cmp(&self, other: &Interval) -> Ordering {
        self.pg_micros().cmp(&other.pg_micros())
    }

    /// Django's `duration_string` of this interval read as a `TimeDelta`
    /// (months by psycopg's rule): `3 04:05:06`, `-1 23:59:59`,
    /// `00:00:01.500000`; `None` beyond `TimeDelta`'s range.
    pub fn duration_string(&self) -> Option<String> {
        let td = TimeDelta::try_from(*self).ok()?;
        let us = i128::from(td.num_microseconds()?);
        // Python's `timedelta` normalization: days floor, the rest positive.
        let day = i128::from(US_PER_DAY);
        let (days, rest) = (us.div_euclid(day), us.rem_euclid(day) as i64);
        let (h, m, s, f) = (
            rest / US_PER_HOUR,
            rest / US_PER_MIN % 60,
            rest / US_PER_SEC % 60,
            rest % US_PER_SEC,
        );
        let mut out = String::new();
        if days != 0 {
            out = format!("{days} ");
        }
        out += &format!("{h:02}:{m:02}:{s:02}");
        if f != 0 {
            out += &format!(".{f:06}");
        }
        Some(out)
    }
}

/// As PostgreSQL orders intervals (a month is 30 days), consistent with
/// `==`: two intervals with different parts that PostgreSQL counts as
/// equal (`1 mon`, `30 days`) are unordered (`None`).
impl PartialOrd for Interval {
    fn partial_cmp(&self, other: &Interval) -> Option<Ordering> {
        match self.pg_cmp(other) {
            Ordering::Equal if self != other => None,
            order => Some(order),
        }
    }
}

/// Why a `TimeDelta` and an [`Interval`] do not convert: out of the other's
/// range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntervalRangeError;

impl fmt::Display for IntervalRangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the duration is out of the range of the target type")
    }
}

impl StdError for IntervalRangeError {}

/// Whole days and the rest in microseconds, both with the delta's sign
/// (`-00:00:01` stays `-00:00:01`, not psycopg's `-1 days +23:59:59`:
/// PostgreSQL compares both as equal). Sub-microsecond nanoseconds are
/// dropped, as PostgreSQL keeps microseconds. Fails beyond
/// ±2³¹ days (about 5.8 million years).
impl TryFrom<TimeDelta> for Interval {
    type Error = IntervalRangeError;
    fn try_from(td: TimeDelta) -> Result<Interval, IntervalRangeError> {
        let days = td.num_days();
        let rest = td - TimeDelta::days(days);
        let micros = rest.num_microseconds().ok_or(IntervalRangeError)?;
        Ok(Interval::new(
            0,
            i32::try_from(days).map_err(|_| IntervalRangeError)?,
            micros,
        ))
    }
}

/// psycopg's rule (what Django's `DurationField` reads on PostgreSQL):
/// months become years of 365 days and months of 30 days
/// (`|months| / 12 * 365 + |months| % 12 * 30`, with the months' sign),
/// then days of 24 hours and the microseconds. Never fails for an
/// interval PostgreSQL can hold; the `Result` is for the largest parts.
impl TryFrom<Interval> for TimeDelta {
    type Error = IntervalRangeError;
    fn try_from(i: Interval) -> Result<TimeDelta, IntervalRangeError> {
        let months = i64::from(i.months).abs();
        let month_days = months / 12 * 365 + months % 12 * 30;
        let days = i64::from(i.days) + i64::from(i.months.signum()) * month_days;
        TimeDelta::try_days(days)
            .and_then(|d| d.checked_add(&TimeDelta::microseconds(i.microseconds)))
            .ok_or(IntervalRangeError)
    }
}

// ------------------------------------------------------------ binary form

/// `interval_send`: microseconds (int8), days (int4), months (int4).
impl ToSql for Interval {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.put_i64(self.microseconds);
        out.put_i32(self.days);
        out.put_i32(self.months);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }

    to_sql_checked!();
}

/// `interval_recv`.
impl<'a> FromSql<'a> for Interval {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        let raw: &[u8; 16] = raw
            .try_into()
            .map_err(|_| format!("an interval is 16 bytes, not {}", raw.len()))?;
        let (us, rest) = raw.split_at(8);
        let (days, months) = rest.split_at(4);
        Ok(Interval::new(
            i32::from_be_bytes(months.try_into()?),
            i32::from_be_bytes(days.try_into()?),
            i64::from_be_bytes(us.try_into()?),
        ))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

// ------------------------------------------------------------ text form

/// PostgreSQL's output (`IntervalStyle = postgres`): `1 year 2 mons 3 days
/// 04:05:06.5`, `-1 days +02:00:00`, `00:00:00`.
impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut before_negative = false;
        let mut wrote = false;
        let (years, mons) = (self.months / 12, self.months % 12);
        for (n, one, many) in [
            (i64::from(years), "year", "years"),
            (i64::from(mons), "mon", "mons"),
            (i64::from(self.days), "day", "days"),
        ] {
            if n == 0 {
                continue;
            }
            let sign = if before_negative && n > 0 { "+" } else { "" };
            let unit = if n == 1 { one } else { many };
            write!(f, "{}{sign}{n} {unit}", if wrote { " " } else { "" })?;
            before_negative |= n < 0;
            wrote = true;
        }
        let us = self.microseconds;
        if us != 0 || !wrote {
            let sign = if us < 0 {
                "-"
            } else if before_negative {
                "+"
            } else {
                ""
            };
            let a = us.unsigned_abs();
            let us_per = |n: i64| n.unsigned_abs();
            write!(
                f,
                "{}{sign}{:02}:{:02}:{:02}",
                if wrote { " " } else { "" },
                a / us_per(US_PER_HOUR),
                a / us_per(US_PER_MIN) % 60,
                a / us_per(US_PER_SEC) % 60,
            )?;
            let frac = a % us_per(US_PER_SEC);
            if frac != 0 {
                let digits = format!("{frac:06}");
                write!(f, ".{}", digits.trim_end_matches('0'))?;
            }
        }
        Ok(())
    }
}

/// Why a text is not an interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntervalParseError(pub String);

impl fmt::Display for IntervalParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for IntervalParseError {}

/// The forms read: PostgreSQL's output and input with units (`1 year 2
/// mons 3 days 04:05:06`, `-1 days +02:03:04`, `2 hours 30 minutes`, `1
/// week`), Django's `duration_string` (`3 04:05:06.5`, `-1 23:59:59`,
/// `3 days, 04:05:06`, `04:05:06`, `90` seconds) and ISO 8601 (`P1Y2M3DT4H5M6S`,
/// `P2W`, `-PT1.5S`), and PostgreSQL's verbose output (`@ 1 day ago`).
/// A time is always `HH:MM:SS` (PostgreSQL reads
/// `10:30` as hours and minutes, Django as minutes and seconds: refused
/// as ambiguous).
impl std::str::FromStr for Interval {
    type Err = IntervalParseError;

    fn from_str(text: &str) -> Result<Interval, IntervalParseError> {
        parse(text).map_err(|why| IntervalParseError(format!("`{text}` is not an interval: {why}")))
    }
}

/// The parts being added up, wide enough not to overflow on the way.
#[derive(Default)]
struct Parts {
    months: i128,
    days: i128,
    us: i128,
}

impl Parts {
    fn finish(self) -> Result<Interval, String> {
        let range = || "out of PostgreSQL's interval range".to_owned();
        Ok(Interval::new(
            i32::try_from(self.months).map_err(|_| range())?,
            i32::try_from(self.days).map_err(|_| range())?,
            i64::try_from(self.us).map_err(|_| range())?,
        ))
    }

    /// Adds `n` (a decimal number of `unit`s, its text) to the parts.
    fn add(&mut self, number: &str, unit: &str) -> Result<(), String> {
        let (months, days, us): (i128, i128, i128) = match unit.to_ascii_lowercase().as_str() {
            "y" | "year" | "years" | "yr" | "yrs" => (12, 0, 0),
            "mon" | "mons" | "month" | "months" => (1, 0, 0),
            "w" | "week" | "weeks" => (0, 7, 0),
            "d" | "day" | "days" => (0, 1, 0),
            "h" | "hour" | "hours" | "hr" | "hrs" => (0, 0, US_PER_HOUR.into()),
            "min" | "mins" | "minute" | "minutes" => (0, 0, US_PER_MIN.into()),
            "s" | "sec" | "secs" | "second" | "seconds" => (0, 0, US_PER_SEC.into()),
            "ms" | "millisecond" | "milliseconds" => (0, 0, 1000),
            "us" | "microsecond" | "microseconds" => (0, 0, 1),
            other => {
                return Err(format!(
                    "unknown unit `{other}` (units: years, mons/months, weeks, days, hours, minutes, seconds, milliseconds, microseconds)"
                ))
            }
        };
        let (whole, frac) = decimal(number)?;
        if frac != 0 && us == 0 {
            return Err(format!("`{number}`: only time units take a fraction"));
        }
        self.months += whole * months;
        self.days += whole * days;
        // `frac` is in millionths.
        self.us += whole * us + frac * us / 1_000_000;
        Ok(())
    }
}

/// A signed decimal number: its whole part and its fraction in millionths
/// (with the number's sign). More than 6 decimal places is refused (an
/// interval holds microseconds).
fn decimal(text: &str) -> Result<(i128, i128), String> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, frac) = digits.split_once(['.', ',']).unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !all_digits(whole) || !all_digits(frac) {
        return Err(format!("`{text}` is not a number"));
    }
    if frac.len() > 6 {
        return Err(format!(
            "`{text}`: more than 6 decimal places (microseconds)"
        ));
    }
    // At most 30 digits: no overflow of i128 below.
    if whole.len() > 30 {
        return Err("out of PostgreSQL's interval range".to_owned());
    }
    let w: i128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| "bad number")?
    };
    let f: i128 = format!("{frac:0<6}").parse().map_err(|_| "bad number")?;
    Ok(if negative { (-w, -f) } else { (w, f) })
}

/// `[+-]HH:MM:SS[.ffffff]` in microseconds.
fn clock(text: &str) -> Result<i128, String> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let parts: Vec<&str> = body.split(':').collect();
    let [h, m, s] = parts[..] else {
        return Err(format!(
            "`{text}`: a time is HH:MM:SS (`10:30` is ambiguous: hours and minutes to PostgreSQL, minutes and seconds to Django)"
        ));
    };
    let field = |t: &str, max: Option<i128>| -> Result<i128, String> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) || t.len() > 12 {
            return Err(format!("`{text}` is not a time (HH:MM:SS)"));
        }
        let n: i128 = t.parse().map_err(|_| "bad number")?;
        match max {
            Some(max) if n >= max => Err(format!("`{text}`: minutes and seconds are below 60")),
            _ => Ok(n),
        }
    };
    let (s, frac) = s.split_once('.').unwrap_or((s, ""));
    let (h, m, s) = (field(h, None)?, field(m, Some(60))?, field(s, Some(60))?);
    let frac = if frac.is_empty() {
        0
    } else {
        decimal(&format!("0.{frac}"))?.1
    };
    let us = ((h * 60 + m) * 60 + s) * i128::from(US_PER_SEC) + frac;
    Ok(if negative { -us } else { us })
}

fn parse(text: &str) -> Result<Interval, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty".to_owned());
    }
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) if rest.starts_with(['P', 'p']) => (true, rest),
        _ => (false, t),
    };
    if let Some(iso) = body.strip_prefix(['P', 'p']) {
        let mut p = iso8601(iso)?;
        if negative {
            p = Parts {
                months: -p.months,
                days: -p.days,
                us: -p.us,
            };
        }
        return p.finish();
    }
    let t = t.strip_prefix('@').unwrap_or(t).trim_start();
    let mut tokens: Vec<&str> = t.split_whitespace().collect();
    // PostgreSQL's `postgres_verbose` output: `@ 1 day 2 hours ago`.
    let ago = tokens.last().is_some_and(|w| w.eq_ignore_ascii_case("ago"));
    if ago {
        tokens.pop();
    }
    if tokens.is_empty() {
        return Err("no number".to_owned());
    }
    let mut parts = Parts::default();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        let last = i + 1 == tokens.len();
        if token.contains(':') {
            if !last {
                return Err(format!("`{token}`: the time comes last"));
            }
            parts.us += clock(token)?;
            i += 1;
            continue;
        }
        // A number and its unit, written apart (`3 days`) or together (`3d`).
        let split = token
            .find(|c: char| c.is_ascii_alphabetic())
            .filter(|&at| at > 0);
        if let Some(at) = split {
            parts.add(&token[..at], token[at..].trim_end_matches(','))?;
            i += 1;
            continue;
        }
        match tokens.get(i + 1) {
            Some(unit) if !unit.contains(':') => {
                parts.add(token, unit.trim_end_matches(','))?;
                i += 2;
            }
            // Django's `D HH:MM:SS`.
            Some(_) => {
                parts.add(token, "days")?;
                i += 1;
            }
            // A lone number: seconds (Django's `parse_duration("90")`,
            // PostgreSQL's `'90'::interval`).
            None => {
                parts.add(token, "seconds")?;
                i += 1;
            }
        }
    }
    if ago {
        parts = Parts {
            months: -parts.months,
            days: -parts.days,
            us: -parts.us,
        };
    }
    parts.finish()
}

/// ISO 8601's `PnYnMnWnDTnHnMnS` (after the `P`), numbers possibly signed
/// (PostgreSQL's `P-1D`), the last one decimal when it is a time unit.
fn iso8601(text: &str) -> Result<Parts, String> {
    let mut parts = Parts::default();
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in text.chars() {
        match c.to_ascii_uppercase() {
            'T' if !in_time && number.is_empty() => in_time = true,
            '0'..='9' | '.' | ',' | '-' | '+' => number.push(c),
            unit @ ('Y' | 'M' | 'W' | 'D' | 'H' | 'S') => {
                if number.is_empty() {
                    return Err(format!("`{unit}` without a number"));
                }
                let name = match (unit, in_time) {
                    ('Y', false) => "years",
                    ('M', false) => "months",
                    ('W', false) => "weeks",
                    ('D', false) => "days",
                    ('H', true) => "hours",
                    ('M', true) => "minutes",
                    ('S', true) => "seconds",
                    _ => return Err(format!("`{unit}` in the wrong place (PnYnMnWnDTnHnMnS)")),
                };
                parts.add(&number, name)?;
                number.clear();
                any = true;
            }
            other => return Err(format!("unexpected `{other}` in an ISO 8601 duration")),
        }
    }
    if !number.is_empty() || !any {
        return Err("an ISO 8601 duration is PnYnMnWnDTnHnMnS".to_owned());
    }
    Ok(parts)
}

/// With the `serde` feature: Django's `DurationField` serialization,
/// `duration_string` (`"3 04:05:06"`, `"-1 23:59:59"`), months by
/// psycopg's rule (a `1 mon` interval writes `"30 00:00:00"`: Django's
/// value is a `timedelta`, which holds no months). Read back from any
/// form [`FromStr`](std::str::FromStr) takes.
#[cfg(feature = "serde")]
impl serde::Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.duration_string() {
            Some(text) => serializer.serialize_str(&text),
            None => Err(serde::ser::Error::custom(IntervalRangeError)),
        }
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
