//! Texts kept by statement key or by [`ByKey`](crate::sql::kept::ByKey):
//! the fast get, by-key updates and deletes, and what every statement
//! still renders.

use super::*;

/// The statement `plan()` builds (what fetch and get send), and whether
/// its text came from a kept shape.
fn planned(qs: QuerySet<User>) -> (String, Vec<Value>, bool) {
    let plan = qs.plan().expect("renders").expect("sends a query");
    let kept = matches!(plan.stmt.sql, std::borrow::Cow::Borrowed(_));
    (plan.stmt.sql.into_owned(), plan.stmt.binds.into_vec(), kept)
}

/// The statement `get(q)` on `qs` sends, and whether its text is kept.
fn get_planned(qs: QuerySet<User>, q: impl IntoQ<User>) -> (String, Vec<Value>, bool) {
    let plan = qs.get_plan_of(q).expect("renders").expect("sends a query");
    let kept = matches!(plan.stmt.sql, std::borrow::Cow::Borrowed(_));
    (plan.stmt.sql.into_owned(), plan.stmt.binds.into_vec(), kept)
}

#[test]
fn only_one_non_null_equality_is_a_fast_get() {
    #[allow(clippy::result_large_err, reason = "`Err` hands the condition back")]
    fn exact(q: impl IntoQ<User>) -> Result<(&'static str, Value), Q<User>> {
        q.into_exact().map(|(field, value)| (field.name, value))
    }
    fn cond(q: impl IntoQ<User>) -> Q<User> {
        q.into_q()
    }
    let seven = Ok(("karma", Value::I32(Some(7))));
    assert_eq!(exact(q!(karma = 7)), seven);
    assert_eq!(exact(q!(karma__exact = 7)), seven);
    assert_eq!(exact(User::fields().karma.eq(7)), seven);
    // Each of these keeps its condition for the full path, unchanged.
    let not_fast = [
        (
            exact(q!(email = None::<String>)),
            cond(q!(email__isnull = true)),
        ),
        (exact(q!(karma = 7, id = 1)), cond(q!(karma = 7, id = 1))),
        (exact(q!(karma__gt = 7)), cond(q!(karma__gt = 7))),
        (exact(q!(karma = F("id"))), cond(q!(karma = F("id")))),
    ];
    for (got, kept) in not_fast {
        match got {
            Ok((field, value)) => panic!("{field}: {value:?} taken as a fast get"),
            Err(q) => assert_eq!(q, kept),
        }
    }
}

