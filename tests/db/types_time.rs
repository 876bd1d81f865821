//! Dates and times: microseconds kept, nanoseconds dropped, far dates, time zone offsets, filters.

use chrono::{DateTime, Duration, FixedOffset, SubsecRound, TimeZone, Utc};
use orm_core::prelude::*;

use crate::common::setup;
use crate::models::type_samples::{date, texts, three_rows, time, utc};
use crate::models::types::AllTypes;

#[tokio::test]
async fn times_keep_microseconds_and_drop_nanoseconds() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let t = time(13, 14, 15, 123_456_789);
        let stamp = date(2024, 7, 8).and_time(t);
        let stamptz = stamp.and_utc();
        let obj = AllTypes::create(AllTypes {
            time: t,
            stamp,
            stamptz,
            ..Default::default()
        })
        .await?;
        let fetched = AllTypes::get(q!(id = obj.id)).await?;
        assert_eq!(fetched.time, time(13, 14, 15, 123_456_000));
        assert_eq!(
            fetched.stamp,
            date(2024, 7, 8).and_time(time(13, 14, 15, 123_456_000))
        );
        assert_eq!(fetched.stamptz, stamptz.trunc_subsecs(6));
        assert_ne!(fetched.stamptz, stamptz, "the input had nanoseconds");
        assert_eq!(obj, fetched, "create returns the value as stored");

        // Exactly representable microseconds survive unchanged.
        let exact = date(2024, 7, 8).and_time(time(0, 0, 0, 999_999_000));
        let obj = AllTypes::create(AllTypes {
            stamp: exact,
            ..Default::default()
        })
        .await?;
        assert_eq!(AllTypes::get(q!(id = obj.id)).await?.stamp, exact);
        assert_eq!(AllTypes::filter(q!(stamp = exact)).count().await?, 1);
        assert_eq!(
            AllTypes::filter(q!(stamp = fetched.stamp, time = fetched.time))
                .count()
                .await?,
            1
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn far_past_and_future_dates_round_trip_and_order() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let cases = [
            // (date, timestamp, timestamptz)
            (
                date(-4000, 1, 1),
                date(-4000, 1, 1).and_time(time(0, 0, 0, 0)),
                date(-4000, 1, 1).and_time(time(12, 0, 0, 0)).and_utc(),
            ),
            (
                date(1, 1, 1),
                date(1, 1, 1).and_time(time(0, 0, 0, 0)),
                utc(1, 1, 1, 0, 0, 0),
            ),
            (
                date(1900, 2, 28),
                date(1900, 2, 28).and_time(time(1, 2, 3, 4_000)),
                utc(1900, 2, 28, 1, 2, 3) + Duration::microseconds(4),
            ),
            (
                date(9999, 12, 31),
                date(9999, 12, 31).and_time(time(23, 59, 59, 999_999_000)),
                date(9999, 12, 31)
                    .and_time(time(23, 59, 59, 999_999_000))
                    .and_utc(),
            ),
            (
                date(200_000, 6, 15),
                date(200_000, 6, 15).and_time(time(6, 0, 0, 0)),
                utc(200_000, 6, 15, 6, 0, 0),
            ),
        ];
        for (d, stamp, stamptz) in cases {
            let obj = AllTypes::create(AllTypes {
                date: d,
                stamp,
                stamptz,
                ..Default::default()
            })
            .await?;
            let fetched = AllTypes::get(q!(id = obj.id)).await?;
            assert_eq!(
                (fetched.date, fetched.stamp, fetched.stamptz),
                (d, stamp, stamptz)
            );
        }
        let years = |v: Vec<AllTypes>| {
            use chrono::Datelike;
            v.iter().map(|o| o.date.year()).collect::<Vec<_>>()
        };
        let q = AllTypes::all().order_by(["date"]);
        assert_eq!(
            years(q.clone().await?),
            [-4000, 1, 1900, 9999, 200_000],
            "BC dates sort first"
        );
        assert_eq!(
            years(q.clone().filter(q!(date__lt = date(1, 1, 1))).await?),
            [-4000]
        );
        assert_eq!(
            years(
                q.clone()
                    .filter(q!(
                        stamp__gt = date(9999, 12, 31).and_time(time(23, 59, 59, 999_998_000))
                    ))
                    .await?
            ),
            [9999, 200_000]
        );
        assert_eq!(
            years(
                q.clone()
                    .filter(q!(
                        stamptz__range = (utc(1, 1, 1, 0, 0, 0), utc(2000, 1, 1, 0, 0, 0))
                    ))
                    .await?
            ),
            [1, 1900]
        );
        assert_eq!(
            years(
                q.clone()
                    .filter(q!(date__in = [date(1900, 2, 28), date(200_000, 6, 15)]))
                    .await?
            ),
            [1900, 200_000]
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn timestamptz_from_other_offsets_compares_equal() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let india = FixedOffset::east_opt(5 * 3600 + 1800).expect("offset");
        let pacific = FixedOffset::west_opt(8 * 3600).expect("offset");
        let local_india = india
            .with_ymd_and_hms(2024, 3, 10, 1, 30, 0)
            .single()
            .expect("time");
        let local_pacific = pacific
            .with_ymd_and_hms(2024, 3, 9, 12, 0, 0)
            .single()
            .expect("time");
        let from_india: DateTime<Utc> = local_india.with_timezone(&Utc);
        let from_pacific: DateTime<Utc> = local_pacific.with_timezone(&Utc);
        // 01:30 at +05:30 is 20:00 UTC the day before; 12:00 at -08:00 is 20:00 UTC.
        assert_eq!(from_india, utc(2024, 3, 9, 20, 0, 0));
        assert_eq!(from_pacific, from_india);

        let obj = AllTypes::create(AllTypes {
            stamptz: from_india,
            ..Default::default()
        })
        .await?;
        assert_eq!(obj.stamptz, from_pacific);
        let fetched = AllTypes::get(q!(id = obj.id)).await?;
        assert_eq!(fetched.stamptz, utc(2024, 3, 9, 20, 0, 0));
        assert_eq!(fetched.stamptz, local_india);
        assert_eq!(fetched.stamptz, local_pacific);
        assert_eq!(
            AllTypes::filter(q!(stamptz = from_pacific)).count().await?,
            1
        );
        assert_eq!(
            AllTypes::filter(q!(stamptz__gt = from_pacific - Duration::microseconds(1)))
                .count()
                .await?,
            1
        );
        assert_eq!(
            AllTypes::filter(q!(stamptz__gt = from_pacific))
                .count()
                .await?,
            0
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn filter_dates_and_times() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let [a, b, c] = three_rows().await?;
        assert_eq!(texts(q!(date = a.date)).await?, ["alpha"]);
        assert_eq!(texts(q!(date__gt = date(2000, 1, 1))).await?, ["beta"]);
        assert_eq!(
            texts(q!(date__in = [a.date, c.date])).await?,
            ["alpha", "gamma"]
        );
        assert_eq!(texts(q!(time = time(12, 0, 0, 0))).await?, ["gamma"]);
        assert_eq!(texts(q!(time__gt = time(12, 0, 0, 0))).await?, ["alpha"]);
        assert_eq!(
            texts(q!(time__lte = time(12, 0, 0, 0))).await?,
            ["beta", "gamma"]
        );
        assert_eq!(texts(q!(stamp = b.stamp)).await?, ["beta"]);
        assert_eq!(texts(q!(stamp__gt = a.stamp)).await?, ["beta", "gamma"]);
        assert_eq!(
            texts(q!(stamp__in = [a.stamp, c.stamp])).await?,
            ["alpha", "gamma"]
        );
        assert_eq!(texts(q!(stamptz = c.stamptz)).await?, ["gamma"]);
        assert_eq!(texts(q!(stamptz__gt = c.stamptz)).await?, ["alpha"]);
        assert_eq!(
            texts(q!(stamptz__range = (b.stamptz, c.stamptz))).await?,
            ["beta", "gamma"]
        );
        assert_eq!(
            texts(q!(stamptz__in = [a.stamptz, b.stamptz])).await?,
            ["alpha", "beta"]
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn dates_lists_the_distinct_days_months_and_years() -> Result<()> {
    // Django's dates(field, kind, order): distinct truncated dates, a
    // date-time cut in UTC, weeks starting on Monday.
    let db = setup().await;
    orm_core::scope(&db, async {
        for (day, stamp) in [
            (date(2024, 2, 29), utc(2024, 2, 29, 23, 30, 0)),
            (date(2024, 3, 1), utc(2024, 3, 1, 0, 30, 0)),
            (date(2024, 3, 1), utc(2023, 12, 31, 23, 59, 59)),
            (date(2025, 1, 15), utc(2025, 1, 15, 12, 0, 0)),
        ] {
            AllTypes::create(AllTypes {
                date: day,
                stamp: stamp.naive_utc(),
                stamptz: stamp,
                ..Default::default()
            })
            .await?;
        }
        let all = AllTypes::all();
        assert_eq!(
            all.clone().dates("date", "month", "ASC").await?,
            [date(2024, 2, 1), date(2024, 3, 1), date(2025, 1, 1)]
        );
        assert_eq!(
            all.clone().dates("stamptz", "year", "DESC").await?,
            [date(2025, 1, 1), date(2024, 1, 1), date(2023, 1, 1)]
        );
        assert_eq!(
            all.clone().dates("stamp", "day", "ASC").await?,
            [
                date(2023, 12, 31),
                date(2024, 2, 29),
                date(2024, 3, 1),
                date(2025, 1, 15)
            ]
        );
        // 2024-02-29 and 2024-03-01 are in the week of Monday 2024-02-26.
        assert_eq!(
            AllTypes::filter(q!(date__lt = date(2025, 1, 1)))
                .dates("date", "week", "ASC")
                .await?,
            [date(2024, 2, 26)]
        );
        for (field, kind, order) in [
            ("text", "day", "ASC"),
            ("date", "hour", "ASC"),
            ("date", "day", "asc"),
        ] {
            assert!(matches!(
                AllTypes::all().dates(field, kind, order).await,
                Err(Error::InvalidQuery(_))
            ));
        }
        Ok(())
    })
    .await
}

#[tokio::test]
async fn datetimes_lists_the_distinct_instants_cut_in_utc() -> Result<()> {
    // Django's datetimes(field, kind, order) with the default time zone, UTC.
    let db = setup().await;
    orm_core::scope(&db, async {
        for stamp in [
            utc(2024, 2, 29, 23, 30, 10),
            utc(2024, 2, 29, 23, 59, 59),
            utc(2024, 3, 1, 0, 30, 0),
        ] {
            AllTypes::create(AllTypes {
                stamptz: stamp,
                ..Default::default()
            })
            .await?;
        }
        assert_eq!(
            AllTypes::all().datetimes("stamptz", "hour", "ASC").await?,
            [utc(2024, 2, 29, 23, 0, 0), utc(2024, 3, 1, 0, 0, 0)]
        );
        assert_eq!(
            AllTypes::all().datetimes("stamptz", "day", "DESC").await?,
            [utc(2024, 3, 1, 0, 0, 0), utc(2024, 2, 29, 0, 0, 0)]
        );
        for (field, kind) in [("date", "day"), ("stamptz", "fortnight")] {
            assert!(matches!(
                AllTypes::all().datetimes(field, kind, "ASC").await,
                Err(Error::InvalidQuery(_))
            ));
        }
        Ok(())
    })
    .await
}
