use orm_core::prelude::*;

#[derive(Model)]
#[orm(table = "")]
struct User {
    #[orm(primary_key)]
    id: i64,
}

fn main() {}
