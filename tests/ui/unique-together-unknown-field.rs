use orm_core::prelude::*;

#[derive(Model)]
#[orm(unique_together(name, emial))]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
    email: Option<String>,
}

fn main() {}
