//! Whole statements: `SELECT`, `COUNT`, `EXISTS`, `UPDATE`, `DELETE`, `INSERT`.
//!
//! A query renders the same text whatever its values (offsets and `in`
//! lists are parameters), so each is prepared once per
//! connection and reused.

use std::sync::OnceLock;

use crate::meta::{FieldMeta, ModelMeta};
use crate::query::q::{Node, Set};
use crate::query::related::{push_join_columns, push_joins, Join};
use crate::relation::{Hop, RelationMeta};
use crate::sql::condition::{push_join_target, push_node, Scope};
use crate::sql::{SqlWriter, Statement};
use crate::types::SqlType;
use crate::value::Value;

/// Statement texts that depend only on the model, rendered on first use
/// and kept for the life of the program (one per model, in a static the
/// derive emits): the column list, and the single-row writes.
#[doc(hidden)]
#[derive(Debug)]
pub struct ModelStatements {
    columns: OnceLock<String>,
    insert: [OnceLock<(String, Box<[usize]>)>; 2],
    bulk_insert: [OnceLock<String>; 2],
    copy_in: [OnceLock<(String, String)>; 2],
    update_by_pk: OnceLock<String>,
    delete_by_pk: OnceLock<String>,
}

impl ModelStatements {
    /// An empty cache.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        ModelStatements {
            columns: OnceLock::new(),
            insert: [OnceLock::new(), OnceLock::new()],
            bulk_insert: [OnceLock::new(), OnceLock::new()],
            copy_in: [OnceLock::new(), OnceLock::new()],
            update_by_pk: OnceLock::new(),
            delete_by_pk: OnceLock::new(),
        }
    }

    /// `"table"."a", "table"."b", ..`: every column, in field order.
    pub(crate) fn columns(&'static self, meta: &ModelMeta) -> &'static str {
        self.columns.get_or_init(|| {
            let mut w = SqlWriter::new();
            w.push_list(meta.fields, ", ", |w, f| {
                w.push_column(meta.table, f.column)
            });
            w.finish().sql
        })
    }

    /// The single-row [`insert`], and the indexes of the fields it reads
    /// back ([`returned_fields`]), in the order of its `RETURNING`.
    pub(crate) fn insert(&self, meta: &'static ModelMeta, with_pk: bool) -> (&str, &[usize]) {
        let (sql, returned) = self.insert[usize::from(with_pk)].get_or_init(|| {
            let returned = returned_fields(meta, with_pk).map(|(i, _)| i).collect();
            (insert(meta, with_pk), returned)
        });
        (sql, returned)
    }

    pub(crate) fn bulk_insert(&self, meta: &'static ModelMeta, with_pk: bool) -> &str {
        self.bulk_insert[usize::from(with_pk)].get_or_init(|| bulk_insert(meta, with_pk))
    }

    /// The `COPY .. FROM STDIN` of [`copy_in`], and a `SELECT` of the same
    /// columns that reads no row, prepared for the columns' types.
    pub(crate) fn copy_in(&self, meta: &'static ModelMeta, with_pk: bool) -> (&str, &str) {
        let (copy, types) =
            self.copy_in[usize::from(with_pk)].get_or_init(|| copy_in(meta, with_pk));
        (copy, types)
    }

    pub(crate) fn update_by_pk(&self, meta: &'static ModelMeta) -> &str {
        self.update_by_pk.get_or_init(|| update_by_pk(meta))
    }

    pub(crate) fn delete_by_pk(&self, meta: &'static ModelMeta) -> &str {
        self.delete_by_pk.get_or_init(|| delete_by_pk(meta))
    }
}

