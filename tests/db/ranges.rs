//! Range fields against PostgreSQL (Django's `IntegerRangeField`,
//! `BigIntegerRangeField`, `DateRangeField`, `DateTimeRangeField`).
//!
//! Expected rows follow PostgreSQL's range operators and functions
//! (PostgreSQL docs, "Range/Multirange Functions and Operators"), which
//! Django's range lookups render to (`contains` `@>`, `contained_by`
//! `<@`, `overlap` `&&`, `fully_lt` `<<`, `fully_gt` `>>`, `not_lt` `&>`,
//! `not_gt` `&<`, `adjacent_to` `-|-`, `isempty(..)`, `lower_inc(..)`,
//! `startswith` `lower(..)`): an operator with the empty range is false
//! except `<@` (the empty range is contained by every range); `lower()`
//! of an empty or unbounded range is NULL; discrete ranges are stored in
//! their canonical `[)` form (`[1,10]` is `[1,11)`, `(,5]` is `(,6)`).

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use orm_core::prelude::*;
use orm_core::Range;

use crate::common::setup;
use crate::models::ranges::Booking;

/// The rows: `seats` of each shape (and `n` for `contained_by` on an
/// integer field).
async fn bookings() -> Result<Vec<Booking>> {
    let rows: [(&str, Range<i32>, i32); 6] = [
        ("a", Range::new(1, 10), 1),
        ("b", Range::new(5, 15), 10),
        ("c", Range::new(20, 30), 5),
        ("d", Range::empty(), 0),
        ("e", Range::from(..=5), -1),
        ("f", Range::new(10, 20), 9),
    ];
    let mut out = Vec::new();
    for (name, seats, n) in rows {
        out.push(
            Booking::create(Booking {
                name: name.to_owned(),
                seats,
                big: (name == "b").then(|| Range::from(5i64..)),
                n,
                ..Default::default()
            })
            .await?,
        );
    }
    Ok(out)
}

async fn names(q: impl IntoQ<Booking>) -> Result<Vec<String>> {
    let mut names: Vec<String> = Booking::filter(q)
        .await?
        .into_iter()
        .map(|b| b.name)
        .collect();
    names.sort();
    Ok(names)
}

async fn parsed(key: &str, value: &str) -> Result<Vec<String>> {
    names(Lookup::parse::<Booking>(key, value)?).await
}

