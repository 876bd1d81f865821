//! The clauses several statements end with: `ORDER BY` over a model's
//! fields (also across relations, through the query's joins) or
//! expressions, and `LIMIT` / `OFFSET`.

use std::sync::Arc;

use crate::meta::FieldMeta;
use crate::sql::condition::Scope;
use crate::sql::expr::Expr;
use crate::sql::joins::{ColumnRef, Tables};
use crate::sql::SqlWriter;
use crate::value::Value;

/// Where NULLs sort: PostgreSQL's default (last ascending, first
/// descending), or first or last whatever the direction (Django's
/// `nulls_first=True` / `nulls_last=True`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Nulls {
    #[default]
    Default,
    First,
    Last,
}

impl Nulls {
    /// The placement of the reversed ordering (Django's `reverse_ordering`).
    pub(crate) fn flipped(self) -> Nulls {
        match self {
            Nulls::Default => Nulls::Default,
            Nulls::First => Nulls::Last,
            Nulls::Last => Nulls::First,
        }
    }
}

/// What one `ORDER BY` term sorts by.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortKey {
    /// A column of the queried table or of a joined one.
    Column(ColumnRef),
    /// An expression over the row (`F("likes") + F("views")`), checked.
    Expr(Arc<Expr>),
}

/// One `ORDER BY` term.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sort {
    pub key: SortKey,
    pub desc: bool,
    pub nulls: Nulls,
}

impl Sort {
    /// `field` of the queried table, ascending or not, NULLs where
    /// PostgreSQL puts them.
    pub(crate) fn new(field: &'static FieldMeta, desc: bool) -> Sort {
        Sort {
            key: SortKey::Column(ColumnRef::root(field)),
            desc,
            nulls: Nulls::Default,
        }
    }

    /// The field of the queried table it sorts by, if that is what it
    /// sorts by.
    pub(crate) fn own_field(&self) -> Option<&'static FieldMeta> {
        match &self.key {
            SortKey::Column(ColumnRef {
                table: crate::sql::joins::Table::Root,
                field,
            }) => Some(field),
            _ => None,
        }
    }

    /// The other way round, NULLs too.
    pub(crate) fn flipped(self) -> Sort {
        Sort {
            desc: !self.desc,
            nulls: self.nulls.flipped(),
            ..self
        }
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

/// ` DESC` or ` ASC`, then ` NULLS FIRST` / ` NULLS LAST` when asked.
pub(crate) fn push_direction(w: &mut SqlWriter, desc: bool, nulls: Nulls) {
    w.push_sql(if desc { " DESC" } else { " ASC" });
    match nulls {
        Nulls::Default => {}
        Nulls::First => w.push_sql(" NULLS FIRST"),
        Nulls::Last => w.push_sql(" NULLS LAST"),
    }
}

/// ` LIMIT n OFFSET $m`, each when given. The limit is a literal, not a
/// parameter: with `LIMIT $n` PostgreSQL cannot use a generic plan and
/// re-plans on every execution (measured: +40 us per query). A call
/// site's limit rarely varies, so statements stay few.
pub(crate) fn push_limit_offset(w: &mut SqlWriter, limit: Option<i64>, offset: Option<i64>) {
    if let Some(limit) = limit {
        w.push_sql(" LIMIT ");
        w.push_int(limit);
    }
    if let Some(offset) = offset {
        w.push_sql(" OFFSET ");
        w.push_bind(Value::I64(Some(offset)));
    }
}
