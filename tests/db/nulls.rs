//! Option fields and NULL: None and Some of every type, JSON null versus SQL NULL, filters on NULL.

use orm_core::prelude::*;
use serde_json::json;
use uuid::Uuid;

use crate::common::setup;
use crate::models::type_samples::{nullable_some, utc};
use crate::models::types::{AllTypes, Nullable, Role};

#[tokio::test]
async fn every_option_type_round_trips_none_and_some() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        // All NULL.
        let mut obj = Nullable::create(Nullable::default()).await?;
        let id = obj.id;
        assert!(id > 0);
        assert_eq!(
            obj,
            Nullable {
                id,
                ..Default::default()
            }
        );
        assert_eq!(Nullable::get(q!(id = id)).await?, obj);

        // NULL -> Some(..) for every field.
        let some = Nullable {
            id,
            ..nullable_some()
        };
        obj = some.clone();
        obj.save().await?;
        let mut reloaded = Nullable {
            id,
            ..Default::default()
        };
        reloaded.refresh_from_db().await?;
        assert_eq!(reloaded, some);

        // Some(..) -> NULL for every field.
        obj = Nullable {
            id,
            ..Default::default()
        };
        obj.save().await?;
        reloaded.refresh_from_db().await?;
        assert_eq!(
            reloaded,
            Nullable {
                id,
                ..Default::default()
            }
        );

        // Created directly with values.
        let created = Nullable::create(nullable_some()).await?;
        assert_eq!(
            created,
            Nullable {
                id: created.id,
                ..nullable_some()
            }
        );
        assert_eq!(Nullable::get(q!(id = created.id)).await?, created);
        assert_eq!(Nullable::all().count().await?, 2);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn jsonb_null_is_not_sql_null() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let sql_null = Nullable::create(Nullable::default()).await?;
        let json_null = Nullable::create(Nullable {
            json: Some(serde_json::Value::Null),
            ..Default::default()
        })
        .await?;
        assert_eq!(json_null.json, Some(serde_json::Value::Null));
        assert_eq!(
            Nullable::get(q!(id = json_null.id)).await?.json,
            Some(serde_json::Value::Null)
        );
        assert_eq!(Nullable::get(q!(id = sql_null.id)).await?.json, None);
        // Django's JSONField: `json = None` is the JSON null, SQL NULL is
        // `json__isnull = true` ("Storing and querying for None").
        let is_json_null = Nullable::filter(q!(json = None)).await?;
        assert_eq!(is_json_null, vec![json_null.clone()]);
        let is_null = Nullable::filter(q!(json__isnull = true)).await?;
        assert_eq!(is_null, vec![sql_null]);
        let not_null = Nullable::filter(q!(json__isnull = false)).await?;
        assert_eq!(not_null, vec![json_null.clone()]);

        // A NOT NULL jsonb column holds JSON's null just as well.
        let a = AllTypes::create(AllTypes {
            json: serde_json::Value::Null,
            ..Default::default()
        })
        .await?;
        assert_eq!(
            AllTypes::get(q!(id = a.id)).await?.json,
            serde_json::Value::Null
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn filter_option_fields_and_nulls() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let rows = Nullable::bulk_create(vec![
            Nullable::default(),
            nullable_some(),
            Nullable {
                int: Some(7),
                role: Some(Role::Guest),
                uid: Some(Uuid::nil()),
                stamptz: Some(utc(2000, 1, 1, 0, 0, 0)),
                bytes: Some(vec![0xff]),
                ..Default::default()
            },
        ])
        .await?;
        let ids = |v: Vec<Nullable>| v.iter().map(|o| o.id).collect::<Vec<_>>();
        let (empty, full, third) = (rows[0].id, rows[1].id, rows[2].id);
        let all = Nullable::all().order_by(["id"]);
        assert_eq!(ids(all.clone().filter(q!(int = None)).await?), [empty]);
        assert_eq!(
            ids(all.clone().filter(q!(int__exact = None)).await?),
            [empty]
        );
        assert_eq!(
            ids(all.clone().filter(q!(int__isnull = false)).await?),
            [full, third]
        );
        assert_eq!(ids(all.clone().filter(q!(int = 7)).await?), [third]);
        assert_eq!(ids(all.clone().filter(q!(int = Some(0))).await?), [full]);
        assert_eq!(ids(all.clone().filter(q!(int__gt = 0)).await?), [third]);
        // NULLs in `in` never match; the other values still do.
        assert_eq!(
            ids(all.clone().filter(q!(int__in = [None, Some(7)])).await?),
            [third]
        );
        assert_eq!(
            ids(all.clone().filter(q!(role = Role::Admin)).await?),
            [full]
        );
        assert_eq!(
            ids(all.clone().filter(q!(role = Some(Role::Guest))).await?),
            [third]
        );
        assert_eq!(
            ids(all
                .clone()
                .filter(q!(role__in = [Some(Role::Admin), None]))
                .await?),
            [full]
        );
        assert_eq!(
            ids(all
                .clone()
                .filter(q!(role__in = [Role::Admin, Role::Guest]))
                .await?),
            [full, third]
        );
        assert_eq!(ids(all.clone().filter(q!(role = None)).await?), [empty]);
        // exclude keeps the NULL rows (Django's semantics).
        assert_eq!(
            ids(all.clone().exclude(q!(role = Role::Admin)).await?),
            [empty, third]
        );
        assert_eq!(
            ids(all.clone().filter(q!(uid = Uuid::nil())).await?),
            [third]
        );
        assert_eq!(ids(all.clone().filter(q!(uid = None)).await?), [empty]);
        assert_eq!(
            ids(all
                .clone()
                .filter(q!(stamptz__lt = utc(2024, 1, 1, 0, 0, 0)))
                .await?),
            [third]
        );
        assert_eq!(
            ids(all.clone().filter(q!(bytes = vec![0xff])).await?),
            [third]
        );
        assert_eq!(
            ids(all.clone().filter(q!(bytes = vec![0x00])).await?),
            [full]
        );
        assert_eq!(
            // SQL NULL; `json = None` would be the JSON null (Django).
            ids(all.clone().filter(q!(json__isnull = true)).await?),
            [empty, third]
        );
        assert_eq!(
            ids(all
                .clone()
                .filter(q!(json = json!({"k": ["v", 1, null]})))
                .await?),
            [full]
        );
        assert_eq!(
            ids(all
                .clone()
                .filter(q!(text = None, short = None, date = None))
                .await?),
            [empty, third]
        );
        assert_eq!(ids(all.clone().filter(q!(text = "")).await?), [full]);
        Ok(())
    })
    .await
}
