//! Events at known instants, for the date and time transforms
//! (`tests/db/transforms.rs`).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use orm_core::prelude::*;

/// A place with a field named like a transform: `happening__venue__date`
/// and `venue__date` name it, not the `date` transform.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "tz_venues")]
pub(crate) struct Venue {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// Opening day.
    pub date: NaiveDate,
}

/// One event: an instant (indexed), its UTC wall clock as naive values,
/// and a nullable end.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "tz_happenings")]
pub(crate) struct Happening {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    #[orm(index)]
    pub at: DateTime<Utc>,
    /// `at`'s UTC date and time, without a zone.
    pub local: NaiveDateTime,
    /// `at`'s UTC date.
    pub day: NaiveDate,
    /// `at`'s UTC time of day.
    pub starts: NaiveTime,
    /// `at` plus an hour, for some rows.
    pub ends: Option<DateTime<Utc>>,
    pub venue: Option<ForeignKey<Venue>>,
}

/// `y-m-d h:mi:s.micros` UTC.
pub(crate) fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32, micros: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, mi, s).unwrap() + chrono::Duration::microseconds(micros.into())
}

/// The five events (UTC instants; in New York, UTC-5 in winter, UTC-4 in
/// summer):
///
/// | name    | UTC                        | New York                   |
/// |---------|----------------------------|----------------------------|
/// | eve     | 2022-01-01 04:30 (Sat)     | 2021-12-31 23:30 (Fri)     |
/// | newyear | 2022-01-01 12:00:45.5 (Sat)| 2022-01-01 07:00:45.5      |
/// | leap    | 2024-02-29 08:15:59.999    | 2024-02-29 03:15:59.999    |
/// | summer  | 2020-07-04 18:45:30 (Sat)  | 2020-07-04 14:45:30        |
/// | isoedge | 2021-01-03 10:00 (Sun)     | 2021-01-03 05:00           |
///
/// `eve` and `summer` have no venue and no end; the others end an hour
/// later, at the venue "hall" (opened 2019-05-01).
pub(crate) async fn happenings() -> Result<Vec<Happening>> {
    let hall = Venue::create(Venue {
        name: "hall".into(),
        date: NaiveDate::from_ymd_opt(2019, 5, 1).unwrap(),
        ..Default::default()
    })
    .await?;
    let rows = [
        ("eve", utc(2022, 1, 1, 4, 30, 0, 0), false),
        ("newyear", utc(2022, 1, 1, 12, 0, 45, 500_000), true),
        ("leap", utc(2024, 2, 29, 8, 15, 59, 999_000), true),
        ("summer", utc(2020, 7, 4, 18, 45, 30, 0), false),
        ("isoedge", utc(2021, 1, 3, 10, 0, 0, 0), true),
    ];
    let mut out = Vec::new();
    for (name, at, full) in rows {
        out.push(
            Happening::create(Happening {
                name: name.into(),
                at,
                local: at.naive_utc(),
                day: at.date_naive(),
                starts: at.time(),
                ends: full.then(|| at + chrono::Duration::hours(1)),
                venue: if full {
                    Some(ForeignKey::to(&hall)?)
                } else {
                    None
                },
                ..Default::default()
            })
            .await?,
        );
    }
    Ok(out)
}
