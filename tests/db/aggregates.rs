//! Aggregates across relations: `annotate` and `aggregate`, counted without join inflation.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::articles::{sample, Article, Writer};
use crate::models::blog::{blog, tagged, Author, Tag};

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

#[tokio::test]
async fn aggregate_across_relations() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await?;
        let stats = Writer::all()
            .aggregate([
                Sum("articles__views"),
                Count("articles"),
                Sum("karma"),
                Avg("articles__likes"),
                Max("articles__title"),
            ])
            .await?;
        assert_eq!(stats.get::<Option<i64>>("articles__views__sum")?, Some(127));
        assert_eq!(stats.get::<i64>("articles__count")?, 3);
        // The writers' own karma is not inflated by their articles.
        assert_eq!(stats.get::<Option<i64>>("karma__sum")?, Some(55));
        let avg = stats.get::<Option<f64>>("articles__likes__avg")?.unwrap();
        assert!((avg - 41.0 / 3.0).abs() < 1e-9, "{avg}");
        assert_eq!(
            stats.get::<Option<String>>("articles__title__max")?,
            Some("b1".into())
        );
        // Filtered, sliced, and forward (one writer per article, as Django's join).
        let bob = Writer::filter(q!(name = "bob"))
            .aggregate([Sum("articles__views")])
            .await?;
        assert_eq!(bob.get::<Option<i64>>("articles__views__sum")?, Some(7));
        let first = Writer::all()
            .order_by(["name"])
            .limit(1)
            .aggregate([Count("articles").alias("n")])
            .await?;
        assert_eq!(first.get::<i64>("n")?, 2);
        let per_article = Article::all().aggregate([Sum("writer__karma")]).await?;
        assert_eq!(
            per_article.get::<Option<i64>>("writer__karma__sum")?,
            Some(105)
        );
        // No rows: counts are 0, the others NULL.
        let none = Writer::filter(q!(name = "zed"))
            .aggregate([Count("articles"), Sum("articles__views")])
            .await?;
        assert_eq!(none.get::<i64>("articles__count")?, 0);
        assert_eq!(none.get::<Option<i64>>("articles__views__sum")?, None);
        let err = Writer::all()
            .aggregate([Sum("articles__title")])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidQuery(_)), "{err}");
        let err = Writer::all()
            .values("name")
            .annotate([Count("articles")])
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("groups this model's own fields"),
            "{err}"
        );
        let err = Writer::all()
            .aggregate([Sum("articlez__views")])
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("articles"),
            "lists the relations: {err}"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn stddev_variance_and_bool_aggregates() -> Result<()> {
    // Django's StdDev / Variance (population by default, sample=True for
    // the sample form) and contrib.postgres' BoolAnd / BoolOr, over the
    // same rows: karma 30, 10, 20, 20, 40 has mean 24 and squared
    // deviations 520, so VAR_POP 104 and VAR_SAMP 130.
    use orm_core::query::{BoolAnd, BoolOr};
    let db = setup().await;
    orm_core::scope(&db, async {
        for (name, karma) in [("a", 30), ("b", 10), ("c", 20), ("d", 20), ("e", 40)] {
            crate::common::User::create(crate::common::User {
                karma,
                ..crate::common::User::named(name)
            })
            .await?;
        }
        let stats = crate::common::User::all()
            .aggregate([
                StdDev("karma"),
                Variance("karma"),
                Variance("karma").sample().alias("var_samp"),
                StdDev("karma").sample().alias("sd_samp"),
            ])
            .await?;
        let close = |got: f64, want: f64| assert!((got - want).abs() < 1e-9, "{got} != {want}");
        close(stats.get::<f64>("karma__variance")?, 104.0);
        close(stats.get::<f64>("karma__stddev")?, 104f64.sqrt());
        close(stats.get::<f64>("var_samp")?, 130.0);
        close(stats.get::<f64>("sd_samp")?, 130f64.sqrt());
        // Over no rows: NULL, as Django's None.
        let none = crate::common::User::filter(q!(karma__gt = 100))
            .aggregate([StdDev("karma")])
            .await?;
        assert_eq!(none.get::<Option<f64>>("karma__stddev")?, None);
        // sample() of another aggregate, or a bool aggregate of a number:
        // refused before anything is sent.
        for bad in [Sum("karma").sample(), BoolAnd("karma")] {
            assert!(matches!(
                crate::common::User::all().aggregate([bad]).await,
                Err(Error::InvalidQuery(_))
            ));
        }
        Ok::<(), Error>(())
    })
    .await?;
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        let flags = crate::models::blog::Post::all()
            .aggregate([BoolAnd("published"), BoolOr("published")])
            .await?;
        assert!(!flags.get::<bool>("published__booland")?);
        assert!(flags.get::<bool>("published__boolor")?);
        // Per author, across the relation.
        let all_published = Author::all()
            .order_by(["name"])
            .annotate([BoolAnd("posts__published")])
            .await?;
        let values: Vec<Option<bool>> = all_published
            .iter()
            .map(|a| a.get::<Option<bool>>("posts__published__booland"))
            .collect::<Result<_>>()?;
        // Ada: one draft; Bob: no posts (NULL); Gemini: one draft.
        assert_eq!(values, [Some(false), None, Some(false)]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn aggregate_defaults_replace_null_over_no_rows() -> Result<()> {
    // Django 4.0's `default=`: Sum("x", default=0) is 0 over no rows, and
    // the real sum otherwise; across a relation per row too.
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        let none = crate::models::blog::Post::filter(q!(title = "nothing"))
            .aggregate([
                Count("id"),
                Max("id").default(-1i64),
                Avg("id").default(0.0),
            ])
            .await?;
        assert_eq!(none.get::<i64>("id__count")?, 0);
        assert_eq!(none.get::<i64>("id__max")?, -1);
        assert_eq!(none.get::<f64>("id__avg")?, 0.0);
        let some = crate::models::blog::Post::all()
            .aggregate([Count("id").alias("n"), Max("id").default(-1i64)])
            .await?;
        assert_eq!(some.get::<i64>("n")?, 4);
        assert!(some.get::<i64>("id__max")? > 0);
        // Per author: Bob has no posts, 0 instead of NULL.
        let per_author = Author::all()
            .order_by(["name"])
            .annotate([Count("posts").alias("n"), Max("posts__id").default(0i64)])
            .await?;
        let maxes: Vec<i64> = per_author
            .iter()
            .map(|a| a.get::<i64>("posts__id__max"))
            .collect::<Result<_>>()?;
        assert!(maxes[0] > 0 && maxes[1] == 0 && maxes[2] > 0, "{maxes:?}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn conditions_on_annotations_take_isnull_in_and_range() -> Result<()> {
    // Django filters annotations with any lookup: posts__count__in,
    // __range, and __isnull on an aggregate that is NULL for no rows.
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await; // Gemini 2 posts, Ada 2, Bob none
        let named = |rows: Vec<orm_core::query::Annotated<Author>>| -> Vec<String> {
            rows.iter().map(|a| a.name.clone()).collect()
        };
        let two = Author::all()
            .annotate([Count("posts")])
            .filter("posts__count__in", [2i64, 3])
            .order_by(["name"])
            .await?;
        assert_eq!(named(two), ["Ada", "Gemini"]);
        let none = Author::all()
            .annotate([Count("posts")])
            .filter("posts__count__range", [0i64, 1])
            .await?;
        assert_eq!(named(none), ["Bob"]);
        let without = Author::all()
            .annotate([Max("posts__id")])
            .filter("posts__id__max__isnull", true)
            .await?;
        assert_eq!(named(without), ["Bob"]);
        let empty: [i64; 0] = [];
        let nothing = Author::all()
            .annotate([Count("posts")])
            .filter("posts__count__in", empty)
            .await?;
        assert!(nothing.is_empty());
        // values(..).annotate(..).having(..) too.
        let groups = crate::models::blog::Post::all()
            .values("published")
            .annotate([Count("id")])
            .having("id__count__range", [2i64, 2])
            .await?;
        assert_eq!(groups.len(), 2);
        Ok(())
    })
    .await
}
