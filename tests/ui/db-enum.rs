// #[derive(DbEnum)]: every mistake of an enum is reported at once (the
// enums still implement the traits: `level` is no second error); and a
// field of an enum type takes no text attribute.

use orm_core::prelude::*;

#[derive(DbEnum)]
struct Flag {
    admin: bool,
}

#[derive(DbEnum, Debug, Clone, Copy)]
enum Status {
    #[orm(rename = "Member")]
    Admin,
    Member,
    #[orm(renam = "guest")]
    Guest,
    Owner(u32),
}

#[derive(DbEnum, Debug, Clone, Copy)]
enum Level<T> {
    Low,
    High(T),
}

#[derive(DbEnum, Debug, Clone, Copy)]
enum Role {
    Admin,
    Member,
}

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(max_length = 10)]
    role: Role,
    level: Level<i32>,
}

fn main() {}
