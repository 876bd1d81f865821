//! Hostile input to the query API, refused before anything is sent.
//!
//! Huge or deep paths, long regexes, odd names and NUL characters are refused
//! with errors naming what was wrong (and, measured with `--nocapture`, how
//! long a refusal takes).

use std::time::Instant;

use orm_core::prelude::*;
use orm_core::query::{LookupPolicy, F};

use crate::common::{setup, users, User};
use crate::models::blog::{Author, Post, Profile, Tag};

/// An author with a post and a profile.
async fn ada() -> Result<Author> {
    let ada = Author::create(Author {
        name: "Ada".into(),
        karma: 5,
        ..Default::default()
    })
    .await?;
    Post::create(Post {
        author: ForeignKey::to(&ada)?,
        title: "Notes".into(),
        published: true,
        ..Default::default()
    })
    .await?;
    Profile::create(Profile {
        author: OneToOne::to(&ada)?,
        bio: "math".into(),
        ..Default::default()
    })
    .await?;
    Ok(ada)
}

/// The process's peak resident memory in KiB (Linux), for the report.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// `Err(InvalidLookup)` of `model`, its message at most a few hundred bytes.
fn refused<T: std::fmt::Debug>(result: Result<T>, model: &str) -> String {
    match result {
        Err(err @ Error::InvalidLookup { .. }) => {
            let text = err.to_string();
            assert!(text.starts_with(model), "{text}");
            assert!(text.len() < 500, "a short message: {} bytes", text.len());
            text
        }
        other => panic!("not InvalidLookup: {other:?}"),
    }
}

