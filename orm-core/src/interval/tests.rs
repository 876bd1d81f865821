//! Unit tests of `Interval`: binary form, text forms, conversions, order.

use chrono::TimeDelta;
use postgres_types::{FromSql, ToSql, Type};

use super::Interval;

fn parse(text: &str) -> Interval {
    text.parse().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn binary_form_is_micros_days_months() {
    // PostgreSQL's `interval_send`: int8 microseconds, int4 days, int4 months.
    let mut out = bytes::BytesMut::new();
    Interval::new(-2, 3, 5)
        .to_sql(&Type::INTERVAL, &mut out)
        .unwrap();
    let mut expected = 5i64.to_be_bytes().to_vec();
    expected.extend(3i32.to_be_bytes());
    expected.extend((-2i32).to_be_bytes());
    assert_eq!(&out[..], &expected[..]);
    assert_eq!(
        Interval::from_sql(&Type::INTERVAL, &expected).unwrap(),
        Interval::new(-2, 3, 5)
    );
    assert!(Interval::from_sql(&Type::INTERVAL, &expected[..15]).is_err());
    assert!(!<Interval as ToSql>::accepts(&Type::INT8));
}

#[test]
fn display_is_postgres_output() {
    // Expected strings: PostgreSQL's output with IntervalStyle = postgres.
    assert_eq!(Interval::ZERO.to_string(), "00:00:00");
    assert_eq!(
        Interval::new(14, 3, 14_706_500_000).to_string(),
        "1 year 2 mons 3 days 04:05:06.5"
    );
    assert_eq!(Interval::from_days(1).to_string(), "1 day");
    assert_eq!(
        Interval::new(0, -1, 2 * 3_600_000_000).to_string(),
        "-1 days +02:00:00"
    );
    assert_eq!(Interval::from_secs(-1).to_string(), "-00:00:01");
    assert_eq!(Interval::from_hours(25).to_string(), "25:00:00");
    assert_eq!(Interval::new(-13, 0, 0).to_string(), "-1 years -1 mons");
}

#[test]
fn parses_the_forms() {
    let day = 86_400_000_000i64;
    let hms = 2 * 3_600_000_000 + 3 * 60_000_000 + 4_000_000;
    // PostgreSQL's output and input.
    assert_eq!(parse("1 day 02:03:04"), Interval::new(0, 1, hms));
    assert_eq!(
        parse("1 year 2 mons 3 days 04:05:06.5"),
        Interval::new(14, 3, 14_706_500_000)
    );
    assert_eq!(parse("-1 days +02:03:04"), Interval::new(0, -1, hms));
    assert_eq!(parse("2 hours 30 minutes"), Interval::from_minutes(150));
    assert_eq!(parse("1 week"), Interval::from_days(7));
    assert_eq!(parse("-00:00:01"), Interval::from_secs(-1));
    assert_eq!(
        parse("@ 1 day 2 hours ago"),
        Interval::new(0, -1, -2 * 3_600_000_000)
    );
    // Django's duration_string and parse_duration forms.
    assert_eq!(parse("1 02:03:04"), Interval::new(0, 1, hms));
    assert_eq!(parse("-1 23:59:59"), Interval::new(0, -1, day - 1_000_000));
    assert_eq!(parse("3 days, 02:03:04"), Interval::new(0, 3, hms));
    assert_eq!(parse("02:03:04.000005"), Interval::from_micros(hms + 5));
    assert_eq!(parse("90"), Interval::from_secs(90));
    assert_eq!(parse("1.5"), Interval::from_micros(1_500_000));
    // ISO 8601.
    assert_eq!(parse("P1DT2H"), Interval::new(0, 1, 2 * 3_600_000_000));
    assert_eq!(
        parse("P1Y2M3DT4H5M6S"),
        Interval::new(14, 3, 14_706_000_000)
    );
    assert_eq!(parse("P2W"), Interval::from_days(14));
    assert_eq!(parse("-PT1.5S"), Interval::from_micros(-1_500_000));
    assert_eq!(parse("pt1m"), Interval::from_minutes(1));
    // PostgreSQL's signed numbers.
    assert_eq!(parse("P-1M"), Interval::from_months(-1));
    // Every display reads back.
    for i in [
        Interval::new(14, 3, 14_706_500_000),
        Interval::new(0, -1, hms),
        Interval::new(-13, 5, -7),
        Interval::ZERO,
    ] {
        assert_eq!(parse(&i.to_string()), i);
    }
}

#[test]
fn bad_text_is_a_clear_error() {
    for (text, why) in [
        ("", "empty"),
        ("@ ago", "no number"),
        ("10:30", "ambiguous"),
        ("1 fortnight", "unknown unit `fortnight`"),
        ("1.5 days", "only time units take a fraction"),
        ("P", "PnYnMnWnDTnHnMnS"),
        ("P1H", "wrong place"),
        ("00:61:00", "below 60"),
        ("0.1234567", "more than 6 decimal places"),
        ("99999999999 years", "out of PostgreSQL's interval range"),
        ("abc", "not a number"),
        ("01:00:00 1 day", "the time comes last"),
    ] {
        let err = text.parse::<Interval>().unwrap_err().0;
        assert!(err.contains(why), "{text}: {err}");
        assert!(
            err.starts_with(&format!("`{text}` is not an interval")),
            "{err}"
        );
    }
}

#[test]
fn timedelta_conversions_follow_psycopg() {
    // psycopg's interval loader: |months| / 12 years of 365 days and
    // |months| % 12 months of 30 days, with the months' sign.
    let td = |i: Interval| TimeDelta::try_from(i).unwrap();
    assert_eq!(td(Interval::from_months(1)), TimeDelta::days(30));
    assert_eq!(td(Interval::from_months(14)), TimeDelta::days(365 + 60));
    assert_eq!(td(Interval::from_months(-14)), TimeDelta::days(-425));
    assert_eq!(
        td(Interval::new(1, -1, -1)),
        TimeDelta::days(29) - TimeDelta::microseconds(1)
    );
    // Back: days and the rest with the delta's sign.
    let back = |d: TimeDelta| Interval::try_from(d).unwrap();
    assert_eq!(back(TimeDelta::seconds(-1)), Interval::from_secs(-1));
    assert_eq!(
        back(TimeDelta::days(2) + TimeDelta::seconds(3)),
        Interval::new(0, 2, 3_000_000)
    );
    assert_eq!(
        back(TimeDelta::nanoseconds(1_999)),
        Interval::from_micros(1),
        "sub-microseconds are dropped"
    );
    assert!(Interval::try_from(TimeDelta::MAX).is_err());
    assert!(TimeDelta::try_from(Interval::new(i32::MAX, i32::MAX, i64::MAX)).is_ok());
}

#[test]
fn duration_string_is_djangos() {
    // Django's utils.duration.duration_string of the same timedelta.
    assert_eq!(
        Interval::new(0, 1, 7_384_000_000)
            .duration_string()
            .unwrap(),
        "1 02:03:04"
    );
    assert_eq!(
        Interval::from_secs(-1).duration_string().unwrap(),
        "-1 23:59:59"
    );
    assert_eq!(
        Interval::from_micros(1_500_000).duration_string().unwrap(),
        "00:00:01.500000"
    );
    assert_eq!(
        Interval::from_months(1).duration_string().unwrap(),
        "30 00:00:00"
    );
    for i in [Interval::from_secs(-1), Interval::new(0, 3, 5)] {
        let back = parse(&i.duration_string().unwrap());
        assert_eq!(back.pg_cmp(&i), std::cmp::Ordering::Equal);
    }
}

#[test]
fn order_is_postgres_with_months_of_30_days() {
    // PostgreSQL's interval_cmp: a month is 30 days, a day 24 hours.
    assert!(Interval::from_months(1) < Interval::from_days(31));
    assert!(Interval::from_days(1) > Interval::from_hours(23));
    assert_eq!(
        Interval::from_months(1).partial_cmp(&Interval::from_days(30)),
        None
    );
    assert_eq!(
        Interval::from_months(1).pg_cmp(&Interval::from_days(30)),
        std::cmp::Ordering::Equal
    );
    assert_ne!(Interval::from_days(1), Interval::from_hours(24));
}

#[cfg(feature = "serde")]
#[test]
fn serde_is_djangos_duration_string() {
    let json = serde_json::to_string(&Interval::new(0, 1, 7_384_000_000)).unwrap();
    assert_eq!(json, r#""1 02:03:04""#);
    let back: Interval = serde_json::from_str(r#""P1DT2H3M4S""#).unwrap();
    assert_eq!(back, Interval::new(0, 1, 7_384_000_000));
    assert!(serde_json::from_str::<Interval>(r#""soon""#).is_err());
}
