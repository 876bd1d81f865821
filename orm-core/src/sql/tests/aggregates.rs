//! The SQL of Django's aggregates: `filter=` (`FILTER (WHERE ..)`) over the
//! model's rows and across relations, `StringAgg` / `ArrayAgg` /
//! `JSONBAgg` with `ordering=` and `distinct`, `default=` around them, and
//! annotation conditions combined with AND / OR / NOT.

use super::*;
use crate::query::{
    ArrayAgg, Avg, BoolAnd, Count, JSONBAgg, Max, Min, StdDev, StringAgg, Sum, Variance, HQ,
};

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "authors", crate = "crate")]
struct Author {
    #[orm(primary_key)]
    id: i64,
    name: String,
    karma: i32,
    books: crate::Reverse<Book>,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "books", crate = "crate")]
struct Book {
    #[orm(primary_key)]
    id: i64,
    #[orm(related_name = "books")]
    author: crate::ForeignKey<Author>,
    title: String,
    views: i32,
    published: bool,
    #[orm(through = "book_labels")]
    labels: crate::ManyToMany<Label>,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "labels", crate = "crate")]
struct Label {
    #[orm(primary_key)]
    id: i64,
    name: String,
}

const AUTHOR: &str = r#""authors"."id", "authors"."name", "authors"."karma""#;

/// The SQL of an `annotate(..)` on authors (the statement is only rendered).
fn annotate_sql(q: crate::query::AnnotatedQuery<Author>) -> crate::Result<Statement> {
    q.sql().map(|stmt| stmt.expect("sends a query"))
}

#[test]
fn a_filter_on_the_models_own_rows_is_a_filter_clause() {
    // Django: Count("id", filter=Q(published=True)) ->
    // COUNT("id") FILTER (WHERE "published"), the default around it all.
    let stmt = aggregate_sql(
        Book::filter(q!(views__gt = 1)),
        &[
            Count("id").filter::<Book>(q!(published = true)),
            Sum("views")
                .filter::<Book>(q!(title__startswith = "R%") | !q!(views__lt = 5))
                .default(0),
        ],
    );
    assert_eq!(
        stmt.sql,
        concat!(
            r#"SELECT COUNT("books"."id") FILTER (WHERE "books"."published" = $1) AS "id__count", "#,
            r#"COALESCE(SUM("books"."views") FILTER (WHERE "books"."title" LIKE $2 OR NOT ("books"."views" < $3))::bigint, $4) AS "views__sum" "#,
            r#"FROM "books" WHERE "books"."views" > $5"#
        )
    );
    assert_eq!(
        stmt.binds,
        [
            Value::Bool(Some(true)),
            text(r"R\%%"),
            Value::I32(Some(5)),
            Value::I32(Some(0)),
            Value::I32(Some(1)),
        ]
    );
}

