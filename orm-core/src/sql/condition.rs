//! Writing conditions and expressions: `WHERE` (lookups, `LIKE` escaping,
//! Django's NULL rules, `EXISTS` across relations), expressions (`F`,
//! arithmetic, subqueries; functions through `functions.rs`) and
//! `ORDER BY`, which each may hold.

use crate::meta::ModelMeta;
use crate::relation::{Hop, RelationMeta};
use crate::sql::clauses::{push_direction, push_limit_offset};
use crate::sql::expr::{resolve, Arith, Expr};
use crate::sql::joins::{push_join_target, push_link_source_tenant, Table, Tables};
use crate::sql::tree::{Cmp, Cond, JsonKey, Like, Node, Op, Subquery, Transform};
use crate::sql::tree::{Sort, SortKey};
use crate::sql::SqlWriter;
use crate::types::SqlType;
use crate::value::Value;
use orm_names::{TransformOn, TransformOutput};

/// Escapes `\`, `%` and `_` so `text` matches literally inside a `LIKE`
/// pattern (PostgreSQL's default escape character is `\`).
pub(crate) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The bound `LIKE` pattern of `text`: escaped, with `%` where it is not
/// anchored.
pub(crate) fn like_pattern(at: Like, text: &str) -> String {
    let escaped = escape_like(text);
    match at {
        Like::Contains => format!("%{escaped}%"),
        Like::StartsWith => format!("{escaped}%"),
        Like::EndsWith => format!("%{escaped}"),
    }
}

/// Where a condition is rendered: the alias of the table its fields
/// belong to, the subquery depth, and whether conditions on the same
/// relation share one `EXISTS` (inside a `filter()` call) or not (`exclude()`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub alias: &'a str,
    pub meta: &'static ModelMeta,
    pub depth: usize,
    pub same_row: bool,
    /// Inside `Exists(..)`: the enclosing query's alias and model, for `OuterRef`.
    pub outer: Option<(&'a str, &'static ModelMeta)>,
    /// The row `F("..")` names: the queried model's, also inside the
    /// `EXISTS` of a lookup across a relation (as Django's `F`).
    pub row: (&'a str, &'static ModelMeta),
    /// The queried model's `select_related` joins (relation, alias): a
    /// lookup across one of them, outside any `NOT`, is a condition on the
    /// joined row instead of an `EXISTS`.
    pub joined: &'a [(&'static RelationMeta, &'a str)],
    /// The rows an aggregate's subquery reaches from the queried row
    /// (`FILTER (WHERE ..)`): `reached[i]` is the relation of step `i` and
    /// the alias of its row. A lookup whose path starts with these steps is
    /// a condition on that row (Django's reused join), not an `EXISTS`.
    pub reached: &'a [(&'static RelationMeta, &'a str)],
}

impl<'a> Scope<'a> {
    pub(crate) fn root(meta: &'static ModelMeta) -> Scope<'a> {
        Scope {
            alias: meta.table,
            meta,
            depth: 0,
            same_row: true,
            outer: None,
            row: (meta.table, meta),
            joined: &[],
            reached: &[],
        }
    }
}

/// Relation metadata may be a copy (a constant): compared by identity, as
/// in `push_on_join`.
fn same_relation(a: &RelationMeta, b: &RelationMeta) -> bool {
    a.name == b.name && a.owner.meta().table == b.owner.meta().table
}

/// A leaf whose path starts with steps of `scope.reached`: the leaf with
/// those steps taken off and the scope of the row they reach.
fn reached<'s>(scope: Scope<'s>, cond: &Cond) -> Option<(Scope<'s>, Cond)> {
    let taken = cond
        .path
        .steps()
        .zip(scope.reached)
        .take_while(|(step, (rel, _))| same_relation(step, rel))
        .count();
    let (rel, alias) = *scope.reached.get(taken.checked_sub(1)?)?;
    let mut path = cond.path;
    for _ in 0..taken {
        path = path.rest();
    }
    let inner = Scope {
        alias,
        meta: rel.target.meta(),
        joined: &[],
        reached: &[],
        ..scope
    };
    Some((
        inner,
        Cond {
            path,
            field: cond.field,
            op: cond.op.clone(),
        },
    ))
}

