//! Range fields (`Range<T>`, Django's `IntegerRangeField`,
//! `BigIntegerRangeField`, `DateRangeField`, `DateTimeRangeField`) and
//! Django's range lookups on typed field handles, with the type-level
//! step `q!` takes for `span__startswith__gte`.
//!
//! | lookup | SQL | typed handle |
//! |---|---|---|
//! | `contains` (an element or a range) | `@>` | `f.span.contains(5)`, `f.span.contains(2..4)` |
//! | `contained_by` | `<@` | `f.span.contained_by(0..100)` (also on integer, date and timestamp fields) |
//! | `overlap` | `&&` | `f.span.overlap(5..15)` |
//! | `fully_lt` / `fully_gt` | `<<` / `>>` | `f.span.fully_lt(20..30)` |
//! | `not_lt` / `not_gt` | `&>` / `&<` | `f.span.not_lt(0..5)` |
//! | `adjacent_to` | `-\|-` | `f.span.adjacent_to(10..20)` |
//! | `isempty`, `lower_inc`, `lower_inf`, `upper_inc`, `upper_inf` | `isempty(col) = $1`, ... | `f.span.isempty(true)` |
//! | `startswith` / `endswith` (then a lookup) | `lower(col)` / `upper(col)` | `f.span.startswith(1)`, `f.span.lower_bound().gte(3)` |
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # use orm_core::Range;
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Event { #[orm(primary_key)] pub id: i64, pub span: Range<i32> }
//! # async fn run() -> orm_core::Result<()> {
//! let f = Event::fields();
//! let found = Event::filter(f.span.contains(5) & f.span.overlap(0..10) & f.span.lower_bound().gte(1)).await?;
//! // The same with q!:
//! let same = Event::filter(q!(span__contains = 5, span__overlap = 0..10, span__startswith__gte = 1)).await?;
//! // f.span.contains("5") -> compile error: not an element or a range of i32
//! # Ok(()) }
//! ```

use std::marker::PhantomData;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::{BoundText, Range, RangeKind};
use crate::field::{ContainsField, Field};
use crate::meta::FieldMeta;
use crate::model::{Ch, Model};
use crate::query::q::{Cmp, Like, Node, Op, RelPath, Q};
use crate::sql::tree::{RangeFlag, RangeOp};
use crate::transform::steps::{LookupEq, LookupIn, LookupOrd};
use crate::transform::Step;
use crate::types::{Arg, ArrayItem, BaseType, FieldType, SqlType};
use crate::value::Value;

/// The element type of a range field: `i32` (`int4range`), `i64`
/// (`int8range`), `NaiveDate` (`daterange`), `NaiveDateTime` (`tsrange`),
/// `DateTime<Utc>` (`tstzrange`), `Decimal` (`numrange`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the element of a range field",
    label = "not a range element type",
    note = "range elements: i32 (int4range), i64 (int8range), NaiveDate (daterange), NaiveDateTime (tsrange), DateTime<Utc> (tstzrange), Decimal (numrange)"
)]
pub trait RangeElement: BaseType + BoundText + PartialOrd + Clone {
    /// The range type of this element.
    const KIND: RangeKind;
}

impl RangeElement for i32 {
    const KIND: RangeKind = RangeKind::Int4;
}
impl RangeElement for i64 {
    const KIND: RangeKind = RangeKind::Int8;
}
impl RangeElement for NaiveDate {
    const KIND: RangeKind = RangeKind::Date;
}
impl RangeElement for NaiveDateTime {
    const KIND: RangeKind = RangeKind::Ts;
}
impl RangeElement for DateTime<Utc> {
    const KIND: RangeKind = RangeKind::TsTz;
}
impl RangeElement for rust_decimal::Decimal {
    const KIND: RangeKind = RangeKind::Num;
}

impl<E: RangeElement> FieldType for Range<E> {
    const SQL_TYPE: SqlType = SqlType::Range(E::KIND);
    type Base = Self;
    fn to_value(&self) -> Value {
        Value::Range(E::KIND, Some(Box::new(self.clone().map(|e| e.to_value()))))
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Range(kind, Some(range)) if kind == E::KIND => range.try_map(E::from_value),
            _ => None,
        }
    }
}
impl<E: RangeElement> BaseType for Range<E> {}

