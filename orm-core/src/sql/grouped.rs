//! The `SELECT`s of `values(..)` (with `annotate(..)`: `GROUP BY` and
//! `HAVING`) and of `annotate(..)` on model rows (each annotation a
//! correlated subquery or an expression), with their `ORDER BY`, `LIMIT`
//! and `OFFSET`. The query chain resolves and checks every name first.

use crate::meta::{FieldMeta, ModelMeta};
use crate::sql::aggregate::{push_aggregate_over, Resolved, Rows};
use crate::sql::clauses::{push_direction, push_limit_offset, Nulls};
use crate::sql::condition::{push_node, Scope};
use crate::sql::expr::Expr;
use crate::sql::tree::Node;
use crate::sql::{SqlWriter, Statement};
use crate::types::SqlType;

/// What an `ORDER BY` item names: a field of the model, or an output (an
/// aggregate or annotation) by its name in the result.
#[derive(Debug, Clone)]
pub(crate) enum OrderKey {
    Field(&'static FieldMeta),
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

fn push_tail(w: &mut SqlWriter, table: &str, tail: Tail<'_>) {
    if !tail.order.is_empty() {
        w.push_sql(" ORDER BY ");
        w.push_list(tail.order, ", ", |w, (key, desc, nulls)| {
            match key {
                OrderKey::Field(field) => w.push_column(table, field.column),
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
    pub fields: &'a [&'static FieldMeta],
    pub aggregates: &'a [Resolved],
    /// Simplified, not [`Node::Nothing`].
    pub filter: &'a Node,
    /// Conditions on the aggregates (`HAVING`), `All` for none; not `Nothing`.
    pub having: &'a OutputNode<&'a Resolved>,
    pub tail: Tail<'a>,
}

/// `SELECT <fields>, <aggregates> FROM "t" [WHERE ..] [GROUP BY <fields>]
/// [HAVING ..] [ORDER BY ..] [LIMIT n] [OFFSET $m]`.
pub(crate) fn values_select(s: &ValuesSelect<'_>) -> Statement {
    let (meta, table) = (s.meta, s.meta.table);
    let mut w = SqlWriter::new();
    w.push_sql("SELECT ");
    w.push_list(s.fields, ", ", |w, f| w.push_column(table, f.column));
    for (i, r) in s.aggregates.iter().enumerate() {
        if !s.fields.is_empty() || i > 0 {
            w.push_sql(", ");
        }
        r.push_call(&mut w, Rows::of(table, meta));
        w.push_sql(" AS ");
        w.push_ident(&r.name);
    }
    w.push_sql(" FROM ");
    w.push_ident(table);
    push_filter(&mut w, meta, s.filter);
    if !s.aggregates.is_empty() && !s.fields.is_empty() {
        w.push_sql(" GROUP BY ");
        w.push_list(s.fields, ", ", |w, f| w.push_column(table, f.column));
    }
    if !matches!(s.having, OutputNode::All) {
        w.push_sql(" HAVING ");
        s.having
            .push(&mut w, &mut |w, r| r.push_call(w, Rows::of(table, meta)));
    }
    push_tail(&mut w, table, s.tail);
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
    let meta = s.meta;
    let mut w = SqlWriter::new();
    w.push_sql("SELECT ");
    w.push_sql(s.columns);
    for out in s.outputs {
        w.push_sql(", ");
        out.push(&mut w, meta);
        w.push_sql(" AS ");
        w.push_ident(&out.name());
    }
    w.push_sql(" FROM ");
    w.push_ident(meta.table);
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
    push_tail(&mut w, meta.table, s.tail);
    w.finish()
}
