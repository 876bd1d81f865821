use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
    karma: i32,
    email: Option<String>,
}

fn main() {
    let _ = User::filter(q!(karma__exact = None));
}
