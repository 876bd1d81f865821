use orm_core::prelude::*;

#[derive(Model)]
struct Tag {
    #[orm(primary_key)]
    id: i64,
}

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    #[orm(column = "tag_ids")]
    tags: ManyToMany<Tag>,
}

fn main() {}