/// The parts of a `SELECT` over one model. `filter` is simplified and is
/// not [`Node::Nothing`] (a query that matches nothing is never sent).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Select<'a> {
    pub meta: &'static ModelMeta,
    pub statements: &'static ModelStatements,
    pub filter: &'a Node,
    pub order: &'a [(&'static FieldMeta, bool)],
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    pub distinct: bool,
    /// `select_related` joins (only the plain `SELECT` uses them).
    pub joins: &'a [Join],
    /// `select_for_update` (only the plain `SELECT` uses it).
    pub lock: Option<&'a Lock>,
    /// `values_list`: these columns instead of the model's.
    pub columns: Option<&'a [&'static FieldMeta]>,
    /// `DISTINCT ON (..)`.
    pub distinct_on: &'a [&'static FieldMeta],
}

/// `FOR UPDATE [OF ..] [NOWAIT | SKIP LOCKED]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Lock {
    pub nowait: bool,
    pub skip_locked: bool,
    /// `"self"` or `select_related` paths; empty: every table, or only the
    /// queried one when there are joins (a LEFT JOIN's nullable side cannot
    /// be locked).
    pub of: Vec<String>,
}

impl Select<'_> {
    fn sliced(&self) -> bool {
        self.limit.is_some() || self.offset.is_some()
    }
}

/// ` WHERE <filter>` on `meta`'s own table (nothing for [`Node::All`]).
pub(crate) fn push_where(w: &mut SqlWriter, meta: &'static ModelMeta, filter: &Node) {
    push_where_joined(w, meta, filter, &[]);
}