/// Renders a simplified tree (no `All` / `Nothing` inside).
///
/// `negated` is true under an odd number of `NOT`s. There a lookup on a
/// nullable column becomes `(lookup AND col IS NOT NULL)`, as in Django, so
/// `exclude(x = 1)` keeps the rows where `x` is NULL instead of losing them
/// to SQL's three-valued logic.
///
/// Lookups across relations become correlated `EXISTS` subqueries: inside
/// one `filter()` call, the conditions on one relation share a subquery
/// (they must hold for the same related row); separate calls, `exclude()`
/// and `OR` branches get their own. An `EXISTS` never duplicates the rows
/// of the outer query.
pub(crate) fn push_node(w: &mut SqlWriter, scope: Scope<'_>, node: &Node, negated: bool) {
    match node {
        // A simplified tree has no constants except at the top, where the
        // caller handles them; render them as literals to stay total.
        Node::All => w.push_sql("TRUE"),
        Node::Nothing => w.push_sql("FALSE"),
        Node::Leaf(cond) if !scope.reached.is_empty() && !cond.path.is_empty() => {
            match reached(scope, cond) {
                Some((inner, cond)) => push_node(w, inner, &Node::Leaf(cond), negated),
                None => push_node(
                    w,
                    Scope {
                        reached: &[],
                        ..scope
                    },
                    node,
                    negated,
                ),
            }
        }
        Node::Leaf(cond) if !cond.path.is_empty() => {
            push_related(w, scope, std::slice::from_ref(node), negated);
        }
        Node::Leaf(cond) => {
            if needs_guard(cond, negated) {
                w.push_sql("(");
                push_cond(w, scope, cond);
                w.push_sql(" AND ");
                w.push_column(scope.alias, cond.field.column);
                w.push_sql(" IS NOT NULL)");
            } else {
                push_cond(w, scope, cond);
            }
        }
        Node::And(items) => push_and(w, scope, items, negated),
        Node::Or(items) => push_joined(w, scope, items, " OR ", negated),
        Node::Not(inner) => match &**inner {
            // A guarded leaf brings its own parentheses.
            Node::Leaf(cond) if cond.path.is_empty() && needs_guard(cond, !negated) => {
                w.push_sql("NOT ");
                push_node(w, scope, inner, !negated);
            }
            _ => {
                w.push_sql("NOT (");
                push_node(w, scope, inner, !negated);
                w.push_sql(")");
            }
        },
        Node::Exists(sub) => push_exists_query(w, scope, sub),
        Node::Call { node, same_row } => {
            let scope = Scope {
                same_row: *same_row,
                ..scope
            };
            push_node(w, scope, node, negated);
        }
    }
}

/// An `AND`: within a `filter()` call, the leaves that cross the same first
/// relation are rendered together in one `EXISTS`. Under an odd number of
/// `NOT`s they are not: as Django's `filter(~Q(a, b))` is its `exclude(a,
/// b)`, each condition across a multi-valued relation gets a subquery of
/// its own (`NOT (EXISTS (a) AND EXISTS (b))`).
fn push_and(w: &mut SqlWriter, scope: Scope<'_>, items: &[Node], negated: bool) {
    if !scope.same_row || negated {
        return push_joined(w, scope, items, " AND ", negated);
    }
    let mut parts: Vec<Part<'_>> = Vec::new();
    for item in items {
        match item {
            Node::Leaf(cond) if !cond.path.is_empty() && reached(scope, cond).is_none() => {
                let first = cond.path.first();
                match parts
                    .iter_mut()
                    .find(|p| matches!(p, Part::Related(r, _) if *r == first))
                {
                    Some(Part::Related(_, group)) => group.push(item.clone()),
                    _ => parts.push(Part::Related(first, vec![item.clone()])),
                }
            }
            other => parts.push(Part::Plain(other)),
        }
    }
    w.push_list(parts.iter(), " AND ", |w, part| match part {
        Part::Plain(node) => push_child(w, scope, node, negated),
        Part::Related(_, group) => push_related(w, scope, group, negated),
    });
}

