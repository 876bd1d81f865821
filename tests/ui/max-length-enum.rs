use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
    #[orm(max_length = 10)]
    role: Role,
}
#[derive(DbEnum, Debug, Clone, Copy)]
enum Role { Admin, Member
}

fn main() {}
