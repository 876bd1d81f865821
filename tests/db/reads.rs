//! Reading columns, aggregates, raw SQL and streams.

use orm_core::prelude::*;
use orm_core::AssertSqlSafe;

use crate::common::{setup, users, User};

async fn sample() {
    users(&[
        ("ada", 30, Some("a@x")),
        ("bob", 10, None),
        ("cy", 20, Some("c@x")),
        ("dee", 20, None),
    ])
    .await;
}

#[tokio::test]
async fn values_lists() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        let names: Vec<String> = User::all()
            .order_by(["name"])
            .values_list_flat("name")
            .await?;
        assert_eq!(names, ["ada", "bob", "cy", "dee"]);
        let pairs: Vec<(String, i32)> = User::filter(q!(karma__gte = 20))
            .order_by(["-karma", "name"])
            .values_list(("name", "karma"))
            .await?;
        assert_eq!(
            pairs,
            [("ada".into(), 30), ("cy".into(), 20), ("dee".into(), 20)]
        );
        let emails: Vec<Option<String>> = User::all()
            .order_by(["name"])
            .values_list_flat("email")
            .await?;
        assert_eq!(emails, [Some("a@x".into()), None, Some("c@x".into()), None]);
        // Wrong arity, wrong type, unknown field: errors, not panics.
        let err = User::all()
            .values_list::<(String,)>(("name", "karma"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidQuery(_)), "{err}");
        let err = User::all()
            .values_list_flat::<i64>("name")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Decode(e) if e.column == "name"),
            "{err}"
        );
        let err = User::all()
            .values_list_flat::<String>("nope")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidLookup(_)), "{err}");
        let none: Vec<String> = User::filter(q!(karma__in = Vec::<i32>::new()))
            .values_list_flat("name")
            .await?;
        assert!(none.is_empty());
        Ok(())
    })
    .await
}

