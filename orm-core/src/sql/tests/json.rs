//! JSON fields (Django's `JSONField` on PostgreSQL): exact SQL and binds
//! of key, index and path transforms and their lookups, `has_key`,
//! containment; the same condition from the typed handle, `q!` and the
//! runtime `Lookup::parse`. Expected SQL shapes are those of Django's
//! `django/db/models/fields/json.py` (`KeyTransform.as_postgresql`:
//! `(col -> %s)`, `(col #> %s)` for a path; `KeyTextTransform`: `->>`,
//! `#>>`; `HasKey`: `?`, `HasKeys`: `?&`, `HasAnyKeys`: `?|`), with the
//! keys as bound parameters as there.

use serde_json::json;

use crate::prelude::*;
use crate::query::LookupPolicy;
use crate::Value;

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "dogs", crate = "crate")]
struct Dog {
    #[orm(primary_key)]
    id: i64,
    name: String,
    data: serde_json::Value,
    extra: Option<serde_json::Value>,
    owner: Option<ForeignKey<Owner>>,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "owners", crate = "crate")]
struct Owner {
    #[orm(primary_key)]
    id: i64,
    name: String,
    prefs: serde_json::Value,
}

/// The WHERE clause and binds of `Dog::filter(q)`.
fn where_of(q: impl IntoQ<Dog>) -> (String, Vec<Value>) {
    let stmt = Dog::filter(q)
        .sql()
        .expect("renders")
        .expect("sends a query");
    let (_, clause) = stmt
        .sql
        .split_once(" WHERE ")
        .unwrap_or_else(|| panic!("no WHERE in {}", stmt.sql));
    (clause.to_owned(), stmt.binds)
}

fn text(s: &str) -> Value {
    Value::Text(Some(s.to_owned()))
}

fn j(v: serde_json::Value) -> Value {
    Value::Json(Some(v))
}

fn texts(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| text(s)).collect())
}

/// `q`, the typed form, and the runtime form (`key`, `value`) give one
/// statement.
fn same(q: Q<Dog>, typed: Q<Dog>, key: &str, value: &str) -> (String, Vec<Value>) {
    let a = where_of(q);
    assert_eq!(a, where_of(typed), "typed handle");
    let parsed = Lookup::parse::<Dog>(key, value).expect("parses");
    assert_eq!(a, where_of(parsed), "Lookup::parse({key:?}, {value:?})");
    a
}