/// The value of a range as a [`Value::Range`].
fn range_value<E: RangeElement>(range: Range<E>) -> Value {
    Value::Range(E::KIND, Some(Box::new(range.map(|e| e.to_value()))))
}

macro_rules! range_args {
    ($($ty:ty => |$a:ident| $conv:expr),* $(,)?) => {$(
        #[diagnostic::do_not_recommend]
        impl<'a, E: RangeElement> Arg<Range<E>> for $ty {
            fn into_value(self) -> Value {
                let $a = self;
                range_value($conv)
            }
        }
        #[diagnostic::do_not_recommend]
        impl<'a, E: RangeElement> Arg<Option<Range<E>>> for $ty {
            fn into_value(self) -> Value {
                let $a = self;
                range_value($conv)
            }
        }
        #[diagnostic::do_not_recommend]
        impl<'a, E: RangeElement> RangeOperand<E> for $ty {
            fn into_operand(self) -> Value {
                let $a = self;
                range_value($conv)
            }
        }
    )*};
}

// A range value for a range field: a `Range`, or a Rust range (`1..10`
// is `[1,10)`, `1..=10` is `[1,10]`).
range_args!(
    Range<E> => |a| a,
    &'a Range<E> => |a| a.clone(),
    std::ops::Range<E> => |a| Range::from(a),
    std::ops::RangeInclusive<E> => |a| Range::from(a),
);

/// A value `contains` takes on a range field of `E`: an element (`5`) or
/// a range (`Range::new(2, 4)`, `2..4`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is neither an element nor a range of `{E}`",
    label = "expected a `{E}` or a range of `{E}`",
    note = "`contains` on a range field takes an element (`span__contains = 5`) or a range (`span__contains = 2..4`)"
)]
pub trait RangeOperand<E> {
    /// The operand as a value: an element or a [`Value::Range`].
    fn into_operand(self) -> Value;
}

macro_rules! element_operands {
    ($($ty:ty),*) => {$(
        #[diagnostic::do_not_recommend]
        impl RangeOperand<$ty> for $ty {
            fn into_operand(self) -> Value {
                self.to_value()
            }
        }
        #[diagnostic::do_not_recommend]
        impl RangeOperand<$ty> for &$ty {
            fn into_operand(self) -> Value {
                self.to_value()
            }
        }
    )*};
}
element_operands!(
    i32,
    i64,
    NaiveDate,
    NaiveDateTime,
    DateTime<Utc>,
    rust_decimal::Decimal
);

/// Range fields (`Range<T>`, `Option<Range<T>>`, PostgreSQL's range
/// types): the types Django's range lookups apply to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a range field: this lookup works on `Range<T>` fields",
    label = "range lookup on a non-range field",
    note = "fully_lt, fully_gt, not_lt, not_gt, adjacent_to, isempty, lower_inc, lower_inf, upper_inc, upper_inf and the bounds (`span__startswith__gte`) apply to Range<T> and Option<Range<T>> fields"
)]
pub trait RangeField: FieldType {
    /// The element type.
    type Element: RangeElement;
}
impl<E: RangeElement> RangeField for Range<E> {
    type Element = E;
}
impl<E: RangeElement> RangeField for Option<Range<E>> {
    type Element = E;
}

impl<E: RangeElement, V: RangeOperand<E>> ContainsField<V> for Range<E> {
    fn contains_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
        field.q(Op::RangeCmp(RangeOp::Contains, value.into_operand()))
    }
}
impl<E: RangeElement, V: RangeOperand<E>> ContainsField<V> for Option<Range<E>> {
    fn contains_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
        field.q(Op::RangeCmp(RangeOp::Contains, value.into_operand()))
    }
}

