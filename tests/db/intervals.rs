//! Interval fields (Django's `DurationField`, PostgreSQL's `interval`)
//! against a real server.
//!
//! Expected values follow PostgreSQL: an interval keeps its months, days
//! and microseconds apart (`interval_send`), compares with a month as 30
//! days and a day as 24 hours (`interval_cmp`), `sum`/`avg` of intervals are
//! intervals, `timestamptz - timestamptz` is an interval whose whole 24
//! hours are days (`timestamp_mi` calls `justify_hours`: 48 hours apart is
//! `2 days`), and ISO 8601 input takes a sign per number (`P-1M`).

use chrono::{TimeZone, Utc};
use orm_core::migrate::MakeOptions;
use orm_core::prelude::*;
use orm_core::{Interval, Value};

use crate::common::{folder, setup};
use crate::migration_support::{empty_db, generated, introspect, migrator, query, written};
use crate::models::intervals::Task;

const HOUR: i64 = 3_600_000_000;

/// Tasks a to d; `took`: 1 day 02:00, 3 hours, 1 mon, -00:30; starts at
/// 2024-03-01 08:00 UTC, ends (a and b) 90 minutes and 2 days later.
async fn tasks() -> Result<Vec<Task>> {
    let start = Utc.with_ymd_and_hms(2024, 3, 1, 8, 0, 0).unwrap();
    let rows = [
        (
            "a",
            Interval::new(0, 1, 2 * HOUR),
            Some(Interval::from_hours(2)),
            Some(start + chrono::TimeDelta::minutes(90)),
        ),
        (
            "b",
            Interval::from_hours(3),
            None,
            Some(start + chrono::TimeDelta::days(2)),
        ),
        (
            "c",
            Interval::from_months(1),
            Some(Interval::from_days(31)),
            None,
        ),
        ("d", Interval::from_minutes(-30), None, None),
    ];
    let mut out = Vec::new();
    for (name, took, budget, ends) in rows {
        out.push(
            Task::create(Task {
                name: name.to_owned(),
                took,
                budget,
                starts: start,
                ends,
                ..Default::default()
            })
            .await?,
        );
    }
    Ok(out)
}

async fn names(q: impl IntoQ<Task>) -> Result<Vec<String>> {
    let mut names: Vec<String> = Task::filter(q).await?.into_iter().map(|t| t.name).collect();
    names.sort();
    Ok(names)
}

