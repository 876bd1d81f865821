use orm_core::prelude::*;

#[derive(DbEnum, Debug, Clone, Copy)]
enum Role {
    #[orm(renam = "admin")]
    Admin,
    Member,
}

fn main() {}
