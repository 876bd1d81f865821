//! Rows of the `types` models, with extreme, tricky or distinct values in every column.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use orm_core::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::types::{AllTypes, Nullable, Role};

pub(crate) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

pub(crate) fn time(h: u32, m: u32, s: u32, nano: u32) -> NaiveTime {
    NaiveTime::from_hms_nano_opt(h, m, s, nano).expect("valid time")
}

pub(crate) fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid UTC time")
}

pub(crate) fn nested_json() -> serde_json::Value {
    json!({
        "name": "Grüße 中文 😀",
        "quote": "he said \"hi\" \\ 'ok'",
        "n": 42,
        "neg": -7,
        "big": i64::MAX,
        "ubig": u64::MAX,
        "float": 2.5,
        "flag": true,
        "none": null,
        "empty_obj": {},
        "empty_arr": [],
        "nested": {"a": {"b": [1, [2, [3, {"c": "d"}]], null, false, "x"]}},
        "ключ": ["значение", "ü", "😀"]
    })
}

/// A row full of extreme or tricky values.
pub(crate) fn sample_a() -> AllTypes {
    AllTypes {
        id: 0,
        flag: true,
        small: i16::MIN,
        int: i32::MAX,
        big: i64::MIN,
        real: f32::MAX,
        double: f64::MIN_POSITIVE,
        text: "it's 100% a_b \\ \"quoted\" ü 中文 😀".into(),
        short: "varchar: ü 中文 😀 '%_\\".into(),
        bytes: (0..=255).collect(),
        date: date(1, 1, 1),
        time: time(23, 59, 59, 999_999_000),
        stamp: date(1999, 12, 31).and_time(time(23, 59, 59, 999_999_000)),
        stamptz: utc(2038, 1, 19, 3, 14, 8) + Duration::microseconds(123_456),
        uid: Uuid::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210),
        json: nested_json(),
        role: Role::Admin,
    }
}

/// A row with a different value in every field.
pub(crate) fn sample_b() -> AllTypes {
    AllTypes {
        id: 0,
        flag: false,
        small: i16::MAX,
        int: i32::MIN,
        big: i64::MAX,
        real: -1.5,
        double: -123_456.789_012_5,
        text: String::new(),
        short: "x".into(),
        bytes: vec![0x00, 0xff, 0x00],
        date: date(9999, 12, 31),
        time: time(0, 0, 0, 0),
        stamp: date(2000, 1, 1).and_time(time(0, 0, 0, 1_000)),
        stamptz: utc(1970, 1, 1, 0, 0, 0),
        uid: Uuid::nil(),
        json: json!([1, "two", {"three": [3.25]}, null]),
        role: Role::Member,
    }
}

pub(crate) fn nullable_some() -> Nullable {
    Nullable {
        id: 0,
        flag: Some(false),
        small: Some(-1),
        int: Some(0),
        big: Some(i64::MAX),
        real: Some(0.25),
        double: Some(-0.5),
        text: Some(String::new()),
        short: Some("ü中😀'%_\\\"".into()),
        bytes: Some(vec![0x00]),
        date: Some(date(2024, 2, 29)),
        time: Some(time(12, 30, 0, 500_000_000)),
        stamp: Some(date(2024, 2, 29).and_time(time(12, 30, 0, 1_000))),
        stamptz: Some(utc(2024, 2, 29, 23, 59, 59)),
        uid: Some(Uuid::from_u128(0xa1a2_a3a4_b1b2_c1c2_d1d2_d3d4_d5d6_d7d8)),
        json: Some(json!({"k": ["v", 1, null]})),
        role: Some(Role::Admin),
    }
}

/// Three rows with distinct values in every column; returns them as stored.
pub(crate) async fn three_rows() -> Result<[AllTypes; 3]> {
    let mut a = sample_a();
    a.text = "alpha".into();
    let mut b = sample_b();
    b.text = "beta".into();
    let c = AllTypes {
        flag: false,
        small: 5,
        int: 5,
        big: 5,
        real: 5.5,
        double: 5.5,
        text: "gamma".into(),
        short: "gamma".into(),
        bytes: vec![],
        date: date(2000, 1, 1),
        time: time(12, 0, 0, 0),
        stamp: date(2000, 1, 1).and_time(time(12, 0, 0, 0)),
        stamptz: utc(2000, 1, 1, 12, 0, 0),
        uid: Uuid::max(),
        json: json!({"c": true}),
        role: Role::Guest,
        id: 0,
    };
    let rows = AllTypes::bulk_create(vec![a, b, c]).await?;
    Ok([rows[0].clone(), rows[1].clone(), rows[2].clone()])
}

/// The `text` of each row, in `id` order.
pub(crate) async fn texts(q: impl IntoQ<AllTypes>) -> Result<Vec<String>> {
    Ok(AllTypes::filter(q)
        .order_by(["id"])
        .await?
        .into_iter()
        .map(|o| o.text)
        .collect())
}
