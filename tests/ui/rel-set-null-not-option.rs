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
    #[orm(on_delete = "set_null")]
    author: ForeignKey<User>,
}

fn main() {}
