//! Exact SQL text and bind lists for every lookup and clause (no database).

use chrono::{DateTime, Utc};

use crate::prelude::*;
use crate::query::q::Node;
use crate::sql::statements::{self, Select};
use crate::sql::Statement;
use crate::Value;

#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "users", crate = "crate")]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(max_length = 30, unique)]
    name: String,
    email: Option<String>,
    #[orm(default = 0, index)]
    karma: i32,
    #[orm(auto_now_add)]
    created_at: DateTime<Utc>,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "we\"ird", crate = "crate")]
struct Weird {
    #[orm(primary_key, column = "the \"id\"")]
    id: i32,
}

const COLS: &str =
    r#""users"."id", "users"."name", "users"."email", "users"."karma", "users"."created_at""#;

fn select(qs: QuerySet<User>) -> Statement {
    qs.sql().expect("renders").expect("sends a query")
}

/// The WHERE clause and binds of `User::filter(q)`.
fn where_of(q: impl IntoQ<User>) -> (String, Vec<Value>) {
    let stmt = select(User::filter(q));
    let prefix = format!(r#"SELECT {COLS} FROM "users" WHERE "#);
    let sql = stmt
        .sql
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("unexpected SQL: {}", stmt.sql))
        .to_owned();
    (sql, stmt.binds)
}

fn text(s: &str) -> Value {
    Value::Text(Some(s.to_owned()))
}