#[tokio::test]
async fn ranges_round_trip_normalized_by_the_server() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let day = |d| NaiveDate::from_ymd_opt(2024, 3, d).unwrap();
        let ts = |h| day(1).and_hms_opt(h, 0, 0).unwrap();
        let tz = |h| Utc.with_ymd_and_hms(2024, 3, 1, h, 30, 0).unwrap();
        let made = Booking::create(Booking {
            name: "all".to_owned(),
            // `[1,10]` is stored as `[1,11)` (int4range is discrete).
            seats: Range::closed(1, 10),
            big: Some(Range::from(..)),
            days: Some(Range::closed(day(1), day(3))),
            during: Some(Range::new(ts(9), ts(17))),
            at: Some(Range::from(tz(8)..)),
            n: 0,
            ..Default::default()
        })
        .await?;
        let read = Booking::get(q!(id = made.id)).await?;
        assert_eq!(read.seats, Range::new(1, 11));
        assert_eq!(read.seats.to_string(), "[1,11)");
        assert_eq!(read.big, Some(Range::from(..)));
        assert_eq!(read.days, Some(Range::new(day(1), day(4))));
        // Continuous types keep their bounds as given.
        assert_eq!(read.during, Some(Range::new(ts(9), ts(17))));
        assert_eq!(read.at, Some(Range::from(tz(8)..)));
        // `[5,5)` is empty; NULL stays NULL.
        let mut again = read.clone();
        again.seats = Range::new(5, 5);
        again.days = None;
        again.save().await?;
        let back = Booking::get(q!(id = made.id)).await?;
        assert!(back.seats.is_empty());
        assert_eq!(back.days, None);
        // update() and values().
        Booking::filter(q!(id = made.id))
            .update(q!(seats = 2..4, during = None))
            .await?;
        let rows = Booking::filter(q!(id = made.id))
            .values(["seats", "during"])
            .await?;
        assert_eq!(rows[0].get::<Range<i32>>("seats")?, Range::new(2, 4));
        assert_eq!(rows[0].get::<Option<Range<NaiveDateTime>>>("during")?, None);
        // bulk_create of several ranges.
        let many = Booking::bulk_create(vec![
            Booking {
                name: "x".to_owned(),
                seats: Range::from(..3),
                ..Default::default()
            },
            Booking {
                name: "y".to_owned(),
                seats: Range::empty(),
                ..Default::default()
            },
        ])
        .await?;
        assert_eq!(many.len(), 2);
        let y = Booking::get(q!(name = "y")).await?;
        assert!(y.seats.is_empty());
        // Reversed bounds: PostgreSQL's own error, not a panic.
        let err = Booking::create(Booking {
            name: "bad".to_owned(),
            seats: Range::new(10, 1),
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("lower bound"), "{err}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn range_lookups_match_postgresql() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        bookings().await?;
        let f = Booking::fields();
        // `@>` an element and a range.
        assert_eq!(names(q!(seats__contains = 5)).await?, ["a", "b", "e"]);
        assert_eq!(names(f.seats.contains(Range::new(2, 4))).await?, ["a", "e"]);
        assert_eq!(parsed("seats__contains", "[2,4)").await?, ["a", "e"]);
        // `<@`: the empty range is contained by every range.
        assert_eq!(
            names(q!(seats__contained_by = 0..100)).await?,
            ["a", "b", "c", "d", "f"]
        );
        assert_eq!(names(q!(seats__overlap = 8..12)).await?, ["a", "b", "f"]);
        assert_eq!(names(q!(seats__fully_lt = 10..20)).await?, ["a", "e"]);
        assert_eq!(names(q!(seats__fully_gt = 1..10)).await?, ["c", "f"]);
        assert_eq!(names(q!(seats__not_lt = 5..100)).await?, ["b", "c", "f"]);
        assert_eq!(names(q!(seats__not_gt = 0..10)).await?, ["a", "e"]);
        assert_eq!(names(q!(seats__adjacent_to = 10..20)).await?, ["a", "c"]);
        assert_eq!(parsed("seats__adjacent_to", "[10,20)").await?, ["a", "c"]);
        // The flags.
        assert_eq!(names(q!(seats__isempty = true)).await?, ["d"]);
        assert_eq!(
            names(q!(seats__lower_inc = true)).await?,
            ["a", "b", "c", "f"]
        );
        assert_eq!(names(q!(seats__lower_inf = true)).await?, ["e"]);
        assert_eq!(
            names(q!(seats__upper_inc = true)).await?,
            Vec::<String>::new()
        );
        assert_eq!(parsed("seats__upper_inc", "false").await?.len(), 6);
        assert_eq!(names(q!(big__upper_inf = true)).await?, ["b"]);
        // The bounds: NULL for an empty or unbounded side.
        assert_eq!(names(q!(seats__startswith = 5)).await?, ["b"]);
        assert_eq!(
            names(q!(seats__startswith__gte = 5)).await?,
            ["b", "c", "f"]
        );
        assert_eq!(names(q!(seats__endswith__lt = 15)).await?, ["a", "e"]);
        assert_eq!(parsed("seats__endswith__lt", "15").await?, ["a", "e"]);
        assert_eq!(
            names(f.seats.lower_bound().is_null(true)).await?,
            ["d", "e"]
        );
        // `contained_by` on an integer field (Django's RangeContainedBy).
        assert_eq!(names(q!(n__contained_by = 1..10)).await?, ["a", "c", "f"]);
        assert_eq!(parsed("n__contained_by", "[1,10)").await?, ["a", "c", "f"]);
        // exact and exclude; NULL ranges match no lookup and exclude keeps
        // them out as Django does on a nullable field.
        assert_eq!(names(q!(seats = Range::closed(1, 9))).await?, ["a"]);
        assert_eq!(parsed("seats", "empty").await?, ["d"]);
        let kept: Vec<String> = Booking::exclude(q!(big__upper_inf = true))
            .await?
            .into_iter()
            .map(|b| b.name)
            .collect();
        assert_eq!(kept.len(), 5);
        Ok(())
    })
    .await
}

