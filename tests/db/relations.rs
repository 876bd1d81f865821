//! ForeignKey, OneToOne, ManyToMany and Reverse against real PostgreSQL:
//! lookups in every direction, Django's same-row rules, managers, on_delete.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::blog::*;

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
