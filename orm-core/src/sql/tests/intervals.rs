//! `interval` fields (Django's `DurationField`) and `numrange` fields
//! (`DecimalRangeField`): exact SQL and binds of their lookups in the three
//! forms (`q!`, typed handles, `Lookup::parse`), `Sum`/`Avg`, date and
//! time arithmetic giving an interval, DDL and migrations.

use chrono::{DateTime, Utc};

use super::aggregate_sql;
use crate::migrate::ops::{diff, Op};
use crate::migrate::state::{Renames, SchemaState};
use crate::prelude::*;
use crate::query::{Avg, Max, Sum};
use crate::range::{Range, RangeKind};
use crate::types::SqlType;
use crate::{Decimal, Interval, Value};

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "tasks", crate = "crate")]
struct Task {
    #[orm(primary_key)]
    id: i64,
    took: Interval,
    budget: Option<Interval>,
    starts: DateTime<Utc>,
    ends: Option<DateTime<Utc>>,
    price: Decimal,
    prices: Option<Range<Decimal>>,
}

fn where_of(q: impl IntoQ<Task>) -> (String, Vec<Value>) {
    let stmt = Task::filter(q)
        .sql()
        .expect("renders")
        .expect("sends a query");
    let (_, clause) = stmt.sql.split_once(" WHERE ").expect("a WHERE");
    (clause.to_owned(), stmt.binds)
}

fn parsed(key: &str, value: &str) -> (String, Vec<Value>) {
    where_of(Lookup::parse::<Task>(key, value).expect("parses"))
}

fn sql(s: &str, binds: Vec<Value>) -> (String, Vec<Value>) {
    (s.to_owned(), binds)
}

fn iv(i: Interval) -> Value {
    Value::Interval(Some(i))
}

fn dec(s: &str) -> Decimal {
    s.parse().expect("a decimal")
}

fn num(r: Range<Decimal>) -> Value {
    Value::Range(
        RangeKind::Num,
        Some(Box::new(r.map(|v| Value::Decimal(Some(v))))),
    )
}

#[test]
fn types_and_ddl() {
    let ty = |name: &str| Task::META.field(name).expect("a field").sql_type;
    assert_eq!(ty("took"), SqlType::Interval);
    assert_eq!(ty("took").ddl(None), "interval");
    assert!(Task::META.field("budget").expect("budget").nullable);
    assert_eq!(SqlType::Array(&SqlType::Interval).name(), "interval[]");
    assert_eq!(ty("prices"), SqlType::Range(RangeKind::Num));
    assert_eq!(ty("prices").ddl(None), "numrange");
}