/// Field types `contained_by` applies to, with the value of type `V` it
/// takes: an array field (an array, `<@`), a range field (a range) and,
/// as Django's `RangeContainedBy`, an integer, date or timestamp field
/// (a range of its type: `n__contained_by = 1..10`).
#[diagnostic::on_unimplemented(
    message = "`contained_by` does not take a `{V}` on a `{Self}` field",
    label = "`contained_by` on a field that is not an array, a range, an integer, a date or a timestamp, or a value of the wrong type",
    note = "`contained_by` takes an array (`[1, 2]`) on a Vec<T> field, a range (`Range::new(1, 10)`, `1..10`) on a Range<T>, i32, i64, Decimal, NaiveDate, NaiveDateTime or DateTime<Utc> field, and a JSON value on a serde_json::Value field"
)]
pub trait ContainedByField<V>: FieldType {
    /// The condition on `field`.
    #[doc(hidden)]
    fn contained_by_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M>;
}

/// Field types `overlap` applies to, with the value of type `V` it takes:
/// an array field (an array sharing an element, `&&`) and a range field
/// (a range sharing a point, `&&`).
#[diagnostic::on_unimplemented(
    message = "`overlap` does not take a `{V}` on a `{Self}` field",
    label = "`overlap` on a field that is neither an array nor a range, or a value of the wrong type",
    note = "`overlap` takes an array (`[1, 2]`) on a Vec<T> field and a range (`1..10`) on a Range<T> field"
)]
pub trait OverlapField<V>: FieldType {
    /// The condition on `field`.
    #[doc(hidden)]
    fn overlap_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M>;
}

macro_rules! array_and_range_impls {
    ($($ty:ty),*) => {$(
        impl<T: ArrayItem, V: Arg<Vec<T>>> ContainedByField<V> for $ty {
            fn contained_by_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
                field.q(Op::ContainedBy(value.into_value()))
            }
        }
        impl<T: ArrayItem, V: Arg<Vec<T>>> OverlapField<V> for $ty {
            fn overlap_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
                field.q(Op::Overlap(value.into_value()))
            }
        }
    )*};
}
array_and_range_impls!(Vec<T>, Option<Vec<T>>);

macro_rules! range_field_impls {
    ($($ty:ty),*) => {$(
        impl<E: RangeElement, V: Arg<Range<E>>> ContainedByField<V> for $ty {
            fn contained_by_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
                field.q(Op::RangeCmp(RangeOp::ContainedBy, value.into_value()))
            }
        }
        impl<E: RangeElement, V: Arg<Range<E>>> OverlapField<V> for $ty {
            fn overlap_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
                field.q(Op::RangeCmp(RangeOp::Overlap, value.into_value()))
            }
        }
        impl<E: RangeElement, V: Arg<E>> StartsEndsWithField<V> for $ty {
            fn starts_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
                field.q(Op::RangeEnd(false, Box::new(Op::Exact(value.into_value()))))
            }
            fn ends_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
                field.q(Op::RangeEnd(true, Box::new(Op::Exact(value.into_value()))))
            }
        }
    )*};
}
range_field_impls!(Range<E>, Option<Range<E>>);

macro_rules! scalar_contained_by {
    ($($ty:ty),*) => {$(
        impl<V: Arg<Range<$ty>>> ContainedByField<V> for $ty {
            fn contained_by_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
                field.q(Op::RangeCmp(RangeOp::ContainedBy, value.into_value()))
            }
        }
        impl<V: Arg<Range<$ty>>> ContainedByField<V> for Option<$ty> {
            fn contained_by_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
                field.q(Op::RangeCmp(RangeOp::ContainedBy, value.into_value()))
            }
        }
    )*};
}
scalar_contained_by!(
    i32,
    i64,
    NaiveDate,
    NaiveDateTime,
    DateTime<Utc>,
    rust_decimal::Decimal
);

