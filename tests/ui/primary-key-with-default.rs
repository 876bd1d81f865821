use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key, default = 1)]
    id: i64,
    name: String,
}

fn main() {}
