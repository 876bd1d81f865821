//! Models with PostgreSQL field types (arrays), for `tests/db/pg_types.rs`.

use chrono::NaiveDate;
use orm_core::prelude::*;

/// A post with array fields: a non-null text array, a nullable integer
/// array, a date array and an array whose elements may be NULL.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "pgt_posts")]
pub(crate) struct TaggedPost {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub tags: Vec<String>,
    pub scores: Option<Vec<i32>>,
    pub days: Vec<NaiveDate>,
    pub maybe: Vec<Option<i64>>,
    /// Bytes, not an array.
    pub blob: Vec<u8>,
}

/// The rows the array tests query (Django's `tests/postgres_tests`
/// `NullableIntegerArrayModel` data shape: empty, NULL, one, many).
pub(crate) async fn tagged_posts() -> Result<Vec<TaggedPost>> {
    let day = |d| NaiveDate::from_ymd_opt(2024, 3, d).unwrap();
    let rows = [
        ("empty", vec![], Some(vec![]), vec![], vec![]),
        ("null", vec!["x"], None, vec![day(1)], vec![None]),
        (
            "one",
            vec!["rust"],
            Some(vec![1]),
            vec![day(2)],
            vec![Some(1)],
        ),
        (
            "many",
            vec!["rust", "sql", "it's"],
            Some(vec![1, 2, 3]),
            vec![day(3), day(1)],
            vec![Some(2), None],
        ),
        (
            "other",
            vec!["sql", ""],
            Some(vec![20, 30]),
            vec![day(4)],
            vec![],
        ),
    ];
    let mut out = Vec::new();
    for (name, tags, scores, days, maybe) in rows {
        out.push(
            TaggedPost::create(TaggedPost {
                name: name.to_owned(),
                tags: tags.into_iter().map(str::to_owned).collect(),
                scores,
                days,
                maybe,
                blob: name.as_bytes().to_vec(),
                ..Default::default()
            })
            .await?,
        );
    }
    Ok(out)
}
