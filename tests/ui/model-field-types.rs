// Attributes and field types that #[derive(Model)] accepts but the
// compiler rejects, each at the attribute or the type.

use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(auto_now)]
    name: String,
    #[orm(default = "x")]
    karma: i32,
    #[orm(max_length = 10)]
    age: i32,
    scores: std::collections::HashMap<String, i32>,
}

fn main() {}
