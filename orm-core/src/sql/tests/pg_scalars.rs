//! Scalar PostgreSQL types (`numeric`, `inet`, `citext`; Django's
//! `DecimalField`, `GenericIPAddressField`, `CICharField`): exact SQL and
//! binds of their lookups and aggregates, DDL types, migrations (the
//! `citext` extension first, a precision change as a type change), and the
//! runtime form.

use std::net::IpAddr;

use super::aggregate_sql;
use crate::migrate::ops::{diff, Op};
use crate::migrate::state::{Renames, SchemaState};
use crate::prelude::*;
use crate::query::{Avg, Sum};
use crate::types::SqlType;
use crate::{Decimal, Value};

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "items", crate = "crate")]
struct Item {
    #[orm(primary_key)]
    id: i64,
    #[orm(max_digits = 10, decimal_places = 2)]
    price: Decimal,
    exact: Option<Decimal>,
    ip: Option<IpAddr>,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "accounts", crate = "crate")]
struct Account {
    #[orm(primary_key)]
    id: i64,
    #[orm(citext, unique)]
    email: String,
    #[orm(citext, max_length = 8)]
    nick: Option<String>,
}

fn dec(s: &str) -> Decimal {
    s.parse().expect("a decimal")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("an address")
}

/// The WHERE clause and binds of `M::filter(q)`.
fn where_of<M: Model>(q: impl IntoQ<M>) -> (String, Vec<Value>) {
    let stmt = M::filter(q).sql().expect("renders").expect("sends a query");
    let (_, clause) = stmt
        .sql
        .split_once(" WHERE ")
        .unwrap_or_else(|| panic!("no WHERE in {}", stmt.sql));
    (clause.to_owned(), stmt.binds)
}

#[test]
fn types_and_ddl() {
    let field = |meta: &'static crate::ModelMeta, name: &str| meta.field(name).expect("a field");
    assert_eq!(field(Item::META, "price").sql_type, SqlType::Numeric);
    // Django's DecimalField(max_digits=10, decimal_places=2) is numeric(10, 2).
    assert_eq!(field(Item::META, "price").ddl_type(), "numeric(10,2)");
    // Without them: PostgreSQL's unconstrained numeric.
    assert_eq!(field(Item::META, "exact").ddl_type(), "numeric");
    assert_eq!(field(Item::META, "ip").ddl_type(), "inet");
    assert_eq!(field(Account::META, "email").sql_type, SqlType::CiText);
    // citext has no length: max_length is checked before writes only.
    assert_eq!(field(Account::META, "nick").ddl_type(), "citext");
    assert_eq!(SqlType::Array(&SqlType::Numeric).name(), "numeric[]");
}

#[test]
fn decimal_lookups_bind_decimals() {
    assert_eq!(
        where_of::<Item>(q!(price__gte = dec("9.99"))),
        (
            r#""items"."price" >= $1"#.to_owned(),
            vec![Value::Decimal(Some(dec("9.99")))]
        )
    );
    let f = Item::fields();
    assert_eq!(
        where_of::<Item>(f.exact.range((dec("-1"), dec("1")))),
        (
            r#""items"."exact" BETWEEN $1 AND $2"#.to_owned(),
            vec![
                Value::Decimal(Some(dec("-1"))),
                Value::Decimal(Some(dec("1")))
            ]
        )
    );
    // The runtime form parses the text (and refuses what is no decimal).
    assert_eq!(
        where_of::<Item>(Lookup::parse::<Item>("price__lt", " 1.50 ").expect("parses")),
        (
            r#""items"."price" < $1"#.to_owned(),
            vec![Value::Decimal(Some(dec("1.50")))]
        )
    );
    assert_eq!(
        SqlType::Numeric.parse("1e3"),
        Ok(Value::Decimal(Some(dec("1000"))))
    );
    let err = Lookup::parse::<Item>("price", "1,5")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`1,5` is not a decimal number"), "{err}");
}

#[test]
fn decimal_sum_and_avg_are_numeric_and_arithmetic_types() {
    // Django: Sum/Avg of a DecimalField are DecimalField; no cast to
    // double precision as for floats.
    let stmt = aggregate_sql(Item::all(), &[Sum("price"), Avg("price").default(0)]);
    assert_eq!(
        stmt.sql,
        r#"SELECT SUM("items"."price") AS "price__sum", COALESCE(AVG("items"."price"), $1) AS "price__avg" FROM "items""#
    );
    assert_eq!(stmt.binds, vec![Value::I32(Some(0))]);
    // A decimal times an integer: the integer is bound as it is (and sent
    // as numeric).
    assert_eq!(
        where_of::<Item>(q!(price__gt = F("exact") * 2)),
        (
            r#""items"."price" > ("items"."exact" * $1)"#.to_owned(),
            vec![Value::I32(Some(2))]
        )
    );
}

