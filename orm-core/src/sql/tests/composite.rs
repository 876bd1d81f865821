//! Composite primary keys: the key condition (`"a" = $1 AND "b" = $2`),
//! `pk__in` of tuples, the statements by key, and the table's key.

use super::*;
use crate::key::PkValue;
use crate::sql::writes;

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "releases", crate = "crate")]
struct Release {
    #[orm(primary_key)]
    version: i32,
    #[orm(primary_key)]
    name: String,
    notes: String,
}

const RELEASE_COLS: &str = r#""releases"."version", "releases"."name", "releases"."notes""#;

fn release_where(q: impl IntoQ<Release>) -> (String, Vec<Value>) {
    let stmt = Release::filter(q)
        .sql()
        .expect("renders")
        .expect("sends a query");
    let prefix = format!(r#"SELECT {RELEASE_COLS} FROM "releases" WHERE "#);
    let sql = stmt
        .sql
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("unexpected SQL: {}", stmt.sql))
        .to_owned();
    (sql, stmt.binds)
}

#[test]
fn composite_meta_lists_every_key_field_and_marks_none_alone() {
    let meta = Release::META;
    assert_eq!(meta.pk_fields, &[0, 1]);
    assert!(meta.has_composite_pk());
    assert!(meta.fields.iter().all(|f| !f.primary_key && !f.auto));
    assert_eq!(meta.field("pk"), None, "no one field is the key");
    assert!(!User::META.has_composite_pk());
    assert_eq!(User::META.field("pk").map(|f| f.name), Some("id"));
    assert_eq!(<(i32, String) as PkValue>::ARITY, 2);
    assert_eq!(
        <(i32, String)>::from_values(vec![Value::I32(Some(1)), Value::Text(Some("a".into()))]),
        Some((1, "a".to_owned()))
    );
    assert_eq!(
        <(i32, String)>::from_values(vec![Value::I32(Some(1))]),
        None
    );
}

#[test]
fn pk_tuple_is_one_condition_per_key_field() {
    let (sql, binds) = release_where(q!(pk = (1, "A")));
    assert_eq!(
        sql,
        r#""releases"."version" = $1 AND "releases"."name" = $2"#
    );
    assert_eq!(binds, [Value::I32(Some(1)), Value::Text(Some("A".into()))]);
    // The same through the typed handle, and with `exact`.
    // The typed handle and `exact` build the same condition.
    assert_eq!(release_where(Release::fields().pk.eq((1, "A"))).0, sql);
    assert_eq!(release_where(q!(pk__exact = (1, "A"))).0, sql);
}

#[test]
fn pk_in_tuples_is_an_or_of_key_conditions() {
    let (sql, binds) = release_where(q!(pk__in = [(1, "A"), (2, "B")]));
    assert_eq!(
        sql,
        r#"("releases"."version" = $1 AND "releases"."name" = $2) OR ("releases"."version" = $3 AND "releases"."name" = $4)"#
    );
    // Grouped where it meets other conditions.
    let (sql, _) = release_where(q!(pk = (1, "A")) | q!(notes = "x"));
    assert_eq!(
        sql,
        r#"("releases"."version" = $1 AND "releases"."name" = $2) OR "releases"."notes" = $3"#
    );
    assert_eq!(binds.len(), 4);
    // No tuple: nothing is sent.
    let none: Vec<(i32, &str)> = Vec::new();
    assert!(Release::filter(q!(pk__in = none))
        .sql()
        .expect("renders")
        .is_none());
    // A query set of a model keyed alike: its keys as rows (Django 5.2's
    // tuple `In` takes a subquery).
    let stmt = Release::filter(q!(pk__in = Release::filter(q!(notes = "x"))))
        .sql()
        .unwrap()
        .unwrap();
    assert_eq!(
        stmt.sql,
        format!(
            r#"SELECT {RELEASE_COLS} FROM "releases" WHERE ("releases"."version", "releases"."name") IN (SELECT "releases"."version", "releases"."name" FROM "releases" WHERE "releases"."notes" = $1)"#
        )
    );
    assert_eq!(stmt.binds, [Value::Text(Some("x".into()))]);
    // Not for one column, nor from a one-field values() query: refused
    // before anything is sent.
    assert!(User::filter(q!(id__in = Release::all())).sql().is_err());
    assert!(
        Release::filter(q!(pk__in = Release::all().values("version")))
            .sql()
            .is_err()
    );
}

#[test]
fn statements_by_a_composite_key_name_every_key_column() {
    assert_eq!(
        writes::update_by_pk(Release::META),
        r#"UPDATE "releases" SET "notes" = $1 WHERE "version" = $2 AND "name" = $3"#
    );
    assert_eq!(
        writes::delete_by_pk(Release::META),
        r#"DELETE FROM "releases" WHERE "version" = $1 AND "name" = $2"#
    );
    // A one-field key is written as before.
    assert_eq!(
        writes::delete_by_pk(User::META),
        r#"DELETE FROM "users" WHERE "id" = $1"#
    );
    let r = Release {
        version: 3,
        name: "C".into(),
        notes: String::new(),
    };
    let stmt = crate::sql::statements::update_fields_by_pk(Release::META, &[], r.pk(), None);
    assert!(
        stmt.sql
            .contains(r#" WHERE "version" = $1 AND "name" = $2"#),
        "{}",
        stmt.sql
    );
    assert_eq!(
        stmt.binds,
        [Value::I32(Some(3)), Value::Text(Some("C".into()))]
    );
}

#[test]
fn bulk_update_by_a_composite_key_matches_every_key_column() {
    let meta = Release::META;
    let fields = [meta.field("notes").unwrap()];
    assert_eq!(
        writes::bulk_update(meta, &fields),
        r#"UPDATE "releases" SET "notes" = "v"."k2" FROM UNNEST($1::integer[], $2::text[], $3::text[]) AS "v"("k0", "k1", "k2") WHERE "releases"."version" = "v"."k0" AND "releases"."name" = "v"."k1""#
    );
}

#[test]
fn first_orders_by_every_key_field() {
    let stmt = Release::all()
        .first_query()
        .sql()
        .expect("renders")
        .expect("sends a query");
    assert!(
        stmt.sql
            .ends_with(r#"ORDER BY "releases"."version" ASC, "releases"."name" ASC LIMIT 1"#),
        "{}",
        stmt.sql
    );
}

#[test]
fn the_table_has_one_named_key_over_every_key_column() {
    let ddl = crate::schema::schema_sql(&[Release::META]).expect("writes");
    assert!(
        ddl[0].contains(r#"CONSTRAINT "releases_pkey" PRIMARY KEY ("version", "name")"#),
        "{}",
        ddl[0]
    );
    assert!(!ddl[0].contains("IDENTITY"), "{}", ddl[0]);
}
