//! Every API that takes a field's or a relation's metadata, called from
//! this crate on models declared in the application's library crate: the
//! layout of a real application, where the root package's tests (models
//! next to their calls) cannot see a metadata identity that differs from
//! crate to crate.

use orm_core::prelude::*;
use orm_core::Db;
use orm_test_app::{Post, PostTag, Profile, Tag, User};

/// A fresh database with the app's tables.
async fn setup() -> Db {
    let db = orm_core::testing::test_db().await.expect(
        "a throwaway PostgreSQL database (install PostgreSQL's server or set DATABASE_URL)",
    );
    orm_core::generate_schemas_on(&db)
        .await
        .expect("generate_schemas");
    db
}

/// The blog every test starts from:
/// - ada (karma 50, a@x, a profile): "Rust async" (100 views, published,
///   tags rust + async), "Draft" (5 views, unpublished);
/// - bob (karma 3, no email): "Rust basics" (20 views, published, tag rust);
/// - cy (karma 1, c@x): no posts.
struct Blog {
    ada: User,
    bob: User,
    cy: User,
    rust: Tag,
    asynk: Tag,
}

async fn blog() -> Result<Blog> {
    let users = User::bulk_create(vec![
        User {
            name: "ada".into(),
            karma: 50,
            email: Some("a@x".into()),
            ..Default::default()
        },
        User {
            name: "bob".into(),
            karma: 3,
            ..Default::default()
        },
        User {
            name: "cy".into(),
            karma: 1,
            email: Some("c@x".into()),
            ..Default::default()
        },
    ])
    .await?;
    let [ada, bob, cy]: [User; 3] = users.try_into().expect("three users");
    let tags = Tag::bulk_create(vec![
        Tag {
            name: "rust".into(),
            ..Default::default()
        },
        Tag {
            name: "async".into(),
            ..Default::default()
        },
    ])
    .await?;
    let [rust, asynk]: [Tag; 2] = tags.try_into().expect("two tags");
    let posts = Post::bulk_create(vec![
        post(&ada, "Rust async", 100, true)?,
        post(&ada, "Draft", 5, false)?,
        post(&bob, "Rust basics", 20, true)?,
    ])
    .await?;
    posts[0].tags().add(&[&rust, &asynk]).await?;
    posts[2].tags().add(&[&rust]).await?;
    Profile::create(Profile {
        user: OneToOne::to(&ada)?,
        bio: "writes about Rust".into(),
        ..Default::default()
    })
    .await?;
    Ok(Blog {
        ada,
        bob,
        cy,
        rust,
        asynk,
    })
}

fn post(author: &User, title: &str, views: i64, published: bool) -> Result<Post> {
    Ok(Post {
        author: ForeignKey::to(author)?,
        title: title.into(),
        views,
        published,
        ..Default::default()
    })
}

/// `(name, karma)` of every user, by name.
async fn karmas() -> Result<Vec<(String, i32)>> {
    User::all()
        .order_by(["name"])
        .values_list(("name", "karma"))
        .await
}

fn pairs(rows: &[(&str, i32)]) -> Vec<(String, i32)> {
    rows.iter().map(|(n, k)| ((*n).to_owned(), *k)).collect()
}

fn user_names(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.name.as_str()).collect()
}

fn titles(posts: &[Post]) -> Vec<&str> {
    posts.iter().map(|p| p.title.as_str()).collect()
}