/// As [`push_where`], with the query's `select_related` joins: lookups
/// across them become conditions on the joined rows.
fn push_where_joined(w: &mut SqlWriter, meta: &'static ModelMeta, filter: &Node, joins: &[Join]) {
    if matches!(filter, Node::All) {
        return;
    }
    w.push_sql(" WHERE ");
    let joined: Vec<(&'static RelationMeta, &str)> = joins
        .iter()
        .filter(|j| j.parent.is_none())
        .map(|j| (j.rel, j.alias.as_str()))
        .collect();
    let scope = Scope {
        joined: &joined,
        ..Scope::root(meta)
    };
    push_node(w, scope, filter, false);
}

/// Writes `SELECT <every column> FROM .. WHERE .. ORDER BY .. LIMIT n OFFSET $m`.
pub(crate) fn push_select(w: &mut SqlWriter, s: &Select<'_>) {
    if !s.distinct_on.is_empty() {
        w.push_sql("SELECT DISTINCT ON (");
        w.push_list(s.distinct_on, ", ", |w, f| {
            w.push_column(s.meta.table, f.column)
        });
        w.push_sql(") ");
    } else if s.distinct {
        w.push_sql("SELECT DISTINCT ");
    } else {
        w.push_sql("SELECT ");
    }
    match s.columns {
        Some(columns) => w.push_list(columns, ", ", |w, f| w.push_column(s.meta.table, f.column)),
        None => {
            w.push_sql(s.statements.columns(s.meta));
            push_join_columns(w, s.joins);
        }
    }
    w.push_sql(" FROM ");
    w.push_ident(s.meta.table);
    push_joins(w, s.meta, s.joins);
    push_where_joined(w, s.meta, s.filter, s.joins);
    if !s.order.is_empty() {
        w.push_sql(" ORDER BY ");
        w.push_list(s.order, ", ", |w, (field, desc)| {
            w.push_column(s.meta.table, field.column);
            w.push_sql(if *desc { " DESC" } else { " ASC" });
        });
    }
    // A literal, not a parameter: with `LIMIT $n` PostgreSQL cannot use a
    // generic plan and re-plans on every execution (measured: +40 us per
    // query). A call site's limit rarely varies, so statements stay few.
    if let Some(limit) = s.limit {
        w.push_sql(" LIMIT ");
        w.push_int(limit);
    }
    if let Some(offset) = s.offset {
        w.push_sql(" OFFSET ");
        w.push_bind(Value::I64(Some(offset)));
    }
    if let Some(lock) = s.lock {
        w.push_sql(" FOR UPDATE");
        let of: Vec<&str> = if lock.of.is_empty() && !s.joins.is_empty() {
            vec![s.meta.table]
        } else {
            lock.of
                .iter()
                .map(|p| {
                    if p == "self" {
                        s.meta.table
                    } else {
                        p.as_str()
                    }
                })
                .collect()
        };
        if !of.is_empty() {
            w.push_sql(" OF ");
            w.push_list(of, ", ", |w, name| {
                if name == s.meta.table {
                    w.push_ident(name);
                } else {
                    w.push_ident(&format!("sr_{name}"));
                }
            });
        }
        if lock.nowait {
            w.push_sql(" NOWAIT");
        } else if lock.skip_locked {
            w.push_sql(" SKIP LOCKED");
        }
    }
}

/// `SELECT <every column> FROM .. WHERE .. ORDER BY .. LIMIT n OFFSET $m`.
pub(crate) fn select(s: &Select<'_>) -> Statement {
    let mut w = SqlWriter::new();
    push_select(&mut w, s);
    w.finish()
}

/// `SELECT COUNT(*) ..`; over a subquery when the query is sliced or distinct.
#[cfg(test)]
pub(crate) fn count(s: &Select<'_>) -> Statement {
    let mut w = SqlWriter::new();
    push_count(&mut w, s);
    w.finish()
}

/// Writes [`count`].
pub(crate) fn push_count(w: &mut SqlWriter, s: &Select<'_>) {
    let s = &Select {
        joins: &[],
        lock: None,
        columns: None,
        ..*s
    };
    if s.sliced() || s.distinct || !s.distinct_on.is_empty() {
        w.push_sql("SELECT COUNT(*) FROM (");
        push_select(w, s);
        w.push_sql(") AS \"subquery\"");
    } else {
        w.push_sql("SELECT COUNT(*) FROM ");
        w.push_ident(s.meta.table);
        push_where(w, s.meta, s.filter);
    }
}

/// `SELECT 1 .. LIMIT 1`: one row back means at least one match.
#[cfg(test)]
pub(crate) fn exists(s: &Select<'_>) -> Statement {
    let mut w = SqlWriter::new();
    push_exists(&mut w, s);
    w.finish()
}

/// Writes [`exists`].
pub(crate) fn push_exists(w: &mut SqlWriter, s: &Select<'_>) {
    let s = &Select {
        joins: &[],
        lock: None,
        columns: None,
        ..*s
    };
    if s.sliced() {
        w.push_sql("SELECT 1 FROM (");
        push_select(w, s);
        w.push_sql(") AS \"subquery\" LIMIT 1");
    } else {
        w.push_sql("SELECT 1 FROM ");
        w.push_ident(s.meta.table);
        push_where(w, s.meta, s.filter);
        w.push_sql(" LIMIT 1");
    }
}

/// `UPDATE "table" SET col = $n, ..`.
fn push_update_set(w: &mut SqlWriter, meta: &'static ModelMeta, sets: &[Set]) {
    w.push_sql("UPDATE ");
    w.push_ident(meta.table);
    w.push_sql(" SET ");
    w.push_list(sets, ", ", |w, set| {
        w.push_ident(set.field.column);
        w.push_sql(" = ");
        match &set.expr {
            Some(expr) => expr.push_sql(w, crate::sql::condition::Scope::root(meta)),
            None => w.push_bind(set.value.clone()),
        }
    });
}

/// `UPDATE .. SET col = $n, .. WHERE ..`.
#[cfg(test)]
pub(crate) fn update(meta: &'static ModelMeta, filter: &Node, sets: &[Set]) -> Statement {
    let mut w = SqlWriter::new();
    push_update(&mut w, meta, filter, sets);
    w.finish()
}

/// Writes [`update`].
pub(crate) fn push_update(
    w: &mut SqlWriter,
    meta: &'static ModelMeta,
    filter: &Node,
    sets: &[Set],
) {
    push_update_set(w, meta, sets);
    push_where(w, meta, filter);
}

/// `DELETE FROM .. WHERE ..`.
#[cfg(test)]
pub(crate) fn delete(meta: &'static ModelMeta, filter: &Node) -> Statement {
    let mut w = SqlWriter::new();
    push_delete(&mut w, meta, filter);
    w.finish()
}

/// Writes [`delete`].
pub(crate) fn push_delete(w: &mut SqlWriter, meta: &'static ModelMeta, filter: &Node) {
    w.push_sql("DELETE FROM ");
    w.push_ident(meta.table);
    push_where(w, meta, filter);
}

/// The fields an `INSERT` writes: all, or all but an identity primary key.
pub(crate) fn insert_fields(
    meta: &'static ModelMeta,
    with_pk: bool,
) -> impl Iterator<Item = (usize, &'static FieldMeta)> {
    fields_where(meta, move |f| with_pk || !f.auto)
}

/// The fields, with their indexes, that `keep` selects.
fn fields_where(
    meta: &'static ModelMeta,
    keep: impl Fn(&FieldMeta) -> bool,
) -> impl Iterator<Item = (usize, &'static FieldMeta)> {
    meta.fields.iter().enumerate().filter(move |(_, f)| keep(f))
}

fn push_returning(w: &mut SqlWriter, meta: &ModelMeta) {
    w.push_sql(" RETURNING ");
    w.push_list(meta.fields, ", ", |w, f| w.push_ident(f.column));
}

/// The fields the database fills on an `INSERT` of [`insert_fields`]: the
/// identity primary key when it is not given, else none. Every other column
/// is sent, so this is all a bulk insert needs to read back (as Django's
/// `bulk_create`, which reads back the primary keys only).
pub(crate) fn generated_fields(
    meta: &'static ModelMeta,
    with_pk: bool,
) -> impl Iterator<Item = (usize, &'static FieldMeta)> {
    fields_where(meta, move |f| !with_pk && f.auto)
}

/// ` RETURNING <fields' columns>`, or nothing when there are none.
fn push_returning_fields(
    w: &mut SqlWriter,
    fields: impl Iterator<Item = (usize, &'static FieldMeta)>,
) {
    let fields: Vec<_> = fields.collect();
    if !fields.is_empty() {
        w.push_sql(" RETURNING ");
        w.push_list(&fields, ", ", |w, (_, f)| w.push_ident(f.column));
    }
}

/// The fields a single-row [`insert`] reads back: the [`generated_fields`],
/// and those whose type the database may store otherwise than sent, so the
/// saved object equals what a later get returns. Times keep microseconds
/// where chrono has nanoseconds; `jsonb` keeps numbers as `numeric`, so a
/// float such as `1e16` comes back as an integer. Every other type stores
/// the value sent as it is, and Django too reads back only the key.
pub(crate) fn returned_fields(
    meta: &'static ModelMeta,
    with_pk: bool,
) -> impl Iterator<Item = (usize, &'static FieldMeta)> {
    fields_where(meta, move |f| {
        (!with_pk && f.auto)
            || matches!(
                f.sql_type,
                SqlType::Time | SqlType::Timestamp | SqlType::TimestampTz | SqlType::Jsonb
            )
    })
}

/// `INSERT INTO .. (..) VALUES ($1, ..) RETURNING <returned_fields>` (no
/// `RETURNING` when there are none); the caller binds the fields of
/// [`insert_fields`] in order.
pub(crate) fn insert(meta: &'static ModelMeta, with_pk: bool) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("INSERT INTO ");
    w.push_ident(meta.table);
    let fields: Vec<_> = insert_fields(meta, with_pk).collect();
    if fields.is_empty() {
        w.push_sql(" DEFAULT VALUES");
    } else {
        w.push_sql(" (");
        w.push_list(&fields, ", ", |w, (_, f)| w.push_ident(f.column));
        w.push_sql(") VALUES (");
        w.push_list(1..=fields.len(), ", ", |w, n| w.push_placeholder(n));
        w.push_sql(")");
    }
    push_returning_fields(&mut w, returned_fields(meta, with_pk));
    w.finish().sql
}

/// `INSERT INTO .. (..) SELECT * FROM UNNEST($1::type[], ..) RETURNING <generated>`:
/// one statement text whatever the number of rows, one array per column.
/// A model with no column to insert (only a generated key) gets
/// `INSERT INTO .. SELECT FROM generate_series(1, $1::int8)`: `$1` rows of
/// defaults.
pub(crate) fn bulk_insert(meta: &'static ModelMeta, with_pk: bool) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("INSERT INTO ");
    w.push_ident(meta.table);
    let fields: Vec<_> = insert_fields(meta, with_pk).collect();
    if fields.is_empty() {
        w.push_sql(" SELECT FROM generate_series(1, $1::int8)");
        push_returning_fields(&mut w, generated_fields(meta, with_pk));
        return w.finish().sql;
    }
    w.push_sql(" (");
    w.push_list(&fields, ", ", |w, (_, f)| w.push_ident(f.column));
    w.push_sql(") SELECT * FROM UNNEST(");
    w.push_list(fields.iter().enumerate(), ", ", |w, (n, (_, f))| {
        w.push_placeholder(n + 1);
        w.push_sql("::");
        w.push_text(&f.ddl_type());
        w.push_sql("[]");
    });
    w.push_sql(")");
    push_returning_fields(&mut w, generated_fields(meta, with_pk));
    w.finish().sql
}

/// `COPY "table" (..) FROM STDIN (FORMAT binary)` for the fields of
/// [`insert_fields`], and `SELECT <those columns> FROM "table" LIMIT 0`,
/// whose prepared form gives the columns' types (enums included).
pub(crate) fn copy_in(meta: &'static ModelMeta, with_pk: bool) -> (String, String) {
    let fields: Vec<_> = insert_fields(meta, with_pk).collect();
    let mut copy = SqlWriter::new();
    copy.push_sql("COPY ");
    copy.push_ident(meta.table);
    copy.push_sql(" (");
    copy.push_list(&fields, ", ", |w, (_, f)| w.push_ident(f.column));
    copy.push_sql(") FROM STDIN (FORMAT binary)");
    let mut types = SqlWriter::new();
    types.push_sql("SELECT ");
    types.push_list(&fields, ", ", |w, (_, f)| w.push_ident(f.column));
    types.push_sql(" FROM ");
    types.push_ident(meta.table);
    types.push_sql(" LIMIT 0");
    (copy.finish().sql, types.finish().sql)
}

/// `UPDATE .. SET <every other column> = $n .. WHERE pk = $last`; the
/// caller binds the non-pk fields in order, then the primary key.
pub(crate) fn update_by_pk(meta: &'static ModelMeta) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("UPDATE ");
    w.push_ident(meta.table);
    w.push_sql(" SET ");
    let others: Vec<_> = meta.fields.iter().filter(|f| !f.primary_key).collect();
    w.push_list(others.iter().enumerate(), ", ", |w, (n, f)| {
        w.push_ident(f.column);
        w.push_sql(" = ");
        w.push_placeholder(n + 1);
    });
    w.push_sql(" WHERE ");
    w.push_ident(meta.pk_field().column);
    w.push_sql(" = ");
    w.push_placeholder(others.len() + 1);
    w.finish().sql
}

/// `UPDATE .. SET <given columns> .. WHERE pk = $n RETURNING <every column>`.
pub(crate) fn update_fields_by_pk(meta: &'static ModelMeta, sets: &[Set], pk: Value) -> Statement {
    let mut w = SqlWriter::new();
    push_update_set(&mut w, meta, sets);
    w.push_sql(" WHERE ");
    w.push_ident(meta.pk_field().column);
    w.push_sql(" = ");
    w.push_bind(pk);
    push_returning(&mut w, meta);
    w.finish()
}

/// `DELETE FROM .. WHERE pk = $1`.
pub(crate) fn delete_by_pk(meta: &'static ModelMeta) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("DELETE FROM ");
    w.push_ident(meta.table);
    w.push_sql(" WHERE ");
    w.push_ident(meta.pk_field().column);
    w.push_sql(" = $1");
    w.finish().sql
}

/// `SELECT "a", "b" FROM "table" ORDER BY "c", ..` over a table no model
/// describes (the migration history).
pub(crate) fn select_table(table: &str, columns: &[&str], order_by: &[&str]) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("SELECT ");
    w.push_list(columns, ", ", |w, c| w.push_ident(c));
    w.push_sql(" FROM ");
    w.push_ident(table);
    w.push_sql(" ORDER BY ");
    w.push_list(order_by, ", ", |w, c| w.push_ident(c));
    w.finish().sql
}

/// `INSERT INTO "table" ("a", "b") VALUES ($1, $2)` into a table no model
/// describes.
pub(crate) fn insert_into_table(table: &str, columns: &[&str]) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("INSERT INTO ");
    w.push_ident(table);
    w.push_sql(" (");
    w.push_list(columns, ", ", |w, c| w.push_ident(c));
    w.push_sql(") VALUES (");
    w.push_list(1..=columns.len(), ", ", SqlWriter::push_placeholder);
    w.push_sql(")");
    w.finish().sql
}

