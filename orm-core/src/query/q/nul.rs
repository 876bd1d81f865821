//! NUL characters refused in a filter's values before anything is sent.

use crate::value::Value;

use super::*;

/// Refuses a NUL character in any value of the filter `node` on `meta`
/// (subqueries and expressions included), naming the model and field, so
/// that nothing is sent. It runs on every query: a walk of the tree and a
/// scan of its text, no allocation; the names are only looked for once a
/// NUL is found.
///
/// # Errors
/// [`Error::InvalidValue`] naming the model and field of the first such value.
#[inline]
pub(crate) fn check_nul(
    meta: &'static crate::meta::ModelMeta,
    node: &Node,
) -> Result<(), crate::error::Error> {
    if !any_nul(node) {
        return Ok(());
    }
    let (model, field) = find_nul(meta, node).unwrap_or((meta.name, "?"));
    Err(crate::value::nul_error(model, field))
}

/// Whether a value of `node` holds a NUL.
fn any_nul(node: &Node) -> bool {
    match node {
        Node::All | Node::Nothing => false,
        Node::Leaf(cond) => op_has_nul(&cond.op),
        Node::And(items) | Node::Or(items) => items.iter().any(any_nul),
        Node::Not(n) | Node::Call { node: n, .. } => any_nul(n),
        Node::Exists(sub) => any_nul(&sub.filter),
    }
}

/// Whether an operand of `op` (a subquery's included) holds a NUL.
#[inline]
fn op_has_nul(op: &Op) -> bool {
    match op {
        Op::Exact(v)
        | Op::IExact(v)
        | Op::Cmp(_, v)
        | Op::ArrayContains(v)
        | Op::ContainedBy(v)
        | Op::Overlap(v) => v.has_nul(),
        Op::RangeEnd(_, op) => op_has_nul(op),
        Op::RangeCmp(_, v) => v.has_nul(),
        Op::RangeFlag(..) => false,
        Op::JsonPath(keys, op) => {
            op_has_nul(op)
                || keys.iter().any(|k| match k {
                    crate::sql::tree::JsonKey::Key(k) => crate::value::has_nul_byte(k.as_bytes()),
                    crate::sql::tree::JsonKey::Index(_) => false,
                })
        }
        Op::HasKeys { keys, .. } => keys
            .iter()
            .any(|k| crate::value::has_nul_byte(k.as_bytes())),
        Op::Linked { owner, tenant, .. } => {
            owner.has_nul() || tenant.as_ref().is_some_and(|t| t.1.has_nul())
        }
        Op::In(values) => values.iter().any(Value::has_nul),
        Op::Range(low, high) => low.has_nul() || high.has_nul(),
        Op::Like { text, .. } => crate::value::has_nul_byte(text.as_bytes()),
        Op::Regex { pattern, .. } => crate::value::has_nul_byte(pattern.as_bytes()),
        Op::IsNull(_) => false,
        Op::CmpExpr { expr, .. } => expr.has_nul(),
        Op::InQuery(sub) => any_nul(&sub.filter),
        Op::Index(_, op) | Op::Transformed(_, op) => op_has_nul(op),
        Op::Search(query) => query.has_nul(),
    }
}

/// The model and field of the first value of `node` holding a NUL.
fn find_nul(
    meta: &'static crate::meta::ModelMeta,
    node: &Node,
) -> Option<(&'static str, &'static str)> {
    match node {
        Node::All | Node::Nothing => None,
        Node::Leaf(cond) => match &cond.op {
            Op::InQuery(sub) => find_nul(sub.meta, &sub.filter),
            op if op_has_nul(op) => {
                let model = cond.path.last().map_or(meta, |rel| rel.target.meta());
                Some((model.name, cond.field.name))
            }
            _ => None,
        },
        Node::And(items) | Node::Or(items) => items.iter().find_map(|n| find_nul(meta, n)),
        Node::Not(n) | Node::Call { node: n, .. } => find_nul(meta, n),
        Node::Exists(sub) => find_nul(sub.meta, &sub.filter),
    }
}
