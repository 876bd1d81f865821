//! `FilterSet`: filters, ordering and search from a raw query string, as
//! django-filter and Django REST framework's `OrderingFilter` /
//! `SearchFilter` read them, against PostgreSQL.

use orm_core::prelude::*;
use orm_core::query::FilterSet;

use crate::common::setup;
use crate::models::blog::{blog, tagged, Post};

fn posts() -> FilterSet<Post> {
    FilterSet::new()
        .field("title", &["exact", "icontains"])
        .field("published", &["exact"])
        .field("author__name", &["exact", "in"])
        .field("tags__name", &["exact", "in"])
        .field("id", &["gte", "lte", "in"])
        .ordering_fields(&["title", "id", "author__name"])
        .search_fields(&["title", "author__name"])
}

async fn titles(query: &str) -> Result<Vec<String>> {
    let qs = posts().apply(Post::all().order_by(["id"]), query)?;
    Ok(qs.await?.into_iter().map(|p| p.title).collect())
}

fn errors(err: Error) -> Vec<(String, String)> {
    match err {
        Error::InvalidFilters(e) => e.errors,
        other => panic!("not a filter error: {other}"),
    }
}

#[tokio::test]
async fn a_query_string_filters_orders_and_searches() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        // Gemini: "Rust async" (published, tags rust + python), "Draft";
        // Ada: "Rust basics" (tag rust), "Python" (published, tag python).
        blog().await;
        tagged().await?;
        assert_eq!(
            titles("title__icontains=rust").await?,
            ["Rust async", "Rust basics"]
        );
        assert_eq!(
            titles("title__icontains=rust&published=true").await?,
            ["Rust async"]
        );
        // URL-decoded: %20 and + are spaces.
        assert_eq!(titles("title=Rust%20async").await?, ["Rust async"]);
        assert_eq!(titles("title=Rust+basics").await?, ["Rust basics"]);
        // Across relations, and `in` lists.
        assert_eq!(titles("author__name=Ada").await?, ["Rust basics", "Python"]);
        assert_eq!(
            titles("tags__name__in=python,nope").await?,
            ["Rust async", "Python"]
        );
        // A repeated `__in` key adds up; any other key: the last wins.
        assert_eq!(
            titles("tags__name__in=rust&tags__name__in=python").await?,
            ["Rust async", "Rust basics", "Python"]
        );
        assert_eq!(titles("title=Draft&title=Python").await?, ["Python"]);
        // Ordering replaces the query's, `-` descending, across a relation.
        assert_eq!(
            titles("ordering=-title").await?,
            ["Rust basics", "Rust async", "Python", "Draft"]
        );
        assert_eq!(
            titles("ordering=author__name,-id").await?,
            ["Python", "Rust basics", "Draft", "Rust async"]
        );
        // Search: every word in at least one search field (DRF).
        assert_eq!(titles("search=rust").await?, ["Rust async", "Rust basics"]);
        assert_eq!(titles("search=rust+ada").await?, ["Rust basics"]);
        assert_eq!(titles("search=gem,draft").await?, ["Draft"]);
        // `%` and `_` in a search word are literal.
        assert!(titles("search=%25").await?.is_empty());
        // Pagination parameters are left to the paginator.
        assert_eq!(
            titles("page=2&cursor=x&published=false").await?,
            ["Draft", "Rust basics"]
        );
        assert_eq!(titles("").await?.len(), 4);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn every_bad_parameter_is_reported_at_once_and_nothing_is_sent() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        let before = db.query_count();
        let err = titles("title__regex=x&id__gte=abc&nope=1&ordering=secret&title=ok")
            .await
            .unwrap_err();
        assert_eq!(db.query_count(), before, "nothing sent");
        let errs = errors(err);
        let params: Vec<&str> = errs.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(params, ["title__regex", "id__gte", "nope", "ordering"]);
        assert!(
            errs[0].1.contains("allowed: title, title__icontains"),
            "{}",
            errs[0].1
        );
        assert!(errs[1].1.contains("abc"), "{}", errs[1].1);
        assert!(
            errs[3].1.contains("allowed: title, id, author__name"),
            "{}",
            errs[3].1
        );
        // Unknown parameters skipped when asked.
        let lenient = posts()
            .ignore_unknown()
            .apply(Post::all(), "nope=1&title=Draft")?;
        assert_eq!(lenient.count().await?, 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn hostile_query_strings_are_bounded_errors() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        let check = |query: String, needle: &'static str| async move {
            let err = titles(&query).await.unwrap_err();
            let text = err.to_string();
            assert!(text.contains(needle), "{needle}: {text:.200}");
            assert!(text.len() < 2_000, "{}", text.len());
        };
        check(
            format!("title={}", "x".repeat(10_000)),
            "longer than 8192 bytes",
        )
        .await;
        check("id__in=1&".repeat(100), "more than 64 parameters").await;
        check(format!("id__in={}", vec!["1"; 1_001].join(",")), "1000").await;
        check("title=a%00b".into(), "NUL").await;
        check("title=%zz".into(), "not valid URL-encoded UTF-8").await;
        check("title=%ff%fe".into(), "not valid URL-encoded UTF-8").await;
        check(format!("search={}", "a ".repeat(9)), "at most 8 words").await;
        check(format!("{}=1", "k".repeat(5_000)), "not a filter").await;
        // Quotes and SQL in values are values.
        assert!(titles("title='; DROP TABLE rel_posts; --")
            .await?
            .is_empty());
        assert!(titles("search=%27%3B+DROP").await?.is_empty());
        assert_eq!(Post::all().count().await?, 4);
        Ok(())
    })
    .await
}
