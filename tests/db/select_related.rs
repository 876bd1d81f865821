//! select_related: one query with joins, nested and nullable keys, reverse one-to-ones, lookups.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::blog::{blog, Author, Category, Post, Profile};
use crate::models::edited_blog as edited;
use crate::models::messages::{account, Account, Passport};

#[tokio::test]
async fn select_related_is_one_query() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        let before = db.query_count();
        let posts = Post::filter(q!(author__name__icontains = "a"))
            .select_related(["author"])
            .order_by(["title"])
            .await?;
        assert_eq!(db.query_count() - before, 1, "one query with the JOIN");
        let pairs: Vec<(&str, &str)> = posts
            .iter()
            .map(|p| (p.title.as_str(), p.author.get().expect("loaded").name.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [("Python", "Ada"), ("Rust basics", "Ada")],
            "only Ada has an 'a' (Gemini has none)"
        );
        let sql = Post::all().select_related(["author"]).sql()?.unwrap().sql;
        // A non-null key: an INNER JOIN, as Django's.
        assert!(sql.contains(r#" INNER JOIN "rel_authors" AS "sr_author" ON "sr_author"."id" = "rel_posts"."author_id""#), "{sql}");
        // get() and first() load it too.
        let one = Post::all().select_related(["author"]).get(q!(title = "Draft")).await?;
        assert_eq!(one.author.get().map(|a| a.name.as_str()), Some("Gemini"));
        // Nested, nullable: a category, its parent, its grandparent.
        let root = Category::create(Category { name: "root".into(), ..Default::default() }).await?;
        let mid = Category::create(Category {
            name: "mid".into(),
            parent: Some(ForeignKey::to(&root)?),
            ..Default::default()
        })
        .await?;
        Category::create(Category {
            name: "leaf".into(),
            parent: Some(ForeignKey::to(&mid)?),
            ..Default::default()
        })
        .await?;
        let before = db.query_count();
        let cats = Category::all()
            .select_related(["parent__parent"])
            .order_by(["id"])
            .await?;
        assert_eq!(db.query_count() - before, 1);
        let parent_of = |c: &Category| c.parent.as_ref().and_then(|p| p.get()).map(|p| p.name.clone());
        assert_eq!(parent_of(&cats[0]), None);
        assert_eq!(parent_of(&cats[2]).as_deref(), Some("mid"));
        let grand = cats[2].parent.as_ref().and_then(|p| p.get()).and_then(parent_of);
        assert_eq!(grand.as_deref(), Some("root"));
        // Only forward relations can be joined; the error lists them.
        let err = Author::all().select_related(["posts"]).await.unwrap_err();
        assert!(matches!(&err, Error::InvalidLookup(e) if e.model == "Author"), "{err}");
        Ok(())
    })
    .await
}

/// The ids a query returns, with and without `select_related(joins)`.
async fn ids_both_ways<M: Model>(
    qs: QuerySet<M>,
    joins: &[&str],
) -> Result<(Vec<String>, Vec<String>)> {
    let key = |m: &M| m.pk().to_string();
    let plain: Vec<M> = qs.clone().order_by(["id"]).await?;
    let joined: Vec<M> = qs.select_related(joins.to_vec()).order_by(["id"]).await?;
    Ok((
        plain.iter().map(key).collect(),
        joined.iter().map(key).collect(),
    ))
}

