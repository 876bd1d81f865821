use orm_core::prelude::*;

#[derive(Model)]
enum User {
    Admin,
    Member,
}

fn main() {}