/// `DELETE FROM "table" WHERE "column" = $1` on a table no model describes.
pub(crate) fn delete_from_table(table: &str, column: &str) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("DELETE FROM ");
    w.push_ident(table);
    w.push_sql(" WHERE ");
    w.push_ident(column);
    w.push_sql(" = $1");
    w.finish().sql
}

/// `SELECT <aggregates> FROM ..`; over a subquery when sliced or distinct.
/// When an aggregate crosses a relation, the matching rows become a CTE
/// and each aggregate a scalar subquery over it, so aggregates over
/// different relations never inflate each other (nor the model's own):
/// `WITH "orm_base" AS (SELECT .. WHERE ..) SELECT (SELECT SUM("orm_base"."karma")
/// FROM "orm_base") AS .., (SELECT COUNT("A1"."id") FROM "orm_base" JOIN "posts"
/// AS "A1" ON ..) AS ..` (the CTE's name is unlikely to shadow a model table).
pub(crate) fn aggregate(s: &Select<'_>, items: &[crate::query::values::Resolved<'_>]) -> Statement {
    let mut w = SqlWriter::new();
    let inner = Select {
        joins: &[],
        lock: None,
        columns: None,
        distinct_on: &[],
        ..*s
    };
    if items.iter().any(|r| !r.hops.is_empty()) {
        w.push_sql("WITH \"orm_base\" AS (");
        push_select(&mut w, &inner);
        w.push_sql(") SELECT ");
        w.push_list(items, ", ", |w, r| {
            push_aggregate_over(w, "orm_base", s.meta, r, false);
            w.push_sql(" AS ");
            w.push_ident(&r.agg.name());
        });
        return w.finish();
    }
    let sub = s.limit.is_some() || s.offset.is_some() || s.distinct;
    let table = if sub { "subquery" } else { s.meta.table };
    w.push_sql("SELECT ");
    w.push_list(items, ", ", |w, r| {
        r.agg.push_sql(w, table, r.field, r.ty);
        w.push_sql(" AS ");
        w.push_ident(&r.agg.name());
    });
    w.push_sql(" FROM ");
    if sub {
        w.push_sql("(");
        push_select(&mut w, &inner);
        w.push_sql(") AS \"subquery\"");
    } else {
        w.push_ident(s.meta.table);
        push_where(&mut w, s.meta, s.filter);
    }
    w.finish()
}

