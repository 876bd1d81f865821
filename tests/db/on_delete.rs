//! on_delete (cascade, set null, set default, restrict, protect, do nothing) and delete reports.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::blog::{blog, tagged, Author, Category, Post, Profile, Tag};
use crate::models::devices::{device, reading, Device, Rack};
use crate::models::edited_blog as edited;
use crate::models::messages::{account, message, Account, Message};
use crate::models::people::{group, member, person, Group, Person};

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
async fn on_delete_cascade_and_set_null() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (gemini, _, _) = blog().await;
        assert_eq!(gemini.delete().await?, 1);
        assert_eq!(
            Post::all().count().await?,
            2,
            "Gemini's posts went with Gemini"
        );
        let root = Category::create(Category {
            name: "root".into(),
            ..Default::default()
        })
        .await?;
        let child = Category::create(Category {
            name: "child".into(),
            parent: Some(ForeignKey::to(&root)?),
            ..Default::default()
        })
        .await?;
        assert_eq!(
            Category::filter(q!(parent__name = "root")).count().await?,
            1
        );
        assert_eq!(Category::filter(q!(parent = None)).count().await?, 1);
        root.delete().await?;
        let child = Category::get(q!(id = child.id)).await?;
        assert!(child.parent.is_none(), "SET NULL");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn on_delete_restrict_protect_do_nothing_set_null() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let ddl = |meta| orm_core::schema::create_table_sql(meta).unwrap().join(";");
        assert!(ddl(Restricted::META).contains("ON DELETE RESTRICT"));
        assert!(ddl(Protected::META).contains("ON DELETE RESTRICT"));
        assert!(ddl(Loose::META).contains("ON DELETE NO ACTION"));
        let orphanable = ddl(Orphanable::META);
        assert!(orphanable.contains(r#""owner_id" bigint NULL,"#));
        assert!(orphanable.contains(
            r#"CONSTRAINT "relx_orphanable_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "relx_owners" ("id") ON DELETE SET NULL"#
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
        let defaulted = ddl(Defaulted::META);
        assert!(defaulted.contains(r#""owner_id" bigint NOT NULL DEFAULT 1000,"#));
        assert!(defaulted.contains(
            r#"FOREIGN KEY ("owner_id") REFERENCES "relx_owners" ("id") ON DELETE SET DEFAULT"#
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
        let edited::Blog { ada, bob, cy, .. } = edited::blog().await?;
        assert_eq!(ada.delete().await?, 1);
        // Ada's posts and their comments went; Bob's post lost its editor.
        assert_eq!(
            edited::titles(&edited::Post::all().order_by(["title"]).await?),
            ["b", "c"]
        );
        let bodies: Vec<String> = edited::Comment::all()
            .order_by(["body"])
            .await?
            .into_iter()
            .map(|c| c.body)
            .collect();
        assert_eq!(bodies, ["meh", "nice"]);
        assert!(edited::Post::get(q!(title = "b")).await?.editor.is_none());
        assert_eq!(
            edited::Profile::all().count().await?,
            2,
            "the one-to-one cascades too"
        );

        // A protected comment stops the whole cascade.
        let meh = edited::Comment::get(q!(body = "meh")).await?;
        edited::Flag::create(edited::Flag {
            comment: ForeignKey::to(&meh)?,
            ..Default::default()
        })
        .await?;
        let err = bob.delete().await.unwrap_err();
        assert!(err.is_integrity(IntegrityKind::ForeignKey), "{err}");
        assert_eq!(err.constraint(), Some("relx_flags_comment_id_fkey"));
        assert!(edited::Author::filter(q!(name = "Bob")).exists().await?);
        assert_eq!(edited::Post::filter(q!(author = &bob)).count().await?, 1);
        assert_eq!(
            edited::Comment::filter(q!(post__author = &bob))
                .count()
                .await?,
            1
        );
        // An unprotected author still cascades.
        assert_eq!(edited::Author::filter(q!(name = "Cy")).delete().await?, 1);
        assert_eq!(edited::Post::filter(q!(author = cy.id)).count().await?, 0);
        assert_eq!(edited::Comment::all().count().await?, 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn delete_report_counts_cascades() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (gemini, _, _) = blog().await;
        tagged().await?;
        Profile::create(Profile {
            author: ForeignKey::to(&gemini)?,
            bio: "x".into(),
            ..Default::default()
        })
        .await?;
        // Gemini: 1 author, 2 posts, 1 profile, 2 tag links (on "Rust async").
        let report = Author::filter(q!(name = "Gemini")).delete_report().await?;
        assert_eq!(report.total, 6, "{report:?}");
        assert_eq!(report.per_model.get("Author"), Some(&1));
        assert_eq!(report.per_model.get("Post"), Some(&2));
        assert_eq!(report.per_model.get("Profile"), Some(&1));
        assert_eq!(report.per_model.get("rel_post_tags"), Some(&2));
        assert_eq!(Post::all().count().await?, 2);
        assert_eq!(Tag::all().count().await?, 2, "tags stay; only links go");
        let nothing = Author::filter(q!(name = "nobody")).delete_report().await?;
        assert_eq!(nothing, orm_core::Deleted::default());
        Ok(())
    })
    .await
}

#[tokio::test]
async fn delete_report_cascades_two_levels_and_rolls_back_on_restrict() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        edited::blog().await?;
        // Ada: her 2 posts, their 2 comments, her profile; "b" only loses
        // its editor (SET NULL is not a deletion).
        let report = edited::Author::filter(q!(name = "Ada"))
            .delete_report()
            .await?;
        assert_eq!(report.total, 6, "{report:?}");
        assert_eq!(report.per_model.get("Author"), Some(&1));
        assert_eq!(report.per_model.get("Post"), Some(&2));
        assert_eq!(report.per_model.get("Comment"), Some(&2));
        assert_eq!(report.per_model.get("Profile"), Some(&1));
        assert_eq!(edited::Post::all().count().await?, 2);
        assert!(edited::Post::get(q!(title = "b")).await?.editor.is_none());

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

/// The delete confirmation's counts, nothing deleted: the same numbers as
/// `delete_report` (Django's admin shows the collector's), plus the rows
/// set to NULL and those that refuse.
#[tokio::test]
async fn delete_preview_counts_without_deleting() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        edited::blog().await?;
        let preview = edited::Author::filter(q!(name = "Ada"))
            .delete_preview()
            .await?;
        // As delete_report's test above: her 2 posts, their 2 comments, her
        // profile; "b" only loses its editor.
        assert_eq!(preview.deleted.total, 6, "{preview:?}");
        assert_eq!(preview.deleted.per_model.get("Post"), Some(&2));
        assert_eq!(preview.deleted.per_model.get("Comment"), Some(&2));
        assert_eq!(preview.set_null.get("Post"), Some(&1), "{preview:?}");
        assert!(preview.protected.is_empty());
        assert_eq!(edited::Post::all().count().await?, 4, "nothing deleted");
        let report = edited::Author::filter(q!(name = "Ada"))
            .delete_report()
            .await?;
        assert_eq!(report, preview.deleted);
        let r = owner("r").await?;
        Restricted::create(Restricted {
            owner: ForeignKey::to(&r)?,
            ..Default::default()
        })
        .await?;
        let preview = Owner::filter(q!(name = "r")).delete_preview().await?;
        assert_eq!(preview.protected.get("Restricted"), Some(&1), "{preview:?}");
        let none = Owner::filter(q!(name = "nobody")).delete_preview().await?;
        assert_eq!(none, orm_core::query::DeletePreview::default());
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
