//! The SQL of database functions and `Case`/`When` inside expressions:
//! each value a parameter that says its type, each name quoted, and the
//! type checks that run before anything is sent.

use super::*;
use crate::functions::*;
use crate::query::{Expr, OuterRef};
use crate::sql::condition::Scope;
use crate::sql::SqlWriter;

/// The expression rendered on `users`, and its values.
fn render(e: impl Into<Expr>) -> (String, Vec<Value>) {
    let e = e.into();
    e.check(User::META, None).expect("checks");
    let mut w = SqlWriter::new();
    e.push_sql(&mut w, Scope::root(User::META));
    let stmt = w.finish();
    (stmt.sql, stmt.binds)
}

fn sql(e: impl Into<Expr>) -> String {
    render(e).0
}

fn error(e: impl Into<Expr>) -> String {
    let e = e.into();
    e.check(User::META, None)
        .and_then(|()| e.result_type(User::META).map(|_| ()))
        .unwrap_err()
        .to_string()
}

#[test]
fn text_functions() {
    assert_eq!(sql(Lower("name")), r#"LOWER("users"."name")"#);
    assert_eq!(sql(Upper(F("email"))), r#"UPPER("users"."email")"#);
    assert_eq!(sql(Length("name")), r#"LENGTH("users"."name")"#);
    assert_eq!(sql(Trim("name")), r#"BTRIM("users"."name")"#);
    assert_eq!(
        render(Concat([F("name"), Value(" <"), F("email"), Value(">")])),
        (
            r#"CONCAT("users"."name"::text, $1::text::text, "users"."email"::text, $2::text::text)"#
                .to_owned(),
            vec![text(" <"), text(">")]
        )
    );
    assert_eq!(
        render(Replace("name", Value("a"), Value("b"))),
        (
            r#"REPLACE("users"."name", $1::text, $2::text)"#.to_owned(),
            vec![text("a"), text("b")]
        )
    );
    assert_eq!(
        sql(StrIndex("name", Value("x"))),
        r#"STRPOS("users"."name", $1::text)"#
    );
    assert_eq!(
        sql(Substr("name", 2, Some(3))),
        r#"SUBSTRING("users"."name", 2, 3)"#
    );
    assert_eq!(
        sql(Substr("name", 1, None)),
        r#"SUBSTRING("users"."name", 1)"#
    );
}

#[test]
fn comparisons_and_conversions() {
    assert_eq!(
        render(Coalesce([F("email"), F("name"), Value("?")])),
        (
            r#"COALESCE("users"."email", "users"."name", $1::text)"#.to_owned(),
            vec![text("?")]
        )
    );
    assert_eq!(
        sql(Greatest([F("karma"), Value(0)])),
        r#"GREATEST("users"."karma", $1::integer)"#
    );
    assert_eq!(
        sql(Least(["karma", "id"])),
        r#"LEAST("users"."karma", "users"."id")"#
    );
    assert_eq!(
        sql(NullIf("email", Value(""))),
        r#"NULLIF("users"."email", $1::text)"#
    );
    assert_eq!(
        sql(Cast("karma", crate::types::SqlType::Text)),
        r#"CAST("users"."karma" AS text)"#
    );
    assert_eq!(sql(Now()), "STATEMENT_TIMESTAMP()");
}

#[test]
fn dates_cut_and_taken_apart_in_the_active_zone() {
    let utc = || vec![text("UTC")];
    assert_eq!(
        render(ExtractYear("created_at")),
        (
            r#"(EXTRACT(YEAR FROM ("users"."created_at" AT TIME ZONE $1)))::integer"#.to_owned(),
            utc()
        )
    );
    // Django's week_day: 1 is Sunday (PostgreSQL's DOW is 0).
    assert_eq!(
        sql(ExtractWeekDay("created_at")),
        r#"(EXTRACT(DOW FROM ("users"."created_at" AT TIME ZONE $1)) + 1)::integer"#
    );
    assert_eq!(
        sql(ExtractSecond("created_at")),
        r#"(FLOOR(EXTRACT(SECOND FROM ("users"."created_at" AT TIME ZONE $1))))::integer"#
    );
    assert_eq!(
        render(TruncMonth("created_at")),
        (
            r#"(DATE_TRUNC('month', ("users"."created_at" AT TIME ZONE $1)) AT TIME ZONE $2)"#
                .to_owned(),
            vec![text("UTC"), text("UTC")]
        )
    );
    assert_eq!(
        sql(TruncDate("created_at")),
        r#"(("users"."created_at" AT TIME ZONE $1))::date"#
    );
    // The zone is the one active when the query is rendered.
    let tokyo =
        crate::timezone::override_zone("Asia/Tokyo", async { render(TruncDay("created_at")) });
    let (_, binds) = futures_util::FutureExt::now_or_never(tokyo)
        .expect("ready")
        .expect("zone");
    assert_eq!(binds, vec![text("Asia/Tokyo"), text("Asia/Tokyo")]);
}

#[test]
fn numbers() {
    assert_eq!(
        sql(Round("karma", 0)),
        r#"ROUND(("users"."karma")::numeric, 0)::integer"#
    );
    assert_eq!(sql(Abs("karma")), r#"ABS("users"."karma")"#);
    assert_eq!(
        sql(Mod("karma", Value(7))),
        r#"MOD("users"."karma"::bigint, $1::integer::bigint)"#
    );
    assert_eq!(
        sql(Mod("karma", Value(2.5))),
        r#"MOD(("users"."karma")::numeric, ($1::double precision)::numeric)::double precision"#
    );
    assert_eq!(
        sql(Power("karma", Value(2))),
        r#"POWER("users"."karma"::double precision, $1::integer::double precision)"#
    );
}

#[test]
fn case_when_renders_conditions_on_the_row() {
    let level = Case([
        When::<User>(q!(karma__gte = 100), Value("high")),
        When::<User>(
            q!(karma__gte = 10) & q!(email__isnull = false),
            Value("mid"),
        ),
    ])
    .default(Value("low"));
    assert_eq!(
        render(level),
        (
            r#"CASE WHEN "users"."karma" >= $1 THEN $2::text WHEN "users"."karma" >= $3 AND "users"."email" IS NOT NULL THEN $4::text ELSE $5::text END"#
                .to_owned(),
            vec![
                Value::I32(Some(100)),
                text("high"),
                Value::I32(Some(10)),
                text("mid"),
                text("low")
            ]
        )
    );
    // Without a default: NULL, as Django.
    assert_eq!(
        sql(Case([When::<User>(q!(name = "x"), F("karma"))])),
        r#"CASE WHEN "users"."name" = $1 THEN "users"."karma" END"#
    );
}

#[test]
fn functions_in_updates_filters_and_orderings() {
    let mut qs = User::filter(q!(karma__lt = 0));
    let stmt = qs
        .update_bound(q!(name = Lower(F("name")), created_at = Now()))
        .unwrap()
        .unwrap();
    assert_eq!(
        stmt.sql,
        r#"UPDATE "users" SET "name" = LOWER("users"."name"), "created_at" = STATEMENT_TIMESTAMP() WHERE "users"."karma" < $1"#
    );
    let (sql, binds) = where_of(q!(created_at__lt = Now()) & q!(karma__gt = Length(F("name"))));
    assert_eq!(
        sql,
        r#""users"."created_at" < STATEMENT_TIMESTAMP() AND "users"."karma" > LENGTH("users"."name")"#
    );
    assert!(binds.is_empty());
    let stmt =
        select(User::all().order_by([Lower("name").asc(), Length("email").desc().nulls_last()]));
    assert_eq!(
        stmt.sql,
        format!(
            r#"SELECT {COLS} FROM "users" ORDER BY LOWER("users"."name") ASC, LENGTH("users"."email") DESC NULLS LAST"#
        )
    );
}

#[test]
fn wrong_arguments_are_errors_before_anything_is_sent() {
    assert_eq!(
        error(Lower("karma")),
        "invalid query on User: Lower() takes text, not integer"
    );
    assert!(error(Abs("name")).contains("Abs() takes a number, not text"));
    assert!(error(Coalesce(["name"])).contains("Coalesce() takes at least 2 expressions, not 1"));
    assert!(error(Coalesce(["name", "karma"])).contains("one type, not text and integer"));
    assert!(error(ExtractHour(Value(chrono::NaiveDate::MIN))).contains("Extract() takes"));
    assert!(error(Extract("created_at", "fortnight")).contains("unknown part \"fortnight\""));
    assert!(error(Trunc("created_at", "x'; DROP")).contains("unknown kind"));
    assert!(error(Substr("name", 0, None)).contains("1-based"));
    assert!(error(Lower("nope")).contains("User has no field in F() `nope`"));
    // A condition on another model's fields.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "others", crate = "crate")]
    struct Other {
        #[orm(primary_key)]
        id: i64,
    }
    let same = Case([When::<User>(q!(id = 1), Value(1))]).default(Value(0));
    assert_eq!(
        render(same).1,
        vec![
            Value::I64(Some(1)),
            Value::I32(Some(1)),
            Value::I32(Some(0))
        ]
    );
    let other: crate::functions::When = When::<Other>(q!(id = 1), Value(1));
    assert!(error(Case([other])).contains("When() holds a condition on Other, not on User"));
}

#[test]
fn a_scalar_subquery_is_correlated_through_outer_ref() {
    // Django: Subquery(Post.objects.filter(author=OuterRef("pk"))
    //     .order_by("-id").values("id")[:1]).
    let newest = Post::filter(q!(author = OuterRef("id")))
        .order_by(["-id"])
        .limit(1)
        .values("id");
    assert_eq!(
        sql(Subquery(newest)),
        r#"(SELECT "S1"."id" FROM "posts" AS "S1" WHERE "S1"."author_id" = "users"."id" ORDER BY "S1"."id" DESC LIMIT 1)"#
    );
    // Of the same table: the inner one has its own alias.
    let same = User::filter(q!(karma__gt = OuterRef("karma")))
        .order_by(["karma"])
        .limit(1)
        .values("name");
    assert_eq!(
        sql(Subquery(same)),
        r#"(SELECT "S1"."name" FROM "users" AS "S1" WHERE "S1"."karma" > "users"."karma" ORDER BY "S1"."karma" ASC LIMIT 1)"#
    );
    assert!(error(Subquery(User::all().values(["id", "name"]))).contains("one field, not 2"));
    assert!(error(Subquery(
        Post::filter(q!(id = OuterRef("nope"))).values("id")
    ))
    .contains("nope"));
}

#[test]
fn window_functions_and_a_filter_on_them() {
    use crate::query::{Count, Sum};
    let cols = COLS;
    assert_eq!(sql(Window(RowNumber())), "(ROW_NUMBER() OVER ())::bigint");
    assert_eq!(
        sql(Window(DenseRank())
            .partition_by(["email"])
            .order_by(["-karma", "id"])),
        r#"(DENSE_RANK() OVER (PARTITION BY "users"."email" ORDER BY "users"."karma" DESC, "users"."id" ASC))::bigint"#
    );
    assert_eq!(
        sql(Window(Sum("karma")).order_by(["id"]).rows(None, Some(0))),
        r#"(SUM("users"."karma") OVER (ORDER BY "users"."id" ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))::bigint"#
    );
    assert_eq!(
        sql(Window(Count("*"))
            .partition_by(["email"])
            .rows(Some(-2), Some(3))),
        r#"(COUNT(*) OVER (PARTITION BY "users"."email" ROWS BETWEEN 2 PRECEDING AND 3 FOLLOWING))::bigint"#
    );
    assert_eq!(
        render(Window(Lag("name", 1, Some(Value("-")))).order_by(["id"])),
        (
            r#"(LAG("users"."name", 1, $1::text) OVER (ORDER BY "users"."id" ASC))::text"#
                .to_owned(),
            vec![text("-")]
        )
    );
    // A filter on a window annotation filters the annotated rows, as
    // Django 4.2: PostgreSQL computes windows after WHERE.
    let stmt = User::filter(q!(karma__gt = 0))
        .annotate_expr("rank", Window(Rank()).order_by(["-karma"]))
        .filter("rank__lte", 3i64)
        .order_by(["rank"])
        .sql()
        .unwrap()
        .unwrap();
    assert_eq!(
        stmt.sql,
        format!(
            r#"SELECT {cols}, "users"."rank" FROM (SELECT {cols}, (RANK() OVER (ORDER BY "users"."karma" DESC))::bigint AS "rank" FROM "users" WHERE "users"."karma" > $1) AS "users" WHERE "users"."rank" <= $2 ORDER BY "rank" ASC"#
        )
    );
    assert_eq!(stmt.binds, vec![Value::I32(Some(0)), Value::I64(Some(3))]);
    // Misuse: before anything is sent.
    assert!(error(Window(Sum("karma").distinct())).contains("cannot be distinct"));
    assert!(error(Window(Ntile(0))).contains("must be positive"));
    assert!(error(Window(Sum("name"))).contains("takes a number, not text"));
    assert!(error(Window(RowNumber()).order_by(["nope"])).contains("nope"));
    assert!(error(Window(RowNumber()).rows(Some(2), Some(-1))).contains("ends before it starts"));
}
