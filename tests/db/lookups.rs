//! Every lookup against real rows, with the values people trip over.

use orm_core::prelude::*;

use crate::common::{names, setup, users, User};

/// Names matching `q`, sorted.
async fn matching(q: impl IntoQ<User>) -> Result<Vec<String>> {
    let found = User::filter(q).order_by(["name"]).await?;
    Ok(names(&found).into_iter().map(str::to_owned).collect())
}

async fn tricky() {
    users(&[
        ("100%", 1, Some("pct@x")),
        ("100 percent", 2, None),
        ("a_b", 3, Some("under@x")),
        ("axb", 4, None),
        (r"back\slash", 5, Some("bs@x")),
        ("O'Neil \"quoted\"", 6, None),
        ("Müller", 7, Some("ü@x")),
        ("中文名字", 8, None),
        ("emoji 😀", 9, Some("")),
        ("Straße", 10, None),
        ("GEMINI", 11, None),
        ("gemini jr", 12, Some("g@x")),
    ])
    .await;
}

#[tokio::test]
async fn like_lookups_match_special_characters_literally() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        tricky().await;
        assert_eq!(matching(q!(name__contains = "%")).await?, ["100%"]);
        assert_eq!(matching(q!(name__contains = "_")).await?, ["a_b"]);
        assert_eq!(matching(q!(name__contains = r"\")).await?, [r"back\slash"]);
        assert_eq!(matching(q!(name__startswith = "100%")).await?, ["100%"]);
        assert_eq!(matching(q!(name__endswith = "_b")).await?, ["a_b"]);
        assert_eq!(
            matching(q!(name__contains = "'Neil \"")).await?,
            ["O'Neil \"quoted\""]
        );
        assert_eq!(matching(q!(name__contains = "中文")).await?, ["中文名字"]);
        assert_eq!(matching(q!(name__endswith = "😀")).await?, ["emoji 😀"]);
        assert_eq!(matching(q!(name__contains = "")).await?.len(), 12);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn case_insensitive_lookups() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        tricky().await;
        assert_eq!(
            matching(q!(name__icontains = "gem")).await?,
            ["GEMINI", "gemini jr"]
        );
        assert_eq!(matching(q!(name__iexact = "gemini")).await?, ["GEMINI"]);
        assert_eq!(matching(q!(name__istartswith = "müll")).await?, ["Müller"]);
        assert_eq!(matching(q!(name__iendswith = "JR")).await?, ["gemini jr"]);
        assert_eq!(matching(q!(name__icontains = "A_B")).await?, ["a_b"]);
        // Case folding follows the database's ctype (C.UTF-8 here): ß is not SS.
        assert!(matching(q!(name__icontains = "STRASSE")).await?.is_empty());
        Ok(())
    })
    .await
}