/// An aggregate over the rows reached from `outer` (a table or alias of
/// model `outer_meta`) through `r.hops`, as a scalar subquery:
///
/// - `correlated`, per row of the enclosing query (`annotate`):
///   `(SELECT COUNT("A1"."id") FROM "posts" AS "A1" WHERE "A1"."author_id" = "users"."id")`;
/// - otherwise over every row of `outer` (`aggregate` over a CTE):
///   `(SELECT SUM("A1"."views") FROM "orm_base" JOIN "posts" AS "A1" ON "A1"."author_id" = "orm_base"."id")`.
pub(crate) fn push_aggregate_over(
    w: &mut SqlWriter,
    outer: &str,
    outer_meta: &ModelMeta,
    r: &crate::query::values::Resolved<'_>,
    correlated: bool,
) {
    let alias = |i: usize| format!("A{}", i + 1);
    w.push_sql("(SELECT ");
    let last = match r.hops.len() {
        0 => outer.to_owned(),
        n => alias(n - 1),
    };
    r.agg.push_sql(w, &last, r.field, r.ty);
    w.push_sql(" FROM ");
    if !correlated {
        w.push_ident(outer);
    }
    let mut correlation: Option<(String, &'static str, &'static str)> = None;
    for (i, hop) in r.hops.iter().enumerate() {
        let this = alias(i);
        let prev = if i == 0 {
            outer.to_owned()
        } else {
            alias(i - 1)
        };
        let prev_pk = if i == 0 {
            outer_meta.pk_field().column
        } else {
            r.hops[i - 1].target().pk_field().column
        };
        // The first table of a correlated subquery is joined by its WHERE.
        let joined = i > 0 || !correlated;
        match hop {
            Hop::Key {
                target,
                target_col,
                source_col,
            } => {
                if joined {
                    w.push_sql(" JOIN ");
                }
                w.push_ident(target.table);
                w.push_sql(" AS ");
                w.push_ident(&this);
                if joined {
                    w.push_sql(" ON ");
                    w.push_column(&this, target_col);
                    w.push_sql(" = ");
                    w.push_column(&prev, source_col);
                } else {
                    correlation = Some((this.clone(), target_col, source_col));
                }
            }
            Hop::Through {
                target,
                through,
                source_col,
                target_col,
            } => {
                let link = format!("{this}_link");
                if joined {
                    w.push_sql(" JOIN ");
                }
                w.push_ident(through);
                w.push_sql(" AS ");
                w.push_ident(&link);
                if joined {
                    w.push_sql(" ON ");
                    w.push_column(&link, source_col);
                    w.push_sql(" = ");
                    w.push_column(&prev, prev_pk);
                } else {
                    correlation = Some((link.clone(), source_col, prev_pk));
                }
                push_join_target(w, target, &this, &link, target_col);
            }
        }
    }
    if let Some((table, inner_col, outer_col)) = correlation {
        w.push_sql(" WHERE ");
        w.push_column(&table, inner_col);
        w.push_sql(" = ");
        w.push_column(outer, outer_col);
    }
    w.push_sql(")");
}

