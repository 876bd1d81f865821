//! Models with range fields, for `tests/db/ranges.rs`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use orm_core::prelude::*;
use orm_core::Range;

/// A booking with one field of each range type.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "rng_bookings")]
pub(crate) struct Booking {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub seats: Range<i32>,
    pub big: Option<Range<i64>>,
    pub days: Option<Range<NaiveDate>>,
    pub during: Option<Range<NaiveDateTime>>,
    pub at: Option<Range<DateTime<Utc>>>,
    pub n: i32,
}
