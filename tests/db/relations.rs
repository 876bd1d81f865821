//! ForeignKey, OneToOne, ManyToMany and Reverse against real PostgreSQL:
//! lookups in every direction, Django's same-row rules, managers, on_delete.

use orm_core::prelude::*;

use crate::common::setup;

/// An author with reverse sides for posts and the profile.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "rel_authors")]
pub struct Author {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Unique name.
    #[orm(unique)]
    pub name: String,
    /// Reputation.
    pub karma: i32,
    /// Post.author, reversed.
    pub posts: Reverse<Post>,
    /// Profile.author, reversed (one or none).
    pub profile: Reverse<Profile>,
}

/// One profile per author.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "rel_profiles")]
pub struct Profile {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// The author (unique).
    #[orm(related_name = "profile")]
    pub author: OneToOne<Author>,
    /// Free text.
    pub bio: String,
    /// Optional.
    pub website: Option<String>,
}

/// A tag.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "rel_tags")]
pub struct Tag {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// Post.tags, reversed.
    pub posts: Reverse<Post>,
}

/// A post by one author, with tags.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "rel_posts")]
pub struct Post {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Deleted with its author.
    #[orm(related_name = "posts", on_delete = "cascade")]
    pub author: ForeignKey<Author>,
    /// Title.
    pub title: String,
    /// Visible.
    pub published: bool,
    /// Linked through rel_post_tags.
    #[orm(related_name = "posts", through = "rel_post_tags")]
    pub tags: ManyToMany<Tag>,
}

/// A category tree (self-referential, nullable, SET NULL).
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "rel_categories")]
pub struct Category {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// Parent, if any.
    #[orm(on_delete = "set_null")]
    pub parent: Option<ForeignKey<Category>>,
}

async fn author(name: &str, karma: i32) -> Author {
    Author::create(Author {
        name: name.into(),
        karma,
        ..Default::default()
    })
    .await
    .expect("author")
}

async fn post(author: &Author, title: &str, published: bool) -> Post {
    Post::create(Post {
        author: ForeignKey::to(author).expect("saved author"),
        title: title.into(),
        published,
        ..Default::default()
    })
    .await
    .expect("post")
}

fn names(authors: &[Author]) -> Vec<&str> {
    authors.iter().map(|a| a.name.as_str()).collect()
}

/// Gemini: "Rust async" (published), "Draft" (unpublished);
/// Ada: "Rust basics" (unpublished), "Python" (published); Bob: none.
async fn blog() -> (Author, Author, Author) {
    let gemini = author("Gemini", 10).await;
    let ada = author("Ada", 50).await;
    let bob = author("Bob", 5).await;
    post(&gemini, "Rust async", true).await;
    post(&gemini, "Draft", false).await;
    post(&ada, "Rust basics", false).await;
    post(&ada, "Python", true).await;
    (gemini, ada, bob)
}

