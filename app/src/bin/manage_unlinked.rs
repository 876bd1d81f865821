//! A `manage` binary that forgets to link the library crate holding the
//! models: every command that compares models must fail and say how to
//! link them (checked by `tests/manage.rs`).

fn main() {
    orm_core::cli::main()
}
