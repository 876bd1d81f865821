//! A `manage` binary with orm-core's commands and the admin's
//! `createsuperuser` ([`orm_admin::cli`]): the admin's own models are the
//! only ones linked into it. An application's `manage` binary links its
//! models and calls `orm_admin::cli::main()` the same way.

fn main() {
    orm_admin::cli::main()
}
