//! Query sets: ordering, slicing, first/last, count/exists, distinct, update/delete, laziness, reuse.

use orm_core::prelude::*;

use crate::common::{names, setup, users, User};

async fn sample() {
    users(&[
        ("carol", 30, Some("c@x")),
        ("alice", 10, None),
        ("Bob", 20, Some("b@x")),
        ("dave", 20, None),
        ("erin", 40, Some("e@x")),
    ])
    .await;
}

#[tokio::test]
async fn order_by_several_fields() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        let rows = User::all().order_by(["-karma", "name"]).await?;
        assert_eq!(names(&rows), ["erin", "carol", "Bob", "dave", "alice"]);
        // Text sorts by code point under C.UTF-8: uppercase first.
        let rows = User::all().order_by(["name"]).await?;
        assert_eq!(names(&rows), ["Bob", "alice", "carol", "dave", "erin"]);
        // NULLs last ascending, first descending.
        let rows = User::all().order_by(["email", "name"]).await?;
        assert_eq!(names(&rows), ["Bob", "carol", "erin", "alice", "dave"]);
        let rows = User::all().order_by(["-email", "name"]).await?;
        assert_eq!(names(&rows), ["alice", "dave", "erin", "carol", "Bob"]);
        // A later order_by replaces the earlier one.
        let rows = User::all()
            .order_by(["name"])
            .order_by(["-karma", "-name"])
            .await?;
        assert_eq!(names(&rows), ["erin", "carol", "dave", "Bob", "alice"]);
        let err = User::all().order_by(["-nope"]).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidLookup(e) if e.model == "User"),
            "{err}"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn the_issue_chain() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let rows: Vec<(String, i32, Option<String>)> = (0..40)
            .map(|i| {
                (
                    format!("gem{i:02}"),
                    i,
                    (i % 3 != 0).then(|| format!("g{i}@x")),
                )
            })
            .collect();
        let refs: Vec<(&str, i32, Option<&str>)> = rows
            .iter()
            .map(|(n, k, e)| (n.as_str(), *k, e.as_deref()))
            .collect();
        users(&refs).await;
        let page: Vec<User> = User::filter(q!(name__icontains = "GEM", karma__gte = 10))
            .exclude(q!(email__isnull = true))
            .order_by(["-karma", "name"])
            .limit(5)
            .offset(3)
            .all()
            .await?;
        // karma 39..10 without multiples of 3, descending: 38 37 35 34 32 31 29 28 ...
        assert_eq!(
            page.iter().map(|u| u.karma).collect::<Vec<_>>(),
            [34, 32, 31, 29, 28]
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn first_last_count_exists() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        assert_eq!(User::all().first().await?, None);
        assert_eq!(User::all().count().await?, 0);
        assert!(!User::all().exists().await?);
        sample().await;
        // Unordered: by primary key.
        assert_eq!(User::all().first().await?.unwrap().name, "carol");
        assert_eq!(User::all().last().await?.unwrap().name, "erin");
        // Ordered: that ordering, and its reverse.
        assert_eq!(
            User::all().order_by(["name"]).first().await?.unwrap().name,
            "Bob"
        );
        assert_eq!(
            User::all().order_by(["name"]).last().await?.unwrap().name,
            "erin"
        );
        assert_eq!(
            User::all().order_by(["-karma"]).last().await?.unwrap().name,
            "alice"
        );
        assert_eq!(User::filter(q!(karma = 20)).count().await?, 2);
        assert_eq!(User::all().limit(3).count().await?, 3);
        assert_eq!(User::all().offset(4).count().await?, 1);
        assert!(User::filter(q!(name = "dave")).exists().await?);
        assert!(!User::all().offset(5).exists().await?);
        assert!(matches!(
            User::all().limit(2).last().await,
            Err(Error::InvalidQuery(_))
        ));
        // reverse(), as Django's: the ordering flips, first() and last()
        // swap, and values() rows come the other way too.
        let reversed = User::all().order_by(["karma", "name"]).reverse().await?;
        assert_eq!(names(&reversed), ["erin", "carol", "dave", "Bob", "alice"]);
        assert_eq!(User::all().reverse().first().await?.unwrap().name, "erin");
        assert_eq!(User::all().reverse().last().await?.unwrap().name, "carol");
        assert_eq!(
            User::all()
                .order_by(["name"])
                .reverse()
                .last()
                .await?
                .unwrap()
                .name,
            "Bob"
        );
        let karma: Vec<i32> = User::all()
            .order_by(["karma"])
            .reverse()
            .values("karma")
            .await?
            .iter()
            .map(|r| r.get("karma"))
            .collect::<Result<_>>()?;
        assert_eq!(karma, [40, 30, 20, 20, 10]);
        assert!(matches!(
            User::all().limit(2).reverse().await,
            Err(Error::InvalidQuery(_))
        ));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn limit_offset_distinct() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        let rows = User::all()
            .order_by(["karma", "name"])
            .limit(2)
            .offset(1)
            .await?;
        assert_eq!(names(&rows), ["Bob", "dave"]);
        assert!(User::all().order_by(["id"]).offset(10).await?.is_empty());
        assert!(User::all().limit(0).await?.is_empty());
        assert_eq!(User::all().distinct().count().await?, 5);
        assert_eq!(
            User::all().distinct().order_by(["name"]).limit(1).await?[0].name,
            "Bob"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn querysets_are_lazy_cloneable_and_reusable() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        let before = db.query_count();
        let base = User::filter(q!(karma__gte = 20)).order_by(["name"]);
        let rich = base.clone().filter(q!(karma__gte = 30));
        assert_eq!(db.query_count(), before, "building sends nothing");
        assert_eq!(
            names(&base.clone().await?),
            ["Bob", "carol", "dave", "erin"]
        );
        assert_eq!(names(&rich.await?), ["carol", "erin"]);
        assert_eq!(base.count().await?, 4);
        assert_eq!(db.query_count(), before + 3);
        let everyone: Vec<User> = User::all().await?;
        assert_eq!(everyone.len(), 5);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn update_returns_matched_rows() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        let before = User::get(q!(name = "dave")).await?;
        let changed = User::filter(q!(karma__lt = 25))
            .update(q!(karma = 0, email = None))
            .await?;
        assert_eq!(changed, 3);
        assert_eq!(User::filter(q!(karma = 0, email = None)).count().await?, 3);
        // Matched, not changed: the same value again still counts.
        assert_eq!(User::filter(q!(karma = 0)).update(q!(karma = 0)).await?, 3);
        // Like Django, a queryset update does not touch auto_now fields.
        assert_eq!(
            User::get(q!(name = "dave")).await?.updated_at,
            before.updated_at
        );
        assert!(matches!(
            User::all().limit(1).update(q!(karma = 1)).await,
            Err(Error::InvalidQuery(_))
        ));
        let err = User::all().update(q!(name = "same")).await.unwrap_err();
        assert_eq!(err.constraint(), Some("users_name_key"));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn delete_returns_removed_rows() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        users(&[("tmp_1", 0, None), ("tmp_2", 0, None)]).await;
        assert_eq!(
            User::filter(q!(name__startswith = "tmp_")).delete().await?,
            2
        );
        assert_eq!(
            User::filter(q!(name__startswith = "tmp_")).delete().await?,
            0
        );
        assert!(matches!(
            User::all().limit(1).delete().await,
            Err(Error::InvalidQuery(_))
        ));
        assert_eq!(User::all().count().await?, 5);
        assert_eq!(User::all().delete().await?, 5);
        Ok(())
    })
    .await
}

