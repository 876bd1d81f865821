//! `WHERE` rendering: lookups, `LIKE` escaping, and Django's NULL rules.

use crate::query::q::{Cmp, Cond, Like, Node, Op};
use crate::sql::SqlWriter;
use crate::value::Value;

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

/// Renders a simplified tree (no `All` / `Nothing` inside).
///
/// `negated` is true under an odd number of `NOT`s. There a lookup on a
/// nullable column becomes `(lookup AND col IS NOT NULL)`, as in Django, so
/// `exclude(x = 1)` keeps the rows where `x` is NULL instead of losing them
/// to SQL's three-valued logic.
pub(crate) fn push_node(w: &mut SqlWriter, table: &str, node: &Node, negated: bool) {
    match node {
        // A simplified tree has no constants except at the top, where the
        // caller handles them; render them as literals to stay total.
        Node::All => w.push_sql("TRUE"),
        Node::Nothing => w.push_sql("FALSE"),
        Node::Leaf(cond) => {
            if needs_guard(cond, negated) {
                w.push_sql("(");
                push_cond(w, table, cond);
                w.push_sql(" AND ");
                w.push_column(table, cond.field.column);
                w.push_sql(" IS NOT NULL)");
            } else {
                push_cond(w, table, cond);
            }
        }
        Node::And(items) => push_joined(w, table, items, " AND ", negated),
        Node::Or(items) => push_joined(w, table, items, " OR ", negated),
        Node::Not(inner) => match &**inner {
            // A guarded leaf brings its own parentheses.
            Node::Leaf(cond) if needs_guard(cond, !negated) => {
                w.push_sql("NOT ");
                push_node(w, table, inner, !negated);
            }
            _ => {
                w.push_sql("NOT (");
                push_node(w, table, inner, !negated);
                w.push_sql(")");
            }
        },
    }
}

/// A lookup on a nullable column under negation gets `AND col IS NOT NULL`.
fn needs_guard(cond: &Cond, negated: bool) -> bool {
    negated && cond.field.nullable && !matches!(cond.op, Op::IsNull(_))
}

fn push_joined(w: &mut SqlWriter, table: &str, items: &[Node], sep: &str, negated: bool) {
    w.push_list(items, sep, |w, item| {
        if matches!(item, Node::And(_) | Node::Or(_)) {
            w.push_sql("(");
            push_node(w, table, item, negated);
            w.push_sql(")");
        } else {
            push_node(w, table, item, negated);
        }
    });
}

fn push_cond(w: &mut SqlWriter, table: &str, cond: &Cond) {
    let column = cond.field.column;
    let col = |w: &mut SqlWriter| w.push_column(table, column);
    let upper_col = |w: &mut SqlWriter| {
        w.push_sql("UPPER(");
        w.push_column(table, column);
        w.push_sql(")");
    };
    match &cond.op {
        Op::Exact(v) => {
            col(w);
            w.push_sql(" = ");
            w.push_bind(v.clone());
        }
        Op::IExact(v) => {
            upper_col(w);
            w.push_sql(" = UPPER(");
            w.push_bind(v.clone());
            w.push_sql(")");
        }
        Op::Like { at, ci, text } => {
            let escaped = escape_like(text);
            let pattern = match at {
                Like::Contains => format!("%{escaped}%"),
                Like::StartsWith => format!("{escaped}%"),
                Like::EndsWith => format!("%{escaped}"),
            };
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
            w.push_sql(match cmp {
                Cmp::Gt => " > ",
                Cmp::Gte => " >= ",
                Cmp::Lt => " < ",
                Cmp::Lte => " <= ",
            });
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
        Op::Regex { ci, pattern } => {
            col(w);
            w.push_sql(if *ci { " ~* " } else { " ~ " });
            w.push_bind(Value::Text(Some(pattern.clone())));
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
