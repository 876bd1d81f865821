//! Soft delete (`#[orm(soft_delete)]`): the condition every query of a
//! soft delete model adds, across relations, in joins and prefetches, the
//! `UPDATE`s that mark and restore, and the partial unique indexes.

use super::*;
use crate::migrate::ops::{diff, Op};
use crate::migrate::state::{Renames, SchemaState};

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "sd_authors", crate = "crate", soft_delete)]
struct SdAuthor {
    #[orm(primary_key)]
    id: i64,
    #[orm(unique)]
    name: String,
    deleted_at: Option<DateTime<Utc>>,
    books: Reverse<SdBook>,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(
    table = "sd_books",
    crate = "crate",
    soft_delete = "removed_at",
    unique_together(author, title)
)]
struct SdBook {
    #[orm(primary_key)]
    id: i64,
    #[orm(related_name = "books")]
    author: ForeignKey<SdAuthor>,
    #[orm(related_name = "edited", on_delete = "set_null")]
    editor: Option<ForeignKey<SdAuthor>>,
    title: String,
    removed_at: Option<DateTime<Utc>>,
}

/// The same table as `SdAuthor` without soft delete: the model before
/// (or after) `#[orm(soft_delete)]` is turned on.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "sd_authors", crate = "crate")]
struct SdAuthorPlain {
    #[orm(primary_key)]
    id: i64,
    #[orm(unique)]
    name: String,
    deleted_at: Option<DateTime<Utc>>,
}

const AUTHOR_COLS: &str = r#""sd_authors"."id", "sd_authors"."name", "sd_authors"."deleted_at""#;
const BOOK_COLS: &str = r#""sd_books"."id", "sd_books"."author_id", "sd_books"."editor_id", "sd_books"."title", "sd_books"."removed_at""#;

fn sql_of<M: Model>(qs: QuerySet<M>) -> (String, Vec<Value>) {
    let stmt = qs.sql().expect("renders").expect("sends a query");
    (stmt.sql, stmt.binds)
}

#[test]
fn the_default_query_leaves_marked_rows_out() {
    assert_eq!(
        sql_of(SdAuthor::all()),
        (
            format!(
                r#"SELECT {AUTHOR_COLS} FROM "sd_authors" WHERE "sd_authors"."deleted_at" IS NULL"#
            ),
            vec![]
        )
    );
    // After the query's own conditions; the field named by
    // `soft_delete = "removed_at"`.
    assert_eq!(
        sql_of(SdBook::filter(q!(title = "Emma") | q!(id = 2))),
        (
            format!(
                r#"SELECT {BOOK_COLS} FROM "sd_books" WHERE ("sd_books"."title" = $1 OR "sd_books"."id" = $2) AND "sd_books"."removed_at" IS NULL"#
            ),
            vec![text("Emma"), Value::I64(Some(2))]
        )
    );
    // An empty `__in` still sends nothing.
    assert!(SdAuthor::filter(q!(id__in = Vec::<i64>::new()))
        .sql()
        .unwrap()
        .is_none());
}

