//! Composite primary keys: releases keyed by (version, name), and posts
//! with tags linked through a model keyed by its two foreign keys.

use orm_core::prelude::*;

/// A release, keyed by `(version, name)` (Django's `Release` example).
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "ck_releases")]
pub(crate) struct Release {
    /// First key field.
    #[orm(primary_key)]
    pub version: i32,
    /// Second key field.
    #[orm(primary_key, max_length = 20)]
    pub name: String,
    /// Not part of the key.
    pub notes: String,
}

/// A post with tags linked through `ck_post_tags`, the table of `PostTag`.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "ck_posts")]
pub(crate) struct CkPost {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Title.
    pub title: String,
    /// Linked through the `PostTag` model's table.
    #[orm(through = "ck_post_tags", related_name = "posts")]
    pub tags: ManyToMany<CkTag>,
}

/// A tag.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "ck_tags")]
pub(crate) struct CkTag {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
}

/// The link rows of `CkPost.tags` as a model: keyed by its two foreign keys.
#[derive(Model, Debug, Clone)]
#[orm(table = "ck_post_tags")]
pub(crate) struct PostTag {
    /// Column `ck_post_id`, first key field.
    #[orm(primary_key, column = "ck_post_id")]
    pub post: ForeignKey<CkPost>,
    /// Column `ck_tag_id`, second key field.
    #[orm(primary_key, column = "ck_tag_id")]
    pub tag: ForeignKey<CkTag>,
}
