//! PostgreSQL field types against a real server: arrays (Django's
//! `ArrayField`).
//!
//! Expected rows are what Django's `ArrayField` lookups return for the
//! same data on PostgreSQL (Django renders `contains` as `@>`,
//! `contained_by` as `<@`, `overlap` as `&&`, `len` as
//! `CASE WHEN col IS NULL THEN NULL ELSE coalesce(array_length(col, 1), 0) END`,
//! and `tags__0` as `tags[1]`), worked out from PostgreSQL's array
//! semantics: `'{}' <@ x` holds for every non-NULL `x`, `x @> '{}'` too;
//! a NULL array matches no lookup; an index past the end is NULL.

use orm_core::prelude::*;
use orm_core::query::LookupPolicy;

use crate::common::setup;
use crate::models::pg_types::{tagged_posts, TaggedPost};

/// The names of the matching posts, sorted.
async fn names(q: impl IntoQ<TaggedPost>) -> Result<Vec<String>> {
    let mut names: Vec<String> = TaggedPost::filter(q)
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    names.sort();
    Ok(names)
}

/// The names of the posts `exclude(q)` keeps, sorted.
async fn excluded(q: impl IntoQ<TaggedPost>) -> Result<Vec<String>> {
    let mut names: Vec<String> = TaggedPost::exclude(q)
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    names.sort();
    Ok(names)
}

