// Rules across a model's fields, checked by #[derive(Model)]: every broken
// rule of a model is reported at once.

use orm_core::prelude::*;

#[derive(Model)]
struct Account {
    #[orm(primary_key)]
    id: Option<i64>,
    #[orm(column = "name")]
    name: String,
    first__name: String,
    pk: i32,
    #[orm(column = "name")]
    display_name: String,
    #[orm(auto_now, auto_now_add)]
    created: chrono::DateTime<chrono::Utc>,
}

#[derive(Model)]
struct TwoKeys {
    #[orm(primary_key, default = 1)]
    id: i64,
    #[orm(primary_key)]
    name: String,
}

#[derive(Model)]
#[orm(unique_together(name, name))]
#[orm(unique_together(name))]
#[orm(unique_together(name, emial))]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
    email: Option<String>,
}

fn main() {}
