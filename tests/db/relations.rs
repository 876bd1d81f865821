//! ForeignKey, OneToOne, ManyToMany and Reverse against real PostgreSQL:
//! lookups in every direction, Django's same-row rules, managers, on_delete.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::blog::*;

#[tokio::test]
async fn on_delete_cascade_and_set_null() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (gemini, _, _) = blog().await;
        assert_eq!(gemini.delete().await?, 1);
        assert_eq!(
            Post::all().count().await?,
            2,
            "Gemini's posts went with Gemini"
        );
        let root = Category::create(Category {
            name: "root".into(),
            ..Default::default()
        })
        .await?;
        let child = Category::create(Category {
            name: "child".into(),
            parent: Some(ForeignKey::to(&root)?),
            ..Default::default()
        })
        .await?;
        assert_eq!(
            Category::filter(q!(parent__name = "root")).count().await?,
            1
        );
        assert_eq!(Category::filter(q!(parent = None)).count().await?, 1);
        root.delete().await?;
        let child = Category::get(q!(id = child.id)).await?;
        assert!(child.parent.is_none(), "SET NULL");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn delete_report_counts_cascades() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (gemini, _, _) = blog().await;
        tagged().await?;
        Profile::create(Profile {
            author: ForeignKey::to(&gemini)?,
            bio: "x".into(),
            ..Default::default()
        })
        .await?;
        // Gemini: 1 author, 2 posts, 1 profile, 2 tag links (on "Rust async").
        let report = Author::filter(q!(name = "Gemini")).delete_report().await?;
        assert_eq!(report.total, 6, "{report:?}");
        assert_eq!(report.per_model.get("Author"), Some(&1));
        assert_eq!(report.per_model.get("Post"), Some(&2));
        assert_eq!(report.per_model.get("Profile"), Some(&1));
        assert_eq!(report.per_model.get("rel_post_tags"), Some(&2));
        assert_eq!(Post::all().count().await?, 2);
        assert_eq!(Tag::all().count().await?, 2, "tags stay; only links go");
        let nothing = Author::filter(q!(name = "nobody")).delete_report().await?;
        assert_eq!(nothing, orm_core::Deleted::default());
        Ok(())
    })
    .await
}

#[tokio::test]
async fn annotate_counts_across_relations_without_inflation() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        tagged().await?;
        let rows = Author::all()
            .annotate([Count("posts"), Count("posts__tags"), Max("posts__title")])
            .order_by(["-posts__count", "name"])
            .await?;
        let seen: Vec<(&str, i64, i64, Option<String>)> = rows
            .iter()
            .map(|a| {
                Ok((
                    a.name.as_str(),
                    a.get::<i64>("posts__count")?,
                    a.get::<i64>("posts__tags__count")?,
                    a.get::<Option<String>>("posts__title__max")?,
                ))
            })
            .collect::<Result<_>>()?;
        // Django would report 4 posts for Gemini (2 posts x 2 tag rows on one
        // of them) unless distinct=True; each count here is exact.
        assert_eq!(
            seen,
            [
                ("Ada", 2, 2, Some("Rust basics".into())),
                ("Gemini", 2, 2, Some("Rust async".into())),
                ("Bob", 0, 0, None),
            ]
        );
        let busy = Author::all()
            .annotate([Count("posts").alias("n")])
            .filter("n__gte", 2i64)
            .order_by(["name"])
            .await?;
        assert_eq!(
            busy.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            ["Ada", "Gemini"]
        );
        let tags = Tag::all()
            .annotate([Count("posts")])
            .order_by(["name"])
            .await?;
        assert_eq!(tags[0].get::<i64>("posts__count")?, 2, "python");
        let err = Author::all().annotate([Count("karma")]).await.unwrap_err();
        assert!(matches!(err, Error::InvalidQuery(_)), "{err}");
        let err = Author::all().annotate([Count("postz")]).await.unwrap_err();
        assert!(err.to_string().contains("posts, profile"), "{err}");
        let err = Author::all()
            .annotate([Count("posts").alias("name")])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("name of a field"), "{err}");
        Ok(())
    })
    .await
}
