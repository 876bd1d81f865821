//! Sending prefetch levels: with the query, on one connection, in a transaction, under a timeout.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::blog::{blog, tagged, Author, Post, Profile, Tag};

/// Every post with its author and its tags prefetched (two levels of one
/// depth), by title.
fn posts_with_author_and_tags() -> orm_core::QuerySet<Post> {
    Post::all()
        .prefetch_related(["author", "tags"])
        .order_by(["title"])
}

/// Each post's title, author and number of tags; panics when a relation was
/// not prefetched.
fn titles_authors_tags(posts: &[Post]) -> Vec<(String, String, usize)> {
    posts
        .iter()
        .map(|p| {
            let author = &p.author.get().expect("author prefetched").name;
            let tags = p.tags.get().expect("tags prefetched").len();
            (p.title.clone(), author.clone(), tags)
        })
        .collect()
}

/// [`titles_authors_tags`] of the blog with its tags.
fn tagged_blog() -> Vec<(String, String, usize)> {
    [
        ("Draft", "Gemini", 0),
        ("Python", "Ada", 1),
        ("Rust async", "Gemini", 2),
        ("Rust basics", "Ada", 1),
    ]
    .iter()
    .map(|(t, a, n)| (t.to_string(), a.to_string(), *n))
    .collect()
}

#[tokio::test]
async fn prefetch_levels_of_one_depth_go_out_together() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        tagged().await?;
        // Another connection will hold the authors' table. The load below
        // runs on the pool's first kept connection, where this first load
        // prepares its statements (a prepare would wait for the lock too).
        let locker = db.begin().await?;
        assert_eq!(
            titles_authors_tags(&posts_with_author_and_tags().await?),
            tagged_blog()
        );
        locker
            .batch_execute("LOCK TABLE rel_authors IN ACCESS EXCLUSIVE MODE")
            .await?;
        let before = db.query_count();
        let task = tokio::spawn(orm_core::scope(
            &db,
            std::future::IntoFuture::into_future(posts_with_author_and_tags()),
        ));
        // The author level waits for the lock. The tag level does not wait
        // for it: both are sent, after the posts (3 statements).
        let mut sent = 0;
        for _ in 0..500 {
            sent = db.query_count() - before;
            if sent >= 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        locker.rollback().await?;
        assert_eq!(sent, 3, "statements sent while the author level waited");
        let posts = task.await.expect("the prefetch task")?;
        assert_eq!(titles_authors_tags(&posts), tagged_blog());
        Ok(())
    })
    .await
}

#[tokio::test]
async fn prefetch_levels_of_one_depth_use_one_connection() -> Result<()> {
    let url = orm_core::testing::test_database_url().await?;
    let db = Db::builder(url).max_size(4).connect().await?;
    orm_core::generate_schemas_on(&db).await?;
    orm_core::scope(&db, async {
        blog().await;
        tagged().await?;
        let opened = |db: &Db| format!("{db:?}");
        assert!(opened(&db).contains(" size: 1,"), "{}", opened(&db));
        let posts = posts_with_author_and_tags().await?;
        assert_eq!(titles_authors_tags(&posts), tagged_blog());
        // The author and tag queries were pipelined on the one connection,
        // not sent on a second one.
        assert!(opened(&db).contains(" size: 1,"), "{}", opened(&db));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn prefetch_levels_of_one_depth_share_a_transaction() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        let posts = orm_core::transaction(|| async {
            // Tagged inside the transaction: a level sent on another
            // connection would not see the tags.
            tagged().await?;
            let before = db.query_count();
            let posts = posts_with_author_and_tags().await?;
            assert_eq!(db.query_count() - before, 3);
            Ok(posts)
        })
        .await?;
        assert_eq!(titles_authors_tags(&posts), tagged_blog());
        Ok(())
    })
    .await
}