/// Field types `startswith` and `endswith` apply to, with the value of
/// type `V` they take: text fields (a prefix or suffix, `LIKE`) and range
/// fields (the lower or upper bound equals an element, Django's
/// `RangeStartsWith` / `RangeEndsWith`: `lower(col) = $1`).
#[diagnostic::on_unimplemented(
    message = "`startswith`/`endswith` do not take a `{V}` on a `{Self}` field",
    label = "`startswith`/`endswith` on a field that is neither text nor a range, or a value of the wrong type",
    note = "they take text on a String field, and an element (the bound) on a Range<T> field"
)]
pub trait StartsEndsWithField<V>: FieldType {
    /// `startswith` on `field`.
    #[doc(hidden)]
    fn starts_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M>;
    /// `endswith` on `field`.
    #[doc(hidden)]
    fn ends_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M>;
}

fn like<M: Model, T: FieldType, V: Arg<String>>(field: Field<M, T>, at: Like, value: V) -> Q<M> {
    match value.into_value() {
        Value::Text(Some(text)) => field.q(Op::Like {
            at,
            ci: false,
            text,
        }),
        // `Arg<String>` only yields text; keep the tree total anyway.
        _ => Q::none(),
    }
}

macro_rules! text_starts_ends {
    ($($ty:ty),*) => {$(
        impl<V: Arg<String>> StartsEndsWithField<V> for $ty {
            fn starts_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
                like(field, Like::StartsWith, value)
            }
            fn ends_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
                like(field, Like::EndsWith, value)
            }
        }
    )*};
}
text_starts_ends!(String, Option<String>);

impl<M: Model, T: FieldType> Field<M, T> {
    /// `contained_by`: on an array field, every element is in the array
    /// `value` (`<@`; an empty array is contained by any); on a range
    /// field, the range lies within the range `value` (`<@`); on an
    /// integer, date or timestamp field, the value lies in the range
    /// `value` (`f.n.contained_by(1..10)`, Django's `RangeContainedBy`).
    pub fn contained_by<V>(self, value: V) -> Q<M>
    where
        T: ContainedByField<V>,
    {
        T::contained_by_q(self, value)
    }

    /// `overlap`: on an array field, shares at least one element with the
    /// array `value` (`&&`); on a range field, shares a point with the
    /// range `value` (`&&`).
    pub fn overlap<V>(self, value: V) -> Q<M>
    where
        T: OverlapField<V>,
    {
        T::overlap_q(self, value)
    }

    /// `startswith`: on a text field, `LIKE 'value%'` with the value
    /// matched literally; on a range field, the lower bound equals the
    /// element `value` (`lower(col) = $1`).
    pub fn startswith<V>(self, value: V) -> Q<M>
    where
        T: StartsEndsWithField<V>,
    {
        T::starts_q(self, value)
    }

    /// `endswith`: on a text field, `LIKE '%value'` with the value
    /// matched literally; on a range field, the upper bound equals the
    /// element `value` (`upper(col) = $1`).
    pub fn endswith<V>(self, value: V) -> Q<M>
    where
        T: StartsEndsWithField<V>,
    {
        T::ends_q(self, value)
    }
}

impl<M: Model, T: RangeField> Field<M, T> {
    fn range_op<V: Arg<Range<T::Element>>>(self, op: RangeOp, value: V) -> Q<M> {
        self.q(Op::RangeCmp(op, value.into_value()))
    }

    /// `fully_lt`: the range lies strictly before `value` (`<<`).
    pub fn fully_lt<V: Arg<Range<T::Element>>>(self, value: V) -> Q<M> {
        self.range_op(RangeOp::FullyLt, value)
    }

    /// `fully_gt`: the range lies strictly after `value` (`>>`).
    pub fn fully_gt<V: Arg<Range<T::Element>>>(self, value: V) -> Q<M> {
        self.range_op(RangeOp::FullyGt, value)
    }

    /// `not_lt`: the range does not extend to the left of `value` (`&>`).
    pub fn not_lt<V: Arg<Range<T::Element>>>(self, value: V) -> Q<M> {
        self.range_op(RangeOp::NotLt, value)
    }

    /// `not_gt`: the range does not extend to the right of `value` (`&<`).
    pub fn not_gt<V: Arg<Range<T::Element>>>(self, value: V) -> Q<M> {
        self.range_op(RangeOp::NotGt, value)
    }

