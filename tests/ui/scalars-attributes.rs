// Mistaken decimal attributes: one of `max_digits`/`decimal_places`
// without the other (Django requires both), more places than digits, and
// a precision PostgreSQL refuses; `citext` is a flag.

use orm_core::prelude::*;
use orm_core::Decimal;

#[derive(Model)]
struct Item {
    #[orm(primary_key)]
    id: i64,
    #[orm(max_digits = 10)]
    a: Decimal,
    #[orm(decimal_places = 2)]
    b: Decimal,
    #[orm(max_digits = 2, decimal_places = 3)]
    c: Decimal,
    #[orm(max_digits = 0, decimal_places = 0)]
    d: Decimal,
    #[orm(citext = true)]
    e: String,
}

fn main() {}
