use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
}

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    author: ForeignKey<User>,
    title: String,
}

fn main() {
    let _ = Post::filter(q!(author = "x"));
}
