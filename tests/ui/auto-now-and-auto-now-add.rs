use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
    #[orm(auto_now, auto_now_add)]
    created: chrono::DateTime<chrono::Utc>,
}

fn main() {}
