//! A second blog (`relx_` tables): posts with an editor and comments, profiles in countries.

use orm_core::prelude::*;

use super::names_of;

/// A country of a profile.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_countries")]
pub(crate) struct Country {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// Profile.country, reversed.
    pub profiles: Reverse<Profile>,
}

/// An author: writes posts, edits others.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_authors")]
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
    /// Post.editor, reversed.
    pub edited: Reverse<Post>,
    /// Profile.author, reversed (one or none).
    pub profile: ReverseOne<Profile>,
}

/// One profile per author.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_profiles")]
pub(crate) struct Profile {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Unique key.
    #[orm(related_name = "profile")]
    pub author: OneToOne<Author>,
    /// Text.
    pub bio: String,
    /// Nullable.
    #[orm(related_name = "profiles", on_delete = "set_null")]
    pub country: Option<ForeignKey<Country>>,
}

/// A post with an author and maybe an editor (two keys to Author).
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_posts")]
pub(crate) struct Post {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Deleted with its author.
    #[orm(related_name = "posts", on_delete = "cascade")]
    pub author: ForeignKey<Author>,
    /// Nullable, SET NULL.
    #[orm(related_name = "edited", on_delete = "set_null")]
    pub editor: Option<ForeignKey<Author>>,
    /// Title.
    pub title: String,
    /// Ordering key.
    pub rank: i32,
    /// Comment.post, reversed.
    pub comments: Reverse<Comment>,
}

/// A comment on a post (cascade: author -> post -> comment).
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_comments")]
pub(crate) struct Comment {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Deleted with its post.
    #[orm(related_name = "comments", on_delete = "cascade")]
    pub post: ForeignKey<Post>,
    /// Text.
    pub body: String,
}

/// A moderation flag that protects its comment from cascades.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_flags")]
pub(crate) struct Flag {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// PROTECT.
    #[orm(on_delete = "protect")]
    pub comment: ForeignKey<Comment>,
}

pub(crate) fn authors(rows: &[Author]) -> Vec<String> {
    names_of(rows, |a| &a.name)
}

pub(crate) fn titles(rows: &[Post]) -> Vec<String> {
    names_of(rows, |p| &p.title)
}

pub(crate) async fn author(name: &str, karma: i32) -> Result<Author> {
    Author::create(Author {
        name: name.into(),
        karma,
        ..Default::default()
    })
    .await
}

pub(crate) async fn post(
    author: &Author,
    editor: Option<&Author>,
    title: &str,
    rank: i32,
) -> Result<Post> {
    Post::create(Post {
        author: ForeignKey::to(author)?,
        editor: editor.map(ForeignKey::to).transpose()?,
        title: title.into(),
        rank,
        ..Default::default()
    })
    .await
}

pub(crate) async fn comment(post: &Post, body: &str) -> Result<Comment> {
    Comment::create(Comment {
        post: ForeignKey::to(post)?,
        body: body.into(),
        ..Default::default()
    })
    .await
}

/// The authors, countries, profiles, posts and comments of the deep tests.
pub(crate) struct Blog {
    pub ada: Author,
    pub bob: Author,
    pub cy: Author,
    pub dee: Author,
    pub p1: Post,
    pub p3: Post,
}

/// Countries NZ, FR. Authors Ada (50, NZ), Bob (5, FR), Cy (20, profile
/// without country), Dee (1, no profile, no posts); profiles made Cy first.
/// Posts: "a" (Ada, edited by Bob, rank 3), "e" (Ada, 1),
/// "b" (Bob, edited by Ada, 2), "c" (Cy, 5).
/// Comments: "nice", "nice too" on "a"; "meh" on "b"; "nice" on "c".
pub(crate) async fn blog() -> Result<Blog> {
    let nz = Country::create(Country {
        name: "NZ".into(),
        ..Default::default()
    })
    .await?;
    let fr = Country::create(Country {
        name: "FR".into(),
        ..Default::default()
    })
    .await?;
    let ada = author("Ada", 50).await?;
    let bob = author("Bob", 5).await?;
    let cy = author("Cy", 20).await?;
    let dee = author("Dee", 1).await?;
    // Created in another order than the authors: profile ids are not
    // author ids (Cy's profile is 1, Ada's is 3).
    for (a, bio, country) in [
        (&cy, "Cats", None),
        (&bob, "Bikes", Some(&fr)),
        (&ada, "Engines", Some(&nz)),
    ] {
        Profile::create(Profile {
            author: ForeignKey::to(a)?,
            bio: bio.into(),
            country: country.map(ForeignKey::to).transpose()?,
            ..Default::default()
        })
        .await?;
    }
    let p1 = post(&ada, Some(&bob), "a", 3).await?;
    post(&ada, None, "e", 1).await?;
    let p3 = post(&bob, Some(&ada), "b", 2).await?;
    let p4 = post(&cy, None, "c", 5).await?;
    comment(&p1, "nice").await?;
    comment(&p1, "nice too").await?;
    comment(&p3, "meh").await?;
    comment(&p4, "nice").await?;
    Ok(Blog {
        ada,
        bob,
        cy,
        dee,
        p1,
        p3,
    })
}
