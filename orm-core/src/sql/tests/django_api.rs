//! The SQL of the Django QuerySet API's newer parts: negated conditions
//! across relations, `reverse()`, NULLs in orderings, query sets as `__in`
//! operands, `bulk_update`, conflicting bulk inserts, aggregates with
//! defaults and conditions, `dates()`.

use super::*;

#[test]
fn a_negated_condition_across_a_many_relation_gives_each_lookup_its_own_subquery() {
    // Django: `filter(~Q(a, b))` is `exclude(a, b)`, NOT (EXISTS (a) AND
    // EXISTS (b)); filter(a, b) keeps one subquery for one related row.
    let sql = |qs: QuerySet<Post>| qs.sql().expect("renders").expect("sends").sql;
    let cols = r#""posts"."id", "posts"."author_id""#;
    let exists = |cond: &str| {
        format!(
            r#"EXISTS (SELECT 1 FROM "posts_tags" AS "T1_link" JOIN "we""ird" AS "T1" ON "T1"."the ""id""" = "T1_link"."weird_id" WHERE "T1_link"."post_id" = "posts"."id" AND {cond})"#
        )
    };
    let (a, b) = (r#""T1"."the ""id""" > $1"#, r#""T1"."the ""id""" < $2"#);
    assert_eq!(
        sql(Post::filter(!q!(tags__id__gt = 1, tags__id__lt = 9))),
        format!(
            r#"SELECT {cols} FROM "posts" WHERE NOT ({} AND {})"#,
            exists(a),
            exists(b)
        )
    );
    assert_eq!(
        sql(Post::filter(q!(tags__id__gt = 1, tags__id__lt = 9))),
        format!(
            r#"SELECT {cols} FROM "posts" WHERE {}"#,
            exists(&format!("{a} AND {b}"))
        )
    );
}

#[test]
fn reverse_flips_the_ordering_whenever_it_is_given() {
    // Django's reverse(): each ordering term flips, also one given after
    // reverse() (standard_ordering), twice is the original, and a query
    // without ordering is not reordered.
    let sql = |qs: QuerySet<User>| select(qs).sql;
    let base = format!(r#"SELECT {COLS} FROM "users""#);
    assert_eq!(
        sql(User::all().order_by(["-karma", "name"]).reverse()),
        format!(r#"{base} ORDER BY "users"."karma" ASC, "users"."name" DESC"#)
    );
    assert_eq!(
        sql(User::all().reverse().order_by(["name"])),
        format!(r#"{base} ORDER BY "users"."name" DESC"#)
    );
    assert_eq!(
        sql(User::all().order_by(["name"]).reverse().reverse()),
        format!(r#"{base} ORDER BY "users"."name" ASC"#)
    );
    assert_eq!(sql(User::all().reverse()), base);
    // first()/last() on a reversed query: the primary key, flipped.
    let first = User::all().reverse().first_query();
    assert_eq!(
        sql(first),
        format!(r#"{base} ORDER BY "users"."id" DESC LIMIT 1"#)
    );
    // A sliced query cannot be reversed, as in Django.
    match User::all().limit(3).reverse().sql() {
        Err(crate::Error::InvalidQuery(e)) => {
            assert!(e.to_string().contains("cannot reverse"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bulk_update_sets_each_field_from_one_array_per_column() {
    let meta = <User as Model>::META;
    let fields = [meta.field("karma").unwrap(), meta.field("email").unwrap()];
    assert_eq!(
        crate::sql::writes::bulk_update(meta, &fields),
        r#"UPDATE "users" SET "karma" = "v"."k1", "email" = "v"."k2" FROM UNNEST($1::bigint[], $2::integer[], $3::text[]) AS "v"("k0", "k1", "k2") WHERE "users"."id" = "v"."k0""#
    );
}

#[test]
fn a_query_set_as_an_in_operand_selects_its_primary_keys() {
    // Django implies `pk` for `__in=<QuerySet>`.
    let (sql, binds) = where_of(q!(id__in = User::filter(q!(karma__gte = 10))));
    assert_eq!(
        sql,
        r#""users"."id" IN (SELECT "users"."id" FROM "users" WHERE "users"."karma" >= $1)"#
    );
    assert_eq!(binds, [Value::I32(Some(10))]);
    // The same as naming the key with values().
    assert_eq!(
        where_of(q!(id__in = User::filter(q!(karma__gte = 10)).values("id"))),
        (sql, binds)
    );
}

#[test]
fn nulls_first_and_last_are_written_and_flip_with_reverse() {
    // Django: F("email").asc(nulls_first=True) / .desc(nulls_last=True);
    // reverse() flips the direction and the NULLs' place.
    let sql = |qs: QuerySet<User>| select(qs).sql;
    let base = format!(r#"SELECT {COLS} FROM "users""#);
    let f = User::fields();
    assert_eq!(
        sql(User::all().order_by([F("email").asc().nulls_first(), f.karma.desc().nulls_last()])),
        format!(
            r#"{base} ORDER BY "users"."email" ASC NULLS FIRST, "users"."karma" DESC NULLS LAST"#
        )
    );
    assert_eq!(
        sql(User::all()
            .order_by([F("email").asc().nulls_first()])
            .reverse()),
        format!(r#"{base} ORDER BY "users"."email" DESC NULLS LAST"#)
    );
    assert_eq!(
        sql(User::all().order_by([F("email").desc()])),
        format!(r#"{base} ORDER BY "users"."email" DESC"#)
    );
    // An expression orders too (Django's `(F("karma") + 1).asc()`); an
    // `OuterRef` outside `Exists` cannot, reported when the query runs.
    let stmt = select(User::all().order_by([(F("karma") + 1).asc()]));
    assert_eq!(
        stmt.sql,
        format!(r#"{base} ORDER BY ("users"."karma" + $1) ASC"#)
    );
    assert_eq!(stmt.binds, [Value::I32(Some(1))]);
    match User::all()
        .order_by([crate::query::OuterRef("karma").asc()])
        .sql()
    {
        Err(crate::Error::InvalidQuery(e)) => assert!(e.to_string().contains("order_by()"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn statistical_and_bool_aggregates_are_written_as_postgresql_names_them() {
    use crate::query::{StdDev, Sum, Variance};
    let stmt = aggregate_sql(
        User::all(),
        &[
            StdDev("karma"),
            StdDev("karma").sample().alias("sd"),
            Variance("karma"),
            Variance("karma").sample().alias("v"),
            Sum("karma").distinct(),
        ],
    );
    assert_eq!(
        stmt.sql,
        concat!(
            r#"SELECT STDDEV_POP("users"."karma")::double precision AS "karma__stddev", "#,
            r#"STDDEV_SAMP("users"."karma")::double precision AS "sd", "#,
            r#"VAR_POP("users"."karma")::double precision AS "karma__variance", "#,
            r#"VAR_SAMP("users"."karma")::double precision AS "v", "#,
            r#"SUM(DISTINCT "users"."karma")::bigint AS "karma__sum" FROM "users""#
        )
    );
}

#[test]
fn bulk_inserts_can_skip_or_update_conflicting_rows() {
    use crate::sql::writes::{bulk_insert_on, Conflict};
    let meta = <User as Model>::META;
    let insert = r#"INSERT INTO "users" ("name", "email", "karma", "created_at") SELECT * FROM UNNEST($1::varchar(30)[], $2::text[], $3::integer[], $4::timestamptz[])"#;
    assert_eq!(
        bulk_insert_on(meta, false, Some(Conflict::Ignore)),
        format!("{insert} ON CONFLICT DO NOTHING")
    );
    let name = meta.field("name").unwrap();
    let (karma, email) = (meta.field("karma").unwrap(), meta.field("email").unwrap());
    assert_eq!(
        bulk_insert_on(
            meta,
            false,
            Some(Conflict::Update {
                unique: &[name],
                update: &[karma, email],
            })
        ),
        format!(
            r#"{insert} ON CONFLICT ("name") DO UPDATE SET "karma" = "excluded"."karma", "email" = "excluded"."email" RETURNING "id""#
        )
    );
}

#[test]
fn an_aggregate_default_is_a_bound_coalesce() {
    use crate::query::{Avg, Count, Sum};
    let meta = <User as Model>::META;
    let stmt = aggregate_sql(
        User::filter(q!(id__gt = 7)),
        &[Sum("karma").default(0), Avg("karma").default(1.5)],
    );
    assert_eq!(
        stmt.sql,
        concat!(
            r#"SELECT COALESCE(SUM("users"."karma")::bigint, $1) AS "karma__sum", "#,
            r#"COALESCE(AVG("users"."karma")::double precision, $2) AS "karma__avg" "#,
            r#"FROM "users" WHERE "users"."id" > $3"#
        )
    );
    assert_eq!(
        stmt.binds,
        [
            Value::I32(Some(0)),
            Value::F64(Some(1.5)),
            Value::I64(Some(7))
        ]
    );
    // As Django: Count has no default.
    assert!(matches!(
        Count("id").default(0).resolve(meta),
        Err(crate::Error::InvalidQuery(_))
    ));
}

#[test]
fn dates_cut_with_bound_kinds_and_time_zones() {
    let meta = <User as Model>::META;
    let created = meta.field("created_at").unwrap();
    let filter = Node::leaf(
        meta.field("karma").unwrap(),
        crate::query::q::Op::Cmp(crate::query::q::Cmp::Gt, Value::I32(Some(1))),
    );
    let stmt = statements::dates(meta, &filter, created, "month", Some("UTC"), true);
    assert_eq!(
        stmt.sql,
        r#"SELECT DISTINCT DATE_TRUNC($1, "users"."created_at" AT TIME ZONE $2)::date FROM "users" WHERE "users"."karma" > $3 ORDER BY 1 DESC"#
    );
    assert_eq!(
        stmt.binds,
        [text("month"), text("UTC"), Value::I32(Some(1))]
    );
}

#[test]
fn having_writes_each_condition_after_its_aggregate() {
    use crate::query::Count;
    use crate::sql::grouped::{values_select, Tail, ValuesSelect};
    use crate::sql::having::{OutputNode, OutputOp};
    let meta = <User as Model>::META;
    let count = Count("id").resolve(meta).expect("resolves");
    let having = OutputNode::And(vec![
        OutputNode::Leaf(
            &count,
            OutputOp::In(Value::Array(vec![Value::I64(Some(1))])),
        ),
        OutputNode::Leaf(
            &count,
            OutputOp::Range(Value::I64(Some(1)), Value::I64(Some(9))),
        ),
        OutputNode::Leaf(&count, OutputOp::IsNull(false)),
    ]);
    let stmt = values_select(&ValuesSelect {
        meta,
        fields: &[crate::sql::joins::ColumnRef::root(
            meta.field("karma").unwrap(),
        )],
        paths: &[],
        distinct: false,
        aggregates: std::slice::from_ref(&count),
        filter: &Node::All,
        having: &having,
        tail: Tail {
            order: &[],
            limit: None,
            offset: None,
        },
    });
    assert_eq!(
        stmt.sql,
        concat!(
            r#"SELECT "users"."karma", COUNT("users"."id") AS "id__count" FROM "users" GROUP BY "users"."karma" "#,
            r#"HAVING COUNT("users"."id") = ANY($1) AND COUNT("users"."id") BETWEEN $2 AND $3 AND COUNT("users"."id") IS NOT NULL"#
        )
    );
    assert_eq!(
        stmt.binds,
        [
            Value::Array(vec![Value::I64(Some(1))]),
            Value::I64(Some(1)),
            Value::I64(Some(9))
        ]
    );
}

#[test]
fn datetimes_cut_in_a_zone_and_read_back_as_instants() {
    let meta = <User as Model>::META;
    let created = meta.field("created_at").unwrap();
    let stmt = statements::datetimes(meta, &Node::All, created, "hour", "UTC", false);
    assert_eq!(
        stmt.sql,
        r#"SELECT DISTINCT DATE_TRUNC($1, "users"."created_at" AT TIME ZONE $2) AT TIME ZONE $3 FROM "users" ORDER BY 1 ASC"#
    );
    assert_eq!(stmt.binds, [text("hour"), text("UTC"), text("UTC")]);
}