#[tokio::test]
async fn intervals_round_trip_with_their_three_parts() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let made = tasks().await?;
        let read = Task::all().order_by(["id"]).await?;
        assert_eq!(read, made);
        // Written by the server's own parser, read back part by part:
        // `1 year 2 mons -3 days 04:05:06.789` keeps 14 months and -3 days
        // (PostgreSQL never folds months into days).
        let rows: Vec<(Interval, Interval, Interval)> = orm_core::raw(
            "SELECT '1 year 2 mons -3 days 04:05:06.789'::interval, \
             '-1 day -00:00:01'::interval, 'P-1M'::interval",
            &[],
        )
        .await?;
        assert_eq!(
            rows[0],
            (
                Interval::new(14, -3, 4 * HOUR + 5 * 60_000_000 + 6_789_000),
                Interval::new(0, -1, -1_000_000),
                Interval::from_months(-1),
            )
        );
        // And what we send is what the server reads: its own text of it.
        let text: Vec<(String,)> = orm_core::raw(
            "SELECT $1::interval::text",
            &[&Interval::new(-13, 2, -5 * HOUR)],
        )
        .await?;
        assert_eq!(text[0].0, "-1 years -1 mons +2 days -05:00:00");
        assert_eq!(Interval::new(-13, 2, -5 * HOUR).to_string(), text[0].0);
        // A row inserted by raw SQL reads as a model.
        orm_core::raw::<(i64,)>(
            "INSERT INTO iv_tasks (name, took, budget, starts) \
             VALUES ('raw', '2 mons 1 day -00:00:00.5', NULL, now()) RETURNING id",
            &[],
        )
        .await?;
        let raw = Task::get(q!(name = "raw")).await?;
        assert_eq!(raw.took, Interval::new(2, 1, -500_000));
        assert_eq!(raw.budget, None);
        // save(), update(), values().
        let mut b = read[1].clone();
        b.budget = Some(Interval::from_micros(1));
        b.save().await?;
        assert_eq!(
            Task::get(q!(name = "b")).await?.budget,
            Some(Interval::from_micros(1))
        );
        Task::filter(q!(name = "b"))
            .update(q!(took = Interval::new(-1, 0, 0), budget = None))
            .await?;
        let rows = Task::filter(q!(name = "b"))
            .values(["took", "budget"])
            .await?;
        assert_eq!(rows[0].get::<Interval>("took")?, Interval::from_months(-1));
        assert_eq!(rows[0].get::<Option<Interval>>("budget")?, None);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn interval_lookups_compare_months_as_30_days() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        tasks().await?;
        // 1 day 02:00 (26 h), 3 h, 1 mon (720 h), -30 min.
        assert_eq!(
            names(q!(took__gt = Interval::from_hours(24))).await?,
            ["a", "c"]
        );
        // `1 mon` equals `30 days` to PostgreSQL's `=`.
        assert_eq!(names(q!(took = Interval::from_days(30))).await?, ["c"]);
        assert_eq!(names(q!(took__lt = Interval::ZERO)).await?, ["d"]);
        let f = Task::fields();
        assert_eq!(
            names(
                f.took
                    .range((Interval::from_hours(3), Interval::from_hours(26)))
            )
            .await?,
            ["a", "b"]
        );
        assert_eq!(names(q!(budget__isnull = true)).await?, ["b", "d"]);
        // The runtime form: PostgreSQL's, Django's and ISO 8601 text.
        assert_eq!(
            names(Lookup::parse::<Task>("took__gte", "1 day")?).await?,
            ["a", "c"]
        );
        assert_eq!(
            names(Lookup::parse::<Task>("took__lte", "03:00:00")?).await?,
            ["b", "d"]
        );
        assert_eq!(
            names(Lookup::parse::<Task>("took", "P1DT2H")?).await?,
            ["a"]
        );
        assert_eq!(
            names(Lookup::parse::<Task>("budget__gt", "30 00:00:00")?).await?,
            ["c"]
        );
        // Ordering by an interval: PostgreSQL's order.
        let ordered: Vec<String> = Task::all()
            .order_by(["-took"])
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(ordered, ["c", "a", "b", "d"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn sum_avg_and_timestamp_arithmetic() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        tasks().await?;
        // PostgreSQL sums each part: 1 mon 1 day 02:00 + 03:00 - 00:30.
        let stats = Task::all()
            .aggregate([Sum("took"), Avg("budget"), Max("took"), Min("took")])
            .await?;
        assert_eq!(
            stats.get::<Option<Interval>>("took__sum")?,
            Some(Interval::new(1, 1, 4 * HOUR + 30 * 60_000_000))
        );
        // avg('02:00', '31 days') = '15 days 13:00' (PostgreSQL carries the
        // half day down to hours).
        assert_eq!(
            stats.get::<Option<Interval>>("budget__avg")?,
            Some(Interval::new(0, 15, 13 * HOUR))
        );
        assert_eq!(
            stats.get::<Option<Interval>>("took__max")?,
            Some(Interval::from_months(1))
        );
        assert_eq!(
            stats.get::<Option<Interval>>("took__min")?,
            Some(Interval::from_minutes(-30))
        );
        let none = Task::filter(q!(name = "none"))
            .aggregate([Sum("took").default(Interval::ZERO)])
            .await?;
        assert_eq!(none.get::<Interval>("took__sum")?, Interval::ZERO);
        // Django's TemporalSubtraction: ends - starts is an interval
        // (01:30:00, and 2 days: PostgreSQL justifies whole days).
        assert_eq!(names(q!(took__lt = F("ends") - F("starts"))).await?, ["b"]);
        let rows = Task::filter(q!(ends__isnull = false))
            .order_by(["id"])
            .annotate_expr("ran", F("ends") - F("starts"))
            .await?;
        assert_eq!(
            rows.iter()
                .map(|r| r.get::<Option<Interval>>("ran"))
                .collect::<Result<Vec<_>>>()?,
            [
                Some(Interval::from_minutes(90)),
                Some(Interval::from_days(2))
            ]
        );
        // A timestamp plus an interval value.
        assert_eq!(
            names(q!(ends__gt = F("starts") + Interval::from_hours(2))).await?,
            ["b"]
        );
        // Updating with interval arithmetic.
        Task::filter(q!(name = "d"))
            .update(q!(took = F("took") * 2 + Interval::from_days(1)))
            .await?;
        assert_eq!(
            Task::get(q!(name = "d")).await?.took,
            Interval::new(0, 1, -HOUR)
        );
        Ok(())
    })
    .await
}

