use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary)]
    id: i64,
    name: String,
}

fn main() {}
