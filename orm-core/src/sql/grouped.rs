//! The `SELECT`s of `values(..)` (with `annotate(..)`: `GROUP BY` and
//! `HAVING`) and of `annotate(..)` on model rows (each annotation a
//! correlated subquery or an expression), with their `ORDER BY`, `LIMIT`
//! and `OFFSET`. The query chain resolves and checks every name first.

use crate::meta::ModelMeta;
use crate::sql::aggregate::{push_aggregate_over, Resolved, Rows};
use crate::sql::clauses::{push_direction, push_limit_offset, Nulls, SortKey};
use crate::sql::condition::{push_node, push_sort_key, Scope};
use crate::sql::expr::Expr;
use crate::sql::joins::{push_path_joins, ColumnRef, PathJoin, Tables};
use crate::sql::tree::Node;
use crate::sql::{SqlWriter, Statement};
use crate::types::SqlType;

/// What an `ORDER BY` item names: a column (of the model or across a
/// relation) or an expression, or an output (an aggregate or annotation)
/// by its name in the result.
#[derive(Debug, Clone)]
pub(crate) enum OrderKey {
    Sort(SortKey),
    Output(String),
}

/// ` ORDER BY .. LIMIT n OFFSET $m`, the tail of both statements.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tail<'a> {
    /// Items and whether descending.
    pub order: &'a [(OrderKey, bool, Nulls)],
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

fn push_tail(w: &mut SqlWriter, tables: Tables<'_>, tail: Tail<'_>) {
    if !tail.order.is_empty() {
        w.push_sql(" ORDER BY ");
        w.push_list(tail.order, ", ", |w, (key, desc, nulls)| {
            match key {
                OrderKey::Sort(key) => push_sort_key(w, tables, key),
                OrderKey::Output(name) => w.push_ident(name),
            }
            push_direction(w, *desc, *nulls);
        });
    }
    push_limit_offset(w, tail.limit, tail.offset);
}

/// ` WHERE <filter>` when it is not [`Node::All`]; whether it wrote one.
fn push_filter(w: &mut SqlWriter, meta: &'static ModelMeta, filter: &Node) -> bool {
    if matches!(filter, Node::All) {
        return false;
    }
    w.push_sql(" WHERE ");
    push_node(w, Scope::root(meta), filter, false);
    true
}

pub(crate) use crate::sql::having::OutputNode;

/// The parts of a `values(..)` query: its fields, its aggregates over the
/// model's own rows, and conditions on them.
#[derive(Debug)]
pub(crate) struct ValuesSelect<'a> {
    pub meta: &'static ModelMeta,
    /// Columns of the model or across relations (`author__name`).
    pub fields: &'a [ColumnRef],
    /// The joins of the fields' and the ordering's paths.
    pub paths: &'a [PathJoin],
    /// `SELECT DISTINCT`.
    pub distinct: bool,
    pub aggregates: &'a [Resolved],
    /// Simplified, not [`Node::Nothing`].
    pub filter: &'a Node,
    /// Conditions on the aggregates (`HAVING`), `All` for none; not `Nothing`.
    pub having: &'a OutputNode<&'a Resolved>,
    pub tail: Tail<'a>,
}

/// `SELECT [DISTINCT] <fields>, <aggregates> FROM "t" [LEFT JOIN ..]
/// [WHERE ..] [GROUP BY <fields>] [HAVING ..] [ORDER BY ..] [LIMIT n]
/// [OFFSET $m]`.
///
/// As in Django, a column the ordering names and the fields do not is
/// added to the `GROUP BY` of a grouped query (and to the selected values
/// of a `DISTINCT` one, after the fields, where PostgreSQL wants it).
pub(crate) fn values_select(s: &ValuesSelect<'_>) -> Statement {
    let (meta, table) = (s.meta, s.meta.table);
    let tables = Tables {
        meta,
        selected: &[],
        paths: s.paths,
    };
    let mut w = SqlWriter::new();
    w.push_sql(if s.distinct {
        "SELECT DISTINCT "
    } else {
        "SELECT "
    });
    w.push_list(s.fields, ", ", |w, c| tables.push_column(w, *c));
    for (i, r) in s.aggregates.iter().enumerate() {
        if !s.fields.is_empty() || i > 0 {
            w.push_sql(", ");
        }
        r.push_call(&mut w, Rows::of(table, meta));
        w.push_sql(" AS ");
        w.push_ident(&r.name);
    }
    // The ordering's columns that are not among the fields.
    let extra: Vec<&SortKey> = s
        .tail
        .order
        .iter()
        .filter_map(|(key, ..)| match key {
            OrderKey::Sort(SortKey::Column(c)) if s.fields.contains(c) => None,
            OrderKey::Sort(key) => Some(key),
            OrderKey::Output(_) => None,
        })
        .collect();
    if s.distinct && s.aggregates.is_empty() {
        for key in &extra {
            w.push_sql(", ");
            push_sort_key(&mut w, tables, key);
        }
    }
    w.push_sql(" FROM ");
    w.push_ident(table);
    push_path_joins(&mut w, tables);
    push_filter(&mut w, meta, s.filter);
    if !s.aggregates.is_empty() && !s.fields.is_empty() {
        w.push_sql(" GROUP BY ");
        w.push_list(s.fields, ", ", |w, c| tables.push_column(w, *c));
        for key in &extra {
            w.push_sql(", ");
            push_sort_key(&mut w, tables, key);
        }
    }
    if !matches!(s.having, OutputNode::All) {
        w.push_sql(" HAVING ");
        s.having
            .push(&mut w, &mut |w, r| r.push_call(w, Rows::of(table, meta)));
    }
    push_tail(&mut w, tables, s.tail);
    w.finish()
}

