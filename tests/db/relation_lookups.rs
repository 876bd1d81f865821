//! Lookups across relations: key forms, same-row rule, exclude, typed and runtime forms, Exists.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::blog::{blog, names, Author, Post};

#[tokio::test]
async fn forward_lookups_and_key_forms() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (gemini, ada, _) = blog().await;
        let by_name = Post::filter(q!(author__name__icontains = "gem"))
            .count()
            .await?;
        assert_eq!(by_name, 2);
        // author = key, author_id = key, author__id = key, author = &object: one query.
        let a = Post::filter(q!(author = ada.id)).sql()?.unwrap();
        let b = Post::filter(q!(author_id = ada.id)).sql()?.unwrap();
        let c = Post::filter(q!(author__id = ada.id)).sql()?.unwrap();
        let d = Post::filter(q!(author = &ada)).sql()?.unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a, d);
        assert!(
            a.sql.ends_with(r#"WHERE "rel_posts"."author_id" = $1"#),
            "{}",
            a.sql
        );
        assert_eq!(Post::filter(q!(author = &gemini)).count().await?, 2);
        assert_eq!(
            Post::filter(q!(author__karma__gte = 20, published = true))
                .count()
                .await?,
            1
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn reverse_lookups_do_not_duplicate() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        // Both of Gemini's posts match, yet Gemini comes back once.
        let found = Author::filter(q!(posts__title__contains = "a"))
            .order_by(["name"])
            .await?;
        assert_eq!(names(&found), ["Ada", "Gemini"]);
        assert_eq!(Author::filter(q!(posts__title__startswith = "Rust")).count().await?, 2);
        let sql = Author::filter(q!(posts__title = "x")).sql()?.unwrap().sql;
        assert!(sql.contains(r#"EXISTS (SELECT 1 FROM "rel_posts" AS "T1" WHERE "T1"."author_id" = "rel_authors"."id" AND "T1"."title" = $1)"#), "{sql}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn one_filter_means_the_same_related_row() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        // One filter: a published post about Rust -> only Gemini.
        let same = Author::filter(q!(
            posts__title__startswith = "Rust",
            posts__published = true
        ))
        .order_by(["name"])
        .await?;
        assert_eq!(names(&same), ["Gemini"]);
        // Chained: some Rust post and some published post -> Ada too.
        let chained = Author::filter(q!(posts__title__startswith = "Rust"))
            .filter(q!(posts__published = true))
            .order_by(["name"])
            .await?;
        assert_eq!(names(&chained), ["Ada", "Gemini"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn exclude_across_a_relation_keeps_rows_without_related() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        // Bob has no posts: NOT EXISTS keeps him.
        let kept = Author::exclude(q!(posts__published = false)).await?;
        assert_eq!(names(&kept), ["Bob"]);
        // exclude(a, b): drop authors having a Rust post AND having a published post
        // (not necessarily the same one), as Django does.
        let kept = Author::exclude(q!(
            posts__title__startswith = "Rust",
            posts__published = true
        ))
        .order_by(["name"])
        .await?;
        assert_eq!(names(&kept), ["Bob"]);
        // filter(~Q(a, b)) is exclude(a, b) in Django (the "Spanning
        // multi-valued relationships" section of its queries topic): not one
        // related row with both, but some row with each. Ada has a Rust post
        // and a published post, not one published Rust post: a single
        // NOT EXISTS (a AND b) would keep her.
        let negated = Author::filter(!q!(
            posts__title__startswith = "Rust",
            posts__published = true
        ))
        .order_by(["name"])
        .await?;
        assert_eq!(names(&negated), ["Bob"]);
        let excluded = Author::exclude(q!(
            posts__title__startswith = "Rust",
            posts__published = true
        ));
        let filtered = Author::filter(!q!(
            posts__title__startswith = "Rust",
            posts__published = true
        ));
        let where_of = |sql: String| sql[sql.find(" WHERE ").unwrap()..].to_owned();
        assert_eq!(
            where_of(filtered.sql()?.unwrap().sql),
            where_of(excluded.sql()?.unwrap().sql)
        );
        // Twice negated, the conditions hold for one related row again, as
        // in Django (and as in filter(a, b)): Gemini only.
        let twice = Author::filter(!!q!(
            posts__title__startswith = "Rust",
            posts__published = true
        ))
        .await?;
        assert_eq!(names(&twice), ["Gemini"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn typed_and_runtime_forms_cross_relations_too() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        let p = Post::fields();
        let typed = Post::filter(p.author.has(|a| a.name.icontains("gem")));
        let macro_form = Post::filter(q!(author__name__icontains = "gem"));
        assert_eq!(typed.sql()?, macro_form.sql()?);
        assert_eq!(typed.count().await?, 2);
        // Same related row, in the typed form as with q!.
        let a = Author::fields();
        let same = Author::filter(
            a.posts
                .has(|p| p.title.startswith("Rust") & p.published.eq(true)),
        )
        .await?;
        assert_eq!(names(&same), ["Gemini"]);
        assert_eq!(
            Author::filter(
                a.posts
                    .has(|p| p.title.startswith("Rust") & p.published.eq(true))
            )
            .sql()?,
            Author::filter(q!(
                posts__title__startswith = "Rust",
                posts__published = true
            ))
            .sql()?
        );
        // Runtime keys from a query string.
        let q = Lookup::parse::<Post>("author__name__icontains", "gem")?;
        assert_eq!(Post::filter(q).count().await?, 2);
        let q = Lookup::parse::<Author>("posts__title__startswith", "Rust")?;
        assert_eq!(Author::filter(q).count().await?, 2);
        let q = Lookup::parse::<Author>("profile__isnull", "true")?;
        assert_eq!(Author::filter(q).count().await?, 3);
        let err = Lookup::parse::<Post>("author__nmae", "x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Author has no field `nmae`; valid fields: id, name, karma"
        );
        let err = Lookup::parse::<Post>("writer__name", "x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Post has no relation `writer`; valid relations: author, tags"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn exists_with_outer_ref() -> Result<()> {
    use orm_core::query::{Exists, OuterRef};
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        let published = Author::filter(Exists(Post::filter(q!(author = OuterRef("id"), published = true))))
            .order_by(["name"])
            .await?;
        assert_eq!(names(&published), ["Ada", "Gemini"]);
        let without = Author::exclude(Exists(Post::filter(q!(author = OuterRef("id"))))).await?;
        assert_eq!(names(&without), ["Bob"]);
        let sql = Author::filter(Exists(Post::filter(q!(author = OuterRef("id"), published = true))))
            .sql()?
            .unwrap()
            .sql;
        assert!(
            sql.ends_with(r#"WHERE EXISTS (SELECT 1 FROM "rel_posts" AS "E1" WHERE "E1"."author_id" = "rel_authors"."id" AND "E1"."published" = $1)"#),
            "{sql}"
        );
        // Correlated with the same table: someone has more karma.
        let outranked = Author::filter(Exists(Author::filter(q!(karma__gt = OuterRef("karma")))))
            .order_by(["name"])
            .await?;
        assert_eq!(names(&outranked), ["Bob", "Gemini"]);
        // OuterRef outside an Exists, and an unknown outer field, are errors.
        let err = Author::filter(q!(karma = OuterRef("karma"))).count().await.unwrap_err();
        assert!(err.to_string().contains("inside Exists"), "{err}");
        let err = Author::filter(Exists(Post::filter(q!(author = OuterRef("nope")))))
            .count()
            .await
            .unwrap_err();
        assert!(matches!(&err, Error::InvalidLookup(e) if e.model == "Author"), "{err}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn update_or_create_fills_only_the_models_own_fields() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        // `posts__author__name` ends on an Author's `name`, but across
        // relations: as in Django, it chooses rows and fills nothing.
        let (created, made) =
            Author::update_or_create(q!(posts__author__name = "Nobody"), q!(karma = 7)).await?;
        assert!(made);
        assert_eq!((created.name.as_str(), created.karma), ("", 7));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_foreign_keys_column_name_is_a_field_name_everywhere() -> Result<()> {
    // Django accepts a foreign key's `attname` (`author_id`) wherever a
    // field name goes (`Options.get_field` maps it), and rows keep the
    // name asked for (`values("author_id")` has the key "author_id").
    let db = setup().await;
    orm_core::scope(&db, async {
        let (gemini, ada, _) = blog().await;
        let rows = Post::filter(q!(title = "Python"))
            .values(["title", "author_id"])
            .await?;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].names().collect::<Vec<_>>(), ["title", "author_id"]);
        assert_eq!(rows[0].get::<i64>("author_id")?, ada.id);
        // values_list and values_list_flat.
        let pairs: Vec<(String, i64)> = Post::all()
            .order_by(["title"])
            .values_list(("title", "author_id"))
            .await?;
        assert_eq!(pairs[0], ("Draft".to_owned(), gemini.id));
        let mut keys: Vec<i64> = Post::all().values_list_flat("author_id").await?;
        keys.sort_unstable();
        let mut expected = vec![gemini.id, gemini.id, ada.id, ada.id];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        // values(..).annotate(..): posts per author, grouped by the column.
        let per_author = Post::all()
            .values("author_id")
            .annotate([Count("id")])
            .order_by(["author_id"])
            .await?;
        assert_eq!(per_author.len(), 2);
        for row in &per_author {
            assert_eq!(row.names().collect::<Vec<_>>(), ["author_id", "id__count"]);
            assert_eq!(row.get::<i64>("id__count")?, 2);
        }
        // The README's subquery: authors of published posts.
        let authors = Author::filter(q!(
            id__in = Post::filter(q!(published = true)).values("author_id")
        ))
        .order_by(["name"])
        .await?;
        assert_eq!(names(&authors), ["Ada", "Gemini"]);
        // order_by, only and the runtime form take it too.
        let ordered = Post::all().order_by(["-author_id", "title"]).await?;
        assert_eq!(ordered.len(), 4);
        let partial = Post::all().only(["author_id"]).await?;
        assert!(partial
            .iter()
            .all(|p| p.deferred_fields().contains(&"title")));
        let q = Lookup::parse::<Post>("author_id", &ada.id.to_string())?;
        assert_eq!(Post::filter(q).count().await?, 2);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_query_set_is_an_in_operand_by_its_primary_keys() -> Result<()> {
    // Django: `Post.objects.filter(author__in=Author.objects.filter(..))`
    // compares with the authors' primary keys.
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        let prolific = Author::filter(q!(name__in = ["Gemini", "Bob"]));
        let posts = Post::filter(q!(author__in = prolific.clone()))
            .order_by(["title"])
            .await?;
        let titles: Vec<&str> = posts.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Draft", "Rust async"]);
        let authors = Author::filter(q!(id__in = prolific))
            .order_by(["name"])
            .await?;
        assert_eq!(names(&authors), ["Bob", "Gemini"]);
        // Negated: the others, with Django's NULL rule (no NULL keys here).
        let others = Post::exclude(q!(author__in = Author::filter(q!(name = "Ada"))))
            .count()
            .await?;
        assert_eq!(others, 2);
        Ok(())
    })
    .await
}
