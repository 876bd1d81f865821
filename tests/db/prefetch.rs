//! prefetch_related: one query per level, filtered, in key order, nullable keys, nested levels.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::blog::{author, blog, post, tagged, Author, Post, Tag};
use crate::models::edited_blog as edited;
use crate::models::sorted;

#[tokio::test]
async fn prefetch_related_one_query_per_level() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        tagged().await?;
        // Reverse foreign key: 2 queries.
        let before = db.query_count();
        let authors = Author::all()
            .prefetch_related(["posts"])
            .order_by(["name"])
            .await?;
        assert_eq!(db.query_count() - before, 2);
        let counts: Vec<(&str, usize)> = authors
            .iter()
            .map(|a| (a.name.as_str(), a.posts.get().expect("prefetched").len()))
            .collect();
        assert_eq!(counts, [("Ada", 2), ("Bob", 0), ("Gemini", 2)]);
        // Two levels: authors -> posts -> tags, 3 queries.
        let before = db.query_count();
        let authors = Author::all()
            .prefetch_related(["posts__tags"])
            .order_by(["name"])
            .await?;
        assert_eq!(db.query_count() - before, 3);
        let gemini = &authors[2];
        let tags_of = |title: &str| -> Vec<String> {
            let post = gemini
                .posts
                .get()
                .unwrap()
                .iter()
                .find(|p| p.title == title)
                .unwrap();
            let mut names: Vec<String> = post
                .tags
                .get()
                .unwrap()
                .iter()
                .map(|t| t.name.clone())
                .collect();
            names.sort();
            names
        };
        assert_eq!(tags_of("Rust async"), ["python", "rust"]);
        assert!(tags_of("Draft").is_empty());
        // Foreign key (shared targets) and many-to-many from the other side.
        let before = db.query_count();
        let posts = Post::all()
            .prefetch_related(["author", "tags"])
            .order_by(["title"])
            .await?;
        assert_eq!(db.query_count() - before, 3);
        assert!(posts.iter().all(|p| p.author.get().is_some()));
        let tags = Tag::all()
            .prefetch_related(["posts"])
            .order_by(["name"])
            .await?;
        assert_eq!(tags[0].posts.get().unwrap().len(), 2, "python");
        assert_eq!(tags[1].posts.get().unwrap().len(), 2, "rust");
        // Nothing to prefetch for, sliced (the prefetch waits for the
        // parents): no extra query.
        let before = db.query_count();
        let none = Author::filter(q!(name = "nobody"))
            .prefetch_related(["posts"])
            .order_by(["id"])
            .limit(5)
            .await?;
        assert!(none.is_empty());
        assert_eq!(db.query_count() - before, 1);
        // Not sliced: the prefetch goes out with the query, in the same
        // round trip, and finds nothing either.
        let before = db.query_count();
        let none = Author::filter(q!(name = "nobody"))
            .prefetch_related(["posts"])
            .await?;
        assert!(none.is_empty());
        assert_eq!(db.query_count() - before, 2);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn prefetch_groups_children_that_arrive_interleaved() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        // Rows come in key order, which alternates between the parents:
        // each row's parent differs from the previous row's.
        let ada = author("Ada", 1).await;
        let bob = author("Bob", 2).await;
        author("Cy", 3).await;
        for i in 0..5 {
            let parent = if i % 2 == 0 { &ada } else { &bob };
            post(parent, &format!("post {i}"), true).await;
        }
        post(&ada, "post 5", true).await;
        let authors = Author::all()
            .prefetch_related(["posts"])
            .order_by(["name"])
            .await?;
        let titles: Vec<(&str, Vec<&str>)> = authors
            .iter()
            .map(|a| {
                let posts = a.posts.get().expect("prefetched");
                (
                    a.name.as_str(),
                    posts.iter().map(|p| p.title.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            titles,
            [
                ("Ada", vec!["post 0", "post 2", "post 4", "post 5"]),
                ("Bob", vec!["post 1", "post 3"]),
                ("Cy", vec![]),
            ]
        );
        for a in &authors {
            assert!(a
                .posts
                .get()
                .unwrap()
                .iter()
                .all(|p| *p.author.key() == a.id));
        }
        Ok(())
    })
    .await
}