#[tokio::test]
async fn forward_lookups_and_key_forms() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (gemini, ada, _) = blog().await;
        let by_name = Post::filter(q!(author__name__icontains = "gem"))
            .count()
            .await?;
        assert_eq!(by_name, 2);
        // author = key, author_id = key, author__id = key, author = &object: one query.
        let a = Post::filter(q!(author = ada.id)).sql()?.unwrap();
        let b = Post::filter(q!(author_id = ada.id)).sql()?.unwrap();
        let c = Post::filter(q!(author__id = ada.id)).sql()?.unwrap();
        let d = Post::filter(q!(author = &ada)).sql()?.unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a, d);
        assert!(
            a.sql.ends_with(r#"WHERE "rel_posts"."author_id" = $1"#),
            "{}",
            a.sql
        );
        assert_eq!(Post::filter(q!(author = &gemini)).count().await?, 2);
        assert_eq!(
            Post::filter(q!(author__karma__gte = 20, published = true))
                .count()
                .await?,
            1
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn reverse_lookups_do_not_duplicate() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        // Both of Gemini's posts match, yet Gemini comes back once.
        let found = Author::filter(q!(posts__title__contains = "a"))
            .order_by(["name"])
            .await?;
        assert_eq!(names(&found), ["Ada", "Gemini"]);
        assert_eq!(Author::filter(q!(posts__title__startswith = "Rust")).count().await?, 2);
        let sql = Author::filter(q!(posts__title = "x")).sql()?.unwrap().sql;
        assert!(sql.contains(r#"EXISTS (SELECT 1 FROM "rel_posts" AS "T1" WHERE "T1"."author_id" = "rel_authors"."id" AND "T1"."title" = $1)"#), "{sql}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn one_filter_means_the_same_related_row() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        // One filter: a published post about Rust -> only Gemini.
        let same = Author::filter(q!(
            posts__title__startswith = "Rust",
            posts__published = true
        ))
        .order_by(["name"])
        .await?;
        assert_eq!(names(&same), ["Gemini"]);
        // Chained: some Rust post and some published post -> Ada too.
        let chained = Author::filter(q!(posts__title__startswith = "Rust"))
            .filter(q!(posts__published = true))
            .order_by(["name"])
            .await?;
        assert_eq!(names(&chained), ["Ada", "Gemini"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn exclude_across_a_relation_keeps_rows_without_related() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        // Bob has no posts: NOT EXISTS keeps him.
        let kept = Author::exclude(q!(posts__published = false)).await?;
        assert_eq!(names(&kept), ["Bob"]);
        // exclude(a, b): drop authors having a Rust post AND having a published post
        // (not necessarily the same one), as Django does.
        let kept = Author::exclude(q!(
            posts__title__startswith = "Rust",
            posts__published = true
        ))
        .order_by(["name"])
        .await?;
        assert_eq!(names(&kept), ["Bob"]);
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
        let profile = gemini.profile().get(Q::all()).await?;
        assert_eq!(profile.bio, "Rustacean");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn many_to_many_manager_and_lookups() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (gemini, _, _) = blog().await;
        let rust = Tag::create(Tag {
            name: "rust".into(),
            ..Default::default()
        })
        .await?;
        let python = Tag::create(Tag {
            name: "python".into(),
            ..Default::default()
        })
        .await?;
        let posts = Post::all().order_by(["id"]).await?;
        assert_eq!(posts[0].tags().add(&[&rust, &python]).await?, 2);
        assert_eq!(posts[0].tags().add(&[&rust]).await?, 0, "already linked");
        posts[2].tags().add(&[&rust]).await?;
        posts[3].tags().add(&[&python]).await?;
        let tags = posts[0].tags().all().order_by(["name"]).await?;
        assert_eq!(
            tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["python", "rust"]
        );
        assert_eq!(Post::filter(q!(tags__name = "rust")).count().await?, 2);
        assert_eq!(
            Post::filter(q!(tags__name__in = ["rust", "python"]))
                .count()
                .await?,
            3
        );
        // One tag named both: nothing (same related row).
        assert_eq!(
            Post::filter(q!(tags__name = "rust") & q!(tags__name = "python"))
                .count()
                .await?,
            0
        );
        // Chained: a post with both tags.
        assert_eq!(
            Post::filter(q!(tags__name = "rust"))
                .filter(q!(tags__name = "python"))
                .count()
                .await?,
            1
        );
        // Reverse M2M, and two levels: authors with a post tagged python.
        assert_eq!(rust.posts().count().await?, 2);
        assert_eq!(
            Tag::filter(q!(posts__author__name = "Gemini"))
                .count()
                .await?,
            2
        );
        let pythonistas = Author::filter(q!(posts__tags__name = "python"))
            .order_by(["name"])
            .await?;
        assert_eq!(names(&pythonistas), ["Ada", "Gemini"]);
        assert_eq!(posts[0].tags().remove(&[&python]).await?, 1);
        assert_eq!(posts[0].tags().all().count().await?, 1);
        assert_eq!(posts[0].tags().clear().await?, 1);
        assert_eq!(posts[0].tags().all().count().await?, 0);
        // Unsaved objects are refused before any query.
        let unsaved = Tag {
            name: "new".into(),
            ..Default::default()
        };
        let err = posts[0].tags().add(&[&unsaved]).await.unwrap_err();
        assert!(err.to_string().contains("unsaved Tag"), "{err}");
        assert_eq!(gemini.posts().count().await?, 2);
        Ok(())
    })
    .await
}

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
            matches!(
                err,
                Error::DanglingKey {
                    model: "Author",
                    ..
                }
            ),
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
