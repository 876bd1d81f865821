//! A blog served as JSON (`json_` tables): models that derive serde's
//! `Serialize` and `Deserialize` with their relation fields (the `serde`
//! feature).

use chrono::{DateTime, NaiveDate, Utc};
use orm_core::prelude::*;
use serde::{Deserialize, Serialize};

/// An author; their posts appear in JSON only when prefetched.
#[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
#[orm(table = "json_authors")]
pub(crate) struct JsonAuthor {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Unique, varchar(30).
    #[orm(max_length = 30, unique)]
    pub name: String,
    /// Optional.
    pub email: Option<String>,
    /// Set on insert.
    #[orm(auto_now_add)]
    pub joined: DateTime<Utc>,
    /// `JsonPost.author`, reversed.
    #[serde(skip_serializing_if = "orm_core::serde::not_loaded")]
    pub posts: Reverse<JsonPost>,
}

/// A tag.
#[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
#[orm(table = "json_tags")]
pub(crate) struct JsonTag {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
}

/// Views may not be negative.
fn not_negative(views: &i32) -> Result<(), String> {
    if *views < 0 {
        return Err("must not be negative".into());
    }
    Ok(())
}

/// A title may not be blank.
// A rule takes a reference to the field's type.
#[allow(clippy::ptr_arg)]
fn not_blank(title: &String) -> Result<(), String> {
    if title.trim().is_empty() {
        return Err("must not be blank".into());
    }
    Ok(())
}

/// A post: its author nested when loaded, its tags listed when prefetched.
#[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
#[orm(table = "json_posts")]
pub(crate) struct JsonPost {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// The author: an object when loaded, else the key.
    #[orm(related_name = "posts", on_delete = "cascade")]
    #[serde(serialize_with = "orm_core::serde::nested")]
    pub author: ForeignKey<JsonAuthor>,
    /// Title, varchar(40), not blank.
    #[orm(max_length = 40, validate = not_blank)]
    pub title: String,
    /// Not negative.
    #[orm(validate = not_negative)]
    pub views: i32,
    /// Optional day.
    pub published_on: Option<NaiveDate>,
    /// Tags, through json_post_tags.
    #[orm(related_name = "posts", through = "json_post_tags")]
    #[serde(skip_serializing_if = "orm_core::serde::not_loaded")]
    pub tags: ManyToMany<JsonTag>,
}
