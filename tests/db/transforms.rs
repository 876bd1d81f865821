//! Date and time transforms (`at__year`, `__date`, `__week_day`, ...)
//! against PostgreSQL, in UTC and in America/New_York.
//!
//! The expected rows are Django's answers for the same data: each
//! transform's value for each event is worked out with Python's
//! `datetime` and `zoneinfo` (Django's `ExtractYear`, `ExtractIsoYear`
//! (`isocalendar()[0]`), `ExtractWeek` (`isocalendar()[1]`),
//! `ExtractWeekDay` (`isoweekday() % 7 + 1`: 1 = Sunday),
//! `ExtractIsoWeekDay` (`isoweekday()`), `ExtractQuarter`
//! (`(month - 1) // 3 + 1`), `TruncDate`/`TruncTime` and `ExtractSecond`
//! (fractions cut off) evaluate to these on PostgreSQL with `USE_TZ = True`
//! and the zone active); the table of instants is in
//! `models/calendar.rs`.

use chrono::{NaiveDate, NaiveTime};
use orm_core::prelude::*;
use orm_core::timezone;

use crate::common::setup;
use crate::models::calendar::{happenings, Happening};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn t(h: u32, mi: u32, s: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, mi, s).unwrap()
}

/// The names of the matching events, sorted.
async fn names(q: impl IntoQ<Happening>) -> Result<Vec<String>> {
    let mut names: Vec<String> = Happening::filter(q)
        .await?
        .into_iter()
        .map(|h| h.name)
        .collect();
    names.sort();
    Ok(names)
}

/// Checks each `(condition, expected names)` pair, naming the failing one.
async fn check(cases: Vec<(&str, Q<Happening>, &[&str])>) -> Result<()> {
    for (what, q, expected) in cases {
        assert_eq!(names(q).await?, expected, "{what}");
    }
    Ok(())
}

/// `$key = $value` as a `q!` term, with the key as text for messages.
macro_rules! case {
    ($key:ident = $value:expr, $expected:expr) => {
        (stringify!($key), q!($key = $value), &$expected[..])
    };
}