#[tokio::test]
async fn a_huge_path_is_refused_at_once_by_every_api() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        ada().await?;
        let huge = "name__".repeat(100_000);
        let sent = db.query_count();
        let (started, peak) = (Instant::now(), peak_kib());
        let text = refused(
            Author::all().prefetch_related([huge.clone()]).await,
            "Author",
        );
        eprintln!(
            "prefetch_related of 100,000 segments refused in {:?}, peak RSS +{} KiB",
            started.elapsed(),
            peak_kib().saturating_sub(peak)
        );
        assert!(
            text.contains("(600000 bytes) (longer than 1024 bytes)"),
            "{text}"
        );
        assert!(
            text.ends_with("valid prefetch_related relations: posts, profile"),
            "{text}"
        );
        // Also when the main query finds no row (the prefetch never runs).
        refused(Tag::all().prefetch_related([huge.clone()]).await, "Tag");
        refused(Author::all().select_related([huge.clone()]).await, "Author");
        refused(Lookup::parse::<Author>(&huge, "x"), "Author");
        refused(
            Author::all().values_list::<(i64,)>(huge.as_str()).await,
            "Author",
        );
        refused(Author::all().values([huge.as_str()]).await, "Author");
        refused(Author::all().only([huge.as_str()]).await, "Author");
        refused(Author::all().annotate([Sum(&huge)]).await, "Author");
        refused(Author::all().aggregate([Count(&huge)]).await, "Author");
        refused(Author::all().annotate_expr("x", F(&huge)).await, "Author");
        refused(Author::filter(q!(karma = F(&huge))).await, "Author");
        // Ordering by an unknown name is refused too (its message quotes it).
        assert!(Author::all().order_by([huge.clone()]).await.is_err());
        assert_eq!(db.query_count(), sent, "nothing was sent");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn paths_cross_at_most_sixteen_relations() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        ada().await?;
        // A cycle: posts -> author -> posts ..., 16 relations: loaded.
        let sixteen = ["posts__author"; 8].join("__");
        let authors = Author::all().prefetch_related([sixteen.clone()]).await?;
        assert_eq!(authors[0].posts.get().map(|p| p.len()), Some(1));
        let seventeen = format!("{sixteen}__posts");
        let text = refused(Author::all().prefetch_related([seventeen]).await, "Author");
        assert_eq!(
            text,
            "Author has no prefetch_related relation `posts (past 16 relations)`; \
             valid prefetch_related relations: paths of at most 16 relations"
        );
        // select_related: author -> profile -> author ...
        let deep = |n: usize| {
            let mut path = vec!["author__profile"; n / 2].join("__");
            if n % 2 == 1 {
                path.push_str("__author");
            }
            path
        };
        let profiles = Profile::all().select_related([deep(16)]).await?;
        assert_eq!(profiles.len(), 1);
        // The 17th relation is looked up on the 16th's model, Profile.
        refused(Profile::all().select_related([deep(17)]).await, "Profile");
        let total = format!("{}__karma", deep(17));
        refused(Profile::all().aggregate([Sum(&total)]).await, "Profile");
        // Many copies of one path cost one query, not their square.
        let started = Instant::now();
        let many = vec!["posts"; 100_000];
        let authors = Author::all().prefetch_related(many).await?;
        eprintln!("100,000 prefetch paths planned in {:?}", started.elapsed());
        assert_eq!(authors[0].posts.get().map(|p| p.len()), Some(1));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn runtime_filters_are_limited_and_allow_listed() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        users(&[("ada", 3, None), ("bob", 7, Some("b@x")), ("eve", 9, None)]).await;
        let sent = db.query_count();
        let err = Lookup::parse::<User>("name__regex", &"a".repeat(50_000)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value for User.name: `name__regex`: the value is longer than 1000 characters"
        );
        let ten_mib = "(a+)+".repeat(2 * 1024 * 1024);
        assert!(Lookup::parse::<User>("name__iregex", &ten_mib).is_err());
        let many = vec!["1"; 1_001].join(",");
        assert!(Lookup::parse::<User>("karma__in", &many).is_err());
        assert_eq!(db.query_count(), sent, "nothing was sent");
        // At the limit, the server runs it.
        let pattern = format!("^(a|b){}", "?".repeat(0)) + &"[a-z]?".repeat(164);
        assert!(pattern.chars().count() <= 1_000);
        let found = User::filter(Lookup::parse::<User>("name__regex", &pattern)?)
            .order_by(["name"])
            .await?;
        assert_eq!(found.len(), 2);

        // An allow-list, as a django-filter FilterSet.
        let policy = LookupPolicy::new()
            .allow("name", &["exact", "icontains"])
            .allow("karma", &["gte", "lte", "in"])
            .max_in_items(2);
        let query = [("karma__gte", "5"), ("name__icontains", "B")];
        let mut q = Q::all();
        for (key, value) in query {
            q = q & Lookup::parse_with::<User>(&policy, key, value)?;
        }
        let found = User::filter(q).await?;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "bob");
        let err = Lookup::parse_with::<User>(&policy, "email__isnull", "true").unwrap_err();
        assert_eq!(
            err.to_string(),
            "User has no filter `email__isnull`; valid filters: \
             name, name__icontains, karma__gte, karma__lte, karma__in"
        );
        let err = Lookup::parse_with::<User>(&policy, "name__regex", ".*").unwrap_err();
        assert!(
            err.to_string()
                .ends_with("valid filters: name, name__icontains"),
            "{err}"
        );
        assert!(Lookup::parse_with::<User>(&policy, "karma__in", "1,2,3").is_err());
        let two = Lookup::parse_with::<User>(&policy, "karma__in", "3,9")?;
        assert_eq!(User::filter(two).count().await?, 2);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn names_reaching_the_sql_text_are_checked_before_sending() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        ada().await?;
        let sent = db.query_count();
        let long = "x".repeat(64);
        for bad in [
            "",
            "a\0b",
            long.as_str(),
            "n__gte",
            "two words",
            "1st",
            "q\"x",
        ] {
            let err = Author::all()
                .aggregate([Count("id").alias(bad)])
                .await
                .unwrap_err();
            assert!(matches!(err, Error::InvalidQuery { .. }), "{err}");
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
            let err = Author::all()
                .annotate([Count("posts").alias(bad)])
                .await
                .unwrap_err();
            assert!(matches!(err, Error::InvalidQuery { .. }), "{err}");
            let err = Author::all()
                .annotate_expr(bad, F("karma"))
                .await
                .unwrap_err();
            assert!(matches!(err, Error::InvalidQuery { .. }), "{err}");
            let err = Author::all()
                .values(["karma"])
                .annotate([Count("id").alias(bad)])
                .await
                .unwrap_err();
            assert!(matches!(err, Error::InvalidQuery { .. }), "{err}");
        }
        assert_eq!(db.query_count(), sent, "nothing was sent");
        // 63 bytes, PostgreSQL's limit, is read back under the whole name.
        let name = "x".repeat(63);
        let stats = Author::all().aggregate([Count("id").alias(&name)]).await?;
        assert_eq!(stats.get::<i64>(&name)?, 1);
        let rows = Author::all().annotate_expr(&name, F("karma") * 2).await?;
        assert_eq!(rows[0].get::<i64>(&name)?, 10);

        let tx = db.begin().await?;
        orm_core::scope(&tx, async {
            let sent = tx.query_count();
            for bad in ["", "a\0b", "rel_authors", "posts", "sr_author"] {
                let err = Post::select_for_update()
                    .select_related(["author"])
                    .lock_of([bad])
                    .await
                    .unwrap_err();
                assert_eq!(
                    err.to_string(),
                    format!(
                        "Post has no lock_of table `{bad}`; valid lock_of tables: self, author"
                    )
                );
            }
            assert_eq!(tx.query_count(), sent, "nothing was sent");
            // (PostgreSQL cannot lock the nullable side of a LEFT JOIN:
            // `self` is the one name it takes here.)
            let locked = Post::select_for_update()
                .select_related(["author"])
                .lock_of(["self"])
                .await?;
            assert_eq!(locked.len(), 1);
            Ok::<_, Error>(())
        })
        .await?;
        tx.commit().await
    })
    .await
}

