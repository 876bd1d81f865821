use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
    scores: std::collections::HashMap<String, i32>,
}

fn main() {}
