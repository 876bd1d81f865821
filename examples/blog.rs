//! Blog: users, their posts, tags and profiles, with relations.
//!
//! `cargo run --example blog`. Shows the N+1 problem and its two cures
//! (`select_related`, `prefetch_related`), lookups across relations in both
//! directions, a filtered prefetch and `ON DELETE CASCADE`. With
//! `DATABASE_URL` unset it starts a throwaway PostgreSQL.

use orm_core::prelude::*;

/// A user of the blog.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "blog_users")]
pub struct User {
    /// Filled by the database on insert.
    #[orm(primary_key)]
    pub id: i64,
    /// Unique name.
    #[orm(unique)]
    pub name: String,
    /// The user's posts (`Post.author`, reversed).
    pub posts: Reverse<Post>,
    /// The user's profile, if any (`Profile.user`, reversed).
    pub profile: Reverse<Profile>,
}

/// At most one profile per user.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "blog_profiles")]
pub struct Profile {
    /// Filled by the database on insert.
    #[orm(primary_key)]
    pub id: i64,
    /// Its user: a unique foreign key.
    #[orm(related_name = "profile", on_delete = "cascade")]
    pub user: OneToOne<User>,
    /// A line about the user.
    pub bio: String,
}

/// A tag, on any number of posts.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "blog_tags")]
pub struct Tag {
    /// Filled by the database on insert.
    #[orm(primary_key)]
    pub id: i64,
    /// Unique name.
    #[orm(unique)]
    pub name: String,
    /// The tagged posts (`Post.tags`, reversed).
    pub posts: Reverse<Post>,
}

/// A post, written by one user, with tags.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "blog_posts")]
pub struct Post {
    /// Filled by the database on insert.
    #[orm(primary_key)]
    pub id: i64,
    /// The author (column `author_id`); deleted with the author.
    #[orm(related_name = "posts", on_delete = "cascade")]
    pub author: ForeignKey<User>,
    /// The title.
    pub title: String,
    /// Visible to readers.
    pub published: bool,
    /// Linked through the table `blog_post_tags`.
    #[orm(related_name = "posts", through = "blog_post_tags")]
    pub tags: ManyToMany<Tag>,
}

/// The posts: (author, title, published, tags).
const POSTS: &[(&str, &str, bool, &str)] = &[
    ("Ada", "Rust for Django users", true, "rust python"),
    ("Ada", "Rust lifetimes explained", true, "rust tutorial"),
    ("Ada", "Notes on the Analytical Engine", true, ""),
    ("Ada", "Python descriptors", true, "python"),
    ("Ada", "Draft: engines", false, ""),
    ("Grace", "Rust macros (draft)", false, "rust"),
    ("Grace", "Compilers from scratch", true, "tutorial"),
    ("Grace", "COBOL at sixty", true, ""),
    ("Grace", "Debugging tips", true, "tutorial"),
    ("Linus", "Git internals", true, "databases"),
    ("Linus", "Kernel mailing lists", true, ""),
    ("Linus", "Why C", true, ""),
    ("Linus", "Merging at scale", true, "tutorial"),
    ("Gemini", "Rust async runtimes", true, "rust async"),
    ("Gemini", "Async in practice", true, "async python"),
    ("Gemini", "Postgres for app developers", true, "databases"),
    ("Gemini", "Rust ORMs (draft)", false, "rust databases"),
    ("Bob", "Hello world", true, ""),
    ("Bob", "Indexes explained", true, "databases tutorial"),
    ("Bob", "Second thoughts", true, ""),
];

/// What to print for an object in a list.
trait Label {
    fn label(&self) -> &str;
}
impl Label for User {
    fn label(&self) -> &str {
        &self.name
    }
}
impl Label for Post {
    fn label(&self) -> &str {
        &self.title
    }
}
impl Label for Tag {
    fn label(&self) -> &str {
        &self.name
    }
}

/// "a, b, c".
fn list<T: Label>(items: &[T]) -> String {
    items.iter().map(T::label).collect::<Vec<_>>().join(", ")
}

