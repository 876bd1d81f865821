//! Scalar PostgreSQL types against a real server: `numeric` (Django's
//! `DecimalField`), `inet` (`GenericIPAddressField`) and `citext`
//! (`CICharField`/`CIEmailField`, the `citext` extension).
//!
//! Expected rows follow PostgreSQL's own semantics for these types
//! (`numeric` compares by value, `inet` orders IPv4 before IPv6, `citext`
//! compares case-insensitively), which is what Django's lookups on them
//! return; validation messages are Django's `DecimalValidator`'s.

use std::net::IpAddr;

use orm_core::migrate::MakeOptions;
use orm_core::prelude::*;
use orm_core::{Decimal, Value};

use crate::common::{folder, setup};
use crate::migration_support::{empty_db, generated, introspect, migrator, query, written};
use crate::models::scalars::{dec, items, Account, Item};

/// The names of the matching items, in id order.
async fn names(q: impl IntoQ<Item>) -> Result<Vec<String>> {
    Ok(Item::filter(q)
        .order_by(["id"])
        .await?
        .into_iter()
        .map(|i| i.name)
        .collect())
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("an address")
}

/// The validation messages of `err`, by field.
fn invalid(err: Error) -> Vec<(String, String)> {
    match err {
        Error::Validation(e) => e
            .errors()
            .map(|e| (e.field.to_owned(), e.message))
            .collect(),
        other => panic!("not a validation error: {other}"),
    }
}

