use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: Option<i64>,
    name: String,
}

fn main() {}
