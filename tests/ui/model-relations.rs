// Relation attributes on the wrong kind of field, and relation types that
// cannot be `Option`s: every mistake of a model is reported at once.

use orm_core::prelude::*;

#[derive(Model)]
struct Tag {
    #[orm(primary_key)]
    id: i64,
}

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(related_name = "author")]
    posts: Reverse<Post>,
    #[orm(on_delete = "cascade")]
    name: String,
}

#[derive(Model)]
#[orm(table = "authors")]
struct Author {
    #[orm(primary_key)]
    id: i64,
    #[orm(renamed_from = "articles")]
    posts: Reverse<Post>,
    #[orm(unique)]
    tags: ManyToMany<Tag>,
}

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    author: ForeignKey<User>,
    #[orm(on_delete = "set_null")]
    editor: ForeignKey<Author>,
    #[orm(through = "post_authors")]
    reviewer: ForeignKey<User>,
    #[orm(column = "tag_ids")]
    tags: ManyToMany<Tag>,
    topics: Option<ManyToMany<Tag>>,
}

fn main() {}
