//! Hostile input: paths, limits, names and NULs given at run time.

use super::*;

/// A category tree: a foreign key to itself makes paths of any depth.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "cats", crate = "crate")]
struct Cat {
    #[orm(primary_key)]
    id: i64,
    name: String,
    #[orm(on_delete = "set_null")]
    parent: Option<crate::ForeignKey<Cat>>,
}

/// `parent__parent__..` crossing `n` relations, then `tail` (if any).
fn parents(n: usize, tail: &str) -> String {
    let mut path = vec!["parent"; n].join("__");
    if !tail.is_empty() {
        path.push_str("__");
        path.push_str(tail);
    }
    path
}

/// The error of planning `qs` (it must fail).
fn plan_error<M: Model>(qs: QuerySet<M>) -> crate::Error {
    match qs.plan() {
        Ok(_) => panic!("planned"),
        Err(e) => e,
    }
}

fn lookup_error(err: crate::Error) -> (&'static str, &'static str, String, Vec<String>) {
    match err {
        crate::Error::InvalidLookup(e) => (e.model, e.what, e.name, e.valid),
        other => panic!("not InvalidLookup: {other:?}"),
    }
}

#[test]
fn a_huge_prefetch_path_is_refused_when_planned_before_any_prefix() {
    let huge = "name__".repeat(100_000);
    let (model, what, name, valid) = lookup_error(plan_error(Post::all().prefetch_related([huge])));
    assert_eq!((model, what), ("Post", "prefetch_related relation"));
    assert_eq!(
        name,
        format!(
            "{}… (600000 bytes) (longer than 1024 bytes)",
            &"name__".repeat(11)[..64]
        )
    );
    assert_eq!(valid, ["author", "tags"]);
    // A short path is resolved segment by segment: the unknown one is named.
    let (model, _, name, valid) =
        lookup_error(plan_error(Post::all().prefetch_related(["author__nope"])));
    assert_eq!((model, name.as_str()), ("User", "nope"));
    assert!(valid.is_empty(), "User has no relation: {valid:?}");
}