#[test]
fn ordered_lookups_bind_intervals() {
    let day = Interval::from_days(1);
    let want = sql(r#""tasks"."took" >= $1"#, vec![iv(day)]);
    assert_eq!(where_of(q!(took__gte = Interval::from_days(1))), want);
    assert_eq!(where_of(Task::fields().took.gte(day)), want);
    // The runtime form reads PostgreSQL's, Django's and ISO 8601's text.
    assert_eq!(parsed("took__gte", "1 day"), want);
    assert_eq!(parsed("took__gte", "1 00:00:00"), want);
    assert_eq!(parsed("took__gte", "P1D"), want);
    assert_eq!(
        where_of(
            Task::fields()
                .budget
                .range((Interval::from_hours(1), Interval::from_months(1)))
        ),
        sql(
            r#""tasks"."budget" BETWEEN $1 AND $2"#,
            vec![iv(Interval::from_hours(1)), iv(Interval::from_months(1))]
        )
    );
    assert_eq!(
        where_of(q!(budget = None)),
        sql(r#""tasks"."budget" IS NULL"#, vec![])
    );
    assert_eq!(
        parsed("budget__in", "01:00:00,P1M"),
        sql(
            r#""tasks"."budget" = ANY($1)"#,
            vec![Value::Array(vec![
                iv(Interval::from_hours(1)),
                iv(Interval::from_months(1))
            ])]
        )
    );
}

#[test]
fn runtime_errors_are_clear() {
    let err = Lookup::parse::<Task>("took__lt", "10:30")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`10:30` is not an interval"), "{err}");
    assert!(err.contains("HH:MM:SS"), "{err}");
    let err = Lookup::parse::<Task>("took__lt", "soon")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`soon` is not an interval"), "{err}");
    // A text lookup does not apply to an interval (Django's DurationField
    // has none), and the error names the valid ones.
    let err = Lookup::parse::<Task>("took__icontains", "1")
        .unwrap_err()
        .to_string();
    assert!(err.contains("icontains") && err.contains("gte"), "{err}");
}

#[test]
fn sum_and_avg_are_intervals() {
    // Django: Sum/Avg of a DurationField are durations (PostgreSQL's
    // sum(interval) and avg(interval) are intervals).
    let stmt = aggregate_sql(
        Task::all(),
        &[
            Sum("took"),
            Avg("budget").default(Interval::ZERO),
            Max("took"),
        ],
    );
    assert_eq!(
        stmt.sql,
        r#"SELECT SUM("tasks"."took") AS "took__sum", COALESCE(AVG("tasks"."budget"), $1) AS "budget__avg", MAX("tasks"."took") AS "took__max" FROM "tasks""#
    );
    assert_eq!(stmt.binds, vec![iv(Interval::ZERO)]);
    for agg in [Sum("took"), Avg("took"), Max("took")] {
        let resolved = agg.resolve(Task::META).expect("resolves");
        assert_eq!(resolved.ty, SqlType::Interval);
    }
}

#[test]
fn timestamp_arithmetic_gives_intervals() {
    // Django's TemporalSubtraction: F("ends") - F("starts") is a duration.
    let diff_expr = F("ends") - F("starts");
    assert_eq!(
        diff_expr.result_type(Task::META).expect("typed"),
        SqlType::Interval
    );
    assert_eq!(
        where_of(q!(took__lt = F("ends") - F("starts"))),
        sql(
            r#""tasks"."took" < ("tasks"."ends" - "tasks"."starts")"#,
            vec![]
        )
    );
    // An interval value is cast: PostgreSQL would take a bare parameter
    // next to a timestamp for a timestamp.
    let later = F("starts") + Interval::from_hours(1);
    assert_eq!(
        later.result_type(Task::META).expect("typed"),
        SqlType::TimestampTz
    );
    assert_eq!(
        where_of(q!(ends__gt = F("starts") + Interval::from_hours(1))),
        sql(
            r#""tasks"."ends" > ("tasks"."starts" + $1::interval)"#,
            vec![iv(Interval::from_hours(1))]
        )
    );
    let twice = F("took") * 2;
    assert_eq!(
        twice.result_type(Task::META).expect("typed"),
        SqlType::Interval
    );
    // No operator: a number plus an interval.
    let bad = F("price") + F("took");
    let err = bad.result_type(Task::META).unwrap_err().to_string();
    assert!(
        err.contains("arithmetic needs numbers, not interval"),
        "{err}"
    );
}

#[test]
fn migrations_write_interval_columns() {
    let new = SchemaState::from_models(&[Task::META]);
    let ops = diff(
        &SchemaState::default(),
        &new,
        &Renames::default(),
        &Default::default(),
    )
    .expect("a diff");
    let [Op::CreateTable(_, table)] = &ops[..] else {
        panic!("{ops:?}")
    };
    let ty = |name: &str| {
        table
            .columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.sql_type.clone())
    };
    assert_eq!(ty("took").as_deref(), Some("interval"));
    assert_eq!(ty("prices").as_deref(), Some("numrange"));
    let sql = ops[0].up().expect("sql");
    assert!(sql.contains(r#""took" interval NOT NULL"#), "{sql}");
    assert!(
        sql.contains(r#""budget" interval,"#) || sql.contains(r#""budget" interval "#),
        "{sql}"
    );
    assert!(sql.contains(r#""prices" numrange"#), "{sql}");
    // A NOT NULL interval column added to a table with rows needs a fill.
    let mut old = new.clone();
    old.tables
        .get_mut("tasks")
        .expect("tasks")
        .columns
        .retain(|c| c.name != "took");
    let err = diff(&old, &new, &Renames::default(), &Default::default()).unwrap_err();
    assert_eq!(
        err,
        crate::migrate::ops::DiffError::NeedsDefault(vec![(
            "tasks.took".into(),
            "interval".into()
        )])
    );
    let fills = [("tasks.took".to_owned(), "'0'".to_owned())].into();
    let ops = diff(&old, &new, &Renames::default(), &fills).expect("a diff");
    let up = ops[0].up().expect("sql");
    assert!(
        up.contains(r#"ADD COLUMN "took" interval NOT NULL DEFAULT '0'"#),
        "{up}"
    );
}

#[test]
fn numrange_lookups() {
    let r = || Range::new(dec("1.5"), dec("10"));
    let f = Task::fields();
    // Django's DecimalRangeField: `prices__contains=Decimal("2.5")` is
    // `"prices" @> 2.5::numeric`.
    assert_eq!(
        where_of(q!(prices__contains = dec("2.5"))),
        sql(
            r#""tasks"."prices" @> $1::numeric"#,
            vec![Value::Decimal(Some(dec("2.5")))]
        )
    );
    assert_eq!(
        where_of(f.prices.overlap(r())),
        sql(r#""tasks"."prices" && $1::numrange"#, vec![num(r())])
    );
    assert_eq!(
        parsed("prices__fully_lt", "[1.5,10)"),
        sql(r#""tasks"."prices" << $1::numrange"#, vec![num(r())])
    );
    // RangeContainedBy on a DecimalField.
    let want = sql(r#""tasks"."price" <@ $1::numrange"#, vec![num(r())]);
    assert_eq!(
        where_of(q!(price__contained_by = dec("1.5")..dec("10"))),
        want
    );
    assert_eq!(where_of(f.price.contained_by(r())), want);
    assert_eq!(parsed("price__contained_by", "[1.5,10)"), want);
    let err = Lookup::parse::<Task>("prices__contains", "x")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`x` is not a decimal number"), "{err}");
    // The text form.
    assert_eq!(r().to_string(), "[1.5,10)");
    assert_eq!(
        "(,2.25]".parse::<Range<Decimal>>().unwrap(),
        Range::from(..=dec("2.25"))
    );
}
