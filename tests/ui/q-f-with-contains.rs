use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
}

fn main() {
    let _ = User::filter(q!(name__contains = F("name")));
}