/// PostgreSQL's view of the statements prepared on the current connection.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "pg_prepared_statements")]
struct Prepared {
    #[orm(primary_key)]
    name: String,
    statement: String,
}

#[tokio::test]
async fn one_shape_is_prepared_once_per_connection() -> Result<()> {
    let url = orm_core::testing::test_database_url().await?;
    let db = Db::builder(url).max_size(1).connect().await?;
    orm_core::generate_schemas_on(&db).await?;
    orm_core::scope(&db, async {
        sample().await;
        for karma in [10, 20, 30, 40] {
            User::filter(q!(karma__gte = karma, name__in = ["Bob", "dave", "erin"]))
                .order_by(["name"])
                .limit(50)
                .offset(karma.into())
                .await?;
        }
        for name in ["Bob", "dave", "erin"] {
            User::get(q!(name = name)).await?;
        }
        // Four statements of a new shape at once, pipelined on the one
        // connection: all miss the cache, and only one stays prepared.
        let count = |karma: i32| User::filter(q!(karma__lt = karma)).count();
        let counts = tokio::join!(count(15), count(25), count(35), count(45));
        assert_eq!(
            [counts.0?, counts.1?, counts.2?, counts.3?],
            [1, 3, 4, 5],
            "each count has its own binds"
        );
        let prepared = Prepared::filter(q!(statement__startswith = "SELECT \"users\"")).await?;
        assert_eq!(
            prepared.len(),
            2,
            "two shapes, each prepared once: {:#?}",
            prepared.iter().map(|p| &p.statement).collect::<Vec<_>>()
        );
        let counting =
            Prepared::filter(q!(statement__startswith = "SELECT COUNT(*) FROM \"users\"")).count();
        assert_eq!(counting.await?, 1, "concurrent misses keep one statement");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn distinct_on_keeps_the_first_of_each_group() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        // The first user by name for each karma.
        let firsts = User::all()
            .distinct_on(["karma"])
            .order_by(["karma", "name"])
            .await?;
        assert_eq!(names(&firsts), ["alice", "Bob", "carol", "erin"]);
        assert_eq!(
            User::all()
                .distinct_on(["karma"])
                .order_by(["karma"])
                .count()
                .await?,
            4
        );
        Ok(())
    })
    .await
}

