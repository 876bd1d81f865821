//! Set operations between `SELECT`s (Django's `union`, `intersection`
//! and `difference`): `(SELECT ..) UNION (SELECT ..) ORDER BY .. LIMIT ..`,
//! and counting or testing for rows over one.

use crate::sql::clauses::{push_direction, push_limit_offset, Sort, SortKey};
use crate::sql::joins::{ColumnRef, Table};
use crate::sql::SqlWriter;

/// How the rows of two queries combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetOp {
    /// Rows of either, each once (`UNION`).
    Union,
    /// Rows of either, repeats kept (`UNION ALL`).
    UnionAll,
    /// Rows of both (`INTERSECT`).
    Intersect,
    /// Rows of the first but not the second (`EXCEPT`).
    Except,
}

impl SetOp {
    /// The keyword between two parts.
    fn sql(self) -> &'static str {
        match self {
            SetOp::Union => " UNION ",
            SetOp::UnionAll => " UNION ALL ",
            SetOp::Intersect => " INTERSECT ",
            SetOp::Except => " EXCEPT ",
        }
    }

    /// The method of `QuerySet` that makes it, for messages.
    pub(crate) fn method(self) -> &'static str {
        match self {
            SetOp::Union => "union",
            SetOp::UnionAll => "union_all",
            SetOp::Intersect => "intersection",
            SetOp::Except => "difference",
        }
    }
}

/// Writes `(part 0) UNION (part 1) ..`, each part in parentheses (so a
/// part keeps its own `ORDER BY` and `LIMIT`, and parts that are
/// themselves combined nest), then the combined rows' ` ORDER BY` (on
/// output column names) and ` LIMIT`/` OFFSET`.
pub(crate) fn push_compound<E>(
    w: &mut SqlWriter,
    op: SetOp,
    parts: usize,
    mut part: impl FnMut(&mut SqlWriter, usize) -> Result<(), E>,
    order: &[Sort],
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<(), E> {
    for i in 0..parts {
        if i > 0 {
            w.push_sql(op.sql());
        }
        w.push_sql("(");
        part(w, i)?;
        w.push_sql(")");
    }
    if !order.is_empty() {
        w.push_sql(" ORDER BY ");
        w.push_list(order, ", ", |w, sort| {
            match &sort.key {
                SortKey::Column(ColumnRef {
                    table: Table::Root,
                    field,
                }) => w.push_ident(field.column),
                // Checked by the query chain: the combined rows have the
                // model's columns only.
                _ => w.reject(|| "a combined query orders by the model's fields only".into()),
            }
            push_direction(w, sort.desc, sort.nulls);
        });
    }
    push_limit_offset(w, limit, offset);
    Ok(())
}

/// Writes `SELECT COUNT(*) FROM (<inner>) AS "subquery"`, or with
/// `exists`, `SELECT 1 FROM (<inner>) AS "subquery" LIMIT 1`.
pub(crate) fn push_count_over<T>(
    w: &mut SqlWriter,
    exists: bool,
    inner: impl FnOnce(&mut SqlWriter) -> T,
) -> T {
    w.push_sql(if exists {
        "SELECT 1 FROM ("
    } else {
        "SELECT COUNT(*) FROM ("
    });
    let out = inner(w);
    w.push_sql(if exists {
        ") AS \"subquery\" LIMIT 1"
    } else {
        ") AS \"subquery\""
    });
    out
}
