// Interval fields misused: compared with a chrono TimeDelta (a duration is
// an `orm_core::Interval`; convert with `Interval::try_from`), with an
// integer, a text lookup and a date transform on an interval, and a
// numrange field given an integer range.

use orm_core::prelude::*;
use orm_core::{Decimal, Interval, Range};

#[derive(Model)]
struct Task {
    #[orm(primary_key)]
    id: i64,
    took: Interval,
    prices: Range<Decimal>,
}

fn main() {
    let _ = Task::filter(q!(took__gt = chrono::TimeDelta::hours(1)));
    let _ = Task::filter(q!(took = 3600));
    let _ = Task::filter(q!(took__icontains = "1"));
    let _ = Task::filter(q!(took__year = 2024));
    let _ = Task::filter(q!(prices__overlap = 1..10));
}
