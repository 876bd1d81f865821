//! Macro misuse must fail to compile with an error at the offending span;
//! correct use in a downstream crate must compile.
//!
//! Each `tests/ui/*.rs` case makes several independent mistakes (the macros
//! report every mistake at once), so that the suite stays a few cases:
//! trybuild compiles each case as a crate of its own.

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}

// Correct use in a downstream crate: this test crate is one, so the cases
// of `tests/pass/` are its modules rather than trybuild `pass` cases. A
// single `pass` case makes trybuild build (not only check) every
// dependency of every case, in a target directory of its own, and the
// crate run.
#[path = "pass/db-enum-in-user-crate.rs"]
mod db_enum_in_user_crate;
