use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(on_delete = "cascade")]
    name: String,
}

fn main() {}
