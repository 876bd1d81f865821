//! More relations against real PostgreSQL: an explicit through model with
//! extra columns, non-integer keys on both sides, every `on_delete`,
//! self-referential many-to-many, several foreign keys to one model, deep
//! lookups, NULL foreign keys in `select_related` / `prefetch_related`, and
//! `bulk_create` with keys.

use orm_core::prelude::*;
use uuid::Uuid;

use crate::common::setup;
use crate::models::devices::*;
use crate::models::edited_blog::*;
use crate::models::messages::*;
use crate::models::people::*;
use crate::models::sorted;

/// The parent of the on_delete children below.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_owners")]
pub(crate) struct Owner {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
}

/// ON DELETE RESTRICT.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_restricted")]
pub(crate) struct Restricted {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Blocks deleting the owner.
    #[orm(on_delete = "restrict")]
    pub owner: ForeignKey<Owner>,
}

/// Django's PROTECT (RESTRICT in the database).
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_protected")]
pub(crate) struct Protected {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Blocks deleting the owner.
    #[orm(on_delete = "protect")]
    pub owner: ForeignKey<Owner>,
}

/// ON DELETE NO ACTION.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_loose")]
pub(crate) struct Loose {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Left to the database's check.
    #[orm(on_delete = "do_nothing")]
    pub owner: ForeignKey<Owner>,
}

/// ON DELETE SET NULL.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_orphanable")]
pub(crate) struct Orphanable {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Set to NULL with its owner gone.
    #[orm(on_delete = "set_null")]
    pub owner: Option<ForeignKey<Owner>>,
}

/// ON DELETE SET DEFAULT, to the owner with id 1000.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_defaulted")]
pub(crate) struct Defaulted {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Falls back to owner 1000.
    #[orm(on_delete = "set_default", default = 1000)]
    pub owner: ForeignKey<Owner>,
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

async fn owner(name: &str) -> Result<Owner> {
    Owner::create(Owner {
        name: name.into(),
        ..Default::default()
    })
    .await
}

/// Deleting `o` fails on the foreign key `constraint`; nothing is deleted.
async fn delete_is_refused(o: &Owner, constraint: &str) -> Result<()> {
    let err = o.delete().await.unwrap_err();
    assert!(err.is_integrity(IntegrityKind::ForeignKey), "{err}");
    assert_eq!(err.constraint(), Some(constraint), "{err}");
    assert!(err.to_string().contains(constraint), "{err}");
    // The bulk form fails the same way.
    let err = Owner::filter(q!(id = o.id)).delete().await.unwrap_err();
    assert!(err.is_integrity(IntegrityKind::ForeignKey), "{err}");
    assert_eq!(err.constraint(), Some(constraint), "{err}");
    assert!(Owner::filter(q!(id = o.id)).exists().await?);
    Ok(())
}

#[tokio::test]
async fn on_delete_restrict_protect_do_nothing_set_null() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let ddl = |meta| orm_core::schema::create_table_sql(meta).unwrap().join(";");
        assert!(ddl(Restricted::META).contains("ON DELETE RESTRICT"));
        assert!(ddl(Protected::META).contains("ON DELETE RESTRICT"));
        assert!(ddl(Loose::META).contains("ON DELETE NO ACTION"));
        assert!(ddl(Orphanable::META).contains(
            r#""owner_id" bigint NULL REFERENCES "relx_owners" ("id") ON DELETE SET NULL"#
        ));

        let r = owner("r").await?;
        let p = owner("p").await?;
        let n = owner("n").await?;
        let s = owner("s").await?;
        Restricted::create(Restricted {
            owner: ForeignKey::to(&r)?,
            ..Default::default()
        })
        .await?;
        Protected::create(Protected {
            owner: ForeignKey::to(&p)?,
            ..Default::default()
        })
        .await?;
        Loose::create(Loose {
            owner: ForeignKey::to(&n)?,
            ..Default::default()
        })
        .await?;
        let orphan = Orphanable::create(Orphanable {
            owner: Some(ForeignKey::to(&s)?),
            ..Default::default()
        })
        .await?;
        delete_is_refused(&r, "relx_restricted_owner_id_fkey").await?;
        delete_is_refused(&p, "relx_protected_owner_id_fkey").await?;
        delete_is_refused(&n, "relx_loose_owner_id_fkey").await?;
        assert_eq!(Restricted::all().count().await?, 1);
        assert_eq!(Protected::all().count().await?, 1);
        assert_eq!(Loose::all().count().await?, 1);

