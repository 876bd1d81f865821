// #[orm(soft_delete)] needs a nullable timestamp: a missing field (by its
// default name or the one given) is reported at the attribute, a field of
// another type at its type.

use chrono::{DateTime, NaiveDate, Utc};
use orm_core::prelude::*;

#[derive(Model)]
#[orm(soft_delete)]
struct NoField {
    #[orm(primary_key)]
    id: i64,
}

#[derive(Model)]
#[orm(soft_delete = "removed_at")]
struct NamedMissing {
    #[orm(primary_key)]
    id: i64,
    deleted_at: Option<DateTime<Utc>>,
}

#[derive(Model)]
#[orm(soft_delete)]
struct NotNullable {
    #[orm(primary_key)]
    id: i64,
    deleted_at: DateTime<Utc>,
}

#[derive(Model)]
#[orm(soft_delete = "gone")]
struct NotATimestamp {
    #[orm(primary_key)]
    id: i64,
    gone: Option<NaiveDate>,
}

#[derive(Model)]
#[orm(soft_delete, soft_delete)]
struct Twice {
    #[orm(primary_key)]
    id: i64,
    deleted_at: Option<DateTime<Utc>>,
}

fn main() {}