#[tokio::test]
async fn decimals_round_trip_exactly_with_28_digits_and_nulls() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let made = items().await?;
        let read = Item::all().order_by(["id"]).await?;
        assert_eq!(read, made);
        // 28 significant digits, rust_decimal's most, and the smallest
        // negative it holds, come back digit for digit.
        assert_eq!(read[1].exact, Some(dec("1234567890.123456789012345678")));
        assert_eq!(
            read[2].exact.unwrap().to_string(),
            "-0.0000000000000000000000000001"
        );
        assert_eq!(read[0].exact, None);
        // numeric(10,2) keeps the scale: 12.50 reads back as 12.50.
        assert_eq!(read[1].price.to_string(), "12.50");
        // Saved again, updated, bulk-created.
        let mut mid = read[1].clone();
        mid.price = dec("13.75");
        mid.exact = None;
        mid.save().await?;
        assert_eq!(Item::get(q!(id = mid.id)).await?, mid);
        let n = Item::filter(q!(name = "cheap"))
            .update(q!(price = dec("1.01"), exact = Some(Decimal::MAX)))
            .await?;
        assert_eq!(n, 1);
        let cheap = Item::get(q!(name = "cheap")).await?;
        assert_eq!(
            (cheap.price, cheap.exact),
            (dec("1.01"), Some(Decimal::MAX))
        );
        let bulk = Item::bulk_create(vec![
            Item {
                name: "b1".into(),
                price: dec("-99999999.99"),
                exact: Some(dec("0.5")),
                ..Default::default()
            },
            Item {
                name: "b2".into(),
                price: dec("7"),
                ..Default::default()
            },
        ])
        .await?;
        let back = Item::filter(q!(name__in = ["b1", "b2"]))
            .order_by(["id"])
            .await?;
        assert_eq!(back, bulk);
        // values(): a numeric column reads as a Value::Decimal.
        let rows = Item::filter(q!(name = "b1"))
            .values(["price", "exact"])
            .await?;
        assert_eq!(rows[0].get::<Decimal>("price")?, dec("-99999999.99"));
        assert_eq!(rows[0].get::<Option<Decimal>>("exact")?, Some(dec("0.5")));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn decimal_lookups_aggregates_and_expressions() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        items().await?;
        // By value: 12.5 equals the stored 12.50.
        assert_eq!(names(q!(price = dec("12.5"))).await?, ["mid"]);
        assert_eq!(names(q!(price__gt = dec("1"))).await?, ["mid", "dear"]);
        assert_eq!(
            names(q!(price__lte = dec("0.99"))).await?,
            ["cheap", "free"]
        );
        assert_eq!(
            names(q!(price__range = (dec("0.5"), dec("100")))).await?,
            ["cheap", "mid"]
        );
        assert_eq!(names(q!(exact__isnull = true)).await?, ["cheap"]);
        let f = Item::fields();
        assert_eq!(names(f.exact.lt(dec("0"))).await?, ["dear"]);
        // The runtime form parses the decimal's text.
        assert_eq!(
            names(Lookup::parse::<Item>("price__gte", "12.50")?).await?,
            ["mid", "dear"]
        );
        assert_eq!(
            names(Lookup::parse::<Item>("price__in", "0.99,0")?).await?,
            ["cheap", "free"]
        );
        let err = Lookup::parse::<Item>("price", "12,5.x").unwrap_err();
        assert!(err.to_string().contains("is not a decimal number"), "{err}");
        // Django: Sum and Avg of a DecimalField are Decimals
        // (0.99 + 12.50 + 12345678.99 + 0.00 = 12345692.48, / 4 = 3086423.12).
        let stats = Item::all()
            .aggregate([Sum("price"), Avg("price"), Max("price"), Sum("exact")])
            .await?;
        assert_eq!(
            stats.get::<Option<Decimal>>("price__sum")?,
            Some(dec("12345692.48"))
        );
        assert_eq!(
            stats
                .get::<Option<Decimal>>("price__avg")?
                .map(|d| d.round_dp(2)),
            Some(dec("3086423.12"))
        );
        assert_eq!(
            stats.get::<Option<Decimal>>("price__max")?,
            Some(dec("12345678.99"))
        );
        // Sum over no rows is NULL; with a default, the default.
        let none = Item::filter(q!(name = "nope"))
            .aggregate([Sum("price").default(0)])
            .await?;
        assert_eq!(none.get::<Decimal>("price__sum")?, dec("0"));
        // Arithmetic: numeric with an integer is numeric.
        // 12345678.99 > -0.0…01 * 2; NULL compares as nothing; 0.00 > 0 fails.
        assert_eq!(names(q!(price__gt = F("exact") * 2)).await?, ["dear"]);
        Item::filter(q!(name = "mid"))
            .update(q!(price = F("price") * 2 + 1))
            .await?;
        assert_eq!(Item::get(q!(name = "mid")).await?.price, dec("26.00"));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn decimals_that_do_not_fit_are_refused_before_the_server() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let item = |price: &str| Item {
            name: "x".into(),
            price: dec(price),
            ..Default::default()
        };
        // Django's DecimalValidator, max_digits=10, decimal_places=2.
        let cases = [
            (
                "123456789.01",
                "Ensure that there are no more than 10 digits in total.",
            ),
            (
                "1.234",
                "Ensure that there are no more than 2 decimal places.",
            ),
            // Trailing zeros count, as in Django: 1.500 has 3 places.
            (
                "1.500",
                "Ensure that there are no more than 2 decimal places.",
            ),
            (
                "123456789.1",
                "Ensure that there are no more than 8 digits before the decimal point.",
            ),
        ];
        for (price, message) in cases {
            let err = Item::create(item(price)).await.unwrap_err();
            assert_eq!(
                invalid(err),
                [("price".to_owned(), message.to_owned())],
                "{price}"
            );
        }
        let err = Item::bulk_create(vec![item("1"), item("0.001")])
            .await
            .unwrap_err();
        assert_eq!(invalid(err).len(), 1);
        // Nothing reached the table.
        assert_eq!(Item::all().count().await?, 0);
        // The largest that fits.
        Item::create(item("-99999999.99")).await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn inet_round_trips_and_lookups() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let made = items().await?;
        assert_eq!(Item::all().order_by(["id"]).await?, made);
        let full_v6 = ip("2001:db8:85a3::8a2e:370:7334");
        let acc = Account::create(Account {
            id: 0,
            email: "a@x.org".into(),
            nick: None,
            seen_from: full_v6,
        })
        .await?;
        assert_eq!(Account::get(q!(id = acc.id)).await?.seen_from, full_v6);
        assert_eq!(names(q!(ip = ip("10.0.0.1"))).await?, ["cheap"]);
        assert_eq!(names(q!(ip = ip("::1"))).await?, ["mid"]);
        assert_eq!(
            names(q!(ip__in = [ip("::1"), ip("192.168.1.20")])).await?,
            ["mid", "free"]
        );
        assert_eq!(names(q!(ip__isnull = true)).await?, ["dear"]);
        // PostgreSQL orders IPv4 before IPv6.
        assert_eq!(names(q!(ip__gt = ip("10.0.0.1"))).await?, ["mid", "free"]);
        assert_eq!(names(q!(ip__lt = ip("::"))).await?, ["cheap", "free"]);
        // Runtime filters parse the address text.
        assert_eq!(
            names(Lookup::parse::<Item>("ip", "10.0.0.1")?).await?,
            ["cheap"]
        );
        assert_eq!(
            names(Lookup::parse::<Item>("ip__in", "::1,10.0.0.1")?).await?,
            ["cheap", "mid"]
        );
        let err = Lookup::parse::<Item>("ip", "10.0.0.300").unwrap_err();
        assert!(
            err.to_string()
                .contains("`10.0.0.300` is not an IPv4 or IPv6 address"),
            "{err}"
        );
        // A FilterSet over the new types, from a query string.
        let filters = orm_core::query::FilterSet::<Item>::new()
            .field("ip", &["exact", "in"])
            .field("price", &["gte", "lt"]);
        let found = filters
            .apply(
                Item::all().order_by(["id"]),
                "ip__in=::1,192.168.1.20&price__gte=1",
            )?
            .await?;
        assert_eq!(
            found.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["mid"]
        );
        let err = filters
            .apply(Item::all(), "ip=not-an-ip&price__lt=x")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`not-an-ip` is not an IPv4 or IPv6 address"),
            "{err}"
        );
        assert!(err.contains("`x` is not a decimal number"), "{err}");
        // values() and update.
        Item::filter(q!(name = "dear"))
            .update(q!(ip = Some(ip("fe80::1"))))
            .await?;
        let rows = Item::filter(q!(name = "dear")).values(["ip"]).await?;
        assert_eq!(rows[0].get::<Option<IpAddr>>("ip")?, Some(ip("fe80::1")));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn citext_compares_case_insensitively_and_unique_rejects_case_variants() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let acc = |email: &str, nick: Option<&str>| Account {
            id: 0,
            email: email.into(),
            nick: nick.map(Into::into),
            seen_from: ip("127.0.0.1"),
        };
        let ada = Account::create(acc("Ada@Example.com", Some("Ada"))).await?;
        Account::create(acc("bob@example.com", None)).await?;
        // The case is kept as written.
        assert_eq!(
            Account::get(q!(id = ada.id)).await?.email,
            "Ada@Example.com"
        );
        // `exact` is case-insensitive by the type (citext's `=`).
        assert_eq!(
            Account::get(q!(email = "ADA@EXAMPLE.COM")).await?.id,
            ada.id
        );
        assert_eq!(Account::filter(q!(nick = "aDA")).count().await?, 1);
        assert_eq!(
            Account::filter(q!(email__in = ["BOB@example.COM", "x"]))
                .count()
                .await?,
            1
        );
        assert_eq!(
            Account::filter(q!(email__icontains = "EXAMPLE"))
                .count()
                .await?,
            2
        );
        assert_eq!(
            Account::filter(Lookup::parse::<Account>("email", "ada@example.COM")?)
                .count()
                .await?,
            1
        );
        // Unique on citext: 'ada@…' collides with 'Ada@…'.
        let err = Account::create(acc("ada@example.com", None))
            .await
            .unwrap_err();
        match &err {
            Error::Integrity(e) => {
                assert_eq!(e.kind(), IntegrityKind::Unique, "{err}");
                assert_eq!(e.constraint(), Some("sc_accounts_email_key"), "{err}");
            }
            other => panic!("not an integrity error: {other}"),
        }
        // max_length is checked before the write (citext has no length).
        let err = Account::create(acc("c@x.org", Some("much too long")))
            .await
            .unwrap_err();
        assert_eq!(
            invalid(err),
            [(
                "nick".to_owned(),
                "at most 8 characters allowed (max_length), it has 13".to_owned()
            )]
        );
        // A NUL is refused, naming the field.
        let err = Account::create(acc("nul\0@x.org", None)).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidValue(e) if e.field == "email"),
            "{err}"
        );
        Ok(())
    })
    .await
}

