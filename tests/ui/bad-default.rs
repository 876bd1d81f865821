use orm_core::prelude::*;

fn some_fn() -> i32 {
    0
}

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
    #[orm(default = some_fn())]
    karma: i32,
}

fn main() {}
