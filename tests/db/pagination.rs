//! Pagination: Django's `Paginator` (count, pages, orphans, lenient
//! `get_page`, the planner's estimate) and keyset pages (DRF's
//! `CursorPagination`) with ties, inserts between requests and hostile
//! cursors.

use orm_core::prelude::*;

use crate::common::{names, setup, users, User};

/// 23 users u00..u22, karma = i % 4 (many ties).
async fn sample(n: usize) {
    let rows: Vec<(String, i32)> = (0..n)
        .map(|i| (format!("u{i:02}"), (i % 4) as i32))
        .collect();
    let rows: Vec<(&str, i32, Option<&str>)> =
        rows.iter().map(|(n, k)| (n.as_str(), *k, None)).collect();
    users(&rows).await;
}

#[tokio::test]
async fn paginator_pages_as_django() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample(23).await;
        let mut pages = User::all().order_by(["name"]).paginate(10);
        let before = db.query_count();
        assert_eq!(pages.count().await?, 23);
        assert_eq!(pages.num_pages().await?, 3);
        let first = pages.page(1).await?;
        assert_eq!(names(&first.object_list)[..2], ["u00", "u01"]);
        assert_eq!(first.object_list.len(), 10);
        assert!(first.has_next() && !first.has_previous());
        assert_eq!((first.start_index(), first.end_index()), (1, 10));
        assert_eq!(first.next_page_number(), Some(2));
        let last = pages.page(3).await?;
        assert_eq!(names(&last.object_list), ["u20", "u21", "u22"]);
        assert_eq!((last.start_index(), last.end_index()), (21, 23));
        assert_eq!(last.next_page_number(), None);
        // One COUNT, then one SELECT per page.
        assert_eq!(db.query_count() - before, 3);
        // Django's EmptyPage messages.
        let err = pages.page(4).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidPage(m) if m == "That page contains no results"),
            "{err}"
        );
        let err = pages.page(0).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidPage(m) if m == "That page number is less than 1"),
            "{err}"
        );
        // get_page: not a number is the first page, too far the last.
        assert_eq!(pages.get_page(Some("abc")).await?.number, 1);
        assert_eq!(pages.get_page(Some("99")).await?.number, 3);
        assert_eq!(pages.get_page(Some("-1")).await?.number, 3);
        assert_eq!(pages.get_page(None).await?.number, 1);
        // Orphans: a last page of 3 joins the one before.
        let mut pages = User::all().order_by(["name"]).paginate(10).orphans(3);
        assert_eq!(pages.num_pages().await?, 2);
        let last = pages.page(2).await?;
        assert_eq!(last.object_list.len(), 13);
        assert_eq!((last.start_index(), last.end_index()), (11, 23));
        // Unordered: by primary key, so pages neither repeat nor skip.
        let mut pages = User::all().paginate(7);
        let mut seen = Vec::new();
        for n in 1..=pages.num_pages().await? {
            seen.extend(pages.page(n).await?.object_list.into_iter().map(|u| u.id));
        }
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted);
        assert_eq!(seen.len(), 23);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn empty_queries_and_the_planner_estimate() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        // Django: an empty first page is allowed by default.
        let mut pages = User::all().paginate(10);
        assert_eq!(pages.num_pages().await?, 1);
        let page = pages.page(1).await?;
        assert!(page.object_list.is_empty());
        assert_eq!((page.start_index(), page.end_index()), (0, 0));
        let mut strict = User::all().paginate(10).allow_empty_first_page(false);
        assert_eq!(strict.num_pages().await?, 0);
        assert!(matches!(strict.page(1).await, Err(Error::InvalidPage(_))));
        assert!(matches!(
            User::all().paginate(0).page(1).await,
            Err(Error::InvalidPage(_))
        ));
        sample(1_000).await;
        db.batch_execute("ANALYZE users").await?;
        // Every row sampled: the estimate is the count.
        assert_eq!(User::all().estimated_count().await?, 1_000);
        let some = User::filter(q!(karma = 1)).estimated_count().await?;
        assert!((100..=500).contains(&some), "{some}");
        // Above the threshold the paginator uses the estimate: no COUNT.
        let mut pages = User::all()
            .order_by(["name"])
            .paginate(100)
            .estimate_above(500);
        assert_eq!(pages.count().await?, 1_000);
        let last = pages.page(10).await?;
        assert_eq!(last.object_list.len(), 100);
        assert_eq!(names(&last.object_list)[99], "u999");
        Ok(())
    })
    .await
}

/// Every page of `qs` by keyset, following `next` cursors.
async fn walk(qs: QuerySet<User>, size: i64) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = qs.clone().keyset_page(size, cursor.as_deref()).await?;
        out.extend(page.items.into_iter().map(|u| u.name));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

