//! Macro misuse must fail to compile with an error at the offending span;
//! correct use in a downstream crate must compile.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/pass/*.rs");
}
