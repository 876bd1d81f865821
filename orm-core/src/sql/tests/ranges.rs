//! Range fields (Django's `contrib.postgres` range fields): exact SQL and
//! binds of every range lookup in its three forms (typed handle, `q!`,
//! runtime `Lookup::parse`), the DDL types and the runtime text form.
//! Operators as Django renders them (`RangeContains` `@>`,
//! `RangeContainedBy` `<@`, `&&`, `<<`, `>>`, `&>`, `&<`, `-|-`,
//! `isempty(..)`, `lower(..)`), each operand cast to its type.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::prelude::*;
use crate::query::LookupPolicy;
use crate::range::{Range, RangeKind};
use crate::types::SqlType;
use crate::Value;

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "events", crate = "crate")]
struct Event {
    #[orm(primary_key)]
    id: i64,
    name: String,
    span: Range<i32>,
    big: Option<Range<i64>>,
    days: Range<NaiveDate>,
    during: Option<Range<NaiveDateTime>>,
    at: Option<Range<DateTime<Utc>>>,
    n: i32,
    day: Option<NaiveDate>,
}

fn where_of(q: impl IntoQ<Event>) -> (String, Vec<Value>) {
    let stmt = Event::filter(q)
        .sql()
        .expect("renders")
        .expect("sends a query");
    let (_, clause) = stmt.sql.split_once(" WHERE ").expect("a WHERE");
    (clause.to_owned(), stmt.binds)
}

fn parsed(key: &str, value: &str) -> (String, Vec<Value>) {
    where_of(Lookup::parse::<Event>(key, value).expect("parses"))
}

fn int4(r: Range<i32>) -> Value {
    Value::Range(
        RangeKind::Int4,
        Some(Box::new(r.map(|v| Value::I32(Some(v))))),
    )
}

fn sql(s: &str, binds: Vec<Value>) -> (String, Vec<Value>) {
    (s.to_owned(), binds)
}

#[test]
fn range_types_and_ddl() {
    let ty = |name: &str| Event::META.field(name).expect("a field").sql_type;
    assert_eq!(ty("span"), SqlType::Range(RangeKind::Int4));
    assert_eq!(ty("span").ddl(None), "int4range");
    assert_eq!(ty("big").ddl(None), "int8range");
    assert!(Event::META.field("big").expect("big").nullable);
    assert_eq!(ty("days").ddl(None), "daterange");
    assert_eq!(ty("during").ddl(None), "tsrange");
    assert_eq!(ty("at").ddl(None), "tstzrange");
    assert!(!ty("span").is_ordered());
    // The runtime text form of each.
    assert_eq!(ty("span").parse("[1,10)"), Ok(int4(Range::new(1, 10))));
    assert_eq!(ty("span").parse("empty"), Ok(int4(Range::empty())));
    assert!(ty("span")
        .parse("[1,10")
        .unwrap_err()
        .contains("is not a range"));
    assert!(ty("days").parse("[2024-01-01,2024-02-01)").is_ok());
    assert!(ty("at").parse("[2024-01-01T00:00:00Z,)").is_ok());
}

