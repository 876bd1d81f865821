//! `order_by` and `values(..)` across relations (`LEFT JOIN`s per path),
//! and ordering by expressions: exact SQL and binds.

use crate::prelude::*;
use crate::query::order::OrderBy;
use crate::query::paths::{PathPlan, Reach};
use crate::query::values::Aggregate;
use crate::query::{Count, Min};
use crate::sql::grouped::{values_select, Tail, ValuesSelect};
use crate::sql::joins::ColumnRef;
use crate::sql::tree::Node;
use crate::sql::Statement;
use crate::Value;

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "ro_authors", crate = "crate")]
struct RoAuthor {
    #[orm(primary_key)]
    id: i64,
    name: String,
    karma: i32,
    posts: Reverse<RoPost>,
    profile: ReverseOne<RoProfile>,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "ro_profiles", crate = "crate")]
struct RoProfile {
    #[orm(primary_key)]
    id: i64,
    #[orm(related_name = "profile")]
    author: OneToOne<RoAuthor>,
    website: Option<String>,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "ro_posts", crate = "crate")]
struct RoPost {
    #[orm(primary_key)]
    id: i64,
    #[orm(related_name = "posts")]
    author: Option<ForeignKey<RoAuthor>>,
    title: String,
    likes: i32,
    views: i64,
    #[orm(related_name = "posts", through = "ro_post_tags")]
    tags: ManyToMany<RoTag>,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "ro_tags", crate = "crate")]
struct RoTag {
    #[orm(primary_key)]
    id: i64,
    name: String,
    posts: Reverse<RoPost>,
}

const POST_COLS: &str = r#""ro_posts"."id", "ro_posts"."author_id", "ro_posts"."title", "ro_posts"."likes", "ro_posts"."views""#;
const JOIN_AUTHOR: &str =
    r#" LEFT JOIN "ro_authors" AS "r_author" ON "r_author"."id" = "ro_posts"."author_id""#;

fn sql<M: Model>(qs: QuerySet<M>) -> Statement {
    qs.sql().expect("renders").expect("sends a query")
}

/// The `SELECT` of `qs.values(fields).annotate(aggs)`, as `fetch` writes it.
fn values_sql<M: Model>(qs: QuerySet<M>, fields: &[&str], aggs: &[Aggregate]) -> Statement {
    let meta = M::META;
    let mut plan = PathPlan::new(meta, &[], Reach::Many);
    let fields: Vec<ColumnRef> = fields
        .iter()
        .map(|f| plan.column(f))
        .collect::<crate::Result<_>>()
        .expect("fields resolve");
    let aggregates: Vec<_> = aggs
        .iter()
        .map(|a| a.resolve(meta).expect("aggregate resolves"))
        .collect();
    let outputs: Vec<String> = aggregates.iter().map(|r| r.name.clone()).collect();
    let order = crate::query::values_query::order_keys(&qs, None, &outputs, &mut plan)
        .expect("ordering resolves");
    values_select(&ValuesSelect {
        meta,
        fields: &fields,
        paths: &plan.joins,
        distinct: qs.distinct,
        aggregates: &aggregates,
        filter: &Node::All,
        having: &crate::sql::grouped::OutputNode::All,
        tail: Tail {
            order: &order,
            limit: qs.limit,
            offset: qs.offset,
        },
    })
}