#[tokio::test]
async fn lookups_through_a_joined_relation_match_the_exists_form() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        // A nullable self-reference: roots have no parent, and one parent
        // has a name the lookups care about.
        let root = Category::create(Category {
            name: "root".into(),
            ..Default::default()
        })
        .await?;
        let other = Category::create(Category {
            name: "other".into(),
            ..Default::default()
        })
        .await?;
        for (name, parent) in [("a", &root), ("b", &root), ("c", &other), ("mid", &root)] {
            Category::create(Category {
                name: name.into(),
                parent: Some(ForeignKey::to(parent)?),
                ..Default::default()
            })
            .await?;
        }
        let mid = Category::get(q!(name = "mid")).await?;
        Category::create(Category {
            name: "leaf".into(),
            parent: Some(ForeignKey::to(&mid)?),
            ..Default::default()
        })
        .await?;

        // (what, query, rows, whether the SQL needs no EXISTS: the lookup is on
        // the join, or, for `parent__isnull`, on the key column itself)
        let cases: Vec<(&str, QuerySet<Category>, usize, bool)> = vec![
            (
                "equal",
                Category::filter(q!(parent__name = "root")),
                3,
                true,
            ),
            (
                "or",
                Category::filter(q!(parent__name = "other") | q!(name = "root")),
                2,
                true,
            ),
            (
                "and, one call",
                Category::filter(q!(parent__name = "root", parent__id__gt = 0)),
                3,
                true,
            ),
            (
                "two calls",
                Category::filter(q!(parent__name = "root")).filter(q!(name__in = ["a", "c"])),
                1,
                true,
            ),
            (
                "not",
                Category::filter(!q!(parent__name = "root")),
                4,
                false,
            ),
            (
                "exclude",
                Category::all().exclude(q!(parent__name = "mid")),
                6,
                false,
            ),
            (
                "isnull",
                Category::filter(q!(parent__isnull = true)),
                2,
                true,
            ),
            (
                "field isnull",
                Category::filter(q!(parent__name__isnull = true)),
                2,
                false,
            ),
            (
                "two hops",
                Category::filter(q!(parent__parent__name = "root")),
                1,
                false,
            ),
            ("F", Category::filter(q!(parent__id__lt = F("id"))), 5, true),
        ];
        for (what, qs, expected, on_join) in cases {
            let sql = qs.clone().select_related(["parent"]).sql()?.unwrap().sql;
            assert_eq!(!sql.contains("EXISTS"), on_join, "{what}: {sql}");
            let (plain, joined) = ids_both_ways(qs, &["parent"]).await?;
            assert_eq!(plain.len(), expected, "{what}: {plain:?}");
            assert_eq!(plain, joined, "{what}: the same rows with the join");
        }
        let sql = Category::filter(q!(parent__name = "root"))
            .select_related(["parent"])
            .sql()?
            .unwrap()
            .sql;
        assert!(sql.ends_with(r#"WHERE "sr_parent"."name" = $1"#), "{sql}");

        // A reverse one-to-one join: authors without a profile, and one
        // whose website is NULL.
        let (gemini, ada, _bob) = blog().await;
        for (who, website) in [(&gemini, Some("gem.example")), (&ada, None)] {
            Profile::create(Profile {
                author: OneToOne::to(who)?,
                bio: format!("{} writes", who.name),
                website: website.map(str::to_owned),
                ..Default::default()
            })
            .await?;
        }
        let cases: Vec<(&str, QuerySet<Author>, usize, bool)> = vec![
            (
                "contains",
                Author::filter(q!(profile__bio__contains = "writes")),
                2,
                true,
            ),
            (
                "or",
                Author::filter(q!(profile__website = "gem.example") | q!(karma = 5)),
                2,
                true,
            ),
            (
                "exclude",
                Author::all().exclude(q!(profile__website = "gem.example")),
                2,
                false,
            ),
            (
                "isnull",
                Author::filter(q!(profile__website__isnull = true)),
                2,
                false,
            ),
        ];
        for (what, qs, expected, on_join) in cases {
            let sql = qs.clone().select_related(["profile"]).sql()?.unwrap().sql;
            assert_eq!(!sql.contains("EXISTS"), on_join, "{what}: {sql}");
            let (plain, joined) = ids_both_ways(qs, &["profile"]).await?;
            assert_eq!(plain.len(), expected, "{what}: {plain:?}");
            assert_eq!(plain, joined, "{what}: the same rows with the join");
        }
        Ok(())
    })
    .await
}

