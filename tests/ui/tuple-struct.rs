use orm_core::prelude::*;

#[derive(Model)]
struct User(i64, String);

fn main() {}