#[test]
fn a_get_by_one_value_sends_what_the_full_path_renders() {
    let by_karma = format!(r#"SELECT {COLS} FROM "users" WHERE "users"."karma" = $1 LIMIT 21"#);
    for n in [1, 2, 3] {
        let (sql, binds, kept) = get_planned(User::all(), q!(karma = n));
        assert_eq!((&sql, &binds[..]), (&by_karma, &[Value::I32(Some(n))][..]));
        // Kept from the first on (other tests may have kept it before).
        assert!(kept || n == 1, "get {n} rendered again");
    }
    // NULL, ordering, a filter, a limit: the full path, the same SQL as before.
    let (sql, binds, _) = get_planned(User::all(), q!(email = None::<String>));
    assert_eq!(
        sql,
        format!(r#"SELECT {COLS} FROM "users" WHERE "users"."email" IS NULL LIMIT 21"#)
    );
    assert!(binds.is_empty());
    let (sql, binds, _) = get_planned(User::filter(q!(id__gt = 1)).limit(5), q!(karma = 4));
    assert_eq!(
        sql,
        format!(
            r#"SELECT {COLS} FROM "users" WHERE "users"."id" > $1 AND "users"."karma" = $2 LIMIT 5"#
        )
    );
    assert_eq!(binds, [Value::I64(Some(1)), Value::I32(Some(4))]);
}

#[test]
fn a_get_drops_the_ordering_unless_sliced_and_fetches_at_most_21_rows() {
    // As Django's `get()`: `order_by()` cleared unless the query is sliced
    // (`can_filter()`) or has `distinct_fields`; at most 21 rows.
    let by_karma = format!(r#"SELECT {COLS} FROM "users" WHERE "users"."karma" = $1"#);
    let (sql, binds, _) = get_planned(User::all().order_by(["-id"]), q!(karma = 4));
    assert_eq!(sql, format!("{by_karma} LIMIT 21"));
    assert_eq!(binds, [Value::I32(Some(4))]);
    let (sql, binds, _) = get_planned(User::all().order_by(["-id"]).offset(2), q!(karma = 4));
    assert_eq!(
        sql,
        format!(r#"{by_karma} ORDER BY "users"."id" DESC LIMIT 21 OFFSET $2"#)
    );
    assert_eq!(binds, [Value::I32(Some(4)), Value::I64(Some(2))]);
    let (sql, _, _) = get_planned(User::all().order_by(["-id"]).limit(50), q!(karma = 4));
    assert_eq!(
        sql,
        format!(r#"{by_karma} ORDER BY "users"."id" DESC LIMIT 21"#)
    );
    let (sql, _, _) = get_planned(User::all().order_by(["-id"]).limit(3), q!(karma = 4));
    assert_eq!(
        sql,
        format!(r#"{by_karma} ORDER BY "users"."id" DESC LIMIT 3"#)
    );
    // Plain `DISTINCT` loses it too; a lock keeps the limit.
    let (sql, _, _) = get_planned(User::all().distinct().order_by(["-id"]), q!(karma = 4));
    assert_eq!(
        sql,
        format!(r#"SELECT DISTINCT {COLS} FROM "users" WHERE "users"."karma" = $1 LIMIT 21"#)
    );
    let (sql, _, _) = get_planned(
        User::all().select_for_update().order_by(["-id"]),
        q!(karma = 4),
    );
    assert_eq!(sql, format!("{by_karma} LIMIT 21 FOR UPDATE"));
    // An unknown name in the dropped ordering is still reported.
    match User::all().order_by(["nosuch"]).get_plan_of(q!(karma = 4)) {
        Err(crate::Error::InvalidLookup(e)) => assert_eq!(e.name, "nosuch"),
        other => panic!("{:?}", other.map(|p| p.map(|p| p.stmt.sql))),
    }
    // `distinct_on` keeps the ordering it needs.
    let (sql, _, _) = get_planned(
        User::all()
            .order_by(["karma", "-id"])
            .distinct_on(["karma"]),
        q!(karma = 4),
    );
    assert!(
        sql.ends_with(r#"ORDER BY "users"."karma" ASC, "users"."id" DESC LIMIT 21"#),
        "{sql}"
    );
}

#[test]
fn the_fast_get_is_taken_from_the_second_get_of_a_field_on() {
    use crate::query::FAST_GETS;
    // Were the fast get never to find its text, it would fall back to the
    // full path silently, with the same SQL.
    for q in [q!(id = 3), q!(email = "e@x"), q!(karma = 2)] {
        let q2 = q.clone();
        User::all().get_plan_of(q).expect("renders");
        let before = FAST_GETS.get();
        User::all().get_plan_of(q2).expect("renders");
        assert_eq!(FAST_GETS.get(), before + 1, "the second get was not fast");
    }
    // Not plain, or not one `=`: never.
    let before = FAST_GETS.get();
    for _ in 0..2 {
        User::all()
            .order_by(["id"])
            .get_plan_of(q!(id = 3))
            .expect("renders");
        User::all().get_plan_of(q!(id__gt = 3)).expect("renders");
    }
    assert_eq!(FAST_GETS.get(), before);
}

#[test]
fn the_per_thread_get_texts_are_the_kept_ones() {
    use crate::meta::{FieldMeta, ModelMeta};
    use crate::sql::kept::{ByKey, CACHED_KEY_TEXTS};
    // A static of its own: no other test's keys have its address.
    static META: ModelMeta = *User::META;
    let text = |field: &FieldMeta, limit: Option<i64>| -> &'static str {
        Box::leak(format!("get {} {limit:?}", field.name).into_boxed_str())
    };
    // Kept, then asked for again: found in this thread's cache.
    let id = &META.fields[0];
    let kept = |field, limit| ByKey::get(&META, field, limit).text();
    assert_eq!(kept(id, None), None, "kept before it was");
    let sql = text(id, None);
    ByKey::get(&META, id, None).remember(sql);
    let hits = CACHED_KEY_TEXTS.get();
    assert_eq!(kept(id, None), Some(sql));
    assert_eq!(CACHED_KEY_TEXTS.get(), hits + 1);
    // The same model and field in an update or a delete: other keys.
    assert_eq!(ByKey::delete(&META, id).text(), None);
    let set: crate::query::q::Assign<User> = q!(karma = 1);
    let update = ByKey::update(&META, id, &set.items).expect("plain sets");
    assert_eq!(update.text(), None);
    // Not plain, or too many: no key.
    let set: crate::query::q::Assign<User> = q!(karma = F("karma") + 1);
    assert!(ByKey::update(&META, id, &set.items).is_none());
    let set: crate::query::q::Assign<User> = q!(karma = 1, name = "a", email = None);
    assert!(ByKey::update(&META, id, &set.items).is_none());
    // Another model's key with the same field is another key: `User::META`
    // is not at `META`'s address.
    assert_ne!(ByKey::get(User::META, id, None).text(), Some(sql));
    // Ten keys in sixteen slots: some may share one, and replace each other;
    // a slot never hands out another key's text.
    for _ in 0..3 {
        for field in META.fields {
            for limit in [None, Some(21)] {
                match kept(field, limit) {
                    Some(sql) => assert_eq!(sql, format!("get {} {limit:?}", field.name)),
                    None => ByKey::get(&META, field, limit).remember(text(field, limit)),
                }
            }
        }
    }
}

#[test]
fn updates_and_deletes_by_one_value_take_their_text_by_key() {
    use crate::sql::kept::CACHED_KEY_TEXTS;
    // Rendered or found under the full shape, then kept under the key:
    // from the third statement on (the second, if another test kept it
    // first), found in this thread's cache. One key at a time: two keys
    // may share a slot.
    for n in 0..4_i64 {
        let before = CACHED_KEY_TEXTS.get();
        let update = User::filter(q!(id = n)).update_bound(q!(karma = 5));
        let update = update.unwrap().unwrap();
        assert_eq!(
            update.sql,
            r#"UPDATE "users" SET "karma" = $1 WHERE "users"."id" = $2"#
        );
        assert_eq!(update.binds[..], [Value::I32(Some(5)), Value::I64(Some(n))]);
        if n >= 2 {
            assert_eq!(CACHED_KEY_TEXTS.get(), before + 1, "update {n}");
        }
    }
    for n in 0..4 {
        let before = CACHED_KEY_TEXTS.get();
        let delete = User::filter(q!(name = "ann")).delete_bound();
        let delete = delete.unwrap().unwrap();
        assert_eq!(
            delete.sql,
            r#"DELETE FROM "users" WHERE "users"."name" = $1"#
        );
        assert_eq!(delete.binds[..], [text("ann")]);
        if n >= 2 {
            assert_eq!(CACHED_KEY_TEXTS.get(), before + 1, "delete {n}");
        }
    }
    // Two fields, in either order and alternating (both keys may share a
    // slot): each its own text and values, NULL or not.
    for n in 0..3 {
        let updates = [
            (
                q!(email = None, karma = n),
                r#"UPDATE "users" SET "email" = $1, "karma" = $2 WHERE "users"."name" = $3"#,
                [Value::Text(None), Value::I32(Some(n)), text("ann")],
            ),
            (
                q!(karma = n, email = "e"),
                r#"UPDATE "users" SET "karma" = $1, "email" = $2 WHERE "users"."name" = $3"#,
                [Value::I32(Some(n)), text("e"), text("ann")],
            ),
        ];
        for (assign, sql, binds) in updates {
            let update = User::filter(q!(name = "ann")).update_bound(assign);
            let update = update.unwrap().unwrap();
            assert_eq!((&*update.sql, &update.binds[..]), (sql, &binds[..]));
        }
    }
    // Not by one value: never from the cache (their texts are checked
    // against rendering in debug builds, as every kept text is).
    let before = CACHED_KEY_TEXTS.get();
    for _ in 0..3 {
        let updates = [
            User::filter(q!(id = 1))
                .filter(q!(karma = 2))
                .update_bound(q!(karma = 5)),
            User::filter(q!(id = 1)).update_bound(q!(karma = 5, name = "a", email = None)),
            User::filter(q!(id = 1)).update_bound(q!(karma = F("karma") + 1)),
            User::filter(q!(id = 1))
                .order_by(["id"])
                .limit(1)
                .update_bound(q!(karma = 5)),
        ];
        let deletes = [
            User::exclude(q!(id = 1)).delete_bound(),
            User::filter(q!(id__gt = 1)).delete_bound(),
            User::filter(q!(email = None::<String>)).delete_bound(),
            User::filter(q!(id = 1)).distinct().delete_bound(),
        ];
        // The last of each is sliced or distinct: an error from rendering.
        for (i, stmt) in updates.into_iter().chain(deletes).enumerate() {
            match stmt {
                Ok(Some(_)) if i % 4 != 3 => {}
                Err(crate::Error::InvalidQuery(_)) if i % 4 == 3 => {}
                other => panic!("statement {i}: {other:?}"),
            }
        }
    }
    assert_eq!(CACHED_KEY_TEXTS.get(), before);
}

#[test]
fn a_get_by_key_or_unique_field_sends_no_limit() {
    // At most one row can match: no `LIMIT 21`, on the fast path and off.
    for n in [1, 2] {
        let (sql, binds, kept) = get_planned(User::all(), q!(id = n));
        assert_eq!(
            sql,
            format!(r#"SELECT {COLS} FROM "users" WHERE "users"."id" = $1"#)
        );
        assert_eq!(binds, [Value::I64(Some(n))]);
        assert!(kept || n == 1, "get {n} rendered again");
    }
    let (sql, _, _) = get_planned(User::all(), q!(name = "ann"));
    assert_eq!(
        sql,
        format!(r#"SELECT {COLS} FROM "users" WHERE "users"."name" = $1"#)
    );
    let (sql, _, _) = get_planned(User::filter(q!(karma__gt = 1)), q!(id = 7));
    assert_eq!(
        sql,
        format!(r#"SELECT {COLS} FROM "users" WHERE "users"."karma" > $1 AND "users"."id" = $2"#)
    );
    // The ordering dropped too, as Django's `get()` does.
    let (sql, _, _) = get_planned(User::all().order_by(["karma"]), q!(id = 7));
    assert_eq!(
        sql,
        format!(r#"SELECT {COLS} FROM "users" WHERE "users"."id" = $1"#)
    );
    // Several conditions in one call, or over several calls.
    let (sql, _, _) = get_planned(User::all(), q!(karma = 1, id = 7));
    assert_eq!(
        sql,
        format!(r#"SELECT {COLS} FROM "users" WHERE "users"."karma" = $1 AND "users"."id" = $2"#)
    );
    let (sql, _, _) = get_planned(
        User::filter(q!(karma = 1, name__startswith = "a")),
        q!(id = 7) & q!(email__isnull = true),
    );
    assert!(!sql.contains("LIMIT"), "{sql}");
    // Not one row at most: an OR, a case-insensitive match (`Ann` and
    // `ann`), a lookup other than `=`; and, conservatively, beside an
    // `exclude()`.
    let limited = [
        get_planned(User::all(), q!(id = 7) | q!(karma = 1)).0,
        get_planned(User::all(), q!(name__iexact = "ann")).0,
        get_planned(User::all(), q!(id__gte = 7)).0,
        get_planned(User::all().exclude(q!(karma = 1)), q!(id = 7)).0,
    ];
    for sql in limited {
        assert!(sql.ends_with(" LIMIT 21"), "{sql}");
    }
    // A limit of the query's own stays.
    let (sql, _, _) = get_planned(User::all().limit(3), q!(id = 7));
    assert!(sql.ends_with(r#""users"."id" = $1 LIMIT 3"#), "{sql}");
}

#[test]
fn a_repeated_shape_takes_its_kept_text_and_binds_its_own_values() {
    // Every lookup a kept shape may hold, under OR, NOT and exclude, with
    // ordering, limit, offset and DISTINCT.
    let query = |n: i32, s: &str| {
        User::filter(q!(karma__gte = n) | q!(name__icontains = s))
            .exclude(q!(email__in = [s, "x"], karma__lt = n))
            .filter(!q!(id__range = (i64::from(n), 9), email__isnull = false))
            .filter(q!(name__startswith = s, name__regex = s, email__iexact = s))
            .filter(q!(name__iendswith = s, karma__lte = 7))
            .order_by(["-karma", "name"])
            .offset(i64::from(n) * 10)
            .limit(5)
            .distinct()
    };
    let first = planned(query(1, "50%"));
    let second = planned(query(2, r"a_b\"));
    assert!(second.2, "the second query of a shape uses the kept text");
    assert_eq!(second.0, first.0);
    // The same text and values as rendering it from scratch.
    let rendered = select(query(2, r"a_b\"));
    assert_eq!((&second.0, &second.1), (&rendered.sql, &rendered.binds));
    assert_eq!(
        second.1,
        vec![
            Value::I32(Some(2)),
            text(r"%a\_b\\%"),
            Value::Array(vec![text(r"a_b\"), text("x")]),
            Value::I32(Some(2)),
            Value::I64(Some(2)),
            Value::I64(Some(9)),
            text(r"a\_b\\%"),
            text(r"a_b\"),
            text(r"a_b\"),
            text(r"%a\_b\\"),
            Value::I32(Some(7)),
            Value::I64(Some(20)),
        ]
    );
    // A key longer than `KEY_WORDS`: rendered each time, with its values.
    let longer = |n: i32| (0..40).fold(query(n, "a"), |qs, i| qs.filter(q!(karma__gt = n + i)));
    planned(longer(1));
    let (sql, binds, kept) = planned(longer(2));
    assert!(!kept);
    assert_eq!((sql, binds), {
        let stmt = select(longer(2));
        (stmt.sql, stmt.binds)
    });
}

#[test]
fn limits_and_lookups_are_part_of_the_key() {
    let (five, _, _) = planned(User::filter(q!(karma = 1)).limit(5));
    let (six, _, _) = planned(User::filter(q!(karma = 1)).limit(6));
    assert!(five.ends_with("LIMIT 5") && six.ends_with("LIMIT 6"));
    planned(User::filter(q!(karma = 1)).limit(5));
    let (gt, binds, _) = planned(User::filter(q!(karma__gt = 1)).limit(5));
    assert!(gt.contains(r#""users"."karma" > $1"#), "{gt}");
    assert_eq!(binds, vec![Value::I32(Some(1))]);
    // `exclude` of a nullable field adds the NULL guard, `filter` does not.
    planned(User::exclude(q!(email = "a")));
    let (excluded, _, kept_exclude) = planned(User::exclude(q!(email = "b")));
    assert!(kept_exclude);
    assert!(excluded.ends_with(r#"NOT ("users"."email" = $1 AND "users"."email" IS NOT NULL)"#));
    let (filtered, _, _) = planned(User::filter(q!(email = "b")));
    assert!(filtered.ends_with(r#"WHERE "users"."email" = $1"#));
}

#[test]
fn relations_expressions_locks_and_constants_are_kept_too() {
    // Each query twice with other values: the second takes the text kept
    // by the first, and sends its own values, as rendering would.
    let queries: [fn(i64, &str) -> QuerySet<Post>; 5] = [
        |_, s| Post::filter(q!(author__name = s)),
        |n, _| Post::filter(q!(author__karma__gt = F("id"))).filter(q!(id = n)),
        |n, _| Post::select_for_update().filter(q!(id = n)),
        |n, s| Post::filter(q!(id = n) | Q::all()).filter(q!(author__name = s)),
        |n, s| {
            Post::filter(!!Q::all())
                .exclude(q!(
                    author__name__icontains = s,
                    author__karma__gt = n as i32
                ))
                .select_related(["author"])
        },
    ];
    for (i, query) in queries.iter().enumerate() {
        query(1, "a").plan().unwrap().unwrap();
        let plan = query(2, "b%").plan().unwrap().unwrap();
        assert!(
            matches!(plan.stmt.sql, std::borrow::Cow::Borrowed(_)),
            "query {i} rendered again"
        );
        let rendered = query(2, "b%").sql().unwrap().unwrap();
        assert_eq!(
            (&*plan.stmt.sql, &plan.stmt.binds[..]),
            (&*rendered.sql, &rendered.binds[..]),
            "query {i}"
        );
    }
    // Constants below the root are simplified away with their leaves'
    // values, in the walk for the key as in rendering.
    let (sql, binds, _) = planned(User::filter(q!(karma = 1) | Q::all()).filter(q!(id = 2)));
    assert_eq!(
        sql,
        format!(r#"SELECT {COLS} FROM "users" WHERE "users"."id" = $1"#)
    );
    assert_eq!(binds, vec![Value::I64(Some(2))]);
    // A filter that matches nothing sends nothing, kept or not.
    let none: [i64; 0] = [];
    assert!(User::filter(q!(id__in = none)).plan().unwrap().is_none());
    assert!(User::filter(q!(id__in = none)).plan().unwrap().is_none());
}

#[test]
fn equal_keys_are_equal_texts() {
    use crate::sql::SqlWriter;
    let key = |write: &dyn Fn(&mut SqlWriter)| {
        let mut w = SqlWriter::key_only();
        write(&mut w);
        w.finish_key().0.expect("short enough to keep")
    };
    // What the text holds tells keys apart: keywords, names (quoted or
    // qualified), integers, placeholders; values do not.
    let keys = [
        key(&|w| w.push_sql("a")),
        key(&|w| w.push_sql("b")),
        key(&|w| w.push_text("a")),
        key(&|w| w.push_ident("a")),
        key(&|w| w.push_ident("ab")),
        key(&|w| w.push_column("a", "b")),
        key(&|w| {
            w.push_ident("a");
            w.push_ident("b");
        }),
        key(&|w| w.push_int(1)),
        key(&|w| w.push_int(2)),
        key(&|w| w.push_placeholder(1)),
        key(&|w| w.push_bind(Value::I32(Some(1)))),
        key(&|w| w.push_ident("abcdefgh")),
        key(&|w| w.push_ident("abcdefgh ")),
    ];
    for (i, a) in keys.iter().enumerate() {
        for (j, b) in keys.iter().enumerate() {
            assert_eq!(i == j, a == b, "keys {i} and {j}");
        }
    }
    assert_eq!(
        key(&|w| w.push_bind(Value::I32(Some(1)))),
        key(&|w| w.push_bind(Value::Text(Some("x".into()))))
    );
    // A name with a NUL or a quote is recorded by its bytes too.
    assert_ne!(key(&|w| w.push_ident("a\0")), key(&|w| w.push_ident("a")));
    assert_ne!(key(&|w| w.push_ident("a\"")), key(&|w| w.push_ident("a")));
    // Too long: no key.
    let mut w = SqlWriter::key_only();
    for _ in 0..=crate::sql::writer::KEY_WORDS {
        w.push_sql(" AND ");
    }
    assert!(w.finish_key().0.is_none());
}

#[test]
fn count_exists_update_and_delete_keep_their_texts() {
    for n in [1, 2] {
        let count = User::filter(q!(karma__gte = n)).count_or_exists(false);
        let count = count.unwrap().unwrap();
        assert_eq!(
            count.sql,
            r#"SELECT COUNT(*) FROM "users" WHERE "users"."karma" >= $1"#
        );
        assert_eq!(count.binds[..], [Value::I32(Some(n))]);
        let exists = User::filter(q!(karma__gte = n))
            .limit(3)
            .count_or_exists(true);
        let exists = exists.unwrap().unwrap();
        assert_eq!(
            exists.sql,
            format!(
                r#"SELECT 1 FROM (SELECT {COLS} FROM "users" WHERE "users"."karma" >= $1 LIMIT 3) AS "subquery" LIMIT 1"#
            )
        );
        assert_eq!(exists.binds[..], [Value::I32(Some(n))]);
        let update = User::filter(q!(id = i64::from(n))).update_bound(q!(karma = n, email = None));
        let update = update.unwrap().unwrap();
        assert_eq!(
            update.sql,
            r#"UPDATE "users" SET "karma" = $1, "email" = $2 WHERE "users"."id" = $3"#
        );
        assert_eq!(
            update.binds[..],
            [
                Value::I32(Some(n)),
                Value::Text(None),
                Value::I64(Some(n.into()))
            ]
        );
        let delete = User::filter(q!(name__contains = "%"))
            .delete_bound()
            .unwrap()
            .unwrap();
        assert_eq!(
            delete.sql,
            r#"DELETE FROM "users" WHERE "users"."name" LIKE $1"#
        );
        assert_eq!(delete.binds[..], [text(r"%\%%")]);
        if n == 2 {
            for sql in [&count.sql, &exists.sql, &update.sql, &delete.sql] {
                assert!(
                    matches!(sql, std::borrow::Cow::Borrowed(_)),
                    "{sql} was rendered again"
                );
            }
        }
    }
    // Errors are still reported by rendering.
    let sliced = User::all().limit(1).update_bound(q!(karma = 0));
    assert!(matches!(sliced, Err(crate::Error::InvalidQuery(_))));
}
