//! Conditions on aggregates and annotations (`HAVING`, and the `WHERE` of
//! `annotate(..).filter(..)`): a tree of lookups on outputs ([`OutputNode`]
//! of [`OutputOp`]s) with `AND`, `OR` and `NOT`, rendered after whatever
//! writes the output itself (an aggregate's call, a correlated subquery).

use crate::sql::condition::like_pattern;
use crate::sql::tree::Like;
use crate::sql::SqlWriter;
use crate::value::Value;

/// A lookup on an aggregate or annotation: `.. >= $1`, `.. IS NULL`,
/// `.. = ANY($1)`, `.. BETWEEN $1 AND $2`, `.. LIKE $1`, ...
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OutputOp {
    /// ` = `, ` > `, ` >= `, ` < `, ` <= ` and the value.
    Cmp(&'static str, Value),
    IsNull(bool),
    /// A non-empty array.
    In(Value),
    Range(Value, Value),
    /// `UPPER(..) = UPPER($n)`
    IExact(Value),
    /// `LIKE` with the raw (unescaped) text; escaped when rendered, as the
    /// lookups on fields are (`ci`: `UPPER(..) LIKE UPPER($n)`).
    Like {
        at: Like,
        ci: bool,
        text: String,
    },
    /// `~` / `~*` with the pattern as it is (PostgreSQL's dialect).
    Regex {
        ci: bool,
        pattern: String,
    },
    /// ` @@ <query>`: a `SearchVector` annotation matching a query.
    Search(Box<crate::sql::tree::SearchQuery>),
}

impl OutputOp {
    /// `<output> <op>`, the output written by `output`.
    fn push(&self, w: &mut SqlWriter, output: &mut dyn FnMut(&mut SqlWriter)) {
        let upper = |w: &mut SqlWriter, output: &mut dyn FnMut(&mut SqlWriter)| {
            w.push_sql("UPPER(");
            output(w);
            w.push_sql(")");
        };
        match self {
            OutputOp::IExact(value) => {
                upper(w, output);
                w.push_sql(" = UPPER(");
                w.push_bind(value.clone());
                w.push_sql(")");
                return;
            }
            OutputOp::Like { at, ci: true, text } => {
                upper(w, output);
                w.push_sql(" LIKE UPPER(");
                w.push_bind(Value::Text(Some(like_pattern(*at, text))));
                w.push_sql(")");
                return;
            }
            _ => output(w),
        }
        match self {
            OutputOp::Cmp(op, value) => {
                w.push_sql(op);
                w.push_bind(value.clone());
            }
            OutputOp::IsNull(true) => w.push_sql(" IS NULL"),
            OutputOp::IsNull(false) => w.push_sql(" IS NOT NULL"),
            OutputOp::In(values) => {
                w.push_sql(" = ANY(");
                w.push_bind(values.clone());
                w.push_sql(")");
            }
            OutputOp::Range(low, high) => {
                w.push_sql(" BETWEEN ");
                w.push_bind(low.clone());
                w.push_sql(" AND ");
                w.push_bind(high.clone());
            }
            OutputOp::Like { at, text, .. } => {
                w.push_sql(" LIKE ");
                w.push_bind(Value::Text(Some(like_pattern(*at, text))));
            }
            OutputOp::Regex { ci, pattern } => {
                w.push_sql(if *ci { " ~* " } else { " ~ " });
                w.push_bind(Value::Text(Some(pattern.clone())));
            }
            OutputOp::Search(query) => {
                w.push_sql(" @@ ");
                query.push_sql(w);
            }
            // Written above.
            OutputOp::IExact(_) => {}
        }
    }
}

/// Conditions on outputs `T` (a resolved aggregate, an annotation),
/// combined as Django's `Q(..) & Q(..)`, `|`, `~`. Built through
/// [`and`](OutputNode::and), [`or`](OutputNode::or) and
/// [`not`](OutputNode::negate), which fold the constants away: a tree is
/// `All`, `Nothing`, or has neither inside.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OutputNode<T> {
    /// Every row (no condition).
    All,
    /// No row (an empty `in`).
    Nothing,
    Leaf(T, OutputOp),
    And(Vec<OutputNode<T>>),
    Or(Vec<OutputNode<T>>),
    Not(Box<OutputNode<T>>),
}