#[test]
fn select_all_has_no_where() {
    let stmt = select(User::all());
    assert_eq!(stmt.sql, format!(r#"SELECT {COLS} FROM "users""#));
    assert!(stmt.binds.is_empty());
}

#[test]
fn exact_and_null() {
    assert_eq!(
        where_of(q!(name = "Ada")),
        (r#""users"."name" = $1"#.into(), vec![text("Ada")])
    );
    assert_eq!(
        where_of(q!(name__exact = "Ada")),
        (r#""users"."name" = $1"#.into(), vec![text("Ada")])
    );
    assert_eq!(
        where_of(q!(email = None)),
        (r#""users"."email" IS NULL"#.into(), vec![])
    );
    assert_eq!(
        where_of(q!(email__iexact = None)),
        (r#""users"."email" IS NULL"#.into(), vec![])
    );
    let none: Option<&str> = None;
    assert_eq!(
        where_of(q!(email = none)),
        (r#""users"."email" IS NULL"#.into(), vec![])
    );
    assert_eq!(
        where_of(q!(pk = 7)),
        (r#""users"."id" = $1"#.into(), vec![Value::I64(Some(7))])
    );
}

#[test]
fn text_lookups_escape_like_patterns() {
    let cases: Vec<(Q<User>, &str, &str)> = vec![
        (
            q!(name__contains = "50%_a\\b"),
            r#""users"."name" LIKE $1"#,
            "%50\\%\\_a\\\\b%",
        ),
        (
            q!(name__icontains = "gem"),
            r#"UPPER("users"."name") LIKE UPPER($1)"#,
            "%gem%",
        ),
        (
            q!(name__startswith = "A_"),
            r#""users"."name" LIKE $1"#,
            "A\\_%",
        ),
        (
            q!(name__istartswith = "a"),
            r#"UPPER("users"."name") LIKE UPPER($1)"#,
            "a%",
        ),
        (
            q!(name__endswith = "%"),
            r#""users"."name" LIKE $1"#,
            "%\\%",
        ),
        (
            q!(name__iendswith = "z"),
            r#"UPPER("users"."name") LIKE UPPER($1)"#,
            "%z",
        ),
        (
            q!(name__iexact = "ada"),
            r#"UPPER("users"."name") = UPPER($1)"#,
            "ada",
        ),
        (
            q!(name__regex = r"^\y[a-z]+"),
            r#""users"."name" ~ $1"#,
            r"^\y[a-z]+",
        ),
        (q!(name__iregex = "^a"), r#""users"."name" ~* $1"#, "^a"),
        (
            q!(email__contains = "@"),
            r#""users"."email" LIKE $1"#,
            "%@%",
        ),
    ];
    for (q, sql, bind) in cases {
        assert_eq!(where_of(q), (sql.to_owned(), vec![text(bind)]));
    }
}

#[test]
fn comparisons_range_in_isnull() {
    let i = |v| Value::I32(Some(v));
    assert_eq!(
        where_of(q!(karma__gt = 1)),
        (r#""users"."karma" > $1"#.into(), vec![i(1)])
    );
    assert_eq!(
        where_of(q!(karma__gte = 1)),
        (r#""users"."karma" >= $1"#.into(), vec![i(1)])
    );
    assert_eq!(
        where_of(q!(karma__lt = 1)),
        (r#""users"."karma" < $1"#.into(), vec![i(1)])
    );
    assert_eq!(
        where_of(q!(karma__lte = 1)),
        (r#""users"."karma" <= $1"#.into(), vec![i(1)])
    );
    assert_eq!(
        where_of(q!(karma__range = (1, 5))),
        (
            r#""users"."karma" BETWEEN $1 AND $2"#.into(),
            vec![i(1), i(5)]
        )
    );
    assert_eq!(
        where_of(q!(karma__in = [1, 2, 3])),
        (
            r#""users"."karma" = ANY($1)"#.into(),
            vec![Value::Array(vec![i(1), i(2), i(3)])]
        )
    );
    assert_eq!(
        where_of(q!(email__isnull = true)),
        (r#""users"."email" IS NULL"#.into(), vec![])
    );
    assert_eq!(
        where_of(q!(email__isnull = false)),
        (r#""users"."email" IS NOT NULL"#.into(), vec![])
    );
}

#[test]
fn in_drops_nulls_and_empty_in_sends_nothing() {
    assert_eq!(
        where_of(q!(email__in = [Some("a"), None])),
        (
            r#""users"."email" = ANY($1)"#.into(),
            vec![Value::Array(vec![text("a")])]
        )
    );
    let empty: Vec<i32> = vec![];
    assert_eq!(
        User::filter(q!(karma__in = empty.clone())).sql().unwrap(),
        None
    );
    assert_eq!(
        User::filter(q!(email__in = [None::<&str>])).sql().unwrap(),
        None
    );
    // OR with an empty `in` keeps the other side; NOT of it matches everything.
    assert_eq!(
        where_of(q!(karma__in = empty.clone()) | q!(name = "a")),
        (r#""users"."name" = $1"#.into(), vec![text("a")])
    );
    assert_eq!(
        select(User::exclude(q!(karma__in = empty))).sql,
        format!(r#"SELECT {COLS} FROM "users""#)
    );
}

#[test]
fn comma_means_and_and_operators_nest() {
    assert_eq!(
        where_of(q!(name__icontains = "gem", karma__gte = 10)),
        (
            r#"UPPER("users"."name") LIKE UPPER($1) AND "users"."karma" >= $2"#.into(),
            vec![text("%gem%"), Value::I32(Some(10))]
        )
    );
    assert_eq!(
        where_of((q!(karma = 1) | q!(karma = 2)) & q!(name = "x")).0,
        r#"("users"."karma" = $1 OR "users"."karma" = $2) AND "users"."name" = $3"#
    );
    assert_eq!(
        where_of(q!(karma = 1) | (q!(karma = 2) & q!(name = "x"))).0,
        r#""users"."karma" = $1 OR ("users"."karma" = $2 AND "users"."name" = $3)"#
    );
    // Chained filters AND together.
    let stmt = select(User::filter(q!(karma = 1)).filter(q!(name = "x")));
    assert!(stmt
        .sql
        .ends_with(r#"WHERE "users"."karma" = $1 AND "users"."name" = $2"#));
}

#[test]
fn exclude_keeps_nulls_like_django() {
    // Nullable column: the NULL rows must survive the negation.
    assert_eq!(
        select(User::exclude(q!(email = "a@b"))).sql,
        format!(
            r#"SELECT {COLS} FROM "users" WHERE NOT ("users"."email" = $1 AND "users"."email" IS NOT NULL)"#
        )
    );
    // NOT NULL column: no guard needed.
    assert_eq!(where_of(!q!(karma = 1)).0, r#"NOT ("users"."karma" = $1)"#);
    // isnull is two-valued already.
    assert_eq!(
        where_of(!q!(email__isnull = true)).0,
        r#"NOT ("users"."email" IS NULL)"#
    );
    // Double negation is the plain condition again.
    assert_eq!(
        where_of(!!q!(email = "a")).0,
        r#"NOT (NOT ("users"."email" = $1))"#
    );
    // exclude(a, b) excludes rows matching a AND b.
    assert_eq!(
        select(User::exclude(q!(email = "a", karma = 1))).sql,
        format!(
            r#"SELECT {COLS} FROM "users" WHERE NOT (("users"."email" = $1 AND "users"."email" IS NOT NULL) AND "users"."karma" = $2)"#
        )
    );
}

#[test]
fn order_limit_offset_distinct() {
    let stmt = select(
        User::all()
            .order_by(["-karma", "name"])
            .limit(10)
            .offset(20)
            .distinct(),
    );
    assert_eq!(
        stmt.sql,
        format!(
            r#"SELECT DISTINCT {COLS} FROM "users" ORDER BY "users"."karma" DESC, "users"."name" ASC LIMIT 10 OFFSET $1"#
        )
    );
    // The limit is a literal (a generic plan needs it); the offset is bound.
    assert_eq!(stmt.binds, vec![Value::I64(Some(20))]);
    let f = User::fields();
    let typed = select(User::all().order_by([f.karma.desc(), f.name.asc()]));
    assert!(typed
        .sql
        .ends_with(r#"ORDER BY "users"."karma" DESC, "users"."name" ASC"#));
    assert_eq!(User::all().limit(0).sql().unwrap(), None);
    let pk = select(User::all().order_by(["pk"]));
    assert!(pk.sql.ends_with(r#"ORDER BY "users"."id" ASC"#));
}

#[test]
fn unknown_order_field_names_model_and_fields() {
    let err = User::all().order_by(["-nmae"]).sql().unwrap_err();
    assert_eq!(
        err.to_string(),
        "User has no field `nmae`; valid fields: id, name, email, karma, created_at"
    );
}

#[test]
fn same_shape_same_text() {
    let a = select(User::filter(q!(karma__in = [1, 2])).offset(5));
    let b = select(User::filter(q!(karma__in = [7, 8, 9, 10])).offset(50));
    assert_eq!(a.sql, b.sql);
    assert_ne!(a.binds, b.binds);
}

#[test]
fn typed_form_matches_q_macro() {
    let f = User::fields();
    assert_eq!(
        User::filter(f.name.icontains("gem") & f.karma.gte(10))
            .sql()
            .unwrap(),
        User::filter(q!(name__icontains = "gem", karma__gte = 10))
            .sql()
            .unwrap()
    );
    assert_eq!(
        User::filter(f.email.is_null(true)).sql().unwrap(),
        User::filter(q!(email = None)).sql().unwrap()
    );
}

fn parts(qs_filter: Node) -> Node {
    qs_filter.simplify()
}

#[test]
fn count_exists_update_delete() {
    let q: Q<User> = q!(karma__gte = 1);
    let filter = parts(q.node);
    let s = Select {
        meta: <User as Model>::META,
        statements: <User as Model>::statements(),
        filter: &filter,
        order: &[],
        limit: None,
        offset: None,
        distinct: false,
        joins: &[],
        lock: None,
        columns: None,
        distinct_on: &[],
    };
    let count = statements::count(&s);
    assert_eq!(
        count.sql,
        r#"SELECT COUNT(*) FROM "users" WHERE "users"."karma" >= $1"#
    );
    assert_eq!(count.binds[..], [Value::I32(Some(1))]);
    let sliced = statements::count(&Select {
        limit: Some(3),
        ..s
    });
    assert_eq!(
        sliced.sql,
        format!(
            r#"SELECT COUNT(*) FROM (SELECT {COLS} FROM "users" WHERE "users"."karma" >= $1 LIMIT 3) AS "subquery""#
        )
    );
    assert_eq!(
        statements::exists(&s).sql,
        r#"SELECT 1 FROM "users" WHERE "users"."karma" >= $1 LIMIT 1"#
    );
    let set: Assign<User> = q!(karma = 0, email = None);
    let update = statements::update(<User as Model>::META, &filter, &set.items);
    assert_eq!(
        update.sql,
        r#"UPDATE "users" SET "karma" = $1, "email" = $2 WHERE "users"."karma" >= $3"#
    );
    assert_eq!(
        update.binds,
        vec![Value::I32(Some(0)), Value::Text(None), Value::I32(Some(1))]
    );
    assert_eq!(
        statements::delete(<User as Model>::META, &filter).sql,
        r#"DELETE FROM "users" WHERE "users"."karma" >= $1"#
    );
    assert_eq!(
        statements::delete(<User as Model>::META, &Node::All).sql,
        r#"DELETE FROM "users""#
    );
}

#[test]
fn assignments_later_wins() {
    let set: Assign<User> = q!(karma = 1) & q!(karma = 2);
    assert_eq!(set.items.len(), 1);
    assert_eq!(set.items[0].value, Value::I32(Some(2)));
}

#[test]
fn instance_writes() {
    let meta = <User as Model>::META;
    assert_eq!(
        statements::insert(meta, false),
        r#"INSERT INTO "users" ("name", "email", "karma", "created_at") VALUES ($1, $2, $3, $4) RETURNING "id", "created_at""#
    );
    assert_eq!(
        statements::insert(meta, true),
        r#"INSERT INTO "users" ("id", "name", "email", "karma", "created_at") VALUES ($1, $2, $3, $4, $5) RETURNING "created_at""#
    );
    assert_eq!(
        statements::update_by_pk(meta),
        r#"UPDATE "users" SET "name" = $1, "email" = $2, "karma" = $3, "created_at" = $4 WHERE "id" = $5"#
    );
    assert_eq!(
        statements::delete_by_pk(meta),
        r#"DELETE FROM "users" WHERE "id" = $1"#
    );
    assert_eq!(
        statements::bulk_insert(meta, false),
        r#"INSERT INTO "users" ("name", "email", "karma", "created_at") SELECT * FROM UNNEST($1::varchar(30)[], $2::text[], $3::integer[], $4::timestamptz[]) RETURNING "id""#
    );
    assert_eq!(
        statements::bulk_insert(meta, true),
        r#"INSERT INTO "users" ("id", "name", "email", "karma", "created_at") SELECT * FROM UNNEST($1::bigint[], $2::varchar(30)[], $3::text[], $4::integer[], $5::timestamptz[])"#
    );
    assert_eq!(
        statements::copy_in(meta, false),
        (
            r#"COPY "users" ("name", "email", "karma", "created_at") FROM STDIN (FORMAT binary)"#
                .to_owned(),
            r#"SELECT "name", "email", "karma", "created_at" FROM "users" LIMIT 0"#.to_owned()
        )
    );
    assert_eq!(
        statements::copy_in(meta, true).0,
        r#"COPY "users" ("id", "name", "email", "karma", "created_at") FROM STDIN (FORMAT binary)"#
    );
}

#[test]
fn identifiers_are_always_quoted() {
    let meta = <Weird as Model>::META;
    assert_eq!(
        statements::insert(meta, false),
        r#"INSERT INTO "we""ird" DEFAULT VALUES RETURNING "the ""id""""#
    );
    assert_eq!(
        statements::bulk_insert(meta, false),
        r#"INSERT INTO "we""ird" SELECT FROM generate_series(1, $1::int8) RETURNING "the ""id""""#,
        "no column to insert: rows of defaults, counted by $1"
    );
    assert_eq!(
        Weird::filter(q!(id = 1)).sql().unwrap().unwrap().sql,
        r#"SELECT "we""ird"."the ""id""" FROM "we""ird" WHERE "we""ird"."the ""id""" = $1"#
    );
}

#[test]
fn schema_ddl() {
    let ddl = crate::schema::create_table_sql(<User as Model>::META).unwrap();
    assert_eq!(
        ddl,
        vec![
            r#"CREATE TABLE IF NOT EXISTS "users" ("id" bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "name" varchar(30) NOT NULL UNIQUE, "email" text NULL, "karma" integer NOT NULL DEFAULT 0, "created_at" timestamptz NOT NULL)"#.to_owned(),
            r#"CREATE INDEX IF NOT EXISTS "users_karma_idx" ON "users" ("karma")"#.to_owned(),
        ]
    );
}

#[test]
fn statements_on_a_table_no_model_describes() {
    assert_eq!(
        statements::select_table(
            "orm_migrations",
            &["name", "checksum"],
            &["applied_at", "name"]
        ),
        r#"SELECT "name", "checksum" FROM "orm_migrations" ORDER BY "applied_at", "name""#
    );
    assert_eq!(
        statements::insert_into_table("we\"ird", &["name", "checksum"]),
        r#"INSERT INTO "we""ird" ("name", "checksum") VALUES ($1, $2)"#
    );
    assert_eq!(
        statements::delete_from_table("orm_migrations", "name"),
        r#"DELETE FROM "orm_migrations" WHERE "name" = $1"#
    );
}

#[test]
fn display_form_shows_binds() {
    let stmt = select(User::filter(q!(name = "O'Neil", email = None)));
    assert_eq!(
        stmt.to_string(),
        format!(
            r#"SELECT {COLS} FROM "users" WHERE "users"."name" = $1 AND "users"."email" IS NULL -- binds: ['O''Neil']"#
        )
    );
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "posts", crate = "crate")]
struct Post {
    #[orm(primary_key)]
    id: i64,
    #[orm(on_delete = "set_null")]
    author: Option<crate::ForeignKey<User>>,
    tags: crate::ManyToMany<Weird>,
}

#[test]
fn inserts_without_times_read_back_only_the_generated_key() {
    let posts = <Post as Model>::META;
    assert_eq!(
        statements::insert(posts, false),
        r#"INSERT INTO "posts" ("author_id") VALUES ($1) RETURNING "id""#
    );
    assert_eq!(
        statements::insert(posts, true),
        r#"INSERT INTO "posts" ("id", "author_id") VALUES ($1, $2)"#,
        "nothing generated: nothing read back"
    );
    let returned = |meta, with_pk| {
        statements::returned_fields(meta, with_pk)
            .map(|(_, f)| f.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(returned(posts, false), ["id"]);
    assert!(returned(posts, true).is_empty());
    let users = <User as Model>::META;
    assert_eq!(
        returned(users, true),
        ["created_at"],
        "a time PostgreSQL keeps to the microsecond"
    );
}

#[test]
fn foreign_keys_and_link_tables_in_ddl() {
    let posts = <Post as Model>::META;
    assert_eq!(
        crate::schema::create_table_sql(posts).unwrap(),
        vec![
            r#"CREATE TABLE IF NOT EXISTS "posts" ("id" bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "author_id" bigint NULL REFERENCES "users" ("id") ON DELETE SET NULL)"#.to_owned(),
            r#"CREATE INDEX IF NOT EXISTS "posts_author_id_idx" ON "posts" ("author_id")"#.to_owned(),
        ]
    );
    let all =
        crate::schema::schema_sql(&[posts, <User as Model>::META, <Weird as Model>::META]).unwrap();
    let users_at = all
        .iter()
        .position(|s| s.contains(r#"TABLE IF NOT EXISTS "users""#));
    let posts_at = all
        .iter()
        .position(|s| s.contains(r#"TABLE IF NOT EXISTS "posts""#));
    assert!(
        users_at < posts_at,
        "the target table comes first: {all:#?}"
    );
    assert!(all.contains(
        &r#"CREATE TABLE IF NOT EXISTS "posts_tags" ("post_id" bigint NOT NULL REFERENCES "posts" ("id") ON DELETE CASCADE, "weird_id" integer NOT NULL REFERENCES "we""ird" ("the ""id""") ON DELETE CASCADE, PRIMARY KEY ("post_id", "weird_id"))"#.to_owned()
    ), "{all:#?}");
}

#[test]
fn f_expressions_render_as_sql() {
    use crate::query::F;
    assert_eq!(
        where_of(q!(karma__gt = F("id") + 1)),
        (
            r#""users"."karma" > ("users"."id" + $1)"#.into(),
            vec![Value::I32(Some(1))]
        )
    );
    let set: Assign<User> = q!(karma = F("karma") * 2 - F("id"));
    let update = statements::update(<User as Model>::META, &Node::All, &set.items);
    assert_eq!(
        update.sql,
        r#"UPDATE "users" SET "karma" = (("users"."karma" * $1) - "users"."id")"#
    );
    assert_eq!(update.binds[..], [Value::I32(Some(2))]);
    assert_eq!(
        where_of(q!(karma = F("id"))).0,
        r#""users"."karma" = "users"."id""#
    );
}

#[test]
fn distinct_on_renders() {
    let stmt = select(
        User::all()
            .distinct_on(["karma"])
            .order_by(["karma", "-created_at"]),
    );
    assert_eq!(
        stmt.sql,
        format!(
            r#"SELECT DISTINCT ON ("users"."karma") {COLS} FROM "users" ORDER BY "users"."karma" ASC, "users"."created_at" DESC"#
        )
    );
}

#[test]
fn f_names_the_queried_row_across_relations() {
    use crate::query::F;
    let stmt = Post::filter(q!(author__karma__gt = F("id")))
        .sql()
        .expect("renders")
        .expect("sends a query");
    assert_eq!(
        stmt.sql,
        r#"SELECT "posts"."id", "posts"."author_id" FROM "posts" WHERE EXISTS (SELECT 1 FROM "users" AS "T1" WHERE "T1"."id" = "posts"."author_id" AND "T1"."karma" > "posts"."id")"#
    );
}

#[test]
fn lookups_across_a_joined_relation_filter_the_join() {
    use crate::query::F;
    const SELECT: &str = r#"SELECT "posts"."id", "posts"."author_id", "sr_author"."id", "sr_author"."name", "sr_author"."email", "sr_author"."karma", "sr_author"."created_at" FROM "posts" LEFT JOIN "users" AS "sr_author" ON "sr_author"."id" = "posts"."author_id""#;
    let sql = |qs: crate::QuerySet<Post>| {
        qs.select_related(["author"])
            .sql()
            .expect("renders")
            .expect("sends a query")
    };
    let stmt = sql(Post::filter(
        q!(author__karma__gt = 5, author__name = "x") | q!(author__karma__lt = F("id")),
    ));
    assert_eq!(
        stmt.sql,
        format!(
            r#"{SELECT} WHERE ("sr_author"."karma" > $1 AND "sr_author"."name" = $2) OR "sr_author"."karma" < "posts"."id""#
        )
    );
    assert_eq!(
        stmt.binds,
        [Value::I32(Some(5)), Value::Text(Some("x".into()))]
    );
    // Under NOT, and for isnull, the EXISTS stays (NULLs and missing rows
    // must be told apart there).
    assert_eq!(
        sql(Post::all().exclude(q!(author__karma = 5))).sql,
        format!(
            r#"{SELECT} WHERE NOT (EXISTS (SELECT 1 FROM "users" AS "T1" WHERE "T1"."id" = "posts"."author_id" AND "T1"."karma" = $1))"#
        )
    );
    assert_eq!(
        sql(Post::filter(q!(author__email__isnull = true))).sql,
        format!(
            r#"{SELECT} WHERE (NOT EXISTS (SELECT 1 FROM "users" AS "T1" WHERE "T1"."id" = "posts"."author_id") OR EXISTS (SELECT 1 FROM "users" AS "T1" WHERE "T1"."id" = "posts"."author_id" AND "T1"."email" IS NULL))"#
        )
    );
    // Without the join, the lookup is an EXISTS as before.
    assert_eq!(
        Post::filter(q!(author__karma = 5))
            .sql()
            .unwrap()
            .unwrap()
            .sql,
        r#"SELECT "posts"."id", "posts"."author_id" FROM "posts" WHERE EXISTS (SELECT 1 FROM "users" AS "T1" WHERE "T1"."id" = "posts"."author_id" AND "T1"."karma" = $1)"#
    );
}

#[test]
fn aggregates_across_relations_use_a_cte() {
    use crate::query::{Count, Sum};
    let aggs = [Sum("author__karma"), Count("*"), Count("tags")];
    let items: Vec<_> = aggs
        .iter()
        .map(|a| a.resolve(<Post as Model>::META))
        .collect::<crate::Result<_>>()
        .expect("resolves");
    let stmt = Post::filter(q!(id__gt = 1))
        .with_select_joined(&[], |s| statements::aggregate(s, &items))
        .expect("renders")
        .expect("sends a query");
    assert_eq!(
        stmt.sql,
        concat!(
            r#"WITH "orm_base" AS (SELECT "posts"."id", "posts"."author_id" FROM "posts" WHERE "posts"."id" > $1) SELECT "#,
            r#"(SELECT SUM("A1"."karma")::bigint FROM "orm_base" JOIN "users" AS "A1" ON "A1"."id" = "orm_base"."author_id") AS "author__karma__sum", "#,
            r#"(SELECT COUNT(*) FROM "orm_base") AS "*__count", "#,
            r#"(SELECT COUNT("A1"."the ""id""") FROM "orm_base" JOIN "posts_tags" AS "A1_link" ON "A1_link"."post_id" = "orm_base"."id" JOIN "we""ird" AS "A1" ON "A1"."the ""id""" = "A1_link"."weird_id") AS "tags__count""#
        )
    );
    assert_eq!(stmt.binds, vec![Value::I64(Some(1))]);
}

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
    use crate::model::{FieldMeta, ModelMeta};
    use crate::sql::shape::{Shape, CACHED_KEY_TEXTS};
    // A static of its own: no other test's shapes have its address.
    static META: ModelMeta = *User::META;
    let text = |field: &FieldMeta, limit: Option<i64>| format!("get {} {limit:?}", field.name);
    // Kept, then asked for again: the second time from this thread's cache.
    let id = &META.fields[0];
    let kept = |field, limit| Shape::get_text(&META, field, limit).ok();
    let Err(Some(shape)) = Shape::get_text(&META, id, None) else {
        panic!("kept before it was, or not a get's shape");
    };
    shape.remember(&text(id, None));
    assert_eq!(kept(id, None), Some(&*text(id, None)));
    let hits = CACHED_KEY_TEXTS.get();
    assert_eq!(kept(id, None), Some(&*text(id, None)));
    assert_eq!(CACHED_KEY_TEXTS.get(), hits + 1);
    // The same model and field in an update or a delete: other keys.
    assert!(matches!(Shape::delete_text(&META, id), Err(Some(_))));
    let set: crate::query::q::Assign<User> = q!(karma = 1);
    let set = set.items;
    assert!(matches!(
        Shape::update_text(&META, id, &set),
        Some(Err(Some(_)))
    ));
    // Another model's key with the same field is another key: `User::META`
    // is not at `META`'s address.
    assert_ne!(
        Shape::get_text(User::META, id, None).ok(),
        Some(&*text(id, None))
    );
    // Ten keys in eight slots: some share one, and replace each other.
    for pass in 0..3 {
        for field in META.fields {
            for limit in [None, Some(21)] {
                match Shape::get_text(&META, field, limit) {
                    Ok(sql) => {
                        let first = (field.name, limit) == (id.name, None);
                        assert!(pass > 0 || first, "{} kept before it was", field.name);
                        assert_eq!(sql, text(field, limit));
                    }
                    Err(shape) => {
                        assert_eq!(pass, 0, "{} {limit:?} was not kept", field.name);
                        shape.expect("a get's shape").remember(&text(field, limit));
                    }
                }
            }
        }
    }
}

#[test]
fn updates_and_deletes_by_one_value_take_their_text_by_key() {
    use crate::sql::shape::CACHED_KEY_TEXTS;
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
    // One more lookup and the shape is too long to keep: rendered each time.
    let longer = |n: i32, s: &str| query(n, s).filter(q!(karma__gt = 0));
    planned(longer(1, "a"));
    let (sql, binds, kept) = planned(longer(2, "b"));
    assert!(!kept);
    assert_eq!((sql, binds), {
        let stmt = select(longer(2, "b"));
        (stmt.sql, stmt.binds)
    });
}

#[test]
fn limits_and_lookups_are_part_of_the_shape() {
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
fn relations_expressions_and_locks_are_rendered_every_time() {
    let across = || Post::filter(q!(author__name = "a"));
    let f = || User::filter(q!(karma__gt = crate::query::F("id")));
    for _ in 0..2 {
        let plan = across().plan().unwrap().unwrap();
        assert!(matches!(plan.stmt.sql, std::borrow::Cow::Owned(_)));
        let plan = f().plan().unwrap().unwrap();
        assert!(matches!(plan.stmt.sql, std::borrow::Cow::Owned(_)));
        let plan = User::select_for_update().filter(q!(id = 1)).plan();
        let plan = plan.unwrap().unwrap();
        assert!(matches!(plan.stmt.sql, std::borrow::Cow::Owned(_)));
    }
    // Constants below the root are simplified away with their leaves'
    // values: such shapes are not kept (the second call would otherwise
    // send the first call's text with more values than placeholders).
    for _ in 0..2 {
        let (sql, binds, kept) = planned(User::filter(q!(karma = 1) | Q::all()).filter(q!(id = 2)));
        assert!(!kept);
        assert_eq!(
            sql,
            format!(r#"SELECT {COLS} FROM "users" WHERE "users"."id" = $1"#)
        );
        assert_eq!(binds, vec![Value::I64(Some(2))]);
        let (_, binds, kept) = planned(User::filter(!!Q::all()).filter(q!(id = 2)));
        assert!(!kept);
        assert_eq!(binds, vec![Value::I64(Some(2))]);
    }
    // A filter that matches nothing sends nothing, kept or not.
    let none: [i64; 0] = [];
    assert!(User::filter(q!(id__in = none)).plan().unwrap().is_none());
    assert!(User::filter(q!(id__in = none)).plan().unwrap().is_none());
}

#[test]
fn count_exists_update_and_delete_keep_their_shapes() {
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

/// An author with posts, the posts with tags: the pipelined prefetch.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "pf_authors", crate = "crate")]
struct PfAuthor {
    #[orm(primary_key)]
    id: i64,
    name: String,
    posts: Reverse<PfPost>,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "pf_posts", crate = "crate")]
struct PfPost {
    #[orm(primary_key)]
    id: i64,
    #[orm(related_name = "posts")]
    author: ForeignKey<PfAuthor>,
    title: String,
    #[orm(through = "pf_post_tags", related_name = "posts")]
    tags: ManyToMany<PfTag>,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "pf_tags", crate = "crate")]
struct PfTag {
    #[orm(primary_key)]
    id: i64,
    name: String,
    posts: Reverse<PfPost>,
}

/// The statements a pipelined prefetch of `qs` sends besides the query.
fn pipelined<M: Model>(qs: QuerySet<M>) -> Vec<(String, Vec<Value>)> {
    crate::query::related::pipelined_sql::<M>(&qs.filter.simplify(), &qs.prefetch)
        .expect("renders")
        .into_iter()
        .map(|s| (s.sql, s.binds))
        .collect()
}

#[test]
fn pipelined_prefetch_selects_the_parents_with_the_query_conditions() {
    let author_cond = r#""pf_authors"."name" = $1"#;
    let posts_of = format!(
        r#"FROM "pf_posts" WHERE "pf_posts"."author_id" IN (SELECT "pf_authors"."id" FROM "pf_authors" WHERE {author_cond})"#
    );
    let levels = pipelined(PfAuthor::filter(q!(name = "Ada")).prefetch_related_with(
        "posts__tags",
        PfTag::filter(q!(name__startswith = "r")).order_by(["-name"]),
    ));
    assert_eq!(
        levels,
        [
            (
                format!(
                    r#"SELECT "pf_posts"."id", "pf_posts"."author_id", "pf_posts"."title" {posts_of}"#
                ),
                vec![text("Ada")]
            ),
            (
                format!(
                    r#"SELECT "pf_tags"."id", "pf_tags"."name", "prefetch_link"."pf_post_id" FROM "pf_tags" JOIN "pf_post_tags" AS "prefetch_link" ON "prefetch_link"."pf_tag_id" = "pf_tags"."id" WHERE "prefetch_link"."pf_post_id" IN (SELECT "pf_posts"."id" {posts_of}) AND ("pf_tags"."name" LIKE $2) ORDER BY "pf_tags"."name" DESC"#
                ),
                vec![text("Ada"), text("r%")]
            ),
        ]
    );
    // Every author, so every post that has one, and every tag of those.
    assert_eq!(
        pipelined(PfAuthor::all().prefetch_related(["posts__tags"])),
        [
            (
                r#"SELECT "pf_posts"."id", "pf_posts"."author_id", "pf_posts"."title" FROM "pf_posts" WHERE "pf_posts"."author_id" IS NOT NULL"#.to_owned(),
                vec![]
            ),
            (
                r#"SELECT "pf_tags"."id", "pf_tags"."name", "prefetch_link"."pf_post_id" FROM "pf_tags" JOIN "pf_post_tags" AS "prefetch_link" ON "prefetch_link"."pf_tag_id" = "pf_tags"."id" WHERE "prefetch_link"."pf_post_id" IS NOT NULL"#.to_owned(),
                vec![]
            ),
        ]
    );
    // A forward key from every row: the keys of the whole table, no WHERE.
    assert_eq!(
        pipelined(PfPost::all().prefetch_related(["author"])),
        [(
            r#"SELECT "pf_authors"."id", "pf_authors"."name" FROM "pf_authors" WHERE "pf_authors"."id" IN (SELECT "pf_posts"."author_id" FROM "pf_posts")"#
                .to_owned(),
            vec![]
        )]
    );
}

// Hostile input: paths, limits, names and NULs given at run time.

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
            .err()
            .expect("refused"),
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
    short(Count(&huge).resolve(Cat::META).err().expect("refused"));
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
    let stmt = Post::select_for_update()
        .select_related(["author"])
        .lock_of(["self", "author"])
        .sql()
        .expect("renders")
        .expect("sends a query");
    assert!(
        stmt.sql.ends_with(r#" FOR UPDATE OF "posts", "sr_author""#),
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