/// `Err(InvalidValue)` for a NUL in `model.field`.
fn nul<T: std::fmt::Debug>(result: Result<T>, model: &str, field: &str) {
    match result {
        Err(Error::InvalidValue(e)) => {
            let (m, f, reason) = (e.model, e.field, e.reason);
            assert_eq!((m, f), (model, field));
            assert!(
                reason.ends_with("A string literal cannot contain NUL (0x00) characters."),
                "{reason}"
            );
        }
        other => panic!("not InvalidValue: {other:?}"),
    }
}

#[tokio::test]
async fn a_nul_is_refused_before_sending_and_the_transaction_goes_on() -> Result<()> {
    let db = setup().await;
    let tx = db.begin().await?;
    orm_core::scope(&tx, async {
        let mut ada = User::create(User::named("ada")).await?;
        let sent = tx.query_count();
        nul(User::create(User::named("a\0b")).await, "User", "name");
        ada.email = Some("x\0".into());
        nul(ada.save().await, "User", "email");
        nul(ada.save_fields(&["email"]).await, "User", "email");
        ada.email = None;
        let batch = vec![User::named("ok"), User::named("\0")];
        nul(User::bulk_create(batch.clone()).await, "User", "name");
        nul(User::bulk_insert(batch).await, "User", "name");
        nul(User::filter(q!(name = "a\0b")).await, "User", "name");
        nul(
            User::filter(q!(name__icontains = "\0")).count().await,
            "User",
            "name",
        );
        nul(User::get(q!(name = "a\0b")).await, "User", "name");
        nul(
            User::filter(q!(id = ada.id)).update(q!(name = "\0")).await,
            "User",
            "name",
        );
        nul(
            User::filter(q!(email = "\0")).delete().await,
            "User",
            "email",
        );
        nul(Lookup::parse::<User>("name", "a\0b"), "User", "name");
        nul(
            User::get_or_create(q!(name = "\0"), User::named("\0")).await,
            "User",
            "name",
        );
        let sub = Post::filter(q!(title = "\0")).values("id");
        nul(Author::filter(q!(posts__in = sub)).await, "Post", "title");
        nul(
            Author::all()
                .prefetch_related_with("posts", Post::filter(q!(title = "\0")))
                .await
                .map(|_| ()),
            "Post",
            "title",
        );
        assert_eq!(tx.query_count(), sent, "nothing was sent");
        // The get finds ada (one query); the update is refused.
        let defaults = q!(email = Some("\0"));
        nul(
            User::update_or_create(q!(name = "ada"), defaults).await,
            "User",
            "email",
        );
        assert_eq!(tx.query_count(), sent + 1, "only the get was sent");
        // The transaction was not failed by any of them.
        User::create(User::named("bob")).await?;
        Ok::<_, Error>(())
    })
    .await?;
    tx.commit().await?;
    orm_core::scope(&db, async {
        assert_eq!(User::all().count().await?, 2);
        Ok(())
    })
    .await
}