enum Part<'a> {
    Plain(&'a Node),
    Related(Option<&'static RelationMeta>, Vec<Node>),
}

fn push_joined(
    w: &mut SqlWriter,
    scope: Scope<'_>,
    items: &[Node],
    sep: &'static str,
    negated: bool,
) {
    w.push_list(items, sep, |w, item| push_child(w, scope, item, negated));
}

fn needs_parens(node: &Node) -> bool {
    match node {
        Node::And(_) | Node::Or(_) => true,
        Node::Call { node, .. } => needs_parens(node),
        _ => false,
    }
}

fn push_child(w: &mut SqlWriter, scope: Scope<'_>, item: &Node, negated: bool) {
    if needs_parens(item) {
        w.push_sql("(");
        push_node(w, scope, item, negated);
        w.push_sql(")");
    } else {
        push_node(w, scope, item, negated);
    }
}

/// Leaves that all cross the same first relation: one `EXISTS` over it,
/// the leaves (one step shorter) inside. `isnull = true` across a relation
/// also matches when there is no related row at all, as Django's LEFT JOIN.
fn push_related(w: &mut SqlWriter, scope: Scope<'_>, group: &[Node], negated: bool) {
    let Some(Node::Leaf(first)) = group.first() else {
        return;
    };
    let Some(step) = first.path.first() else {
        return;
    };
    // Relations were checked before rendering (`Node::check_relations`).
    let Ok(hop) = step.hop() else {
        w.push_sql("FALSE");
        return;
    };
    let inner: Vec<Node> = group
        .iter()
        .filter_map(|n| match n {
            Node::Leaf(c) => Some(Node::Leaf(Cond {
                path: c.path.rest(),
                field: c.field,
                op: c.op.clone(),
            })),
            _ => None,
        })
        .collect();
    if !negated && push_on_join(w, scope, step, &hop, &inner) {
        return;
    }
    // `rel__isnull` names the related row itself: does one exist?
    if let [Node::Leaf(c)] = inner.as_slice() {
        if c.path.is_empty() && c.field.primary_key && c.field.position == hop.target().pk {
            if let Op::IsNull(is_null) = c.op {
                if is_null {
                    w.push_sql("NOT ");
                }
                push_exists(w, scope, &hop, None);
                return;
            }
        }
        // `rel__field__isnull = true`: no related row, or one with NULL.
        if let Op::IsNull(true) = c.op {
            w.push_sql("(NOT ");
            push_exists(w, scope, &hop, None);
            w.push_sql(" OR ");
            push_exists(w, scope, &hop, Some(&inner));
            w.push_sql(")");
            return;
        }
    }
    push_exists(w, scope, &hop, Some(&inner));
}

/// Lookups across a relation the query already joins (`select_related`:
/// a single-valued relation, so at most one joined row) are conditions on
/// the joined row: `"sr_user"."hair_color" = $1` instead of a second scan
/// of the table in an `EXISTS`. The same rows match: a missing related row
/// joins as NULLs, which fail the lookup as the `EXISTS` would. Only
/// outside `NOT`, and without `isnull` (where NULL-filled and missing rows
/// must be told apart); returns false when the `EXISTS` is needed.
fn push_on_join(
    w: &mut SqlWriter,
    scope: Scope<'_>,
    step: &'static RelationMeta,
    hop: &Hop,
    inner: &[Node],
) -> bool {
    // A soft delete target's joined row may be marked: the `EXISTS` checks.
    if scope.depth != 0 || crate::soft_delete::scope::field(hop.target()).is_some() {
        return false;
    }
    // Relation metadata may be a copy (a constant): compare by identity.
    let same = |rel: &RelationMeta| {
        rel.name == step.name && rel.owner.meta().table == step.owner.meta().table
    };
    let Some(&(_, alias)) = scope.joined.iter().find(|(rel, _)| same(rel)) else {
        return false;
    };
    let plain = |n: &Node| matches!(n, Node::Leaf(c) if c.path.is_empty() && !matches!(c.op, Op::IsNull(_)));
    if !inner.iter().all(plain) {
        return false;
    }
    let on_join = Scope {
        alias,
        meta: hop.target(),
        joined: &[],
        ..scope
    };
    // Several leaves only come from an `AND` list, where they need no
    // parentheses of their own.
    push_joined(w, on_join, inner, " AND ", false);
    true
}

/// `EXISTS (SELECT 1 FROM <target> WHERE <correlation> [AND <inner>])`.
fn push_exists(w: &mut SqlWriter, scope: Scope<'_>, hop: &Hop, inner: Option<&[Node]>) {
    let depth = scope.depth + 1;
    let alias = format!("T{depth}");
    let target = hop.target();
    w.push_sql("EXISTS (SELECT 1 FROM ");
    match hop {
        Hop::Key {
            target_col,
            source_col,
            ..
        } => {
            w.push_ident(target.table);
            w.push_sql(" AS ");
            w.push_ident(&alias);
            w.push_sql(" WHERE ");
            w.push_column(&alias, target_col);
            w.push_sql(" = ");
            w.push_column(scope.alias, source_col);
        }
        Hop::Through {
            through,
            source_col,
            target_col,
            tenant,
            ..
        } => {
            let link = format!("{alias}_link");
            w.push_ident(through);
            w.push_sql(" AS ");
            w.push_ident(&link);
            push_join_target(w, target, (&alias, &link, target_col), *tenant);
            w.push_sql(" WHERE ");
            w.push_column(&link, source_col);
            w.push_sql(" = ");
            w.push_column(scope.alias, scope.meta.pk_field().column);
            push_link_source_tenant(w, *tenant, &link, scope.alias);
        }
    }
    crate::soft_delete::scope::push_live(w, target, &alias);
    if let Some(inner) = inner {
        let sub = Scope {
            alias: &alias,
            meta: target,
            depth,
            same_row: scope.same_row,
            outer: scope.outer,
            row: scope.row,
            joined: &[],
            reached: &[],
        };
        w.push_sql(" AND ");
        match inner {
            [one] => push_child(w, sub, one, false),
            many => push_and(w, sub, many, false),
        }
    }
    w.push_sql(")");
}

/// `EXISTS (SELECT 1 FROM "t" AS "E1" WHERE ..)`, its `OuterRef`s naming
/// the row of `scope`.
fn push_exists_query(w: &mut SqlWriter, scope: Scope<'_>, sub: &Subquery) {
    let alias = format!("E{}", scope.depth + 1);
    w.push_sql("EXISTS (SELECT 1 FROM ");
    w.push_ident(sub.meta.table);
    w.push_sql(" AS ");
    w.push_ident(&alias);
    let inner = Scope {
        alias: &alias,
        meta: sub.meta,
        depth: scope.depth + 1,
        same_row: true,
        outer: Some((scope.alias, scope.meta)),
        row: (&alias, sub.meta),
        joined: &[],
        reached: &[],
    };
    push_sub_where(w, inner, &sub.filter);
    w.push_sql(")");
}

/// `(SELECT "S1"."col" FROM "t" AS "S1" WHERE .. [ORDER BY ..] [LIMIT n]
/// [OFFSET $m])`: a scalar subquery in an expression, its `OuterRef`s
/// naming the row the expression is on.
fn push_scalar_query(w: &mut SqlWriter, scope: Scope<'_>, sub: &Subquery) {
    let alias = format!("S{}", scope.depth + 1);
    let inner = Scope {
        alias: &alias,
        meta: sub.meta,
        depth: scope.depth + 1,
        same_row: true,
        outer: Some(scope.row),
        row: (&alias, sub.meta),
        joined: &[],
        reached: &[],
    };
    w.push_sql("(SELECT ");
    match sub.column {
        Some(column) => w.push_column(&alias, column.column),
        None => w.push_sql("NULL"),
    }
    w.push_sql(" FROM ");
    w.push_ident(sub.meta.table);
    w.push_sql(" AS ");
    w.push_ident(&alias);
    push_sub_where(w, inner, &sub.filter);
    if !sub.order.is_empty() {
        w.push_sql(" ORDER BY ");
        w.push_list(&sub.order, ", ", |w, sort| {
            match &sort.key {
                SortKey::Column(column) if column.table == Table::Root => {
                    w.push_column(&alias, column.field.column);
                }
                SortKey::Expr(expr) => expr.push_sql(w, inner),
                // Resolved on the model's own fields only.
                SortKey::Column(_) => {
                    w.reject(|| "a subquery orders by its model's own fields".into())
                }
            }
            push_direction(w, sort.desc, sort.nulls);
        });
    }
    push_limit_offset(w, sub.limit, sub.offset);
    w.push_sql(")");
}

/// A lookup on a nullable column under negation gets `AND col IS NOT NULL`.
fn needs_guard(cond: &Cond, negated: bool) -> bool {
    // The lookup itself, under an element or transforms: `isnull` after a
    // transform (`created__year__isnull`) takes no guard either.
    let mut op = &cond.op;
    while let Op::Index(_, inner) | Op::Transformed(_, inner) = op {
        op = inner;
    }
    negated && cond.field.nullable && !matches!(op, Op::IsNull(_))
}

fn push_cond(w: &mut SqlWriter, scope: Scope<'_>, cond: &Cond) {
    let table = scope.alias;
    let column = cond.field.column;
    push_op(w, scope, cond.field.sql_type, &cond.op, &|w| {
        w.push_column(table, column)
    });
}

/// `op` on the value `col` writes: the column, or an element of it
/// (`Op::Index`).
fn push_op(
    w: &mut SqlWriter,
    scope: Scope<'_>,
    ty: SqlType,
    op: &Op,
    col: &dyn Fn(&mut SqlWriter),
) {
    let upper_col = |w: &mut SqlWriter| {
        w.push_sql("UPPER(");
        col(w);
        w.push_sql(")");
    };
    match op {
        Op::Exact(v) => push_binary(w, col, " = ", v),
        Op::IExact(v) => {
            upper_col(w);
            w.push_sql(" = UPPER(");
            w.push_bind(v.clone());
            w.push_sql(")");
        }
        Op::Like { at, ci, text } => {
            let pattern = like_pattern(*at, text);
            if *ci {
                upper_col(w);
                w.push_sql(" LIKE UPPER(");
                w.push_bind(Value::Text(Some(pattern)));
                w.push_sql(")");
            } else {
                col(w);
                w.push_sql(" LIKE ");
                w.push_bind(Value::Text(Some(pattern)));
            }
        }
        Op::In(values) => {
            col(w);
            w.push_sql(" = ANY(");
            w.push_bind(Value::Array(values.clone()));
            w.push_sql(")");
        }
        Op::Cmp(cmp, v) => {
            col(w);
            w.push_sql(cmp_sql(*cmp));
            w.push_bind(v.clone());
        }
        Op::Range(low, high) => {
            col(w);
            w.push_sql(" BETWEEN ");
            w.push_bind(low.clone());
            w.push_sql(" AND ");
            w.push_bind(high.clone());
        }
        Op::IsNull(true) => {
            col(w);
            w.push_sql(" IS NULL");
        }
        Op::IsNull(false) => {
            col(w);
            w.push_sql(" IS NOT NULL");
        }
        Op::InQuery(sub) if sub.whole_key => {
            // `("t"."a", "t"."b") IN (SELECT ..)`: the row's whole key.
            w.push_sql("(");
            w.push_list(scope.meta.pk_field_metas(), ", ", |w, f| {
                w.push_column(scope.alias, f.column)
            });
            w.push_sql(") IN (");
            push_subquery(w, sub);
            w.push_sql(")");
        }
        Op::InQuery(sub) => {
            col(w);
            w.push_sql(" IN (");
            push_subquery(w, sub);
            w.push_sql(")");
        }
        Op::CmpExpr { cmp, expr } => {
            col(w);
            w.push_sql(match cmp {
                None => " = ",
                Some(Cmp::Gt) => " > ",
                Some(Cmp::Gte) => " >= ",
                Some(Cmp::Lt) => " < ",
                Some(Cmp::Lte) => " <= ",
            });
            expr.push_sql(w, scope);
        }
        Op::Linked {
            through,
            source_col,
            target_col,
            owner,
            tenant,
        } => {
            col(w);
            w.push_sql(" IN (SELECT ");
            w.push_ident(target_col);
            w.push_sql(" FROM ");
            w.push_ident(through);
            w.push_sql(" WHERE ");
            w.push_ident(source_col);
            w.push_sql(" = ");
            w.push_bind(owner.clone());
            if let Some(tenant) = tenant {
                let (column, value) = &**tenant;
                w.push_sql(" AND ");
                w.push_ident(column);
                w.push_sql(" = ");
                w.push_bind(value.clone());
            }
            w.push_sql(")");
        }
        Op::Regex { ci, pattern } => {
            col(w);
            w.push_sql(if *ci { " ~* " } else { " ~ " });
            w.push_bind(Value::Text(Some(pattern.clone())));
        }
        Op::Transformed(transform, op) => push_transformed(w, scope, col, ty, *transform, op),
        Op::Search(query) => query.push_lookup(w, col),
        Op::ArrayContains(v) => push_binary(w, col, " @> ", v),
        Op::ContainedBy(v) => push_binary(w, col, " <@ ", v),
        Op::Overlap(v) => push_binary(w, col, " && ", v),
        Op::Index(index, inner) => {
            // `("t"."tags")[1]`: the 0-based index of Django, 1-based in SQL.
            let element = |w: &mut SqlWriter| {
                w.push_sql("(");
                col(w);
                w.push_sql(")[");
                w.push_int(i64::from(*index) + 1);
                w.push_sql("]");
            };
            let element_type = match ty {
                SqlType::Array(element) => *element,
                other => other,
            };
            push_op(w, scope, element_type, inner, &element);
        }
        Op::RangeCmp(op, v) => {
            col(w);
            w.push_sql(op.sql());
            w.push_bind(v.clone());
            if let Some(cast) = range_cast(v) {
                w.push_sql(cast);
            }
        }
        Op::RangeFlag(flag, b) => {
            w.push_sql(flag.sql());
            col(w);
            w.push_sql(") = ");
            w.push_bind(Value::Bool(Some(*b)));
        }
        Op::RangeEnd(upper, inner) => {
            // `lower("t"."span")`: Django's `startswith` / `endswith`.
            let bound = |w: &mut SqlWriter| {
                w.push_sql(if *upper { "upper(" } else { "lower(" });
                col(w);
                w.push_sql(")");
            };
            let element_type = match ty {
                SqlType::Range(kind) => kind.element(),
                other => other,
            };
            push_op(w, scope, element_type, inner, &bound);
        }
        Op::JsonPath(keys, inner) => push_json_path(w, scope, keys, inner, col),
        Op::HasKeys { keys, any, list } => {
            col(w);
            match (list, keys.as_slice()) {
                (false, [key]) => {
                    w.push_sql(" ? ");
                    w.push_bind(Value::Text(Some(key.clone())));
                }
                _ => {
                    w.push_sql(if *any { " ?| " } else { " ?& " });
                    w.push_bind(Value::Array(
                        keys.iter().map(|k| Value::Text(Some(k.clone()))).collect(),
                    ));
                }
            }
        }
    }
}

/// The cast that types a range operator's operand: `::int4range` for a
/// range, `::integer` for an element.
fn range_cast(v: &Value) -> Option<&'static str> {
    use crate::range::RangeKind as K;
    let kind = match v {
        Value::Range(kind, _) => {
            return Some(match kind {
                K::Int4 => "::int4range",
                K::Int8 => "::int8range",
                K::Date => "::daterange",
                K::Ts => "::tsrange",
                K::TsTz => "::tstzrange",
                K::Num => "::numrange",
            })
        }
        Value::I32(_) => K::Int4,
        Value::I64(_) => K::Int8,
        Value::Date(_) => K::Date,
        Value::Timestamp(_) => K::Ts,
        Value::TimestampTz(_) => K::TsTz,
        Value::Decimal(_) => K::Num,
        _ => return None,
    };
    Some(match kind {
        K::Int4 => "::integer",
        K::Int8 => "::bigint",
        K::Date => "::date",
        K::Ts => "::timestamp",
        K::TsTz => "::timestamptz",
        K::Num => "::numeric",
    })
}