#[test]
fn inet_lookups_and_runtime_parsing() {
    assert_eq!(
        where_of::<Item>(q!(ip__in = [ip("::1"), ip("10.0.0.1")])),
        (
            r#""items"."ip" = ANY($1)"#.to_owned(),
            vec![Value::Array(vec![
                Value::Inet(Some(ip("::1"))),
                Value::Inet(Some(ip("10.0.0.1")))
            ])]
        )
    );
    assert_eq!(
        where_of::<Item>(Lookup::parse::<Item>("ip__in", "::1,10.0.0.1").expect("parses")),
        (
            r#""items"."ip" = ANY($1)"#.to_owned(),
            vec![Value::Array(vec![
                Value::Inet(Some(ip("::1"))),
                Value::Inet(Some(ip("10.0.0.1")))
            ])]
        )
    );
    assert_eq!(
        where_of::<Item>(Lookup::parse::<Item>("ip__gt", "10.0.0.1").expect("parses")).0,
        r#""items"."ip" > $1"#
    );
    let err = Lookup::parse::<Item>("ip", "10.0.0.256")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`10.0.0.256` is not an IPv4 or IPv6 address"),
        "{err}"
    );
    let err = Lookup::parse::<Item>("ip__icontains", "10")
        .unwrap_err()
        .to_string();
    assert!(err.contains("icontains"), "{err}");
}

#[test]
fn citext_exact_is_plain_equality_and_text_lookups_apply() {
    // citext's own `=` is case-insensitive: no UPPER() needed.
    assert_eq!(
        where_of::<Account>(q!(email = "A@x.org")),
        (
            r#""accounts"."email" = $1"#.to_owned(),
            vec![Value::Text(Some("A@x.org".into()))]
        )
    );
    // The runtime form takes the text lookups on citext, as on text.
    let (sql, _) = where_of::<Account>(
        Lookup::parse::<Account>("email__icontains", "x").expect("a text lookup"),
    );
    // As on text (Django: `UPPER("email"::text) LIKE UPPER(%s)`).
    assert_eq!(sql, r#"UPPER("accounts"."email") LIKE UPPER($1)"#);
}

#[test]
fn migrations_create_the_citext_extension_before_the_tables() {
    let new = SchemaState::from_models(&[Account::META, Item::META]);
    assert_eq!(new.extensions.iter().collect::<Vec<_>>(), ["citext"]);
    let ops = diff(
        &SchemaState::default(),
        &new,
        &Renames::default(),
        &Default::default(),
    )
    .expect("a diff");
    assert_eq!(ops[0], Op::CreateExtension("citext".into()));
    assert_eq!(
        ops[0].up().expect("sql"),
        r#"CREATE EXTENSION IF NOT EXISTS "citext""#
    );
    assert_eq!(
        ops[0].inverse().up().expect("sql"),
        r#"DROP EXTENSION IF EXISTS "citext""#
    );
    assert!(matches!(ops[1], Op::CreateTable(..)));
    // Nothing changes: no op, the extension included.
    let again = diff(&new, &new, &Renames::default(), &Default::default()).expect("a diff");
    assert!(again.is_empty(), "{again:?}");
    // A state without citext keeps no `extensions` key in its file.
    let plain = SchemaState::from_models(&[Item::META]);
    let json = serde_json::to_string(&plain).expect("json");
    assert!(!json.contains("extensions"), "{json}");
    // generate_schemas writes the extension first too.
    let sql = crate::schema::schema_sql(&[Account::META]).expect("sql");
    assert_eq!(sql[0], r#"CREATE EXTENSION IF NOT EXISTS "citext""#);
}

#[test]
fn a_precision_change_is_a_type_change() {
    let old = SchemaState::from_models(&[Item::META]);
    let mut new = old.clone();
    let table = new.tables.get_mut("items").expect("items");
    table.columns[1].sql_type = "numeric(12,4)".into();
    let ops = diff(&old, &new, &Renames::default(), &Default::default()).expect("a diff");
    assert_eq!(
        ops,
        [Op::AlterType {
            table: "items".into(),
            column: "price".into(),
            from: "numeric(10,2)".into(),
            to: "numeric(12,4)".into(),
        }]
    );
    assert_eq!(
        ops[0].up().expect("sql"),
        r#"ALTER TABLE "items" ALTER COLUMN "price" TYPE numeric(12,4) USING "price"::numeric(12,4)"#
    );
    // More places and as many whole digits: nothing is lost; the way back
    // narrows (and is reported as destructive).
    assert_eq!(ops[0].destructive(), None);
    assert!(ops[0].inverse().destructive().is_some());
}