#[tokio::main]
async fn main() -> orm_core::Result<()> {
    let db = orm_core::testing::test_db().await?;
    orm_core::set_default(db.clone());
    orm_core::generate_schemas().await?;

    // 1. Data: users, profiles for three of them, posts, tags.
    let new_user = |name: &str| User {
        name: name.into(),
        ..Default::default()
    };
    let names = ["Ada", "Grace", "Linus", "Gemini", "Bob"];
    let users = User::bulk_create(names.map(new_user).into()).await?;
    let user = |name: &str| users.iter().find(|u| u.name == name).expect("a user");
    let mut profiles = Vec::new();
    for (name, bio) in [("Ada", "Engines"), ("Linus", "Git"), ("Gemini", "Rust")] {
        profiles.push(Profile {
            user: ForeignKey::to(user(name))?,
            bio: bio.into(),
            ..Default::default()
        });
    }
    let profiles = Profile::bulk_create(profiles).await?;
    let mut posts = Vec::new();
    for (author, title, published, _) in POSTS {
        let author = ForeignKey::to(user(author))?;
        posts.push(Post {
            author,
            title: (*title).into(),
            published: *published,
            ..Default::default()
        });
    }
    let posts = Post::bulk_create(posts).await?;
    let new_tag = |name: &str| Tag {
        name: name.into(),
        ..Default::default()
    };
    let names = ["rust", "python", "async", "databases", "tutorial"];
    let tags = Tag::bulk_create(names.map(new_tag).into()).await?;
    let mut links = 0;
    for (post, (.., post_tags)) in posts.iter().zip(POSTS) {
        let linked: Vec<&Tag> = tags
            .iter()
            .filter(|t| post_tags.split(' ').any(|n| n == t.name))
            .collect();
        links += post.tags().add(&linked).await?;
    }
    let (u, pr, p, t) = (users.len(), profiles.len(), posts.len(), tags.len());
    println!("== created {u} users, {pr} profiles, {p} posts, {t} tags, {links} post-tag links");

    // 2a. Posts with their author: one query per post (N+1), or one JOIN.
    let before = db.query_count();
    for post in Post::all().await? {
        let _author: User = post.author.fetch().await?;
    }
    let n = db.query_count() - before;
    println!("== {p} posts and their authors, fetching each author: {n} queries");
    let before = db.query_count();
    let posts = Post::all()
        .select_related(["author"])
        .order_by(["id"])
        .await?;
    let n = db.query_count() - before;
    let author = &posts[0].author.get().expect("joined").name;
    println!("== the same with select_related([\"author\"]): {n} query (first by {author})");

    // 2b. Users with their posts: one query per user, or one per level.
    let before = db.query_count();
    for user in User::all().await? {
        let _posts: Vec<Post> = user.posts().await?;
    }
    let n = db.query_count() - before;
    println!("== {u} users and their posts, user.posts() for each: {n} queries");
    let before = db.query_count();
    let users = User::all()
        .prefetch_related(["posts"])
        .order_by(["id"])
        .await?;
    let n = db.query_count() - before;
    let ada = users[0].posts.get().expect("prefetched").len();
    println!("== the same with prefetch_related([\"posts\"]): {n} queries (Ada has {ada} posts)");
    let before = db.query_count();
    let users = User::all()
        .prefetch_related(["posts__tags"])
        .order_by(["id"])
        .await?;
    let n = db.query_count() - before;
    println!("== users, posts and tags with prefetch_related([\"posts__tags\"]): {n} queries");
    for user in &users {
        println!("   {}:", user.name);
        for post in user.posts.get().expect("prefetched") {
            let tags = list(post.tags.get().expect("prefetched"));
            println!("     {:<30} [{tags}]", post.title);
        }
    }

    // 3. Lookups across relations, in both directions.
    let n = Post::filter(q!(author__name__icontains = "A"))
        .count()
        .await?;
    println!("== posts by authors with an 'a' in their name: {n}");
    let found = User::filter(q!(posts__title__startswith = "Rust"))
        .order_by(["name"])
        .await?;
    println!("== users with a \"Rust...\" post: {}", list(&found));
    // One filter: the same post must meet both conditions.
    let found = User::filter(q!(
        posts__title__startswith = "Rust",
        posts__published = true
    ))
    .order_by(["name"])
    .await?;
    println!("== ... that is published (one filter): {}", list(&found));
    // Chained filters: each may be met by a different post.
    let found = User::filter(q!(posts__title__startswith = "Rust"))
        .filter(q!(posts__published = true))
        .order_by(["name"])
        .await?;
    println!("== ... and a published post (chained): {}", list(&found));
    let found = User::exclude(q!(posts__published = false))
        .order_by(["name"])
        .await?;
    println!("== users without drafts (exclude): {}", list(&found));
    let found = User::filter(q!(profile__isnull = true))
        .order_by(["name"])
        .await?;
    println!("== users without a profile: {}", list(&found));
    let post = Post::get(q!(title = "Rust async runtimes")).await?;
    let found = post.tags().all().order_by(["name"]).await?;
    println!("== tags of {:?}: {}", post.title, list(&found));
    let rust = Tag::get(q!(name = "rust")).await?;
    let found = rust.posts().order_by(["id"]).await?;
    println!("== posts tagged \"rust\": {}", list(&found));

    // 4. A filtered prefetch: only the published posts, newest first.
    let before = db.query_count();
    let users = User::all()
        .prefetch_related_with(
            "posts",
            Post::filter(q!(published = true)).order_by(["-id"]),
        )
        .order_by(["id"])
        .await?;
    let n = db.query_count() - before;
    println!("== published posts of each user, newest first ({n} queries):");
    for user in &users {
        let titles = list(user.posts.get().expect("prefetched"));
        println!("   {:<6} {titles}", user.name);
    }

    // 5. Deleting a user deletes their posts and profile (ON DELETE CASCADE).
    let (p, pr) = (Post::all().count().await?, Profile::all().count().await?);
    let deleted = User::get(q!(name = "Gemini")).await?.delete().await?;
    let (p2, pr2) = (Post::all().count().await?, Profile::all().count().await?);
    println!("== deleted {deleted} user (Gemini): posts {p} -> {p2}, profiles {pr} -> {pr2}");
    Ok(())
}