/// `numrange` (Django's `DecimalRangeField`) and `contained_by` on a
/// decimal field. PostgreSQL keeps a continuous range's bounds as given
/// (`numrange` is not canonicalized) and compares numerics by value.
#[tokio::test]
async fn numranges_round_trip_and_take_the_range_lookups() -> Result<()> {
    use crate::models::intervals::Band;
    use orm_core::Decimal;
    let dec = |s: &str| s.parse::<Decimal>().unwrap();
    let db = setup().await;
    orm_core::scope(&db, async {
        let rows = [
            ("low", Some(Range::new(dec("0"), dec("9.99"))), dec("5")),
            (
                "mid",
                Some(Range::closed(dec("10"), dec("99.50"))),
                dec("10"),
            ),
            ("open", Some(Range::from(dec("100")..)), dec("150.25")),
            ("none", None, dec("-1")),
        ];
        for (name, prices, price) in rows {
            Band::create(Band {
                name: name.to_owned(),
                prices,
                price,
                ..Default::default()
            })
            .await?;
        }
        let band_names = |q: Q<Band>| async move {
            let mut v: Vec<String> = Band::filter(q).await?.into_iter().map(|b| b.name).collect();
            v.sort();
            Ok::<_, Error>(v)
        };
        let mid = Band::get(q!(name = "mid")).await?;
        // Bounds and their scale come back as written.
        assert_eq!(mid.prices, Some(Range::closed(dec("10"), dec("99.50"))));
        assert_eq!(mid.prices.as_ref().unwrap().to_string(), "[10,99.50]");
        // Written by raw SQL, read as a Range<Decimal>.
        let raw: Vec<(Range<Decimal>,)> =
            orm_core::raw("SELECT '(1.5,2.25]'::numrange", &[]).await?;
        assert_eq!(raw[0].0, "(1.5,2.25]".parse::<Range<Decimal>>().unwrap());
        assert_eq!(
            band_names(q!(prices__contains = dec("99.5"))).await?,
            ["mid"]
        );
        assert_eq!(
            band_names(q!(prices__contains = dec("9.99"))).await?,
            Vec::<String>::new()
        );
        assert_eq!(
            band_names(q!(prices__overlap = dec("9")..dec("10.5"))).await?,
            ["low", "mid"]
        );
        // `[100,)` is right of `[0,100)`: 100 is excluded from the latter.
        assert_eq!(
            band_names(q!(prices__fully_gt = dec("0")..dec("100"))).await?,
            ["open"]
        );
        assert_eq!(band_names(q!(prices__upper_inf = true)).await?, ["open"]);
        let f = Band::fields();
        assert_eq!(
            band_names(f.prices.contains(Range::new(dec("1"), dec("2")))).await?,
            ["low"]
        );
        // Django's RangeContainedBy on a DecimalField.
        assert_eq!(
            band_names(q!(price__contained_by = dec("5")..dec("150.25"))).await?,
            ["low", "mid"]
        );
        assert_eq!(
            band_names(Lookup::parse::<Band>("price__contained_by", "[5,150.25]")?).await?,
            ["low", "mid", "open"]
        );
        assert_eq!(
            band_names(Lookup::parse::<Band>("prices__startswith", "10")?).await?,
            ["mid"]
        );
        Ok(())
    })
    .await
}