/// Versions of one table for the migration tests.
mod versions {
    /// Version 1: numeric(10,2), text.
    pub(super) mod v1 {
        use orm_core::prelude::*;

        /// A price.
        #[derive(Model, Debug, Clone)]
        #[orm(table = "sc_mig_prices")]
        pub(crate) struct Price {
            /// Key.
            #[orm(primary_key)]
            pub id: i64,
            /// numeric(10,2).
            #[orm(max_digits = 10, decimal_places = 2)]
            pub amount: orm_core::Decimal,
            /// text, then citext.
            pub code: String,
            /// inet.
            pub ip: Option<std::net::IpAddr>,
        }
    }
    /// Version 2: numeric(12,4), citext.
    pub(super) mod v2 {
        use orm_core::prelude::*;

        /// A price.
        #[derive(Model, Debug, Clone)]
        #[orm(table = "sc_mig_prices")]
        pub(crate) struct Price {
            /// Key.
            #[orm(primary_key)]
            pub id: i64,
            /// numeric(12,4).
            #[orm(max_digits = 12, decimal_places = 4)]
            pub amount: orm_core::Decimal,
            /// citext now.
            #[orm(citext)]
            pub code: String,
            /// inet.
            pub ip: Option<std::net::IpAddr>,
        }
    }
}

