//! A `DbEnum` in the crate that uses it is a field type and a `q!` value,
//! nullable too (its `Arg` impls must not break the orphan rule there).

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

#[test]
fn db_enum_in_user_crate() {
    let _ = User::filter(q!(
        role = Role::Admin,
        other = None,
        other = Some(Role::Member)
    ));
}