#[test]
fn paths_cross_at_most_sixteen_relations() {
    // 16 relations: fine everywhere.
    let sixteen = parents(16, "");
    let stmt = Cat::all()
        .select_related([sixteen.clone()])
        .sql()
        .expect("renders")
        .expect("sends a query");
    // Named by path while PostgreSQL keeps the whole name, then by place.
    let seven = parents(7, "");
    assert!(
        stmt.sql.contains(&format!(
            r#" LEFT JOIN "cats" AS "sr_{seven}" ON "sr_{seven}"."id" = "sr_{}"."parent_id" LEFT JOIN "cats" AS "sr_7" ON "sr_7"."id" = "sr_{seven}"."parent_id" "#,
            parents(6, "")
        )),
        "{}",
        stmt.sql
    );
    assert!(
        stmt.sql
            .ends_with(r#" LEFT JOIN "cats" AS "sr_15" ON "sr_15"."id" = "sr_14"."parent_id""#),
        "{}",
        stmt.sql
    );
    assert!(Cat::all()
        .prefetch_related([sixteen.clone()])
        .plan()
        .is_ok());
    assert!(Count(&parents(16, "id")).resolve(Cat::META).is_ok());
    assert!(F(&parents(16, "name")).check(Cat::META, None).is_ok());
    // 17: refused, naming the relation past the limit.
    let seventeen = parents(17, "");
    let too_deep = |err| {
        let (model, _, name, valid) = lookup_error(err);
        assert_eq!(model, "Cat");
        assert_eq!(name, "parent (past 16 relations)");
        assert_eq!(valid, ["paths of at most 16 relations"]);
    };
    too_deep(
        Cat::all()
            .select_related([seventeen.clone()])
            .sql()
            .unwrap_err(),
    );
    too_deep(plan_error(Cat::all().prefetch_related([seventeen])));
    too_deep(
        Count(&parents(17, "id"))
            .resolve(Cat::META)
            .expect_err("refused"),
    );
    too_deep(F(&parents(17, "name")).check(Cat::META, None).unwrap_err());
}

#[test]
fn every_runtime_name_is_refused_at_once_past_1024_bytes() {
    let huge = "name__".repeat(100_000);
    let short = |err: crate::Error| {
        let text = err.to_string();
        assert!(text.contains("(600000 bytes)"), "{text}");
        assert!(
            text.len() < 400,
            "the message is short: {} bytes",
            text.len()
        );
    };
    short(Lookup::parse::<Cat>(&huge, "x").unwrap_err());
    short(Cat::all().select_related([huge.clone()]).sql().unwrap_err());
    short(Count(&huge).resolve(Cat::META).expect_err("refused"));
    short(F(&huge).check(Cat::META, None).unwrap_err());
    short(crate::query::values::resolve_fields(Cat::META, &[&huge]).unwrap_err());
}

#[test]
fn lookup_policy_is_an_allow_list() {
    use crate::query::LookupPolicy;
    let policy = LookupPolicy::new()
        .allow("name", &["exact", "icontains"])
        .allow("karma", &["gte"]);
    let q = Lookup::parse_with::<User>(&policy, "name__icontains", "gem").unwrap();
    assert_eq!(
        where_of(q),
        (
            r#"UPPER("users"."name") LIKE UPPER($1)"#.into(),
            vec![text("%gem%")]
        )
    );
    let q = Lookup::parse_with::<User>(&policy, "name", "Ada").unwrap();
    assert_eq!(
        where_of(q),
        (r#""users"."name" = $1"#.into(), vec![text("Ada")])
    );
    // A field not listed: every allowed key is listed.
    let err = Lookup::parse_with::<User>(&policy, "email__isnull", "true").unwrap_err();
    assert_eq!(
        err.to_string(),
        "User has no filter `email__isnull`; valid filters: name, name__icontains, karma__gte"
    );
    // A listed field with another lookup: its allowed keys.
    let err = Lookup::parse_with::<User>(&policy, "name__regex", "a").unwrap_err();
    assert_eq!(
        err.to_string(),
        "User has no filter `name__regex`; valid filters: name, name__icontains"
    );
    let err = Lookup::value_with::<User>(&policy, "karma__lt", 3.into()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "User has no filter `karma__lt`; valid filters: karma__gte"
    );
    // `any()` allows what the model has.
    assert!(Lookup::parse_with::<User>(&LookupPolicy::any(), "email__isnull", "true").is_ok());
    assert!(Lookup::parse_with::<User>(&LookupPolicy::new(), "name", "x").is_err());
}

#[test]
fn runtime_values_are_limited() {
    use crate::query::LookupPolicy;
    let value_error = |err: crate::Error| match err {
        crate::Error::InvalidValue(e) => format!("{}.{}: {}", e.model, e.field, e.reason),
        other => panic!("not InvalidValue: {other:?}"),
    };
    // Characters, not bytes: 1,000 two-byte characters is the limit.
    assert!(Lookup::parse::<User>("name__regex", &"é".repeat(1_000)).is_ok());
    assert_eq!(
        value_error(Lookup::parse::<User>("name__iregex", &"é".repeat(1_001)).unwrap_err()),
        "User.name: `name__iregex`: the value is longer than 1000 characters"
    );
    assert!(Lookup::parse::<User>("name__contains", &"a".repeat(10_000)).is_ok());
    assert_eq!(
        value_error(Lookup::parse::<User>("name", &"a".repeat(10_001)).unwrap_err()),
        "User.name: `name`: the value is longer than 10000 characters"
    );
    let list = |n: usize| vec!["7"; n].join(",");
    assert!(Lookup::parse::<User>("karma__in", &list(1_000)).is_ok());
    assert_eq!(
        value_error(Lookup::parse::<User>("karma__in", &list(1_001)).unwrap_err()),
        "User.karma: `karma__in`: more than 1000 items in the list"
    );
    // Configured limits, for typed values too.
    let policy = LookupPolicy::any()
        .max_regex_len(3)
        .max_value_len(5)
        .max_in_items(2);
    assert!(Lookup::parse_with::<User>(&policy, "name__regex", "abc").is_ok());
    assert!(Lookup::parse_with::<User>(&policy, "name__regex", "abcd").is_err());
    assert!(Lookup::parse_with::<User>(&policy, "name__in", "abcde,x").is_ok());
    assert!(Lookup::parse_with::<User>(&policy, "name__in", "abcdef,x").is_err());
    assert!(Lookup::parse_with::<User>(&policy, "name__in", "a,b,c").is_err());
    let three = Value::Array(vec![Value::I32(Some(1)); 3]);
    assert_eq!(
        value_error(Lookup::value_with::<User>(&policy, "karma__in", three).unwrap_err()),
        "User.karma: `karma__in`: more than 2 items in the list"
    );
    assert!(Lookup::value_with::<User>(&policy, "name", text("abcdef")).is_err());
}

#[test]
fn aliases_are_identifiers_of_at_most_63_bytes() {
    let refused = |alias: &str| match Count("id").alias(alias).resolve(User::META) {
        Err(crate::Error::InvalidQuery(e)) => {
            assert_eq!(e.model, "User");
            e.reason
        }
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("`{alias:?}` accepted"),
    };
    assert_eq!(
        refused(""),
        "the alias \"\" is not a valid name: it is empty (a name is an identifier, \
         [A-Za-z_][A-Za-z0-9_]*, without `__`, of at most 63 bytes)"
    );
    assert!(refused("a\0b").starts_with(
        "the alias \"a\\0b\" is not a valid name: only ASCII letters, digits and `_` are allowed"
    ));
    assert!(refused(&"x".repeat(64)).contains("it is longer than 63 bytes"));
    assert!(refused("1st").contains("it starts with a digit"));
    assert!(refused("a b").contains("only ASCII"));
    assert!(refused("n\"x").contains("only ASCII"));
    assert!(refused("n__gte").contains("it contains `__`"));
    for fine in ["n", "_n", "total_2", &"x".repeat(63)] {
        assert!(
            Count("id").alias(fine).resolve(User::META).is_ok(),
            "{fine}"
        );
    }
    // The default name is Django's, `__` and all.
    assert_eq!(Count("id").name(), "id__count");
}

#[test]
fn lock_of_names_self_or_a_joined_path() {
    // A non-null key is an INNER JOIN (as Django's), whose rows lock.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "books", crate = "crate")]
    struct Book {
        #[orm(primary_key)]
        id: i64,
        author: crate::ForeignKey<User>,
    }
    let stmt = Book::select_for_update()
        .select_related(["author"])
        .lock_of(["self", "author"])
        .sql()
        .expect("renders")
        .expect("sends a query");
    assert_eq!(
        stmt.sql,
        format!(
            r#"SELECT "books"."id", "books"."author_id", {} FROM "books" INNER JOIN "users" AS "sr_author" ON "sr_author"."id" = "books"."author_id" FOR UPDATE OF "books", "sr_author""#,
            COLS.replace("\"users\".", "\"sr_author\".")
        )
    );
    // A nullable key is a LEFT JOIN: PostgreSQL cannot lock its NULL
    // side, so it is refused before anything is sent.
    let err = Post::select_for_update()
        .select_related(["author"])
        .lock_of(["self", "author"])
        .sql()
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot lock `author`"), "{err}");
    let stmt = Post::select_for_update()
        .select_related(["author"])
        .lock_of(["self"])
        .sql()
        .expect("renders")
        .expect("sends a query");
    assert!(stmt.sql.contains(" LEFT JOIN "), "{}", stmt.sql);
    assert!(
        stmt.sql.ends_with(r#" FOR UPDATE OF "posts""#),
        "{}",
        stmt.sql
    );
    for bad in ["", "a\0", "users", "tags", "sr_author", "author\""] {
        let err = Post::select_for_update()
            .select_related(["author"])
            .lock_of([bad])
            .sql()
            .unwrap_err();
        let (model, what, name, valid) = lookup_error(err);
        assert_eq!((model, what, name.as_str()), ("Post", "lock_of table", bad));
        assert_eq!(valid, ["self", "author"]);
    }
    // Without joins only `self`, also when planned to run.
    let err = plan_error(User::select_for_update().lock_of(["posts"]));
    assert_eq!(
        err.to_string(),
        "User has no lock_of table `posts`; valid lock_of tables: self"
    );
}

#[test]
fn a_nul_in_a_text_value_is_refused_naming_model_and_field() {
    let nul = |err: crate::Error| match err {
        crate::Error::InvalidValue(e) => {
            let (model, field, reason) = (e.model, e.field, e.reason);
            assert!(reason.ends_with("A string literal cannot contain NUL (0x00) characters."));
            format!("{model}.{field}")
        }
        other => panic!("not InvalidValue: {other:?}"),
    };
    let render = |q: Q<User>| User::filter(q).sql().unwrap_err();
    assert_eq!(nul(render(q!(name = "a\0b").into_q())), "User.name");
    assert_eq!(
        nul(render(q!(karma = 1) | q!(email__icontains = "\0"))),
        "User.email"
    );
    assert_eq!(nul(render(!q!(name__in = ["ok", "a\0"]))), "User.name");
    assert_eq!(nul(render(q!(name__regex = "\0"))), "User.name");
    // Across a relation: the related model's field.
    let err = Post::filter(q!(author__name__startswith = "\0"))
        .sql()
        .unwrap_err();
    assert_eq!(nul(err), "User.name");
    // In an `__in` subquery.
    let sub = User::filter(q!(name = "\0")).values("id");
    assert_eq!(
        nul(Post::filter(q!(author__in = sub)).sql().unwrap_err()),
        "User.name"
    );
    // Runtime lookups, at once.
    assert_eq!(
        nul(Lookup::parse::<User>("name", "a\0b").unwrap_err()),
        "User.name"
    );
    assert_eq!(
        nul(Lookup::value::<User>("email__in", Value::Array(vec![text("\0")])).unwrap_err()),
        "User.email"
    );
    // The fast get, an update and a delete by key, and a kept text.
    let get = User::all().get_plan_of(q!(name = "a\0b"));
    assert_eq!(nul(get.err().expect("refused")), "User.name");
    let update = User::filter(q!(id = 1)).update_bound(q!(name = "a\0b"));
    assert_eq!(nul(update.unwrap_err()), "User.name");
    let update = User::filter(q!(name = "\0")).update_bound(q!(karma = 1));
    assert_eq!(nul(update.unwrap_err()), "User.name");
    let delete = User::filter(q!(email = "\0")).delete_bound();
    assert_eq!(nul(delete.unwrap_err()), "User.email");
    for _ in 0..2 {
        // The second takes the text kept by the first (a valid one).
        assert!(User::filter(q!(karma = 3, email = "ok")).plan().is_ok());
    }
    let kept = User::filter(q!(karma = 3, email = "a\0")).plan();
    assert_eq!(nul(kept.err().expect("refused")), "User.email");
    // Text without a NUL, and other types holding 0 bytes, pass.
    assert!(User::filter(q!(name = "a\u{1}b", karma = 0)).sql().is_ok());
}

#[test]
fn a_nul_byte_is_found_at_any_place_of_any_length() {
    use crate::value::has_nul_byte;
    for len in 0..40 {
        // Bytes 0x80 and 0x01 are the edges of the word test.
        for fill in [b'a', 0x80, 0x01, 0xff] {
            let clean = vec![fill; len];
            assert!(!has_nul_byte(&clean), "{len} x {fill:#x}");
            for at in 0..len {
                let mut dirty = clean.clone();
                dirty[at] = 0;
                assert!(has_nul_byte(&dirty), "{len} x {fill:#x}, NUL at {at}");
            }
        }
    }
}

#[test]
fn a_nul_is_never_encoded_as_text() {
    use postgres_types::{ToSql, Type};
    let mut out = bytes::BytesMut::new();
    let err = text("a\0b")
        .to_sql(&Type::TEXT, &mut out)
        .err()
        .expect("refused");
    assert_eq!(
        err.to_string(),
        "A string literal cannot contain NUL (0x00) characters."
    );
    let err = Value::Array(vec![text("ok"), text("\0")])
        .to_sql(&Type::TEXT_ARRAY, &mut out)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("NUL"), "{err}");
    out.clear();
    assert!(text("ab").to_sql(&Type::TEXT, &mut out).is_ok());
    assert_eq!(&out[..], b"ab");
}
