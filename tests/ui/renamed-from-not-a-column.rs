use orm_core::prelude::*;

#[derive(Model)]
#[orm(table = "authors")]
struct Author {
    #[orm(primary_key)]
    id: i64,
    #[orm(renamed_from = "articles")]
    posts: Reverse<Post>,
}

#[derive(Model)]
#[orm(table = "posts")]
struct Post {
    #[orm(primary_key)]
    id: i64,
    #[orm(related_name = "posts")]
    author: ForeignKey<Author>,
    #[orm(renamed_from = "")]
    title: String,
}

fn main() {}