#[test]
fn contains_an_element_or_a_range() {
    let f = Event::fields();
    // Django: `span__contains=5` is `"span" @> 5`, with a range
    // `"span" @> '[2,4)'::int4range`.
    let element = sql(
        r#""events"."span" @> $1::integer"#,
        vec![Value::I32(Some(5))],
    );
    assert_eq!(where_of(q!(span__contains = 5)), element);
    assert_eq!(where_of(f.span.contains(5)), element);
    assert_eq!(parsed("span__contains", "5"), element);
    let range = sql(
        r#""events"."span" @> $1::int4range"#,
        vec![int4(Range::new(2, 4))],
    );
    assert_eq!(where_of(q!(span__contains = 2..4)), range);
    assert_eq!(where_of(f.span.contains(Range::new(2, 4))), range);
    assert_eq!(parsed("span__contains", "[2,4)"), range);
    // Text `contains` is still LIKE.
    assert_eq!(
        where_of(q!(name__contains = "a")),
        sql(
            r#""events"."name" LIKE $1"#,
            vec![Value::Text(Some("%a%".into()))]
        )
    );
    // A date range with a date.
    let d = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
    assert_eq!(
        where_of(q!(days__contains = d)),
        sql(r#""events"."days" @> $1::date"#, vec![Value::Date(Some(d))])
    );
}

#[test]
fn range_operators() {
    let f = Event::fields();
    let r = || vec![int4(Range::new(1, 10))];
    let cases = [
        (
            where_of(q!(span__contained_by = 1..10)),
            r#""events"."span" <@ $1::int4range"#,
        ),
        (
            where_of(q!(span__overlap = 1..10)),
            r#""events"."span" && $1::int4range"#,
        ),
        (
            where_of(q!(span__fully_lt = 1..10)),
            r#""events"."span" << $1::int4range"#,
        ),
        (
            where_of(q!(span__fully_gt = 1..10)),
            r#""events"."span" >> $1::int4range"#,
        ),
        (
            where_of(q!(span__not_lt = 1..10)),
            r#""events"."span" &> $1::int4range"#,
        ),
        (
            where_of(q!(span__not_gt = 1..10)),
            r#""events"."span" &< $1::int4range"#,
        ),
        (
            where_of(q!(span__adjacent_to = 1..10)),
            r#""events"."span" -|- $1::int4range"#,
        ),
        (
            where_of(f.span.overlap(Range::new(1, 10))),
            r#""events"."span" && $1::int4range"#,
        ),
        (
            where_of(f.span.adjacent_to(1..10)),
            r#""events"."span" -|- $1::int4range"#,
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, sql(want, r()));
    }
    for (key, op) in [
        ("contained_by", "<@"),
        ("overlap", "&&"),
        ("fully_lt", "<<"),
        ("fully_gt", ">>"),
        ("not_lt", "&>"),
        ("not_gt", "&<"),
        ("adjacent_to", "-|-"),
    ] {
        assert_eq!(
            parsed(&format!("span__{key}"), "[1,10)"),
            sql(&format!(r#""events"."span" {op} $1::int4range"#), r()),
            "{key}"
        );
    }
    // Other range types cast to theirs.
    let (clause, _) = where_of(q!(big__overlap = Range::new(1i64, 2)));
    assert_eq!(clause, r#""events"."big" && $1::int8range"#);
    let (clause, _) = parsed(
        "at__fully_lt",
        "[2024-01-01T00:00:00Z,2024-02-01T00:00:00Z)",
    );
    assert_eq!(clause, r#""events"."at" << $1::tstzrange"#);
}

#[test]
fn flags() {
    let f = Event::fields();
    // Django: `span__isempty=True` is `isempty("span") = true`.
    for (got, function, b) in [
        (where_of(q!(span__isempty = true)), "isempty", true),
        (where_of(q!(span__lower_inc = false)), "lower_inc", false),
        (where_of(q!(span__lower_inf = true)), "lower_inf", true),
        (where_of(q!(span__upper_inc = true)), "upper_inc", true),
        (where_of(f.span.upper_inf(false)), "upper_inf", false),
        (parsed("span__isempty", "false"), "isempty", false),
        (parsed("span__upper_inf", "true"), "upper_inf", true),
    ] {
        assert_eq!(
            got,
            sql(
                &format!(r#"{function}("events"."span") = $1"#),
                vec![Value::Bool(Some(b))]
            )
        );
    }
}

#[test]
fn startswith_and_endswith_are_the_bounds() {
    let f = Event::fields();
    // Django: `span__startswith=1` is `lower("span") = 1`, and a lookup
    // may follow: `span__startswith__gte=3`.
    let eq = sql(r#"lower("events"."span") = $1"#, vec![Value::I32(Some(1))]);
    assert_eq!(where_of(q!(span__startswith = 1)), eq);
    assert_eq!(where_of(f.span.startswith(1)), eq);
    assert_eq!(where_of(f.span.lower_bound().eq(1)), eq);
    assert_eq!(parsed("span__startswith", "1"), eq);
    assert_eq!(parsed("span__startswith__exact", "1"), eq);
    let gte = sql(r#"lower("events"."span") >= $1"#, vec![Value::I32(Some(3))]);
    assert_eq!(where_of(q!(span__startswith__gte = 3)), gte);
    assert_eq!(where_of(f.span.lower_bound().gte(3)), gte);
    assert_eq!(parsed("span__startswith__gte", "3"), gte);
    let lt = sql(r#"upper("events"."span") < $1"#, vec![Value::I32(Some(10))]);
    assert_eq!(where_of(q!(span__endswith__lt = 10)), lt);
    assert_eq!(parsed("span__endswith__lt", "10"), lt);
    assert_eq!(
        where_of(q!(span__endswith = 10)),
        sql(r#"upper("events"."span") = $1"#, vec![Value::I32(Some(10))])
    );
    assert_eq!(
        where_of(q!(span__startswith__in = [1, 2])),
        sql(
            r#"lower("events"."span") = ANY($1)"#,
            vec![Value::Array(vec![Value::I32(Some(1)), Value::I32(Some(2))])]
        )
    );
    assert_eq!(
        parsed("span__startswith__range", "1,5"),
        sql(
            r#"lower("events"."span") BETWEEN $1 AND $2"#,
            vec![Value::I32(Some(1)), Value::I32(Some(5))]
        )
    );
    // An empty `in` after a bound matches nothing, as on a column.
    let none: [i32; 0] = [];
    assert!(Event::filter(q!(span__startswith__in = none))
        .sql()
        .unwrap()
        .is_none());
    // Text `startswith` is still LIKE.
    assert_eq!(
        where_of(q!(name__startswith = "a")),
        sql(
            r#""events"."name" LIKE $1"#,
            vec![Value::Text(Some("a%".into()))]
        )
    );
}

#[test]
fn contained_by_on_scalar_fields() {
    let f = Event::fields();
    // Django's RangeContainedBy on an IntegerField / DateField:
    // `n__contained_by=NumericRange(1, 10)` is `"n" <@ '[1,10)'::int4range`.
    let want = sql(
        r#""events"."n" <@ $1::int4range"#,
        vec![int4(Range::new(1, 10))],
    );
    assert_eq!(where_of(q!(n__contained_by = 1..10)), want);
    assert_eq!(where_of(f.n.contained_by(Range::new(1, 10))), want);
    assert_eq!(parsed("n__contained_by", "[1,10)"), want);
    let (clause, _) = parsed("day__contained_by", "[2024-01-01,2024-02-01)");
    assert_eq!(clause, r#""events"."day" <@ $1::daterange"#);
}

#[test]
fn exact_in_isnull_and_exclude() {
    assert_eq!(
        where_of(q!(span = 1..10)),
        sql(r#""events"."span" = $1"#, vec![int4(Range::new(1, 10))])
    );
    assert_eq!(
        where_of(q!(big__isnull = true)),
        sql(r#""events"."big" IS NULL"#, vec![])
    );
    assert_eq!(
        parsed("span", "empty"),
        sql(r#""events"."span" = $1"#, vec![int4(Range::empty())])
    );
    // exclude on a nullable range field keeps Django's NULL guard.
    let stmt = Event::exclude(q!(big__overlap = Range::new(1i64, 2)))
        .sql()
        .unwrap()
        .unwrap();
    assert!(
        stmt.sql.ends_with(
            r#"WHERE NOT ("events"."big" && $1::int8range AND "events"."big" IS NOT NULL)"#
        ),
        "{}",
        stmt.sql
    );
}

#[test]
fn runtime_errors_name_the_problem() {
    let err = |key: &str, value: &str| Lookup::parse::<Event>(key, value).unwrap_err().to_string();
    // A range lookup on a non-range field lists the field's lookups.
    let e = err("name__fully_lt", "[1,2)");
    assert!(e.contains("fully_lt") && e.contains("icontains"), "{e}");
    // `icontains` on a range field lists the range lookups.
    let e = err("span__icontains", "1");
    assert!(e.contains("adjacent_to") && e.contains("isempty"), "{e}");
    // Malformed range text.
    let e = err("span__overlap", "[1,2");
    assert!(e.contains("is not a range"), "{e}");
    let e = err("span__contains", "x");
    assert!(e.contains("not a valid integer"), "{e}");
    let e = err("span__isempty", "maybe");
    assert!(e.contains("boolean"), "{e}");
    // A bound followed by a text lookup.
    let e = err("span__startswith__icontains", "1");
    assert!(e.contains("span__startswith__icontains"), "{e}");
    // Hostile: long input is refused by the policy's limit.
    let policy = LookupPolicy::any().max_value_len(20);
    let long = format!("[1,{})", "9".repeat(50));
    assert!(Lookup::parse_with::<Event>(&policy, "span__overlap", &long).is_err());
    // Typed runtime values: an element or a range for `contains`, a
    // range elsewhere.
    assert!(Lookup::value::<Event>("span__contains", Value::I32(Some(1))).is_ok());
    assert!(Lookup::value::<Event>("span__contains", int4(Range::new(1, 2))).is_ok());
    assert!(Lookup::value::<Event>("span__contains", Value::I64(Some(1))).is_err());
    assert!(Lookup::value::<Event>("span__overlap", Value::I32(Some(1))).is_err());
}
