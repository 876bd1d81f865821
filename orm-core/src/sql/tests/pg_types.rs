//! PostgreSQL field types (arrays; Django's `ArrayField`): exact SQL and
//! binds of their lookups, DDL types, and the runtime form.

use chrono::NaiveDate;

use crate::prelude::*;
use crate::query::LookupPolicy;
use crate::types::SqlType;
use crate::Value;

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "posts", crate = "crate")]
struct Post {
    #[orm(primary_key)]
    id: i64,
    title: String,
    tags: Vec<String>,
    scores: Option<Vec<i32>>,
    days: Vec<NaiveDate>,
    /// Bytes, not an array: `bytea`.
    blob: Vec<u8>,
}

/// The WHERE clause and binds of `Post::filter(q)`.
fn where_of(q: impl IntoQ<Post>) -> (String, Vec<Value>) {
    let stmt = Post::filter(q)
        .sql()
        .expect("renders")
        .expect("sends a query");
    let (_, clause) = stmt
        .sql
        .split_once(" WHERE ")
        .unwrap_or_else(|| panic!("no WHERE in {}", stmt.sql));
    (clause.to_owned(), stmt.binds)
}

/// The WHERE clause and binds of `Post::exclude(q)`.
fn exclude_of(q: impl IntoQ<Post>) -> (String, Vec<Value>) {
    let stmt = Post::exclude(q)
        .sql()
        .expect("renders")
        .expect("sends a query");
    let (_, clause) = stmt.sql.split_once(" WHERE ").expect("a WHERE");
    (clause.to_owned(), stmt.binds)
}

fn text(s: &str) -> Value {
    Value::Text(Some(s.to_owned()))
}

fn texts(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| text(s)).collect())
}

#[test]
fn array_types_and_ddl() {
    let meta = Post::META;
    let ty = |name: &str| meta.field(name).expect("a field").sql_type;
    assert_eq!(ty("tags"), SqlType::Array(&SqlType::Text));
    assert_eq!(ty("tags").ddl(None), "text[]");
    assert_eq!(ty("scores").ddl(None), "integer[]");
    assert!(meta.field("scores").expect("scores").nullable);
    assert_eq!(ty("days").ddl(None), "date[]");
    // `Vec<u8>` stays `bytea`.
    assert_eq!(ty("blob"), SqlType::Bytea);
}

