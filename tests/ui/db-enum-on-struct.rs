use orm_core::prelude::*;

#[derive(DbEnum)]
struct Role {
    admin: bool,
}

fn main() {}