#[tokio::test]
async fn keyset_pages_with_ties_inserts_and_going_back() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample(23).await;
        // karma has only 4 values: the primary key breaks the ties.
        let qs = || User::all().order_by(["-karma"]);
        let all: Vec<String> = User::all()
            .order_by(["-karma", "id"])
            .await?
            .into_iter()
            .map(|u| u.name)
            .collect();
        for size in [1, 3, 5, 23, 50] {
            assert_eq!(walk(qs(), size).await?, all, "size {size}");
        }
        // A row inserted before the current position (karma 4 sorts
        // first) does not shift the next page (OFFSET would repeat a row).
        let first = qs().keyset_page(5, None).await?;
        assert!(first.previous.is_none());
        users(&[("zz-new", 4, None)]).await;
        let second = qs().keyset_page(5, first.next.as_deref()).await?;
        assert_eq!(
            second
                .items
                .iter()
                .map(|u| u.name.as_str())
                .collect::<Vec<_>>(),
            all[5..10].iter().map(String::as_str).collect::<Vec<_>>()
        );
        // Back from the second page: the rows before its first one, in
        // order: the first page as it was read.
        let back = qs().keyset_page(5, second.previous.as_deref()).await?;
        assert_eq!(
            back.items
                .iter()
                .map(|u| u.name.as_str())
                .collect::<Vec<_>>(),
            all[0..5].iter().map(String::as_str).collect::<Vec<_>>()
        );
        assert!(back.next.is_some());
        // And before those, the row inserted meanwhile.
        let before_back = qs().keyset_page(5, back.previous.as_deref()).await;
        let names_back: Vec<String> = before_back?.items.into_iter().map(|u| u.name).collect();
        assert_eq!(names_back, ["zz-new"]);
        // Ascending by a text field, reversed by reverse().
        let by_name = walk(User::all().order_by(["name"]).reverse(), 4).await?;
        let mut expected: Vec<String> = User::all().values_list_flat("name").await?;
        expected.sort();
        expected.reverse();
        assert_eq!(by_name, expected);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn hostile_cursors_and_orderings_are_errors() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample(5).await;
        let qs = || User::all().order_by(["-karma"]);
        let good = qs().keyset_page(2, None).await?.next.expect("a next page");
        let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
        for bad in [
            "".to_owned(),
            "zz".to_owned(),
            "abc".to_owned(),
            "'; DROP TABLE users; --".to_owned(),
            "a".repeat(10_000),
            hex("not json"),
            hex(r#"{"d":"n","v":["1","2"]}"#),
            hex(r#"{"o":["-karma","id"],"d":"n","v":["1"]}"#),
            hex(r#"{"o":["-karma","id"],"d":"x","v":["1","2"]}"#),
            hex(r#"{"o":["-karma","id"],"d":"n","v":["one","2"]}"#),
            hex(r#"{"o":["-karma","id"],"d":"n","v":[1,2]}"#),
            good.to_uppercase(),
        ] {
            let err = qs().keyset_page(2, Some(&bad)).await.unwrap_err();
            assert!(matches!(err, Error::InvalidPage(_)), "{bad:.40}: {err}");
        }
        // A NUL in a text value (PostgreSQL has none): refused, not sent.
        let nul = hex("{\"o\":[\"name\",\"id\"],\"d\":\"n\",\"v\":[\"a\\u0000\",\"1\"]}");
        let err = User::all()
            .order_by(["name"])
            .keyset_page(2, Some(&nul))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidPage(_)), "{err}");
        // A well-made cursor of this ordering is read.
        let made = hex(r#"{"o":["name","id"],"d":"n","v":["u02","3"]}"#);
        let page = User::all()
            .order_by(["name"])
            .keyset_page(2, Some(&made))
            .await?;
        assert_eq!(names(&page.items), ["u03", "u04"]);
        // A cursor of another ordering does not fit this one.
        let err = User::all()
            .order_by(["name"])
            .keyset_page(2, Some(&good))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidPage(_)), "{err}");
        // Orderings a cursor cannot hold.
        let err = User::all()
            .order_by(["email"])
            .keyset_page(2, None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("may be NULL"), "{err}");
        let err = User::all().limit(3).keyset_page(2, None).await.unwrap_err();
        assert!(err.to_string().contains("sliced"), "{err}");
        assert!(matches!(
            qs().keyset_page(0, None).await,
            Err(Error::InvalidPage(_))
        ));
        assert_eq!(User::all().count().await?, 5);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn keyset_last_page_and_cursor_of_a_row() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        sample(23).await;
        let qs = || User::all().order_by(["-karma"]);
        let all: Vec<String> = User::all()
            .order_by(["-karma", "id"])
            .await?
            .into_iter()
            .map(|u| u.name)
            .collect();
        // The last 5 rows, in the query's ordering, read backwards.
        let last = qs().keyset_last_page(5).await?;
        assert_eq!(names(&last.items), all[18..]);
        assert!(last.next.is_none());
        // Its previous page: the 5 rows before.
        let before = qs().keyset_page(5, last.previous.as_deref()).await?;
        assert_eq!(names(&before.items), all[13..18]);
        assert!(before.next.is_some());
        // From an OFFSET page to keyset: the cursor after its last row is
        // the next OFFSET page; the cursor before its first row the previous.
        let rows = qs().order_by(["-karma", "id"]).offset(10).limit(5).await?;
        let next = qs().keyset_cursor(&rows[4], true)?.expect("a cursor");
        assert_eq!(
            names(&qs().keyset_page(5, Some(&next)).await?.items),
            all[15..20]
        );
        let previous = qs().keyset_cursor(&rows[0], false)?.expect("a cursor");
        assert_eq!(
            names(&qs().keyset_page(5, Some(&previous)).await?.items),
            all[5..10]
        );
        // Fewer rows than a page: the last page is all of them.
        let few = User::all().filter(q!(karma = 4)).order_by(["name"]);
        let expected: Vec<String> = few
            .clone()
            .order_by(["name", "id"])
            .await?
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert!(expected.len() < 50);
        let page = few.keyset_last_page(50).await?;
        assert_eq!(names(&page.items), expected);
        assert!(page.previous.is_none() && page.next.is_none());
        // A nullable ordering is refused here too.
        assert!(User::all()
            .order_by(["email"])
            .keyset_last_page(2)
            .await
            .is_err());
        Ok(())
    })
    .await
}