/// A lookup at a JSON key path, as Django writes it on PostgreSQL: the
/// value at the path as `jsonb` (`(col -> $1)`, `(col #> $1)` for a path
/// of several steps, as a `text[]`) for `exact`, `in`, comparisons,
/// containment, `isnull` and `has_key`; as text (`->>`, `#>>`) for the
/// text lookups (`iexact`, `contains`-like, regex). Keys are bound
/// parameters, never SQL text; an array index is an `integer` parameter.
fn push_json_path(
    w: &mut SqlWriter,
    scope: Scope<'_>,
    keys: &[JsonKey],
    inner: &Op,
    col: &dyn Fn(&mut SqlWriter),
) {
    let text = matches!(inner, Op::Like { .. } | Op::IExact(_) | Op::Regex { .. });
    let at = |w: &mut SqlWriter| {
        w.push_sql("(");
        col(w);
        match keys {
            [JsonKey::Key(key)] => {
                w.push_sql(if text { " ->> " } else { " -> " });
                w.push_bind(Value::Text(Some(key.clone())));
            }
            [JsonKey::Index(index)] => {
                w.push_sql(if text { " ->> " } else { " -> " });
                w.push_bind(Value::I32(Some(*index)));
                w.push_sql("::integer");
            }
            _ => {
                w.push_sql(if text { " #>> " } else { " #> " });
                let path = keys
                    .iter()
                    .map(|k| match k {
                        JsonKey::Key(key) => Value::Text(Some(key.clone())),
                        JsonKey::Index(index) => Value::Text(Some(index.to_string())),
                    })
                    .collect();
                w.push_bind(Value::Array(path));
                w.push_sql("::text[]");
            }
        }
        w.push_sql(")");
    };
    let ty = if text { SqlType::Text } else { SqlType::Jsonb };
    push_op(w, scope, ty, inner, &at);
}

