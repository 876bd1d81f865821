//! The statements of a pipelined prefetch.

use super::*;

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
