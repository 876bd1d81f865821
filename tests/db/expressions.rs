//! F expressions in filters, updates and annotations; save_fields; only and defer.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::articles::{sample, Article, Writer};

async fn titles(q: impl IntoQ<Article>) -> Result<Vec<String>> {
    Article::filter(q)
        .order_by(["title"])
        .values_list_flat("title")
        .await
}

#[tokio::test]
async fn f_in_filters() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await?;
        assert_eq!(titles(q!(views__gt = F("likes"))).await?, ["a1", "b1"]);
        assert_eq!(titles(q!(views__lt = F("likes") * 2)).await?, ["a2"]);
        assert_eq!(titles(q!(views = F("likes") * 10)).await?, ["a1"]);
        // Across a forward key: reads above the writer's karma.
        assert_eq!(
            titles(q!(views__gt = F("writer__karma"))).await?,
            ["a1", "b1"]
        );
        let f = Article::fields();
        assert_eq!(titles(f.views.lte_expr(F("likes"))).await?, ["a2"]);
        let err = Article::filter(q!(views__gt = F("nope")))
            .count()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidLookup(_)), "{err}");
        assert!(err.to_string().contains("likes"), "lists the fields: {err}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn f_in_updates() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await?;
        let sql = Article::all().filter(q!(title = "a1")).sql()?.unwrap().sql;
        assert!(sql.contains(r#""expr_articles"."title" = $1"#));
        let n = Article::filter(q!(title__startswith = "a"))
            .update(q!(views = F("views") + 1000))
            .await?;
        assert_eq!(n, 2);
        let views: Vec<i64> = Article::all()
            .order_by(["title"])
            .values_list_flat("views")
            .await?;
        assert_eq!(views, [1100, 1020, 7]);
        // Several columns, arithmetic on two fields, one statement.
        Article::all()
            .update(q!(
                likes = F("likes") * 2 - 1,
                views = F("views") - F("likes")
            ))
            .await?;
        let rows: Vec<(String, i64, i32)> = Article::all()
            .order_by(["title"])
            .values_list(("title", "views", "likes"))
            .await?;
        assert_eq!(
            rows,
            [
                ("a1".into(), 1090, 19),
                ("a2".into(), 990, 59),
                ("b1".into(), 6, 1)
            ]
        );
        let err = Article::all()
            .update(q!(views = F("nope") + 1))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidLookup(_)), "{err}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn save_fields_writes_only_those() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await?;
        let mut stale = Article::get(q!(title = "a1")).await?;
        // Someone else bumps the views meanwhile.
        Article::filter(q!(title = "a1"))
            .update(q!(views = F("views") + 1))
            .await?;
        stale.likes = 99;
        stale.save_fields(&["likes"]).await?;
        let fresh = Article::get(q!(title = "a1")).await?;
        assert_eq!(
            (fresh.likes, fresh.views),
            (99, 101),
            "views kept the other update"
        );
        let err = stale.save_fields(&["nope"]).await.unwrap_err();
        assert!(matches!(err, Error::InvalidLookup(_)), "{err}");
        let mut gone = Article::get(q!(title = "b1")).await?;
        gone.delete().await?;
        let err = gone.save_fields(&["likes"]).await.unwrap_err();
        assert!(matches!(err, Error::DoesNotExist { .. }), "{err}");
        Ok(())
    })
    .await
}

async fn writer_names(q: impl IntoQ<Writer>) -> Result<Vec<String>> {
    Writer::filter(q)
        .order_by(["name"])
        .values_list_flat("name")
        .await
}

#[tokio::test]
async fn f_names_the_queried_row_across_relations() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await?;
        // Writers with an article read less than their karma: ann (a2: 20 < 50).
        assert_eq!(
            writer_names(q!(articles__views__lt = F("karma"))).await?,
            ["ann"]
        );
        assert_eq!(
            writer_names(q!(articles__views__gt = F("karma") * 3)).await?,
            Vec::<String>::new()
        );
        let bob: Vec<String> = Writer::exclude(q!(articles__views__lt = F("karma")))
            .values_list_flat("name")
            .await?;
        assert_eq!(bob, ["bob"]);
        // Both conditions on the same article (one EXISTS).
        assert_eq!(
            writer_names(q!(articles__views__gt = F("karma"), articles__likes = 10)).await?,
            ["ann"]
        );
        assert_eq!(
            writer_names(q!(articles__views__gt = F("karma"), articles__likes = 30)).await?,
            Vec::<String>::new()
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn f_in_annotations() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await?;
        let rows = Article::all()
            .annotate_expr("score", F("views") + F("likes") * 10)
            .annotate_expr("writer_karma", F("writer__karma"))
            .order_by(["-score"])
            .await?;
        let seen: Vec<(&str, i64, i32)> = rows
            .iter()
            .map(|a| Ok((a.title.as_str(), a.get("score")?, a.get("writer_karma")?)))
            .collect::<Result<_>>()?;
        assert_eq!(seen, [("a2", 320, 50), ("a1", 200, 50), ("b1", 17, 5)]);
        let popular = Article::all()
            .annotate_expr("score", F("views") + F("likes") * 10)
            .filter("score__gt", 100i64)
            .order_by(["title"])
            .await?;
        assert_eq!(
            popular.iter().map(|a| a.title.as_str()).collect::<Vec<_>>(),
            ["a1", "a2"]
        );
        let half = Article::filter(q!(title = "b1"))
            .annotate_expr("half", F("views") / 2.0)
            .await?;
        assert_eq!(half[0].get::<f64>("half")?, 3.5);
        // With an aggregate across a relation.
        let writers = Writer::all()
            .annotate([Count("articles")])
            .annotate_expr("double", F("karma") * 2)
            .order_by(["name"])
            .await?;
        assert_eq!(writers[0].get::<i64>("articles__count")?, 2);
        assert_eq!(writers[0].get::<i64>("double")?, 100);
        let err = Article::all()
            .annotate_expr("title", F("views"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("name of a field"), "{err}");
        let err = Article::all()
            .annotate_expr("x", F("title") + 1)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("arithmetic needs numbers"),
            "{err}"
        );
        let err = Article::all()
            .annotate_expr("x", F("nope"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidLookup(_)), "{err}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn only_and_defer_never_overwrite_unread_columns() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await?;
        let mut rows = Article::all().order_by(["title"]).only(["title"]).await?;
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].title, "a1");
        assert_eq!(rows[0].views, 0, "unread: the default");
        assert!(rows[0].id > 0, "the key is always read");
        assert_eq!(rows[0].deferred_fields(), ["writer", "views", "likes"]);
        rows[0].title = "a1 (edited)".into();
        rows[0].save().await?;
        let stored = Article::get(q!(title = "a1 (edited)")).await?;
        assert_eq!(
            (stored.views, stored.likes),
            (100, 10),
            "unread columns kept"
        );

        let mut heavy = Article::filter(q!(title = "a2"))
            .defer(["title"])
            .first()
            .await?
            .unwrap();
        assert_eq!((heavy.title.as_str(), heavy.views), ("", 20));
        heavy.views += 1;
        heavy.save().await?;
        let complete = heavy.into_complete().await?;
        assert_eq!((complete.title.as_str(), complete.views), ("a2", 21));

        let err = Article::all().only(["nope"]).await.unwrap_err();
        assert!(err.to_string().contains("likes"), "lists the fields: {err}");
        assert!(Article::filter(q!(id__in = Vec::<i64>::new()))
            .only(["title"])
            .await?
            .is_empty());
        Ok(())
    })
    .await
}