#[tokio::test]
async fn arrays_round_trip_with_empty_arrays_nulls_and_null_elements() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let made = tagged_posts().await?;
        let mut read = TaggedPost::all().order_by(["id"]).await?;
        assert_eq!(read, made);
        // An empty array is not NULL (Django keeps `[]` and `None` apart).
        assert_eq!(read[0].scores, Some(vec![]));
        assert_eq!(read[1].scores, None);
        assert_eq!(read[3].maybe, vec![Some(2), None]);
        assert_eq!(read[3].tags[2], "it's");
        // Saved again after a change; updated through update().
        read[0].tags = vec!["a,b".to_owned(), "{\"}".to_owned()];
        read[0].scores = None;
        read[0].save().await?;
        let again = TaggedPost::get(q!(id = read[0].id)).await?;
        assert_eq!(again, read[0]);
        let n = TaggedPost::filter(q!(name = "one"))
            .update(q!(tags = vec!["z".to_owned()], scores = Some(vec![7, 8])))
            .await?;
        assert_eq!(n, 1);
        let one = TaggedPost::get(q!(name = "one")).await?;
        assert_eq!(
            (one.tags, one.scores),
            (vec!["z".to_owned()], Some(vec![7, 8]))
        );
        // `values()` reads an array column as a Value::Array.
        let rows = TaggedPost::filter(q!(name = "many"))
            .values(["tags"])
            .await?;
        assert_eq!(
            rows[0].get::<Vec<String>>("tags")?,
            vec!["rust".to_owned(), "sql".to_owned(), "it's".to_owned()]
        );
        // bulk_create: arrays of different lengths (and a NULL one).
        let made = TaggedPost::bulk_create(vec![
            TaggedPost {
                name: "b1".to_owned(),
                tags: vec!["p".to_owned(), "q".to_owned()],
                scores: None,
                ..Default::default()
            },
            TaggedPost {
                name: "b2".to_owned(),
                tags: vec![],
                scores: Some(vec![4]),
                ..Default::default()
            },
        ])
        .await?;
        let back = TaggedPost::filter(q!(name__in = ["b1", "b2"]))
            .order_by(["name"])
            .await?;
        assert_eq!(back, made);
        // bulk_update cannot send arrays through UNNEST: a clear error.
        let err = TaggedPost::bulk_update(&back, &["tags"]).await.unwrap_err();
        assert!(err.to_string().contains("array field"), "{err}");
        // The column types are arrays; `blob` stays bytea.
        let types: Vec<(String, String)> = orm_core::raw(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_name = 'pgt_posts' AND column_name IN ('tags', 'scores', 'blob') \
             ORDER BY column_name",
            &[],
        )
        .await?;
        assert_eq!(
            types,
            [
                ("blob".to_owned(), "bytea".to_owned()),
                ("scores".to_owned(), "ARRAY".to_owned()),
                ("tags".to_owned(), "ARRAY".to_owned())
            ]
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn array_lookups_return_what_django_returns() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        tagged_posts().await?;
        // tags: empty {}, null {x}, one {rust}, many {rust,sql,it's}, other {sql,""}
        // scores: empty {}, null NULL, one {1}, many {1,2,3}, other {20,30}
        assert_eq!(names(q!(tags__contains = ["rust"])).await?, ["many", "one"]);
        assert_eq!(names(q!(tags__contains = ["rust", "sql"])).await?, ["many"]);
        assert_eq!(names(q!(tags__contains = [""])).await?, ["other"]);
        let none: [&str; 0] = [];
        // Every array contains the empty array.
        assert_eq!(
            names(q!(tags__contains = none)).await?,
            ["empty", "many", "null", "one", "other"]
        );
        // A NULL array matches nothing, not even `@> '{}'`.
        let no_ints: [i32; 0] = [];
        assert_eq!(
            names(q!(scores__contains = no_ints)).await?,
            ["empty", "many", "one", "other"]
        );
        assert_eq!(
            names(q!(scores__contained_by = [1, 2, 3, 4])).await?,
            ["empty", "many", "one"]
        );
        assert_eq!(
            names(q!(tags__contained_by = ["x"])).await?,
            ["empty", "null"]
        );
        assert_eq!(
            names(q!(scores__overlap = [3, 30])).await?,
            ["many", "other"]
        );
        assert_eq!(
            names(q!(scores__overlap = no_ints)).await?,
            Vec::<String>::new()
        );
        assert_eq!(names(q!(tags = ["rust"])).await?, ["one"]);
        assert_eq!(names(q!(scores = None)).await?, ["null"]);
        assert_eq!(names(q!(scores = no_ints)).await?, ["empty"]);
        // len: 0 for an empty array, NULL (no match) for a NULL one.
        assert_eq!(names(q!(scores__len = 0)).await?, ["empty"]);
        assert_eq!(names(q!(tags__len = 0)).await?, ["empty"]);
        assert_eq!(names(q!(scores__len__lt = 2)).await?, ["empty", "one"]);
        assert_eq!(
            names(q!(tags__len__in = [1, 3])).await?,
            ["many", "null", "one"]
        );
        // Index: 0-based; past the end is NULL.
        assert_eq!(names(q!(tags__0 = "rust")).await?, ["many", "one"]);
        assert_eq!(names(q!(tags__1 = "sql")).await?, ["many"]);
        assert_eq!(names(q!(tags__2__icontains = "T'S")).await?, ["many"]);
        assert_eq!(names(q!(scores__0__gt = 1)).await?, ["other"]);
        assert_eq!(
            names(q!(scores__1__isnull = true)).await?,
            ["empty", "null", "one"]
        );
        assert_eq!(
            names(q!(maybe__1__isnull = false)).await?,
            Vec::<String>::new()
        );
        assert_eq!(names(q!(days__0__day = 3)).await?, ["many"]);
        assert_eq!(
            names(q!(days__len__gte = 1, tags__0__in = ["x", "sql"])).await?,
            ["null", "other"]
        );
        // Typed handles say the same.
        let f = TaggedPost::fields();
        assert_eq!(
            names(f.tags.contains(["rust"]) & f.scores.len().gte(1)).await?,
            ["many", "one"]
        );
        assert_eq!(names(f.tags.index(0).eq("sql")).await?, ["other"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn exclude_on_arrays_keeps_null_arrays_as_django() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        tagged_posts().await?;
        // Django adds `AND scores IS NOT NULL` inside the NOT for a
        // nullable column: the NULL row is kept.
        assert_eq!(
            excluded(q!(scores__contains = [1])).await?,
            ["empty", "null", "other"]
        );
        // On a NOT NULL column an index past the end is NULL inside NOT:
        // Django drops those rows too (`NOT (tags[2] = 'sql')` is NULL).
        assert_eq!(excluded(q!(tags__1 = "sql")).await?, ["other"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn runtime_array_lookups_and_hostile_values() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        tagged_posts().await?;
        let parse = |k: &str, v: &str| Lookup::parse::<TaggedPost>(k, v);
        assert_eq!(names(parse("tags__contains", "rust,sql")?).await?, ["many"]);
        assert_eq!(
            names(parse("scores__overlap", "3,30")?).await?,
            ["many", "other"]
        );
        assert_eq!(names(parse("tags__len", "0")?).await?, ["empty"]);
        assert_eq!(names(parse("tags__0", "rust")?).await?, ["many", "one"]);
        // Hostile values are bound parameters: they match nothing, and
        // the table is still there.
        for value in ["'; DROP TABLE pgt_posts; --", "{\"a\"}", "\\", "a'b,c\"d"] {
            assert_eq!(
                names(parse("tags__contains", value)?).await?,
                Vec::<String>::new()
            );
            assert_eq!(names(parse("tags__0", value)?).await?, Vec::<String>::new());
        }
        assert!(parse("tags__contains", "a\0b").is_err());
        assert!(parse("scores__contains", "1,x").is_err());
        // Hostile keys never reach SQL text: refused before a query.
        for key in [
            "tags__0'; DROP TABLE pgt_posts; --",
            "tags__99999999999",
            "tags__0__0",
            "tags__le\0n",
            &format!("tags__{}", "9".repeat(10_000)),
        ] {
            assert!(parse(key, "x").is_err(), "{key:.40}");
        }
        let policy = LookupPolicy::new().allow("tags", &["contains", "overlap"]);
        assert!(Lookup::parse_with::<TaggedPost>(&policy, "tags__0", "x").is_err());
        assert_eq!(
            names(Lookup::parse_with::<TaggedPost>(
                &policy,
                "tags__overlap",
                "x,sql"
            )?)
            .await?,
            ["many", "null", "other"]
        );
        assert_eq!(TaggedPost::all().count().await?, 5);
        Ok(())
    })
    .await
}

/// Versions of one table with array columns, for makemigrations.
mod versions {
    /// Version 1.
    pub(super) mod v1 {
        use orm_core::prelude::*;

        /// A set of readings.
        #[derive(Model, Debug, Clone, Default)]
        #[orm(table = "pgt_readings")]
        pub(crate) struct Reading {
            /// Key.
            #[orm(primary_key)]
            pub id: i64,
            /// `integer[]`.
            pub values: Vec<i32>,
        }
    }

    /// Version 2: `values` widened to `bigint[]`, `labels` added.
    pub(super) mod v2 {
        use orm_core::prelude::*;

        /// A set of readings.
        #[derive(Model, Debug, Clone, Default)]
        #[orm(table = "pgt_readings")]
        pub(crate) struct Reading {
            /// Key.
            #[orm(primary_key)]
            pub id: i64,
            /// `bigint[]`.
            pub values: Vec<i64>,
            /// `text[]`, nullable.
            pub labels: Option<Vec<String>>,
        }
    }
}

#[tokio::test]
async fn makemigrations_creates_and_alters_array_columns() -> Result<()> {
    use crate::migration_support::{empty_db, generated, introspect, migrator, written};
    use orm_core::migrate::MakeOptions;
    use versions::{v1, v2};
    let dir = crate::common::folder();
    let db = empty_db().await;
    let m1 = migrator(&dir, &db, &[v1::Reading::META]);
    let first = std::fs::read_to_string(written(m1.make(&MakeOptions::default())?))
        .expect("the migration file");
    assert!(first.contains(r#""values" integer[] NOT NULL"#), "{first}");
    m1.migrate(None, false).await?;
    orm_core::scope(
        &db,
        v1::Reading::create(v1::Reading {
            values: vec![1, 2],
            ..Default::default()
        }),
    )
    .await?;
    let m2 = migrator(&dir, &db, &[v2::Reading::META]);
    let second = std::fs::read_to_string(written(m2.make(&MakeOptions::default())?))
        .expect("the migration file");
    assert!(second.contains("bigint[]"), "{second}");
    assert!(second.contains(r#""labels" text[]"#), "{second}");
    m2.migrate(None, false).await?;
    let read = orm_core::scope(&db, async { v2::Reading::all().await }).await?;
    assert_eq!(read[0].values, vec![1_i64, 2]);
    assert_eq!(read[0].labels, None);
    assert_eq!(
        introspect(&db).await?,
        generated(&[v2::Reading::META]).await?
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
