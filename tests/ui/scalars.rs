// Scalar field types misused: `max_digits`/`decimal_places` on a field that
// is not a Decimal and `citext` on one that is not text are reported at the
// attribute; a decimal field compared with a float, an inet field with a
// string, and a text lookup on an inet field do not compile.

use orm_core::prelude::*;
use orm_core::Decimal;

#[derive(Model)]
struct Item {
    #[orm(primary_key)]
    id: i64,
    #[orm(max_digits = 10, decimal_places = 2)]
    count: i32,
    #[orm(citext)]
    code: i64,
    price: Decimal,
    ip: std::net::IpAddr,
}

fn main() {
    let _ = Item::filter(q!(price__gt = 1.5));
    let _ = Item::filter(q!(ip = "10.0.0.1"));
    let _ = Item::filter(q!(ip__icontains = "10"));
}