fn cmp_sql(cmp: Cmp) -> &'static str {
    match cmp {
        Cmp::Gt => " > ",
        Cmp::Gte => " >= ",
        Cmp::Lt => " < ",
        Cmp::Lte => " <= ",
    }
}

/// A lookup after a transform; date and time transforms read the value in
/// the active time zone ([`crate::timezone::current`], read now: when the
/// query is run). `year` and `iso_year` compared with `exact`, `gt`,
/// `gte`, `lt` or `lte` are a range on the transform's input (the bare
/// column for `created__year`, so an index on it still serves: Django's
/// `YearLookup`); the rest compare the transformed value, with the
/// lookups of its type (`LOWER(col) LIKE ..`, a further transform).
fn push_transformed(
    w: &mut SqlWriter,
    scope: Scope<'_>,
    col: &dyn Fn(&mut SqlWriter),
    ty: SqlType,
    transform: Transform,
    op: &Op,
) {
    if push_year_range(w, col, ty, transform, op) {
        return;
    }
    let output = match transform.output() {
        TransformOutput::Int => SqlType::Integer,
        TransformOutput::Date => SqlType::Date,
        TransformOutput::Time => SqlType::Time,
        TransformOutput::Text => SqlType::Text,
    };
    push_op(w, scope, output, op, &|w: &mut SqlWriter| {
        push_transform_expr(w, col, ty, transform)
    });
}

