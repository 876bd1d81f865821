//! The ends of clauses several statements share: an `ORDER BY` term's
//! direction and NULLs, and `LIMIT` / `OFFSET`. (`ORDER BY` itself, whose
//! terms may be expressions, is written in `condition.rs`.)

use crate::meta::FieldMeta;
use crate::sql::joins::ColumnRef;
pub(crate) use crate::sql::tree::{Nulls, Sort, SortKey};
use crate::sql::SqlWriter;
use crate::value::Value;

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