#[test]
fn a_filter_across_the_annotated_relation_names_the_counted_row() {
    // Django: Count("books", filter=Q(books__published=True)) counts the
    // joined book rows that are published; a further relation is an
    // EXISTS from that row; the author's own field names the outer row.
    let stmt = annotate_sql(
        Author::all().annotate([
            Count("books").filter::<Author>(q!(books__published = true)),
            Count("books")
                .alias("rust")
                .filter::<Author>(q!(books__labels__name = "rust") | q!(karma__gte = 10)),
            Count("books")
                .alias("hidden")
                .filter::<Author>(!q!(books__published = true)),
        ]),
    )
    .expect("renders");
    let counted = |filter: &str, name: &str| {
        format!(
            r#"(SELECT COUNT("A1"."id") FILTER (WHERE {filter}) FROM "books" AS "A1" WHERE "A1"."author_id" = "authors"."id") AS "{name}""#
        )
    };
    assert_eq!(
        stmt.sql,
        format!(
            r#"SELECT {AUTHOR}, {}, {}, {} FROM "authors""#,
            counted(r#""A1"."published" = $1"#, "books__count"),
            counted(
                r#"EXISTS (SELECT 1 FROM "book_labels" AS "T1_link" JOIN "labels" AS "T1" ON "T1"."id" = "T1_link"."label_id" WHERE "T1_link"."book_id" = "A1"."id" AND "T1"."name" = $2) OR "authors"."karma" >= $3"#,
                "rust"
            ),
            counted(r#"NOT ("A1"."published" = $4)"#, "hidden"),
        )
    );
    assert_eq!(
        stmt.binds,
        [
            Value::Bool(Some(true)),
            text("rust"),
            Value::I32(Some(10)),
            Value::Bool(Some(true)),
        ]
    );
}

#[test]
fn a_filter_over_a_cte_names_the_joined_rows() {
    // aggregate() across a relation: the filter's `books__` lookups name
    // the joined book, the author's own fields the CTE's row.
    let stmt = aggregate_sql(
        Author::all(),
        &[Sum("books__views")
            .filter::<Author>(q!(books__published = true, karma__gt = 0))
            .default(0)],
    );
    assert_eq!(
        stmt.sql,
        concat!(
            r#"WITH "orm_base" AS (SELECT "authors"."id", "authors"."name", "authors"."karma" FROM "authors") SELECT "#,
            r#"(SELECT COALESCE(SUM("A1"."views") FILTER (WHERE "A1"."published" = $1 AND "orm_base"."karma" > $2)::bigint, $3) "#,
            r#"FROM "orm_base" JOIN "books" AS "A1" ON "A1"."author_id" = "orm_base"."id") AS "books__views__sum""#
        )
    );
}

#[test]
fn collecting_aggregates_bind_the_delimiter_and_order_inside_the_call() {
    // Django: StringAgg("title", delimiter="', %", ordering="-views"),
    // ArrayAgg("views", distinct=True, ordering="views"), JSONBAgg.
    let stmt = aggregate_sql(
        Book::all(),
        &[
            StringAgg("title", "', %").ordering(["-views", "title"]),
            ArrayAgg("views").distinct().ordering(["views"]),
            JSONBAgg("title")
                .ordering(["-id"])
                .default(serde_json::json!([])),
            ArrayAgg("title").default(Value::Array(vec![])),
        ],
    );
    assert_eq!(
        stmt.sql,
        concat!(
            r#"SELECT STRING_AGG("books"."title", $1 ORDER BY "books"."views" DESC, "books"."title") AS "title__stringagg", "#,
            r#"ARRAY_AGG(DISTINCT "books"."views" ORDER BY "books"."views") AS "views__arrayagg", "#,
            r#"COALESCE(JSONB_AGG("books"."title" ORDER BY "books"."id" DESC), $2) AS "title__jsonbagg", "#,
            r#"COALESCE(ARRAY_AGG("books"."title"), $3) AS "title__arrayagg" FROM "books""#
        )
    );
    assert_eq!(
        stmt.binds,
        [
            text("', %"),
            Value::Json(Some(serde_json::json!([]))),
            Value::Array(vec![])
        ]
    );
}

#[test]
fn ordering_across_the_relation_names_the_collected_rows() {
    let stmt = annotate_sql(
        Author::all().annotate([StringAgg("books__title", ", ")
            .ordering(["-books__views", "name"])
            .filter::<Author>(q!(books__published = true))]),
    )
    .expect("renders");
    assert_eq!(
        stmt.sql,
        format!(
            r#"SELECT {AUTHOR}, (SELECT STRING_AGG("A1"."title", $1 ORDER BY "A1"."views" DESC, "authors"."name") FILTER (WHERE "A1"."published" = $2) FROM "books" AS "A1" WHERE "A1"."author_id" = "authors"."id") AS "books__title__stringagg" FROM "authors""#
        )
    );
}

#[test]
fn distinct_is_refused_where_django_refuses_it() {
    let meta = <Book as Model>::META;
    for agg in [
        Min("views").distinct(),
        Max("views").distinct(),
        StdDev("views").distinct(),
        Variance("views").distinct(),
        BoolAnd("published").distinct(),
        Count("*").distinct(),
    ] {
        match agg.resolve(meta) {
            Err(crate::Error::InvalidQuery(e)) => {
                assert!(e.to_string().contains("distinct"), "{e}")
            }
            other => panic!("{agg:?}: {other:?}"),
        }
    }
    for agg in [
        Count("views").distinct(),
        Sum("views").distinct(),
        Avg("views").distinct(),
        StringAgg("title", ",").distinct(),
        ArrayAgg("views").distinct(),
        JSONBAgg("views").distinct(),
    ] {
        assert!(agg.resolve(meta).is_ok(), "{agg:?}");
    }
}

#[test]
fn collecting_aggregates_check_their_options() {
    let meta = <Book as Model>::META;
    let reason = |agg: crate::query::Aggregate| match agg.resolve(meta) {
        Err(e) => e.to_string(),
        Ok(r) => panic!("{agg:?} resolved to {r:?}"),
    };
    // PostgreSQL: with DISTINCT, ORDER BY must name the aggregated value.
    assert!(reason(ArrayAgg("views").distinct().ordering(["title"]))
        .contains("only name the aggregated field"));
    assert!(reason(StringAgg("views", ",")).contains("not text"));
    assert!(reason(Sum("views").ordering(["views"])).contains("StringAgg, ArrayAgg and JSONBAgg"));
    let unknown = reason(ArrayAgg("title").ordering(["-viewz"]));
    assert!(
        unknown.contains("viewz") && unknown.contains("views"),
        "{unknown}"
    );
    assert!(reason(ArrayAgg("title").default(1i64)).contains("not a text[]"));
    assert!(reason(StringAgg("title", ",").default(1i64)).contains("not a text"));
    // The filter's model must be the queried one.
    let other = reason(Count("id").filter::<Author>(q!(karma = 1)));
    assert!(other.contains("condition on Author"), "{other}");
}

#[test]
fn annotation_conditions_combine_with_and_or_and_not() {
    // Django: annotate(n=Count("books")).filter(Q(n__gte=2) | ~Q(n__in=[5, 6]))
    let stmt = annotate_sql(
        Author::all()
            .filter(q!(karma__gt = 1))
            .annotate([
                Count("books").alias("n"),
                StringAgg("books__title", "|").alias("t"),
            ])
            .filter_q(HQ("n__gte", 2i64) | !HQ("n__in", [5i64, 6]))
            .filter_q(
                HQ("t__icontains", "50%_") & HQ("n__range", [1i64, 9]) | HQ("t__isnull", true),
            ),
    )
    .expect("renders");
    let n =
        r#"(SELECT COUNT("A1"."id") FROM "books" AS "A1" WHERE "A1"."author_id" = "authors"."id")"#;
    // Each use of the annotation binds its delimiter again.
    let t = |p: u32| {
        format!(
            r#"(SELECT STRING_AGG("A1"."title", ${p}) FROM "books" AS "A1" WHERE "A1"."author_id" = "authors"."id")"#
        )
    };
    assert_eq!(
        stmt.sql,
        format!(
            r#"SELECT {AUTHOR}, {n} AS "n", {} AS "t" FROM "authors" WHERE "authors"."karma" > $2 AND (({n} >= $3 OR NOT ({n} = ANY($4))) AND ((UPPER({}) LIKE UPPER($6) AND {n} BETWEEN $7 AND $8) OR {} IS NULL))"#,
            t(1),
            t(5),
            t(9),
        )
    );
    assert_eq!(stmt.binds.len(), 9);
    assert_eq!(stmt.binds[5], text(r"%50\%\_%"));
}

#[test]
fn having_takes_combinations_and_text_lookups() {
    let stmt = Book::all()
        .values(["author"])
        .annotate([Count("id"), StringAgg("title", ",").alias("titles")])
        .having_q(!HQ("id__count__lt", 2i64) | HQ("titles__startswith", "a_b"))
        .having("id__count__isnull", false)
        .sql()
        .expect("renders")
        .expect("sends a query");
    assert_eq!(
        stmt.sql,
        concat!(
            r#"SELECT "books"."author_id", COUNT("books"."id") AS "id__count", STRING_AGG("books"."title", $1) AS "titles" FROM "books" GROUP BY "books"."author_id" "#,
            r#"HAVING (NOT (COUNT("books"."id") < $2) OR STRING_AGG("books"."title", $3) LIKE $4) AND COUNT("books"."id") IS NOT NULL"#
        )
    );
    assert_eq!(stmt.binds[3], text(r"a\_b%"));
}

#[test]
fn unknown_annotation_names_and_text_lookups_on_numbers_are_errors() {
    let err = annotate_sql(
        Author::all()
            .annotate([Count("books").alias("n")])
            .filter_q(HQ("n__gte", 1i64) | HQ("m__lt", 3i64)),
    )
    .unwrap_err();
    assert!(
        matches!(&err, crate::Error::InvalidLookup(_)) && err.to_string().contains("n"),
        "{err}"
    );
    assert!(
        err.to_string().contains("`m`") || err.to_string().contains("m"),
        "{err}"
    );
    let err = annotate_sql(
        Author::all()
            .annotate([Count("books").alias("n")])
            .filter_q(HQ("n__contains", "1")),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not text"), "{err}");
    // An empty `in` anywhere that decides the whole condition sends nothing.
    let none = Author::all()
        .annotate([Count("books").alias("n")])
        .filter_q(HQ("n__in", Value::Array(vec![])) & HQ("n__gt", 1i64))
        .sql();
    assert!(matches!(none, Ok(None)), "{none:?}");
    // ... and is dropped from an OR.
    let some = annotate_sql(
        Author::all()
            .annotate([Count("books").alias("n")])
            .filter_q(HQ("n__in", Value::Array(vec![])) | HQ("n__gt", 1i64)),
    )
    .expect("renders");
    assert!(some.sql.ends_with(r#") > $1"#), "{}", some.sql);
}
