//! `Range<T>`'s constructors, text form and binary form (the bytes of
//! PostgreSQL's `range_send`, `rangetypes.c`: a flags byte, then each
//! finite bound as a big-endian `int4` length and the element's bytes).

use std::ops::Bound;

use bytes::BytesMut;
use chrono::NaiveDate;
use postgres_types::{FromSql, ToSql, Type};

use super::{parse_literal, Range, MAX_RANGE_TEXT};

#[test]
fn constructors_follow_django_and_rust_ranges() {
    // NumericRange(1, 10) is '[)'.
    let r = Range::new(1, 10);
    assert_eq!(r, Range::from(1..10));
    assert_eq!((r.lower(), r.upper()), (Some(&1), Some(&10)));
    assert!(r.lower_inc() && !r.upper_inc() && !r.lower_inf() && !r.upper_inf());
    assert_eq!(Range::closed(1, 10), Range::from(1..=10));
    assert!(Range::closed(1, 10).upper_inc());
    let from = Range::from(5..);
    assert!(from.upper_inf() && from.lower_inc() && from.upper().is_none());
    assert_eq!(Range::from(..5).upper_bound(), Bound::Excluded(&5));
    assert_eq!(Range::from(..=5).upper_bound(), Bound::Included(&5));
    let all: Range<i32> = Range::from(..);
    assert!(all.lower_inf() && all.upper_inf() && !all.is_empty());
    // PostgreSQL: every flag of the empty range is false, its bounds NULL.
    let empty = Range::<i32>::empty();
    assert!(empty.is_empty() && !empty.lower_inc() && !empty.lower_inf());
    assert_eq!((empty.lower(), empty.upper()), (None, None));
    assert_eq!(Range::<i32>::default(), empty);
}

#[test]
fn text_form_is_postgresql_literal() {
    assert_eq!(Range::new(1, 10).to_string(), "[1,10)");
    assert_eq!(Range::closed(-3, 4).to_string(), "[-3,4]");
    assert_eq!(Range::from(..=5).to_string(), "(,5]");
    assert_eq!(Range::from(1..).to_string(), "[1,)");
    assert_eq!(Range::<i64>::empty().to_string(), "empty");
    let d = |day| NaiveDate::from_ymd_opt(2024, 3, day).unwrap();
    assert_eq!(
        Range::new(d(1), d(5)).to_string(),
        "[2024-03-01,2024-03-05)"
    );
    for text in ["[1,10)", "(,5]", "[1,)", "(,)", "empty", "(-2,3]"] {
        let r: Range<i32> = text.parse().unwrap();
        assert_eq!(r.to_string(), text);
    }
    // Spaces, quotes and case as PostgreSQL reads them.
    assert_eq!(
        " [ 1 , 10 ) ".parse::<Range<i32>>().unwrap(),
        Range::new(1, 10)
    );
    assert_eq!(
        "[\"1\",\"2\"]".parse::<Range<i32>>().unwrap(),
        Range::closed(1, 2)
    );
    assert_eq!("EMPTY".parse::<Range<i32>>().unwrap(), Range::empty());
    assert_eq!(
        "[2024-03-01,2024-03-05)"
            .parse::<Range<NaiveDate>>()
            .unwrap(),
        Range::new(d(1), d(5))
    );
}

#[test]
fn malformed_text_is_a_clear_error() {
    for text in [
        "",
        "1,10",
        "[1,10",
        "1,10)",
        "[1;10)",
        "{1,10}",
        "[1,2,3)",
        "[a,2)",
        "[(1,2)]",
        "[1,99999999999)",
    ] {
        let err = text.parse::<Range<i32>>().unwrap_err().to_string();
        assert!(err.contains("range"), "{text}: {err}");
    }
    assert_eq!(
        "[1,10".parse::<Range<i32>>().unwrap_err().to_string(),
        "`[1,10` is not a range: expected `[lower,upper)` (each bracket `[`/`]` inclusive or `(`/`)` exclusive, an empty bound unbounded: `(,5]`) or `empty`"
    );
    assert_eq!(
        "[x,10)".parse::<Range<i32>>().unwrap_err().to_string(),
        "`[x,10)` is not a valid range: `x` is not an integer"
    );
    // Hostile input: refused by its length before it is read, the
    // message cut short.
    let long = format!("[{},1)", "9".repeat(MAX_RANGE_TEXT));
    let err = parse_literal(&long).unwrap_err();
    assert!(err.len() < 120, "{err}");
    assert!(err.contains("longer than 200 bytes"), "{err}");
    let multibyte = "é".repeat(100);
    assert!(parse_literal(&multibyte).is_err());
}

fn encode<T: ToSql>(value: &T, ty: &Type) -> Vec<u8> {
    let mut out = BytesMut::new();
    value.to_sql_checked(ty, &mut out).unwrap();
    out.to_vec()
}

#[test]
fn binary_form_is_range_send() {
    // [1,10): LB_INC, then two int4 bounds.
    assert_eq!(
        encode(&Range::new(1i32, 10), &Type::INT4_RANGE),
        [0x02, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 10]
    );
    // (,5]: LB_INF | UB_INC, the upper bound only.
    assert_eq!(
        encode(&Range::from(..=5i32), &Type::INT4_RANGE),
        [0x08 | 0x04, 0, 0, 0, 4, 0, 0, 0, 5]
    );
    assert_eq!(encode(&Range::<i64>::empty(), &Type::INT8_RANGE), [0x01]);
    assert_eq!(encode(&Range::<i64>::from(..), &Type::INT8_RANGE), [0x18]);
    // Each shape reads back as itself.
    for r in [
        Range::new(1i64, 10),
        Range::closed(-5, 5),
        Range::from(3..),
        Range::from(..3),
        Range::from(..),
        Range::empty(),
        Range::from_bounds(Bound::Excluded(1), Bound::Excluded(2)),
    ] {
        let bytes = encode(&r, &Type::INT8_RANGE);
        assert_eq!(
            Range::<i64>::from_sql(&Type::INT8_RANGE, &bytes).unwrap(),
            r
        );
    }
    // The element type is checked; a range is not an element.
    assert!(!<Range<i32> as ToSql>::accepts(&Type::INT8_RANGE));
    assert!(<Range<i32> as ToSql>::accepts(&Type::INT4_RANGE));
    assert!(!<Range<i32> as ToSql>::accepts(&Type::INT4));
    assert!(<Range<NaiveDate> as FromSql<'_>>::accepts(
        &Type::DATE_RANGE
    ));
}

#[test]
fn truncated_or_corrupt_bytes_are_errors() {
    let good = encode(&Range::new(1i32, 10), &Type::INT4_RANGE);
    for cut in 0..good.len() {
        assert!(
            Range::<i32>::from_sql(&Type::INT4_RANGE, &good[..cut]).is_err(),
            "{cut}"
        );
    }
    let mut extra = good.clone();
    extra.push(0);
    assert!(Range::<i32>::from_sql(&Type::INT4_RANGE, &extra).is_err());
    // A negative or huge length.
    let bad = [0x02, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1];
    assert!(Range::<i32>::from_sql(&Type::INT4_RANGE, &bad).is_err());
    let huge = [0x02, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1];
    assert!(Range::<i32>::from_sql(&Type::INT4_RANGE, &huge).is_err());
}
