//! Models with interval fields (Django's `DurationField`), for
//! `tests/db/intervals.rs`, and a numrange field for `tests/db/ranges.rs`.

use chrono::{DateTime, Utc};
use orm_core::prelude::*;
use orm_core::{Decimal, Interval, Range};

/// A task: how long it took, its optional budget, when it ran.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "iv_tasks")]
pub(crate) struct Task {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub took: Interval,
    pub budget: Option<Interval>,
    pub starts: DateTime<Utc>,
    pub ends: Option<DateTime<Utc>>,
}

/// A price band (Django's `DecimalRangeField`) and a price.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "rng_bands")]
pub(crate) struct Band {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub prices: Option<Range<Decimal>>,
    pub price: Decimal,
}