#[tokio::test]
async fn each_transform_with_exact_gt_in_range_in_utc() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        happenings().await?;
        // UTC values (eve, newyear, leap, summer, isoedge):
        check(vec![
            // year 2022, 2022, 2024, 2020, 2021
            case!(at__year = 2022, ["eve", "newyear"]),
            case!(at__year__gt = 2021, ["eve", "leap", "newyear"]),
            case!(at__year__gte = 2022, ["eve", "leap", "newyear"]),
            case!(at__year__lt = 2021, ["summer"]),
            case!(at__year__lte = 2021, ["isoedge", "summer"]),
            case!(at__year__in = [2020, 2024], ["leap", "summer"]),
            case!(
                at__year__range = (2021, 2022),
                ["eve", "isoedge", "newyear"]
            ),
            // iso_year 2021, 2021, 2024, 2020, 2020 (2021-01-03 is in ISO 2020's week 53)
            case!(at__iso_year = 2021, ["eve", "newyear"]),
            case!(at__iso_year__gt = 2020, ["eve", "leap", "newyear"]),
            case!(at__iso_year__lte = 2020, ["isoedge", "summer"]),
            case!(at__iso_year__in = [2020], ["isoedge", "summer"]),
            case!(
                at__iso_year__range = (2021, 2024),
                ["eve", "leap", "newyear"]
            ),
            // month 1, 1, 2, 7, 1
            case!(at__month = 1, ["eve", "isoedge", "newyear"]),
            case!(at__month__gt = 1, ["leap", "summer"]),
            case!(at__month__in = [2, 7], ["leap", "summer"]),
            case!(at__month__range = (2, 6), ["leap"]),
            // day 1, 1, 29, 4, 3
            case!(at__day = 1, ["eve", "newyear"]),
            case!(at__day__gt = 3, ["leap", "summer"]),
            case!(at__day__in = [3, 4], ["isoedge", "summer"]),
            case!(at__day__range = (2, 4), ["isoedge", "summer"]),
            // week 52, 52, 9, 27, 53
            case!(at__week = 52, ["eve", "newyear"]),
            case!(at__week__gt = 27, ["eve", "isoedge", "newyear"]),
            case!(at__week__in = [9, 27], ["leap", "summer"]),
            case!(at__week__range = (1, 30), ["leap", "summer"]),
            // week_day (1 = Sunday) 7, 7, 5, 7, 1
            case!(at__week_day = 7, ["eve", "newyear", "summer"]),
            case!(at__week_day__gt = 5, ["eve", "newyear", "summer"]),
            case!(at__week_day__in = [1, 5], ["isoedge", "leap"]),
            case!(at__week_day__range = (1, 5), ["isoedge", "leap"]),
            // iso_week_day (1 = Monday) 6, 6, 4, 6, 7
            case!(at__iso_week_day = 7, ["isoedge"]),
            case!(
                at__iso_week_day__gt = 5,
                ["eve", "isoedge", "newyear", "summer"]
            ),
            case!(at__iso_week_day__in = [4], ["leap"]),
            case!(
                at__iso_week_day__range = (6, 7),
                ["eve", "isoedge", "newyear", "summer"]
            ),
            // quarter 1, 1, 1, 3, 1
            case!(at__quarter = 3, ["summer"]),
            case!(at__quarter__gt = 1, ["summer"]),
            case!(at__quarter__in = [1], ["eve", "isoedge", "leap", "newyear"]),
            case!(at__quarter__range = (2, 4), ["summer"]),
            // date 2022-01-01, 2022-01-01, 2024-02-29, 2020-07-04, 2021-01-03
            case!(at__date = d(2022, 1, 1), ["eve", "newyear"]),
            case!(at__date__gt = d(2021, 1, 3), ["eve", "leap", "newyear"]),
            case!(
                at__date__in = [d(2020, 7, 4), d(2024, 2, 29)],
                ["leap", "summer"]
            ),
            case!(
                at__date__range = (d(2021, 1, 1), d(2022, 1, 1)),
                ["eve", "isoedge", "newyear"]
            ),
            // time 04:30, 12:00:45.5, 08:15:59.999, 18:45:30, 10:00
            case!(at__time = t(4, 30, 0), ["eve"]),
            case!(at__time__gt = t(10, 0, 0), ["newyear", "summer"]),
            case!(
                at__time__in = [t(10, 0, 0), t(18, 45, 30)],
                ["isoedge", "summer"]
            ),
            case!(
                at__time__range = (t(8, 0, 0), t(12, 0, 0)),
                ["isoedge", "leap"]
            ),
            // hour 4, 12, 8, 18, 10
            case!(at__hour = 12, ["newyear"]),
            case!(at__hour__gt = 10, ["newyear", "summer"]),
            case!(at__hour__in = [4, 8], ["eve", "leap"]),
            case!(at__hour__range = (9, 12), ["isoedge", "newyear"]),
            // minute 30, 0, 15, 45, 0
            case!(at__minute = 0, ["isoedge", "newyear"]),
            case!(at__minute__gt = 15, ["eve", "summer"]),
            case!(at__minute__in = [15, 45], ["leap", "summer"]),
            case!(at__minute__range = (1, 30), ["eve", "leap"]),
            // second 0, 45 (45.5 cut), 59 (59.999 cut), 30, 0
            case!(at__second = 45, ["newyear"]),
            case!(at__second = 46, []),
            case!(at__second__gt = 30, ["leap", "newyear"]),
            case!(at__second__in = [0], ["eve", "isoedge"]),
            case!(at__second__range = (30, 59), ["leap", "newyear", "summer"]),
        ])
        .await
    })
    .await
}