        // A delete of several owners is one statement: all or nothing.
        let err = Owner::filter(q!(name__in = ["r", "s"]))
            .delete()
            .await
            .unwrap_err();
        assert_eq!(err.constraint(), Some("relx_restricted_owner_id_fkey"));
        assert_eq!(Owner::all().count().await?, 4);
        let kept = Orphanable::get(q!(id = orphan.id)).await?;
        assert_eq!(kept.owner.as_ref().map(|k| *k.key()), Some(s.id));

        // SET NULL keeps the row, without its key.
        assert_eq!(s.delete().await?, 1);
        let kept = Orphanable::get(q!(id = orphan.id)).await?;
        assert!(kept.owner.is_none());
        assert_eq!(Orphanable::filter(q!(owner = None)).count().await?, 1);

        // SET DEFAULT moves the row to the default key, which must exist.
        assert!(ddl(Defaulted::META).contains(
            r#""owner_id" bigint NOT NULL DEFAULT 1000 REFERENCES "relx_owners" ("id") ON DELETE SET DEFAULT"#
        ));
        let d = owner("d").await?;
        let moved = Defaulted::create(Defaulted {
            owner: ForeignKey::to(&d)?,
            ..Default::default()
        })
        .await?;
        delete_is_refused(&d, "relx_defaulted_owner_id_fkey").await?;
        let fallback = Owner::create(Owner {
            id: 1000,
            name: "fallback".into(),
        })
        .await?;
        assert_eq!(d.delete().await?, 1);
        let moved = Defaulted::get(q!(id = moved.id)).await?;
        assert_eq!(*moved.owner.key(), fallback.id);
        assert_eq!(Defaulted::filter(q!(owner__name = "fallback")).count().await?, 1);
        assert_eq!(Defaulted::all().delete().await?, 1);

        // With the referring rows gone, the deletes go through.
        assert_eq!(Restricted::filter(q!(owner = &r)).delete().await?, 1);
        assert_eq!(Protected::filter(q!(owner__name = "p")).delete().await?, 1);
        assert_eq!(Loose::filter(q!(owner_id = n.id)).delete().await?, 1);
        assert_eq!(Owner::all().delete().await?, 4);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn on_delete_cascades_two_levels_unless_protected() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let Blog { ada, bob, cy, .. } = blog().await?;
        assert_eq!(ada.delete().await?, 1);
        // Ada's posts and their comments went; Bob's post lost its editor.
        assert_eq!(titles(&Post::all().order_by(["title"]).await?), ["b", "c"]);
        let bodies: Vec<String> = Comment::all()
            .order_by(["body"])
            .await?
            .into_iter()
            .map(|c| c.body)
            .collect();
        assert_eq!(bodies, ["meh", "nice"]);
        assert!(Post::get(q!(title = "b")).await?.editor.is_none());
        assert_eq!(
            Profile::all().count().await?,
            2,
            "the one-to-one cascades too"
        );

