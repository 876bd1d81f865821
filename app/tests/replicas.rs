//! Read replicas with the models of the application's library crate,
//! called from this crate (the layout of a real application): a real
//! primary and hot standby (`orm_core::testing::ReplicaPair`). Reads of
//! the app's models go to the standby, a `read_your_writes` scope reads
//! its write on the primary while replay is paused, `stream()` and
//! `prefetch_related` across the app's models are served by the standby.
//!
//! Whether a read was served by the standby is shown two ways: the
//! router's counters (`Db::replica_stats`), and what the read returns
//! while the standby's replay is paused (a write made since is missing
//! there and present on the primary).

use std::time::{Duration, Instant};

use orm_core::prelude::*;
use orm_core::testing::ReplicaPair;
use orm_core::{read_your_writes, ReplicaStats};
use orm_test_app::{Post, Profile, Tag, User};

async fn pair() -> ReplicaPair {
    tokio::task::spawn_blocking(ReplicaPair::start)
        .await
        .expect("joined")
        .expect("a primary and a hot standby")
}

/// The primary's URL with `synchronous_commit = on` for its sessions (the
/// throwaway server runs with it off): a commit is sent to the standby as
/// soon as it returns, as in production.
fn primary_url(pair: &ReplicaPair) -> String {
    format!(
        "{}&options=-c%20synchronous_commit%3Don",
        pair.primary_url("postgres")
    )
}

fn stats(db: &Db) -> ReplicaStats {
    db.replica_stats().expect("a database with replicas")
}

/// (reads the standby served, reads the primary served).
fn served(db: &Db) -> (u64, u64) {
    let s = stats(db);
    (s.replicas[0].reads, s.primary_reads)
}

fn user(name: &str, karma: i32) -> User {
    User {
        name: name.into(),
        karma,
        ..Default::default()
    }
}

fn post(author: &User, title: &str) -> Result<Post> {
    Ok(Post {
        author: ForeignKey::to(author)?,
        title: title.into(),
        published: true,
        ..Default::default()
    })
}

/// A database with the standby as its replica (lag bound 120 s, checked
/// every 20 ms), the app's tables on the primary, a small blog in them,
/// replayed by the standby, and the router's first health check done
/// (before it, the router knows of no position the standby replayed; it
/// starts with the first read):
/// - ada (karma 50, a profile): "Rust async" (tags rust, async), "Draft";
/// - bob (karma 3): "Rust basics" (tag rust).
async fn blog(pair: &ReplicaPair) -> Result<Db> {
    let db = &Db::builder(primary_url(pair))
        .replica(pair.standby_url("postgres"))
        .max_replica_lag(Duration::from_secs(120))
        .replica_poll_interval(Duration::from_millis(20))
        .build()?;
    orm_core::generate_schemas_on(db).await?;
    orm_core::scope(db, async {
        let ada = User::create(user("ada", 50)).await?;
        let bob = User::create(user("bob", 3)).await?;
        let rust = Tag::create(Tag {
            name: "rust".into(),
            ..Default::default()
        })
        .await?;
        let asynk = Tag::create(Tag {
            name: "async".into(),
            ..Default::default()
        })
        .await?;
        let posts = Post::bulk_create(vec![
            post(&ada, "Rust async")?,
            post(&ada, "Draft")?,
            post(&bob, "Rust basics")?,
        ])
        .await?;
        posts[0].tags().add(&[&rust, &asynk]).await?;
        posts[2].tags().add(&[&rust]).await?;
        Profile::create(Profile {
            user: OneToOne::to(&ada)?,
            bio: "writes about Rust".into(),
            ..Default::default()
        })
        .await?;
        Ok::<_, Error>(())
    })
    .await?;
    pair.wait_replayed().await?;
    // The health check starts with the first read.
    let deadline = Instant::now() + Duration::from_secs(10);
    while stats(db).replicas[0].replayed_lsn == 0 {
        assert!(Instant::now() < deadline, "never checked: {:?}", stats(db));
        orm_core::scope(db, User::all().count()).await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(db.clone())
}

/// A user as a prefetch shows them: name, (post title, tag names) and
/// whether they have a profile.
type UserSeen<'a> = (&'a str, Vec<(&'a str, Vec<&'a str>)>, bool);

fn names(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.name.as_str()).collect()
}

