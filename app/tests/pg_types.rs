//! PostgreSQL's own types and the new lookups, called from this crate on
//! the library crate's models (`orm_test_app::Listing`, `User`, `Post`):
//! JSON key paths, ranges, decimals, addresses, citext, full-text search,
//! and chained and text transforms.

use std::net::IpAddr;

use orm_core::prelude::*;
use orm_core::search::SearchQuery;
use orm_core::{Db, Decimal, Range};
use orm_test_app::{Listing, Post, User};
use serde_json::json;

async fn setup() -> Db {
    let db = orm_core::testing::test_db().await.expect(
        "a throwaway PostgreSQL database (install PostgreSQL's server or set DATABASE_URL)",
    );
    orm_core::generate_schemas_on(&db)
        .await
        .expect("generate_schemas");
    db
}

/// Two listings: a cabin (JSON owner Ada, nights [1,8), 120.50, IPv4) and
/// a flat (owner Bob, nights [5,10), 80.00, IPv6, no pets key).
async fn listings() -> Result<(Listing, Listing)> {
    let cabin = Listing::create(Listing {
        title: "Quiet cabin".into(),
        notes: "Cheeses and wines from the valley".into(),
        contact: "Ada@Example.com".into(),
        attrs: json!({"owner": {"name": "Ada"}, "rooms": 3, "pets": true, "tags": ["wood", "lake"]}),
        nights: Range::new(1, 8),
        price: Decimal::new(12050, 2),
        posted_from: Some("10.0.0.7".parse::<IpAddr>().unwrap()),
        ..Default::default()
    })
    .await?;
    let flat = Listing::create(Listing {
        title: "City flat".into(),
        notes: "Near the station".into(),
        contact: "bob@example.com".into(),
        attrs: json!({"owner": {"name": "Bob"}, "rooms": "3"}),
        nights: Range::new(5, 10),
        price: Decimal::new(8000, 2),
        posted_from: Some("::1".parse::<IpAddr>().unwrap()),
        ..Default::default()
    })
    .await?;
    Ok((cabin, flat))
}

async fn titles(q: impl IntoQ<Listing>) -> Result<Vec<String>> {
    let mut t: Vec<String> = Listing::filter(q)
        .await?
        .into_iter()
        .map(|l| l.title)
        .collect();
    t.sort();
    Ok(t)
}

#[tokio::test]
async fn json_ranges_decimals_addresses_and_citext_from_another_crate() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (cabin, _) = listings().await?;
        // Values read back as written (the range as the server keeps it).
        let back = Listing::get(q!(id = cabin.id)).await?;
        assert_eq!(back, cabin);
        // JSON: a path, a number that is not a string ("3" is text in the
        // flat), a key that is missing, containment (Django's rules).
        assert_eq!(
            titles(q!(attrs__owner__name__icontains = "ad")).await?,
            ["Quiet cabin"]
        );
        assert_eq!(titles(q!(attrs__rooms = 3)).await?, ["Quiet cabin"]);
        assert_eq!(titles(q!(attrs__pets__isnull = true)).await?, ["City flat"]);
        assert_eq!(
            titles(q!(attrs__tags__contains = json!(["lake"]))).await?,
            ["Quiet cabin"]
        );
        assert_eq!(
            titles(q!(attrs__has_keys = ["owner", "rooms"]))
                .await?
                .len(),
            2
        );
        // Ranges: PostgreSQL's operators.
        assert_eq!(titles(q!(nights__contains = 6)).await?.len(), 2);
        assert_eq!(
            titles(q!(nights__fully_lt = Range::new(9, 20))).await?,
            ["Quiet cabin"]
        );
        assert_eq!(
            titles(q!(nights__startswith__gte = 5)).await?,
            ["City flat"]
        );
        // Decimals compare exactly; citext ignores case; inet orders.
        assert_eq!(
            titles(q!(price__gt = Decimal::new(8000, 2))).await?,
            ["Quiet cabin"]
        );
        assert_eq!(
            titles(q!(contact = "ada@example.COM")).await?,
            ["Quiet cabin"]
        );
        let err = Listing::create(Listing {
            title: "Copy".into(),
            contact: "BOB@EXAMPLE.COM".into(),
            price: Decimal::new(1, 0),
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert_eq!(err.constraint(), Some("app_listings_contact_key"), "{err}");
        let ten: IpAddr = "10.0.0.0".parse().unwrap();
        assert_eq!(
            titles(q!(posted_from__gt = ten)).await?.len(),
            2,
            "IPv6 sorts after IPv4"
        );
        // A price with more places than declared is refused before the server.
        let err = Listing::create(Listing {
            title: "Odd".into(),
            contact: "odd@example.com".into(),
            price: Decimal::new(1005, 3),
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("decimal places"), "{err}");
        // The runtime form, as from a query string.
        let q = Lookup::parse::<Listing>("attrs__owner__name", "Bob")?;
        assert_eq!(titles(q).await?, ["City flat"]);
        let q = Lookup::parse::<Listing>("nights__overlap", "[8,9)")?;
        assert_eq!(titles(q).await?, ["City flat"]);
        // Full-text search with the english configuration the GIN index
        // uses: "cheese" finds "Cheeses".
        let q = q!(notes__search = SearchQuery("cheese").config("english"));
        assert_eq!(titles(q).await?, ["Quiet cabin"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn chained_and_text_transforms_from_another_crate() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let ada = User::create(User {
            name: "Ada".into(),
            ..Default::default()
        })
        .await?;
        Post::create(Post {
            author: ForeignKey::to(&ada)?,
            title: "  Rust Async  ".into(),
            ..Default::default()
        })
        .await?;
        let this_year = chrono::Utc::now().date_naive().format("%Y").to_string();
        let year: i32 = this_year.parse().unwrap();
        // `created__date__year` (the date in UTC, then its year).
        assert_eq!(
            User::filter(q!(created_at__date__year = year))
                .count()
                .await?,
            1
        );
        assert_eq!(User::filter(q!(name__lower = "ada")).count().await?, 1);
        // Across the relation, then a chain of text transforms.
        let found = Post::filter(q!(
            author__name__upper__startswith = "AD",
            title__trim__lower__endswith = "async"
        ))
        .count()
        .await?;
        assert_eq!(found, 1);
        let q = Lookup::parse::<Post>("title__trim__length", "10")?;
        assert_eq!(Post::filter(q).count().await?, 1);
        Ok(())
    })
    .await
}