#[tokio::test]
async fn new_york_puts_new_years_eve_in_2021() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        happenings().await?;
        let eve = d(2021, 12, 31);
        // 2022-01-01 04:30 UTC is 2021-12-31 23:30 in New York.
        assert!(names(q!(at__date = eve)).await?.is_empty());
        let ny = timezone::override_zone("America/New_York", async {
            check(vec![
                case!(at__date = eve, ["eve"]),
                case!(at__year = 2021, ["eve", "isoedge"]),
                case!(at__year__gt = 2021, ["leap", "newyear"]),
                case!(at__year__lte = 2021, ["eve", "isoedge", "summer"]),
                case!(at__month = 12, ["eve"]),
                case!(at__day = 31, ["eve"]),
                case!(at__quarter = 4, ["eve"]),
                case!(at__week_day = 6, ["eve"]),
                // New York hours: 23, 7, 3, 14 (summer time), 5
                case!(at__hour__in = [23, 14], ["eve", "summer"]),
                case!(at__time__lt = t(6, 0, 0), ["isoedge", "leap"]),
            ])
            .await
        })
        .await?;
        ny?;
        // The runtime form reads the zone the same way.
        let q = Lookup::parse::<Happening>("at__date", "2021-12-31")?;
        let parsed = timezone::override_zone("America/New_York", names(q)).await??;
        assert_eq!(parsed, ["eve"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn join_runs_each_future_in_its_own_zone() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        happenings().await?;
        let eve = d(2021, 12, 31);
        let new_year = d(2022, 1, 1);
        // Both futures run at once on this task; each sees its own zone,
        // also after yielding to the other.
        let in_zone = |zone: &'static str| {
            timezone::override_zone(zone, async move {
                let before = names(q!(at__date__in = [eve, new_year])).await?;
                tokio::task::yield_now().await;
                let eve = names(q!(at__date = eve)).await?;
                Ok::<_, orm_core::Error>((before, eve, timezone::current()))
            })
        };
        let (ny, utc) = tokio::join!(in_zone("America/New_York"), in_zone("UTC"));
        let (ny, utc) = (ny??, utc??);
        assert_eq!(
            ny,
            (
                vec!["eve".into(), "newyear".into()],
                vec!["eve".to_owned()],
                "America/New_York".into()
            )
        );
        assert_eq!(
            utc,
            (
                vec!["eve".into(), "newyear".into()],
                Vec::<String>::new(),
                "UTC".into()
            )
        );
        // activate inside a scope changes that scope's zone.
        let activated = timezone::override_zone("UTC", async {
            timezone::activate("America/New_York")?;
            names(q!(at__date = eve)).await
        })
        .await??;
        assert_eq!(activated, ["eve"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn naive_fields_are_not_converted() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        happenings().await?;
        // local/day/starts hold the UTC wall clock: New York changes nothing.
        let in_ny = timezone::override_zone("America/New_York", async {
            check(vec![
                case!(local__year = 2022, ["eve", "newyear"]),
                case!(local__year__lt = 2021, ["summer"]),
                case!(local__date = d(2022, 1, 1), ["eve", "newyear"]),
                case!(local__time__gte = t(12, 0, 0), ["newyear", "summer"]),
                case!(local__hour__in = [4, 8], ["eve", "leap"]),
                case!(day__year__gte = 2022, ["eve", "leap", "newyear"]),
                case!(day__iso_year = 2020, ["isoedge", "summer"]),
                case!(day__week_day = 7, ["eve", "newyear", "summer"]),
                case!(day__iso_week_day__range = (1, 5), ["leap"]),
                case!(day__month__in = [2, 7], ["leap", "summer"]),
                case!(day__quarter__lt = 2, ["eve", "isoedge", "leap", "newyear"]),
                case!(starts__hour__gte = 12, ["newyear", "summer"]),
                case!(starts__minute = 15, ["leap"]),
                case!(starts__second = 45, ["newyear"]),
            ])
            .await
        })
        .await?;
        in_ny
    })
    .await
}

