use orm_core::prelude::*;

#[derive(Model)]
struct User<T> {
    #[orm(primary_key)]
    id: i64,
    name: T,
}

fn main() {}
