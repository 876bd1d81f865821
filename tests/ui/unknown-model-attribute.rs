use orm_core::prelude::*;

#[derive(Model)]
#[orm(tabel = "users")]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
}

fn main() {}