#[tokio::test]
async fn nullable_fields_and_exclude_keep_djangos_null_rule() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        happenings().await?;
        // ends = at + 1 hour for newyear (13:00:45.5), leap (09:15:59.999),
        // isoedge (11:00); NULL for eve and summer.
        check(vec![
            case!(ends__hour = 13, ["newyear"]),
            case!(ends__hour__in = [9, 11], ["isoedge", "leap"]),
            case!(ends__year = 2024, ["leap"]),
            case!(ends__date__lt = d(2022, 1, 1), ["isoedge"]),
        ])
        .await?;
        // Django's exclude keeps the rows where the column is NULL.
        let mut kept: Vec<String> = Happening::exclude(q!(ends__hour = 13))
            .await?
            .into_iter()
            .map(|h| h.name)
            .collect();
        kept.sort();
        assert_eq!(kept, ["eve", "isoedge", "leap", "summer"]);
        let f = Happening::fields();
        assert_eq!(names(f.ends.year().gte(2022)).await?, ["leap", "newyear"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_relation_then_date_is_the_related_field() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        happenings().await?;
        // Venue has a field named `date` (2019-05-01).
        check(vec![
            case!(venue__date = d(2019, 5, 1), ["isoedge", "leap", "newyear"]),
            case!(venue__date__year = 2019, ["isoedge", "leap", "newyear"]),
            case!(venue__date__month__gt = 5, []),
        ])
        .await
    })
    .await
}

