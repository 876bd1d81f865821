//! `union`, `union_all`, `intersection` and `difference` against
//! PostgreSQL: the rows Django's combinators return for the same data.

use orm_core::prelude::*;

use crate::common::{names, setup, users, User};
use crate::models::blog::{blog, Author};

/// karma: alice 10, bob 20, carol 30, dave 20, erin 40.
async fn sample() {
    users(&[
        ("alice", 10, None),
        ("bob", 20, Some("b@x")),
        ("carol", 30, Some("c@x")),
        ("dave", 20, None),
        ("erin", 40, Some("e@x")),
    ])
    .await;
}

fn low() -> QuerySet<User> {
    // alice, bob, dave
    User::filter(q!(karma__lte = 20))
}

fn with_email() -> QuerySet<User> {
    // bob, carol, erin
    User::filter(q!(email__isnull = false))
}

#[tokio::test]
async fn the_four_operators_return_djangos_rows() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        // Django: low.union(with_email) = each user in either, once.
        let rows = low().union(with_email()).order_by(["name"]).await?;
        assert_eq!(names(&rows), ["alice", "bob", "carol", "dave", "erin"]);
        // union(all=True): bob is in both, so he comes twice.
        let rows = low()
            .union_all(with_email())
            .order_by(["name", "id"])
            .await?;
        assert_eq!(
            names(&rows),
            ["alice", "bob", "bob", "carol", "dave", "erin"]
        );
        assert_eq!(low().union_all(with_email()).count().await?, 6);
        assert_eq!(low().union(with_email()).count().await?, 5);
        // intersection: in both.
        let rows = low().intersection(with_email()).await?;
        assert_eq!(names(&rows), ["bob"]);
        // difference: in the first, not the second.
        let rows = low().difference(with_email()).order_by(["-name"]).await?;
        assert_eq!(names(&rows), ["dave", "alice"]);
        let rows = with_email().difference(low()).order_by(["name"]).await?;
        assert_eq!(names(&rows), ["carol", "erin"]);
        // Chained: (low ∪ email) − {karma 40}.
        let rows = low()
            .union(with_email())
            .difference(User::filter(q!(karma = 40)))
            .order_by(["name"])
            .await?;
        assert_eq!(names(&rows), ["alice", "bob", "carol", "dave"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn parts_keep_their_ordering_and_slices_and_the_whole_takes_its_own() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        // The top two by karma (erin 40, carol 30) and the lowest (alice).
        let top = User::all().order_by(["-karma"]).limit(2);
        let bottom = User::all().order_by(["karma"]).limit(1);
        let rows = top
            .clone()
            .union(bottom.clone())
            .order_by(["-karma"])
            .await?;
        assert_eq!(names(&rows), ["erin", "carol", "alice"]);
        // The whole sliced and reversed; first()/last() order it.
        let rows = top
            .clone()
            .union(bottom.clone())
            .order_by(["karma"])
            .reverse()
            .offset(1)
            .limit(1)
            .await?;
        assert_eq!(names(&rows), ["carol"]);
        let first = top
            .clone()
            .union(bottom.clone())
            .order_by(["name"])
            .first()
            .await?;
        assert_eq!(first.map(|u| u.name), Some("alice".into()));
        let last = top
            .clone()
            .union(bottom.clone())
            .order_by(["name"])
            .last()
            .await?;
        assert_eq!(last.map(|u| u.name), Some("erin".into()));
        // first() of an unordered combination: by primary key.
        let first = bottom.union(top).first().await?;
        assert_eq!(first.map(|u| u.name), Some("alice".into()));
        assert!(low().intersection(with_email()).exists().await?);
        assert!(
            !low()
                .intersection(User::filter(q!(karma = 40)))
                .exists()
                .await?
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn empty_parts_follow_django_and_send_no_query_when_nothing_can_match() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        let none = || User::filter(q!(id__in = Vec::<i64>::new()));
        let before = db.query_count();
        assert!(none().union(none()).await?.is_empty());
        assert!(low().intersection(none()).await?.is_empty());
        assert!(none().difference(low()).await?.is_empty());
        assert_eq!(none().union(none()).count().await?, 0);
        assert_eq!(db.query_count(), before, "nothing can match: no query");
        let rows = none().union(low()).order_by(["name"]).await?;
        assert_eq!(names(&rows), ["alice", "bob", "dave"]);
        let rows = low().difference(none()).order_by(["name"]).await?;
        assert_eq!(names(&rows), ["alice", "bob", "dave"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn what_django_refuses_is_an_error_and_changes_nothing() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample().await;
        let u = || low().union(with_email());
        let err = u().filter(q!(name = "bob")).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidQuery(e) if e.to_string().contains("filter() or exclude() after union()")),
            "{err}"
        );
        // update/delete on a combination must not touch every row.
        assert!(u().update(q!(karma = 0)).await.is_err());
        assert!(u().delete().await.is_err());
        assert!(u().values_list_flat::<String>("name").await.is_err());
        assert!(u().aggregate([Sum("karma")]).await.is_err());
        assert!(u().get(q!(name = "bob")).await.is_err());
        let karmas: Vec<i32> = User::all().order_by(["name"]).values_list_flat("karma").await?;
        assert_eq!(karmas, [10, 20, 30, 20, 40]);
        assert_eq!(User::all().count().await?, 5);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn streams_explains_and_prefetches_a_combination() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        // Gemini (2 posts) ∪ Bob (none), with their posts prefetched.
        let authors = Author::filter(q!(name = "Gemini"))
            .union(Author::filter(q!(name = "Bob")))
            .prefetch_related(["posts"])
            .order_by(["name"])
            .await?;
        let counts: Vec<(&str, usize)> = authors
            .iter()
            .map(|a| (a.name.as_str(), a.posts.get().expect("prefetched").len()))
            .collect();
        assert_eq!(counts, [("Bob", 0), ("Gemini", 2)]);
        let mut stream = Author::filter(q!(karma__gte = 0))
            .intersection(Author::filter(q!(name__startswith = "G")))
            .stream();
        let mut streamed = Vec::new();
        while let Some(a) = stream.try_next().await? {
            streamed.push(a.name);
        }
        assert_eq!(streamed, ["Gemini"]);
        let plan = Author::all().union(Author::all()).explain(false).await?;
        assert!(plan.contains("Append") || plan.contains("Unique"), "{plan}");
        Ok(())
    })
    .await
}