/// One annotation of `annotate(..)`: an aggregate across a relation, or a
/// named expression with its result type.
#[derive(Debug)]
pub(crate) enum Output<'a> {
    Aggregate(Resolved),
    Expr(&'a str, &'a Expr, SqlType),
}

impl Output<'_> {
    /// Its name in the result.
    pub(crate) fn name(&self) -> String {
        match self {
            Output::Aggregate(r) => r.name.clone(),
            Output::Expr(name, ..) => (*name).to_owned(),
        }
    }

    /// Its SQL type, for decoding.
    pub(crate) fn ty(&self) -> SqlType {
        match self {
            Output::Aggregate(r) => r.ty,
            Output::Expr(_, _, ty) => *ty,
        }
    }

    /// The annotation's value for the row of `meta`'s table.
    fn push(&self, w: &mut SqlWriter, meta: &'static ModelMeta) {
        match self {
            Output::Aggregate(r) => push_aggregate_over(w, meta.table, meta, r, true),
            Output::Expr(_, expr, ty) => expr.push_typed(w, Scope::root(meta), *ty),
        }
    }
}

/// The parts of an `annotate(..)` query on model rows.
#[derive(Debug)]
pub(crate) struct AnnotateSelect<'a> {
    pub meta: &'static ModelMeta,
    /// The model's columns (`"t"."a", "t"."b", ..`).
    pub columns: &'static str,
    /// The joins of the ordering's paths (`author__name`).
    pub paths: &'a [PathJoin],
    pub outputs: &'a [Output<'a>],
    /// Simplified, not [`Node::Nothing`].
    pub filter: &'a Node,
    /// Conditions on annotations, `All` for none; not `Nothing`.
    pub conditions: &'a OutputNode<&'a Output<'a>>,
    pub tail: Tail<'a>,
}

/// `SELECT <columns>, <annotation> AS "name", .. FROM "t" [WHERE ..]
/// [ORDER BY ..] [LIMIT n] [OFFSET $m]`.
pub(crate) fn annotate_select(s: &AnnotateSelect<'_>) -> Statement {
    let windowed = !matches!(s.conditions, OutputNode::All)
        && s.outputs.iter().any(|out| match out {
            Output::Expr(_, expr, _) => expr.has_window(),
            Output::Aggregate(_) => false,
        });
    if windowed {
        return annotate_select_windowed(s);
    }
    let meta = s.meta;
    let mut w = SqlWriter::new();
    push_annotated_rows(&mut w, s);
    let tables = Tables {
        meta,
        selected: &[],
        paths: s.paths,
    };
    push_path_joins(&mut w, tables);
    let any = push_filter(&mut w, meta, s.filter);
    if !matches!(s.conditions, OutputNode::All) {
        let output = &mut |w: &mut SqlWriter, out: &&Output<'_>| out.push(w, meta);
        if any {
            w.push_sql(" AND ");
            s.conditions.push_child(&mut w, output);
        } else {
            w.push_sql(" WHERE ");
            s.conditions.push(&mut w, output);
        }
    }
    push_tail(&mut w, tables, s.tail);
    w.finish()
}

/// `SELECT <columns>, <annotation> AS "name", .. FROM "t"`.
fn push_annotated_rows(w: &mut SqlWriter, s: &AnnotateSelect<'_>) {
    w.push_sql("SELECT ");
    w.push_sql(s.columns);
    for out in s.outputs {
        w.push_sql(", ");
        out.push(w, s.meta);
        if out.ty() == SqlType::TsVector {
            // Read as its text; conditions use the `tsvector` itself.
            w.push_sql("::text");
        }
        w.push_sql(" AS ");
        w.push_ident(&out.name());
    }
    w.push_sql(" FROM ");
    w.push_ident(s.meta.table);
}

/// [`annotate_select`] when a condition is on a window function's
/// annotation: PostgreSQL computes windows after `WHERE`, so the
/// annotated rows are a subquery (named as the model's table, so the
/// model's columns and the ordering read the same) and the conditions
/// filter it by the annotations' names, as Django 4.2 does:
/// `SELECT <columns>, "t"."rank" FROM (SELECT .. AS "rank" FROM "t" WHERE
/// ..) AS "t" WHERE "t"."rank" <= $n ORDER BY ..`.
fn annotate_select_windowed(s: &AnnotateSelect<'_>) -> Statement {
    let meta = s.meta;
    let mut w = SqlWriter::new();
    w.push_sql("SELECT ");
    w.push_sql(s.columns);
    for out in s.outputs {
        w.push_sql(", ");
        w.push_column(meta.table, &out.name());
    }
    w.push_sql(" FROM (");
    push_annotated_rows(&mut w, s);
    push_filter(&mut w, meta, s.filter);
    w.push_sql(") AS ");
    w.push_ident(meta.table);
    w.push_sql(" WHERE ");
    s.conditions
        .push(&mut w, &mut |w: &mut SqlWriter, out: &&Output<'_>| {
            w.push_column(meta.table, &out.name())
        });
    // The query chain refuses an ordering across relations here (the
    // subquery would hide its joins).
    push_tail(&mut w, Tables::root(meta), s.tail);
    w.finish()
}
