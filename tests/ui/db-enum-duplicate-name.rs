use orm_core::prelude::*;

#[derive(DbEnum, Debug, Clone, Copy)]
enum Role {
    #[orm(rename = "Member")]
    Admin,
    Member,
}

fn main() {}