    /// `adjacent_to`: the range and `value` meet without overlapping
    /// (`-|-`).
    pub fn adjacent_to<V: Arg<Range<T::Element>>>(self, value: V) -> Q<M> {
        self.range_op(RangeOp::AdjacentTo, value)
    }

    fn flag(self, flag: RangeFlag, value: bool) -> Q<M> {
        self.q(Op::RangeFlag(flag, value))
    }

    /// `isempty`: the range is (or, with `false`, is not) empty. A NULL
    /// range matches neither.
    pub fn isempty(self, value: bool) -> Q<M> {
        self.flag(RangeFlag::IsEmpty, value)
    }

    /// `lower_inc`: the lower bound is (not) included.
    pub fn lower_inc(self, value: bool) -> Q<M> {
        self.flag(RangeFlag::LowerInc, value)
    }

    /// `lower_inf`: the range has (not) no lower bound.
    pub fn lower_inf(self, value: bool) -> Q<M> {
        self.flag(RangeFlag::LowerInf, value)
    }

    /// `upper_inc`: the upper bound is (not) included.
    pub fn upper_inc(self, value: bool) -> Q<M> {
        self.flag(RangeFlag::UpperInc, value)
    }

    /// `upper_inf`: the range has (not) no upper bound.
    pub fn upper_inf(self, value: bool) -> Q<M> {
        self.flag(RangeFlag::UpperInf, value)
    }

    /// The lower bound (`lower(col)`, NULL for an empty or unbounded
    /// range), with the element's comparisons: `f.span.lower_bound().gte(3)`
    /// (`span__startswith__gte = 3`; `lower()` is text's transform).
    pub fn lower_bound(self) -> RangeEnd<M, T::Element> {
        RangeEnd::new(self.meta(), self.path, false)
    }

    /// The upper bound (`upper(col)`), as
    /// [`lower_bound`](Field::lower_bound): `span__endswith__lt = 10`.
    pub fn upper_bound(self) -> RangeEnd<M, T::Element> {
        RangeEnd::new(self.meta(), self.path, true)
    }
}

/// A handle on a range field's lower or upper bound (`f.span.lower_bound()`,
/// `span__startswith` before a lookup in `q!`), of the element type `E`:
/// `eq`, `gt`, `gte`, `lt`, `lte`, `in_`, `range`, `is_null` and
/// `contained_by`. An empty or unbounded side is NULL, which no
/// comparison matches.
pub struct RangeEnd<M, E> {
    field: &'static FieldMeta,
    path: RelPath,
    upper: bool,
    _marker: PhantomData<fn() -> (M, E)>,
}

impl<M, E> Clone for RangeEnd<M, E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M, E> Copy for RangeEnd<M, E> {}

impl<M, E> std::fmt::Debug for RangeEnd<M, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeEnd")
            .field("field", &self.field.name)
            .field("upper", &self.upper)
            .finish()
    }
}

impl<M: Model, E: RangeElement> RangeEnd<M, E> {
    fn new(field: &'static FieldMeta, path: RelPath, upper: bool) -> Self {
        RangeEnd {
            field,
            path,
            upper,
            _marker: PhantomData,
        }
    }

    fn q(self, op: Op) -> Q<M> {
        Q::from_node(Node::leaf_at(
            self.path,
            self.field,
            Op::RangeEnd(self.upper, Box::new(op)),
        ))
    }

    /// The bound equals `value`.
    pub fn eq<A: Arg<E>>(self, value: A) -> Q<M> {
        self.q(Op::Exact(value.into_value()))
    }

    /// The bound is greater than `value`.
    pub fn gt<A: Arg<E>>(self, value: A) -> Q<M> {
        self.q(Op::Cmp(Cmp::Gt, value.into_value()))
    }

    /// The bound is greater than or equal to `value`.
    pub fn gte<A: Arg<E>>(self, value: A) -> Q<M> {
        self.q(Op::Cmp(Cmp::Gte, value.into_value()))
    }

    /// The bound is less than `value`.
    pub fn lt<A: Arg<E>>(self, value: A) -> Q<M> {
        self.q(Op::Cmp(Cmp::Lt, value.into_value()))
    }

