//! The application's `manage` binary, as Django's `manage.py`:
//! `cargo run --bin manage -- makemigrations --name initial`.

// The models live in this package's library crate, which is another crate:
// without a reference to it, it is not linked into this binary and `manage`
// sees no models.
use orm_test_app as _;

fn main() {
    orm_core::cli::main()
}