#[tokio::test]
async fn migrations_create_numeric_inet_and_the_citext_extension() -> Result<()> {
    use versions::{v1, v2};
    let dir = folder();
    let db = empty_db().await;
    let m1 = migrator(&dir, &db, &[v1::Price::META]);
    let first =
        std::fs::read_to_string(written(m1.make(&MakeOptions::default())?)).expect("the file");
    assert!(
        first.contains("\"amount\" numeric(10,2) NOT NULL"),
        "{first}"
    );
    assert!(first.contains("\"ip\" inet NULL"), "{first}");
    assert!(!first.contains("EXTENSION"), "{first}");
    m1.migrate(None, false).await?;
    orm_core::scope(&db, async {
        v1::Price::create(v1::Price {
            id: 0,
            amount: dec("12.34"),
            code: "EUR".into(),
            ip: None,
        })
        .await
    })
    .await?;
    // Changing the precision is a type change; citext needs its extension,
    // created before the column changes (Django's CITextExtension).
    let m2 = migrator(&dir, &db, &[v2::Price::META]);
    let second =
        std::fs::read_to_string(written(m2.make(&MakeOptions::default())?)).expect("the file");
    let ext = second
        .find("CREATE EXTENSION IF NOT EXISTS \"citext\"")
        .expect(&second);
    let amount = second
        .find("ALTER COLUMN \"amount\" TYPE numeric(12,4)")
        .expect(&second);
    let code = second
        .find("ALTER COLUMN \"code\" TYPE citext")
        .expect(&second);
    assert!(ext < amount && ext < code, "{second}");
    m2.migrate(None, false).await?;
    assert_eq!(introspect(&db).await?, generated(&[v2::Price::META]).await?);
    let found = orm_core::scope(&db, async { v2::Price::filter(q!(code = "eur")).await }).await?;
    assert_eq!(found[0].amount, dec("12.34"));
    assert_eq!(
        query::<(String,)>(
            &db,
            "SELECT extname::text FROM pg_extension WHERE extname = 'citext'"
        )
        .await?
        .len(),
        1
    );
    // Reverting drops the extension again, as Django's.
    m2.migrate(Some("0001"), true).await?;
    let left = query::<(String,)>(
        &db,
        "SELECT extname::text FROM pg_extension WHERE extname = 'citext'",
    )
    .await?;
    assert!(left.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn values_of_the_new_types_render_for_logs() {
    assert_eq!(Value::from(dec("1.50")).to_string(), "1.50");
    assert_eq!(Value::from(ip("::1")).to_string(), "'::1'");
}
