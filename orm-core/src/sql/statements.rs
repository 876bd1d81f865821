//! Whole statements of a query: `SELECT`, `COUNT`, `EXISTS`, `UPDATE`,
//! `DELETE` (the single-row writes by model are in `writes.rs`).
//!
//! A query renders the same text whatever its values (offsets and `in`
//! lists are parameters), so each is prepared once per
//! connection and reused.

use crate::meta::{FieldMeta, ModelMeta};
use crate::relation::RelationMeta;
use crate::sql::clauses::{push_limit_offset, Sort, SortKey};
use crate::sql::condition::{push_node, push_order_by, push_sort_key, Scope};
use crate::sql::joins::{
    push_join_columns, push_joins, push_path_joins, ColumnRef, Join, PathJoin, Table, Tables,
};
use crate::sql::tree::{Node, Set};
use crate::sql::writes::{push_returning, push_where_any, ModelStatements};
use crate::sql::{SqlWriter, Statement};
use crate::value::Value;

/// The parts of a `SELECT` over one model. `filter` is simplified and is
/// not [`Node::Nothing`] (a query that matches nothing is never sent).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Select<'a> {
    pub meta: &'static ModelMeta,
    pub statements: &'static ModelStatements,
    pub filter: &'a Node,
    pub order: &'a [Sort],
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    pub distinct: bool,
    /// `select_related` joins (only the plain `SELECT` uses them).
    pub joins: &'a [Join],
    /// The joins of the paths the ordering and the columns name
    /// (`author__name`).
    pub paths: &'a [PathJoin],
    /// `select_for_update` (only the plain `SELECT` uses it).
    pub lock: Option<&'a Lock>,
    /// `values_list`: these columns instead of the model's.
    pub columns: Option<&'a [ColumnRef]>,
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

    fn tables(&self) -> Tables<'_> {
        Tables {
            meta: self.meta,
            selected: self.joins,
            paths: self.paths,
        }
    }

    /// Whether `key` is among the selected values.
    fn selects(&self, key: &SortKey) -> bool {
        match (key, self.columns) {
            (SortKey::Expr(_), _) => false,
            (SortKey::Column(c), Some(columns)) => columns.contains(c),
            (SortKey::Column(c), None) => !matches!(c.table, Table::Path(_)),
        }
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
    let tables = s.tables();
    match s.columns {
        Some(columns) => w.push_list(columns, ", ", |w, c| tables.push_column(w, *c)),
        None => {
            w.push_sql(s.statements.columns(s.meta));
            push_join_columns(w, s.joins);
        }
    }
    if s.distinct && s.distinct_on.is_empty() {
        // PostgreSQL sorts a `SELECT DISTINCT` by selected values only:
        // the others follow the row (as Django adds them to the list).
        for sort in s.order.iter().filter(|sort| !s.selects(&sort.key)) {
            w.push_sql(", ");
            push_sort_key(w, tables, &sort.key);
        }
    }
    w.push_sql(" FROM ");
    w.push_ident(s.meta.table);
    push_joins(w, s.meta, s.joins);
    push_path_joins(w, tables);
    push_where_joined(w, s.meta, s.filter, s.joins);
    push_order_by(w, tables, s.order);
    push_limit_offset(w, s.limit, s.offset);
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
    debug_assert!(!s.order.iter().any(|o| matches!(
        o.key,
        SortKey::Column(ColumnRef {
            table: Table::Selected(_),
            ..
        })
    )));
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

/// `UPDATE .. SET <given columns> .. WHERE pk = $n RETURNING <every column>`
/// (for a composite key, `pk` is the array of its parts from
/// [`Model::pk`](crate::Model::pk): `WHERE "a" = $n AND "b" = $n+1`),
/// and `AND "tenant" = $m` with a tenant model's `tenant` value.
pub(crate) fn update_fields_by_pk(
    meta: &'static ModelMeta,
    sets: &[Set],
    pk: Value,
    tenant: Option<Value>,
) -> Statement {
    let mut w = SqlWriter::new();
    push_update_set(&mut w, meta, sets);
    w.push_sql(" WHERE ");
    match pk {
        // A composite key's parts, one condition per key field.
        Value::Array(parts) if meta.has_composite_pk() => {
            let pairs: Vec<_> = meta.pk_field_metas().zip(parts).collect();
            w.push_list(pairs, " AND ", |w, (f, part)| {
                w.push_ident(f.column);
                w.push_sql(" = ");
                w.push_bind(part);
            });
        }
        pk => {
            w.push_ident(meta.pk_field().column);
            w.push_sql(" = ");
            w.push_bind(pk);
        }
    }
    if let (Some(t), Some(value)) = (meta.tenant, tenant) {
        w.push_sql(" AND ");
        w.push_ident(meta.fields[t.field].column);
        w.push_sql(" = ");
        w.push_bind(value);
    }
    push_returning(&mut w, meta);
    w.finish()
}

/// `SELECT "t"."pk" FROM "t" [WHERE <filter>] FOR UPDATE`: the keys of the
/// rows a delete takes, locked (`delete_report`).
pub(crate) fn keys_for_update(meta: &'static ModelMeta, filter: &Node) -> Statement {
    let mut w = SqlWriter::new();
    w.push_sql("SELECT ");
    w.push_column(meta.table, meta.pk_field().column);
    w.push_sql(" FROM ");
    w.push_ident(meta.table);
    if !matches!(filter, Node::All) {
        w.push_sql(" WHERE ");
        push_node(&mut w, Scope::root(meta), filter, false);
    }
    w.push_sql(" FOR UPDATE");
    w.finish()
}

/// `SELECT "pk" FROM "child" WHERE "key" = ANY($1) FOR UPDATE`: the keys of
/// the `child` rows whose foreign key `key_col` holds one of `keys`, locked.
///
/// For a composite key, every key column is selected, in key order.
pub(crate) fn keys_referring(child: &ModelMeta, key_col: &str, keys: &Value) -> Statement {
    let mut w = SqlWriter::new();
    w.push_sql("SELECT ");
    w.push_list(child.pk_field_metas(), ", ", |w, f| w.push_ident(f.column));
    w.push_sql(" FROM ");
    w.push_ident(child.table);
    push_where_any(&mut w, key_col, keys);
    w.push_sql(" FOR UPDATE");
    w.finish()
}

/// `SELECT "own"::text, "other"::text FROM "link" WHERE "a" = ANY($1) [OR
/// "b" = ANY($1)]`: the pairs of a many-to-many link table with one of
/// `keys` in any of `columns` (`delete_report` counts them).
pub(crate) fn link_pairs(
    (table, own, other): crate::sql::writes::Link<'_>,
    columns: &[&str],
    keys: &Value,
) -> Statement {
    let mut w = SqlWriter::new();
    w.push_sql("SELECT ");
    w.push_ident(own);
    w.push_sql("::text, ");
    w.push_ident(other);
    w.push_sql("::text FROM ");
    w.push_ident(table);
    w.push_sql(" WHERE ");
    w.push_list(columns, " OR ", |w, col| {
        w.push_ident(col);
        w.push_sql(" = ANY($1)");
    });
    let mut stmt = w.finish();
    stmt.binds.push(keys.clone());
    stmt
}

/// `EXPLAIN [ANALYZE] <select>`, with the `SELECT`'s values.
pub(crate) fn explain(select: Statement, analyze: bool) -> Statement {
    let mut w = SqlWriter::new();
    w.push_sql(if analyze {
        "EXPLAIN ANALYZE "
    } else {
        "EXPLAIN "
    });
    // A statement this module wrote.
    w.push_text(&select.sql);
    Statement {
        sql: w.finish().sql,
        binds: select.binds,
    }
}

/// `EXPLAIN (FORMAT JSON) <select>`: the planner's estimate of its rows,
/// without running it.
pub(crate) fn explain_json(select: Statement) -> Statement {
    let mut w = SqlWriter::new();
    w.push_sql("EXPLAIN (FORMAT JSON) ");
    // A statement this module wrote.
    w.push_text(&select.sql);
    Statement {
        sql: w.finish().sql,
        binds: select.binds,
    }
}

/// `SELECT DISTINCT DATE_TRUNC($1, "t"."c" [AT TIME ZONE $2])::date FROM "t"
/// [WHERE ..] ORDER BY 1 ASC|DESC`: the distinct dates of a date or time
/// column, cut to `kind` (a bound `'year'`, `'month'`, `'week'` or
/// `'day'`); a `timestamptz` is read in `time_zone` first.
pub(crate) fn dates(
    meta: &'static ModelMeta,
    filter: &Node,
    field: &FieldMeta,
    kind: &'static str,
    time_zone: Option<&str>,
    desc: bool,
) -> Statement {
    truncated(meta, filter, field, kind, time_zone, Truncated::Date, desc)
}

/// `SELECT DISTINCT DATE_TRUNC($1, "t"."c" AT TIME ZONE $2) AT TIME ZONE $3
/// FROM "t" [WHERE ..] ORDER BY 1`: the distinct instants of a
/// `timestamptz` column cut to `kind` in `time_zone` (`$2` and `$3`, the
/// same zone), as Django's `datetimes()`.
pub(crate) fn datetimes(
    meta: &'static ModelMeta,
    filter: &Node,
    field: &FieldMeta,
    kind: &'static str,
    time_zone: &str,
    desc: bool,
) -> Statement {
    truncated(
        meta,
        filter,
        field,
        kind,
        Some(time_zone),
        Truncated::Instant,
        desc,
    )
}

/// What a cut value is read as.
enum Truncated {
    /// `::date`.
    Date,
    /// A `timestamptz` again, in the zone it was cut in.
    Instant,
}

fn truncated(
    meta: &'static ModelMeta,
    filter: &Node,
    field: &FieldMeta,
    kind: &'static str,
    time_zone: Option<&str>,
    read_as: Truncated,
    desc: bool,
) -> Statement {
    let mut w = SqlWriter::new();
    w.push_sql("SELECT DISTINCT DATE_TRUNC(");
    w.push_bind(Value::Text(Some(kind.to_owned())));
    w.push_sql(", ");
    w.push_column(meta.table, field.column);
    if let Some(zone) = time_zone {
        w.push_sql(" AT TIME ZONE ");
        w.push_bind(Value::Text(Some(zone.to_owned())));
    }
    w.push_sql(")");
    match read_as {
        Truncated::Date => w.push_sql("::date"),
        Truncated::Instant => {
            w.push_sql(" AT TIME ZONE ");
            w.push_bind(Value::Text(time_zone.map(str::to_owned)));
        }
    }
    w.push_sql(" FROM ");
    w.push_ident(meta.table);
    push_where(&mut w, meta, filter);
    w.push_sql(if desc {
        " ORDER BY 1 DESC"
    } else {
        " ORDER BY 1 ASC"
    });
    w.finish()
}
