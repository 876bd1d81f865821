//! Every supported field type against a real PostgreSQL: round trips through
//! create / get, save / refresh_from_db, bulk_create and update; tricky
//! values; user-supplied (non-integer) primary keys; filters on each type;
//! the runtime `Lookup::parse`; and decoding errors for bad enum values.

use orm_core::prelude::*;
use serde_json::json;
use uuid::Uuid;

use crate::common::setup;
use crate::models::type_samples::*;
use crate::models::types::*;

/// The error and its sources, joined with `: `.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        out.push_str(": ");
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}

// ---------------------------------------------------------------------------
// 2. Tricky values
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// 3. User-supplied, non-integer primary keys
// ---------------------------------------------------------------------------

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
async fn filter_enums_by_variant() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        three_rows().await?;
        assert_eq!(texts(q!(role = Role::Admin)).await?, ["alpha"]);
        assert_eq!(texts(q!(role__exact = Role::Member)).await?, ["beta"]);
        assert_eq!(
            texts(q!(role__in = [Role::Admin, Role::Guest])).await?,
            ["alpha", "gamma"]
        );
        assert_eq!(texts(!q!(role = Role::Admin)).await?, ["beta", "gamma"]);
        let f = AllTypes::fields();
        assert_eq!(texts(f.role.eq(Role::Guest)).await?, ["gamma"]);
        assert_eq!(
            AllTypes::exclude(q!(role__in = [Role::Guest, Role::Member]))
                .count()
                .await?,
            1
        );

        // The renamed variant is stored under its new name, and read back from it.
        let db = orm_core::current()?;
        db.batch_execute(
            "INSERT INTO types_enum_holder (user_role, maybe) \
             VALUES ('administrator', 'Member'), ('Guest', NULL)",
        )
        .await?;
        let held = EnumHolder::all().order_by(["id"]).await?;
        assert_eq!(
            held.iter().map(|h| (h.role, h.maybe)).collect::<Vec<_>>(),
            [(Role::Admin, Some(Role::Member)), (Role::Guest, None)]
        );
        db.batch_execute("DELETE FROM types_enum_holder WHERE user_role = 'administrator'")
            .await?;
        assert_eq!(EnumHolder::all().await?.len(), 1);
        let created = EnumHolder::create(EnumHolder {
            role: Role::Admin,
            ..Default::default()
        })
        .await?;
        assert_eq!(created.role, Role::Admin);
        db.batch_execute("DELETE FROM types_enum_holder WHERE user_role = 'administrator'")
            .await?;
        assert_eq!(
            EnumHolder::all()
                .await?
                .iter()
                .map(|h| h.role)
                .collect::<Vec<_>>(),
            [Role::Guest],
            "the Admin row was stored as 'administrator'"
        );
        Ok(())
    })
    .await
}

// ---------------------------------------------------------------------------
// 5. The runtime `Lookup::parse`
// ---------------------------------------------------------------------------

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

#[tokio::test]
async fn unknown_enum_value_in_the_database_is_a_decode_error() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let db = orm_core::current()?;
        db.batch_execute(
            "INSERT INTO types_enum_holder (id, user_role, maybe) VALUES \
             (1, 'superuser', NULL), (2, 'Member', 'admin'), (3, 'Guest', 'Guest')",
        )
        .await?;
        let expected = "`superuser` is not a variant of Role \
                        (expected one of: Guest, Member, administrator)";
        let check = |result: Result<Vec<EnumHolder>>, column: &str, message: &str| match result {
            Err(Error::Decode(e)) => {
                assert_eq!((e.model, e.column), ("EnumHolder", column));
                let chain = error_chain(&e.source);
                assert!(chain.contains(message), "{chain}");
            }
            other => panic!("expected a decode error on {column}, got {other:?}"),
        };
        check(EnumHolder::all().await, "user_role", expected);
        check(
            EnumHolder::get(q!(id = 1)).await.map(|h| vec![h]),
            "user_role",
            expected,
        );
        // The nullable column's bad value is reported on its own column.
        check(
            EnumHolder::filter(q!(id = 2)).await,
            "maybe",
            "`admin` is not a variant of Role",
        );
        let err = EnumHolder::get(q!(id = 1)).await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot decode column `user_role` of EnumHolder: "),
            "{err}"
        );
        assert!(error_chain(&err).contains(expected), "{err:?}");

        // Rows with valid values still load; queries that decode nothing work.
        assert_eq!(
            EnumHolder::get(q!(id = 3)).await?,
            EnumHolder {
                id: 3,
                role: Role::Guest,
                maybe: Some(Role::Guest)
            }
        );
        assert_eq!(EnumHolder::all().count().await?, 3);
        assert_eq!(
            EnumHolder::filter(q!(role = Role::Member)).count().await?,
            1
        );
        assert_eq!(EnumHolder::filter(q!(id = 1)).delete().await?, 1);
        Ok(())
    })
    .await
}