/// The column read in the active zone when it is a `timestamptz`
/// (`"t"."c" AT TIME ZONE $n`, the zone a bound value); a naive
/// `timestamp`, `date` or `time` is used as it is, as Django does.
fn push_local(w: &mut SqlWriter, col: &dyn Fn(&mut SqlWriter), ty: SqlType) {
    col(w);
    if ty == SqlType::TimestampTz {
        w.push_sql(" AT TIME ZONE ");
        w.push_bind(Value::Text(Some(crate::timezone::current())));
    }
}

/// The transformed value: `EXTRACT(..)::integer` (PostgreSQL 14+ gives a
/// `numeric`: the cast lets it compare with an `integer` parameter),
/// `(col AT TIME ZONE $n)::date`, `::time`.
fn push_transform_expr(
    w: &mut SqlWriter,
    col: &dyn Fn(&mut SqlWriter),
    ty: SqlType,
    transform: Transform,
) {
    let part = match transform {
        Transform::Lower => "LOWER(",
        Transform::Upper => "UPPER(",
        Transform::Length => "LENGTH(",
        Transform::Trim => "TRIM(",
        Transform::LTrim => "LTRIM(",
        Transform::RTrim => "RTRIM(",
        Transform::Len => {
            // Django's ArrayLenTransform: 0 for an empty array (whose
            // `array_length` is NULL), NULL for a NULL one.
            w.push_sql("CASE WHEN ");
            col(w);
            w.push_sql(" IS NULL THEN NULL ELSE COALESCE(array_length(");
            col(w);
            w.push_sql(", 1), 0) END");
            return;
        }
        Transform::Date | Transform::Time => {
            w.push_sql("(");
            push_local(w, col, ty);
            w.push_sql(if transform == Transform::Date {
                ")::date"
            } else {
                ")::time"
            });
            return;
        }
        Transform::WeekDay => {
            // Django's week_day: 1 = Sunday (PostgreSQL's DOW is 0 = Sunday).
            w.push_sql("(EXTRACT(DOW FROM ");
            push_local(w, col, ty);
            w.push_sql(") + 1)::integer");
            return;
        }
        Transform::Second => {
            // Fractions of a second cut off, as Django's ExtractSecond.
            w.push_sql("FLOOR(EXTRACT(SECOND FROM ");
            push_local(w, col, ty);
            w.push_sql("))::integer");
            return;
        }
        Transform::Year => "EXTRACT(YEAR FROM ",
        Transform::IsoYear => "EXTRACT(ISOYEAR FROM ",
        Transform::Month => "EXTRACT(MONTH FROM ",
        Transform::Day => "EXTRACT(DAY FROM ",
        Transform::Week => "EXTRACT(WEEK FROM ",
        Transform::IsoWeekDay => "EXTRACT(ISODOW FROM ",
        Transform::Quarter => "EXTRACT(QUARTER FROM ",
        Transform::Hour => "EXTRACT(HOUR FROM ",
        Transform::Minute => "EXTRACT(MINUTE FROM ",
    };
    w.push_sql(part);
    if transform.applies_to() == TransformOn::Text {
        col(w);
        w.push_sql(")");
        return;
    }
    push_local(w, col, ty);
    w.push_sql(")::integer");
}