/// `SELECT "t"."col" FROM "t" WHERE .. [ORDER BY ..] [LIMIT n] [OFFSET $m]`
/// for an `__in` subquery, written into the outer statement's writer.
pub(crate) fn push_subquery(w: &mut SqlWriter, sub: &crate::query::q::Subquery) {
    let meta = sub.meta;
    w.push_sql("SELECT ");
    match sub.column {
        Some(column) => w.push_column(meta.table, column.column),
        None => w.push_sql("NULL"),
    }
    w.push_sql(" FROM ");
    w.push_ident(meta.table);
    match &sub.filter {
        Node::All => {}
        Node::Nothing => w.push_sql(" WHERE FALSE"),
        filter => push_where(w, meta, filter),
    }
    if sub.limit.is_some() || sub.offset.is_some() {
        if !sub.order.is_empty() {
            w.push_sql(" ORDER BY ");
            w.push_list(&sub.order, ", ", |w, (field, desc)| {
                w.push_column(meta.table, field.column);
                w.push_sql(if *desc { " DESC" } else { " ASC" });
            });
        }
        if let Some(limit) = sub.limit {
            w.push_sql(" LIMIT ");
            w.push_int(limit);
        }
        if let Some(offset) = sub.offset {
            w.push_sql(" OFFSET ");
            w.push_bind(Value::I64(Some(offset)));
        }
    }
}
