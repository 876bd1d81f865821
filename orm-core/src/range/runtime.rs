//! The runtime form of the range lookups (`Lookup::parse`): which lookups
//! a range (or, for `contained_by`, an element) type takes, the type of
//! their values, their conditions.

use orm_names::Lookup as Kind;

use super::RangeKind;
use crate::sql::tree::{Op, RangeFlag, RangeOp};
use crate::types::SqlType;
use crate::value::Value;

/// The range type whose elements are of type `ty`, if any.
fn kind_of_element(ty: SqlType) -> Option<RangeKind> {
    Some(match ty {
        SqlType::Integer => RangeKind::Int4,
        SqlType::BigInt => RangeKind::Int8,
        SqlType::Date => RangeKind::Date,
        SqlType::Timestamp => RangeKind::Ts,
        SqlType::TimestampTz => RangeKind::TsTz,
        SqlType::Numeric => RangeKind::Num,
        _ => return None,
    })
}

/// Whether `lookup` applies to a value of type `ty` when ranges decide
/// it: `Some` for a range type (Django's `RangeField` lookups) and for
/// `contained_by` on a range's element type; `None` when the lookup
/// table's [`FieldKind`](orm_names::FieldKind) decides.
pub(crate) fn range_applies(lookup: Kind, ty: SqlType) -> Option<bool> {
    match ty {
        SqlType::Range(_) => Some(orm_names::RANGE_LOOKUPS.contains(&lookup)),
        ty if lookup == Kind::ContainedBy && kind_of_element(ty).is_some() => Some(true),
        _ => None,
    }
}

/// The type of the value a runtime `lookup` on a value of type `ty`
/// takes, where ranges decide it: an element for `startswith` and
/// `endswith` on a range (and for `contains` when `text` is not a range
/// literal), a range of the field's type for `contained_by` on an
/// element. `None`: the field's own type.
pub(crate) fn range_value_type(lookup: Kind, ty: SqlType, text: Option<&str>) -> Option<SqlType> {
    match (ty, lookup) {
        (SqlType::Range(kind), Kind::StartsWith | Kind::EndsWith) => Some(kind.element()),
        (SqlType::Range(kind), Kind::Contains) => {
            let literal = text.is_some_and(|t| {
                let t = t.trim_start();
                t.starts_with(['[', '(']) || t.eq_ignore_ascii_case("empty")
            });
            (!literal).then(|| kind.element())
        }
        (ty, Kind::ContainedBy) if !matches!(ty, SqlType::Range(_)) => {
            kind_of_element(ty).map(SqlType::Range)
        }
        _ => None,
    }
}

/// The condition of a one-value runtime `lookup` on a value of type `ty`
/// where ranges decide it (see [`range_applies`]); `None` otherwise.
pub(crate) fn range_lookup_op(lookup: Kind, ty: SqlType, value: &Value) -> Option<Op> {
    let value = value.clone();
    Some(match (ty, lookup) {
        (SqlType::Range(_), Kind::Contains) => Op::RangeCmp(RangeOp::Contains, value),
        (SqlType::Range(_), Kind::Overlap) => Op::RangeCmp(RangeOp::Overlap, value),
        (SqlType::Range(_), Kind::StartsWith) => Op::RangeEnd(false, Box::new(Op::Exact(value))),
        (SqlType::Range(_), Kind::EndsWith) => Op::RangeEnd(true, Box::new(Op::Exact(value))),
        (ty, Kind::ContainedBy)
            if matches!(ty, SqlType::Range(_)) || kind_of_element(ty).is_some() =>
        {
            Op::RangeCmp(RangeOp::ContainedBy, value)
        }
        _ => return None,
    })
}

/// The condition of a range-only lookup of the table (`fully_lt`, ...,
/// `isempty`, ...): a range operand or a flag.
pub(crate) fn range_only_op(lookup: Kind, value: Option<Value>, flag: Option<bool>) -> Option<Op> {
    let op = |op| value.clone().map(|v| Op::RangeCmp(op, v));
    let flag = |f| flag.map(|b| Op::RangeFlag(f, b));
    match lookup {
        Kind::FullyLt => op(RangeOp::FullyLt),
        Kind::FullyGt => op(RangeOp::FullyGt),
        Kind::NotLt => op(RangeOp::NotLt),
        Kind::NotGt => op(RangeOp::NotGt),
        Kind::AdjacentTo => op(RangeOp::AdjacentTo),
        Kind::IsEmpty => flag(RangeFlag::IsEmpty),
        Kind::LowerInc => flag(RangeFlag::LowerInc),
        Kind::LowerInf => flag(RangeFlag::LowerInf),
        Kind::UpperInc => flag(RangeFlag::UpperInc),
        Kind::UpperInf => flag(RangeFlag::UpperInf),
        _ => None,
    }
}
