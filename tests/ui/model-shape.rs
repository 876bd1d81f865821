// #[derive(Model)] on types it cannot map: each derive reports its own
// shape (the attributes of a generic struct are still checked), and a
// struct without a primary key.

use orm_core::prelude::*;

#[derive(Model)]
enum Kind {
    Admin,
    Member,
}

#[derive(Model)]
struct Pair(i64, String);

#[derive(Model)]
struct Marker;

#[derive(Model)]
struct Wrapper<T> {
    #[orm(primary)]
    id: i64,
    name: T,
}

#[derive(Model)]
struct User {
    id: i64,
    name: String,
}

fn main() {}