/// The first day of `year` (`Year`) or of its ISO week 1 (`IsoYear`, the
/// Monday of the week holding January 4th); `None` outside chrono's range.
fn year_start(transform: Transform, year: i32) -> Option<chrono::NaiveDate> {
    match transform {
        Transform::Year => chrono::NaiveDate::from_ymd_opt(year, 1, 1),
        Transform::IsoYear => chrono::NaiveDate::from_isoywd_opt(year, 1, chrono::Weekday::Mon),
        _ => None,
    }
}

/// `year`/`iso_year` with `exact`, `gt`, `gte`, `lt`, `lte`: a range on
/// the bare column between local starts of years (computed here, bound as
/// dates or date-times; for a `timestamptz`, `($n::timestamp AT TIME ZONE
/// $tz)` lets PostgreSQL find the instant the local year starts at).
/// Returns false (nothing written) for other lookups, and for years
/// outside chrono's range, which the `EXTRACT` form then compares.
fn push_year_range(
    w: &mut SqlWriter,
    col: &dyn Fn(&mut SqlWriter),
    ty: SqlType,
    transform: Transform,
    op: &Op,
) -> bool {
    if !matches!(transform, Transform::Year | Transform::IsoYear) {
        return false;
    }
    let (year, cmp) = match op {
        Op::Exact(Value::I32(Some(year))) => (*year, None),
        Op::Cmp(cmp, Value::I32(Some(year))) => (*year, Some(*cmp)),
        _ => return false,
    };
    let start = year_start(transform, year);
    let next = year.checked_add(1).and_then(|y| year_start(transform, y));
    let (Some(start), Some(next)) = (start, next) else {
        return false;
    };
    let bound = |w: &mut SqlWriter, day: chrono::NaiveDate| match ty {
        SqlType::Date => w.push_bind(Value::Date(Some(day))),
        SqlType::Timestamp => {
            w.push_bind(Value::Timestamp(Some(day.and_time(chrono::NaiveTime::MIN))))
        }
        _ => {
            w.push_sql("(");
            w.push_bind(Value::Timestamp(Some(day.and_time(chrono::NaiveTime::MIN))));
            w.push_sql("::timestamp AT TIME ZONE ");
            w.push_bind(Value::Text(Some(crate::timezone::current())));
            w.push_sql(")");
        }
    };
    let (sql, day) = match cmp {
        None => {
            w.push_sql("(");
            col(w);
            w.push_sql(" >= ");
            bound(w, start);
            w.push_sql(" AND ");
            col(w);
            w.push_sql(" < ");
            bound(w, next);
            w.push_sql(")");
            return true;
        }
        // After the year: from the next one's start on.
        Some(Cmp::Gt) => (" >= ", next),
        Some(Cmp::Gte) => (" >= ", start),
        Some(Cmp::Lt) => (" < ", start),
        // Up to the year's end: before the next one's start.
        Some(Cmp::Lte) => (" < ", next),
    };
    col(w);
    w.push_sql(sql);
    bound(w, day);
    true
}

/// `SELECT "t"."col" FROM "t" WHERE .. [ORDER BY ..] [LIMIT n] [OFFSET $m]`
/// for an `__in` subquery, written into the outer statement's writer.
pub(crate) fn push_subquery(w: &mut SqlWriter, sub: &Subquery) {
    let meta = sub.meta;
    w.push_sql("SELECT ");
    match sub.column {
        Some(_) if sub.whole_key => w.push_list(meta.pk_field_metas(), ", ", |w, f| {
            w.push_column(meta.table, f.column)
        }),
        Some(column) => w.push_column(meta.table, column.column),
        None => w.push_sql("NULL"),
    }
    w.push_sql(" FROM ");
    w.push_ident(meta.table);
    push_sub_where(w, Scope::root(meta), &sub.filter);
    if sub.limit.is_some() || sub.offset.is_some() {
        push_order_by(w, crate::sql::joins::Tables::root(meta), &sub.order);
        push_limit_offset(w, sub.limit, sub.offset);
    }
}

/// ` ORDER BY "t"."a" ASC, "r_author"."name" DESC NULLS LAST` (nothing
/// for no terms), each column named by its table in `tables`.
pub(crate) fn push_order_by(w: &mut SqlWriter, tables: Tables<'_>, order: &[Sort]) {
    if order.is_empty() {
        return;
    }
    w.push_sql(" ORDER BY ");
    w.push_list(order, ", ", |w, sort| {
        push_sort_key(w, tables, &sort.key);
        push_direction(w, sort.desc, sort.nulls);
    });
}

/// The value a term sorts by: `"alias"."column"` or the expression.
pub(crate) fn push_sort_key(w: &mut SqlWriter, tables: Tables<'_>, key: &SortKey) {
    match key {
        SortKey::Column(column) => tables.push_column(w, *column),
        SortKey::Expr(expr) => expr.push_sql(w, Scope::root(tables.meta)),
    }
}

