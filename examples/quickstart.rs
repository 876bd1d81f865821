//! Quickstart: users and their posts (one-to-many through a real foreign
//! key), the everyday CRUD, filter chains and relations both ways.
//!
//! `cargo run --example quickstart`. With `DATABASE_URL` unset it starts a
//! throwaway PostgreSQL from the installed server binaries; with it set, it
//! creates a fresh database on that server.

use chrono::{DateTime, Utc};
use orm_core::prelude::*;

/// A user of the blog.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "users")]
pub struct User {
    /// Filled by the database on insert.
    #[orm(primary_key)]
    pub id: i64,
    /// Unique, at most 30 characters.
    #[orm(max_length = 30, unique)]
    pub name: String,
    /// NULL when unknown.
    pub email: Option<String>,
    /// Reputation.
    #[orm(default = 0, index)]
    pub karma: i32,
    /// Set once, on insert.
    #[orm(auto_now_add)]
    pub created_at: DateTime<Utc>,
    /// Set on every save.
    #[orm(auto_now)]
    pub updated_at: DateTime<Utc>,
    /// `Post.author`, reversed: no column; `user.posts()` queries them,
    /// `prefetch_related(["posts"])` loads them for many users at once.
    pub posts: Reverse<Post>,
}

/// A post, written by one user.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "posts", unique_together(author, title))]
pub struct Post {
    /// Filled by the database on insert.
    #[orm(primary_key)]
    pub id: i64,
    /// The author: column `author_id`, a foreign key to `users`; the posts
    /// are deleted with their author.
    #[orm(related_name = "posts", on_delete = "cascade")]
    pub author: ForeignKey<User>,
    /// The title; unique per author.
    #[orm(max_length = 200)]
    pub title: String,
    /// The text.
    pub body: String,
    /// Visible to readers.
    #[orm(default = false)]
    pub published: bool,
    /// How often it was read.
    #[orm(default = 0)]
    pub views: i32,
    /// Set once, on insert.
    #[orm(auto_now_add)]
    pub created_at: DateTime<Utc>,
}