#[test]
fn key_exact_is_jsonb_equality() {
    let f = Dog::fields();
    let (sql, binds) = same(
        q!(data__owner = "Bob"),
        f.data.key("owner").eq("Bob"),
        "data__owner",
        "Bob",
    );
    assert_eq!(sql, r#"("dogs"."data" -> $1) = $2"#);
    assert_eq!(binds, vec![text("owner"), j(json!("Bob"))]);
    // Numbers stay numbers: `5` is not `"5"`.
    let (_, binds) = same(q!(data__n = 5), f.data.key("n").eq(5), "data__n", "5");
    assert_eq!(binds[1], j(json!(5)));
    let (_, binds) = same(
        q!(data__n = "5"),
        f.data.key("n").eq("5"),
        "data__n",
        "\"5\"",
    );
    assert_eq!(binds[1], j(json!("5")));
}

#[test]
fn a_path_is_one_text_array_parameter() {
    let f = Dog::fields();
    let (sql, binds) = same(
        q!(data__owner__name = "Bob"),
        f.data.key("owner").key("name").eq("Bob"),
        "data__owner__name",
        "Bob",
    );
    assert_eq!(sql, r#"("dogs"."data" #> $1::text[]) = $2"#);
    assert_eq!(binds, vec![texts(&["owner", "name"]), j(json!("Bob"))]);
    // An index in a path is its digits, which PostgreSQL reads as an
    // index on an array.
    let (sql, binds) = same(
        q!(data__owner__pets__0__name = "Fishy"),
        f.data
            .key("owner")
            .key("pets")
            .key(0)
            .key("name")
            .eq("Fishy"),
        "data__owner__pets__0__name",
        "Fishy",
    );
    assert_eq!(sql, r#"("dogs"."data" #> $1::text[]) = $2"#);
    assert_eq!(binds[0], texts(&["owner", "pets", "0", "name"]));
}

#[test]
fn an_index_is_an_integer_parameter() {
    let f = Dog::fields();
    let (sql, binds) = same(q!(data__0 = "x"), f.data.key(0).eq("x"), "data__0", "x");
    assert_eq!(sql, r#"("dogs"."data" -> $1::integer) = $2"#);
    assert_eq!(binds, vec![Value::I32(Some(0)), j(json!("x"))]);
    // A negative index counts from the end (runtime and typed forms).
    let (sql, binds) = where_of(Lookup::parse::<Dog>("data__-1", "x").unwrap());
    assert_eq!(sql, r#"("dogs"."data" -> $1::integer) = $2"#);
    assert_eq!(binds[0], Value::I32(Some(-1)));
    assert_eq!(where_of(f.data.key(-1).eq("x")).0, sql);
    // `.key("0")` is a key named `0`, not an index.
    let (sql, binds) = where_of(f.data.key("0").eq("x"));
    assert_eq!(sql, r#"("dogs"."data" -> $1) = $2"#);
    assert_eq!(binds[0], text("0"));
}

#[test]
fn text_lookups_read_the_text_form() {
    let f = Dog::fields();
    let (sql, binds) = same(
        q!(data__owner__name__icontains = "bo"),
        f.data.key("owner").key("name").icontains("bo"),
        "data__owner__name__icontains",
        "bo",
    );
    assert_eq!(
        sql,
        r#"UPPER(("dogs"."data" #>> $1::text[])) LIKE UPPER($2)"#
    );
    assert_eq!(binds, vec![texts(&["owner", "name"]), text("%bo%")]);
    let (sql, binds) = same(
        q!(data__breed__startswith = "la%"),
        f.data.key("breed").startswith("la%"),
        "data__breed__startswith",
        "la%",
    );
    assert_eq!(sql, r#"("dogs"."data" ->> $1) LIKE $2"#);
    assert_eq!(binds, vec![text("breed"), text(r"la\%%")]);
    let (sql, _) = same(
        q!(data__breed__iexact = "Collie"),
        f.data.key("breed").iexact("Collie"),
        "data__breed__iexact",
        "Collie",
    );
    assert_eq!(sql, r#"UPPER(("dogs"."data" ->> $1)) = UPPER($2)"#);
    let (sql, _) = same(
        q!(data__breed__iregex = "^col"),
        f.data.key("breed").iregex("^col"),
        "data__breed__iregex",
        "^col",
    );
    assert_eq!(sql, r#"("dogs"."data" ->> $1) ~* $2"#);
    let (sql, _) = same(
        q!(data__breed__iendswith = "IE"),
        f.data.key("breed").iendswith("IE"),
        "data__breed__iendswith",
        "IE",
    );
    assert_eq!(sql, r#"UPPER(("dogs"."data" ->> $1)) LIKE UPPER($2)"#);
}

#[test]
fn comparisons_and_in_are_jsonb() {
    let f = Dog::fields();
    let (sql, binds) = same(
        q!(data__age__gte = 3),
        f.data.key("age").gte(3),
        "data__age__gte",
        "3",
    );
    assert_eq!(sql, r#"("dogs"."data" -> $1) >= $2"#);
    assert_eq!(binds, vec![text("age"), j(json!(3))]);
    let (sql, binds) = same(
        q!(data__breed__in = ["collie", "pug"]),
        f.data.key("breed").in_(["collie", "pug"]),
        "data__breed__in",
        "collie,pug",
    );
    assert_eq!(sql, r#"("dogs"."data" -> $1) = ANY($2)"#);
    assert_eq!(
        binds,
        vec![
            text("breed"),
            Value::Array(vec![j(json!("collie")), j(json!("pug"))])
        ]
    );
    let (sql, _) = where_of(f.data.key("age").range((1, 5)));
    assert_eq!(sql, r#"("dogs"."data" -> $1) BETWEEN $2 AND $3"#);
    // An empty `in` matches nothing, as elsewhere.
    let empty: [i32; 0] = [];
    assert!(Dog::filter(f.data.key("age").in_(empty))
        .sql()
        .unwrap()
        .is_none());
}

#[test]
fn none_at_a_key_is_json_null_and_isnull_is_a_missing_key() {
    let f = Dog::fields();
    // Django: `data__owner=None` matches a JSON null.
    let (sql, binds) = where_of(q!(data__owner = None));
    assert_eq!(sql, r#"("dogs"."data" -> $1) = $2"#);
    assert_eq!(binds, vec![text("owner"), j(json!(null))]);
    assert_eq!(
        where_of(f.data.key("owner").eq(None::<i32>)),
        (sql.clone(), binds.clone())
    );
    assert_eq!(
        where_of(Lookup::parse::<Dog>("data__owner", "null").unwrap()),
        (sql, binds)
    );
    // `data__owner__isnull=True`: the key is missing.
    let (sql, binds) = same(
        q!(data__owner__isnull = true),
        f.data.key("owner").is_null(true),
        "data__owner__isnull",
        "true",
    );
    assert_eq!(sql, r#"("dogs"."data" -> $1) IS NULL"#);
    assert_eq!(binds, vec![text("owner")]);
    let (sql, _) = where_of(q!(data__owner__isnull = false));
    assert_eq!(sql, r#"("dogs"."data" -> $1) IS NOT NULL"#);
}

#[test]
fn none_on_the_field_is_json_null_and_isnull_is_sql_null() {
    // Django: `data=None` is the JSON null; SQL NULL is `data__isnull`.
    let (sql, binds) = where_of(q!(extra = None));
    assert_eq!(sql, r#""dogs"."extra" = $1"#);
    assert_eq!(binds, vec![j(json!(null))]);
    assert_eq!(
        where_of(Dog::fields().extra.eq(None::<serde_json::Value>)).0,
        sql
    );
    assert_eq!(
        where_of(q!(extra__isnull = true)).0,
        r#""dogs"."extra" IS NULL"#
    );
}

#[test]
fn has_key_has_keys_has_any_keys() {
    let f = Dog::fields();
    let (sql, binds) = same(
        q!(data__has_key = "owner"),
        f.data.has_key("owner"),
        "data__has_key",
        "owner",
    );
    assert_eq!(sql, r#""dogs"."data" ? $1"#);
    assert_eq!(binds, vec![text("owner")]);
    let (sql, binds) = same(
        q!(data__has_keys = ["a", "b"]),
        f.data.has_keys(["a", "b"]),
        "data__has_keys",
        "a,b",
    );
    assert_eq!(sql, r#""dogs"."data" ?& $1"#);
    assert_eq!(binds, vec![texts(&["a", "b"])]);
    let (sql, _) = same(
        q!(data__has_any_keys = vec!["a", "b"]),
        f.data.has_any_keys(vec!["a", "b"]),
        "data__has_any_keys",
        "a,b",
    );
    assert_eq!(sql, r#""dogs"."data" ?| $1"#);
    // After a key.
    let (sql, binds) = same(
        q!(data__owner__has_key = "name"),
        f.data.key("owner").has_key("name"),
        "data__owner__has_key",
        "name",
    );
    assert_eq!(sql, r#"("dogs"."data" -> $1) ? $2"#);
    assert_eq!(binds, vec![text("owner"), text("name")]);
}

#[test]
fn contains_and_contained_by_are_jsonb_containment() {
    let f = Dog::fields();
    let (sql, binds) = same(
        q!(data__contains = json!({"breed": "collie"})),
        f.data.contains(json!({"breed": "collie"})),
        "data__contains",
        r#"{"breed": "collie"}"#,
    );
    assert_eq!(sql, r#""dogs"."data" @> $1"#);
    assert_eq!(binds, vec![j(json!({"breed": "collie"}))]);
    let (sql, _) = same(
        q!(extra__contained_by = json!({"a": 1, "b": 2})),
        f.extra.contained_by(json!({"a": 1, "b": 2})),
        "extra__contained_by",
        r#"{"a": 1, "b": 2}"#,
    );
    assert_eq!(sql, r#""dogs"."extra" <@ $1"#);
    // After a key: containment too (Django's KeyTransform takes
    // JSONField's `contains`), not a substring.
    let (sql, binds) = same(
        q!(data__tags__contains = "good"),
        f.data.key("tags").contains("good"),
        "data__tags__contains",
        "good",
    );
    assert_eq!(sql, r#"("dogs"."data" -> $1) @> $2"#);
    assert_eq!(binds, vec![text("tags"), j(json!("good"))]);
}

#[test]
fn across_a_relation() {
    let (sql, binds) = where_of(q!(owner__prefs__theme = "dark"));
    assert_eq!(
        sql,
        r#"EXISTS (SELECT 1 FROM "owners" AS "T1" WHERE "T1"."id" = "dogs"."owner_id" AND ("T1"."prefs" -> $1) = $2)"#
    );
    assert_eq!(binds, vec![text("theme"), j(json!("dark"))]);
    let parsed = Lookup::parse::<Dog>("owner__prefs__theme", "dark").unwrap();
    assert_eq!(where_of(parsed), (sql, binds));
}

#[test]
fn exclude_keeps_the_column_guard() {
    // As Django: the nullable column gets `IS NOT NULL` under negation.
    let stmt = Dog::exclude(q!(extra__a = 1)).sql().unwrap().unwrap();
    let (_, clause) = stmt.sql.split_once(" WHERE ").unwrap();
    assert_eq!(
        clause,
        r#"NOT (("dogs"."extra" -> $1) = $2 AND "dogs"."extra" IS NOT NULL)"#
    );
}

#[test]
fn hostile_keys_are_parameters() {
    let f = Dog::fields();
    for key in [
        "it's",
        "a}b",
        "a,b",
        r"back\slash",
        "\"quoted\"",
        "ключ",
        "😀",
        "a b",
    ] {
        let (sql, binds) = where_of(f.data.key(key).eq(1));
        assert_eq!(sql, r#"("dogs"."data" -> $1) = $2"#, "{key}");
        assert_eq!(binds[0], text(key));
        let (sql, binds) = where_of(f.data.key("x").key(key).has_key(key));
        assert_eq!(sql, r#"("dogs"."data" #> $1::text[]) ? $2"#, "{key}");
        assert_eq!(binds, vec![texts(&["x", key]), text(key)]);
        // The runtime form: the key in the query string as it is.
        let parsed = Lookup::parse::<Dog>(&format!("data__{key}"), "1").unwrap();
        assert_eq!(where_of(parsed).1[0], text(key));
    }
}

#[test]
fn runtime_errors() {
    let err = |key: &str, value: &str| Lookup::parse::<Dog>(key, value).unwrap_err().to_string();
    // A NUL in a key.
    assert!(
        err("data__a\0b", "1").contains("NUL"),
        "{}",
        err("data__a\0b", "1")
    );
    // An empty key.
    assert!(err("data__a____b", "1").contains("empty JSON key"));
    // Too many keys; a 10,000-name path is refused by its length first.
    let long = format!("data{}", "__k".repeat(33));
    assert!(
        err(&long, "1").contains("more than 32 keys"),
        "{}",
        err(&long, "1")
    );
    let huge = format!("data{}", "__k".repeat(10_000));
    let message = err(&huge, "1");
    assert!(message.len() < 2_000, "{message}");
    // A lookup that does not follow a key.
    assert!(err("data__a__overlap", "1").contains("has_any_keys"));
    // A JSON lookup on a text field.
    assert!(err("name__has_key", "a").contains("lookup"));
    // `has_key` takes the text as it is; `exact` JSON-decodes when it can.
    let (_, binds) = where_of(Lookup::parse::<Dog>("data__has_key", "5").unwrap());
    assert_eq!(binds, vec![text("5")]);
    let (_, binds) = where_of(Lookup::parse::<Dog>("data__a", "not json").unwrap());
    assert_eq!(binds[1], j(json!("not json")));
    let (_, binds) = where_of(Lookup::parse::<Dog>("data__a", "[1, 2]").unwrap());
    assert_eq!(binds[1], j(json!([1, 2])));
    // A policy allow-list names the key path.
    let policy = LookupPolicy::new().allow("data__owner", &["exact"]);
    assert!(Lookup::parse_with::<Dog>(&policy, "data__owner", "x").is_ok());
    assert!(Lookup::parse_with::<Dog>(&policy, "data__breed", "x").is_err());
}

#[test]
fn a_nul_in_a_typed_key_is_refused_before_sending() {
    let err = Dog::filter(Dog::fields().data.key("a\0b").eq(1))
        .sql()
        .unwrap_err();
    assert!(err.to_string().contains("NUL"), "{err}");
}