mod versions {
    /// Version 1: no duration.
    pub(super) mod v1 {
        use orm_core::prelude::*;

        /// A job.
        #[derive(Model, Debug, Clone)]
        #[orm(table = "iv_mig_jobs")]
        pub(crate) struct Job {
            /// Key.
            #[orm(primary_key)]
            pub id: i64,
            /// A name.
            pub name: String,
        }
    }
    /// Version 2: a NOT NULL interval (filled with `'0'` for the rows
    /// there) and a nullable one.
    pub(super) mod v2 {
        use orm_core::prelude::*;

        /// A job.
        #[derive(Model, Debug, Clone)]
        #[orm(table = "iv_mig_jobs")]
        pub(crate) struct Job {
            /// Key.
            #[orm(primary_key)]
            pub id: i64,
            /// A name.
            pub name: String,
            /// How long.
            pub took: orm_core::Interval,
            /// At most.
            pub limit: Option<orm_core::Interval>,
        }
    }
}

#[tokio::test]
async fn migrations_add_interval_columns() -> Result<()> {
    use versions::{v1, v2};
    let dir = folder();
    let db = empty_db().await;
    let m1 = migrator(&dir, &db, &[v1::Job::META]);
    written(m1.make(&MakeOptions::default())?);
    m1.migrate(None, false).await?;
    orm_core::scope(&db, async {
        v1::Job::create(v1::Job {
            id: 0,
            name: "old".into(),
        })
        .await
    })
    .await?;
    let m2 = migrator(&dir, &db, &[v2::Job::META]);
    // A NOT NULL column without a default needs a value for the rows there.
    assert!(m2.make(&MakeOptions::default()).is_err());
    let fills = [("iv_mig_jobs.took".to_owned(), "'0'".to_owned())].into();
    let second = std::fs::read_to_string(written(m2.make(&MakeOptions {
        fills,
        ..Default::default()
    })?))
    .expect("the file");
    assert!(
        second.contains("\"took\" interval NOT NULL DEFAULT '0'"),
        "{second}"
    );
    assert!(second.contains("\"limit\" interval NULL"), "{second}");
    m2.migrate(None, false).await?;
    assert_eq!(introspect(&db).await?, generated(&[v2::Job::META]).await?);
    let old = orm_core::scope(&db, async { v2::Job::get(q!(name = "old")).await }).await?;
    assert_eq!((old.took, old.limit), (Interval::ZERO, None));
    // Reverting drops the columns again.
    m2.migrate(Some("0001"), true).await?;
    let cols = query::<(String,)>(
        &db,
        "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'iv_mig_jobs' ORDER BY 1",
    )
    .await?;
    assert_eq!(cols, [("id".to_owned(),), ("name".to_owned(),)]);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn interval_values_render_for_logs() {
    assert_eq!(
        Value::from(Interval::new(0, 1, 2 * HOUR)).to_string(),
        "'1 day 02:00:00'"
    );
}