/// `select_related` across a reverse one-to-one must join on the key of the
/// other side (`profile.author_id = author.id`), not on the two primary keys.
/// The blog's profiles are made Cy, Bob, Ada, so their ids differ from the
/// authors' ids (Ada 1, Bob 2, Cy 3, Dee 4).
#[tokio::test]
async fn select_related_across_a_reverse_one_to_one_joins_on_its_key() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        edited::blog().await?;
        let bio_of = |a: &edited::Author| a.profile.get().map(|p| p.bio.clone());
        let all = edited::Author::all()
            .select_related(["profile"])
            .order_by(["name"])
            .await?;
        assert_eq!(
            all.iter().map(bio_of).collect::<Vec<_>>(),
            [
                Some("Engines".to_owned()),
                Some("Bikes".to_owned()),
                Some("Cats".to_owned()),
                None
            ]
        );
        let sql = edited::Author::all().select_related(["profile"]).sql()?.unwrap().sql;
        assert!(
            sql.contains(r#"LEFT JOIN "relx_profiles" AS "sr_profile" ON "sr_profile"."author_id" = "relx_authors"."id""#),
            "{sql}"
        );
        let posts = edited::Post::all()
            .select_related(["author__profile__country"])
            .order_by(["title"])
            .await?;
        let seen: Vec<(String, Option<String>, Option<String>)> = posts
            .iter()
            .map(|p| {
                let author = p.author.get().expect("joined");
                let profile = author.profile.get();
                (
                    author.name.clone(),
                    profile.map(|pr| pr.bio.clone()),
                    profile
                        .and_then(|pr| pr.country.as_ref())
                        .and_then(|c| c.get())
                        .map(|c| c.name.clone()),
                )
            })
            .collect();
        let row = |a: &str, b: &str, c: Option<&str>| {
            (a.to_owned(), Some(b.to_owned()), c.map(str::to_owned))
        };
        assert_eq!(
            seen,
            [
                row("Ada", "Engines", Some("NZ")),
                row("Bob", "Bikes", Some("FR")),
                row("Cy", "Cats", None),
                row("Ada", "Engines", Some("NZ")),
            ]
        );
        Ok(())
    })
    .await
}

/// A one-to-one reversed with `Reverse<T>` (not `ReverseOne<T>`):
/// `select_related` either refuses it or loads it, but never answers with
/// the field silently left unloaded.
#[tokio::test]
async fn select_related_of_a_reverse_many_side_is_not_silently_ignored() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let ann = account("Ann").await?;
        Passport::create(Passport {
            holder: ForeignKey::to(&ann)?,
            number: "P1".into(),
            ..Default::default()
        })
        .await?;
        assert_eq!(ann.passport().await?.len(), 1);
        let loaded = Account::all().prefetch_related(["passport"]).await?;
        assert_eq!(loaded[0].passport.get().map(<[Passport]>::len), Some(1));
        match Account::all().select_related(["passport"]).await {
            Err(err) => assert!(
                matches!(&err, Error::InvalidLookup(e) if e.model == "Account"),
                "{err}"
            ),
            Ok(rows) => {
                let got = rows[0].passport.get().map(|p| p.len());
                assert_eq!(got, Some(1), "select_related(passport) loaded nothing");
            }
        }
        Ok(())
    })
    .await
}

#[tokio::test]
async fn select_for_update_of_a_related_row_locks_it_and_a_nullable_one_is_refused() -> Result<()> {
    let db = setup().await;
    let (gemini, ada, _) = orm_core::scope(&db, blog()).await;
    // Django: Post.objects.select_related("author")
    //     .select_for_update(of=("self", "author")): an INNER JOIN for the
    // non-null key, so PostgreSQL locks the author's row too.
    let holder = db.begin().await?;
    let posts = Post::filter(q!(author = gemini.id))
        .select_related(["author"])
        .select_for_update()
        .lock_of(["self", "author"])
        .order_by(["id"])
        .using(&holder)
        .await?;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].author.get().expect("joined").name, "Gemini");
    let other = db.begin().await?;
    let err = Author::select_for_update()
        .nowait()
        .filter(q!(id = gemini.id))
        .using(&other)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("could not obtain lock"), "{err}");
    other.rollback().await.ok();
    // Another author's row is free.
    let other = db.begin().await?;
    let free = Author::select_for_update()
        .nowait()
        .filter(q!(id = ada.id))
        .using(&other)
        .await?;
    assert_eq!(free.len(), 1);
    other.commit().await?;
    holder.commit().await?;
    // A nullable key is a LEFT JOIN, whose NULL side PostgreSQL cannot
    // lock: refused before anything is sent, naming the relation.
    let tx = db.begin().await?;
    let before = db.query_count();
    let err = Category::all()
        .select_related(["parent"])
        .select_for_update()
        .lock_of(["parent"])
        .using(&tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot lock `parent`"), "{err}");
    assert_eq!(db.query_count(), before);
    tx.rollback().await?;
    Ok(())
}
