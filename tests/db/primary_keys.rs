//! Non-integer primary keys (UUID, text) the program gives: CRUD, and as targets of relations.

use orm_core::prelude::*;
use uuid::Uuid;

use crate::common::setup;
use crate::models::devices::{
    codes, device, devices, label, reading, Device, Label, Rack, Reading,
};
use crate::models::sorted;
use crate::models::types::UuidItem;

#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "types_tag")]
struct Tag {
    #[orm(primary_key, max_length = 50)]
    code: String,
    label: String,
    uses: i64,
}

/// A model whose only column is its (text) primary key.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "types_keyword")]
struct Keyword {
    #[orm(primary_key)]
    word: String,
}

#[tokio::test]
async fn uuid_primary_key_crud() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let id = Uuid::new_v4();
        let created = UuidItem::create(UuidItem {
            id,
            name: "first".into(),
            n: 1,
        })
        .await?;
        assert_eq!(
            created,
            UuidItem {
                id,
                name: "first".into(),
                n: 1
            }
        );
        assert_eq!(UuidItem::get(q!(id = id)).await?, created);
        assert_eq!(UuidItem::get(q!(pk = id)).await?, created);

        // Update path: change a field, save, save again.
        let mut obj = created.clone();
        obj.name = "renamed".into();
        obj.save().await?;
        obj.n = 2;
        obj.save().await?;
        assert_eq!(UuidItem::all().count().await?, 1);
        let mut reloaded = created.clone();
        reloaded.refresh_from_db().await?;
        assert_eq!(
            reloaded,
            UuidItem {
                id,
                name: "renamed".into(),
                n: 2
            }
        );

        // save() on a new object with its own pk inserts it.
        let other = Uuid::new_v4();
        let mut fresh = UuidItem {
            id: other,
            name: "second".into(),
            n: 3,
        };
        fresh.save().await?;
        assert_eq!(fresh.id, other);
        assert_eq!(UuidItem::all().count().await?, 2);
        assert_eq!(UuidItem::get(q!(pk = other)).await?, fresh);

        // The nil UUID is a key like any other (it is not "unset").
        let mut nil = UuidItem {
            name: "nil".into(),
            ..Default::default()
        };
        nil.save().await?;
        assert_eq!(UuidItem::get(q!(id = Uuid::nil())).await?.name, "nil");
        assert_eq!(UuidItem::all().count().await?, 3);

        // A duplicate key is a unique violation of the primary key.
        let err = UuidItem::create(UuidItem {
            id,
            name: "dup".into(),
            n: 0,
        })
        .await
        .unwrap_err();
        assert!(err.is_integrity(IntegrityKind::Unique), "{err:?}");
        assert_eq!(err.constraint(), Some("types_uuid_item_pkey"));

        // bulk_create with given keys.
        let ids = [Uuid::new_v4(), Uuid::new_v4()];
        let bulk = UuidItem::bulk_create(
            ids.iter()
                .map(|&id| UuidItem {
                    id,
                    name: "bulk".into(),
                    n: 9,
                })
                .collect(),
        )
        .await?;
        assert_eq!(bulk.iter().map(|o| o.id).collect::<Vec<_>>(), ids);
        assert_eq!(UuidItem::filter(q!(id__in = ids)).count().await?, 2);

        // Delete by key.
        assert_eq!(obj.delete().await?, 1);
        assert_eq!(obj.delete().await?, 0);
        assert!(matches!(
            UuidItem::get(q!(id = id)).await,
            Err(Error::DoesNotExist { model: "UuidItem" })
        ));
        assert_eq!(UuidItem::all().count().await?, 4);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn string_primary_key_crud() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let code = "it's 100%_\\ ü 😀";
        let created = Tag::create(Tag {
            code: code.into(),
            label: "Tricky".into(),
            uses: 0,
        })
        .await?;
        assert_eq!(created.code, code);
        assert_eq!(Tag::get(q!(code = code)).await?, created);
        assert_eq!(Tag::get(q!(pk = code)).await?, created);

        let mut obj = created.clone();
        obj.uses = i64::MAX;
        obj.save().await?;
        obj.label = String::new();
        obj.save().await?;
        assert_eq!(Tag::all().count().await?, 1);
        let mut reloaded = created.clone();
        reloaded.refresh_from_db().await?;
        assert_eq!(
            reloaded,
            Tag {
                code: code.into(),
                label: String::new(),
                uses: i64::MAX
            }
        );

        // A new object with a chosen key is inserted by save(); so is the
        // empty string, which is a valid key.
        for key in ["rust", ""] {
            let mut fresh = Tag {
                code: key.into(),
                label: format!("label of {key:?}"),
                uses: 1,
            };
            fresh.save().await?;
            assert_eq!(Tag::get(q!(code = key)).await?, fresh);
        }
        assert_eq!(Tag::all().count().await?, 3);

        // Changing the key and saving writes a new row (as in Django).
        let mut copy = Tag::get(q!(code = "rust")).await?;
        copy.code = "rust-2".into();
        copy.save().await?;
        assert_eq!(Tag::all().count().await?, 4);
        assert_eq!(
            Tag::get(q!(code = "rust")).await?.label,
            "label of \"rust\""
        );

        let err = Tag::create(Tag {
            code: "rust".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert_eq!(err.constraint(), Some("types_tag_pkey"), "{err}");

        assert_eq!(reloaded.delete().await?, 1);
        assert_eq!(Tag::get_or_none(q!(code = code)).await?, None);
        assert_eq!(
            Tag::filter(q!(code__in = ["rust", "rust-2", ""]))
                .delete()
                .await?,
            3
        );
        assert_eq!(Tag::all().count().await?, 0);
        Ok(())
    })
    .await
}

