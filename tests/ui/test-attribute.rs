// Misuse of #[orm_core::test]: each mistake is one error, at its token.
// (Type errors in a test's signature or body, such as `db: String`, are the
// compiler's, at the user's tokens; trybuild cannot show them: it builds
// without `--test`, where `#[test]` functions are left out.)

use orm_core::Db;

#[orm_core::test]
fn not_async() {}

#[orm_core::test]
async fn two_arguments(db: Db, other: Db) {}

#[orm_core::test]
async fn generic<T>() {}

#[orm_core::test]
#[test]
async fn twice() {}

#[orm_core::test(migration = "migrations")]
async fn unknown_option() {}

#[orm_core::test(migrations = "")]
async fn empty_folder() {}

#[orm_core::test]
struct NotAFunction;

// The struct is kept: using it raises no further error.
fn uses_it() -> NotAFunction {
    NotAFunction
}

fn main() {
    let _ = uses_it();
}