#[tokio::test]
async fn regex_uses_postgres_dialect() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        tricky().await;
        assert_eq!(matching(q!(name__regex = r"^a.b$")).await?, ["a_b", "axb"]);
        assert_eq!(
            matching(q!(name__regex = r"\ypercent\y")).await?,
            ["100 percent"]
        );
        assert_eq!(matching(q!(name__iregex = "^gemini$")).await?, ["GEMINI"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn comparisons_range_in() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        tricky().await;
        assert_eq!(matching(q!(karma__gt = 10)).await?, ["GEMINI", "gemini jr"]);
        assert_eq!(matching(q!(karma__gte = 12)).await?, ["gemini jr"]);
        assert_eq!(matching(q!(karma__lt = 2)).await?, ["100%"]);
        assert_eq!(matching(q!(karma__lte = 2)).await?, ["100 percent", "100%"]);
        assert_eq!(matching(q!(karma__range = (3, 4))).await?, ["a_b", "axb"]);
        assert_eq!(matching(q!(karma__in = [1, 3, 99])).await?, ["100%", "a_b"]);
        assert_eq!(matching(q!(name__gt = "z")).await?, ["中文名字"]);
        // NULL in an `in` list never matches, even rows with NULL.
        assert_eq!(
            matching(q!(email__in = [Some("pct@x"), None])).await?,
            ["100%"]
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn empty_in_matches_nothing_without_a_query() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        tricky().await;
        let before = db.query_count();
        let empty: Vec<i32> = Vec::new();
        assert!(User::filter(q!(karma__in = empty.clone()))
            .await?
            .is_empty());
        assert_eq!(
            User::filter(q!(karma__in = empty.clone())).count().await?,
            0
        );
        assert!(!User::filter(q!(karma__in = empty.clone())).exists().await?);
        assert_eq!(
            User::filter(q!(karma__in = empty.clone()))
                .update(q!(karma = 0))
                .await?,
            0
        );
        assert_eq!(
            User::filter(q!(karma__in = empty.clone())).delete().await?,
            0
        );
        assert_eq!(db.query_count(), before, "no statement was sent");
        // ... but OR-ed with something else, the other side still counts.
        assert_eq!(
            matching(q!(karma__in = empty) | q!(karma = 1)).await?,
            ["100%"]
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn null_lookups() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        tricky().await;
        let nulls = [
            "100 percent",
            "GEMINI",
            "O'Neil \"quoted\"",
            "Straße",
            "axb",
            "中文名字",
        ];
        assert_eq!(matching(q!(email = None)).await?, nulls);
        assert_eq!(matching(q!(email__isnull = true)).await?, nulls);
        assert_eq!(matching(q!(email__isnull = false)).await?.len(), 6);
        // The empty string is not NULL.
        assert_eq!(matching(q!(email = "")).await?, ["emoji 😀"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn exclude_keeps_rows_where_the_column_is_null() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        users(&[("a", 1, Some("x")), ("b", 2, Some("y")), ("c", 3, None)]).await;
        let kept = User::exclude(q!(email = "x")).order_by(["name"]).await?;
        assert_eq!(names(&kept), ["b", "c"], "Django keeps the NULL row");
        let kept = User::exclude(q!(email__contains = "x"))
            .order_by(["name"])
            .await?;
        assert_eq!(names(&kept), ["b", "c"]);
        let kept = User::filter(!q!(email__in = ["x", "y"])).await?;
        assert_eq!(names(&kept), ["c"]);
        // exclude(a, b) removes rows matching both.
        let kept = User::exclude(q!(email = "x", karma = 2))
            .order_by(["name"])
            .await?;
        assert_eq!(names(&kept), ["a", "b", "c"]);
        let kept = User::exclude(q!(email = "y", karma = 2))
            .order_by(["name"])
            .await?;
        assert_eq!(names(&kept), ["a", "c"]);
        // Double negation is the plain filter: NULL rows do not match it.
        let kept = User::filter(!!q!(email = "x")).await?;
        assert_eq!(names(&kept), ["a"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn and_or_not_combine() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        tricky().await;
        assert_eq!(
            matching((q!(karma = 1) | q!(karma = 3)) & q!(name__contains = "_")).await?,
            ["a_b"]
        );
        assert_eq!(
            matching(q!(karma__lte = 2) | q!(name = "axb")).await?,
            ["100 percent", "100%", "axb"]
        );
        let f = User::fields();
        assert_eq!(
            matching(f.karma.lte(2) & !f.name.contains("%")).await?,
            ["100 percent"]
        );
        assert_eq!(
            matching(q!(karma__in = [1, 2, 3]) | q!(name__startswith = "G")).await?,
            ["100 percent", "100%", "GEMINI", "a_b"]
        );
        assert_eq!(matching(Q::all()).await?.len(), 12);
        assert!(matching(Q::none()).await?.is_empty());
        Ok(())
    })
    .await
}

#[tokio::test]
async fn runtime_lookups_filter_like_q() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        tricky().await;
        let q = Lookup::parse::<User>("karma__gte", "11")? & Lookup::parse::<User>("name__icontains", "gem")?;
        assert_eq!(matching(q).await?, ["GEMINI", "gemini jr"]);
        assert_eq!(matching(Lookup::parse::<User>("karma__in", "1,3")?).await?, ["100%", "a_b"]);
        assert_eq!(matching(Lookup::parse::<User>("karma__range", "3,4")?).await?, ["a_b", "axb"]);
        assert_eq!(matching(Lookup::parse::<User>("email__isnull", "false")?).await?.len(), 6);
        assert_eq!(matching(Lookup::parse::<User>("name", "axb")?).await?, ["axb"]);
        assert_eq!(matching(Lookup::parse::<User>("pk__in", "")?).await?.len(), 0);

        let err = Lookup::parse::<User>("nmae__icontains", "x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "User has no field `nmae`; valid fields: id, name, email, karma, created_at, updated_at"
        );
        let err = Lookup::parse::<User>("karma__icontains", "x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "User has no lookup `karma__icontains`; valid lookups: exact, in, gt, gte, lt, lte, range, isnull, contained_by"
        );
        let err = Lookup::parse::<User>("karma__gte", "lots").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value for User.karma: `lots` is not a valid integer"
        );
        Ok(())
    })
    .await
}