#[tokio::test]
async fn update_with_plain_values() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await?;
        let n = User::filter(q!(karma__lt = 5))
            .update(q!(karma = 5))
            .await?;
        assert_eq!(n, 2);
        assert_eq!(
            karmas().await?,
            pairs(&[("ada", 50), ("bob", 5), ("cy", 5)])
        );
        // Two columns, one of them set to NULL; filtered across a relation.
        let n = User::filter(q!(posts__published = false))
            .update(q!(karma = 7, email = None))
            .await?;
        assert_eq!(n, 1);
        let ada = User::get(q!(name = "ada")).await?;
        assert_eq!((ada.karma, ada.email), (7, None));
        // By primary key (the kept-text path of a one-key update).
        let bob = User::get(q!(name = "bob")).await?;
        User::filter(q!(id = bob.id)).update(q!(karma = 9)).await?;
        assert_eq!(User::get(q!(id = bob.id)).await?.karma, 9);
        // On a database given to the query rather than the scope's.
        User::filter(q!(name = "cy"))
            .using(&db)
            .update(q!(karma = 2))
            .await?;
        assert_eq!(User::get(q!(name = "cy")).await?.karma, 2);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn update_with_f_expressions() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await?;
        let n = User::all().update(q!(karma = F("karma") + 1)).await?;
        assert_eq!(n, 3);
        assert_eq!(
            karmas().await?,
            pairs(&[("ada", 51), ("bob", 4), ("cy", 2)])
        );
        let n = Post::filter(q!(author__name = "ada"))
            .update(q!(views = F("views") * 2 + 1))
            .await?;
        assert_eq!(n, 2);
        let views: Vec<(String, i64)> = Post::all()
            .order_by(["title"])
            .values_list(("title", "views"))
            .await?;
        assert_eq!(
            views,
            [
                ("Draft".to_owned(), 11),
                ("Rust async".to_owned(), 201),
                ("Rust basics".to_owned(), 20)
            ]
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn update_with_field_handles() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await?;
        let f = User::fields();
        let n = User::filter(f.karma.lt(5)).update(f.karma.set(5)).await?;
        assert_eq!(n, 2);
        assert_eq!(
            karmas().await?,
            pairs(&[("ada", 50), ("bob", 5), ("cy", 5)])
        );
        let n = User::filter(f.name.eq("ada"))
            .update(f.karma.set_expr(F("karma") * 2))
            .await?;
        assert_eq!(n, 1);
        let n = User::filter(f.name.eq("cy"))
            .update(f.email.set_null())
            .await?;
        assert_eq!(n, 1);
        assert_eq!(
            karmas().await?,
            pairs(&[("ada", 100), ("bob", 5), ("cy", 5)])
        );
        assert_eq!(User::get(q!(name = "cy")).await?.email, None);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn save_fields_writes_only_the_named_fields() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let Blog { mut ada, .. } = blog().await?;
        // Another writer changes the email meanwhile.
        let mut other = User::get(q!(id = ada.id)).await?;
        other.email = Some("new@x".into());
        other.save().await?;
        let before = ada.updated_at;
        ada.karma = 99;
        ada.email = Some("stale@x".into());
        ada.save_fields(&["karma"]).await?;
        let stored = User::get(q!(id = ada.id)).await?;
        assert_eq!(stored.karma, 99);
        assert_eq!(stored.email.as_deref(), Some("new@x"), "email not written");
        assert!(stored.updated_at > before, "auto_now is written too");
        let err = ada.save_fields(&["karmah"]).await.unwrap_err();
        assert!(matches!(err, Error::InvalidLookup { .. }), "{err}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bulk_update_and_in_bulk() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await?;
        let mut users = User::all().order_by(["name"]).await?;
        for user in &mut users {
            user.karma = 7;
        }
        let n = User::bulk_update(&users, &["karma"]).await?;
        assert_eq!(n as usize, users.len());
        assert!(karmas().await?.iter().all(|(_, k)| *k == 7));
        let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        let by_id = User::all().in_bulk(ids.clone()).await?;
        assert_eq!(by_id.len(), ids.len());
        assert_eq!(by_id[&ids[0]].name, users[0].name);
        // A foreign key by its column name, from another crate's models.
        let mut posts = Post::all().order_by(["id"]).await?;
        let first_author = *posts[0].author.key();
        for post in &mut posts {
            post.author = orm_core::ForeignKey::from_key(first_author);
        }
        Post::bulk_update(&posts, &["author_id"]).await?;
        let keys: Vec<i64> = Post::all().values_list_flat("author_id").await?;
        assert!(keys.iter().all(|k| *k == first_author));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn only_and_defer_then_save() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await?;
        let mut rows = User::all().order_by(["name"]).only(["karma"]).await?;
        assert_eq!(rows.len(), 3);
        assert_eq!((rows[0].name.as_str(), rows[0].karma), ("", 50));
        assert_eq!(
            rows[0].deferred_fields(),
            ["name", "email", "created_at", "updated_at"]
        );
        rows[0].karma = 60;
        rows[0].save().await?;
        let ada = User::get(q!(name = "ada")).await?;
        assert_eq!(
            (ada.karma, ada.email.as_deref()),
            (60, Some("a@x")),
            "only karma written"
        );

        let mut bob = User::filter(q!(name = "bob"))
            .defer(["email", "karma"])
            .first()
            .await?
            .expect("bob");
        assert_eq!(bob.deferred_fields(), ["email", "karma"]);
        assert_eq!((bob.name.as_str(), bob.karma), ("bob", 0));
        bob.name = "bobby".into();
        bob.save().await?;
        let complete = bob.into_complete().await?;
        assert_eq!((complete.name.as_str(), complete.karma), ("bobby", 3));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn order_by_names_and_field_handles() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let Blog { mut cy, .. } = blog().await?;
        cy.karma = 3; // ties with bob
        cy.save().await?;
        let by_names = User::all().order_by(["-karma", "name"]).await?;
        assert_eq!(user_names(&by_names), ["ada", "bob", "cy"]);
        let by_names = User::all().order_by(["karma", "-name"]).await?;
        assert_eq!(user_names(&by_names), ["cy", "bob", "ada"]);
        let f = User::fields();
        let by_handles = User::all().order_by([f.karma.asc(), f.name.desc()]).await?;
        assert_eq!(user_names(&by_handles), ["cy", "bob", "ada"]);
        let posts = Post::all().order_by([Post::fields().views.desc()]).await?;
        assert_eq!(titles(&posts), ["Rust async", "Rust basics", "Draft"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn values_and_values_lists() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let Blog { ada, .. } = blog().await?;
        let rows = User::filter(q!(karma__gte = 3))
            .order_by(["name"])
            .values(("name", "email"))
            .await?;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get::<String>("name")?, "ada");
        assert_eq!(rows[0].get::<Option<String>>("email")?, Some("a@x".into()));
        assert_eq!(rows[1].get::<Option<String>>("email")?, None);
        let names: Vec<String> = User::all()
            .order_by(["-karma"])
            .values_list_flat("name")
            .await?;
        assert_eq!(names, ["ada", "bob", "cy"]);
        let posts: Vec<(String, i64, bool)> = Post::filter(q!(author = ada.id))
            .order_by(["title"])
            .values_list(("title", "views", "published"))
            .await?;
        assert_eq!(
            posts,
            [
                ("Draft".to_owned(), 5, false),
                ("Rust async".to_owned(), 100, true)
            ]
        );
        // GROUP BY a field of the model.
        let groups = Post::all()
            .values("published")
            .annotate([Count("id"), Sum("views")])
            .order_by(["published"])
            .await?;
        let seen: Vec<(bool, i64, Option<i64>)> = groups
            .iter()
            .map(|g| {
                Ok((
                    g.get("published")?,
                    g.get("id__count")?,
                    g.get("views__sum")?,
                ))
            })
            .collect::<Result<_>>()?;
        assert_eq!(seen, [(false, 1, Some(5)), (true, 2, Some(120))]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn annotate_and_aggregate_across_relations() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await?;
        let stats = User::all()
            .aggregate([Count("posts"), Sum("posts__views"), Sum("karma")])
            .await?;
        assert_eq!(stats.get::<i64>("posts__count")?, 3);
        assert_eq!(stats.get::<Option<i64>>("posts__views__sum")?, Some(125));
        assert_eq!(stats.get::<Option<i64>>("karma__sum")?, Some(54));
        let forward = Post::all().aggregate([Sum("author__karma")]).await?;
        assert_eq!(forward.get::<Option<i64>>("author__karma__sum")?, Some(103));
        let tagged = Tag::all().aggregate([Count("posts")]).await?;
        assert_eq!(tagged.get::<i64>("posts__count")?, 3);
        let users = User::all()
            .annotate([Count("posts"), Sum("posts__views")])
            .order_by(["name"])
            .await?;
        let seen: Vec<(&str, i64, Option<i64>)> = users
            .iter()
            .map(|u| {
                Ok((
                    u.name.as_str(),
                    u.get("posts__count")?,
                    u.get("posts__views__sum")?,
                ))
            })
            .collect::<Result<_>>()?;
        assert_eq!(
            seen,
            [("ada", 2, Some(105)), ("bob", 1, Some(20)), ("cy", 0, None)]
        );
        let busy = User::all()
            .annotate([Count("posts")])
            .filter("posts__count__gte", 2i64)
            .await?;
        assert_eq!(busy.len(), 1);
        assert_eq!(busy[0].name, "ada");
        let scored = Post::all()
            .annotate_expr("score", F("views") + F("author__karma"))
            .order_by(["-score"])
            .await?;
        let seen: Vec<(&str, i64)> = scored
            .iter()
            .map(|p| Ok((p.title.as_str(), p.get("score")?)))
            .collect::<Result<_>>()?;
        assert_eq!(
            seen,
            [("Rust async", 150), ("Draft", 55), ("Rust basics", 23)]
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn filtered_and_collecting_aggregates_from_another_crate() -> Result<()> {
    use orm_core::query::{ArrayAgg, StringAgg, HQ};
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await?;
        // Django: annotate(seen=Sum("posts__views", filter=Q(posts__published=True), default=0),
        // titles=StringAgg("posts__title", ", ", ordering="posts__title"),
        // tags=ArrayAgg("posts__tags__name", distinct=True, ordering="posts__tags__name"))
        // .filter(Q(seen__gte=50) | Q(titles__isnull=True)).
        let users = User::all()
            .annotate([
                Sum("posts__views")
                    .filter::<User>(q!(posts__published = true))
                    .default(0)
                    .alias("seen"),
                StringAgg("posts__title", ", ")
                    .ordering(["posts__title"])
                    .alias("titles"),
                ArrayAgg("posts__tags__name")
                    .distinct()
                    .ordering(["posts__tags__name"])
                    .alias("tags"),
            ])
            .filter_q(HQ("seen__gte", 50i64) | HQ("titles__isnull", true))
            .order_by(["name"])
            .await?;
        type Seen<'a> = (&'a str, i64, Option<String>, Option<Vec<String>>);
        let seen: Vec<Seen<'_>> = users
            .iter()
            .map(|u| {
                Ok((
                    u.name.as_str(),
                    u.get("seen")?,
                    u.get("titles")?,
                    u.get("tags")?,
                ))
            })
            .collect::<Result<_>>()?;
        assert_eq!(
            seen,
            [
                (
                    "ada",
                    100,
                    Some("Draft, Rust async".to_owned()),
                    Some(vec!["async".to_owned(), "rust".to_owned()])
                ),
                ("cy", 0, None, None),
            ]
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn select_related_and_prefetch_related() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await?;
        let before = db.query_count();
        let posts = Post::all()
            .select_related(["author", "author__profile"])
            .order_by(["title"])
            .await?;
        assert_eq!(db.query_count() - before, 1, "one query");
        let authors: Vec<(&str, Option<&str>)> = posts
            .iter()
            .map(|p| {
                let a = p.author.get().expect("joined");
                (a.name.as_str(), a.profile.get().map(|pr| pr.bio.as_str()))
            })
            .collect();
        assert_eq!(
            authors,
            [
                ("ada", Some("writes about Rust")),
                ("ada", Some("writes about Rust")),
                ("bob", None)
            ]
        );
        let profiles = Profile::all().select_related(["user"]).await?;
        assert_eq!(profiles[0].user.get().map(|u| u.name.as_str()), Some("ada"));

        // Forward, reverse, many-to-many and reverse one-to-one.
        let posts = Post::all()
            .prefetch_related(["author", "tags"])
            .order_by(["title"])
            .await?;
        let seen: Vec<(&str, &str, Vec<&str>)> = posts
            .iter()
            .map(|p| {
                (
                    p.title.as_str(),
                    p.author.get().map_or("?", |a| a.name.as_str()),
                    p.tags
                        .get()
                        .expect("prefetched")
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("Draft", "ada", vec![]),
                ("Rust async", "ada", vec!["rust", "async"]),
                ("Rust basics", "bob", vec!["rust"])
            ]
        );
        let users = User::all()
            .prefetch_related(["posts__tags", "profile"])
            .order_by(["name"])
            .await?;
        let seen: Vec<(&str, Vec<&str>, usize, bool)> = users
            .iter()
            .map(|u| {
                let posts = u.posts.get().expect("prefetched");
                (
                    u.name.as_str(),
                    posts.iter().map(|p| p.title.as_str()).collect(),
                    posts
                        .iter()
                        .map(|p| p.tags.get().map_or(0, <[Tag]>::len))
                        .sum(),
                    u.profile.get().is_some(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("ada", vec!["Rust async", "Draft"], 2, true),
                ("bob", vec!["Rust basics"], 1, false),
                ("cy", vec![], 0, false)
            ]
        );
        let tags = Tag::all()
            .prefetch_related(["posts"])
            .order_by(["name"])
            .await?;
        let seen: Vec<(&str, usize)> = tags
            .iter()
            .map(|t| (t.name.as_str(), t.posts.get().map_or(99, <[Post]>::len)))
            .collect();
        assert_eq!(seen, [("async", 1), ("rust", 2)]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn lookups_across_relations() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await?;
        let writers = User::filter(q!(posts__title__startswith = "Rust"))
            .order_by(["name"])
            .await?;
        assert_eq!(user_names(&writers), ["ada", "bob"], "never duplicated");
        let same_row = User::filter(q!(posts__published = false, posts__views__gte = 20))
            .count()
            .await?;
        assert_eq!(same_row, 0, "both conditions on one post");
        let posts = Post::filter(q!(author__karma__gte = 10, tags__name = "async")).await?;
        assert_eq!(titles(&posts), ["Rust async"]);
        let deep = Tag::filter(q!(posts__author__name = "bob")).await?;
        assert_eq!(deep.len(), 1);
        assert_eq!(deep[0].name, "rust");
        let with_profile = User::filter(q!(profile__bio__icontains = "rust")).await?;
        assert_eq!(user_names(&with_profile), ["ada"]);
        let without = User::filter(q!(profile__isnull = true))
            .order_by(["name"])
            .await?;
        assert_eq!(user_names(&without), ["bob", "cy"]);
        let silent = User::filter(q!(posts__isnull = true)).await?;
        assert_eq!(user_names(&silent), ["cy"]);
        // At run time, from strings.
        let parsed = Lookup::parse::<User>("posts__title__startswith", "Rust")?
            & Lookup::parse::<User>("karma__lt", "10")?;
        assert_eq!(user_names(&User::filter(parsed).await?), ["bob"]);
        let parsed = Lookup::parse::<Post>("tags__name__in", "async,python")?;
        assert_eq!(titles(&Post::filter(parsed).await?), ["Rust async"]);
        let parsed = Lookup::parse::<User>("profile__isnull", "false")?;
        assert_eq!(user_names(&User::filter(parsed).await?), ["ada"]);
        let err = Lookup::parse::<User>("posts__nope", "1").unwrap_err();
        assert!(matches!(err, Error::InvalidLookup { .. }), "{err}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn related_key_isnull_is_the_relation_isnull() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await?;
        // `posts__id__isnull` names the related row itself, as
        // `posts__isnull` does: one `NOT EXISTS`, however it is written.
        let sql = |q: Q<User>| -> Result<String> {
            Ok(User::filter(q).sql()?.expect("a query").sql)
        };
        let by_rel = sql(q!(posts__isnull = true))?;
        assert!(by_rel.ends_with(
            r#"WHERE NOT EXISTS (SELECT 1 FROM "app_posts" AS "T1" WHERE "T1"."author_id" = "app_users"."id")"#
        ), "{by_rel}");
        assert_eq!(sql(Lookup::parse("posts__id__isnull", "true")?)?, by_rel);
        assert_eq!(sql(q!(posts__id__isnull = true))?, by_rel);
        let silent = User::filter(q!(posts__id__isnull = true)).await?;
        assert_eq!(user_names(&silent), ["cy"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn typed_has_conditions() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await?;
        // Through a reverse relation, both conditions on one post.
        let u = User::fields();
        let writers = User::filter(
            u.posts
                .has(|p| p.title.startswith("Rust") & p.published.eq(true)),
        )
        .order_by(["name"])
        .await?;
        assert_eq!(user_names(&writers), ["ada", "bob"]);
        let none = User::filter(u.posts.has(|p| p.published.eq(false) & p.views.gte(20)))
            .count()
            .await?;
        assert_eq!(none, 0);
        // Many-to-many, reverse one-to-one, and relation isnull.
        let tagged = Post::filter(Post::fields().tags.has(|t| t.name.eq("async"))).await?;
        assert_eq!(titles(&tagged), ["Rust async"]);
        let profiled = User::filter(u.profile.has(|p| p.bio.contains("Rust"))).await?;
        assert_eq!(user_names(&profiled), ["ada"]);
        let silent = User::filter(u.posts.is_null(true)).await?;
        assert_eq!(user_names(&silent), ["cy"]);
        // Through a foreign key field (a column of the model), one level
        // and two.
        let by_ada = Post::filter(Post::fields().author.has(|a| a.name.eq("ada")))
            .order_by(["title"])
            .await?;
        assert_eq!(titles(&by_ada), ["Draft", "Rust async"]);
        let rustaceans = Tag::filter(
            Tag::fields()
                .posts
                .has(|p| p.author.has(|a| a.karma.gte(10))),
        )
        .await?;
        assert_eq!(rustaceans.len(), 2, "rust and async, on ada's post");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn many_to_many_managers() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let Blog { rust, asynk, .. } = blog().await?;
        let draft = Post::get(q!(title = "Draft")).await?;
        let python = Tag::create(Tag {
            name: "python".into(),
            ..Default::default()
        })
        .await?;
        assert_eq!(draft.tags().add(&[&rust, &python]).await?, 2);
        assert_eq!(draft.tags().add(&[&rust]).await?, 0, "already linked");
        let linked: Vec<String> = draft
            .tags()
            .all()
            .order_by(["name"])
            .values_list_flat("name")
            .await?;
        assert_eq!(linked, ["python", "rust"]);
        assert_eq!(draft.tags().filter(q!(name = "python")).count().await?, 1);
        assert_eq!(draft.tags().remove(&[&rust, &asynk]).await?, 1);
        assert_eq!(draft.tags().all().count().await?, 1);
        assert_eq!(draft.tags().clear().await?, 1);
        assert_eq!(draft.tags().all().count().await?, 0);
        // The other posts' links are untouched; the reverse side sees them.
        assert_eq!(rust.posts().count().await?, 2);
        let on_rust: Vec<String> = rust
            .posts()
            .order_by(["title"])
            .values_list_flat("title")
            .await?;
        assert_eq!(on_rust, ["Rust async", "Rust basics"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn reverse_accessors() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let Blog { ada, bob, cy, .. } = blog().await?;
        let profile = ada.profile().await?.expect("ada has a profile");
        assert_eq!(profile.bio, "writes about Rust");
        assert!(bob.profile().await?.is_none());
        let posts = ada.posts().order_by(["-views"]).await?;
        assert_eq!(titles(&posts), ["Rust async", "Draft"]);
        assert_eq!(cy.posts().count().await?, 0);
        let author = posts[0].author.fetch().await?;
        assert_eq!(author.name, "ada");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn get_or_create_and_update_or_create() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await?;
        let (bob, created) = User::get_or_create(
            q!(name = "bob"),
            User {
                name: "bob".into(),
                karma: 1000,
                ..Default::default()
            },
        )
        .await?;
        assert!(!created);
        assert_eq!(bob.karma, 3, "the row there, not the object given");
        let (dee, created) = User::get_or_create(
            q!(name = "dee"),
            User {
                name: "dee".into(),
                karma: 8,
                ..Default::default()
            },
        )
        .await?;
        assert!(created);
        assert!(dee.id > 0);
        assert_eq!(User::get(q!(name = "dee")).await?.karma, 8);

        let (cy, created) =
            User::update_or_create(q!(name = "cy"), q!(karma = 11, email = None)).await?;
        assert!(!created);
        let stored = User::get(q!(name = "cy")).await?;
        assert_eq!(
            [(cy.karma, cy.email), (stored.karma, stored.email)],
            [(11, None), (11, None)],
            "[returned, stored]"
        );
        let (eve, created) =
            User::update_or_create(q!(name = "eve"), q!(karma = 4, email = "e@x")).await?;
        assert!(created);
        assert_eq!(
            (eve.name.as_str(), eve.karma, eve.email.as_deref()),
            ("eve", 4, Some("e@x"))
        );
        assert_eq!(User::all().count().await?, 5);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bulk_create_fills_keys_and_times() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let Blog { ada, bob, cy, .. } = blog().await?;
        assert!(
            ada.id > 0 && bob.id > ada.id && cy.id > bob.id,
            "keys read back"
        );
        assert!(ada.created_at.timestamp() > 0, "auto_now_add set");
        assert_eq!(ada.created_at, ada.updated_at);
        let stored = User::get(q!(id = bob.id)).await?;
        assert_eq!((stored.name.as_str(), stored.karma), ("bob", 3));
        assert_eq!(stored.created_at, bob.created_at);
        let posts = Post::bulk_create(vec![
            post(&cy, "one", 1, true)?,
            post(&cy, "two", 2, false)?,
        ])
        .await?;
        assert!(posts.iter().all(|p| p.id > 0));
        assert_eq!(cy.posts().count().await?, 2);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn delete_cascades() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let Blog { ada, .. } = blog().await?;
        // ada: 1 user, 2 posts, 1 profile, 2 tag links (on "Rust async").
        let report = User::filter(q!(id = ada.id)).delete_report().await?;
        assert_eq!(report.total, 6, "{report:?}");
        assert_eq!(report.per_model.get("User"), Some(&1));
        assert_eq!(report.per_model.get("Post"), Some(&2));
        assert_eq!(report.per_model.get("Profile"), Some(&1));
        // The link table is declared by the `PostTag` model: counted as it.
        assert_eq!(report.per_model.get("PostTag"), Some(&2));
        assert_eq!(Post::all().count().await?, 1);
        assert_eq!(Profile::all().count().await?, 0);
        assert_eq!(Tag::all().count().await?, 2, "tags stay; only links go");
        // An instance's delete cascades the same way.
        let bob = User::get(q!(name = "bob")).await?;
        assert_eq!(bob.delete().await?, 1);
        assert_eq!(Post::all().count().await?, 0);
        let links = Tag::filter(q!(posts__isnull = false)).count().await?;
        assert_eq!(links, 0);
        assert_eq!(
            User::all().values_list_flat::<String>("name").await?,
            ["cy"]
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn the_newer_queryset_api_from_another_crate() -> Result<()> {
    use orm_core::query::BoolOr;
    use orm_core::OnConflict;
    let db = setup().await;
    orm_core::scope(&db, async {
        let Blog { ada, bob, .. } = blog().await?;
        // Negated conditions across a relation (each its own subquery): Ada
        // has an unpublished post and a post with under 10 views, so she
        // goes; Bob's one post is published; cy has none.
        let not_both = User::filter(!q!(posts__published = false, posts__views__lt = 10))
            .order_by(["name"])
            .await?;
        assert_eq!(user_names(&not_both), ["bob", "cy"]);
        // reverse() and NULLs last: cy and ada have emails, bob none.
        let by_email = User::all()
            .order_by([F("email").asc().nulls_first()])
            .reverse()
            .await?;
        assert_eq!(user_names(&by_email), ["cy", "ada", "bob"]);
        // A query set as an `__in` value, and aggregates with defaults.
        let writers = Post::filter(q!(author__in = User::filter(q!(karma__gte = 10))))
            .count()
            .await?;
        assert_eq!(writers, 2);
        let per_user = User::all()
            .order_by(["name"])
            .annotate([BoolOr("posts__published"), Count("posts")])
            .filter("posts__count__in", [1i64, 2])
            .await?;
        assert_eq!(per_user.len(), 2);
        assert!(per_user[0].get::<bool>("posts__published__boolor")?);
        let stats = Post::filter(q!(views__gt = 1_000))
            .aggregate([Sum("views").default(0i64), StdDev("views")])
            .await?;
        assert_eq!(stats.get::<i64>("views__sum")?, 0);
        assert_eq!(stats.get::<Option<f64>>("views__stddev")?, None);
        // Upsert by the unique name.
        let again = User::bulk_create_with(
            vec![User {
                name: "bob".into(),
                karma: 77,
                ..Default::default()
            }],
            OnConflict::update(&["name"], &["karma"]),
        )
        .await?;
        assert_eq!(again[0].id, bob.id);
        assert_eq!(User::get(q!(id = bob.id)).await?.karma, 77);
        // Dates of the users' creation: today, once.
        let days = User::all().dates("created_at", "day", "ASC").await?;
        assert_eq!(days, [ada.created_at.date_naive()]);
        assert!(Post::all().explain(false).await?.contains("app_posts"));
        // Hostile names from a query string: refused, with a short message.
        let huge = "x".repeat(100_000);
        let err = User::all()
            .dates("created_at", &huge, "ASC")
            .await
            .unwrap_err();
        assert!(err.to_string().len() < 500, "{}", err.to_string().len());
        let err = User::all()
            .annotate([Count("posts")])
            .filter(&huge, 1i64)
            .await
            .unwrap_err();
        assert!(err.to_string().len() < 2_000, "{}", err.to_string().len());
        Ok(())
    })
    .await
}

#[tokio::test]
async fn combined_queries_and_chunked_iteration_from_another_crate() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let Blog { .. } = blog().await?;
        // Users with a published post ∪ users with karma under 2: ada and
        // bob (published posts), cy (karma 1).
        let published = User::filter(q!(posts__published = true));
        let low = User::filter(q!(karma__lt = 2));
        let names: Vec<String> = published
            .clone()
            .union(low.clone())
            .order_by(["-name"])
            .await?
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["cy", "bob", "ada"]);
        assert_eq!(
            published.clone().intersection(low.clone()).count().await?,
            0
        );
        assert_eq!(User::all().difference(published).count().await?, 1);
        // A cursor a chunk at a time, each chunk's posts and their tags
        // prefetched: relation metadata from this crate's models.
        let mut users = User::all()
            .order_by(["name"])
            .prefetch_related(["posts__tags"])
            .iterator(2);
        let mut seen = Vec::new();
        while let Some(user) = users.try_next().await? {
            let tags: usize = user
                .posts
                .get()
                .expect("prefetched")
                .iter()
                .map(|p| p.tags.get().expect("prefetched").len())
                .sum();
            seen.push((user.name, tags));
        }
        assert_eq!(
            seen,
            [
                ("ada".to_owned(), 2),
                ("bob".to_owned(), 1),
                ("cy".to_owned(), 0)
            ]
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn ordering_and_values_across_relations_of_library_models() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await?;
        // Django: Post.objects.order_by("-author__karma", "title").
        let posts = Post::all().order_by(["-author__karma", "title"]).await?;
        assert_eq!(titles(&posts), ["Draft", "Rust async", "Rust basics"]);
        // The reverse one-to-one: only ada has a profile; NULLs last, and
        // first when reversed.
        let users = User::all().order_by(["profile__bio", "name"]).await?;
        assert_eq!(user_names(&users), ["ada", "bob", "cy"]);
        let users = User::all()
            .order_by(["profile__bio", "name"])
            .reverse()
            .await?;
        assert_eq!(user_names(&users), ["cy", "bob", "ada"]);
        // Reverse foreign key and many-to-many in values: one row per
        // related row, NULL where there is none (cy has no posts).
        let rows: Vec<(String, Option<String>)> = User::all()
            .order_by(["name", "posts__title"])
            .values_list(("name", "posts__title"))
            .await?;
        let expected: Vec<(String, Option<String>)> = [
            ("ada", Some("Draft")),
            ("ada", Some("Rust async")),
            ("bob", Some("Rust basics")),
            ("cy", None),
        ]
        .iter()
        .map(|(n, t)| ((*n).to_owned(), t.map(str::to_owned)))
        .collect();
        assert_eq!(rows, expected);
        let per_tag = Post::all()
            .values("tags__name")
            .annotate([Count("id")])
            .order_by([F("tags__name").asc().nulls_first()])
            .await?;
        let per_tag: Vec<(Option<String>, i64)> = per_tag
            .iter()
            .map(|r| Ok((r.get("tags__name")?, r.get("id__count")?)))
            .collect::<Result<_>>()?;
        assert_eq!(
            per_tag,
            [
                (None, 1),
                (Some("async".into()), 1),
                (Some("rust".into()), 2)
            ]
        );
        // Model rows across a relation to many: refused, with the way out.
        let err = Post::all().order_by(["tags__name"]).await.unwrap_err();
        assert!(matches!(err, Error::InvalidQuery(_)), "{err}");
        let posts = Post::all()
            .annotate([Min("tags__name")])
            .order_by(["tags__name__min", "title"])
            .await?;
        let seen: Vec<&str> = posts.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(seen, ["Rust async", "Rust basics", "Draft"]);
        // An expression over the row.
        let posts = Post::all()
            .order_by([(F("views") * -1).asc(), "title".into()])
            .await?;
        assert_eq!(titles(&posts), ["Rust async", "Rust basics", "Draft"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn link_rows_as_a_model_with_a_composite_key() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let b = blog().await?;
        let post = Post::get(q!(title = "Rust async")).await?;
        // The links made by `tags().add(..)` are rows of the model, by key.
        let link = PostTag::get(q!(pk = (post.id, b.rust.id))).await?;
        assert_eq!(*link.tag.key(), b.rust.id);
        assert_eq!(PostTag::filter(q!(post = post.id)).count().await?, 2);
        assert_eq!(PostTag::filter(q!(tag = b.rust.id)).count().await?, 2);
        // Deleting one link row leaves the other tag on the post.
        assert_eq!(link.delete().await?, 1);
        let tags = post.tags().all().await?;
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].name, b.asynk.name);
        // The metadata, read in this crate from the library's model, compares by value.
        let registered = orm_core::registered_models()
            .find(|m| m.table == "app_post_tags")
            .expect("registered");
        assert_eq!(registered, PostTag::META);
        assert_eq!(registered.pk_fields, &[0, 1]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn array_fields_from_the_app_crate() -> Result<()> {
    use orm_test_app::Bookmark;
    let db = setup().await;
    orm_core::scope(&db, async {
        for (url, labels, ratings) in [
            ("a", vec!["rust", "db"], Some(vec![5, 4])),
            ("b", vec!["db"], None),
            ("c", vec![], Some(vec![])),
        ] {
            Bookmark::create(Bookmark {
                url: url.into(),
                labels: labels.into_iter().map(str::to_owned).collect(),
                ratings,
                ..Default::default()
            })
            .await?;
        }
        let urls = |rows: Vec<Bookmark>| rows.into_iter().map(|b| b.url).collect::<Vec<_>>();
        let by = |q| async move { Bookmark::filter(q).order_by(["url"]).await.map(urls) };
        assert_eq!(by(q!(labels__contains = ["db"])).await?, ["a", "b"]);
        assert_eq!(by(q!(labels__overlap = ["rust", "x"])).await?, ["a"]);
        assert_eq!(by(q!(labels__contained_by = ["db"])).await?, ["b", "c"]);
        assert_eq!(by(q!(labels__len = 0)).await?, ["c"]);
        assert_eq!(by(q!(ratings__0__gte = 5)).await?, ["a"]);
        assert_eq!(by(Lookup::parse("labels__1", "db")?).await?, ["a"]);
        let f = Bookmark::fields();
        assert_eq!(by(f.ratings.len().eq(0)).await?, ["c"]);
        Ok(())
    })
    .await
}

/// The models of the library crate as JSON: the post with its author
/// nested (select_related) and its tags listed (prefetch_related), and a
/// request body read back with every field's error.
#[tokio::test]
async fn models_of_the_library_serialize_and_read_bodies() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let blog = blog().await?;
        let post = Post::filter(q!(title = "Rust async"))
            .select_related(["author"])
            .prefetch_related(["tags"])
            .first()
            .await?
            .expect("the post");
        let json = serde_json::to_value(&post).expect("serializable");
        assert_eq!(json["author"]["name"], "ada");
        assert_eq!(json["author"]["id"], blog.ada.id);
        assert!(json["author"].get("posts").is_none(), "not prefetched");
        let tags: Vec<&str> = json["tags"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|t| t["name"].as_str().expect("a name"))
            .collect();
        assert_eq!(tags.len(), 2);
        assert!(tags.contains(&"rust") && tags.contains(&"async"));
        let plain = Post::get(q!(title = "Draft")).await?;
        let json = serde_json::to_value(&plain).expect("serializable");
        assert_eq!(json["author"], blog.ada.id);
        assert!(json.get("tags").is_none());

        let body = format!(
            r#"{{"author": {}, "title": "{}", "views": "many", "published": null}}"#,
            blog.bob.id,
            "t".repeat(201)
        );
        let err = orm_core::serde::from_json::<Post>(&body).unwrap_err();
        let Error::Validation(e) = &err else {
            panic!("{err}")
        };
        assert_eq!(e.fields(), ["published", "views", "title"], "{err}");
        let mut post: Post = orm_core::serde::from_json(&format!(
            r#"{{"author": {}, "title": "From JSON", "views": 0, "published": true}}"#,
            blog.bob.id
        ))?;
        post.save().await?;
        assert_eq!(Post::filter(q!(author = &blog.bob)).count().await?, 2);
        Ok(())
    })
    .await
}

/// Functions, windows, subqueries, date transforms, filter sets and both
/// paginations on the library crate's models.
#[tokio::test]
async fn expressions_transforms_filters_and_pages_from_another_crate() -> Result<()> {
    use orm_core::functions::{Case, Lower, OuterRef, Rank, Subquery, Value, When, Window};
    use orm_core::query::FilterSet;
    let db = setup().await;
    orm_core::scope(&db, async {
        let Blog { ada, .. } = blog().await?;
        // ada: "Rust async" (100 views), "Draft" (5); bob: "Rust basics" (20).
        let ranked = Post::all()
            .annotate_expr("rank", Window(Rank()).order_by(["-views"]))
            .annotate_expr("loud", Lower("title"))
            .filter("rank__lte", 2i64)
            .order_by(["rank"])
            .await?;
        let got: Vec<(String, i64)> = ranked
            .iter()
            .map(|p| {
                (
                    p.get::<String>("loud").unwrap(),
                    p.get::<i64>("rank").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [("rust async".to_owned(), 1), ("rust basics".to_owned(), 2)]
        );
        let newest = Post::filter(q!(author = OuterRef("id")))
            .order_by(["-views"])
            .limit(1)
            .values("title");
        let users = User::all()
            .annotate_expr("top", Subquery(newest))
            .annotate_expr(
                "level",
                Case([When::<User>(q!(karma__gte = 10), Value("high"))]).default(Value("low")),
            )
            .order_by(["name"])
            .await?;
        let top: Vec<(Option<String>, String)> = users
            .iter()
            .map(|u| (u.get("top").unwrap(), u.get("level").unwrap()))
            .collect();
        assert_eq!(
            top,
            [
                (Some("Rust async".to_owned()), "high".to_owned()),
                (Some("Rust basics".to_owned()), "low".to_owned()),
                (None, "low".to_owned()),
            ]
        );
        // Date transforms, in UTC and in a zone.
        let year = ada
            .created_at
            .format("%Y")
            .to_string()
            .parse::<i32>()
            .unwrap();
        assert_eq!(User::filter(q!(created_at__year = year)).count().await?, 3);
        assert_eq!(
            User::filter(q!(created_at__date = ada.created_at.date_naive()))
                .count()
                .await?,
            3
        );
        let later = orm_core::timezone::override_zone(
            "Pacific/Kiritimati",
            User::filter(q!(created_at__year__gt = year + 1)).count(),
        )
        .await??;
        assert_eq!(later, 0);
        // A query string, a page, and keyset pages.
        let filters = FilterSet::<Post>::new()
            .field("title", &["icontains"])
            .field("author__name", &["exact"])
            .ordering_fields(&["views"]);
        let qs = filters.apply(Post::all(), "title__icontains=rust&ordering=-views")?;
        let page = qs.clone().paginate(1).page(2).await?;
        assert_eq!((page.count, page.num_pages), (2, 2));
        assert_eq!(page.object_list[0].title, "Rust basics");
        let first = qs.clone().keyset_page(1, None).await?;
        let second = qs.keyset_page(1, first.next.as_deref()).await?;
        assert_eq!(second.items[0].title, "Rust basics");
        assert!(second.next.is_none());
        let err = filters
            .apply(Post::all(), "views__gte=1&title__regex=x")
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidFilters(ref e) if e.errors.len() == 2),
            "{err}"
        );
        Ok(())
    })
    .await
}