#[tokio::test]
async fn the_apps_models_are_read_on_the_standby_and_see_their_own_writes() -> Result<()> {
    let pair = pair().await;
    let db = blog(&pair).await?;
    orm_core::scope(&db, async {
        // Reads of the app's models, each served by the standby (its
        // counter up by one a read, the primary's not at all).
        let before = served(&db);
        assert_eq!(User::all().count().await?, 2);
        let ada = User::get(q!(name = "ada")).await?;
        assert_eq!(ada.karma, 50);
        let titles: Vec<String> = Post::filter(q!(author = ada.id))
            .order_by(["title"])
            .values_list_flat("title")
            .await?;
        assert_eq!(titles, ["Draft", "Rust async"]);
        assert_eq!(
            served(&db),
            (before.0 + 3, before.1),
            "3 reads on the standby"
        );

        // Replay paused: a write outside a scope is not read back (the
        // standby has not replayed it: proof the read is the standby's);
        // in a read_your_writes scope it is, from the primary.
        pair.pause_replay().await?;
        User::create(user("unscoped", 1)).await?;
        let before = served(&db);
        assert!(User::get_or_none(q!(name = "unscoped")).await?.is_none());
        assert_eq!(served(&db), (before.0 + 1, before.1));
        let before = served(&db);
        let (created, found, count) = read_your_writes(async {
            let created = User::create(user("cy", 7)).await?;
            let found = User::get(q!(name = "cy")).await?;
            // Every user, the unscoped one too: the primary has them all.
            let count = User::all().count().await?;
            Ok::<_, Error>((created, found, count))
        })
        .await?;
        assert_eq!((found.id, found.karma), (created.id, 7));
        assert_eq!(count, 4, "ada, bob, unscoped, cy");
        assert_eq!(
            served(&db),
            (before.0, before.1 + 2),
            "both reads of the scope went to the primary, the paused standby lacking its write"
        );
        // An update and a relation in the scope: read back from the primary.
        let updated = read_your_writes(async {
            User::filter(q!(name = "bob"))
                .update(q!(karma = 99))
                .await?;
            let bob = User::get(q!(name = "bob")).await?;
            let rust = Tag::get(q!(name = "rust")).await?;
            let draft = Post::get(q!(title = "Draft")).await?;
            draft.tags().add(&[&rust]).await?;
            let tagged: Vec<String> = draft.tags().all().values_list_flat("name").await?;
            Ok::<_, Error>((bob.karma, tagged))
        })
        .await?;
        assert_eq!(updated, (99, vec!["rust".to_owned()]));
        // Outside the scope, still the standby's old rows.
        assert_eq!(User::get(q!(name = "bob")).await?.karma, 3);
        pair.resume_replay().await?;
        pair.wait_replayed().await?;
        Ok::<_, Error>(())
    })
    .await
}

#[tokio::test]
async fn stream_and_prefetch_related_of_the_apps_models_on_the_standby() -> Result<()> {
    let pair = pair().await;
    let db = blog(&pair).await?;
    orm_core::scope(&db, async {
        // Replay paused, then writes on the primary: what the standby
        // serves is the blog as it was (see `blog`), so every result below
        // that matches it, and not the writes, is the standby's.
        pair.pause_replay().await?;
        let ada = User::get(q!(name = "ada")).await?;
        let asynk = Tag::get(q!(name = "async")).await?;
        let draft = Post::get(q!(title = "Draft")).await?;
        User::create(user("dan", 1)).await?;
        draft.tags().add(&[&asynk]).await?;
        Post::create(post(&ada, "Rust later")?).await?;

        let before = served(&db);
        let streamed: Vec<User> = User::all()
            .order_by(["name"])
            .stream()
            .try_collect()
            .await?;
        assert_eq!(names(&streamed), ["ada", "bob"], "dan is not replayed");
        assert_eq!(
            served(&db),
            (before.0 + 1, before.1),
            "the stream is the standby's"
        );

        // prefetch_related across the app's models (reverse foreign key,
        // many-to-many, reverse one-to-one), every query on the standby.
        let before = served(&db);
        let users = User::all()
            .prefetch_related(["posts__tags", "profile"])
            .order_by(["name"])
            .await?;
        let seen: Vec<UserSeen<'_>> = users
            .iter()
            .map(|u| {
                let mut posts: Vec<(&str, Vec<&str>)> = u
                    .posts
                    .get()
                    .expect("prefetched")
                    .iter()
                    .map(|p| {
                        let mut tags: Vec<&str> = p
                            .tags
                            .get()
                            .expect("prefetched")
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect();
                        tags.sort_unstable();
                        (p.title.as_str(), tags)
                    })
                    .collect();
                posts.sort_unstable();
                (u.name.as_str(), posts, u.profile.get().is_some())
            })
            .collect();
        // The blog of `blog`: Draft without tags, no "Rust later", no dan.
        assert_eq!(
            seen,
            [
                (
                    "ada",
                    vec![("Draft", vec![]), ("Rust async", vec!["async", "rust"])],
                    true
                ),
                ("bob", vec![("Rust basics", vec!["rust"])], false),
            ]
        );
        let after = served(&db);
        assert_eq!(after.1, before.1, "nothing on the primary");
        // The users and their prefetches are pipelined on one connection
        // of one node: counted as one read of the standby.
        assert_eq!(after.0, before.0 + 1, "{before:?} -> {after:?}");

        // The reverse many-to-many, from the tags' side.
        let tags = Tag::all()
            .prefetch_related(["posts"])
            .order_by(["name"])
            .await?;
        let seen: Vec<(&str, usize)> = tags
            .iter()
            .map(|t| (t.name.as_str(), t.posts.get().map_or(99, <[Post]>::len)))
            .collect();
        assert_eq!(
            seen,
            [("async", 1), ("rust", 2)],
            "Draft's async link not replayed"
        );
        assert_eq!(served(&db).1, before.1, "nothing on the primary");

        // Replayed: the same prefetch now shows the writes.
        pair.resume_replay().await?;
        pair.wait_replayed().await?;
        let tags = Tag::all()
            .prefetch_related(["posts"])
            .order_by(["name"])
            .await?;
        let seen: Vec<(&str, usize)> = tags
            .iter()
            .map(|t| (t.name.as_str(), t.posts.get().map_or(99, <[Post]>::len)))
            .collect();
        assert_eq!(seen, [("async", 2), ("rust", 2)]);
        let streamed: Vec<User> = User::all()
            .order_by(["name"])
            .stream()
            .try_collect()
            .await?;
        assert_eq!(names(&streamed), ["ada", "bob", "dan"]);
        Ok::<_, Error>(())
    })
    .await
}