/// `SELECT <post columns> FROM "ro_posts"` and `rest`.
fn posts(rest: &str) -> String {
    format!(r#"SELECT {POST_COLS} FROM "ro_posts"{rest}"#)
}

#[test]
fn ordering_across_a_foreign_key_left_joins_it_once() {
    // Django: order_by("author__name", "-author__karma") joins the author
    // once (LEFT OUTER: the key is nullable) and sorts by its columns.
    let stmt = sql(RoPost::all().order_by(["author__name", "-author__karma"]));
    assert_eq!(
        stmt.sql,
        posts(&format!(
            r#"{JOIN_AUTHOR} ORDER BY "r_author"."name" ASC, "r_author"."karma" DESC"#
        ))
    );
    assert!(stmt.binds.is_empty());
    // reverse() flips the related terms as any other, NULLs included.
    let stmt = sql(RoPost::all()
        .order_by([F("author__name").asc().nulls_first(), "title".into()])
        .reverse());
    assert_eq!(
        stmt.sql,
        posts(&format!(
            r#"{JOIN_AUTHOR} ORDER BY "r_author"."name" DESC NULLS LAST, "ro_posts"."title" DESC"#
        ))
    );
}

#[test]
fn a_bare_forward_relation_orders_by_its_key_column_without_a_join() {
    // Django would use Author's Meta.ordering; models here have none, so
    // the key column, as Django does then.
    assert_eq!(
        sql(RoPost::all().order_by(["-author"])).sql,
        posts(r#" ORDER BY "ro_posts"."author_id" DESC"#)
    );
    assert_eq!(
        sql(RoPost::all().order_by(["author_id"])).sql,
        posts(r#" ORDER BY "ro_posts"."author_id" ASC"#)
    );
}

#[test]
fn nested_and_reverse_one_to_one_paths_chain_their_joins() {
    assert_eq!(
        sql(RoPost::all().order_by(["-author__profile__website"])).sql,
        posts(&format!(
            r#"{JOIN_AUTHOR} LEFT JOIN "ro_profiles" AS "r_author__profile" ON "r_author__profile"."author_id" = "r_author"."id" ORDER BY "r_author__profile"."website" DESC"#
        ))
    );
    // The reverse side of a one-to-one is one row at most: orderable.
    assert_eq!(
        sql(RoAuthor::all().order_by(["profile__website", "name"])).sql,
        r#"SELECT "ro_authors"."id", "ro_authors"."name", "ro_authors"."karma" FROM "ro_authors" LEFT JOIN "ro_profiles" AS "r_profile" ON "r_profile"."author_id" = "ro_authors"."id" ORDER BY "r_profile"."website" ASC, "ro_authors"."name" ASC"#
    );
}

#[test]
fn ordering_reuses_the_select_related_join_of_the_same_relation() {
    let stmt = sql(RoPost::all()
        .select_related(["author"])
        .order_by(["author__name", "author__profile__website"]));
    assert_eq!(
        stmt.sql,
        posts("").replace(
            r#" FROM "ro_posts""#,
            r#", "sr_author"."id", "sr_author"."name", "sr_author"."karma" FROM "ro_posts""#
        ) + r#" LEFT JOIN "ro_authors" AS "sr_author" ON "sr_author"."id" = "ro_posts"."author_id" LEFT JOIN "ro_profiles" AS "r_author__profile" ON "r_author__profile"."author_id" = "sr_author"."id" ORDER BY "sr_author"."name" ASC, "r_author__profile"."website" ASC"#
    );
}

#[test]
fn filters_stay_exists_and_binds_keep_their_order_with_joins() {
    let stmt = sql(RoPost::filter(q!(tags__name = "rust"))
        .order_by(["author__name"])
        .limit(5)
        .offset(10));
    assert_eq!(
        stmt.sql,
        posts(&format!(
            r#"{JOIN_AUTHOR} WHERE EXISTS (SELECT 1 FROM "ro_post_tags" AS "T1_link" JOIN "ro_tags" AS "T1" ON "T1"."id" = "T1_link"."ro_tag_id" WHERE "T1_link"."ro_post_id" = "ro_posts"."id" AND "T1"."name" = $1) ORDER BY "r_author"."name" ASC LIMIT 5 OFFSET $2"#
        ))
    );
    assert_eq!(
        stmt.binds,
        [Value::Text(Some("rust".into())), Value::I64(Some(10))]
    );
}

#[test]
fn distinct_selects_what_it_orders_by_across_relations() {
    // PostgreSQL sorts a SELECT DISTINCT by selected values only; Django
    // adds the ordering's columns to the list too. One author per post:
    // no row is repeated by it.
    assert_eq!(
        sql(RoPost::all().order_by(["-author__name"]).distinct()).sql,
        format!(
            r#"SELECT DISTINCT {POST_COLS}, "r_author"."name" FROM "ro_posts"{JOIN_AUTHOR} ORDER BY "r_author"."name" DESC"#
        )
    );
    // An expression holding a value cannot be matched by a copy of it.
    let err = RoPost::all()
        .order_by([(F("likes") + 1).asc()])
        .distinct()
        .sql()
        .unwrap_err();
    assert!(matches!(err, crate::Error::InvalidQuery(_)), "{err}");
}

#[test]
fn counts_join_only_where_the_ordering_picks_the_rows() {
    let qs = || RoPost::all().order_by(["author__name"]);
    let count = |qs: QuerySet<RoPost>| {
        qs.count_or_exists(false)
            .expect("renders")
            .expect("sends")
            .sql
            .into_owned()
    };
    assert_eq!(count(qs()), r#"SELECT COUNT(*) FROM "ro_posts""#);
    assert_eq!(
        count(qs().limit(3)),
        format!(
            r#"SELECT COUNT(*) FROM ({}) AS "subquery""#,
            posts(&format!(
                r#"{JOIN_AUTHOR} ORDER BY "r_author"."name" ASC LIMIT 3"#
            ))
        )
    );
}

#[test]
fn expressions_order_with_their_values_bound() {
    // Django: order_by((F("likes") + F("views")).desc(nulls_last=True)).
    let stmt = sql(RoPost::all().order_by([
        (F("likes") + F("views")).desc().nulls_last(),
        (F("likes") * 2).asc(),
    ]));
    assert_eq!(
        stmt.sql,
        posts(
            r#" ORDER BY ("ro_posts"."likes" + "ro_posts"."views") DESC NULLS LAST, ("ro_posts"."likes" * $1) ASC"#
        )
    );
    assert_eq!(stmt.binds, [Value::I32(Some(2))]);
    // A field across a foreign key in an expression is a scalar subquery,
    // as in filters.
    let stmt = sql(RoPost::all().order_by([(F("author__karma") + F("likes")).desc()]));
    assert!(
        stmt.sql.ends_with(
            r#" ORDER BY ((SELECT "F0_1"."karma" FROM "ro_authors" AS "F0_1" WHERE "F0_1"."id" = "ro_posts"."author_id") + "ro_posts"."likes") DESC"#
        ),
        "{}",
        stmt.sql
    );
    // Arithmetic on text is refused before anything is sent.
    let err = RoPost::all()
        .order_by([(F("title") + 1).asc()])
        .sql()
        .unwrap_err();
    assert!(matches!(err, crate::Error::InvalidQuery(_)), "{err}");
}

#[test]
fn ordering_model_rows_across_a_relation_to_many_is_refused_with_a_hint() {
    for path in ["tags__name", "-tags__name", "author__posts__title"] {
        let err = RoPost::all().order_by([path]).sql().unwrap_err();
        let crate::Error::InvalidQuery(e) = &err else {
            panic!("{path}: {err:?}");
        };
        assert!(e.to_string().contains("Min(\""), "{e}");
    }
    // A reverse foreign key from the other side too.
    assert!(matches!(
        RoAuthor::all().order_by(["posts__title"]).sql(),
        Err(crate::Error::InvalidQuery(_))
    ));
}

#[test]
fn unknown_and_hostile_names_name_the_model_and_its_fields() {
    let err = RoPost::all().order_by(["author__nmae"]).sql().unwrap_err();
    assert_eq!(
        err.to_string(),
        "RoAuthor has no field `nmae`; valid fields: id, name, karma, posts, profile"
    );
    let err = RoPost::all().order_by(["auther__name"]).sql().unwrap_err();
    assert_eq!(
        err.to_string(),
        "RoPost has no field `auther`; valid fields: id, author, title, likes, views, tags"
    );
    for hostile in [
        "author__\"; DROP TABLE x; --",
        "author____name",
        "__",
        "author__",
        "",
        "author__name__name",
    ] {
        let err = RoPost::all()
            .order_by([hostile.to_owned()])
            .sql()
            .unwrap_err();
        assert!(
            matches!(err, crate::Error::InvalidLookup(_)),
            "{hostile:?}: {err:?}"
        );
    }
    // Long and deep paths are refused before anything is built.
    let long = format!("author__{}", "x".repeat(2000));
    assert!(matches!(
        RoPost::all().order_by([long]).sql(),
        Err(crate::Error::InvalidLookup(_))
    ));
    let deep = format!("{}name", "author__profile__author__".repeat(10));
    assert!(matches!(
        RoPost::all().order_by([deep]).sql(),
        Err(crate::Error::InvalidLookup(_))
    ));
    // distinct_on names the model's own fields only.
    assert!(matches!(
        RoPost::all().distinct_on(["author__name"]).sql(),
        Err(crate::Error::InvalidQuery(_))
    ));
}

#[test]
fn a_path_too_long_for_a_name_is_aliased_by_its_place() {
    let path = format!("{}website", "author__profile__".repeat(4));
    let stmt = sql(RoPost::all().order_by([path]));
    // Depth 8 passes 61 bytes: `r_7`.
    assert!(
        stmt.sql.ends_with(r#" ORDER BY "r_7"."website" ASC"#),
        "{}",
        stmt.sql
    );
    // The seventh (59 bytes with `r_`) keeps its path.
    assert!(
        stmt.sql.contains(
            r#" LEFT JOIN "ro_profiles" AS "r_7" ON "r_7"."author_id" = "r_author__profile__author__profile__author__profile__author"."id" "#
        ),
        "{}",
        stmt.sql
    );
}

#[test]
fn values_across_relations_join_as_django_does() {
    // Forward: one row per post, the author's name NULL without one.
    assert_eq!(
        values_sql(
            RoPost::all().order_by(["author__name", "title"]),
            &["title", "author__name"],
            &[]
        )
        .sql,
        format!(
            r#"SELECT "ro_posts"."title", "r_author"."name" FROM "ro_posts"{JOIN_AUTHOR} ORDER BY "r_author"."name" ASC, "ro_posts"."title" ASC"#
        )
    );
    // Many-to-many: the link table then the tags, both LEFT: a post
    // without tags is one row with NULL; the ordering shares the join.
    assert_eq!(
        values_sql(
            RoPost::all().order_by(["-tags__name"]),
            &["title", "tags__name"],
            &[]
        )
        .sql,
        r#"SELECT "ro_posts"."title", "r_tags"."name" FROM "ro_posts" LEFT JOIN "ro_post_tags" AS "l_tags" ON "l_tags"."ro_post_id" = "ro_posts"."id" LEFT JOIN "ro_tags" AS "r_tags" ON "r_tags"."id" = "l_tags"."ro_tag_id" ORDER BY "r_tags"."name" DESC"#
    );
    // Reverse foreign key: one row per post, one with NULL for an author
    // without any.
    assert_eq!(
        values_sql(RoAuthor::all(), &["name", "posts__title"], &[]).sql,
        r#"SELECT "ro_authors"."name", "r_posts"."title" FROM "ro_authors" LEFT JOIN "ro_posts" AS "r_posts" ON "r_posts"."author_id" = "ro_authors"."id""#
    );
    // The reverse of the many-to-many, from the tags.
    assert_eq!(
        values_sql(RoTag::all(), &["name", "posts__title"], &[]).sql,
        r#"SELECT "ro_tags"."name", "r_posts"."title" FROM "ro_tags" LEFT JOIN "ro_post_tags" AS "l_posts" ON "l_posts"."ro_tag_id" = "ro_tags"."id" LEFT JOIN "ro_posts" AS "r_posts" ON "r_posts"."id" = "l_posts"."ro_post_id""#
    );
}

#[test]
fn values_annotate_groups_by_the_related_column_and_the_ordering() {
    // Django: values("author__name").annotate(Count("id")) groups by the
    // author's name; a column the ordering adds joins the GROUP BY.
    assert_eq!(
        values_sql(
            RoPost::all().order_by(["-author__karma"]),
            &["author__name"],
            &[Count("id")]
        )
        .sql,
        format!(
            r#"SELECT "r_author"."name", COUNT("ro_posts"."id") AS "id__count" FROM "ro_posts"{JOIN_AUTHOR} GROUP BY "r_author"."name", "r_author"."karma" ORDER BY "r_author"."karma" DESC"#
        )
    );
    // Ordered by the aggregate, NULLs placed.
    assert_eq!(
        values_sql(
            RoPost::all().order_by([F("id__count").desc().nulls_last()]),
            &["author__name"],
            &[Count("id")]
        )
        .sql,
        format!(
            r#"SELECT "r_author"."name", COUNT("ro_posts"."id") AS "id__count" FROM "ro_posts"{JOIN_AUTHOR} GROUP BY "r_author"."name" ORDER BY "id__count" DESC NULLS LAST"#
        )
    );
    // Distinct values sorted by another related column select it too.
    assert_eq!(
        values_sql(
            RoPost::all().order_by(["author__karma"]).distinct(),
            &["author__name"],
            &[]
        )
        .sql,
        format!(
            r#"SELECT DISTINCT "r_author"."name", "r_author"."karma" FROM "ro_posts"{JOIN_AUTHOR} ORDER BY "r_author"."karma" ASC"#
        )
    );
}

#[test]
fn values_list_columns_share_the_ordering_joins() {
    let mut plan = PathPlan::new(RoPost::META, &[], Reach::Many);
    let columns: Vec<ColumnRef> = ["title", "author__name", "tags__name"]
        .iter()
        .map(|n| plan.column(n).expect("resolves"))
        .collect();
    let stmt = RoPost::all()
        .order_by(["-author__name", "tags__name"])
        .select_columns(&mut plan, &columns)
        .expect("renders")
        .expect("sends");
    assert_eq!(
        stmt.sql,
        format!(
            r#"SELECT "ro_posts"."title", "r_author"."name", "r_tags"."name" FROM "ro_posts"{JOIN_AUTHOR} LEFT JOIN "ro_post_tags" AS "l_tags" ON "l_tags"."ro_post_id" = "ro_posts"."id" LEFT JOIN "ro_tags" AS "r_tags" ON "r_tags"."id" = "l_tags"."ro_tag_id" ORDER BY "r_author"."name" DESC, "r_tags"."name" ASC"#
        )
    );
    assert_eq!(plan.joins.len(), 2, "one join per path");
}

#[test]
fn kept_texts_follow_the_paths() {
    // A statement's text is kept by key: the second of two queries that
    // differ only in their path must not take the first one's text.
    let sent = |qs: QuerySet<RoPost>| {
        let rendered = sql(qs.clone()).sql;
        let plan = qs.plan().expect("renders").expect("sends");
        assert_eq!(plan.stmt.sql, rendered);
        rendered
    };
    let by_name = sent(RoPost::all().order_by(["author__name"]).limit(2));
    assert_eq!(
        by_name,
        sent(RoPost::all().order_by(["author__name"]).limit(2))
    );
    let by_website = sent(
        RoPost::all()
            .order_by(["author__profile__website"])
            .limit(2),
    );
    let by_tag_count = sent(RoPost::all().order_by(["-author__karma"]).limit(2));
    assert_ne!(by_name, by_website);
    assert_ne!(by_name, by_tag_count);
    let _ = (Min("x"), None::<OrderBy>);
}

#[test]
fn an_in_subquery_orders_by_its_own_fields_only_when_sliced() {
    // Unsliced, the ordering is not written (Django clears it), so a
    // related one is no error.
    let unsliced =
        sql(RoAuthor::filter(q!(id__in = RoPost::all()
            .order_by(["author__name"])
            .values("author_id"))));
    assert!(!unsliced.sql.contains("ORDER BY"), "{}", unsliced.sql);
    // Sliced, it picks the rows: one across a relation cannot be written
    // in the subquery and is reported, not dropped.
    let err = RoAuthor::filter(q!(id__in = RoPost::all()
        .order_by(["author__name"])
        .limit(1)
        .values("author_id")))
    .sql()
    .unwrap_err();
    assert!(err.to_string().contains("author__name"), "{err}");
}