/// FAILS (ORM bug): with no column besides the key, `save()` sends
/// `UPDATE "types_keyword" SET  WHERE "word" = $1`, a syntax error (42601),
/// both for an existing row and for a new key (the UPDATE runs first). Django
/// answers an empty update with "does the row exist?" and inserts if not.
#[tokio::test]
async fn save_works_on_a_model_with_only_a_primary_key() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let created = Keyword::create(Keyword { word: "orm".into() }).await?;
        assert_eq!(created.word, "orm");
        // Nothing to update, but save() must not fail...
        let mut again = created.clone();
        again.save().await?;
        assert_eq!(Keyword::all().count().await?, 1);
        // ...and on a new key it inserts, as for any other model.
        let mut fresh = Keyword {
            word: "postgres".into(),
        };
        fresh.save().await?;
        assert_eq!(Keyword::all().count().await?, 2);
        assert_eq!(Keyword::get(q!(word = "postgres")).await?, fresh);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn uuid_and_text_primary_keys_as_targets() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let hot = label("hot", "Hot").await?;
        let cold = label("cold", "Cold").await?;
        let new = label("new", "New").await?;
        let probe = device("probe", Some(&hot)).await?;
        let gauge = device("gauge", Some(&cold)).await?;
        let spare = device("spare", None).await?;
        reading(&probe, 1).await?;
        reading(&probe, 2).await?;
        reading(&gauge, 3).await?;

        // A key to a UUID: every form of the key is one query.
        let a = Reading::filter(q!(device = probe.id)).sql()?.unwrap();
        let b = Reading::filter(q!(device_id = probe.id)).sql()?.unwrap();
        let c = Reading::filter(q!(device__id = probe.id)).sql()?.unwrap();
        let d = Reading::filter(q!(device = &probe)).sql()?.unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a, d);
        assert_eq!(Reading::filter(q!(device = probe.id)).count().await?, 2);
        assert_eq!(
            Reading::filter(q!(device__name = "gauge")).count().await?,
            1
        );
        assert_eq!(
            Reading::filter(q!(device__in = [probe.id, gauge.id]))
                .count()
                .await?,
            3
        );
        assert_eq!(
            Reading::filter(q!(device__label__title = "Hot"))
                .count()
                .await?,
            2
        );
        assert_eq!(
            devices(
                &Device::filter(q!(readings__value__gte = 1))
                    .order_by(["name"])
                    .await?
            ),
            ["gauge", "probe"]
        );
        assert_eq!(probe.readings().count().await?, 2);
        // A key to a text primary key.
        assert_eq!(
            devices(&Device::filter(q!(label = "hot")).await?),
            ["probe"]
        );
        assert_eq!(
            devices(&Device::filter(q!(label__code = "cold")).await?),
            ["gauge"]
        );
        assert_eq!(
            devices(&Device::filter(q!(label = &cold)).await?),
            ["gauge"]
        );
        assert_eq!(devices(&Device::filter(q!(label = None)).await?), ["spare"]);
        assert_eq!(
            codes(&Label::filter(q!(devices__name = "probe")).await?),
            ["hot"]
        );
        assert_eq!(devices(&hot.devices().await?), ["probe"]);
        assert_eq!(
            codes(&Label::filter(q!(devices__isnull = true)).await?),
            ["new"]
        );

        // Many-to-many: UUID owner, text target.
        assert_eq!(probe.tags().add(&[&hot, &new]).await?, 2);
        assert_eq!(gauge.tags().add(&[&new]).await?, 1);
        assert_eq!(gauge.tags().add(&[&new]).await?, 0);
        assert_eq!(
            gauge.tags().add(&[&cold, &cold]).await?,
            1,
            "a key given twice"
        );
        assert_eq!(gauge.tags().remove(&[&cold]).await?, 1);
        assert_eq!(Device::filter(q!(tags__code = "new")).count().await?, 2);
        assert_eq!(
            codes(
                &Label::filter(q!(tagged__name = "probe"))
                    .order_by(["code"])
                    .await?
            ),
            ["hot", "new"]
        );
        assert_eq!(
            codes(&probe.tags().all().order_by(["code"]).await?),
            ["hot", "new"]
        );
        assert_eq!(
            devices(&new.tagged().order_by(["name"]).await?),
            ["gauge", "probe"]
        );
        assert_eq!(probe.tags().remove(&[&hot]).await?, 1);
        assert_eq!(probe.tags().add(&[&hot]).await?, 1);

        // Many-to-many: integer owner, UUID target.
        let rack = Rack::create(Rack {
            name: "r1".into(),
            ..Default::default()
        })
        .await?;
        assert_eq!(rack.devices().add(&[&probe, &spare]).await?, 2);
        assert_eq!(rack.devices().remove(&[&spare]).await?, 1);
        assert_eq!(devices(&rack.devices().all().await?), ["probe"]);
        assert_eq!(
            devices(&Device::filter(q!(racks__name = "r1")).await?),
            ["probe"]
        );
        assert_eq!(Rack::filter(q!(devices__id = probe.id)).count().await?, 1);
        assert_eq!(Rack::filter(q!(devices__label = "hot")).count().await?, 1);

        // Prefetch every kind of relation over these keys.
        let before = db.query_count();
        let all = Device::all()
            .prefetch_related(["label", "tags", "readings", "racks"])
            .order_by(["name"])
            .await?;
        assert_eq!(db.query_count() - before, 5);
        let label_of = |d: &Device| {
            d.label
                .as_ref()
                .map(|l| l.get().expect("prefetched").title.clone())
        };
        assert_eq!(devices(&all), ["gauge", "probe", "spare"]);
        assert_eq!(label_of(&all[0]).as_deref(), Some("Cold"));
        assert_eq!(label_of(&all[1]).as_deref(), Some("Hot"));
        assert_eq!(label_of(&all[2]), None);
        assert_eq!(codes(all[0].tags.get().unwrap()), ["new"]);
        assert_eq!(sorted(codes(all[1].tags.get().unwrap())), ["hot", "new"]);
        assert!(all[2].tags.get().unwrap().is_empty());
        let counts: Vec<(usize, usize)> = all
            .iter()
            .map(|d| {
                (
                    d.readings.get().unwrap().len(),
                    d.racks.get().unwrap().len(),
                )
            })
            .collect();
        assert_eq!(counts, [(1, 0), (2, 1), (0, 0)]);
        let labels = Label::all()
            .prefetch_related(["devices", "tagged"])
            .order_by(["code"])
            .await?;
        let by_label: Vec<(Vec<String>, Vec<String>)> = labels
            .iter()
            .map(|l| {
                (
                    sorted(devices(l.devices.get().unwrap())),
                    sorted(devices(l.tagged.get().unwrap())),
                )
            })
            .collect();
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            by_label,
            [
                (s(&["gauge"]), s(&[])),
                (s(&["probe"]), s(&["probe"])),
                (s(&[]), s(&["gauge", "probe"])),
            ]
        );
        let racks = Rack::all().prefetch_related(["devices__label"]).await?;
        let loaded = racks[0].devices.get().unwrap();
        assert_eq!(devices(loaded), ["probe"]);
        assert_eq!(label_of(&loaded[0]).as_deref(), Some("Hot"));

        // select_related across a UUID key and then a text key.
        let before = db.query_count();
        let rs = Reading::all()
            .select_related(["device__label"])
            .order_by(["value"])
            .await?;
        assert_eq!(db.query_count() - before, 1);
        let seen: Vec<(String, Option<String>)> = rs
            .iter()
            .map(|r| {
                let d = r.device.get().expect("joined");
                (d.name.clone(), label_of(d))
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("probe".to_owned(), Some("Hot".to_owned())),
                ("probe".to_owned(), Some("Hot".to_owned())),
                ("gauge".to_owned(), Some("Cold".to_owned())),
            ]
        );

        // Keys made from a value, fetched.
        let key: ForeignKey<Device> = ForeignKey::from_key(gauge.id);
        assert_eq!(key.fetch().await?.name, "gauge");
        let missing = Uuid::new_v4();
        let err = ForeignKey::<Device>::from_key(missing)
            .fetch()
            .await
            .unwrap_err();
        match &err {
            Error::DanglingKey(e) => {
                let (model, key) = (e.model, &e.key);
                assert_eq!(model, "Device");
                // The key as an SQL literal (quoted), unlike an integer's.
                assert!(key.contains(&missing.to_string()), "{key}");
            }
            other => panic!("{other}"),
        }
        let text_key: ForeignKey<Label> = ForeignKey::from_key("cold".to_owned());
        assert_eq!(text_key.fetch().await?.title, "Cold");
        let err = Reading::create(Reading {
            device: ForeignKey::from_key(missing),
            value: 0,
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert_eq!(err.constraint(), Some("relx_readings_device_id_fkey"));

        // SET NULL on a text key; links to the deleted label go too.
        assert_eq!(hot.delete().await?, 1);
        let probe_now = Device::get(q!(id = probe.id)).await?;
        assert!(probe_now.label.is_none());
        assert_eq!(codes(&probe_now.tags().all().await?), ["new"]);
        // CASCADE from a UUID key: readings and rack links go.
        assert_eq!(probe.delete().await?, 1);
        assert_eq!(Reading::all().count().await?, 1);
        assert_eq!(rack.devices().all().count().await?, 0);
        Ok(())
    })
    .await
}
