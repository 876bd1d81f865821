//! Exact SQL text and bind lists for every lookup and clause (no database).

use chrono::{DateTime, Utc};

use crate::prelude::*;
use crate::query::q::Node;
use crate::sql::statements::{self, Select};
use crate::sql::Statement;
use crate::Value;

mod aggregates;
mod composite;
mod compound;
mod cursor;
mod django_api;
mod functions;
mod hostile;
mod intervals;
mod json;
mod kept;
mod keyset;
mod pg_scalars;
mod pg_types;
mod prefetch;
mod ranges;
mod related_order;
mod search;
mod soft_delete;
mod tenant;
mod tenant_links;
mod transforms;

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

/// The `SELECT` of `qs.aggregate(aggs)`.
fn aggregate_sql<M: Model>(qs: QuerySet<M>, aggs: &[crate::query::Aggregate]) -> Statement {
    let items: Vec<_> = aggs
        .iter()
        .map(|a| a.resolve(M::META))
        .collect::<crate::Result<_>>()
        .expect("resolves");
    qs.with_select_joined(&[], |s| crate::sql::aggregate::aggregate(s, &items))
        .expect("renders")
        .expect("sends a query")
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
        paths: &[],
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
        crate::sql::writes::insert(meta, false),
        r#"INSERT INTO "users" ("name", "email", "karma", "created_at") VALUES ($1, $2, $3, $4) RETURNING "id", "created_at""#
    );
    assert_eq!(
        crate::sql::writes::insert(meta, true),
        r#"INSERT INTO "users" ("id", "name", "email", "karma", "created_at") VALUES ($1, $2, $3, $4, $5) RETURNING "created_at""#
    );
    assert_eq!(
        crate::sql::writes::update_by_pk(meta),
        r#"UPDATE "users" SET "name" = $1, "email" = $2, "karma" = $3, "created_at" = $4 WHERE "id" = $5"#
    );
    assert_eq!(
        crate::sql::writes::delete_by_pk(meta),
        r#"DELETE FROM "users" WHERE "id" = $1"#
    );
    assert_eq!(
        crate::sql::writes::bulk_insert(meta, false),
        r#"INSERT INTO "users" ("name", "email", "karma", "created_at") SELECT * FROM UNNEST($1::varchar(30)[], $2::text[], $3::integer[], $4::timestamptz[]) RETURNING "id""#
    );
    assert_eq!(
        crate::sql::writes::bulk_insert(meta, true),
        r#"INSERT INTO "users" ("id", "name", "email", "karma", "created_at") SELECT * FROM UNNEST($1::bigint[], $2::varchar(30)[], $3::text[], $4::integer[], $5::timestamptz[])"#
    );
    assert_eq!(
        crate::sql::writes::copy_in(meta, false),
        (
            r#"COPY "users" ("name", "email", "karma", "created_at") FROM STDIN (FORMAT binary)"#
                .to_owned(),
            r#"SELECT "name", "email", "karma", "created_at" FROM "users" LIMIT 0"#.to_owned()
        )
    );
    assert_eq!(
        crate::sql::writes::copy_in(meta, true).0,
        r#"COPY "users" ("id", "name", "email", "karma", "created_at") FROM STDIN (FORMAT binary)"#
    );
}

#[test]
fn identifiers_are_always_quoted() {
    let meta = <Weird as Model>::META;
    assert_eq!(
        crate::sql::writes::insert(meta, false),
        r#"INSERT INTO "we""ird" DEFAULT VALUES RETURNING "the ""id""""#
    );
    assert_eq!(
        crate::sql::writes::bulk_insert(meta, false),
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
            r#"CREATE TABLE IF NOT EXISTS "users" ("id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL, "name" varchar(30) NOT NULL, "email" text NULL, "karma" integer NOT NULL DEFAULT 0, "created_at" timestamptz NOT NULL, CONSTRAINT "users_pkey" PRIMARY KEY ("id"), CONSTRAINT "users_name_key" UNIQUE ("name"))"#.to_owned(),
            r#"CREATE INDEX IF NOT EXISTS "users_karma_idx" ON "users" ("karma")"#.to_owned(),
        ]
    );
}

#[test]
fn statements_on_a_table_no_model_describes() {
    assert_eq!(
        crate::sql::writes::select_table(
            "orm_migrations",
            &["name", "checksum"],
            &["applied_at", "name"]
        ),
        r#"SELECT "name", "checksum" FROM "orm_migrations" ORDER BY "applied_at", "name""#
    );
    assert_eq!(
        crate::sql::writes::insert_into_table("we\"ird", &["name", "checksum"]),
        r#"INSERT INTO "we""ird" ("name", "checksum") VALUES ($1, $2)"#
    );
    assert_eq!(
        crate::sql::writes::delete_from_table("orm_migrations", "name"),
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
        crate::sql::writes::insert(posts, false),
        r#"INSERT INTO "posts" ("author_id") VALUES ($1) RETURNING "id""#
    );
    assert_eq!(
        crate::sql::writes::insert(posts, true),
        r#"INSERT INTO "posts" ("id", "author_id") VALUES ($1, $2)"#,
        "nothing generated: nothing read back"
    );
    let returned = |meta, with_pk| {
        crate::sql::writes::returned_fields(meta, with_pk)
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
            r#"CREATE TABLE IF NOT EXISTS "posts" ("id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL, "author_id" bigint NULL, CONSTRAINT "posts_pkey" PRIMARY KEY ("id"), CONSTRAINT "posts_author_id_fkey" FOREIGN KEY ("author_id") REFERENCES "users" ("id") ON DELETE SET NULL)"#.to_owned(),
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
        &r#"CREATE TABLE IF NOT EXISTS "posts_tags" ("post_id" bigint NOT NULL, "weird_id" integer NOT NULL, CONSTRAINT "posts_tags_pkey" PRIMARY KEY ("post_id", "weird_id"), CONSTRAINT "posts_tags_post_id_fkey" FOREIGN KEY ("post_id") REFERENCES "posts" ("id") ON DELETE CASCADE, CONSTRAINT "posts_tags_weird_id_fkey" FOREIGN KEY ("weird_id") REFERENCES "we""ird" ("the ""id""") ON DELETE CASCADE)"#.to_owned()
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
    let stmt = aggregate_sql(
        Post::filter(q!(id__gt = 1)),
        &[Sum("author__karma"), Count("*"), Count("tags")],
    );
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
