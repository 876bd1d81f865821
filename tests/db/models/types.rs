//! A column of every supported type (`types_` tables), plain and in `Option`, an enum, a UUID key.
//!
//! Shared with the `offline` test binary, which parses lookups on them; the
//! sample rows are in `type_samples`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use orm_core::prelude::*;
use uuid::Uuid;

#[derive(DbEnum, Debug, Clone, Copy, PartialEq, Default)]
pub(crate) enum Role {
    #[default]
    Guest,
    Member,
    #[orm(rename = "administrator")]
    Admin,
}

#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "types_all")]
pub(crate) struct AllTypes {
    #[orm(primary_key)]
    pub id: i64,
    pub flag: bool,
    pub small: i16,
    pub int: i32,
    pub big: i64,
    pub real: f32,
    pub double: f64,
    pub text: String,
    #[orm(max_length = 40)]
    pub short: String,
    pub bytes: Vec<u8>,
    pub date: NaiveDate,
    pub time: NaiveTime,
    pub stamp: NaiveDateTime,
    pub stamptz: DateTime<Utc>,
    pub uid: Uuid,
    pub json: serde_json::Value,
    pub role: Role,
}

#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "types_nullable")]
pub(crate) struct Nullable {
    #[orm(primary_key)]
    pub id: i32,
    pub flag: Option<bool>,
    pub small: Option<i16>,
    pub int: Option<i32>,
    pub big: Option<i64>,
    pub real: Option<f32>,
    pub double: Option<f64>,
    pub text: Option<String>,
    #[orm(max_length = 10)]
    pub short: Option<String>,
    pub bytes: Option<Vec<u8>>,
    pub date: Option<NaiveDate>,
    pub time: Option<NaiveTime>,
    pub stamp: Option<NaiveDateTime>,
    pub stamptz: Option<DateTime<Utc>>,
    pub uid: Option<Uuid>,
    pub json: Option<serde_json::Value>,
    pub role: Option<Role>,
}

/// An enum in a renamed column, and a nullable one; smallint identity pk.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "types_enum_holder")]
pub(crate) struct EnumHolder {
    #[orm(primary_key)]
    pub id: i16,
    #[orm(column = "user_role")]
    pub role: Role,
    pub maybe: Option<Role>,
}

#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "types_uuid_item")]
pub(crate) struct UuidItem {
    #[orm(primary_key)]
    pub id: Uuid,
    pub name: String,
    #[orm(default = 0)]
    pub n: i32,
}
