use orm_core::prelude::*;

#[derive(DbEnum, Clone, Copy)]
enum Role {
    Admin,
    Member(u32),
}

fn main() {}