#[tokio::main]
async fn main() -> orm_core::Result<()> {
    // In an application: `orm_core::connect("postgres://user@host/app").await?;`
    let db = orm_core::testing::test_db().await?;
    orm_core::set_default(db.clone());
    orm_core::generate_schemas().await?;
    println!("== tables created for: users, posts");

    // Create: `create` returns the row as stored; `save` inserts while the id is 0.
    let gemini = User::create(User {
        name: "Gemini".into(),
        email: Some("gemini@example.com".into()),
        karma: 12,
        ..Default::default()
    })
    .await?;
    let mut ada = User {
        name: "Ada".into(),
        ..Default::default()
    };
    ada.save().await?;
    ada.karma += 40;
    ada.save().await?; // UPDATE ... WHERE "id" = $n
    let more = User::bulk_create(
        ["Grace", "Linus", "tmp_bot"]
            .iter()
            .enumerate()
            .map(|(i, name)| User {
                name: (*name).into(),
                karma: i as i32 * 5,
                ..Default::default()
            })
            .collect(),
    )
    .await?;
    println!(
        "== created users: {} (id {}), {} (id {}, karma {}), and {} more",
        gemini.name,
        gemini.id,
        ada.name,
        ada.id,
        ada.karma,
        more.len()
    );

    // Posts for each author.
    let mut posts = Vec::new();
    for (author, titles) in [
        (&gemini, &["Rust ORMs compared", "Async in practice"][..]),
        (
            &ada,
            &[
                "Notes on the Analytical Engine",
                "Rust for Django users",
                "Draft",
            ][..],
        ),
    ] {
        for (i, title) in titles.iter().enumerate() {
            posts.push(Post {
                author: ForeignKey::to(author)?,
                title: (*title).into(),
                body: format!("{title}: ..."),
                published: *title != "Draft",
                views: (i as i32 + 1) * 100,
                ..Default::default()
            });
        }
    }
    let posts = Post::bulk_create(posts).await?;
    println!("== created {} posts", posts.len());

    // Post -> author: one JOIN, then `post.author.get()`.
    let by_ada = Post::filter(q!(author = ada.id, published = true))
        .select_related(["author"])
        .order_by(["-views"])
        .await?;
    println!("== Ada's published posts, most read first (one query, author joined):");
    for p in &by_ada {
        let author = p.author.get().map_or("?", |u| u.name.as_str());
        println!("   {:>4} views  {}  by {author}", p.views, p.title);
    }
    // User -> posts: one more query for every user's posts.
    let writers = User::filter(q!(name__in = ["Ada", "Gemini"]))
        .prefetch_related(["posts"])
        .order_by(["name"])
        .await?;
    for user in &writers {
        let titles: Vec<&str> = user
            .posts
            .get()
            .unwrap_or_default()
            .iter()
            .map(|p| p.title.as_str())
            .collect();
        println!("== {} wrote {titles:?}", user.name);
    }
    // Lookups across the relation, both ways (a JOIN; users never repeat).
    let rust_writers = User::filter(q!(posts__title__icontains = "rust"))
        .order_by(["name"])
        .await?;
    println!(
        "== users who wrote about Rust: {:?}",
        rust_writers.iter().map(|u| &u.name).collect::<Vec<_>>()
    );
    let n = Post::filter(q!(author__karma__gte = 40)).count().await?;
    println!("== posts by users with karma >= 40: {n}");
    // One user's posts, through the reverse manager.
    let gemini_posts = gemini.posts().await?;
    println!("== gemini.posts(): {} posts", gemini_posts.len());

    // The Django chain: filter, exclude, order, slice.
    let users: Vec<User> = User::filter(q!(name__icontains = "I", karma__gte = 5))
        .exclude(q!(email__isnull = true))
        .order_by(["-karma", "name"])
        .limit(10)
        .offset(0)
        .all()
        .await?;
    println!(
        "== users with an 'i' (any case), karma >= 5 and an email: {:?}",
        users.iter().map(|u| &u.name).collect::<Vec<_>>()
    );

    // Typed field handles: the same conditions without the macro.
    let f = User::fields();
    let n = User::filter(f.karma.gte(10) & !f.name.startswith("tmp_"))
        .count()
        .await?;
    println!("== users with karma >= 10 (not bots): {n}");

    let n: i64 = User::filter(q!(karma__in = [0, 5, 10]) | q!(name__startswith = "A"))
        .count()
        .await?;
    println!("== users with karma in (0, 5, 10) or a name starting with A: {n}");

    let one = User::get(q!(name = "Gemini")).await?;
    let maybe = User::get_or_none(q!(id = 9999)).await?;
    println!(
        "== get: {} (id {}); get_or_none(id = 9999): {maybe:?}",
        one.name, one.id
    );
    match User::get(q!(karma__gte = 0)).await {
        Err(e @ Error::MultipleObjectsReturned { .. }) => println!("== as expected: {e}"),
        other => println!("== unexpected: {other:?}"),
    }

    let (bob, created) = User::get_or_create(
        q!(name = "Bob"),
        User {
            name: "Bob".into(),
            ..Default::default()
        },
    )
    .await?;
    println!("== get_or_create Bob: id {}, created: {created}", bob.id);
    let (bob, created) = User::update_or_create(q!(name = "Bob"), q!(karma = 7)).await?;
    println!(
        "== update_or_create Bob: karma {}, created: {created}",
        bob.karma
    );

    // A unique violation names its constraint.
    if let Err(e) = User::create(User {
        name: "Bob".into(),
        ..Default::default()
    })
    .await
    {
        println!("== duplicate name refused: {e}");
    }

    // Bulk update and delete return row counts.
    let changed: u64 = Post::filter(q!(published = false))
        .update(q!(published = true, views = 1))
        .await?;
    println!("== published {changed} draft(s)");
    let removed: u64 = User::filter(q!(name__startswith = "tmp_")).delete().await?;
    println!("== removed {removed} bot user(s)");

    // Update one post through its object, then delete its author: the
    // posts go with her (on_delete = "cascade"), as the report shows.
    let mut draft = Post::get(q!(author = ada.id, title = "Draft")).await?;
    draft.title = "Published draft".into();
    draft.views += 1;
    draft.save().await?;
    println!(
        "== renamed the draft: {:?} ({} views)",
        draft.title, draft.views
    );
    let deleted = User::filter(q!(id = ada.id)).delete_report().await?;
    println!(
        "== deleted Ada: {} row(s), per model {:?}",
        deleted.total, deleted.per_model
    );

    let everyone: Vec<User> = User::all().order_by(["name"]).await?;
    println!(
        "== {} users left: {:?}; {} posts; {} statements run",
        everyone.len(),
        everyone.iter().map(|u| &u.name).collect::<Vec<_>>(),
        Post::all().count().await?,
        db.query_count()
    );
    Ok(())
}
