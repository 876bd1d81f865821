use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
    #[orm(column = "a", column = "b")]
    email: String,
}

fn main() {}
