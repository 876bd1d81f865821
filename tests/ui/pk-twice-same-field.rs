use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    #[orm(primary_key)]
    id: i64,
}

fn main() {}
