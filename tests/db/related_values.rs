//! `order_by` and `values(..)` across relations, and ordering by
//! expressions and annotations, against PostgreSQL.
//!
//! The expected rows are Django 5.2's for the same data on PostgreSQL:
//! its relations in `order_by` / `values` are LEFT OUTER JOINs on nullable
//! or multi-valued paths (QuerySet API docs, `order_by()` and `values()`:
//! "one row per related row"), and PostgreSQL sorts NULL last ascending,
//! first descending. Where we differ on purpose (ordering model rows across
//! a relation to many rows), the test says so.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::bookshelf::{shelf, titles, Book, Novelist};

/// `(name, value)` of each record as text (`None` for NULL).
fn pairs(
    rows: &[orm_core::query::Record],
    a: &str,
    b: &str,
) -> Vec<(Option<String>, Option<String>)> {
    rows.iter()
        .map(|r| {
            (
                r.get::<Option<String>>(a).expect("a text"),
                r.get::<Option<String>>(b).expect("a text"),
            )
        })
        .collect()
}

fn some(pairs: &[(Option<&str>, Option<&str>)]) -> Vec<(Option<String>, Option<String>)> {
    pairs
        .iter()
        .map(|(a, b)| (a.map(str::to_owned), b.map(str::to_owned)))
        .collect()
}

