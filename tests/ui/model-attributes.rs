// Mistaken #[orm(..)] attributes: every one is reported, each at its key or
// value, including several in one attribute.

use orm_core::prelude::*;

fn some_fn() -> i32 {
    0
}

#[derive(Model)]
#[orm(tabel = "users")]
#[orm(table = "")]
struct User {
    #[orm(primary_key)]
    #[orm(primary_key)]
    id: i64,
    #[orm(primary)]
    name: String,
    #[orm(column = "a", column = "b")]
    email: String,
    #[orm(unique = true, column = "")]
    login: String,
    #[orm(max_length = "30")]
    city: String,
    #[orm(max_length = 0)]
    street: String,
    #[orm(default = some_fn())]
    karma: i32,
    #[orm(default = 1e999)]
    ratio: f64,
    #[orm(renamed_from = "")]
    title: String,
}

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    #[orm(on_delete = "nullify")]
    author: Option<ForeignKey<User>>,
}

fn main() {}
