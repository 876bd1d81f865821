//! Filters on a column of every type, by `q!` and by the runtime `Lookup::parse`.

use orm_core::prelude::*;
use serde_json::json;
use uuid::Uuid;

use crate::common::setup;
use crate::models::type_samples::{nested_json, nullable_some, texts, three_rows};
use crate::models::types::{AllTypes, Nullable, Role};

#[tokio::test]
async fn filter_scalars_by_exact_in_and_gt() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let [a, b, c] = three_rows().await?;
        assert_eq!(texts(q!(flag = true)).await?, ["alpha"]);
        assert_eq!(texts(q!(flag = false)).await?, ["beta", "gamma"]);
        assert_eq!(
            texts(q!(flag__in = [true, false])).await?,
            ["alpha", "beta", "gamma"]
        );
        assert_eq!(texts(q!(small = 5)).await?, ["gamma"]);
        assert_eq!(texts(q!(small__gt = 5)).await?, ["beta"]);
        assert_eq!(
            texts(q!(int__in = [i32::MAX, 5])).await?,
            ["alpha", "gamma"]
        );
        assert_eq!(texts(q!(big__lt = 5)).await?, ["alpha"]);
        assert_eq!(texts(q!(real = 5.5)).await?, ["gamma"]);
        assert_eq!(texts(q!(real__gt = 0.0)).await?, ["alpha", "gamma"]);
        assert_eq!(texts(q!(double__lt = 0.0)).await?, ["beta"]);
        assert_eq!(
            texts(q!(double__in = [5.5, f64::MIN_POSITIVE])).await?,
            ["alpha", "gamma"]
        );
        assert_eq!(texts(q!(text__gt = "alpha")).await?, ["beta", "gamma"]);
        assert_eq!(texts(q!(short = &a.short)).await?, ["alpha"]);
        assert_eq!(
            texts(q!(short__in = [b.short.as_str(), "gamma"])).await?,
            ["beta", "gamma"]
        );
        assert_eq!(texts(q!(short__lt = "w")).await?, ["alpha", "gamma"]);
        assert_eq!(texts(q!(id = c.id)).await?, ["gamma"]);
        assert_eq!(texts(q!(pk__in = [a.id, c.id])).await?, ["alpha", "gamma"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn filter_uuid_bytea_and_jsonb() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let [a, b, c] = three_rows().await?;
        // uuid
        assert_eq!(texts(q!(uid = a.uid)).await?, ["alpha"]);
        assert_eq!(texts(q!(uid = Uuid::nil())).await?, ["beta"]);
        assert_eq!(
            texts(q!(uid__in = [b.uid, c.uid])).await?,
            ["beta", "gamma"]
        );
        assert_eq!(texts(q!(uid__gt = Uuid::nil())).await?, ["alpha", "gamma"]);
        assert_eq!(texts(q!(uid__lt = Uuid::max())).await?, ["alpha", "beta"]);
        assert_eq!(texts(q!(uid = Uuid::new_v4())).await?, Vec::<String>::new());
        // bytea: every byte value, NULs and 0xff included, compare exactly.
        let all_bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(texts(q!(bytes = &all_bytes)).await?, ["alpha"]);
        assert_eq!(texts(q!(bytes = vec![0x00, 0xff, 0x00])).await?, ["beta"]);
        assert_eq!(
            texts(q!(bytes = &[0x00u8, 0xff][..])).await?,
            Vec::<String>::new()
        );
        assert_eq!(texts(q!(bytes = Vec::new())).await?, ["gamma"]);
        assert_eq!(
            texts(q!(bytes__in = [Vec::new(), vec![0x00, 0xff, 0x00]])).await?,
            ["beta", "gamma"]
        );
        // jsonb: equality of the whole document, whatever the key order.
        assert_eq!(texts(q!(json = nested_json())).await?, ["alpha"]);
        let parsed: serde_json::Value =
            serde_json::from_str(r#"[1, "two", {"three": [3.25]}, null]"#).expect("JSON");
        assert_eq!(texts(q!(json = parsed)).await?, ["beta"]);
        assert_eq!(texts(q!(json = json!({"c": true}))).await?, ["gamma"]);
        assert_eq!(
            texts(q!(json = json!({"c": false}))).await?,
            Vec::<String>::new()
        );
        assert_eq!(
            texts(q!(json__in = [json!({"c": true}), nested_json()])).await?,
            ["alpha", "gamma"]
        );
        assert_eq!(
            texts(!q!(json = json!({"c": true}))).await?,
            ["alpha", "beta"]
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn lookup_parse_builds_working_filters_for_every_type() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let [a, b, c] = three_rows().await?;
        let parse = |key: &str, value: &str| Lookup::parse::<AllTypes>(key, value);
        assert_eq!(texts(parse("flag", "yes")?).await?, ["alpha"]);
        assert_eq!(
            texts(parse("flag__exact", "false")?).await?,
            ["beta", "gamma"]
        );
        assert_eq!(
            texts(parse("small__gt", "-32768")?).await?,
            ["beta", "gamma"]
        );
        assert_eq!(texts(parse("small", "32767")?).await?, ["beta"]);
        assert_eq!(
            texts(parse("int__in", "5, 2147483647")?).await?,
            ["alpha", "gamma"]
        );
        assert_eq!(
            texts(parse("big__lte", "-9223372036854775808")?).await?,
            ["alpha"]
        );
        assert_eq!(texts(parse("real__gte", "5.5")?).await?, ["alpha", "gamma"]);
        assert_eq!(texts(parse("double__lt", "-1e3")?).await?, ["beta"]);
        assert_eq!(texts(parse("text__istartswith", "GAM")?).await?, ["gamma"]);
        assert_eq!(texts(parse("short__contains", "'%_\\")?).await?, ["alpha"]);
        assert_eq!(texts(parse("date", "0001-01-01")?).await?, ["alpha"]);
        assert_eq!(
            texts(parse("date__range", "1999-01-01,9999-12-31")?).await?,
            ["beta", "gamma"]
        );
        assert_eq!(
            texts(parse("time__lt", "12:00:01")?).await?,
            ["beta", "gamma"]
        );
        assert_eq!(
            texts(parse("stamp", "2000-01-01T12:00:00")?).await?,
            ["gamma"]
        );
        assert_eq!(
            texts(parse("stamp__gte", "1999-12-31T23:59:59.999999")?).await?,
            ["alpha", "beta", "gamma"]
        );
        // RFC 3339 with an offset: 14:00+02:00 is 12:00 UTC.
        assert_eq!(
            texts(parse("stamptz", "2000-01-01T14:00:00+02:00")?).await?,
            ["gamma"]
        );
        assert_eq!(
            texts(parse("stamptz__lt", "1970-01-01T00:00:00.000001Z")?).await?,
            ["beta"]
        );
        assert_eq!(texts(parse("uid", &a.uid.to_string())?).await?, ["alpha"]);
        assert_eq!(
            texts(parse(
                "uid__in",
                &format!("{},{}", b.uid, c.uid.hyphenated())
            )?)
            .await?,
            ["beta", "gamma"]
        );
        assert_eq!(
            texts(parse("uid", &a.uid.simple().to_string().to_uppercase())?).await?,
            ["alpha"]
        );
        assert_eq!(texts(parse("role", "administrator")?).await?, ["alpha"]);
        assert_eq!(
            texts(parse("role__in", "Guest,Member")?).await?,
            ["beta", "gamma"]
        );
        assert_eq!(texts(parse("json", r#"{"c": true}"#)?).await?, ["gamma"]);
        assert_eq!(texts(parse("pk", &b.id.to_string())?).await?, ["beta"]);
        assert_eq!(texts(parse("id__in", "")?).await?, Vec::<String>::new());

        // The parsed Q is the one q! builds.
        assert_eq!(
            parse("role", "administrator")?,
            q!(role__exact = Role::Admin)
        );
        assert_eq!(parse("uid", &a.uid.to_string())?, q!(uid__exact = a.uid));
        assert_eq!(
            parse("stamptz__gt", "2000-01-01T14:00:00+02:00")?,
            q!(stamptz__gt = c.stamptz)
        );

        // Option fields: isnull.
        let rows = Nullable::bulk_create(vec![Nullable::default(), nullable_some()]).await?;
        let null = Nullable::filter(Lookup::parse::<Nullable>("role__isnull", "true")?).await?;
        assert_eq!(null, vec![rows[0].clone()]);
        let set = Nullable::filter(Lookup::parse::<Nullable>("uid__isnull", "0")?).await?;
        assert_eq!(set, vec![rows[1].clone()]);
        let admin = Nullable::filter(Lookup::parse::<Nullable>("role", "administrator")?).await?;
        assert_eq!(admin, vec![rows[1].clone()]);
        Ok(())
    })
    .await
}
