//! Database functions and `Case`/`When` against PostgreSQL: the values
//! Django's `django.db.models.functions` give for the same rows.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use orm_core::functions::*;
use orm_core::prelude::*;

use crate::common::{setup, users, User};

/// alice (karma 10, no email), Bob (karma -20, " b@x "), carol (karma 30, c@x).
async fn sample() {
    users(&[
        ("alice", 10, None),
        ("Bob", -20, Some(" b@x ")),
        ("carol", 30, Some("c@x")),
    ])
    .await;
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
}

#[tokio::test]
async fn text_functions_give_djangos_values() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        let rows = User::all()
            .order_by(["id"])
            .annotate_expr("lower", Lower("name"))
            .annotate_expr("upper", Upper("name"))
            .annotate_expr("size", Length("name"))
            // Django's Concat: a NULL part is empty text.
            .annotate_expr(
                "label",
                Concat([F("name"), Value(" <"), F("email"), Value(">")]),
            )
            .annotate_expr("contact", Coalesce(["email", "name"]))
            .annotate_expr("trimmed", Trim("email"))
            .annotate_expr("at", StrIndex("email", Value("@")))
            .annotate_expr("head", Substr("name", 2, Some(2)))
            .annotate_expr("swapped", Replace("name", Value("o"), Value("0")))
            .annotate_expr("no_c", NullIf("email", Value("c@x")))
            .await?;
        let col = |name: &str| -> Vec<Option<String>> {
            rows.iter()
                .map(|r| r.get::<Option<String>>(name).expect(name))
                .collect()
        };
        let s = |v: &[Option<&str>]| -> Vec<Option<String>> {
            v.iter().map(|x| x.map(str::to_owned)).collect()
        };
        assert_eq!(
            col("lower"),
            s(&[Some("alice"), Some("bob"), Some("carol")])
        );
        assert_eq!(
            col("upper"),
            s(&[Some("ALICE"), Some("BOB"), Some("CAROL")])
        );
        let sizes: Vec<i32> = rows.iter().map(|r| r.get("size").unwrap()).collect();
        assert_eq!(sizes, [5, 3, 5]);
        assert_eq!(
            col("label"),
            s(&[Some("alice <>"), Some("Bob < b@x >"), Some("carol <c@x>")])
        );
        assert_eq!(
            col("contact"),
            s(&[Some("alice"), Some(" b@x "), Some("c@x")])
        );
        assert_eq!(col("trimmed"), s(&[None, Some("b@x"), Some("c@x")]));
        let at: Vec<Option<i32>> = rows.iter().map(|r| r.get("at").unwrap()).collect();
        assert_eq!(at, [None, Some(3), Some(2)]);
        assert_eq!(col("head"), s(&[Some("li"), Some("ob"), Some("ar")]));
        assert_eq!(
            col("swapped"),
            s(&[Some("alice"), Some("B0b"), Some("car0l")])
        );
        assert_eq!(col("no_c"), s(&[None, Some(" b@x "), None]));
        // Ordered by a function: case-insensitive, as Django's
        // order_by(Lower("name")); by the plain column "Bob" sorts first.
        let by_lower = User::all().order_by([Lower("name").desc()]).await?;
        let names: Vec<&str> = by_lower.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["carol", "Bob", "alice"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn case_when_annotates_filters_and_orders() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        let level = || {
            Case([
                When::<User>(q!(karma__gte = 30), Value("high")),
                When::<User>(
                    q!(karma__gte = 0) & q!(email__isnull = true),
                    Value("quiet"),
                ),
            ])
            .default(Value("low"))
        };
        let rows = User::all()
            .annotate_expr("level", level())
            .order_by(["name"])
            .await?;
        let levels: Vec<(String, String)> = rows
            .iter()
            .map(|r| (r.name.clone(), r.get("level").unwrap()))
            .collect();
        assert_eq!(
            levels,
            [
                ("Bob".to_owned(), "low".to_owned()),
                ("alice".to_owned(), "quiet".to_owned()),
                ("carol".to_owned(), "high".to_owned()),
            ]
        );
        // Filtering on the annotation, as Django's
        // annotate(level=Case(..)).filter(level="high").
        let high = User::all()
            .annotate_expr("level", level())
            .filter("level", "high")
            .await?;
        assert_eq!(high.len(), 1);
        assert_eq!(high[0].name, "carol");
        // No default: NULL.
        let rows = User::all()
            .annotate_expr("big", Case([When::<User>(q!(karma__gt = 20), F("karma"))]))
            .order_by(["id"])
            .await?;
        let big: Vec<Option<i32>> = rows.iter().map(|r| r.get("big").unwrap()).collect();
        assert_eq!(big, [None, None, Some(30)]);
        // An update by condition: Django's update(karma=Case(When(..), default=F("karma"))).
        User::all()
            .update(q!(karma =
                Case([When::<User>(q!(karma__lt = 0), Value(0))])
                    .default(F("karma"))))
            .await?;
        let karmas: Vec<i32> = User::all()
            .order_by(["id"])
            .values_list_flat("karma")
            .await?;
        assert_eq!(karmas, [10, 0, 30]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn dates_and_numbers() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        // 2024-03-09 was a Saturday: Django's week_day 7, iso_week_day 6.
        User::filter(q!(name = "alice"))
            .update(q!(created_at = at(2024, 3, 9, 23, 59, 58)))
            .await?;
        let row = User::filter(q!(name = "alice"))
            .annotate_expr("year", ExtractYear("created_at"))
            .annotate_expr("quarter", ExtractQuarter("created_at"))
            .annotate_expr("week_day", ExtractWeekDay("created_at"))
            .annotate_expr("iso_week_day", ExtractIsoWeekDay("created_at"))
            .annotate_expr("second", ExtractSecond("created_at"))
            .annotate_expr("month", TruncMonth("created_at"))
            .annotate_expr("day", TruncDate("created_at"))
            .await?
            .remove(0);
        assert_eq!(row.get::<i32>("year")?, 2024);
        assert_eq!(row.get::<i32>("quarter")?, 1);
        assert_eq!(row.get::<i32>("week_day")?, 7);
        assert_eq!(row.get::<i32>("iso_week_day")?, 6);
        assert_eq!(row.get::<i32>("second")?, 58);
        assert_eq!(row.get::<DateTime<Utc>>("month")?, at(2024, 3, 1, 0, 0, 0));
        assert_eq!(
            row.get::<NaiveDate>("day")?,
            NaiveDate::from_ymd_opt(2024, 3, 9).unwrap()
        );
        // In the active zone, as Django's: 2024-03-09 23:59:58 UTC is
        // 2024-03-10 08:59:58 in Tokyo (a Sunday: week_day 1), and its
        // month starts at 2024-03-01 00:00 Tokyo = 2024-02-29 15:00 UTC.
        let tokyo = orm_core::timezone::override_zone(
            "Asia/Tokyo",
            User::filter(q!(name = "alice"))
                .annotate_expr("day", ExtractDay("created_at"))
                .annotate_expr("week_day", ExtractWeekDay("created_at"))
                .annotate_expr("month", TruncMonth("created_at"))
                .annotate_expr("date", TruncDate("created_at")),
        )
        .await??
        .remove(0);
        assert_eq!(tokyo.get::<i32>("day")?, 10);
        assert_eq!(tokyo.get::<i32>("week_day")?, 1);
        assert_eq!(
            tokyo.get::<DateTime<Utc>>("month")?,
            at(2024, 2, 29, 15, 0, 0)
        );
        assert_eq!(
            tokyo.get::<NaiveDate>("date")?,
            NaiveDate::from_ymd_opt(2024, 3, 10).unwrap()
        );
        // Numbers: karma 10, -20, 30.
        let rows = User::all()
            .order_by(["id"])
            .annotate_expr("abs", Abs("karma"))
            .annotate_expr("rem", Mod("karma", Value(7)))
            .annotate_expr("sq", Power("karma", Value(2)))
            .annotate_expr("round", Round(F("karma") / 3.0, 1))
            .annotate_expr("top", Greatest([F("karma"), Value(0)]))
            .await?;
        let i32s = |name: &str| -> Vec<i32> { rows.iter().map(|r| r.get(name).unwrap()).collect() };
        assert_eq!(i32s("abs"), [10, 20, 30]);
        assert_eq!(i32s("top"), [10, 0, 30]);
        // PostgreSQL's MOD keeps the dividend's sign (Django on PostgreSQL).
        let rem: Vec<i64> = rows.iter().map(|r| r.get("rem").unwrap()).collect();
        assert_eq!(rem, [3, -6, 2]);
        let sq: Vec<f64> = rows.iter().map(|r| r.get("sq").unwrap()).collect();
        assert_eq!(sq, [100.0, 400.0, 900.0]);
        let round: Vec<f64> = rows.iter().map(|r| r.get("round").unwrap()).collect();
        assert_eq!(round, [3.3, -6.7, 10.0]);
        // Now(): in updates and as a filter's value.
        User::filter(q!(name = "Bob"))
            .update(q!(name = Upper(F("name")), updated_at = Now()))
            .await?;
        assert!(
            User::filter(q!(name = "BOB", updated_at__lte = Now()))
                .exists()
                .await?
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bad_arguments_are_errors_and_change_nothing() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        let err = User::all()
            .annotate_expr("x", Lower("karma"))
            .await
            .unwrap_err();
        assert!(matches!(&err, Error::InvalidQuery(_)), "{err}");
        assert!(
            err.to_string().contains("Lower() takes text, not integer"),
            "{err}"
        );
        // A part from a query string: refused, never written into the SQL.
        let hostile = "year FROM now()); DROP TABLE users; --";
        let err = User::all()
            .annotate_expr("x", Extract("created_at", hostile))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("unknown part"), "{err}");
        let err = User::all()
            .update(q!(name = Concat([F("nope"), Value("x")])))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        let names: Vec<String> = User::all()
            .order_by(["id"])
            .values_list_flat("name")
            .await?;
        assert_eq!(names, ["alice", "Bob", "carol"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn subquery_annotates_updates_and_filters_by_the_outer_row() -> Result<()> {
    use crate::models::blog::{blog, Author, Post};
    let db = setup().await;
    orm_core::scope(&db, async {
        // Gemini: "Rust async", then "Draft"; Ada: "Rust basics", then
        // "Python"; Bob: no post (see models::blog::blog).
        blog().await;
        let newest = || {
            Post::filter(q!(author = OuterRef("id")))
                .order_by(["-id"])
                .limit(1)
                .values("title")
        };
        // Django: Author.objects.annotate(newest=Subquery(
        //     Post.objects.filter(author=OuterRef("pk")).order_by("-id").values("title")[:1]))
        let rows = Author::all()
            .annotate_expr("newest", Subquery(newest()))
            .order_by(["name"])
            .await?;
        let got: Vec<(String, Option<String>)> = rows
            .iter()
            .map(|a| (a.name.clone(), a.get("newest").unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("Ada".to_owned(), Some("Python".to_owned())),
                ("Bob".to_owned(), None),
                ("Gemini".to_owned(), Some("Draft".to_owned())),
            ]
        );
        // As a filter's value: authors whose newest post is "Python".
        let ada = Author::filter(q!(name = Subquery(newest())))
            .count()
            .await?;
        assert_eq!(ada, 0, "no author is named after a post");
        let python = Author::all()
            .annotate_expr("newest", Subquery(newest()))
            .filter("newest", "Python")
            .await?;
        assert_eq!(python.len(), 1);
        assert_eq!(python[0].name, "Ada");
        // As an update's value: each post's title becomes its author's name.
        let author_name = Author::filter(q!(id = OuterRef("author")))
            .limit(1)
            .values("name");
        let n = Post::filter(q!(published = true))
            .update(q!(title = Subquery(author_name)))
            .await?;
        assert_eq!(n, 2);
        let mut titles: Vec<String> = Post::filter(q!(published = true))
            .values_list_flat("title")
            .await?;
        titles.sort();
        assert_eq!(titles, ["Ada", "Gemini"]);
        // Two rows where one is allowed: PostgreSQL's error, as Django's.
        let err = Author::all()
            .annotate_expr(
                "any",
                Subquery(Post::filter(q!(author = OuterRef("id"))).values("title")),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("more than one row"), "{err}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn window_functions_rank_total_and_filter() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        // karma: a 10, b 30, c 30, d 5, e 20; emails: a, b none; c, d, e "x".
        users(&[
            ("a", 10, None),
            ("b", 30, None),
            ("c", 30, Some("x")),
            ("d", 5, Some("x")),
            ("e", 20, Some("x")),
        ])
        .await;
        let rows = User::all()
            .annotate_expr("rank", Window(Rank()).order_by(["-karma"]))
            .annotate_expr("dense", Window(DenseRank()).order_by(["-karma"]))
            .annotate_expr("n", Window(RowNumber()).order_by(["-karma", "name"]))
            .annotate_expr(
                "running",
                Window(Sum("karma")).order_by(["name"]).rows(None, Some(0)),
            )
            .annotate_expr("prev", Window(Lag("name", 1, None)).order_by(["name"]))
            .annotate_expr("per_email", Window(Count("*")).partition_by(["email"]))
            .order_by(["name"])
            .await?;
        let col = |name: &str| -> Vec<i64> { rows.iter().map(|r| r.get(name).unwrap()).collect() };
        // By karma descending: b, c tie at 30 (rank 1), e 20 (rank 3;
        // dense 2), a 10, d 5. Rows listed by name a..e.
        assert_eq!(col("rank"), [4, 1, 1, 5, 3]);
        assert_eq!(col("dense"), [3, 1, 1, 4, 2]);
        assert_eq!(col("n"), [4, 1, 2, 5, 3]);
        assert_eq!(col("running"), [10, 40, 70, 75, 95]);
        assert_eq!(col("per_email"), [2, 2, 3, 3, 3]);
        let prev: Vec<Option<String>> = rows.iter().map(|r| r.get("prev").unwrap()).collect();
        assert_eq!(
            prev,
            [
                None,
                Some("a".into()),
                Some("b".into()),
                Some("c".into()),
                Some("d".into())
            ]
        );
        // Django 4.2: filtering on a window, here the top two of each
        // email group (NULL emails are one partition).
        let top = User::all()
            .annotate_expr(
                "place",
                Window(RowNumber())
                    .partition_by(["email"])
                    .order_by(["-karma", "name"]),
            )
            .filter("place__lte", 2i64)
            .order_by(["name"])
            .await?;
        let names: Vec<&str> = top.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "e"]);
        // The filter applies after the window: the WHERE of the query
        // itself still chooses the rows ranked.
        let ranked_low = User::filter(q!(karma__lt = 25))
            .annotate_expr("rank", Window(Rank()).order_by(["-karma"]))
            .filter("rank", 1i64)
            .await?;
        assert_eq!(ranked_low.len(), 1);
        assert_eq!(ranked_low[0].name, "e");
        Ok(())
    })
    .await
}
