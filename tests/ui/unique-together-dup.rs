use orm_core::prelude::*;

#[derive(Model)]
#[orm(unique_together(name, name))]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
}

fn main() {}
