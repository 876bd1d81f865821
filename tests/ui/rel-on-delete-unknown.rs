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
    #[orm(on_delete = "nullify")]
    author: Option<ForeignKey<User>>,
}

fn main() {}
