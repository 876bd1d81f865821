//! The SQL a soft delete model adds to a query: the condition that
//! hides marked rows in the `EXISTS` of a lookup across a relation and in
//! `LEFT JOIN`s, and the `SET` that marks or clears the mark. Plain SQL
//! writing (the condition trees are in `filter.rs`).

use crate::meta::{FieldMeta, ModelMeta};
use crate::sql::SqlWriter;

/// The field that marks a row of `meta` deleted, if it is a soft delete model.
pub(crate) fn field(meta: &ModelMeta) -> Option<&'static FieldMeta> {
    let fields: &'static [FieldMeta] = meta.fields;
    meta.soft_delete.and_then(|i| fields.get(i))
}

/// ` AND "alias"."deleted_at" IS NULL` when `meta` is a soft delete model:
/// the related row of an `EXISTS` or a `LEFT JOIN` must be live.
pub(crate) fn push_live(w: &mut SqlWriter, meta: &ModelMeta, alias: &str) {
    if let Some(f) = field(meta) {
        w.push_sql(" AND ");
        w.push_column(alias, f.column);
        w.push_sql(" IS NULL");
    }
}

/// `UPDATE "t" SET "deleted_at" = now()` (`mark`) or `= NULL`, the
/// caller's ` WHERE` to follow. `now()` is the transaction's start: every
/// row a cascade marks gets the same time.
pub(crate) fn push_mark_set(w: &mut SqlWriter, meta: &ModelMeta, field: &FieldMeta, mark: bool) {
    w.push_sql("UPDATE ");
    w.push_ident(meta.table);
    w.push_sql(" SET ");
    w.push_ident(field.column);
    w.push_sql(if mark { " = now()" } else { " = NULL" });
}

/// ` WHERE "deleted_at" IS NULL` after an `ON CONFLICT (..)` target on a
/// soft delete model: its unique indexes are partial ones over the live
/// rows, which PostgreSQL infers only from this predicate.
pub(crate) fn push_conflict_where(w: &mut SqlWriter, meta: &ModelMeta) {
    if let Some(f) = field(meta) {
        w.push_sql(" WHERE ");
        w.push_ident(f.column);
        w.push_sql(" IS NULL");
    }
}
