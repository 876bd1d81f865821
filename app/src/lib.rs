//! The models of a small blog, in the application's library crate: its
//! `manage` binary (`src/bin/manage.rs`) and its integration tests
//! (`tests/`) are other crates that use them, as in a real application.
//! They serialize to JSON for a web API (orm-core's `serde` feature).

use chrono::{DateTime, Utc};
use orm_core::prelude::*;
use serde::{Deserialize, Serialize};

/// A member of the blog.
#[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
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
    /// `Post.author`, reversed: in JSON when prefetched.
    #[serde(skip_serializing_if = "orm_core::serde::not_loaded")]
    pub posts: Reverse<Post>,
    /// `Profile.user`, reversed (one or none).
    #[serde(skip_serializing_if = "orm_core::serde::not_loaded")]
    pub profile: ReverseOne<Profile>,
}

/// At most one profile per user.
#[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
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
#[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
#[orm(table = "app_posts")]
pub struct Post {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Deleted with its author.
    #[orm(related_name = "posts", on_delete = "cascade")]
    #[serde(serialize_with = "orm_core::serde::nested")]
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
    #[serde(skip_serializing_if = "orm_core::serde::not_loaded")]
    pub tags: ManyToMany<Tag>,
}

/// A tag on posts.
#[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
#[orm(table = "app_tags")]
pub struct Tag {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Unique name.
    #[orm(max_length = 40, unique)]
    pub name: String,
    /// `Post.tags`, reversed: in JSON when prefetched.
    #[serde(skip_serializing_if = "orm_core::serde::not_loaded")]
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

/// A listing with PostgreSQL's own types: JSON (Django's `JSONField`), a
/// range (`IntegerRangeField`), a decimal (`DecimalField`), an address
/// (`GenericIPAddressField`) and case-insensitive text (`citext`), with a
/// GIN index for full-text search on its title and notes.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "app_listings")]
#[orm(index(search_vector(title, notes), config = "english", using = "gin"))]
pub struct Listing {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// The title.
    pub title: String,
    /// Free text.
    pub notes: String,
    /// The seller's contact, unique whatever its case.
    #[orm(citext, unique)]
    pub contact: String,
    /// Attributes, `jsonb`.
    pub attrs: serde_json::Value,
    /// The nights it is offered for, `int4range`.
    pub nights: orm_core::Range<i32>,
    /// The price, `numeric(8,2)`.
    #[orm(max_digits = 8, decimal_places = 2)]
    pub price: orm_core::Decimal,
    /// Where it was posted from, `inet`.
    pub posted_from: Option<std::net::IpAddr>,
}

/// A note of a user's, soft deleted (`#[orm(soft_delete)]`): `delete()`
/// sets `deleted_at`, the default queries leave it out, and its title is
/// unique among the live notes only (a partial unique index).
#[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
#[orm(table = "app_notes", soft_delete)]
pub struct Note {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Whose; a user's delete removes their notes.
    #[orm(on_delete = "cascade")]
    #[serde(serialize_with = "orm_core::serde::nested")]
    pub author: ForeignKey<User>,
    /// Unique among the live notes.
    #[orm(max_length = 100, unique)]
    pub title: String,
    /// When it was deleted; `None` while it is not.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A memo of one account: a tenant model. Every statement on it is
/// filtered and stamped by the current tenant
/// (`orm_core::tenant::scope(account_id, ..)`), and PostgreSQL's
/// row-level security holds even raw SQL to it.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "app_memos")]
pub struct Memo {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// The account (tenant) the memo belongs to.
    #[orm(tenant, rls)]
    pub account_id: i64,
    /// The text.
    pub body: String,
    /// The account's labels on it: a link table with the tenant column
    /// (`app_memos_labels`: `account_id`, `memo_id`, `memo_label_id`).
    #[orm(related_name = "memos")]
    pub labels: ManyToMany<MemoLabel>,
}

/// A label of one account, on its memos: a tenant model too.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "app_memo_labels")]
pub struct MemoLabel {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// The account (tenant) the label belongs to.
    #[orm(tenant, rls)]
    pub account_id: i64,
    /// Its name.
    pub name: String,
    /// `Memo.labels`, reversed.
    pub memos: Reverse<Memo>,
}
