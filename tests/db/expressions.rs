//! F expressions in filters and updates, and save_fields.

use orm_core::prelude::*;

use crate::common::setup;

/// A writer with karma.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "expr_writers")]
pub struct Writer {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// Reputation.
    pub karma: i32,
}

/// An article with counters.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "expr_articles")]
pub struct Article {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// The writer.
    pub writer: ForeignKey<Writer>,
    /// Title.
    pub title: String,
    /// Reads.
    pub views: i64,
    /// Likes.
    pub likes: i32,
}

async fn sample() -> Result<()> {
    let ann = Writer::create(Writer {
        name: "ann".into(),
        karma: 50,
        ..Default::default()
    })
    .await?;
    let bob = Writer::create(Writer {
        name: "bob".into(),
        karma: 5,
        ..Default::default()
    })
    .await?;
    for (writer, title, views, likes) in [
        (&ann, "a1", 100, 10),
        (&ann, "a2", 20, 30),
        (&bob, "b1", 7, 1),
    ] {
        Article::create(Article {
            writer: ForeignKey::to(writer)?,
            title: title.into(),
            views,
            likes,
            ..Default::default()
        })
        .await?;
    }
    Ok(())
}

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
        assert!(matches!(err, Error::InvalidLookup { .. }), "{err}");
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
        assert!(matches!(err, Error::InvalidLookup { .. }), "{err}");
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
        assert!(matches!(err, Error::InvalidLookup { .. }), "{err}");
        let mut gone = Article::get(q!(title = "b1")).await?;
        gone.delete().await?;
        let err = gone.save_fields(&["likes"]).await.unwrap_err();
        assert!(matches!(err, Error::DoesNotExist { .. }), "{err}");
        Ok(())
    })
    .await
}
