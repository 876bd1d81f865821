//! Every field type through create, save, refresh, bulk_create, bulk_insert and the update forms.

use orm_core::prelude::*;
use serde_json::json;
use uuid::Uuid;

use crate::common::setup;
use crate::models::type_samples::{date, nullable_some, sample_a, sample_b, utc};
use crate::models::types::{AllTypes, EnumHolder, Nullable, Role, UuidItem};

/// Copies every field but the primary key from `from`.
fn with_values_of(id: i64, from: &AllTypes) -> AllTypes {
    AllTypes { id, ..from.clone() }
}

/// `rows` start with a default `Nullable` and [`nullable_some`], as stored.
fn assert_first_two_nullable_rows(rows: &[Nullable]) {
    assert_eq!(
        rows[0],
        Nullable {
            id: rows[0].id,
            ..Default::default()
        }
    );
    assert_eq!(
        rows[1],
        Nullable {
            id: rows[1].id,
            ..nullable_some()
        }
    );
}

#[tokio::test]
async fn every_type_round_trips_through_create_and_get() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        for sample in [sample_a(), sample_b()] {
            let created = AllTypes::create(sample.clone()).await?;
            assert!(created.id > 0);
            assert_eq!(created, with_values_of(created.id, &sample));
            let fetched = AllTypes::get(q!(id = created.id)).await?;
            assert_eq!(fetched, created);
        }
        assert_eq!(AllTypes::all().count().await?, 2);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn every_type_round_trips_through_save_and_refresh() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        // save() on a new object inserts it.
        let mut obj = sample_a();
        obj.save().await?;
        let id = obj.id;
        assert!(id > 0);
        assert_eq!(obj, with_values_of(id, &sample_a()));

        // Change every field, save (UPDATE), reload from the database.
        let b = with_values_of(id, &sample_b());
        obj = b.clone();
        obj.save().await?;
        assert_eq!(obj, b);
        let mut reloaded = with_values_of(id, &sample_a());
        reloaded.refresh_from_db().await?;
        assert_eq!(reloaded, b);
        assert_eq!(AllTypes::get(q!(pk = id)).await?, b);

        // And back again.
        obj = with_values_of(id, &sample_a());
        obj.save().await?;
        reloaded.refresh_from_db().await?;
        assert_eq!(reloaded, with_values_of(id, &sample_a()));
        assert_eq!(AllTypes::all().count().await?, 1, "updates add no rows");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bulk_create_round_trips_every_type() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        // bulk_create binds each column as an array (a different path than create).
        let created = AllTypes::bulk_create(vec![sample_a(), sample_b()]).await?;
        assert_eq!(created.len(), 2);
        assert_eq!(created[0], with_values_of(created[0].id, &sample_a()));
        assert_eq!(created[1], with_values_of(created[1].id, &sample_b()));
        assert_eq!(AllTypes::all().order_by(["id"]).await?, created);

        let rows = Nullable::bulk_create(vec![
            Nullable::default(),
            nullable_some(),
            Nullable {
                text: Some("only text".into()),
                role: Some(Role::Guest),
                ..Default::default()
            },
        ])
        .await?;
        assert_first_two_nullable_rows(&rows);
        assert_eq!(rows[2].text.as_deref(), Some("only text"));
        assert_eq!(rows[2].role, Some(Role::Guest));
        assert_eq!(rows[2].int, None);
        assert_eq!(Nullable::all().order_by(["id"]).await?, rows);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bulk_insert_copies_every_type() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        // Binary COPY encodes each column by its type (a third path).
        assert_eq!(
            AllTypes::bulk_insert(vec![sample_a(), sample_b()]).await?,
            2
        );
        let stored = AllTypes::all().order_by(["id"]).await?;
        assert_eq!(stored.len(), 2);
        assert_eq!(stored[0], with_values_of(stored[0].id, &sample_a()));
        assert_eq!(stored[1], with_values_of(stored[1].id, &sample_b()));

        let n = Nullable::bulk_insert(vec![Nullable::default(), nullable_some()]).await?;
        assert_eq!(n, 2);
        let rows = Nullable::all().order_by(["id"]).await?;
        assert_first_two_nullable_rows(&rows);

        // An enum in a renamed column, and a primary key the program gives.
        let holders = vec![
            EnumHolder {
                role: Role::Admin,
                maybe: None,
                ..Default::default()
            },
            EnumHolder {
                role: Role::Member,
                maybe: Some(Role::Guest),
                ..Default::default()
            },
        ];
        assert_eq!(EnumHolder::bulk_insert(holders).await?, 2);
        let stored = EnumHolder::all().order_by(["id"]).await?;
        assert_eq!(
            stored.iter().map(|h| (h.role, h.maybe)).collect::<Vec<_>>(),
            [(Role::Admin, None), (Role::Member, Some(Role::Guest))]
        );
        let id = Uuid::from_u128(42);
        let item = UuidItem {
            id,
            name: "copied".into(),
            n: 3,
        };
        assert_eq!(UuidItem::bulk_insert(vec![item.clone()]).await?, 1);
        assert_eq!(UuidItem::get(q!(id = id)).await?, item);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn queryset_update_assigns_every_type() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        // update() binds owned `Value`s (yet another path than save()).
        let a = AllTypes::create(sample_a()).await?;
        let b = sample_b();
        let n = AllTypes::filter(q!(id = a.id))
            .update(q!(
                flag = b.flag,
                small = b.small,
                int = b.int,
                big = b.big,
                real = b.real,
                double = b.double,
                text = &b.text,
                short = &b.short,
                bytes = &b.bytes,
                date = b.date,
                time = b.time,
                stamp = b.stamp,
                stamptz = b.stamptz,
                uid = b.uid,
                json = &b.json,
                role = b.role,
            ))
            .await?;
        assert_eq!(n, 1);
        assert_eq!(
            AllTypes::get(q!(id = a.id)).await?,
            with_values_of(a.id, &b)
        );

        let row = Nullable::create(nullable_some()).await?;
        let n = Nullable::filter(q!(id = row.id))
            .update(q!(
                flag = None,
                small = None,
                int = None,
                big = None,
                real = None,
                double = None,
                text = None,
                short = None,
                bytes = None,
                date = None,
                time = None,
                stamp = None,
                stamptz = None,
                uid = None,
                json = None,
                role = None,
            ))
            .await?;
        assert_eq!(n, 1);
        let cleared = Nullable::get(q!(id = row.id)).await?;
        assert_eq!(
            cleared,
            Nullable {
                id: row.id,
                ..Default::default()
            }
        );

        let n = Nullable::filter(q!(id = row.id))
            .update(q!(
                role = Some(Role::Admin),
                uid = Some(Uuid::nil()),
                int = 7
            ))
            .await?;
        assert_eq!(n, 1);
        let set = Nullable::get(q!(id = row.id)).await?;
        assert_eq!(
            (set.role, set.uid, set.int),
            (Some(Role::Admin), Some(Uuid::nil()), Some(7))
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn update_or_create_converts_terms_of_every_kind() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        // The `field = value` terms of the query become the new object's fields.
        let uid = Uuid::new_v4();
        let stamptz = utc(2024, 5, 6, 7, 8, 9);
        let (obj, created) = AllTypes::update_or_create(
            q!(uid = uid, role = Role::Admin, stamptz = stamptz),
            q!(json = json!({"a": [1]}), bytes = vec![0u8, 255], small = -3),
        )
        .await?;
        assert!(created);
        let expected = AllTypes {
            id: obj.id,
            uid,
            role: Role::Admin,
            stamptz,
            json: json!({"a": [1]}),
            bytes: vec![0, 255],
            small: -3,
            ..Default::default()
        };
        assert_eq!(obj, expected);
        assert_eq!(AllTypes::get(q!(id = obj.id)).await?, expected);

        let (again, created) = AllTypes::update_or_create(
            q!(uid = uid, role = Role::Admin),
            q!(role = Role::Guest, date = date(2020, 2, 2)),
        )
        .await?;
        assert!(!created);
        assert_eq!(
            again,
            AllTypes {
                role: Role::Guest,
                date: date(2020, 2, 2),
                ..expected
            }
        );
        Ok(())
    })
    .await
}