/// A subquery's ` WHERE <filter>` in `scope` (nothing for every row,
/// `FALSE` for none).
fn push_sub_where(w: &mut SqlWriter, scope: Scope<'_>, filter: &Node) {
    match filter {
        Node::All => {}
        Node::Nothing => w.push_sql(" WHERE FALSE"),
        filter => {
            w.push_sql(" WHERE ");
            push_node(w, scope, filter, false);
        }
    }
}

/// `<col> <op> $n`.
fn push_binary(w: &mut SqlWriter, col: &dyn Fn(&mut SqlWriter), op: &'static str, v: &Value) {
    col(w);
    w.push_sql(op);
    w.push_bind(v.clone());
}

/// Writing [`Expr`]s (`F(..)`, `OuterRef(..)`, arithmetic): a field of the
/// row, a value, or a scalar subquery across forward relations.
impl Expr {
    /// Renders the expression cast to `ty` when it is arithmetic, so its
    /// value decodes as [`result_type`](Self::result_type) says.
    pub(crate) fn push_typed(&self, w: &mut SqlWriter, scope: Scope<'_>, ty: SqlType) {
        self.push_sql(w, scope);
        if matches!(
            self,
            Expr::Binary(..) | Expr::Value(_) | Expr::Func(_) | Expr::Case(_) | Expr::Subquery(_)
        ) {
            w.push_sql("::");
            w.push_text(&ty.ddl(None));
        }
    }

    /// Renders the expression in `scope` (names were checked).
    pub(crate) fn push_sql(&self, w: &mut SqlWriter, scope: Scope<'_>) {
        match self {
            // A float says so: next to an integer column PostgreSQL would
            // take the parameter for an integer and refuse the value.
            Expr::Value(v @ (Value::F32(_) | Value::F64(_))) => {
                w.push_bind(v.clone());
                w.push_sql("::double precision");
            }
            // An interval too: next to a timestamp PostgreSQL would take
            // the parameter for a timestamp (`timestamp - timestamp`).
            Expr::Value(v @ Value::Interval(_)) => {
                w.push_bind(v.clone());
                w.push_sql("::interval");
            }
            Expr::Value(v) => w.push_bind(v.clone()),
            Expr::Binary(l, op, r) => {
                w.push_sql("(");
                l.push_sql(w, scope);
                w.push_sql(match op {
                    Arith::Add => " + ",
                    Arith::Sub => " - ",
                    Arith::Mul => " * ",
                    Arith::Div => " / ",
                });
                r.push_sql(w, scope);
                w.push_sql(")");
            }
            Expr::Func(f) => {
                let row = scope.row.1;
                f.push_sql(w, scope, &|e: &Expr| e.result_type(row).ok());
            }
            Expr::Case(c) => c.push_sql(w, scope),
            Expr::Subquery(sub) => push_scalar_query(w, scope, sub),
            Expr::Window(window) => {
                let ty = self.result_type(scope.row.1).ok();
                window.push_sql(w, scope, ty);
            }
            Expr::Search(search) => {
                let row = scope.row.1;
                search.push_sql(w, scope, &|e: &Expr| e.result_type(row).ok());
            }
            Expr::Outer(name) => match scope.outer {
                Some((alias, meta)) => match resolve(meta, name) {
                    Ok((hops, column)) if hops.is_empty() => w.push_column(alias, column),
                    _ => w.push_sql("NULL"),
                },
                None => w.push_sql("NULL"),
            },
            Expr::Field(name) => {
                let (row_alias, row_meta) = scope.row;
                let Ok((hops, column)) = resolve(row_meta, name) else {
                    w.push_sql("NULL");
                    return;
                };
                if hops.is_empty() {
                    w.push_column(row_alias, column);
                    return;
                }
                // (SELECT "F2"."karma" FROM "users" AS "F1" JOIN .. WHERE "F1"."id" = outer.author_id)
                let mut aliases = Vec::new();
                for depth in 1..=hops.len() {
                    aliases.push(format!("F{}_{depth}", scope.depth));
                }
                w.push_sql("(SELECT ");
                w.push_column(&aliases[hops.len() - 1], column);
                w.push_sql(" FROM ");
                for (i, hop) in hops.iter().enumerate() {
                    let Hop::Key {
                        target,
                        target_col,
                        source_col,
                    } = hop
                    else {
                        continue;
                    };
                    if i > 0 {
                        w.push_sql(" JOIN ");
                    }
                    w.push_ident(target.table);
                    w.push_sql(" AS ");
                    w.push_ident(&aliases[i]);
                    if i > 0 {
                        w.push_sql(" ON ");
                        w.push_column(&aliases[i], target_col);
                        w.push_sql(" = ");
                        w.push_column(&aliases[i - 1], source_col);
                    }
                }
                if let Some(Hop::Key {
                    target_col,
                    source_col,
                    ..
                }) = hops.first()
                {
                    w.push_sql(" WHERE ");
                    w.push_column(&aliases[0], target_col);
                    w.push_sql(" = ");
                    w.push_column(row_alias, source_col);
                }
                w.push_sql(")");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_escaping() {
        assert_eq!(escape_like(r"100% a_b \x"), r"100\% a\_b \\x");
        assert_eq!(escape_like(""), "");
        assert_eq!(escape_like("ü中😀"), "ü中😀");
    }
}