/// Each shape's text is kept after its first use (`orm_core::sql` docs);
/// later queries of the shape send that text with their own values.
#[tokio::test]
async fn a_repeated_query_shape_binds_each_calls_values() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let made = users(&[("a", 1, None), ("b_%", 2, Some("x")), ("c", 3, None)]).await;
        for u in &made {
            assert_eq!(User::get(q!(id = u.id)).await?.name, u.name);
            assert_eq!(
                User::filter(q!(karma__gte = u.karma)).count().await?,
                i64::from(4 - u.karma)
            );
            let page = User::all()
                .order_by(["id"])
                .offset(i64::from(u.karma) - 1)
                .limit(1)
                .await?;
            assert_eq!(names(&page), [u.name.as_str()]);
        }
        assert_eq!(User::filter(q!(name__startswith = "b_")).count().await?, 1);
        assert_eq!(User::filter(q!(name__startswith = "b%")).count().await?, 0);
        for (id, karma) in [(made[0].id, 10), (made[2].id, 30)] {
            assert_eq!(
                User::filter(q!(id = id)).update(q!(karma = karma)).await?,
                1
            );
        }
        let karmas: Vec<i32> = User::all()
            .order_by(["id"])
            .values_list_flat("karma")
            .await?;
        assert_eq!(karmas, [10, 2, 30]);
        for id in [made[1].id, made[2].id] {
            assert_eq!(User::filter(q!(id = id)).delete().await?, 1);
        }
        assert_eq!(names(&User::all().await?), ["a"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn in_bulk_maps_keys_to_rows() -> Result<()> {
    // Django's in_bulk(id_list): {id: object} for the ids that exist, {}
    // without a query for no ids, restricted by the query set's filter.
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        let all = User::all().order_by(["id"]).await?;
        let (carol, alice) = (all[0].id, all[1].id);
        let found = User::all().in_bulk([carol, alice, 999_999]).await?;
        assert_eq!(found.len(), 2);
        assert_eq!(found[&carol].name, "carol");
        assert_eq!(found[&alice].name, "alice");
        let filtered = User::filter(q!(karma__gte = 20))
            .in_bulk([carol, alice])
            .await?;
        assert_eq!(filtered.keys().copied().collect::<Vec<_>>(), [carol]);
        let before = db.query_count();
        assert!(User::all().in_bulk([]).await?.is_empty());
        assert_eq!(db.query_count(), before, "no ids: no query");
        assert!(matches!(
            User::all().limit(1).in_bulk([carol]).await,
            Err(Error::InvalidQuery(_))
        ));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bulk_update_writes_the_named_fields_of_many_rows() -> Result<()> {
    // Django's bulk_update(objs, fields): only the named fields, rows
    // matched returned, no auto_now unless named, save hooks not run.
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        let mut all = User::all().order_by(["id"]).await?;
        let stamp = all[0].updated_at;
        for user in &mut all {
            user.karma += 1;
            user.email = Some(format!("{}@new", user.name));
            user.name = format!("renamed {}", user.name); // not named: kept
        }
        let before = db.query_count();
        assert_eq!(User::bulk_update(&all, &["karma", "email"]).await?, 5);
        assert_eq!(db.query_count(), before + 1, "one statement");
        let now = User::all().order_by(["id"]).await?;
        assert_eq!(
            now.iter().map(|u| u.karma).collect::<Vec<_>>(),
            [31, 11, 21, 21, 41]
        );
        assert_eq!(now[1].email.as_deref(), Some("alice@new"));
        assert_eq!(now[1].name, "alice");
        assert_eq!(
            now[0].updated_at, stamp,
            "auto_now is not touched unless named"
        );
        // An object twice: its first copy is written (Django's first WHEN);
        // a key no row has matches nothing.
        let mut first = now[0].clone();
        first.karma = 100;
        let mut second = now[0].clone();
        second.karma = 200;
        let mut ghost = now[1].clone();
        ghost.id = 999_999;
        assert_eq!(
            User::bulk_update(&[first, second, ghost], &["karma"]).await?,
            1
        );
        assert_eq!(User::get(q!(id = now[0].id)).await?.karma, 100);
        // Nothing to write: no statement.
        let before = db.query_count();
        assert_eq!(User::bulk_update(&[], &["karma"]).await?, 0);
        assert_eq!(db.query_count(), before);
        // Refused before anything is sent.
        for (fields, what) in [
            (&[][..], "the names of the fields"),
            (&["id"][..], "primary key"),
        ] {
            match User::bulk_update(&now, fields).await {
                Err(Error::InvalidQuery(e)) => assert!(e.to_string().contains(what), "{e}"),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            User::bulk_update(&now, &["nosuch"]).await,
            Err(Error::InvalidLookup(_))
        ));
        assert!(matches!(
            User::bulk_update(&[User::named("unsaved")], &["karma"]).await,
            Err(Error::InvalidQuery(_))
        ));
        let mut long = now[2].clone();
        long.name = "x".repeat(31);
        assert!(matches!(
            User::bulk_update(&[long], &["name"]).await,
            Err(Error::Validation(_))
        ));
        let mut nul = now[2].clone();
        nul.email = Some("a\0b".into());
        assert!(matches!(
            User::bulk_update(&[nul], &["email"]).await,
            Err(Error::InvalidValue(_))
        ));
        assert_eq!(User::get(q!(id = now[2].id)).await?.name, "Bob");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn nulls_first_and_nulls_last_place_the_nulls() -> Result<()> {
    // PostgreSQL sorts NULLs last ascending and first descending; Django's
    // nulls_first / nulls_last override it, and reverse() swaps them.
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        let emails = |users: &[User]| -> Vec<Option<String>> {
            users.iter().map(|u| u.email.clone()).collect()
        };
        let some = |s: &str| Some(s.to_owned());
        let by_email =
            |o: orm_core::OrderBy| -> QuerySet<User> { User::all().order_by([o, "name".into()]) };
        assert_eq!(
            emails(&by_email(F("email").asc()).await?),
            [some("b@x"), some("c@x"), some("e@x"), None, None]
        );
        assert_eq!(
            emails(&by_email(F("email").asc().nulls_first()).await?),
            [None, None, some("b@x"), some("c@x"), some("e@x")]
        );
        assert_eq!(
            emails(&by_email(F("email").desc().nulls_last()).await?),
            [some("e@x"), some("c@x"), some("b@x"), None, None]
        );
        let f = User::fields();
        let reversed = User::all()
            .order_by([f.email.asc().nulls_first()])
            .reverse()
            .await?;
        assert_eq!(emails(&reversed)[3..], [None, None]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn explain_shows_postgresqls_plan() -> Result<()> {
    // Django's explain() / explain(analyze=True): the EXPLAIN text.
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        let plan = User::filter(q!(karma__gte = 20)).explain(false).await?;
        assert!(plan.contains("Scan on users"), "{plan}");
        assert!(!plan.contains("actual time"), "{plan}");
        let analyzed = User::filter(q!(name = "carol")).explain(true).await?;
        assert!(analyzed.contains("actual time"), "{analyzed}");
        assert!(analyzed.lines().count() > 1, "{analyzed}");
        let none: [i64; 0] = [];
        let nothing = User::filter(q!(id__in = none)).explain(false).await?;
        assert!(nothing.contains("no query"), "{nothing}");
        Ok(())
    })
    .await
}
