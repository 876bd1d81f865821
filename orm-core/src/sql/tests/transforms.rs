//! Date and time transforms (`created__year`, `__date`, `__hour`, ...):
//! exact SQL and binds, in UTC and in another zone.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use crate::prelude::*;
use crate::query::LookupPolicy;
use crate::timezone;
use crate::Value;

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "venues", crate = "crate")]
struct Venue {
    #[orm(primary_key)]
    id: i64,
    /// A field named like a transform: `venue__date` is this field.
    date: NaiveDate,
    name: String,
    opened: DateTime<Utc>,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "events", crate = "crate")]
struct Event {
    #[orm(primary_key)]
    id: i64,
    name: String,
    at: DateTime<Utc>,
    local: NaiveDateTime,
    day: NaiveDate,
    starts: NaiveTime,
    ends: Option<DateTime<Utc>>,
    venue: ForeignKey<Venue>,
}

/// The WHERE clause and binds of `Event::filter(q)`.
fn where_of(q: impl IntoQ<Event>) -> (String, Vec<Value>) {
    let stmt = Event::filter(q)
        .sql()
        .expect("renders")
        .expect("sends a query");
    let (_, clause) = stmt
        .sql
        .split_once(" WHERE ")
        .unwrap_or_else(|| panic!("no WHERE in {}", stmt.sql));
    (clause.to_owned(), stmt.binds)
}

/// As [`where_of`], rendered with `zone` active.
fn where_in(zone: &str, q: impl IntoQ<Event>) -> (String, Vec<Value>) {
    timezone::override_sync(zone, || where_of(q)).expect("a zone name")
}

fn text(s: &str) -> Value {
    Value::Text(Some(s.to_owned()))
}

fn utc() -> Value {
    text("UTC")
}

