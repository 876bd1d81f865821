use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(column = "name")]
    name: String,
    #[orm(column = "name")]
    display_name: String,
}

fn main() {}