#[tokio::test]
async fn aggregates_like_django() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let empty = User::all()
            .aggregate([Count("id"), Sum("karma"), Avg("karma"), Max("name")])
            .await?;
        assert_eq!(empty.get::<i64>("id__count")?, 0);
        assert_eq!(empty.get::<Option<i64>>("karma__sum")?, None);
        assert_eq!(empty.get::<Option<f64>>("karma__avg")?, None);
        assert_eq!(empty.get::<Option<String>>("name__max")?, None);
        sample().await;
        let stats = User::all()
            .aggregate([
                Count("id"),
                Count("karma").distinct().alias("distinct_karma"),
                Count("email"),
                Sum("karma"),
                Avg("karma"),
                Min("karma"),
                Max("name"),
            ])
            .await?;
        assert_eq!(stats.get::<i64>("id__count")?, 4);
        assert_eq!(stats.get::<i64>("distinct_karma")?, 3);
        assert_eq!(
            stats.get::<i64>("email__count")?,
            2,
            "COUNT(col) skips NULLs"
        );
        assert_eq!(stats.get::<Option<i64>>("karma__sum")?, Some(80));
        assert_eq!(stats.get::<Option<f64>>("karma__avg")?, Some(20.0));
        assert_eq!(stats.get::<Option<i32>>("karma__min")?, Some(10));
        assert_eq!(
            stats.get::<Option<String>>("name__max")?,
            Some("dee".into())
        );
        // Over a filtered and sliced query.
        let top2 = User::all()
            .order_by(["-karma", "name"])
            .limit(2)
            .aggregate([Sum("karma")])
            .await?;
        assert_eq!(top2.get::<Option<i64>>("karma__sum")?, Some(50));
        let err = User::all().aggregate([Sum("name")]).await.unwrap_err();
        assert!(err.to_string().contains("not numeric"), "{err}");
        let err = stats.get::<i64>("nope").unwrap_err();
        assert!(err.to_string().contains("id__count"), "{err}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn raw_sql_onto_models_and_tuples() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        let found = User::raw(
            "SELECT * FROM users WHERE karma > $1 ORDER BY name",
            &[&15i32],
        )
        .await?;
        assert_eq!(
            found.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
            ["ada", "cy", "dee"]
        );
        // Columns in another order are mapped by name.
        let shuffled = User::raw(
            "SELECT updated_at, created_at, karma, email, name, id FROM users WHERE name = $1",
            &[&"bob"],
        )
        .await?;
        assert_eq!(shuffled[0], User::get(q!(name = "bob")).await?);
        let err = User::raw("SELECT id, name FROM users", &[])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no column `email`"), "{err}");
        let rows: Vec<(String, i64)> = orm_core::raw(
            "SELECT name, COUNT(*) OVER () FROM users WHERE karma = $1 ORDER BY name",
            &[&20i32],
        )
        .await?;
        assert_eq!(rows, [("cy".into(), 2), ("dee".into(), 2)]);
        // A server error shows the server's message and SQLSTATE.
        let err = orm_core::raw::<(i32,)>("SELECT 1/0", &[])
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "database error: division by zero (SQLSTATE 22012)"
        );
        let table = "users";
        let dynamic = User::raw(
            AssertSqlSafe(format!("SELECT * FROM {table} WHERE id = $1")),
            &[&1i64],
        )
        .await?;
        assert_eq!(dynamic.len(), 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn streams_rows() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let many: Vec<(String, i32, Option<&str>)> = (0..3000)
            .map(|i| (format!("u{i:05}"), i % 7, None))
            .collect();
        let refs: Vec<(&str, i32, Option<&str>)> =
            many.iter().map(|(n, k, e)| (n.as_str(), *k, *e)).collect();
        users(&refs).await;
        let mut stream = User::filter(q!(karma = 3)).order_by(["name"]).stream();
        let mut seen = 0;
        let mut last = String::new();
        while let Some(user) = stream.try_next().await? {
            assert_eq!(user.karma, 3);
            assert!(user.name > last);
            last = user.name;
            seen += 1;
        }
        assert_eq!(seen, 3000 / 7 + usize::from(3000 % 7 > 3));
        // An empty `in` streams nothing; errors come through the stream.
        let mut none = User::filter(q!(karma__in = Vec::<i32>::new())).stream();
        assert!(none.try_next().await?.is_none());
        let mut bad = User::all().order_by(["nope"]).stream();
        assert!(bad.try_next().await.is_err());
        // Dropping a stream half-way returns the connection: the pool goes on.
        let mut partial = User::all().stream();
        partial.try_next().await?;
        drop(partial);
        assert_eq!(User::all().count().await?, 3000);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn values_group_by_and_subqueries() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        // values(): one record per row, named by field.
        let rows = User::filter(q!(karma = 20)).order_by(["name"]).values(("name", "email")).await?;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get::<String>("name")?, "cy");
        assert_eq!(rows[0].get::<Option<String>>("email")?, Some("c@x".into()));
        assert_eq!(rows[1].get::<Option<String>>("email")?, None);
        // values(..).annotate(..): GROUP BY, HAVING, ordered by the aggregate.
        let groups = User::all()
            .values("karma")
            .annotate([Count("id"), Max("name")])
            .order_by(["-id__count", "karma"])
            .await?;
        let seen: Vec<(i32, i64, Option<String>)> = groups
            .iter()
            .map(|g| Ok((g.get("karma")?, g.get("id__count")?, g.get("name__max")?)))
            .collect::<Result<_>>()?;
        assert_eq!(
            seen,
            [(20, 2, Some("dee".into())), (10, 1, Some("bob".into())), (30, 1, Some("ada".into()))]
        );
        let crowded = User::all()
            .values("karma")
            .annotate([Count("id")])
            .having("id__count__gte", 2i64)
            .await?;
        assert_eq!(crowded.len(), 1);
        assert_eq!(crowded[0].get::<i32>("karma")?, 20);
        // A one-field values() query as an __in subquery: one statement.
        let before = db.query_count();
        let with_email = User::filter(q!(
            id__in = User::filter(q!(email__isnull = false)).values("id")
        ))
        .order_by(["name"])
        .values_list_flat::<String>("name")
        .await?;
        assert_eq!(with_email, ["ada", "cy"]);
        assert_eq!(db.query_count() - before, 1);
        let sql = User::filter(q!(id__in = User::filter(q!(karma__gt = 5)).values("id")))
            .sql()?
            .unwrap()
            .sql;
        assert!(
            sql.ends_with(r#"WHERE "users"."id" IN (SELECT "users"."id" FROM "users" WHERE "users"."karma" > $1)"#),
            "{sql}"
        );
        // Mistakes are errors before sending.
        let err = User::filter(q!(id__in = User::all().values(("id", "name")))).count().await.unwrap_err();
        assert!(err.to_string().contains("one field"), "{err}");
        let err = User::all().values("karma").annotate([Count("id")]).having("nope__gt", 1i64).await.unwrap_err();
        assert!(matches!(err, Error::InvalidLookup(_)), "{err}");
        Ok(())
    })
    .await
}