#[tokio::test]
async fn prefetch_with_a_filtered_query() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        let authors = Author::all()
            .prefetch_related_with(
                "posts",
                Post::filter(q!(published = true)).order_by(["-title"]),
            )
            .order_by(["name"])
            .await?;
        let titles: Vec<Vec<&str>> = authors
            .iter()
            .map(|a| {
                a.posts
                    .get()
                    .unwrap()
                    .iter()
                    .map(|p| p.title.as_str())
                    .collect()
            })
            .collect();
        assert_eq!(titles, [vec!["Python"], vec![], vec!["Rust async"]]);
        let err = Author::all()
            .prefetch_related_with("posts", Tag::all())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidQuery(_)), "{err}");
        let err = Author::all().prefetch_related(["postz"]).await.unwrap_err();
        assert!(err.to_string().contains("posts, profile"), "{err}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn prefetched_children_in_two_runs_are_put_in_key_order() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let ada = author("Ada", 1).await;
        let bob = author("Bob", 1).await;
        let mut first = post(&ada, "a1", true).await;
        post(&ada, "a2", true).await;
        post(&bob, "b1", true).await;
        // The new row version of a1 lies after b1: Ada's rows come in two
        // runs, the second with the smaller key (a2, b1, a1).
        first.title = "a1 edited".into();
        first.save().await?;
        for authors in [
            Author::all()
                .prefetch_related(["posts"])
                .order_by(["name"])
                .await?,
            Author::all()
                .prefetch_related(["posts"])
                .order_by(["name"])
                .limit(10)
                .await?,
        ] {
            let titles: Vec<&str> = authors[0]
                .posts
                .get()
                .expect("prefetched")
                .iter()
                .map(|p| p.title.as_str())
                .collect();
            assert_eq!(titles, ["a1 edited", "a2"]);
        }
        Ok(())
    })
    .await
}