fn int(v: i32) -> Value {
    Value::I32(Some(v))
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn midnight(y: i32, m: u32, d: u32) -> Value {
    Value::Timestamp(Some(date(y, m, d).and_time(NaiveTime::MIN)))
}

#[test]
fn year_is_a_range_on_the_timestamptz_column_in_the_active_zone() {
    let range = r#"("events"."at" >= ($1::timestamp AT TIME ZONE $2) AND "events"."at" < ($3::timestamp AT TIME ZONE $4))"#;
    assert_eq!(
        where_of(q!(at__year = 2024)),
        (
            range.to_owned(),
            vec![midnight(2024, 1, 1), utc(), midnight(2025, 1, 1), utc()]
        )
    );
    let ny = text("America/New_York");
    assert_eq!(
        where_in("America/New_York", q!(at__year = 2024)),
        (
            range.to_owned(),
            vec![
                midnight(2024, 1, 1),
                ny.clone(),
                midnight(2025, 1, 1),
                ny.clone()
            ]
        )
    );
    // Django's YearLookup: gt = from the next year's start, lte = before it.
    let cases = [
        (q!(at__year__gt = 2024), ">=", 2025),
        (q!(at__year__gte = 2024), ">=", 2024),
        (q!(at__year__lt = 2024), "<", 2024),
        (q!(at__year__lte = 2024), "<", 2025),
    ];
    for (q, op, year) in cases {
        assert_eq!(
            where_in("America/New_York", q),
            (
                format!(r#""events"."at" {op} ($1::timestamp AT TIME ZONE $2)"#),
                vec![midnight(year, 1, 1), ny.clone()]
            )
        );
    }
}

#[test]
fn iso_year_starts_on_the_monday_of_week_one() {
    // ISO 2021 runs from Monday 2021-01-04 to Sunday 2022-01-02.
    assert_eq!(
        where_of(q!(at__iso_year = 2021)),
        (
            r#"("events"."at" >= ($1::timestamp AT TIME ZONE $2) AND "events"."at" < ($3::timestamp AT TIME ZONE $4))"#.to_owned(),
            vec![midnight(2021, 1, 4), utc(), midnight(2022, 1, 3), utc()]
        )
    );
    // in and range compare the extracted year, as Django.
    assert_eq!(
        where_of(q!(at__iso_year__in = [2020, 2021])),
        (
            r#"EXTRACT(ISOYEAR FROM "events"."at" AT TIME ZONE $1)::integer = ANY($2)"#.to_owned(),
            vec![utc(), Value::Array(vec![int(2020), int(2021)])]
        )
    );
}

#[test]
fn year_on_naive_columns_binds_naive_bounds_without_a_zone() {
    assert_eq!(
        where_in("Asia/Tokyo", q!(local__year = 2024)),
        (
            r#"("events"."local" >= $1 AND "events"."local" < $2)"#.to_owned(),
            vec![midnight(2024, 1, 1), midnight(2025, 1, 1)]
        )
    );
    assert_eq!(
        where_of(q!(day__year__lte = 2024)),
        (
            r#""events"."day" < $1"#.to_owned(),
            vec![Value::Date(Some(date(2025, 1, 1)))]
        )
    );
    assert_eq!(
        where_of(q!(day__year__range = (2020, 2021))),
        (
            r#"EXTRACT(YEAR FROM "events"."day")::integer BETWEEN $1 AND $2"#.to_owned(),
            vec![int(2020), int(2021)]
        )
    );
}

#[test]
fn a_year_out_of_chronos_range_is_extracted_instead() {
    assert_eq!(
        where_of(q!(at__year = 300_000)),
        (
            r#"EXTRACT(YEAR FROM "events"."at" AT TIME ZONE $1)::integer = $2"#.to_owned(),
            vec![utc(), int(300_000)]
        )
    );
    assert_eq!(
        where_of(q!(day__year__gt = i32::MAX)),
        (
            r#"EXTRACT(YEAR FROM "events"."day")::integer > $1"#.to_owned(),
            vec![int(i32::MAX)]
        )
    );
}

#[test]
fn every_integer_part_extracts_in_the_active_zone() {
    let cases: [(Q<Event>, &str); 10] = [
        (q!(at__month = 3), "EXTRACT(MONTH FROM "),
        (q!(at__day = 3), "EXTRACT(DAY FROM "),
        (q!(at__week = 3), "EXTRACT(WEEK FROM "),
        (q!(at__week_day = 3), "(EXTRACT(DOW FROM "),
        (q!(at__iso_week_day = 3), "EXTRACT(ISODOW FROM "),
        (q!(at__quarter = 3), "EXTRACT(QUARTER FROM "),
        (q!(at__hour = 3), "EXTRACT(HOUR FROM "),
        (q!(at__minute = 3), "EXTRACT(MINUTE FROM "),
        (q!(at__second = 3), "FLOOR(EXTRACT(SECOND FROM "),
        (q!(at__iso_year__range = (3, 4)), "EXTRACT(ISOYEAR FROM "),
    ];
    for (q, start) in cases {
        let (sql, binds) = where_in("Europe/Paris", q);
        let end = match start {
            "(EXTRACT(DOW FROM " => ") + 1)::integer",
            "FLOOR(EXTRACT(SECOND FROM " => "))::integer",
            _ => ")::integer",
        };
        let rhs = if start.contains("ISOYEAR") {
            " BETWEEN $2 AND $3"
        } else {
            " = $2"
        };
        assert_eq!(
            sql,
            format!(r#"{start}"events"."at" AT TIME ZONE $1{end}{rhs}"#)
        );
        assert_eq!(binds[0], text("Europe/Paris"));
        assert_eq!(binds[1], int(3));
    }
}

#[test]
fn date_and_time_cast_the_local_value() {
    let d = date(2021, 12, 31);
    assert_eq!(
        where_in("America/New_York", q!(at__date = d)),
        (
            r#"("events"."at" AT TIME ZONE $1)::date = $2"#.to_owned(),
            vec![text("America/New_York"), Value::Date(Some(d))]
        )
    );
    let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
    assert_eq!(
        where_of(q!(at__time__lt = noon)),
        (
            r#"("events"."at" AT TIME ZONE $1)::time < $2"#.to_owned(),
            vec![utc(), Value::Time(Some(noon))]
        )
    );
    // A naive timestamp is not converted.
    assert_eq!(
        where_in("America/New_York", q!(local__date__gte = d)),
        (
            r#"("events"."local")::date >= $1"#.to_owned(),
            vec![Value::Date(Some(d))]
        )
    );
    assert_eq!(
        where_of(q!(starts__hour__in = [9, 10])),
        (
            r#"EXTRACT(HOUR FROM "events"."starts")::integer = ANY($1)"#.to_owned(),
            vec![Value::Array(vec![int(9), int(10)])]
        )
    );
}

#[test]
fn typed_handles_build_the_same_conditions_as_q() {
    let f = Event::fields();
    let d = date(2024, 2, 29);
    assert_eq!(
        where_of(f.at.year().gte(2020)),
        where_of(q!(at__year__gte = 2020))
    );
    assert_eq!(
        where_of(f.day.week_day().in_([1, 7])),
        where_of(q!(day__week_day__in = [1, 7]))
    );
    assert_eq!(
        where_of(f.ends.date().range((d, d))),
        where_of(q!(ends__date__range = (d, d)))
    );
    assert_eq!(f.ends.date().meta().name, "ends");
}

#[test]
fn a_relation_then_a_field_named_date_is_that_field() {
    let d = date(2024, 2, 29);
    // `venue__date`: Venue's field `date`, through the relation.
    let (sql, binds) = where_of(q!(venue__date = d));
    assert_eq!(
        sql,
        r#"EXISTS (SELECT 1 FROM "venues" AS "T1" WHERE "T1"."id" = "events"."venue_id" AND "T1"."date" = $1)"#
    );
    assert_eq!(binds, [Value::Date(Some(d))]);
    // `venue__date__year` and `venue__opened__date`: a transform of it.
    let (sql, binds) = where_of(q!(venue__date__year = 2024));
    assert_eq!(
        sql,
        r#"EXISTS (SELECT 1 FROM "venues" AS "T1" WHERE "T1"."id" = "events"."venue_id" AND ("T1"."date" >= $1 AND "T1"."date" < $2))"#
    );
    assert_eq!(
        binds,
        [
            Value::Date(Some(date(2024, 1, 1))),
            Value::Date(Some(date(2025, 1, 1)))
        ]
    );
    let (sql, _) = where_of(q!(venue__opened__date = d));
    assert!(
        sql.ends_with(r#"AND ("T1"."opened" AT TIME ZONE $1)::date = $2)"#),
        "{sql}"
    );
    // The runtime form reads the keys the same way.
    assert_eq!(
        where_of(Lookup::parse::<Event>("venue__date", "2024-02-29").unwrap()),
        where_of(q!(venue__date = d))
    );
    assert_eq!(
        where_of(Lookup::parse::<Event>("venue__date__year", "2024").unwrap()),
        where_of(q!(venue__date__year = 2024))
    );
}

#[test]
fn negation_and_nullable_columns_keep_djangos_null_rule() {
    let (sql, binds) = where_of(!Event::fields().ends.month().eq(1));
    assert_eq!(
        sql,
        r#"NOT (EXTRACT(MONTH FROM "events"."ends" AT TIME ZONE $1)::integer = $2 AND "events"."ends" IS NOT NULL)"#
    );
    assert_eq!(binds, [utc(), int(1)]);
    // An empty `in` matches nothing and sends no query.
    assert!(Event::filter(q!(at__month__in = Vec::<i32>::new()))
        .sql()
        .unwrap()
        .is_none());
}

#[test]
fn the_runtime_form_parses_the_same_keys() {
    let pairs: [(&str, &str, Q<Event>); 8] = [
        ("at__year", "2024", q!(at__year = 2024)),
        ("at__year__gte", "2020", q!(at__year__gte = 2020)),
        ("at__month__in", "1,2", q!(at__month__in = [1, 2])),
        (
            "at__week_day__range",
            "2,6",
            q!(at__week_day__range = (2, 6)),
        ),
        ("at__date", "2021-12-31", q!(at__date = date(2021, 12, 31))),
        (
            "at__time__lt",
            "12:00:00",
            q!(at__time__lt = NaiveTime::from_hms_opt(12, 0, 0).unwrap()),
        ),
        ("starts__second", "5", q!(starts__second = 5)),
        ("day__quarter__lte", "2", q!(day__quarter__lte = 2)),
    ];
    for (key, value, expected) in pairs {
        let parsed = Lookup::parse::<Event>(key, value).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(where_of(parsed), where_of(expected), "{key}");
    }
    let typed = Lookup::value::<Event>("at__day", Value::I32(Some(3))).unwrap();
    assert_eq!(where_of(typed), where_of(q!(at__day = 3)));
}

#[test]
fn the_runtime_form_refuses_what_q_refuses() {
    let err = |key: &str, value: &str| Lookup::parse::<Event>(key, value).unwrap_err().to_string();
    assert_eq!(
        err("name__year", "3"),
        "Event has no lookup `name__year`; valid lookups: exact, iexact, contains, icontains, \
         startswith, istartswith, endswith, iendswith, in, gt, gte, lt, lte, range, isnull, regex, iregex, \
         search, lower, upper, length, trim, ltrim, rtrim"
    );
    assert_eq!(
        err("day__hour", "3"),
        "Event has no lookup `day__hour`; valid lookups: exact, in, gt, gte, lt, lte, range, \
         isnull, contained_by, year, iso_year, month, day, week, week_day, iso_week_day, quarter"
    );
    assert_eq!(
        err("at__year__icontains", "x"),
        "Event has no lookup `at__year__icontains`; valid lookups: exact, in, gt, gte, lt, lte, \
         range, isnull, contained_by"
    );
    // After a transform come the lookups and transforms of its value: a
    // date's, not text's.
    assert_eq!(
        err("at__date__regex", "x"),
        "Event has no lookup `at__date__regex`; valid lookups: exact, in, gt, gte, lt, lte, \
         range, isnull, contained_by, year, iso_year, month, day, week, week_day, iso_week_day, \
         quarter"
    );
    assert_eq!(
        err("at__date__hour", "3"),
        "Event has no lookup `at__date__hour`; valid lookups: exact, in, gt, gte, lt, lte, \
         range, isnull, contained_by, year, iso_year, month, day, week, week_day, iso_week_day, \
         quarter"
    );
    assert!(err("at__year__month", "3").contains("`at__year__month`"));
    assert!(
        err("at__year", "twenty").contains("integer"),
        "{}",
        err("at__year", "twenty")
    );
    assert!(err("at__date", "2021-13-01").contains("at"));
    // `exact` NULL after a transform is `isnull` on the transformed value,
    // as Django's build_lookup makes it; other lookups refuse NULL.
    let null = Lookup::value::<Event>("at__year", Value::I32(None)).unwrap();
    assert_eq!(where_of(null), where_of(q!(at__year__isnull = true)));
    let null = Lookup::value::<Event>("at__year__gt", Value::I32(None))
        .unwrap_err()
        .to_string();
    assert!(null.contains("cannot use NULL with `gt`"), "{null}");
    let wrong = Lookup::value::<Event>("at__date", Value::I32(Some(3)))
        .unwrap_err()
        .to_string();
    assert!(wrong.contains("expected a value of type date"), "{wrong}");
}

#[test]
fn a_policy_names_transformed_keys() {
    let policy = LookupPolicy::new().allow("at__year", &["exact", "gte"]);
    assert!(Lookup::parse_with::<Event>(&policy, "at__year", "2024").is_ok());
    assert!(Lookup::parse_with::<Event>(&policy, "at__year__gte", "2024").is_ok());
    assert_eq!(
        Lookup::parse_with::<Event>(&policy, "at__month", "1")
            .unwrap_err()
            .to_string(),
        "Event has no filter `at__month`; valid filters: at__year, at__year__gte"
    );
}

#[test]
fn dates_and_datetimes_bind_the_active_zone() {
    let meta = <Event as Model>::META;
    let at = meta.field("at").unwrap();
    let zone = timezone::override_sync("Asia/Kolkata", timezone::current).unwrap();
    let stmt = crate::sql::statements::datetimes(
        meta,
        &crate::query::q::Node::All,
        at,
        "day",
        &zone,
        false,
    );
    assert_eq!(
        stmt.binds,
        [text("day"), text("Asia/Kolkata"), text("Asia/Kolkata")]
    );
}

#[test]
fn transforms_chain_each_on_the_value_before_it() {
    // Django's `created__date__year`: the year of the local date, compared
    // as a range on that date (YearLookup on its input, `TruncDate` here).
    assert_eq!(
        where_in("America/New_York", q!(at__date__year = 2022)),
        (
            r#"(("events"."at" AT TIME ZONE $1)::date >= $2 AND ("events"."at" AT TIME ZONE $3)::date < $4)"#.to_owned(),
            vec![
                text("America/New_York"),
                Value::Date(Some(date(2022, 1, 1))),
                text("America/New_York"),
                Value::Date(Some(date(2023, 1, 1))),
            ]
        )
    );
    assert_eq!(
        where_of(q!(at__date__month__in = [1, 2])),
        (
            r#"EXTRACT(MONTH FROM ("events"."at" AT TIME ZONE $1)::date)::integer = ANY($2)"#
                .to_owned(),
            vec![utc(), Value::Array(vec![int(1), int(2)])]
        )
    );
    assert_eq!(
        where_of(q!(at__time__hour__gte = 9)),
        (
            r#"EXTRACT(HOUR FROM ("events"."at" AT TIME ZONE $1)::time)::integer >= $2"#.to_owned(),
            vec![utc(), int(9)]
        )
    );
    // The typed handles chain the same way.
    let f = Event::fields();
    assert_eq!(
        where_of(f.at.date().year().eq(2022)),
        where_of(q!(at__date__year = 2022))
    );
    assert_eq!(
        where_of(f.at.time().hour().gte(9)),
        where_of(q!(at__time__hour__gte = 9))
    );
}

#[test]
fn text_transforms_take_the_lookups_of_their_output() {
    // Django's Lower/Upper/Length/Trim registered as transforms.
    assert_eq!(
        where_of(q!(name__lower__startswith = "ab%")),
        (
            r#"LOWER("events"."name") LIKE $1"#.to_owned(),
            vec![text("ab\\%%")]
        )
    );
    assert_eq!(
        where_of(q!(name__trim__iexact = "x")),
        (
            r#"UPPER(TRIM("events"."name")) = UPPER($1)"#.to_owned(),
            vec![text("x")]
        )
    );
    assert_eq!(
        where_of(q!(name__length__gt = 3)),
        (r#"LENGTH("events"."name") > $1"#.to_owned(), vec![int(3)])
    );
    assert_eq!(
        where_of(q!(name__upper__in = ["A", "B"])),
        (
            r#"UPPER("events"."name") = ANY($1)"#.to_owned(),
            vec![Value::Array(vec![text("A"), text("B")])]
        )
    );
    assert_eq!(
        where_of(q!(name__rtrim__lower__length__lte = 5)),
        (
            r#"LENGTH(LOWER(RTRIM("events"."name"))) <= $1"#.to_owned(),
            vec![int(5)]
        )
    );
    let f = Event::fields();
    assert_eq!(
        where_of(f.name.lower().startswith("ab%")),
        where_of(q!(name__lower__startswith = "ab%"))
    );
    // Across a relation, the transformed field of the related row.
    assert_eq!(
        where_of(q!(venue__name__lower__startswith = "ha")),
        (
            r#"EXISTS (SELECT 1 FROM "venues" AS "T1" WHERE "T1"."id" = "events"."venue_id" AND LOWER("T1"."name") LIKE $1)"#.to_owned(),
            vec![text("ha%")]
        )
    );
}

#[test]
fn isnull_f_and_subqueries_follow_a_transform() {
    // `isnull` on the transformed value (Django: `ends__date__isnull`).
    assert_eq!(
        where_of(q!(ends__date__isnull = true)),
        (
            r#"("events"."ends" AT TIME ZONE $1)::date IS NULL"#.to_owned(),
            vec![utc()]
        )
    );
    // `= None` after a transform is `isnull`, as Django's build_lookup.
    assert_eq!(
        where_of(q!(ends__date = None)),
        where_of(q!(ends__date__isnull = true))
    );
    // Under `exclude`, `isnull` takes no `IS NOT NULL` guard.
    let stmt = Event::all()
        .exclude(q!(ends__year__isnull = true))
        .sql()
        .unwrap()
        .unwrap();
    assert!(
        stmt.sql.ends_with(
            r#"WHERE NOT (EXTRACT(YEAR FROM "events"."ends" AT TIME ZONE $1)::integer IS NULL)"#
        ),
        "{}",
        stmt.sql
    );
    // F() compares the transformed value with another field.
    assert_eq!(
        where_of(q!(at__year__gt = F("id"))),
        (
            r#"EXTRACT(YEAR FROM "events"."at" AT TIME ZONE $1)::integer > "events"."id""#
                .to_owned(),
            vec![utc()]
        )
    );
    // `__in` a values() subquery.
    let (sql, binds) = where_of(q!(
        name__lower__in = Event::filter(q!(id = 1)).values("name")
    ));
    assert_eq!(
        sql,
        r#"LOWER("events"."name") IN (SELECT "events"."name" FROM "events" WHERE "events"."id" = $1)"#
    );
    assert_eq!(binds, [Value::I64(Some(1))]);
}

#[test]
fn the_runtime_form_chains_transforms_too() {
    let pairs = [
        ("at__date__year", "2022", q!(at__date__year = 2022)),
        ("at__time__hour__gte", "9", q!(at__time__hour__gte = 9)),
        (
            "name__lower__startswith",
            "ab",
            q!(name__lower__startswith = "ab"),
        ),
        (
            "name__length__range",
            "1,3",
            q!(name__length__range = (1, 3)),
        ),
        ("ends__date__isnull", "true", q!(ends__date__isnull = true)),
    ];
    for (key, value, expected) in pairs {
        let parsed = Lookup::parse::<Event>(key, value).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(where_of(parsed), where_of(expected), "{key}");
    }
    // A text transform is not one of a date, nor an array's `len`; a fifth
    // transform is refused.
    assert!(Lookup::parse::<Event>("at__lower", "x").is_err());
    assert!(Lookup::parse::<Event>("at__len", "1").is_err());
    let err = Lookup::parse::<Event>("name__trim__trim__trim__trim__trim", "x")
        .unwrap_err()
        .to_string();
    assert!(err.contains("name__trim__trim__trim__trim__trim"), "{err}");
}

#[test]
fn a_range_lookup_follows_a_transform_of_an_integer() {
    // Django registers RangeContainedBy on IntegerField, so the year
    // (an integer) takes it: `created__year__contained_by=NumericRange(..)`.
    let typed = where_of(q!(at__year__contained_by = crate::Range::new(2020, 2023)));
    assert_eq!(
        typed.0,
        r#"EXTRACT(YEAR FROM "events"."at" AT TIME ZONE $1)::integer <@ $2::int4range"#
    );
    let parsed = Lookup::parse::<Event>("at__year__contained_by", "[2020,2023)").unwrap();
    assert_eq!(where_of(parsed), typed);
}