#[test]
fn contains_contained_by_overlap() {
    let f = Post::fields();
    // Django: `tags__contains=["a", "b"]` is `"tags" @> ARRAY['a','b']`.
    assert_eq!(
        where_of(q!(tags__contains = ["a", "b"])),
        (
            r#""posts"."tags" @> $1"#.to_owned(),
            vec![texts(&["a", "b"])]
        )
    );
    assert_eq!(
        where_of(f.tags.contains(vec!["a", "b"])),
        where_of(q!(tags__contains = ["a", "b"]))
    );
    assert_eq!(
        where_of(q!(tags__contained_by = vec!["a".to_owned()])),
        (r#""posts"."tags" <@ $1"#.to_owned(), vec![texts(&["a"])])
    );
    assert_eq!(
        where_of(q!(scores__overlap = [1, 2])),
        (
            r#""posts"."scores" && $1"#.to_owned(),
            vec![Value::Array(vec![Value::I32(Some(1)), Value::I32(Some(2))])]
        )
    );
    // `contains` on a text field is still `LIKE`.
    assert_eq!(
        where_of(q!(title__contains = "a%")),
        (
            r#""posts"."title" LIKE $1"#.to_owned(),
            vec![text(r"%a\%%")]
        )
    );
    // An empty array value is a value like any other (`@> '{}'` holds for
    // every non-NULL array).
    let empty: [&str; 0] = [];
    assert_eq!(
        where_of(q!(tags__contains = empty)),
        (
            r#""posts"."tags" @> $1"#.to_owned(),
            vec![Value::Array(vec![])]
        )
    );
}

#[test]
fn exact_on_an_array_and_null() {
    assert_eq!(
        where_of(q!(tags = ["a"])),
        (r#""posts"."tags" = $1"#.to_owned(), vec![texts(&["a"])])
    );
    assert_eq!(
        where_of(q!(scores = None)),
        (r#""posts"."scores" IS NULL"#.to_owned(), vec![])
    );
    assert_eq!(
        where_of(q!(scores__isnull = false)),
        (r#""posts"."scores" IS NOT NULL"#.to_owned(), vec![])
    );
}

#[test]
fn len_is_zero_for_an_empty_array_as_django() {
    // Django's ArrayLenTransform:
    // CASE WHEN col IS NULL THEN NULL ELSE coalesce(array_length(col, 1), 0) END
    assert_eq!(
        where_of(q!(tags__len = 0)),
        (
            r#"CASE WHEN "posts"."tags" IS NULL THEN NULL ELSE COALESCE(array_length("posts"."tags", 1), 0) END = $1"#
                .to_owned(),
            vec![Value::I32(Some(0))]
        )
    );
    let f = Post::fields();
    assert_eq!(
        where_of(f.scores.len().gt(1)),
        where_of(q!(scores__len__gt = 1))
    );
    assert!(where_of(q!(scores__len__in = [1, 2]))
        .0
        .ends_with(" = ANY($1)"));
}

#[test]
fn index_is_zero_based_as_django() {
    // Django: `tags__0="a"` is `"tags"[1] = 'a'`.
    assert_eq!(
        where_of(q!(tags__0 = "a")),
        (r#"("posts"."tags")[1] = $1"#.to_owned(), vec![text("a")])
    );
    // The element type's lookups: text ones on a text element.
    assert_eq!(
        where_of(q!(tags__2__icontains = "x")),
        (
            r#"UPPER(("posts"."tags")[3]) LIKE UPPER($1)"#.to_owned(),
            vec![text("%x%")]
        )
    );
    assert_eq!(
        where_of(q!(scores__0__gte = 5)),
        (
            r#"("posts"."scores")[1] >= $1"#.to_owned(),
            vec![Value::I32(Some(5))]
        )
    );
    assert_eq!(
        where_of(q!(scores__1__isnull = true)),
        (r#"("posts"."scores")[2] IS NULL"#.to_owned(), vec![])
    );
    // A date element takes the date transforms.
    let (sql, _) = where_of(q!(days__0__month = 3));
    assert_eq!(
        sql,
        r#"EXTRACT(MONTH FROM ("posts"."days")[1])::integer = $1"#
    );
    let f = Post::fields();
    assert_eq!(
        where_of(f.tags.index(0).eq("a")),
        where_of(q!(tags__0 = "a"))
    );
    // An element is not a column: `update` refuses to assign it.
    let assign = f.tags.index(0).set("x");
    assert_eq!(assign.items[0].index, crate::query::q::ACROSS_RELATION);
}

#[test]
fn exclude_guards_a_nullable_array_as_django() {
    // Django adds `AND col IS NOT NULL` under NOT for a nullable column.
    assert_eq!(
        exclude_of(q!(scores__contains = [1])),
        (
            r#"NOT ("posts"."scores" @> $1 AND "posts"."scores" IS NOT NULL)"#.to_owned(),
            vec![Value::Array(vec![Value::I32(Some(1))])]
        )
    );
    assert_eq!(
        exclude_of(q!(tags__overlap = ["a"])),
        (
            r#"NOT ("posts"."tags" && $1)"#.to_owned(),
            vec![texts(&["a"])]
        )
    );
}

#[test]
fn runtime_lookups_on_arrays() {
    let sql = |key: &str, value: &str| Lookup::parse::<Post>(key, value).map(where_of);
    // Django's SimpleArrayField form: comma-separated items.
    assert_eq!(
        sql("tags__contains", "a,b").unwrap(),
        where_of(q!(tags__contains = ["a", "b"]))
    );
    assert_eq!(
        sql("scores__overlap", "1,2").unwrap(),
        where_of(q!(scores__overlap = [1, 2]))
    );
    assert_eq!(
        sql("tags__contained_by", "").unwrap(),
        where_of(q!(tags__contained_by = Vec::<String>::new()))
    );
    assert_eq!(
        sql("tags__len__gte", "2").unwrap(),
        where_of(q!(tags__len__gte = 2))
    );
    assert_eq!(sql("tags__0", "a").unwrap(), where_of(q!(tags__0 = "a")));
    assert_eq!(
        sql("scores__1__lt", "3").unwrap(),
        where_of(q!(scores__1__lt = 3))
    );
    assert_eq!(
        sql("days__0__year", "2024").unwrap(),
        where_of(q!(days__0__year = 2024))
    );
    assert!(sql("scores__overlap", "1,x").is_err());
    // Array lookups on other fields, text lookups on an integer element,
    // an index past an integer subscript, a name that is not an index.
    for (key, value) in [
        ("title__overlap", "a"),
        ("title__contained_by", "a"),
        ("blob__len", "1"),
        ("scores__0__icontains", "1"),
        ("tags__0__1", "a"),
        ("tags__9999999999", "a"),
        ("tags__first", "a"),
        ("tags__len__icontains", "1"),
    ] {
        let err = sql(key, value).expect_err(key);
        assert!(
            matches!(err, crate::Error::InvalidLookup(_)),
            "{key}: {err}"
        );
    }
    // Typed values are checked against the element type.
    assert!(
        Lookup::value::<Post>("tags__contains", Value::Array(vec![Value::I32(Some(1))])).is_err()
    );
    // An allow-list names the array lookups as any other.
    let policy = LookupPolicy::new().allow("tags", &["overlap"]);
    assert!(Lookup::parse_with::<Post>(&policy, "tags__overlap", "a").is_ok());
    assert!(Lookup::parse_with::<Post>(&policy, "tags__contains", "a").is_err());
}

#[test]
fn array_values_round_trip_through_value() {
    use crate::types::FieldType;
    let tags = vec!["a".to_owned(), String::new()];
    assert_eq!(<Vec<String>>::from_value(tags.to_value()), Some(tags));
    let none: Option<Vec<i32>> = None;
    assert_eq!(none.to_value(), Value::I32(None));
    assert_eq!(<Option<Vec<i32>>>::from_value(Value::I32(None)), Some(None));
    assert_eq!(
        <Option<Vec<i32>>>::from_value(Value::Array(vec![])),
        Some(Some(vec![]))
    );
    // A NULL element does not fit `Vec<i32>`, but fits `Vec<Option<i32>>`.
    let with_null = Value::Array(vec![Value::I32(None)]);
    assert_eq!(<Vec<i32>>::from_value(with_null.clone()), None);
    assert_eq!(<Vec<Option<i32>>>::from_value(with_null), Some(vec![None]));
    assert_eq!(
        SqlType::Array(&SqlType::Integer).parse("1,2"),
        Ok(Value::Array(vec![Value::I32(Some(1)), Value::I32(Some(2))]))
    );
    assert_eq!(
        SqlType::Array(&SqlType::Integer).parse(""),
        Ok(Value::Array(vec![]))
    );
}
