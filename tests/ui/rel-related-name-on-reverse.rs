use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(related_name = "author")]
    posts: Reverse<Post>,
}

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    author: ForeignKey<User>,
}

fn main() {}
