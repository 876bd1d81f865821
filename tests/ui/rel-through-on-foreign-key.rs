use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
}

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    #[orm(through = "post_authors")]
    author: ForeignKey<User>,
}

fn main() {}
