//! Lookups four relations deep; `__in`, OR, exclude, slicing, update and delete across relations.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::edited_blog::{authors, blog, titles, Author, Blog, Comment, Country, Post};
use crate::models::names_of;

#[tokio::test]
async fn lookups_three_and_four_levels_deep() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await?;
        let count = |q: Q<Comment>| Comment::filter(q).count();
        assert_eq!(
            count(q!(post__author__profile__country__name = "NZ")).await?,
            2
        );
        assert_eq!(
            count(q!(post__author__profile__bio__icontains = "bike")).await?,
            1
        );
        assert_eq!(
            count(q!(post__author__profile__country__name__in = ["NZ", "FR"])).await?,
            3
        );
        // Cy's profile has no country.
        assert_eq!(
            count(q!(post__author__profile__country__isnull = true)).await?,
            1
        );
        assert_eq!(count(q!(post__author__profile__country = None)).await?, 1);
        assert_eq!(
            count(q!(post__editor__profile__country__name = "FR")).await?,
            2
        );
        assert_eq!(count(q!(post__editor__isnull = true)).await?, 1);
        // Four levels the other way round: each country once.
        let countries = |q: Q<Country>| async move {
            let found = Country::filter(q).order_by(["name"]).await?;
            Ok::<_, Error>(names_of(&found, |c| &c.name))
        };
        assert_eq!(
            countries(q!(profiles__author__posts__comments__body = "meh")).await?,
            ["FR"]
        );
        assert_eq!(
            countries(q!(
                profiles__author__posts__comments__body__startswith = "nice"
            ))
            .await?,
            ["NZ"]
        );
        assert_eq!(
            countries(q!(profiles__author__edited__comments__body = "meh")).await?,
            ["NZ"]
        );
        // Comments reached from the author, each author once.
        let found = Author::filter(q!(posts__comments__body__startswith = "nice"))
            .order_by(["name"])
            .await?;
        assert_eq!(authors(&found), ["Ada", "Cy"]);
        let sql = Comment::filter(q!(post__author__profile__country__name = "NZ"))
            .sql()?
            .unwrap()
            .sql;
        assert!(sql.contains(r#""T4"."name" = $1"#), "{sql}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn in_or_and_exclude_across_relations() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let Blog {
            ada, bob, p1, p3, ..
        } = blog().await?;
        let posts = |qs: QuerySet<Post>| async move {
            Ok::<_, Error>(titles(&qs.order_by(["title"]).await?))
        };
        // __in across relations, on keys and on fields.
        assert_eq!(
            posts(Post::filter(q!(author__name__in = ["Ada", "Cy"]))).await?,
            ["a", "c", "e"]
        );
        assert_eq!(
            posts(Post::filter(q!(author__in = [ada.id, bob.id]))).await?,
            ["a", "b", "e"]
        );
        assert_eq!(posts(Post::filter(q!(editor__in = [bob.id]))).await?, ["a"]);
        let found = Author::filter(q!(posts__id__in = [p1.id, p3.id]))
            .order_by(["name"])
            .await?;
        assert_eq!(authors(&found), ["Ada", "Bob"]);
        let found = Author::filter(q!(posts__comments__body__in = ["meh", "nice"]))
            .order_by(["name"])
            .await?;
        assert_eq!(authors(&found), ["Ada", "Bob", "Cy"]);
        // An empty list matches nothing and sends nothing.
        let before = db.query_count();
        let none = Author::filter(q!(posts__title__in = Vec::<String>::new()))
            .count()
            .await?;
        assert_eq!((none, db.query_count() - before), (0, 0));

        // OR across relations: each row once.
        let found = Author::filter(q!(posts__title = "a") | q!(name = "Bob"))
            .order_by(["name"])
            .await?;
        assert_eq!(authors(&found), ["Ada", "Bob"]);
        let found = Author::filter(q!(posts__title = "a") | q!(posts__title = "c"))
            .order_by(["name"])
            .await?;
        assert_eq!(authors(&found), ["Ada", "Cy"]);
        let found = Author::filter(q!(posts__comments__body = "meh") | q!(edited__title = "b"))
            .order_by(["name"])
            .await?;
        assert_eq!(authors(&found), ["Ada", "Bob"]);
        let found = Author::exclude(q!(posts__title = "a") | q!(name = "Bob"))
            .order_by(["name"])
            .await?;
        assert_eq!(authors(&found), ["Cy", "Dee"]);

        // exclude() with a nullable key keeps the rows whose key is NULL.
        assert_eq!(
            posts(Post::exclude(q!(editor = ada.id))).await?,
            ["a", "c", "e"]
        );
        assert_eq!(
            posts(Post::filter(!q!(editor = ada.id))).await?,
            ["a", "c", "e"]
        );
        assert_eq!(
            posts(Post::exclude(q!(editor__name = "Bob"))).await?,
            ["b", "c", "e"]
        );
        assert_eq!(
            posts(Post::exclude(q!(editor__karma__gte = 10))).await?,
            ["a", "c", "e"]
        );
        assert_eq!(
            posts(Post::exclude(q!(editor__in = [ada.id, bob.id]))).await?,
            ["c", "e"]
        );
        assert_eq!(
            posts(Post::exclude(q!(editor__profile__country__name = "NZ"))).await?,
            ["a", "c", "e"]
        );
        assert_eq!(
            posts(Post::filter(q!(editor__isnull = true))).await?,
            ["c", "e"]
        );
        assert_eq!(posts(Post::exclude(q!(editor = None))).await?, ["a", "b"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn order_limit_count_update_delete_with_relation_filters() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let Blog { bob, dee, .. } = blog().await?;
        // Ordering and slicing over a relation filter.
        let top = Post::filter(q!(author__karma__gte = 10))
            .order_by(["-rank"])
            .limit(2)
            .await?;
        assert_eq!(titles(&top), ["c", "a"]);
        let next = Post::filter(q!(author__karma__gte = 10))
            .order_by(["-rank"])
            .offset(1)
            .limit(2)
            .await?;
        assert_eq!(titles(&next), ["a", "e"]);
        let best = Author::filter(q!(posts__rank__gte = 2))
            .order_by(["-karma"])
            .limit(1)
            .await?;
        assert_eq!(authors(&best), ["Ada"]);
        let first = Author::filter(q!(posts__comments__isnull = false))
            .order_by(["-name"])
            .first()
            .await?;
        assert_eq!(first.map(|a| a.name).as_deref(), Some("Cy"));
        assert_eq!(
            Author::filter(q!(posts__rank__gte = 2))
                .limit(2)
                .count()
                .await?,
            2
        );

        // count / exists never count a row twice.
        let nice = || Author::filter(q!(posts__comments__body__startswith = "nice"));
        assert_eq!(nice().count().await?, 2, "Ada has two such comments");
        assert!(nice().exists().await?);
        assert!(
            !Author::filter(q!(posts__comments__body = "zzz"))
                .exists()
                .await?
        );

        // update: each matching row once, whatever the number of related rows.
        assert_eq!(nice().update(q!(karma = 0)).await?, 2);
        let karmas: Vec<(String, i32)> = Author::all()
            .order_by(["name"])
            .await?
            .into_iter()
            .map(|a| (a.name, a.karma))
            .collect();
        assert_eq!(
            karmas,
            [
                ("Ada".to_owned(), 0),
                ("Bob".to_owned(), 5),
                ("Cy".to_owned(), 0),
                ("Dee".to_owned(), 1)
            ]
        );
        assert_eq!(
            Post::filter(q!(comments__body__contains = "nice"))
                .update(q!(rank = 10))
                .await?,
            2
        );
        // Assigning keys, from an object and as NULL.
        assert_eq!(
            Post::filter(q!(author__name = "Cy"))
                .update(q!(editor = &bob))
                .await?,
            1
        );
        assert_eq!(Post::filter(q!(editor = &bob)).count().await?, 2);
        assert_eq!(
            Post::filter(q!(editor__name = "Bob", rank = 10))
                .update(q!(editor = None, author = &dee))
                .await?,
            2
        );
        assert_eq!(titles(&dee.posts().order_by(["title"]).await?), ["a", "c"]);

        // delete: each matching row once.
        assert_eq!(
            Comment::filter(q!(post__author__name = "Dee"))
                .delete()
                .await?,
            3
        );
        assert_eq!(Post::filter(q!(comments__isnull = true)).delete().await?, 3);
        assert_eq!(titles(&Post::all().await?), ["b"]);
        assert_eq!(Author::filter(q!(posts__isnull = true)).delete().await?, 3);
        assert_eq!(authors(&Author::all().await?), ["Bob"]);
        Ok(())
    })
    .await
}
