//! `iterator(chunk_size)`: rows a chunk at a time through a server-side
//! cursor, each chunk's `prefetch_related` relations loaded before its rows
//! come out (Django's `iterator(chunk_size=..)` after `prefetch_related`).

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::blog::{author, blog, post, tagged, Author, Post};

/// (name, number of posts) of each author, as the iterator gives them.
async fn counts(
    mut authors: impl TryStreamExt<Ok = Author, Error = Error> + Unpin,
) -> Result<Vec<(String, usize)>> {
    let mut out = Vec::new();
    while let Some(a) = authors.try_next().await? {
        let n = a.posts.get().expect("prefetched").len();
        out.push((a.name, n));
    }
    Ok(out)
}

#[tokio::test]
async fn each_chunk_is_prefetched_with_one_query_per_level() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        // Ada 2 posts, Bob 0, Gemini 2 (see models::blog::blog).
        let expected = [("Ada".to_owned(), 2), ("Bob".to_owned(), 0), ("Gemini".to_owned(), 2)];
        for chunk in [1, 2, 3, 100] {
            let before = db.query_count();
            let got = counts(
                Author::all()
                    .order_by(["name"])
                    .prefetch_related(["posts"])
                    .iterator(chunk),
            )
            .await?;
            assert_eq!(got, expected, "chunk {chunk}");
            // BEGIN, DECLARE, then a FETCH per chunk (the last one short,
            // or empty when 3 rows fill the chunks exactly) and a prefetch
            // per chunk with rows, then CLOSE and COMMIT.
            let full = 3 / chunk;
            let fetches = full + 1;
            let prefetches = full + usize::from(3 % chunk != 0);
            let sent = (db.query_count() - before) as usize;
            assert_eq!(sent, 2 + fetches + prefetches + 2, "chunk {chunk}");
        }
        // Nothing left open: no cursor, and no connection in a transaction.
        let open: i64 = orm_core::raw::<(i64,)>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
            &[],
        )
        .await?[0]
            .0;
        assert_eq!(open, 0);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn nested_levels_filters_and_a_caller_transaction() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        tagged().await?;
        // Two levels per chunk: posts, then their tags.
        let mut posts = Author::filter(q!(posts__published = true))
            .order_by(["-name"])
            .prefetch_related(["posts__tags"])
            .iterator(1);
        let mut seen = Vec::new();
        while let Some(a) = posts.try_next().await? {
            let mut tags: Vec<String> = a
                .posts
                .get()
                .unwrap()
                .iter()
                .flat_map(|p| p.tags.get().unwrap().iter().map(|t| t.name.clone()))
                .collect();
            tags.sort();
            seen.push((a.name, tags));
        }
        assert_eq!(
            seen,
            [
                (
                    "Gemini".to_owned(),
                    vec!["python".to_owned(), "rust".to_owned()]
                ),
                (
                    "Ada".to_owned(),
                    vec!["python".to_owned(), "rust".to_owned()]
                ),
            ]
        );
        // Inside the caller's transaction: its cursor, its rows (a row it
        // wrote and has not committed is seen), and it stays usable.
        orm_core::transaction(|| async {
            let carol = author("Carol", 1).await;
            post(&carol, "Uncommitted", true).await;
            let got = counts(
                Author::all()
                    .order_by(["name"])
                    .prefetch_related(["posts"])
                    .iterator(2),
            )
            .await?;
            assert_eq!(got.len(), 4);
            assert!(got.contains(&("Carol".to_owned(), 1)));
            assert_eq!(Author::all().count().await?, 4);
            Ok(())
        })
        .await?;
        assert_eq!(Post::filter(q!(title = "Uncommitted")).count().await?, 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn dropped_half_way_it_leaves_no_transaction_or_cursor_behind() -> Result<()> {
    let url = orm_core::testing::test_database_url().await?;
    let small = Db::builder(url)
        .max_size(2)
        .wait_timeout(std::time::Duration::from_secs(5))
        .connect()
        .await?;
    orm_core::generate_schemas_on(&small).await?;
    orm_core::scope(&small, async {
        for i in 0..10 {
            let a = author(&format!("a{i:02}"), i).await;
            post(&a, "p", true).await;
        }
        for _ in 0..5 {
            // Two rows of the first chunk, then dropped.
            let mut rows = Author::all()
                .order_by(["name"])
                .prefetch_related(["posts"])
                .iterator(4);
            assert!(rows.try_next().await?.is_some());
            assert!(rows.try_next().await?.is_some());
            drop(rows);
        }
        // With 2 connections, a leaked one would show as a pool timeout or
        // an idle-in-transaction backend.
        assert_eq!(Author::all().count().await?, 10);
        // A dropped iteration's connection is closed, and the server rolls
        // its transaction back when it notices the closed socket: on a
        // busy machine a moment later. Leaked, it would stay.
        let mut idle: Vec<(String,)> = Vec::new();
        for _ in 0..50 {
            idle = orm_core::raw(
                "SELECT state FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
                &[],
            )
            .await?;
            if idle.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(idle.is_empty(), "{idle:?}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn without_prefetch_it_streams_and_bad_input_is_an_error() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        let names: Vec<String> = Author::all()
            .order_by(["-karma"])
            .iterator(1)
            .map_ok(|a| a.name)
            .try_collect()
            .await?;
        assert_eq!(names, ["Ada", "Gemini", "Bob"]);
        let err = Author::all().iterator(0).try_next().await.unwrap_err();
        assert!(
            err.to_string()
                .contains("chunk size must be strictly positive"),
            "{err}"
        );
        let err = Author::all()
            .prefetch_related(["nope"])
            .iterator(10)
            .try_next()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidLookup(_)), "{err}");
        // Nothing can match: no query at all.
        let before = db.query_count();
        let none = Author::filter(q!(id__in = Vec::<i64>::new()))
            .prefetch_related(["posts"])
            .iterator(10)
            .try_next()
            .await?;
        assert!(none.is_none());
        assert_eq!(db.query_count(), before);
        Ok(())
    })
    .await
}