impl<T> OutputNode<T> {
    /// `self AND other`, flattened.
    pub(crate) fn and(self, other: Self) -> Self {
        match (self, other) {
            (OutputNode::Nothing, _) | (_, OutputNode::Nothing) => OutputNode::Nothing,
            (OutputNode::All, n) | (n, OutputNode::All) => n,
            (OutputNode::And(mut a), OutputNode::And(b)) => {
                a.extend(b);
                OutputNode::And(a)
            }
            (OutputNode::And(mut a), n) => {
                a.push(n);
                OutputNode::And(a)
            }
            (n, OutputNode::And(mut b)) => {
                b.insert(0, n);
                OutputNode::And(b)
            }
            (a, b) => OutputNode::And(vec![a, b]),
        }
    }

    /// `self OR other`, flattened.
    pub(crate) fn or(self, other: Self) -> Self {
        match (self, other) {
            (OutputNode::All, _) | (_, OutputNode::All) => OutputNode::All,
            (OutputNode::Nothing, n) | (n, OutputNode::Nothing) => n,
            (OutputNode::Or(mut a), OutputNode::Or(b)) => {
                a.extend(b);
                OutputNode::Or(a)
            }
            (OutputNode::Or(mut a), n) => {
                a.push(n);
                OutputNode::Or(a)
            }
            (n, OutputNode::Or(mut b)) => {
                b.insert(0, n);
                OutputNode::Or(b)
            }
            (a, b) => OutputNode::Or(vec![a, b]),
        }
    }

    /// `NOT self`. As Django's `~Q(n__gte=3)` on an annotation, no `IS NOT
    /// NULL` is added: a NULL output matches neither the lookup nor its
    /// negation.
    pub(crate) fn negate(self) -> Self {
        match self {
            OutputNode::All => OutputNode::Nothing,
            OutputNode::Nothing => OutputNode::All,
            OutputNode::Not(inner) => *inner,
            n => OutputNode::Not(Box::new(n)),
        }
    }

    /// Writes the tree (not `All`/`Nothing`, which the caller handles; they
    /// are written as `TRUE`/`FALSE` to stay total), each output by `output`.
    pub(crate) fn push(&self, w: &mut SqlWriter, output: &mut dyn FnMut(&mut SqlWriter, &T)) {
        match self {
            OutputNode::All => w.push_sql("TRUE"),
            OutputNode::Nothing => w.push_sql("FALSE"),
            OutputNode::Leaf(target, op) => op.push(w, &mut |w| output(w, target)),
            OutputNode::And(items) => push_joined(w, items, " AND ", output),
            OutputNode::Or(items) => push_joined(w, items, " OR ", output),
            OutputNode::Not(inner) => {
                w.push_sql("NOT (");
                inner.push(w, output);
                w.push_sql(")");
            }
        }
    }

    /// As [`push`](Self::push), in parentheses when it is an `AND` or `OR`
    /// (after another condition's ` AND `).
    pub(crate) fn push_child(&self, w: &mut SqlWriter, output: &mut dyn FnMut(&mut SqlWriter, &T)) {
        if matches!(self, OutputNode::And(_) | OutputNode::Or(_)) {
            w.push_sql("(");
            self.push(w, output);
            w.push_sql(")");
        } else {
            self.push(w, output);
        }
    }
}

fn push_joined<T>(
    w: &mut SqlWriter,
    items: &[OutputNode<T>],
    sep: &'static str,
    output: &mut dyn FnMut(&mut SqlWriter, &T),
) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            w.push_sql(sep);
        }
        item.push_child(w, output);
    }
}
