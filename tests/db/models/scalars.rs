//! Models with scalar PostgreSQL types (`numeric`, `inet`, `citext`), for
//! `tests/db/pg_scalars.rs`.

use std::net::IpAddr;

use orm_core::prelude::*;
use orm_core::Decimal;

/// A priced item: a `numeric(10,2)` price (Django's
/// `DecimalField(max_digits=10, decimal_places=2)`), an unconstrained
/// nullable `numeric`, and a nullable `inet`.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "sc_items")]
pub(crate) struct Item {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    #[orm(max_digits = 10, decimal_places = 2)]
    pub price: Decimal,
    pub exact: Option<Decimal>,
    pub ip: Option<IpAddr>,
}

/// An account: a unique `citext` e-mail (Django's `CIEmailField`), a
/// nullable `citext` with a `max_length`, and a required `inet`.
#[derive(Model, Debug, Clone, PartialEq)]
#[orm(table = "sc_accounts")]
pub(crate) struct Account {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(citext, unique)]
    pub email: String,
    #[orm(citext, max_length = 8)]
    pub nick: Option<String>,
    pub seen_from: IpAddr,
}

/// `n` as a decimal (`"12.50"` keeps its two places).
pub(crate) fn dec(n: &str) -> Decimal {
    n.parse().expect("a decimal")
}

/// The items the tests query.
pub(crate) async fn items() -> Result<Vec<Item>> {
    let rows = [
        ("cheap", "0.99", None, Some("10.0.0.1")),
        (
            "mid",
            "12.50",
            Some("1234567890.123456789012345678"),
            Some("::1"),
        ),
        (
            "dear",
            "12345678.99",
            Some("-0.0000000000000000000000000001"),
            None,
        ),
        ("free", "0.00", Some("0"), Some("192.168.1.20")),
    ];
    let mut out = Vec::new();
    for (name, price, exact, ip) in rows {
        out.push(
            Item::create(Item {
                name: name.to_owned(),
                price: dec(price),
                exact: exact.map(dec),
                ip: ip.map(|ip| ip.parse().expect("an address")),
                ..Default::default()
            })
            .await?,
        );
    }
    Ok(out)
}