#[tokio::test]
async fn the_runtime_form_takes_the_same_keys() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        happenings().await?;
        let cases: [(&str, &str, &[&str]); 8] = [
            ("at__year", "2022", &["eve", "newyear"]),
            ("at__year__gte", "2022", &["eve", "leap", "newyear"]),
            ("at__iso_year__in", "2020", &["isoedge", "summer"]),
            ("at__week_day__range", "1,5", &["isoedge", "leap"]),
            ("at__date__gt", "2021-01-03", &["eve", "leap", "newyear"]),
            ("at__time__lt", "05:00:00", &["eve"]),
            ("starts__second", "45", &["newyear"]),
            ("venue__date__year", "2019", &["isoedge", "leap", "newyear"]),
        ];
        for (key, value, expected) in cases {
            let q = Lookup::parse::<Happening>(key, value)?;
            assert_eq!(names(q).await?, expected, "{key}={value}");
        }
        let err = Lookup::parse::<Happening>("name__year", "2020").unwrap_err();
        assert!(matches!(err, orm_core::Error::InvalidLookup(_)), "{err}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn year_is_a_range_the_index_serves() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        happenings().await?;
        let sql = Happening::filter(q!(at__year = 2022)).sql()?.expect("a query");
        assert!(
            sql.sql.contains(r#"("tz_happenings"."at" >= ($1::timestamp AT TIME ZONE $2) AND "tz_happenings"."at" < ($3::timestamp AT TIME ZONE $4))"#),
            "{sql}"
        );
        let plan = orm_core::transaction(|| async {
            let _: Vec<(String,)> =
                orm_core::raw("SELECT set_config('enable_seqscan', 'off', true)", &[]).await?;
            Happening::filter(q!(at__year = 2022)).explain(false).await
        })
        .await?;
        assert!(
            plan.contains("Index Scan") || plan.contains("Bitmap Index Scan"),
            "{plan}"
        );
        assert!(plan.contains("tz_happenings_at"), "{plan}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn dates_and_datetimes_cut_in_the_active_zone() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        happenings().await?;
        let utc_days = Happening::all().dates("at", "day", "ASC").await?;
        assert_eq!(
            utc_days,
            [d(2020, 7, 4), d(2021, 1, 3), d(2022, 1, 1), d(2024, 2, 29)]
        );
        // Django: dates('at', 'day') in New York: eve falls on 2021-12-31.
        let (ny_days, ny_years) = timezone::override_zone("America/New_York", async {
            let days = Happening::all().dates("at", "day", "ASC").await?;
            let years = Happening::all().datetimes("at", "year", "ASC").await?;
            Ok::<_, orm_core::Error>((days, years))
        })
        .await??;
        assert_eq!(
            ny_days,
            [
                d(2020, 7, 4),
                d(2021, 1, 3),
                d(2021, 12, 31),
                d(2022, 1, 1),
                d(2024, 2, 29)
            ]
        );
        // New York's New Year midnights, as instants: 05:00 UTC.
        let at5 = |y| crate::models::calendar::utc(y, 1, 1, 5, 0, 0, 0);
        assert_eq!(ny_years, [at5(2020), at5(2021), at5(2022), at5(2024)]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn an_unknown_zone_fails_with_postgresqls_error() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        happenings().await?;
        let err = timezone::override_zone("Mars/Olympus_Mons", names(q!(at__month = 1)))
            .await?
            .unwrap_err();
        assert!(err.to_string().contains("not recognized"), "{err}");
        // A name of the wrong shape never reaches the server.
        let err = timezone::override_zone("Europe/Paris; DROP", names(q!(at__month = 1)))
            .await
            .unwrap_err();
        assert!(matches!(err, orm_core::Error::Config(_)), "{err}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn chained_and_text_transforms_match_djangos_rows() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        happenings().await?;
        // Django's `at__date__year`: the year of the local date. In New
        // York, "eve" (2022-01-01 04:30 UTC) is on 2021-12-31.
        let ny = timezone::override_zone("America/New_York", async {
            check(vec![
                case!(at__date__year = 2021, ["eve", "isoedge"]),
                case!(at__date__month = 12, ["eve"]),
                case!(at__date__week_day = 6, ["eve"]),
                // New York times of day: 23:30, 07:00, 03:15, 14:45, 05:00.
                case!(at__time__hour__gte = 14, ["eve", "summer"]),
                case!(at__time__minute = 15, ["leap"]),
            ])
            .await
        })
        .await?;
        ny?;
        // In UTC "eve" is on 2022-01-01.
        check(vec![
            case!(at__date__year = 2022, ["eve", "newyear"]),
            // `ends` is NULL for eve and summer: the transformed value is
            // NULL too (Django's `ends__date__isnull`).
            case!(ends__date__isnull = true, ["eve", "summer"]),
            case!(ends__date = None, ["eve", "summer"]),
            case!(ends__hour__isnull = false, ["isoedge", "leap", "newyear"]),
            // Lower/Upper/Length/Trim as transforms (the names are lower
            // case already: Upper makes them match an upper-case value).
            case!(name__upper = "LEAP", ["leap"]),
            case!(name__upper__startswith = "NEW", ["newyear"]),
            case!(name__length = 3, ["eve"]),
            case!(name__length__gte = 6, ["isoedge", "newyear", "summer"]),
            case!(name__lower__trim__length__lt = 4, ["eve"]),
        ])
        .await?;
        // exclude() of an `isnull` after a transform has no IS NOT NULL
        // guard: the rows whose end has a date.
        let mut kept: Vec<String> = Happening::all()
            .exclude(q!(ends__date__isnull = true))
            .await?
            .into_iter()
            .map(|h| h.name)
            .collect();
        kept.sort();
        assert_eq!(kept, ["isoedge", "leap", "newyear"]);
        // The runtime form, as from a query string.
        let q = Lookup::parse::<Happening>("name__upper__endswith", "EAR")?;
        assert_eq!(names(q).await?, ["newyear"]);
        let q = Lookup::parse::<Happening>("at__date__year", "2024")?;
        assert_eq!(names(q).await?, ["leap"]);
        Ok(())
    })
    .await
}
