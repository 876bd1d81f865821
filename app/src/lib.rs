//! The models of a small blog, in the application's library crate: its
//! `manage` binary (`src/bin/manage.rs`) and its integration tests
//! (`tests/`) are other crates that use them, as in a real application.

use chrono::{DateTime, Utc};
use orm_core::prelude::*;

/// A member of the blog.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "app_users")]
pub struct User {
    /// Identity primary key.
    #[orm(primary_key)]
    pub id: i64,
    /// Unique, varchar(30).
    #[orm(max_length = 30, unique)]
    pub name: String,
    /// Optional.
    pub email: Option<String>,
    /// Indexed, DEFAULT 0.
    #[orm(default = 0, index)]
    pub karma: i32,
    /// Set on insert.
    #[orm(auto_now_add)]
    pub created_at: DateTime<Utc>,
    /// Set on every save.
    #[orm(auto_now)]
    pub updated_at: DateTime<Utc>,
    /// `Post.author`, reversed.
    pub posts: Reverse<Post>,
    /// `Profile.user`, reversed (one or none).
    pub profile: ReverseOne<Profile>,
}

/// At most one profile per user.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "app_profiles")]
pub struct Profile {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// The user (unique); deleted with them.
    #[orm(related_name = "profile", on_delete = "cascade")]
    pub user: OneToOne<User>,
    /// Free text.
    pub bio: String,
}

/// A post by one user, with tags.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "app_posts")]
pub struct Post {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Deleted with its author.
    #[orm(related_name = "posts", on_delete = "cascade")]
    pub author: ForeignKey<User>,
    /// Title.
    #[orm(max_length = 200)]
    pub title: String,
    /// Reads.
    #[orm(default = 0)]
    pub views: i64,
    /// Visible.
    pub published: bool,
    /// Linked through the `app_post_tags` table.
    #[orm(related_name = "posts", through = "app_post_tags")]
    pub tags: ManyToMany<Tag>,
}

/// A tag on posts.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "app_tags")]
pub struct Tag {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Unique name.
    #[orm(max_length = 40, unique)]
    pub name: String,
    /// `Post.tags`, reversed.
    pub posts: Reverse<Post>,
}

/// A link of `Post.tags` as a model: its table is `app_post_tags`, keyed
/// by its two foreign keys (a composite primary key).
#[derive(Model, Debug, Clone)]
#[orm(table = "app_post_tags")]
pub struct PostTag {
    /// The post, first key field.
    #[orm(primary_key)]
    pub post: ForeignKey<Post>,
    /// The tag, second key field.
    #[orm(primary_key)]
    pub tag: ForeignKey<Tag>,
}

/// A bookmark with PostgreSQL array fields (Django's `ArrayField`).
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "app_bookmarks")]
pub struct Bookmark {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// The address.
    pub url: String,
    /// Labels, `text[]`.
    pub labels: Vec<String>,
    /// Ratings, `integer[]`, nullable.
    pub ratings: Option<Vec<i32>>,
}
