//! A model with a field of every type whose values need the server's
//! parameter types (extension types, enums, arrays, ranges, ...), for
//! `tests/db/pgbouncer_types.rs` (unnamed statements through pgbouncer).

use std::net::IpAddr;

use orm_core::prelude::*;
use orm_core::{Decimal, Interval, Range};
use uuid::Uuid;

use super::types::Role;

/// One field of each kind: a text-stored enum and an array of it,
/// `citext` (an extension type: its OID is not built in; an `__in` list
/// of it binds a `citext[]`), `numeric`, `inet`, `uuid`, `jsonb`, `interval`, ranges and
/// arrays.
#[derive(Model, Debug, Clone, PartialEq)]
#[orm(table = "pool_things")]
pub(crate) struct Thing {
    #[orm(primary_key)]
    pub id: i64,
    pub role: Role,
    pub roles: Vec<Role>,
    #[orm(citext, unique)]
    pub email: String,
    #[orm(citext)]
    pub nick: Option<String>,
    pub aliases: Vec<String>,
    #[orm(max_digits = 10, decimal_places = 2)]
    pub price: Decimal,
    pub ip: Option<IpAddr>,
    pub uid: Uuid,
    pub data: serde_json::Value,
    pub took: Interval,
    pub seats: Range<i32>,
    pub prices: Option<Range<Decimal>>,
    pub scores: Vec<i64>,
}