#[test]
fn with_deleted_and_only_deleted() {
    assert_eq!(
        sql_of(SdAuthor::filter(q!(name = "Ada")).with_deleted()),
        (
            format!(r#"SELECT {AUTHOR_COLS} FROM "sd_authors" WHERE "sd_authors"."name" = $1"#),
            vec![text("Ada")]
        )
    );
    assert_eq!(
        sql_of(SdAuthor::all().only_deleted()),
        (
            format!(
                r#"SELECT {AUTHOR_COLS} FROM "sd_authors" WHERE "sd_authors"."deleted_at" IS NOT NULL"#
            ),
            vec![]
        )
    );
    // The last call wins, as with Django's managers.
    assert_eq!(
        sql_of(SdAuthor::all().only_deleted().with_deleted()),
        (format!(r#"SELECT {AUTHOR_COLS} FROM "sd_authors""#), vec![])
    );
    // A model without soft delete: `with_deleted` changes nothing, and
    // `only_deleted` matches no row (none is marked), so a purge such as
    // `only_deleted().hard_delete()` cannot delete the whole table.
    assert_eq!(
        sql_of(User::all().with_deleted()).0,
        format!(r#"SELECT {COLS} FROM "users""#)
    );
    assert!(User::all().only_deleted().sql().expect("renders").is_none());
}

#[test]
fn count_exists_get_and_update_hide_marked_rows() {
    let count = SdAuthor::filter(q!(name = "Ada"))
        .count_or_exists(false)
        .unwrap()
        .unwrap();
    assert_eq!(
        &*count.sql,
        r#"SELECT COUNT(*) FROM "sd_authors" WHERE "sd_authors"."name" = $1 AND "sd_authors"."deleted_at" IS NULL"#
    );
    let exists = SdAuthor::all().count_or_exists(true).unwrap().unwrap();
    assert_eq!(
        &*exists.sql,
        r#"SELECT 1 FROM "sd_authors" WHERE "sd_authors"."deleted_at" IS NULL LIMIT 1"#
    );
    // A get by key: no LIMIT (one live row at most), the mark checked.
    let get = SdAuthor::all()
        .get_plan_of(q!(id = 7))
        .unwrap()
        .unwrap()
        .stmt;
    assert_eq!(
        (&*get.sql, &get.binds[..]),
        (
            &*format!(
                r#"SELECT {AUTHOR_COLS} FROM "sd_authors" WHERE "sd_authors"."id" = $1 AND "sd_authors"."deleted_at" IS NULL"#
            ),
            &[Value::I64(Some(7))][..]
        )
    );
    // The same text the second time (kept by key).
    let again = SdAuthor::all()
        .get_plan_of(q!(id = 7))
        .unwrap()
        .unwrap()
        .stmt;
    assert_eq!(again.sql, get.sql);
    let update = SdAuthor::filter(q!(id = 7))
        .update_bound(q!(name = "Bea"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (&*update.sql, &update.binds[..]),
        (
            r#"UPDATE "sd_authors" SET "name" = $1 WHERE "sd_authors"."id" = $2 AND "sd_authors"."deleted_at" IS NULL"#,
            &[text("Bea"), Value::I64(Some(7))][..]
        )
    );
    // `with_deleted` does not take the kept text of the default scope.
    let update = SdAuthor::filter(q!(id = 7))
        .with_deleted()
        .update_bound(q!(name = "Bea"))
        .unwrap()
        .unwrap();
    assert_eq!(
        &*update.sql,
        r#"UPDATE "sd_authors" SET "name" = $1 WHERE "sd_authors"."id" = $2"#
    );
}

#[test]
fn lookups_across_relations_reach_live_rows_only() {
    // Forward: the author must be live (as if the marked one were gone).
    assert_eq!(
        sql_of(SdBook::filter(q!(author__name = "Ada")).with_deleted()),
        (
            format!(
                r#"SELECT {BOOK_COLS} FROM "sd_books" WHERE EXISTS (SELECT 1 FROM "sd_authors" AS "T1" WHERE "T1"."id" = "sd_books"."author_id" AND "T1"."deleted_at" IS NULL AND "T1"."name" = $1)"#
            ),
            vec![text("Ada")]
        )
    );
    // Reverse: a live book; `exclude` keeps authors whose only such book is marked.
    assert_eq!(
        sql_of(SdAuthor::all().exclude(q!(books__title = "Emma"))),
        (
            format!(
                r#"SELECT {AUTHOR_COLS} FROM "sd_authors" WHERE NOT (EXISTS (SELECT 1 FROM "sd_books" AS "T1" WHERE "T1"."author_id" = "sd_authors"."id" AND "T1"."removed_at" IS NULL AND "T1"."title" = $1)) AND "sd_authors"."deleted_at" IS NULL"#
            ),
            vec![text("Emma")]
        )
    );
    // `editor__isnull` is the key column itself (still set when its row
    // is marked: the row is not gone), as `editor = 3` is.
    assert_eq!(
        sql_of(SdBook::filter(q!(editor__isnull = true)).with_deleted()).0,
        format!(r#"SELECT {BOOK_COLS} FROM "sd_books" WHERE "sd_books"."editor_id" IS NULL"#)
    );
    // A field of the editor's: a live one.
    assert_eq!(
        sql_of(SdBook::filter(q!(editor__name__isnull = false)).with_deleted()).0,
        format!(
            r#"SELECT {BOOK_COLS} FROM "sd_books" WHERE EXISTS (SELECT 1 FROM "sd_authors" AS "T1" WHERE "T1"."id" = "sd_books"."editor_id" AND "T1"."deleted_at" IS NULL AND "T1"."name" IS NOT NULL)"#
        )
    );
}

#[test]
fn select_related_hides_a_marked_row_behind_a_nullable_key_only() {
    let (sql, _) = sql_of(
        SdBook::filter(q!(author__name = "Ada"))
            .with_deleted()
            .select_related(["author", "editor"]),
    );
    assert_eq!(
        sql,
        format!(
            r#"SELECT {BOOK_COLS}, "sr_author"."id", "sr_author"."name", "sr_author"."deleted_at", "sr_editor"."id", "sr_editor"."name", "sr_editor"."deleted_at" FROM "sd_books" INNER JOIN "sd_authors" AS "sr_author" ON "sr_author"."id" = "sd_books"."author_id" LEFT JOIN "sd_authors" AS "sr_editor" ON "sr_editor"."id" = "sd_books"."editor_id" AND "sr_editor"."deleted_at" IS NULL WHERE EXISTS (SELECT 1 FROM "sd_authors" AS "T1" WHERE "T1"."id" = "sd_books"."author_id" AND "T1"."deleted_at" IS NULL AND "T1"."name" = $1)"#
        )
    );
}

#[test]
fn values_and_ordering_across_relations_join_live_rows() {
    let values = SdBook::all()
        .with_deleted()
        .values(["title", "editor__name"])
        .sql()
        .unwrap()
        .unwrap();
    assert_eq!(
        values.sql,
        r#"SELECT "sd_books"."title", "r_editor"."name" FROM "sd_books" LEFT JOIN "sd_authors" AS "r_editor" ON "r_editor"."id" = "sd_books"."editor_id" AND "r_editor"."deleted_at" IS NULL"#
    );
}

#[test]
fn prefetch_levels_load_live_rows() {
    let levels: Vec<String> = crate::query::related::pipelined_sql::<SdAuthor>(
        &SdAuthor::all().scoped_filter().simplify(),
        &SdAuthor::all().prefetch_related(["books"]).prefetch,
    )
    .unwrap()
    .into_iter()
    .map(|s| s.sql)
    .collect();
    assert_eq!(
        levels,
        [format!(
            r#"SELECT {BOOK_COLS} FROM "sd_books" WHERE "sd_books"."author_id" IN (SELECT "sd_authors"."id" FROM "sd_authors" WHERE "sd_authors"."deleted_at" IS NULL) AND ("sd_books"."removed_at" IS NULL)"#
        )]
    );
    // A query of its own decides: with_deleted takes every book.
    let levels: Vec<String> = crate::query::related::pipelined_sql::<SdAuthor>(
        &SdAuthor::all().scoped_filter().simplify(),
        &SdAuthor::all()
            .prefetch_related_with("books", SdBook::all().with_deleted())
            .prefetch,
    )
    .unwrap()
    .into_iter()
    .map(|s| s.sql)
    .collect();
    assert_eq!(
        levels,
        [format!(
            r#"SELECT {BOOK_COLS} FROM "sd_books" WHERE "sd_books"."author_id" IN (SELECT "sd_authors"."id" FROM "sd_authors" WHERE "sd_authors"."deleted_at" IS NULL)"#
        )]
    );
}

#[test]
fn delete_marks_restore_clears() {
    let filter = Node::leaf(
        &SdAuthor::META.fields[1],
        crate::query::q::Op::Exact(text("Ada")),
    )
    .and(Node::leaf(
        &SdAuthor::META.fields[2],
        crate::query::q::Op::IsNull(true),
    ));
    let mark = crate::soft_delete::mark_statement(SdAuthor::META, &filter, true, true).unwrap();
    assert_eq!(
        (&*mark.sql, &mark.binds[..]),
        (
            r#"UPDATE "sd_authors" SET "deleted_at" = now() WHERE "sd_authors"."name" = $1 AND "sd_authors"."deleted_at" IS NULL RETURNING "id""#,
            &[text("Ada")][..]
        )
    );
    let restore =
        crate::soft_delete::mark_statement(SdAuthor::META, &Node::All, false, false).unwrap();
    assert_eq!(
        &*restore.sql,
        r#"UPDATE "sd_authors" SET "deleted_at" = NULL"#
    );
    let keys = Value::Array(vec![Value::I64(Some(1)), Value::I64(Some(2))]);
    let cascade = |mark| {
        crate::soft_delete::cascade_statement(SdBook::META, &SdBook::META.fields[1], &keys, mark)
            .unwrap()
    };
    let marked = cascade(true);
    assert_eq!(
        (&*marked.sql, &marked.binds[..]),
        (
            r#"UPDATE "sd_books" SET "removed_at" = now() WHERE "author_id" = ANY($1) AND "removed_at" IS NULL RETURNING "id""#,
            &[keys.clone()][..]
        )
    );
    // What a preview counts.
    let counted = cascade(false);
    assert_eq!(
        (&*counted.sql, &counted.binds[..]),
        (
            r#"SELECT "id" FROM "sd_books" WHERE "author_id" = ANY($1) AND "removed_at" IS NULL"#,
            &[keys.clone()][..]
        )
    );
    // No mark on a model without soft delete.
    assert!(crate::soft_delete::mark_statement(User::META, &Node::All, true, false).is_none());
}

#[test]
fn hard_delete_is_the_delete_of_the_visible_rows() {
    let delete = SdAuthor::all()
        .only_deleted()
        .delete_bound()
        .unwrap()
        .unwrap();
    assert_eq!(
        &*delete.sql,
        r#"DELETE FROM "sd_authors" WHERE "sd_authors"."deleted_at" IS NOT NULL"#
    );
    let delete = SdAuthor::filter(q!(id = 3))
        .delete_bound()
        .unwrap()
        .unwrap();
    assert_eq!(
        (&*delete.sql, &delete.binds[..]),
        (
            r#"DELETE FROM "sd_authors" WHERE "sd_authors"."id" = $1 AND "sd_authors"."deleted_at" IS NULL"#,
            &[Value::I64(Some(3))][..]
        )
    );
}

#[test]
fn unique_constraints_become_partial_unique_indexes() {
    assert_eq!(
        crate::schema::create_table_sql(SdAuthor::META).unwrap(),
        [
            r#"CREATE TABLE IF NOT EXISTS "sd_authors" ("id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL, "name" text NOT NULL, "deleted_at" timestamptz NULL, CONSTRAINT "sd_authors_pkey" PRIMARY KEY ("id"))"#,
            r#"CREATE UNIQUE INDEX IF NOT EXISTS "sd_authors_name_key" ON "sd_authors" ("name") WHERE "deleted_at" IS NULL"#,
        ]
    );
    let book = crate::schema::create_table_sql(SdBook::META).unwrap();
    assert_eq!(
        book[1..],
        [
            r#"CREATE INDEX IF NOT EXISTS "sd_books_author_id_idx" ON "sd_books" ("author_id")"#,
            r#"CREATE INDEX IF NOT EXISTS "sd_books_editor_id_idx" ON "sd_books" ("editor_id")"#,
            r#"CREATE UNIQUE INDEX IF NOT EXISTS "sd_books_author_id_title_uniq" ON "sd_books" ("author_id", "title") WHERE "removed_at" IS NULL"#
        ]
    );
}

#[test]
fn turning_soft_delete_on_or_off_changes_the_unique_constraints() {
    let plain = SchemaState::from_models(&[SdAuthorPlain::META]);
    let soft = SchemaState::from_models(&[SdAuthor::META]);
    let on = diff(&plain, &soft, &Renames::default(), &Default::default()).unwrap();
    let up: Vec<String> = on.iter().map(|op| op.up().unwrap()).collect();
    assert_eq!(
        up,
        [
            r#"ALTER TABLE "sd_authors" DROP CONSTRAINT "sd_authors_name_key""#,
            r#"CREATE UNIQUE INDEX "sd_authors_name_key" ON "sd_authors" ("name") WHERE "deleted_at" IS NULL"#,
        ]
    );
    assert!(matches!(on[..], [Op::DropUnique(..), Op::AddIndex(..)]));
    let off = diff(&soft, &plain, &Renames::default(), &Default::default()).unwrap();
    let up: Vec<String> = off.iter().map(|op| op.up().unwrap()).collect();
    assert_eq!(
        up,
        [
            r#"DROP INDEX "sd_authors_name_key""#,
            r#"ALTER TABLE "sd_authors" ADD CONSTRAINT "sd_authors_name_key" UNIQUE ("name")"#,
        ]
    );
    // Reverting the change restores the partial index.
    assert_eq!(
        on[1].inverse().up().unwrap(),
        r#"DROP INDEX "sd_authors_name_key""#
    );
}

#[test]
fn an_upsert_names_the_live_rows_predicate() {
    let sql = crate::sql::writes::bulk_insert_on(
        SdAuthor::META,
        false,
        Some(crate::sql::writes::Conflict::Update {
            unique: &[&SdAuthor::META.fields[1]],
            update: &[&SdAuthor::META.fields[2]],
        }),
    );
    assert_eq!(
        sql,
        r#"INSERT INTO "sd_authors" ("name", "deleted_at") SELECT * FROM UNNEST($1::text[], $2::timestamptz[]) ON CONFLICT ("name") WHERE "deleted_at" IS NULL DO UPDATE SET "deleted_at" = "excluded"."deleted_at" RETURNING "id""#
    );
}

#[test]
fn restore_says_when_each_row_was_marked_for_its_cascade() {
    let filter = Node::leaf(
        &SdAuthor::META.fields[2],
        crate::query::q::Op::IsNull(false),
    );
    let restore = crate::soft_delete::restore_statement(SdAuthor::META, &filter).unwrap();
    assert_eq!(
        &*restore.sql,
        r#"UPDATE "sd_authors" SET "deleted_at" = NULL FROM (SELECT "sd_authors"."id", "sd_authors"."deleted_at" FROM "sd_authors" WHERE "sd_authors"."deleted_at" IS NOT NULL FOR UPDATE) AS "restored" WHERE "sd_authors"."id" = "restored"."id" RETURNING "sd_authors"."id", "restored"."deleted_at""#
    );
    let keys = Value::Array(vec![Value::I64(Some(1))]);
    let times = Value::Array(vec![Value::TimestampTz(Some(DateTime::<Utc>::UNIX_EPOCH))]);
    let children = crate::soft_delete::restore_cascade_statement(
        SdAuthor::META,
        SdBook::META,
        &SdBook::META.fields[1],
        (keys.clone(), times.clone()),
    )
    .unwrap();
    // Only the books marked at their author's moment: one marked on its
    // own earlier stays marked.
    assert_eq!(
        (&*children.sql, &children.binds[..]),
        (
            r#"UPDATE "sd_books" SET "removed_at" = NULL FROM UNNEST($1::bigint[], $2::timestamptz[]) AS "restored"("key", "at") WHERE "sd_books"."author_id" = "restored"."key" AND "sd_books"."removed_at" = "restored"."at" RETURNING "sd_books"."id", "restored"."at""#,
            &[keys, times][..]
        )
    );
}

#[test]
fn aggregates_across_relations_count_live_rows() {
    let stmt = aggregate_sql(SdAuthor::all(), &[crate::query::Count("books")]);
    assert_eq!(
        stmt.sql,
        r#"WITH "orm_base" AS (SELECT "sd_authors"."id", "sd_authors"."name", "sd_authors"."deleted_at" FROM "sd_authors" WHERE "sd_authors"."deleted_at" IS NULL) SELECT (SELECT COUNT("A1"."id") FROM "orm_base" JOIN "sd_books" AS "A1" ON "A1"."author_id" = "orm_base"."id" AND "A1"."removed_at" IS NULL) AS "books__count""#
    );
}