#[tokio::test]
async fn ordering_across_a_nullable_foreign_key_keeps_rows_without_one() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        shelf().await?;
        // Django: Book.objects.order_by("novelist__name", "title"): the
        // book without a novelist is kept, its NULL last ascending.
        let by_name = || Book::all().order_by(["novelist__name", "title"]);
        assert_eq!(
            titles(&by_name().await?),
            ["Python", "Rust", "Go", "Orphan"]
        );
        // Descending: NULL first.
        let books = Book::all().order_by(["-novelist__name", "title"]).await?;
        assert_eq!(titles(&books), ["Orphan", "Go", "Python", "Rust"]);
        // Ties on karma (Ada 50; Bob 5) broken by the title.
        let books = Book::all().order_by(["-novelist__karma", "title"]).await?;
        assert_eq!(titles(&books), ["Orphan", "Python", "Rust", "Go"]);
        // reverse() flips every term, the related one too.
        assert_eq!(
            titles(&by_name().reverse().await?),
            ["Orphan", "Go", "Rust", "Python"]
        );
        // first() and last() use (and flip) that ordering.
        assert_eq!(
            by_name().first().await?.map(|b| b.title),
            Some("Python".into())
        );
        assert_eq!(
            by_name().last().await?.map(|b| b.title),
            Some("Orphan".into())
        );
        // NULLs placed as asked.
        let books = Book::all()
            .order_by([F("novelist__name").asc().nulls_first(), "title".into()])
            .await?;
        assert_eq!(titles(&books), ["Orphan", "Python", "Rust", "Go"]);
        // A slice of the ordered rows; count and exists of it.
        let page = by_name().offset(1).limit(2);
        assert_eq!(titles(&page.clone().await?), ["Rust", "Go"]);
        assert_eq!(page.clone().count().await?, 2);
        assert!(page.exists().await?);
        assert_eq!(by_name().count().await?, 4);
        // A bare forward relation orders by its key column (NULL last):
        // Django would take Novelist's Meta.ordering; there is none.
        let books = Book::all().order_by(["novelist", "title"]).await?;
        assert_eq!(titles(&books), ["Python", "Rust", "Go", "Orphan"]);
        // get() drops the ordering, as Django.
        assert_eq!(by_name().get(q!(title = "Go")).await?.title, "Go");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn related_ordering_combines_with_filters_distinct_and_select_related() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        shelf().await?;
        // The filter across the many-to-many is an EXISTS: "Rust" (two
        // labels) comes back once, as Django's .distinct() would.
        let books = Book::filter(q!(labels__name__in = ["lang", "fun"]))
            .order_by(["-novelist__name", "-title"])
            .await?;
        assert_eq!(titles(&books), ["Rust", "Python"]);
        // DISTINCT with the ordering's column selected (one per book).
        let books = Book::all()
            .order_by(["novelist__name", "title"])
            .distinct()
            .await?;
        assert_eq!(titles(&books), ["Python", "Rust", "Go", "Orphan"]);
        assert_eq!(
            Book::all()
                .order_by(["novelist__name"])
                .distinct()
                .count()
                .await?,
            4
        );
        // select_related's join is the ordering's: one query, authors loaded.
        let before = db.query_count();
        let books = Book::all()
            .select_related(["novelist"])
            .order_by(["-novelist__karma", "title"])
            .await?;
        assert_eq!(db.query_count() - before, 1);
        assert_eq!(titles(&books), ["Orphan", "Python", "Rust", "Go"]);
        let names: Vec<Option<&str>> = books
            .iter()
            .map(|b| {
                b.novelist
                    .as_ref()
                    .and_then(|n| n.get())
                    .map(|n| n.name.as_str())
            })
            .collect();
        assert_eq!(names, [None, Some("Ada"), Some("Ada"), Some("Bob")]);
        // The reverse side of a one-to-one: Bob has no bio, Cy's has no
        // website: both NULL, last; the name breaks the tie.
        let novelists = Novelist::all().order_by(["bio__website", "name"]).await?;
        let names: Vec<&str> = novelists.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["Ada", "Bob", "Cy"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn values_across_relations_give_one_row_per_related_row() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        shelf().await?;
        // Django: Book.objects.values("title", "novelist__name"): keys as asked.
        let rows = Book::all()
            .values(["title", "novelist__name"])
            .order_by(["title"])
            .await?;
        assert_eq!(
            rows[0].names().collect::<Vec<_>>(),
            ["title", "novelist__name"]
        );
        assert_eq!(
            pairs(&rows, "title", "novelist__name"),
            some(&[
                (Some("Go"), Some("Bob")),
                (Some("Orphan"), None),
                (Some("Python"), Some("Ada")),
                (Some("Rust"), Some("Ada")),
            ])
        );
        // Many-to-many: one row per label, one with NULL for a book with
        // none (Django's LEFT OUTER JOIN); ordered by the shared join.
        let rows = Book::all()
            .values(["title", "labels__name"])
            .order_by(["title", "labels__name"])
            .await?;
        assert_eq!(
            pairs(&rows, "title", "labels__name"),
            some(&[
                (Some("Go"), None),
                (Some("Orphan"), None),
                (Some("Python"), Some("lang")),
                (Some("Rust"), Some("fun")),
                (Some("Rust"), Some("lang")),
            ])
        );
        // Reverse foreign key: one row per book, NULL for Cy (no books).
        let rows = Novelist::all()
            .values(["name", "books__title"])
            .order_by(["name", "books__title"])
            .await?;
        assert_eq!(
            pairs(&rows, "name", "books__title"),
            some(&[
                (Some("Ada"), Some("Python")),
                (Some("Ada"), Some("Rust")),
                (Some("Bob"), Some("Go")),
                (Some("Cy"), None),
            ])
        );
        // values_list across two relations: Bob has no bio, "Orphan" no novelist.
        let rows: Vec<(String, Option<String>)> = Book::all()
            .order_by(["title"])
            .values_list(("title", "novelist__bio__website"))
            .await?;
        assert_eq!(
            rows,
            [
                ("Go".into(), None),
                ("Orphan".into(), None),
                ("Python".into(), Some("ada.dev".into())),
                ("Rust".into(), Some("ada.dev".into())),
            ]
        );
        // Flat, across the many-to-many: NULLs last ascending.
        let names: Vec<Option<String>> = Book::all()
            .order_by(["labels__name"])
            .values_list_flat("labels__name")
            .await?;
        let names: Vec<Option<&str>> = names.iter().map(Option::as_deref).collect();
        assert_eq!(names, [Some("fun"), Some("lang"), Some("lang"), None, None]);
        // distinct() removes the repeats, as Django's.
        let names: Vec<Option<String>> = Book::all()
            .order_by(["-labels__name"])
            .distinct()
            .values_list_flat("labels__name")
            .await?;
        assert_eq!(names, [None, Some("lang".into()), Some("fun".into())]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn values_annotate_groups_by_a_related_column() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        shelf().await?;
        // Django: Book.objects.values("novelist__name").annotate(Count("id"))
        // .order_by("novelist__name"): Ada 2, Bob 1, and the NULL group 1.
        let rows = Book::all()
            .values("novelist__name")
            .annotate([Count("id")])
            .order_by(["novelist__name"])
            .await?;
        let groups: Vec<(Option<String>, i64)> = rows
            .iter()
            .map(|r| Ok((r.get("novelist__name")?, r.get("id__count")?)))
            .collect::<Result<_>>()?;
        assert_eq!(
            groups,
            [(Some("Ada".into()), 2), (Some("Bob".into()), 1), (None, 1)]
        );
        // Per label, across the many-to-many (Django groups the joined rows):
        // lang 2, fun 1, and the books without labels 2; by count, then the
        // label with NULLs first.
        let rows = Book::all()
            .values("labels__name")
            .annotate([Count("id")])
            .order_by([F("id__count").desc(), F("labels__name").asc().nulls_first()])
            .await?;
        let groups: Vec<(Option<String>, i64)> = rows
            .iter()
            .map(|r| Ok((r.get("labels__name")?, r.get("id__count")?)))
            .collect::<Result<_>>()?;
        assert_eq!(
            groups,
            [(None, 2), (Some("lang".into()), 2), (Some("fun".into()), 1)]
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn ordering_by_expressions_and_annotations() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        shelf().await?;
        // likes + views: Python 305, Rust 110, Orphan 50, Go 2.
        let books = Book::all()
            .order_by([(F("likes") + F("views")).desc()])
            .await?;
        assert_eq!(titles(&books), ["Python", "Rust", "Orphan", "Go"]);
        // With a bound value, reversed.
        let books = Book::all()
            .order_by([(F("likes") * 100 - F("views")).desc()])
            .reverse()
            .await?;
        // likes*100 - views: Rust 900, Python 200, Go 99, Orphan -50.
        assert_eq!(titles(&books), ["Orphan", "Go", "Python", "Rust"]);
        // By an annotation's name, NULLs placed.
        let rows = Book::all()
            .annotate_expr("score", F("likes") + F("views"))
            .order_by([F("score").desc().nulls_last()])
            .await?;
        let seen: Vec<(&str, i64)> = rows
            .iter()
            .map(|r| Ok((r.title.as_str(), r.get::<i64>("score")?)))
            .collect::<Result<_>>()?;
        assert_eq!(
            seen,
            [("Python", 305), ("Rust", 110), ("Orphan", 50), ("Go", 2)]
        );
        // Across a relation to many rows, model rows are ordered by an
        // aggregate (we refuse the join, see below): Min over the labels,
        // NULL for books without, last.
        let rows = Book::all()
            .annotate([Min("labels__name")])
            .order_by(["labels__name__min", "title"])
            .await?;
        let seen: Vec<&str> = rows.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(seen, ["Rust", "Python", "Go", "Orphan"]);
        // An annotate query ordered across a foreign key, NULLs first.
        let rows = Book::all()
            .annotate([Count("labels")])
            .order_by([F("novelist__name").desc().nulls_last(), "title".into()])
            .await?;
        let seen: Vec<(&str, i64)> = rows
            .iter()
            .map(|r| Ok((r.title.as_str(), r.get::<i64>("labels__count")?)))
            .collect::<Result<_>>()?;
        assert_eq!(seen, [("Go", 0), ("Python", 1), ("Rust", 2), ("Orphan", 0)]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bad_names_and_many_valued_orderings_are_clear_errors() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        shelf().await?;
        // differ: Django would join and return "Rust" twice; we refuse and
        // point at the aggregate.
        match Book::all().order_by(["labels__name"]).await {
            Err(Error::InvalidQuery(e)) => {
                assert!(e.to_string().contains("Min(\"labels__name\")"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        match Book::all().order_by(["novelist__nmae"]).await {
            Err(Error::InvalidLookup(e)) => {
                assert_eq!(e.model, "Novelist");
                assert_eq!(e.name, "nmae");
                assert!(e.valid.contains(&"karma".to_owned()), "{e}");
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            "novelist__",
            "__",
            "novelist__name__x",
            "\"; DROP TABLE rv_books; --",
        ] {
            assert!(
                matches!(
                    Book::all().values([bad]).await,
                    Err(Error::InvalidLookup(_))
                ),
                "{bad:?}"
            );
            assert!(
                matches!(
                    Book::all().values_list_flat::<Option<String>>(bad).await,
                    Err(Error::InvalidLookup(_))
                ),
                "{bad:?}"
            );
        }
        // Nothing was dropped.
        assert_eq!(Book::all().count().await?, 4);
        Ok(())
    })
    .await
}