        // A protected comment stops the whole cascade.
        let meh = Comment::get(q!(body = "meh")).await?;
        Flag::create(Flag {
            comment: ForeignKey::to(&meh)?,
            ..Default::default()
        })
        .await?;
        let err = bob.delete().await.unwrap_err();
        assert!(err.is_integrity(IntegrityKind::ForeignKey), "{err}");
        assert_eq!(err.constraint(), Some("relx_flags_comment_id_fkey"));
        assert!(Author::filter(q!(name = "Bob")).exists().await?);
        assert_eq!(Post::filter(q!(author = &bob)).count().await?, 1);
        assert_eq!(Comment::filter(q!(post__author = &bob)).count().await?, 1);
        // An unprotected author still cascades.
        assert_eq!(Author::filter(q!(name = "Cy")).delete().await?, 1);
        assert_eq!(Post::filter(q!(author = cy.id)).count().await?, 0);
        assert_eq!(Comment::all().count().await?, 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn delete_report_cascades_two_levels_and_rolls_back_on_restrict() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await?;
        // Ada: her 2 posts, their 2 comments, her profile; "b" only loses
        // its editor (SET NULL is not a deletion).
        let report = Author::filter(q!(name = "Ada")).delete_report().await?;
        assert_eq!(report.total, 6, "{report:?}");
        assert_eq!(report.per_model.get("Author"), Some(&1));
        assert_eq!(report.per_model.get("Post"), Some(&2));
        assert_eq!(report.per_model.get("Comment"), Some(&2));
        assert_eq!(report.per_model.get("Profile"), Some(&1));
        assert_eq!(Post::all().count().await?, 2);
        assert!(Post::get(q!(title = "b")).await?.editor.is_none());

        // A restricting row fails the whole delete; nothing is removed.
        let r = owner("r").await?;
        Restricted::create(Restricted {
            owner: ForeignKey::to(&r)?,
            ..Default::default()
        })
        .await?;
        let err = Owner::filter(q!(name = "r"))
            .delete_report()
            .await
            .unwrap_err();
        assert_eq!(err.constraint(), Some("relx_restricted_owner_id_fkey"));
        assert!(Owner::filter(q!(name = "r")).exists().await?);
        // Through a UUID key, and a declared through model.
        let d = device("d", None).await?;
        reading(&d, 1).await?;
        let rack = Rack::create(Rack {
            name: "r".into(),
            ..Default::default()
        })
        .await?;
        rack.devices().add(&[&d]).await?;
        let report = Device::filter(q!(name = "d")).delete_report().await?;
        assert_eq!(report.per_model.get("Reading"), Some(&1), "{report:?}");
        assert_eq!(report.per_model.get("relx_racks_devices"), Some(&1));
        assert_eq!(report.total, 3);
        let ann = person("Ann").await?;
        let rust = group("Rust").await?;
        member(&ann, &rust, "admin").await?;
        let report = Group::filter(q!(name = "Rust")).delete_report().await?;
        assert_eq!(report.per_model.get("Membership"), Some(&1), "{report:?}");
        assert_eq!(report.total, 2, "{report:?}");
        Ok(())
    })
    .await
}

/// A message from Ann to herself cascades from both of its keys, but it is
/// one row: Django's collector counts it once.
#[tokio::test]
async fn delete_report_counts_a_row_reached_twice_once() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let ann = account("Ann").await?;
        let ben = account("Ben").await?;
        message(&ann, &ben, "to ben").await?;
        message(&ben, &ann, "to ann").await?;
        message(&ann, &ann, "note to self").await?;
        let report = Account::filter(q!(name = "Ann")).delete_report().await?;
        assert_eq!(Message::all().count().await?, 0);
        assert_eq!(report.per_model.get("Message"), Some(&3), "{report:?}");
        assert_eq!(report.total, 4, "{report:?}");
        Ok(())
    })
    .await
}

/// Deleting a person removes the self-referential links where they are
/// on either side (both columns cascade); the report counts them all.
#[tokio::test]
async fn delete_report_counts_self_links_on_both_columns() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let ann = person("Ann").await?;
        let ben = person("Ben").await?;
        let cy = person("Cy").await?;
        ann.friends().add(&[&ben]).await?;
        ben.friends().add(&[&ann]).await?;
        cy.friends().add(&[&ben, &ann]).await?;
        let report = Person::filter(q!(name = "Ben")).delete_report().await?;
        assert_eq!(
            (
                ann.friends().all().count().await?,
                cy.friends().all().count().await?
            ),
            (0, 1),
            "the links to and from Ben are gone"
        );
        assert_eq!(
            report.per_model.get("relx_people_friends"),
            Some(&3),
            "{report:?}"
        );
        assert_eq!(report.total, 4, "{report:?}");
        Ok(())
    })
    .await
}
