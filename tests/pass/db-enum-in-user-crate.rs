use orm_core::prelude::*;

#[derive(DbEnum, Debug, Clone, Copy)]
enum Role {
    Admin,
    Member,
}

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    role: Role,
    other: Option<Role>,
}

fn main() {
    let _ = User::filter(q!(role = Role::Admin, other = None, other = Some(Role::Member)));
}