#[tokio::test]
async fn prefetched_children_are_in_key_order() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let ada = author("Ada", 1).await;
        let bob = author("Bob", 1).await;
        let mut first = post(&ada, "a1", true).await;
        post(&bob, "b1", true).await;
        post(&ada, "a2", true).await;
        post(&ada, "a3", true).await;
        // An update writes a new row version elsewhere in the table: the
        // rows no longer lie in key order.
        first.title = "a1 edited".into();
        first.save().await?;
        let expect = ["a1 edited", "a2", "a3"];
        // Pipelined, and by keys (sliced).
        for authors in [
            Author::all()
                .prefetch_related(["posts"])
                .order_by(["name"])
                .await?,
            Author::all()
                .prefetch_related(["posts"])
                .order_by(["name"])
                .limit(10)
                .await?,
        ] {
            let titles: Vec<&str> = authors[0]
                .posts
                .get()
                .expect("prefetched")
                .iter()
                .map(|p| p.title.as_str())
                .collect();
            assert_eq!(titles, expect);
        }
        // An ordering of its own is the server's.
        let authors = Author::filter(q!(name = "Ada"))
            .prefetch_related_with("posts", Post::all().order_by(["-title"]))
            .await?;
        let titles: Vec<&str> = authors[0]
            .posts
            .get()
            .expect("prefetched")
            .iter()
            .map(|p| p.title.as_str())
            .collect();
        assert_eq!(titles, ["a3", "a2", "a1 edited"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn select_and_prefetch_related_with_null_keys() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        edited::blog().await?;
        let before = db.query_count();
        let posts = edited::Post::all()
            .select_related(["author", "editor"])
            .order_by(["title"])
            .await?;
        assert_eq!(db.query_count() - before, 1);
        let pairs: Vec<(String, String, Option<String>)> = posts
            .iter()
            .map(|p| {
                (
                    p.title.clone(),
                    p.author.get().expect("joined").name.clone(),
                    p.editor
                        .as_ref()
                        .map(|e| e.get().expect("joined").name.clone()),
                )
            })
            .collect();
        let row = |t: &str, a: &str, e: Option<&str>| (t.to_owned(), a.to_owned(), e.map(str::to_owned));
        assert_eq!(
            pairs,
            [
                row("a", "Ada", Some("Bob")),
                row("b", "Bob", Some("Ada")),
                row("c", "Cy", None),
                row("e", "Ada", None),
            ]
        );
        let sql = edited::Post::all().select_related(["author", "editor"]).sql()?.unwrap().sql;
        assert!(sql.contains(r#"LEFT JOIN "relx_authors" AS "sr_editor" ON "sr_editor"."id" = "relx_posts"."editor_id""#), "{sql}");

        // Nested, through a NULL key: the post loads, its editor is None.
        let comments = edited::Comment::all()
            .select_related(["post__editor", "post__author"])
            .order_by(["id"])
            .await?;
        let editors: Vec<Option<String>> = comments
            .iter()
            .map(|c| {
                let post = c.post.get().expect("joined");
                assert!(post.author.is_loaded());
                post.editor.as_ref().map(|e| e.get().expect("joined").name.clone())
            })
            .collect();
        assert_eq!(
            editors,
            [Some("Bob".to_owned()), Some("Bob".to_owned()), Some("Ada".to_owned()), None]
        );
        let profiles = edited::Profile::all()
            .select_related(["country", "author"])
            .order_by(["bio"])
            .await?;
        let seen: Vec<(String, Option<String>)> = profiles
            .iter()
            .map(|p| {
                (
                    p.author.get().unwrap().name.clone(),
                    p.country.as_ref().map(|c| c.get().unwrap().name.clone()),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("Bob".to_owned(), Some("FR".to_owned())),
                ("Cy".to_owned(), None),
                ("Ada".to_owned(), Some("NZ".to_owned())),
            ]
        );

        // prefetch_related of a nullable key.
        let before = db.query_count();
        let posts = edited::Post::all()
            .prefetch_related(["editor"])
            .order_by(["title"])
            .await?;
        assert_eq!(db.query_count() - before, 2);
        let editors: Vec<Option<String>> = posts
            .iter()
            .map(|p| p.editor.as_ref().map(|e| e.get().expect("prefetched").name.clone()))
            .collect();
        assert_eq!(
            editors,
            [Some("Bob".to_owned()), Some("Ada".to_owned()), None, None]
        );
        // Only NULL keys, sliced (the prefetch waits for the parents' keys):
        // nothing to fetch, no second query.
        let before = db.query_count();
        let unedited = edited::Post::filter(q!(editor__isnull = true))
            .prefetch_related(["editor"])
            .order_by(["id"])
            .limit(10)
            .await?;
        assert_eq!(unedited.len(), 2);
        assert!(unedited.iter().all(|p| p.editor.is_none()));
        assert_eq!(db.query_count() - before, 1);
        // Not sliced: the prefetch statement goes out with the query (same
        // round trip) and finds nothing.
        let before = db.query_count();
        let unedited = edited::Post::filter(q!(editor__isnull = true))
            .prefetch_related(["editor"])
            .await?;
        assert_eq!(unedited.len(), 2);
        assert!(unedited.iter().all(|p| p.editor.is_none()));
        assert_eq!(db.query_count() - before, 2);
        // The reverse of a nullable key, and nested through one.
        let all = edited::Author::all()
            .prefetch_related(["edited", "profile__country"])
            .order_by(["name"])
            .await?;
        let edited: Vec<Vec<String>> = all
            .iter()
            .map(|a| edited::titles(a.edited.get().unwrap()))
            .collect();
        assert_eq!(
            edited,
            [vec!["b".to_owned()], vec!["a".to_owned()], vec![], vec![]]
        );
        assert!(all.iter().all(|a| a.profile.is_loaded()));
        let country_of = |a: &edited::Author| -> Option<String> {
            let profile = a.profile.get()?;
            profile.country.as_ref().map(|c| c.get().unwrap().name.clone())
        };
        assert_eq!(
            all.iter().map(country_of).collect::<Vec<_>>(),
            [Some("NZ".to_owned()), Some("FR".to_owned()), None, None]
        );
        // Nested through a nullable key (each editor appears once here).
        let before = db.query_count();
        let posts = edited::Post::all()
            .prefetch_related(["editor__profile__country"])
            .order_by(["title"])
            .await?;
        assert_eq!(db.query_count() - before, 4);
        let countries: Vec<Option<String>> = posts
            .iter()
            .map(|p| {
                let editor = p.editor.as_ref()?.get().expect("prefetched");
                let profile = editor.profile.get().expect("prefetched");
                Some(profile.country.as_ref()?.get()?.name.clone())
            })
            .collect();
        assert_eq!(
            countries,
            [Some("FR".to_owned()), Some("NZ".to_owned()), None, None]
        );
        Ok(())
    })
    .await
}

/// Objects loaded by a forward prefetch are copies, one per parent: two
/// posts by Ada each hold their own `Ada`. A further level of the path must
/// fill every copy, not only the first one with a given key.
#[tokio::test]
async fn nested_prefetch_fills_every_copy_of_a_shared_target() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        edited::blog().await?;
        let posts = edited::Post::all()
            .prefetch_related(["author__posts"])
            .order_by(["title"])
            .await?;
        let seen: Vec<(String, Vec<String>)> = posts
            .iter()
            .map(|p| {
                let author = p.author.get().expect("prefetched");
                (
                    p.title.clone(),
                    sorted(edited::titles(author.posts.get().expect("prefetched"))),
                )
            })
            .collect();
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            seen,
            [
                ("a".to_owned(), s(&["a", "e"])),
                ("b".to_owned(), s(&["b"])),
                ("c".to_owned(), s(&["c"])),
                ("e".to_owned(), s(&["a", "e"])),
            ]
        );
        // The same through two forward levels: both comments on "a".
        let comments = edited::Comment::all()
            .prefetch_related(["post__editor__profile"])
            .order_by(["id"])
            .await?;
        let bios: Vec<Option<String>> = comments
            .iter()
            .map(|c| {
                let editor = c.post.get()?.editor.as_ref()?.get()?;
                Some(editor.profile.get()?.bio.clone())
            })
            .collect();
        assert_eq!(
            bios,
            [
                Some("Bikes".to_owned()),
                Some("Bikes".to_owned()),
                Some("Engines".to_owned()),
                None
            ]
        );
        Ok(())
    })
    .await
}
