//! The application's migrations and models through a real pgbouncer in
//! `pool_mode = transaction` (`orm_core::testing::pgbouncer`: 5 server
//! connections per database, handed round robin), in
//! `StatementMode::Unnamed`, from many tasks at once: the layout of a real
//! application (models in its library crate, calls here).
//!
//! Skipped (with a message) when pgbouncer is not installed, unless `CI`
//! is set.

use orm_core::migrate::{Direction, Migrator};
use orm_core::prelude::*;
use orm_core::testing::pgbouncer::pooled_test_database;
use orm_core::StatementMode;
use orm_test_app::{Post, Tag, User};

/// Tasks at once, and rounds each.
const TASKS: usize = 16;
const ROUNDS: usize = 12;

/// One round of task `task`: a user and a post by them (a foreign key),
/// read back with its author joined; a tag linked (many-to-many) and the
/// post's tags listed; a transaction that adds a second post and a link
/// and counts the user's posts in it; a transaction that fails and leaves
/// nothing. Returns what came back different from what was written.
async fn round(task: usize, round: usize, tags: &[Tag]) -> Result<Vec<String>> {
    let mut wrong = Vec::new();
    let name = format!("t{task}-{round}");
    let user = User::create(User {
        name: name.clone(),
        karma: round as i32,
        ..Default::default()
    })
    .await?;
    let post = Post::create(Post {
        author: ForeignKey::to(&user)?,
        title: format!("{name} first"),
        ..Default::default()
    })
    .await?;
    let read = Post::all()
        .select_related(["author"])
        .get(q!(id = post.id))
        .await?;
    if read.author.get().map(|a| a.name.as_str()) != Some(name.as_str()) {
        wrong.push(format!("{name}: author {:?}", read.author.get()));
    }
    let tag = &tags[(task + round) % tags.len()];
    let linked = post.tags().add(&[tag]).await?;
    let listed: Vec<String> = post.tags().all().values_list_flat("name").await?;
    if linked != 1 || listed != [tag.name.clone()] {
        wrong.push(format!("{name}: linked {linked}, listed {listed:?}"));
    }
    let in_tx = orm_core::transaction(|| async {
        let second = Post::create(Post {
            author: ForeignKey::to(&user)?,
            title: format!("{name} second"),
            ..Default::default()
        })
        .await?;
        second.tags().add(&[tag]).await?;
        Post::filter(q!(author = user.id)).count().await
    })
    .await?;
    if in_tx != 2 {
        wrong.push(format!("{name}: {in_tx} posts in the transaction"));
    }
    let failed = orm_core::transaction(|| async {
        User::create(User {
            name: format!("{name} doomed"),
            ..Default::default()
        })
        .await?;
        Err::<(), _>(Error::Config("rolled back on purpose".into()))
    })
    .await;
    if !matches!(&failed, Err(Error::Config(m)) if m == "rolled back on purpose") {
        wrong.push(format!(
            "{name}: the failed transaction returned {failed:?}"
        ));
    }
    let doomed = User::filter(q!(name = format!("{name} doomed")))
        .count()
        .await?;
    if doomed != 0 {
        wrong.push(format!("{name}: the rolled back user is there"));
    }
    Ok(wrong)
}

#[tokio::test]
async fn the_apps_migrations_and_models_through_pgbouncer() -> Result<()> {
    let Some(urls) = pooled_test_database().await? else {
        return Ok(());
    };
    let db = Db::builder(&urls.pooled)
        .statement_mode(StatementMode::Unnamed)
        .max_size(16)
        .connect()
        .await?;
    // The app's migration files (written by `manage makemigrations`),
    // applied through pgbouncer; a second run finds nothing to do.
    let migrator =
        Migrator::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/migrations")).database(&db);
    let steps = migrator.migrate(None, false).await?;
    let applied: Vec<(&str, Direction)> = steps
        .iter()
        .map(|s| (s.name.as_str(), s.direction))
        .collect();
    assert_eq!(applied, [("0001_initial", Direction::Apply)]);
    assert!(migrator.migrate(None, false).await?.is_empty());
    let status = migrator.status().await?;
    assert!(status.len() == 1 && status[0].applied, "{status:?}");
    // What the file makes, seen directly on the server.
    let direct = Db::connect(&urls.direct).await?;
    let tables: Vec<(String,)> = orm_core::scope(
        &direct,
        orm_core::raw(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_name LIKE 'app\\_%' ORDER BY 1",
            &[],
        ),
    )
    .await?;
    let tables: Vec<String> = tables.into_iter().map(|(t,)| t).collect();
    assert_eq!(
        tables,
        [
            "app_post_tags",
            "app_posts",
            "app_profiles",
            "app_tags",
            "app_users"
        ]
    );

    let tags = orm_core::scope(&db, async {
        Tag::bulk_create(
            ["rust", "async", "sql"]
                .into_iter()
                .map(|name| Tag {
                    name: name.into(),
                    ..Default::default()
                })
                .collect(),
        )
        .await
    })
    .await?;
    let tags = std::sync::Arc::new(tags);
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let tags = tags.clone();
        tasks.push(tokio::spawn(orm_core::scope(&db.clone(), async move {
            let (mut errors, mut wrong) = (Vec::new(), Vec::new());
            for r in 0..ROUNDS {
                match round(task, r, &tags).await {
                    Ok(w) => wrong.extend(w),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            (errors, wrong)
        })));
    }
    let (mut errors, mut wrong) = (Vec::new(), Vec::new());
    for task in tasks {
        let (e, w) = task.await.expect("task");
        errors.extend(e);
        wrong.extend(w);
    }
    assert!(errors.is_empty(), "{} errors: {errors:?}", errors.len());
    assert!(wrong.is_empty(), "{} wrong: {wrong:?}", wrong.len());

    // Seen directly: each round made 1 user, 2 posts and 2 links, and
    // the failed transactions nothing.
    let counts: Vec<(i64, i64, i64, i64)> = orm_core::scope(
        &direct,
        orm_core::raw(
            "SELECT (SELECT count(*) FROM app_users), (SELECT count(*) FROM app_posts), \
             (SELECT count(*) FROM app_post_tags), \
             (SELECT count(*) FROM app_users WHERE name LIKE '%doomed')",
            &[],
        ),
    )
    .await?;
    let n = (TASKS * ROUNDS) as i64;
    assert_eq!(counts, [(n, 2 * n, 2 * n, 0)]);
    // Through pgbouncer, the app's relation lookups agree: the posts of
    // each tag (3 tags used in turn).
    let per_tag: Vec<i64> = orm_core::scope(&db, async {
        let mut out = Vec::new();
        for tag in tags.iter() {
            out.push(
                Post::filter(q!(tags__name = tag.name.as_str()))
                    .count()
                    .await?,
            );
        }
        Ok::<_, Error>(out)
    })
    .await?;
    assert_eq!(per_tag.iter().sum::<i64>(), 2 * n, "{per_tag:?}");
    Ok(())
}
