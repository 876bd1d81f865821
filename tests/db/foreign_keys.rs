//! ForeignKey and OneToOne fields: keys, fetch and load, dangling keys, loaded values, bulk_create.

use orm_core::prelude::*;
use uuid::Uuid;

use crate::common::setup;
use crate::models::blog::{blog, names, Author, Post, Profile};
use crate::models::devices::{label, Device, Reading};
use crate::models::edited_blog as edited;

#[tokio::test]
async fn keys_fetch_and_dangling() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (gemini, _, _) = blog().await;
        let mut p = Post::get(q!(title = "Draft")).await?;
        assert!(!p.author.is_loaded());
        assert_eq!(*p.author.key(), gemini.id);
        let a: Author = p.author.fetch().await?;
        assert_eq!(a.name, "Gemini");
        assert_eq!(p.author.load().await?.name, "Gemini");
        assert!(p.author.is_loaded());
        let unsaved = Author::default();
        let err = ForeignKey::to(&unsaved).unwrap_err();
        assert!(err.to_string().contains("unsaved Author"), "{err}");
        let dangling: ForeignKey<Author> = ForeignKey::from_key(999);
        let err = dangling.fetch().await.unwrap_err();
        assert!(
            matches!(&err, Error::DanglingKey(e) if e.model == "Author"),
            "{err}"
        );
        // A key to a missing row is an integrity error naming the constraint.
        let err = Post::create(Post {
            author: ForeignKey::from_key(999),
            title: "orphan".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert_eq!(err.constraint(), Some("rel_posts_author_id_fkey"));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn one_to_one_and_isnull_across_relations() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (gemini, ada, _) = blog().await;
        Profile::create(Profile {
            author: ForeignKey::to(&gemini)?,
            bio: "Rustacean".into(),
            website: Some("https://gem.example".into()),
            ..Default::default()
        })
        .await?;
        Profile::create(Profile {
            author: ForeignKey::to(&ada)?,
            bio: "Engine notes".into(),
            website: None,
            ..Default::default()
        })
        .await?;
        let err = Profile::create(Profile {
            author: ForeignKey::to(&ada)?,
            bio: "second".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert_eq!(err.constraint(), Some("rel_profiles_author_id_key"));
        let none = Author::filter(q!(profile__isnull = true)).await?;
        assert_eq!(names(&none), ["Bob"]);
        let some = Author::filter(q!(profile__isnull = false))
            .order_by(["name"])
            .await?;
        assert_eq!(names(&some), ["Ada", "Gemini"]);
        // No profile at all also counts as "website is null" (LEFT JOIN semantics).
        let no_site = Author::filter(q!(profile__website__isnull = true))
            .order_by(["name"])
            .await?;
        assert_eq!(names(&no_site), ["Ada", "Bob"]);
        let rustaceans = Post::filter(q!(author__profile__bio__contains = "Rust"))
            .count()
            .await?;
        assert_eq!(rustaceans, 2);
        let profile = gemini.profile().await?.expect("Gemini has a profile");
        assert_eq!(profile.bio, "Rustacean");
        let bob = Author::get(q!(name = "Bob")).await?;
        assert!(bob.profile().await?.is_none());
        // Nested select_related across the reverse one-to-one: one query.
        let before = db.query_count();
        let posts = Post::all()
            .select_related(["author__profile"])
            .order_by(["title"])
            .await?;
        assert_eq!(db.query_count() - before, 1);
        let bios: Vec<Option<&str>> = posts
            .iter()
            .map(|p| {
                p.author
                    .get()
                    .and_then(|a| a.profile.get())
                    .map(|pr| pr.bio.as_str())
            })
            .collect();
        // Draft (Gemini), Python (Ada), Rust async (Gemini), Rust basics (Ada).
        assert_eq!(
            bios,
            [
                Some("Rustacean"),
                Some("Engine notes"),
                Some("Rustacean"),
                Some("Engine notes")
            ]
        );
        // Prefetch fills it too; an author without one is loaded as none.
        let authors = Author::all()
            .prefetch_related(["profile"])
            .order_by(["name"])
            .await?;
        assert!(authors.iter().all(|a| a.profile.is_loaded()));
        assert_eq!(
            authors[1].profile.get().map(|p| p.bio.as_str()),
            None,
            "Bob"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn loaded_relations_move_out_by_value() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (gemini, ada, _bob) = blog().await;
        Profile::create(Profile {
            author: ForeignKey::to(&ada)?,
            bio: "math".into(),
            ..Default::default()
        })
        .await?;
        // Forward: the joined author moves out, the key stays.
        let mut posts = Post::all()
            .select_related(["author"])
            .order_by(["title"])
            .await?;
        let titles: Vec<&str> = posts.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Draft", "Python", "Rust async", "Rust basics"]);
        let first: Author = posts[0].author.take().expect("joined");
        assert_eq!(first.name, "Gemini");
        assert!(!posts[0].author.is_loaded());
        assert_eq!(*posts[0].author.key(), gemini.id);
        let owners: Vec<String> = posts
            .into_iter()
            .skip(1)
            .filter_map(|p| p.author.into_loaded())
            .map(|a| a.name)
            .collect();
        assert_eq!(owners, ["Ada", "Gemini", "Ada"]);
        // Reverse and reverse one-to-one, prefetched.
        let mut authors = Author::all()
            .prefetch_related(["posts", "profile"])
            .order_by(["name"])
            .await?;
        let ada_posts: Vec<Post> = authors[0].posts.take().expect("prefetched");
        let mut ada_titles: Vec<String> = ada_posts.into_iter().map(|p| p.title).collect();
        ada_titles.sort();
        assert_eq!(ada_titles, ["Python", "Rust basics"]);
        assert!(!authors[0].posts.is_loaded());
        assert_eq!(
            authors[0].profile.take().map(|p| p.bio),
            Some("math".into())
        );
        assert!(!authors[0].profile.is_loaded());
        let bob = authors.remove(1);
        assert_eq!(bob.profile.into_loaded().map(|p| p.is_none()), Some(true));
        assert_eq!(bob.posts.into_loaded().map(|p| p.len()), Some(0));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bulk_create_with_foreign_keys() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let ada = edited::author("Ada", 1).await?;
        let bob = edited::author("Bob", 2).await?;
        let made = edited::Post::bulk_create(vec![
            edited::Post {
                author: ForeignKey::to(&ada)?,
                editor: Some(ForeignKey::to(&bob)?),
                title: "x".into(),
                rank: 1,
                ..Default::default()
            },
            edited::Post {
                author: ForeignKey::from_key(bob.id),
                editor: None,
                title: "y".into(),
                rank: 2,
                ..Default::default()
            },
        ])
        .await?;
        assert!(made.iter().all(|p| p.id > 0));
        assert_eq!(*made[0].author.key(), ada.id);
        assert_eq!(made[0].editor.as_ref().map(|e| *e.key()), Some(bob.id));
        assert!(made[1].editor.is_none());
        assert_eq!(
            edited::Post::filter(q!(author = &ada, editor = &bob))
                .count()
                .await?,
            1
        );
        assert_eq!(edited::titles(&bob.posts().await?), ["y"]);
        assert_eq!(edited::titles(&bob.edited().await?), ["x"]);

        // A dangling key: the constraint is named, and nothing is inserted.
        let err = edited::Post::bulk_create(vec![
            edited::Post {
                author: ForeignKey::to(&ada)?,
                title: "ok".into(),
                ..Default::default()
            },
            edited::Post {
                author: ForeignKey::from_key(999_999),
                title: "orphan".into(),
                ..Default::default()
            },
        ])
        .await
        .unwrap_err();
        assert!(err.is_integrity(IntegrityKind::ForeignKey), "{err}");
        assert_eq!(err.constraint(), Some("relx_posts_author_id_fkey"));
        assert_eq!(edited::Post::all().count().await?, 2);

        // UUID primary keys given by the caller, and keys to them.
        let hot = label("hot", "Hot").await?;
        let ids = [Uuid::new_v4(), Uuid::new_v4()];
        let devs = Device::bulk_create(vec![
            Device {
                id: ids[0],
                name: "one".into(),
                label: Some(ForeignKey::to(&hot)?),
                ..Default::default()
            },
            Device {
                id: ids[1],
                name: "two".into(),
                label: Some(ForeignKey::from_key("hot".to_owned())),
                ..Default::default()
            },
        ])
        .await?;
        assert_eq!(devs.iter().map(|d| d.id).collect::<Vec<_>>(), ids);
        let readings = Reading::bulk_create(
            (0..3)
                .map(|i| Reading {
                    device: ForeignKey::from_key(ids[i % 2]),
                    value: i as i32,
                    ..Default::default()
                })
                .collect(),
        )
        .await?;
        assert_eq!(readings.len(), 3);
        assert_eq!(Reading::filter(q!(device = ids[0])).count().await?, 2);
        assert_eq!(Reading::filter(q!(device__label = "hot")).count().await?, 3);
        assert_eq!(readings[1].device.fetch().await?.name, "two");
        let err = Reading::bulk_create(vec![Reading {
            device: ForeignKey::from_key(Uuid::new_v4()),
            ..Default::default()
        }])
        .await
        .unwrap_err();
        assert_eq!(err.constraint(), Some("relx_readings_device_id_fkey"));
        Ok(())
    })
    .await
}