    /// The bound is less than or equal to `value`.
    pub fn lte<A: Arg<E>>(self, value: A) -> Q<M> {
        self.q(Op::Cmp(Cmp::Lte, value.into_value()))
    }

    /// The bound is one of `values` (an empty list matches nothing).
    pub fn in_<I: IntoIterator<Item = A>, A: Arg<E>>(self, values: I) -> Q<M> {
        self.q(Op::In(values.into_iter().map(Arg::into_value).collect()))
    }

    /// The bound is between `low` and `high`, both included.
    pub fn range<A: Arg<E>>(self, (low, high): (A, A)) -> Q<M> {
        self.q(Op::Range(low.into_value(), high.into_value()))
    }

    /// The bound is NULL (the range is empty or unbounded on that side,
    /// or NULL), or, with `false`, is not.
    pub fn is_null(self, is_null: bool) -> Q<M> {
        self.q(Op::IsNull(is_null))
    }

    /// The bound lies in the range `value`.
    pub fn contained_by<A: Arg<Range<E>>>(self, value: A) -> Q<M> {
        self.q(Op::RangeCmp(RangeOp::ContainedBy, value.into_value()))
    }
}

impl<M: Model, E: RangeElement, A: Arg<E>> LookupEq<M, A> for RangeEnd<M, E> {
    fn eq(self, value: A) -> Q<M> {
        RangeEnd::eq(self, value)
    }
}
impl<M: Model, E: RangeElement, I: IntoIterator<Item = A>, A: Arg<E>> LookupIn<M, I>
    for RangeEnd<M, E>
{
    fn in_(self, values: I) -> Q<M> {
        RangeEnd::in_(self, values)
    }
}
impl<M: Model, E: RangeElement, A: Arg<E>> LookupOrd<M, A> for RangeEnd<M, E> {
    fn gt(self, value: A) -> Q<M> {
        RangeEnd::gt(self, value)
    }
    fn gte(self, value: A) -> Q<M> {
        RangeEnd::gte(self, value)
    }
    fn lt(self, value: A) -> Q<M> {
        RangeEnd::lt(self, value)
    }
    fn lte(self, value: A) -> Q<M> {
        RangeEnd::lte(self, value)
    }
    fn range(self, bounds: (A, A)) -> Q<M> {
        RangeEnd::range(self, bounds)
    }
}

/// A name that may follow a range field in `q!`: `startswith` (its lower
/// bound) or `endswith` (its upper bound), then a lookup.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this name cannot follow a range field",
    label = "not `startswith` or `endswith`",
    note = "after a range field comes `startswith` or `endswith` (its lower or upper bound) and a lookup: `span__startswith__gte = 3`"
)]
pub trait RangeStep {
    /// True for the upper bound.
    const UPPER: bool;
}

type StartsWith = (
    Ch<'s'>,
    Ch<'t'>,
    Ch<'a'>,
    Ch<'r'>,
    Ch<'t'>,
    Ch<'s'>,
    Ch<'w'>,
    Ch<'i'>,
    Ch<'t'>,
    Ch<'h'>,
);
type EndsWith = (
    Ch<'e'>,
    Ch<'n'>,
    Ch<'d'>,
    Ch<'s'>,
    Ch<'w'>,
    Ch<'i'>,
    Ch<'t'>,
    Ch<'h'>,
);
impl RangeStep for StartsWith {
    const UPPER: bool = false;
}
impl RangeStep for EndsWith {
    const UPPER: bool = true;
}

impl<M: Model, E: RangeElement, N: RangeStep> Step<M, N> for Range<E> {
    type Out = RangeEnd<M, E>;
    fn step(field: Field<M, Self>) -> Self::Out {
        RangeEnd::new(field.meta(), field.path, N::UPPER)
    }
}
impl<M: Model, E: RangeElement, N: RangeStep> Step<M, N> for Option<Range<E>> {
    type Out = RangeEnd<M, E>;
    fn step(field: Field<M, Self>) -> Self::Out {
        RangeEnd::new(field.meta(), field.path, N::UPPER)
    }
}
