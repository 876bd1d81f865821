//! The blog of the relation tests (`rel_` tables): authors, posts, tags, profiles, categories.

use orm_core::prelude::*;

/// An author with reverse sides for posts and the profile.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "rel_authors")]
pub(crate) struct Author {
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
    pub profile: ReverseOne<Profile>,
}

/// One profile per author.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "rel_profiles")]
pub(crate) struct Profile {
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
pub(crate) struct Tag {
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
pub(crate) struct Post {
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
pub(crate) struct Category {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// Parent, if any.
    #[orm(on_delete = "set_null")]
    pub parent: Option<ForeignKey<Category>>,
}

pub(crate) async fn author(name: &str, karma: i32) -> Author {
    Author::create(Author {
        name: name.into(),
        karma,
        ..Default::default()
    })
    .await
    .expect("author")
}

pub(crate) async fn post(author: &Author, title: &str, published: bool) -> Post {
    Post::create(Post {
        author: ForeignKey::to(author).expect("saved author"),
        title: title.into(),
        published,
        ..Default::default()
    })
    .await
    .expect("post")
}

pub(crate) async fn tag(name: &str) -> Result<Tag> {
    Tag::create(Tag {
        name: name.into(),
        ..Default::default()
    })
    .await
}

pub(crate) fn names(authors: &[Author]) -> Vec<&str> {
    authors.iter().map(|a| a.name.as_str()).collect()
}

/// Gemini: "Rust async" (published), "Draft" (unpublished);
/// Ada: "Rust basics" (unpublished), "Python" (published); Bob: none.
pub(crate) async fn blog() -> (Author, Author, Author) {
    let gemini = author("Gemini", 10).await;
    let ada = author("Ada", 50).await;
    let bob = author("Bob", 5).await;
    post(&gemini, "Rust async", true).await;
    post(&gemini, "Draft", false).await;
    post(&ada, "Rust basics", false).await;
    post(&ada, "Python", true).await;
    (gemini, ada, bob)
}

/// Tags "rust" (on Gemini's "Rust async" and Ada's "Rust basics") and
/// "python" (on "Rust async" and "Python").
pub(crate) async fn tagged() -> Result<()> {
    let rust = tag("rust").await?;
    let python = tag("python").await?;
    for post in Post::all().await? {
        match post.title.as_str() {
            "Rust async" => post.tags().add(&[&rust, &python]).await?,
            "Rust basics" => post.tags().add(&[&rust]).await?,
            "Python" => post.tags().add(&[&python]).await?,
            _ => 0,
        };
    }
    Ok(())
}