/// Every author's name, posts (title, tag names) and profile, sorted: the
/// whole prefetched tree, to compare two ways of loading it.
fn author_tree(authors: &[Author]) -> Vec<String> {
    let mut out: Vec<String> = authors
        .iter()
        .map(|a| {
            let mut posts: Vec<String> = a
                .posts
                .get()
                .expect("posts prefetched")
                .iter()
                .map(|p| {
                    let mut tags: Vec<&str> = p
                        .tags
                        .get()
                        .expect("tags prefetched")
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect();
                    tags.sort();
                    format!("{}{tags:?}", p.title)
                })
                .collect();
            posts.sort();
            let profile = a.profile.get().map(|p| p.bio.as_str());
            format!("{} {posts:?} {profile:?}", a.name)
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn pipelined_prefetch_loads_what_the_keys_load() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        tagged().await?;
        let ada = Author::get(q!(name = "Ada")).await?;
        Profile::create(Profile {
            author: ForeignKey::to(&ada)?,
            bio: "math".into(),
            ..Default::default()
        })
        .await?;
        let paths = ["posts__tags", "profile"];
        let filters = [
            Author::all(),
            Author::filter(q!(karma__gte = 10)),
            Author::filter(q!(posts__title__startswith = "Rust")),
            Author::filter(q!(name = "Bob") | q!(posts__published = true)),
            Author::all().exclude(q!(posts__tags__name = "python")),
            Author::filter(q!(name = "nobody")),
        ];
        for qs in filters {
            // Not sliced: every level goes out with the query.
            let before = db.query_count();
            let pipelined = qs.clone().prefetch_related(paths).await?;
            assert_eq!(db.query_count() - before, 4, "{qs:?}");
            // Sliced: each level waits for the parents' keys.
            let by_keys = qs
                .clone()
                .prefetch_related(paths)
                .order_by(["id"])
                .limit(100)
                .await?;
            assert_eq!(author_tree(&pipelined), author_tree(&by_keys), "{qs:?}");
        }
        // The tree itself, once.
        let tree = author_tree(
            &Author::filter(q!(karma__gte = 10))
                .prefetch_related(paths)
                .await?,
        );
        assert_eq!(
            tree,
            [
                r#"Ada ["Python[\"python\"]", "Rust basics[\"rust\"]"] Some("math")"#,
                r#"Gemini ["Draft[]", "Rust async[\"python\", \"rust\"]"] None"#,
            ]
        );
        // Inside a transaction, on its connection; a filtered prefetch and
        // a forward level from the other side.
        orm_core::transaction(|| async {
            let posts = Post::filter(q!(author__karma__gte = 10))
                .prefetch_related(["author__profile"])
                .prefetch_related_with("tags", Tag::filter(q!(name = "rust")))
                .order_by(["title"])
                .await?;
            let seen: Vec<(String, String, Option<String>, usize)> = posts
                .iter()
                .map(|p| {
                    let author = p.author.get().expect("author prefetched");
                    (
                        p.title.clone(),
                        author.name.clone(),
                        author.profile.get().map(|pr| pr.bio.clone()),
                        p.tags.get().expect("tags prefetched").len(),
                    )
                })
                .collect();
            assert_eq!(
                seen,
                [
                    ("Draft".into(), "Gemini".into(), None, 0),
                    ("Python".into(), "Ada".into(), Some("math".into()), 0),
                    ("Rust async".into(), "Gemini".into(), None, 1),
                    ("Rust basics".into(), "Ada".into(), Some("math".into()), 1),
                ]
            );
            Ok(())
        })
        .await
    })
    .await
}

/// Under `Db::timeout` each statement holds a connection of its own, so a
/// prefetch waits for its rows instead of pipelining its levels on a
/// pinned connection (on a pool of one, that would wait for a second).
#[tokio::test]
async fn prefetch_under_a_statement_limit_on_a_pool_of_one() -> Result<()> {
    let url = orm_core::testing::test_database_url().await?;
    let db = Db::builder(url)
        .max_size(1)
        .wait_timeout(std::time::Duration::from_secs(2))
        .connect()
        .await?;
    orm_core::generate_schemas_on(&db).await?;
    orm_core::scope(&db, blog()).await;
    let limited = db.timeout(std::time::Duration::from_secs(5));
    let authors = orm_core::scope(&limited, async {
        Author::all()
            .prefetch_related(["posts"])
            .order_by(["name"])
            .await
    })
    .await?;
    let counts: Vec<usize> = authors
        .iter()
        .map(|a| a.posts.get().expect("prefetched").len())
        .collect();
    assert_eq!(counts, [2, 0, 2]);
    Ok(())
}
