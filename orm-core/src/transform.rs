//! Transforms on typed field handles: the date and time parts
//! (`f.created.year()`, `f.created.date()`, `f.starts.hour()`, in the
//! [active time zone](crate::timezone) for a `DateTime<Utc>` field) and
//! Django's text functions as transforms (`f.name.lower()`,
//! `f.name.length()`) give a [`Transformed`] handle: a field handle of the
//! transform's output type, with that type's lookups and transforms
//! (`f.created.date().year()`).
//!
//! Also the type-level dispatch `q!` uses for a name after a field
//! ([`Step`]): after a relation the name is a field of the related model
//! (`event__date`), after a date, time or text value it is a transform
//! (`created__date`, `created__date__year`, `name__lower`). The kinds of
//! field types differ, so the one macro expansion means the right thing
//! for each.

use std::marker::PhantomData;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use crate::field::{member_of, Field, Member, Transforms};
use crate::model::{Ch, HasField, Model};
use crate::query::q::Transform;
use crate::types::{DateField, DateTimeField, FieldType, TextField, TimeField};

/// A handle on a field's value after one or more transforms
/// (`User::fields().created.year()`, `f.name.lower()`), of type `V`: `i32`
/// for the date parts and `length`, `NaiveDate` for `date()`, `NaiveTime`
/// for `time()`, `String` for `lower()`/`upper()`/`trim()`. It is a
/// [`Field`] of that type, with every lookup a field of type `V` has
/// (`eq`, `gt`, `in_` also with a query, `is_null`, the text lookups after
/// a text transform, `F()` comparisons), and the transforms of `V`
/// (`f.created.date().year()`, Django's `created__date__year`).
///
/// `year()` and `iso_year()` compared with `eq`, `gt`, `gte`, `lt` or
/// `lte` are ranges on the transform's input (the column itself for
/// `created__year`), so an index on it still serves.
///
/// ```no_run
/// # use orm_core::prelude::*;
/// # use chrono::{DateTime, NaiveDate, Utc};
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct Post { #[orm(primary_key)] pub id: i64, pub title: String, pub created: DateTime<Utc> }
/// # async fn run() -> orm_core::Result<()> {
/// let f = Post::fields();
/// let day = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
/// let posts = Post::filter(
///     f.created.year().gte(2020) & f.created.week_day().in_([1, 7]) & f.created.date().lt(day),
/// )
/// .await?;
/// // Chained, and text transforms: the same as
/// // q!(created__date__month = 3, title__lower__startswith = "rust").
/// let march = Post::filter(f.created.date().month().eq(3) & f.title.lower().startswith("rust")).await?;
/// // f.created.year().eq("2020") -> compile error: a year is an i32
/// # Ok(()) }
/// ```
pub type Transformed<M, V> = Field<M, V>;

impl<M: Model, T: FieldType> Field<M, T> {
    /// The handle on this value after `transform`, a value of type `V`.
    pub(crate) fn transform<V: FieldType>(self, transform: Transform) -> Field<M, V> {
        Field {
            member: self.member,
            path: self.path,
            index: self.index,
            transforms: self.transforms.then(transform),
            _marker: PhantomData,
        }
    }
}

impl<M: Model, T: TextField> Field<M, T> {
    /// The text in lower case (`name__lower`, Django's `Lower` as a
    /// transform): `f.name.lower().startswith("rust")`.
    pub fn lower(self) -> Transformed<M, String> {
        self.transform(Transform::Lower)
    }

    /// The text in upper case (`name__upper`, Django's `Upper`).
    pub fn upper(self) -> Transformed<M, String> {
        self.transform(Transform::Upper)
    }

    /// The number of characters (`name__length`, Django's `Length`), NULL
    /// for a NULL text.
    pub fn length(self) -> Transformed<M, i32> {
        self.transform(Transform::Length)
    }

    /// The text without leading and trailing spaces (`name__trim`).
    pub fn trim(self) -> Transformed<M, String> {
        self.transform(Transform::Trim)
    }

    /// The text without leading spaces (`name__ltrim`).
    pub fn ltrim(self) -> Transformed<M, String> {
        self.transform(Transform::LTrim)
    }

    /// The text without trailing spaces (`name__rtrim`).
    pub fn rtrim(self) -> Transformed<M, String> {
        self.transform(Transform::RTrim)
    }
}

impl<M: Model, T: DateField> Field<M, T> {
    /// The year (`created__year`), as an `i32`. Its `eq`, `gt`, `gte`,
    /// `lt` and `lte` are ranges on the column (an index serves them).
    pub fn year(self) -> Transformed<M, i32> {
        self.transform(Transform::Year)
    }

    /// The ISO 8601 week-numbering year (`created__iso_year`): weeks start
    /// on Monday and week 1 holds January 4th, so the first days of
    /// January may belong to the year before. Compared as a range too.
    pub fn iso_year(self) -> Transformed<M, i32> {
        self.transform(Transform::IsoYear)
    }

    /// The month, 1 to 12 (`created__month`).
    pub fn month(self) -> Transformed<M, i32> {
        self.transform(Transform::Month)
    }

    /// The day of the month, 1 to 31 (`created__day`).
    pub fn day(self) -> Transformed<M, i32> {
        self.transform(Transform::Day)
    }

    /// The ISO 8601 week number, 1 to 53 (`created__week`).
    pub fn week(self) -> Transformed<M, i32> {
        self.transform(Transform::Week)
    }

    /// The day of the week, 1 = Sunday to 7 = Saturday
    /// (`created__week_day`, as Django).
    pub fn week_day(self) -> Transformed<M, i32> {
        self.transform(Transform::WeekDay)
    }

    /// The ISO day of the week, 1 = Monday to 7 = Sunday
    /// (`created__iso_week_day`).
    pub fn iso_week_day(self) -> Transformed<M, i32> {
        self.transform(Transform::IsoWeekDay)
    }

    /// The quarter, 1 to 4 (`created__quarter`).
    pub fn quarter(self) -> Transformed<M, i32> {
        self.transform(Transform::Quarter)
    }
}

impl<M: Model, T: DateTimeField> Field<M, T> {
    /// The date (`created__date`), a `NaiveDate`: in the active time zone
    /// for a `DateTime<Utc>` field.
    pub fn date(self) -> Transformed<M, NaiveDate> {
        self.transform(Transform::Date)
    }

    /// The time of day (`created__time`), a `NaiveTime`.
    pub fn time(self) -> Transformed<M, NaiveTime> {
        self.transform(Transform::Time)
    }
}

impl<M: Model, T: TimeField> Field<M, T> {
    /// The hour, 0 to 23 (`created__hour`).
    pub fn hour(self) -> Transformed<M, i32> {
        self.transform(Transform::Hour)
    }

    /// The minute, 0 to 59 (`created__minute`).
    pub fn minute(self) -> Transformed<M, i32> {
        self.transform(Transform::Minute)
    }

    /// The second, 0 to 59, fractions cut off (`created__second`).
    pub fn second(self) -> Transformed<M, i32> {
        self.transform(Transform::Second)
    }
}

/// The type-level name (a tuple of [`Ch`]) of a transform, with the type
/// of the value it yields.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "no transform has this name",
    label = "not a transform",
    note = "transforms: year, iso_year, month, day, week, week_day, iso_week_day, quarter, date, time, hour, minute, second (dates and times); lower, upper, length, trim, ltrim, rtrim (text)"
)]
pub trait TransformName {
    /// The transform.
    const TRANSFORM: Transform;
    /// What it yields: `i32`, `NaiveDate` or `NaiveTime`.
    type Value: crate::types::BaseType;
}

/// A transform that applies to a date (`NaiveDate`) field.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this transform does not apply to a date (`NaiveDate`) field",
    label = "not a transform of dates",
    note = "a date takes year, iso_year, month, day, week, week_day, iso_week_day and quarter; date, time, hour, minute and second need a date-time"
)]
pub trait DatePart: TransformName {}

/// A transform that applies to a time (`NaiveTime`) field.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this transform does not apply to a time (`NaiveTime`) field",
    label = "not a transform of times",
    note = "a time takes hour, minute and second; the others need a date or a date-time"
)]
pub trait TimePart: TransformName {}

/// A transform that applies to date-times only (`date`, `time`).
#[doc(hidden)]
pub trait DateTimePart: TransformName {}

/// A transform that applies to text (`lower`, `upper`, `length`, `trim`,
/// `ltrim`, `rtrim`).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this transform does not apply to text",
    label = "not a transform of text",
    note = "text takes lower, upper, length, trim, ltrim and rtrim"
)]
pub trait TextPart: TransformName {}

macro_rules! transform_names {
    ($($variant:ident ($($c:literal)*) $value:ty, $part:ident;)*) => {
        $(
            impl TransformName for ($(Ch<$c>,)*) {
                const TRANSFORM: Transform = Transform::$variant;
                type Value = $value;
            }
            impl $part for ($(Ch<$c>,)*) {}
        )*
        /// Each transform with the name its type spells (checked against
        /// the table in the tests).
        #[cfg(test)]
        const SPELLED: &[(Transform, &str)] = &[$((Transform::$variant, concat!($($c),*))),*];
    };
}

transform_names! {
    Year ('y' 'e' 'a' 'r') i32, DatePart;
    IsoYear ('i' 's' 'o' '_' 'y' 'e' 'a' 'r') i32, DatePart;
    Month ('m' 'o' 'n' 't' 'h') i32, DatePart;
    Day ('d' 'a' 'y') i32, DatePart;
    Week ('w' 'e' 'e' 'k') i32, DatePart;
    WeekDay ('w' 'e' 'e' 'k' '_' 'd' 'a' 'y') i32, DatePart;
    IsoWeekDay ('i' 's' 'o' '_' 'w' 'e' 'e' 'k' '_' 'd' 'a' 'y') i32, DatePart;
    Quarter ('q' 'u' 'a' 'r' 't' 'e' 'r') i32, DatePart;
    Date ('d' 'a' 't' 'e') NaiveDate, DateTimePart;
    Time ('t' 'i' 'm' 'e') NaiveTime, DateTimePart;
    Hour ('h' 'o' 'u' 'r') i32, TimePart;
    Minute ('m' 'i' 'n' 'u' 't' 'e') i32, TimePart;
    Second ('s' 'e' 'c' 'o' 'n' 'd') i32, TimePart;
    Lower ('l' 'o' 'w' 'e' 'r') String, TextPart;
    Upper ('u' 'p' 'p' 'e' 'r') String, TextPart;
    Length ('l' 'e' 'n' 'g' 't' 'h') i32, TextPart;
    Trim ('t' 'r' 'i' 'm') String, TextPart;
    LTrim ('l' 't' 'r' 'i' 'm') String, TextPart;
    RTrim ('r' 't' 'r' 'i' 'm') String, TextPart;
}

/// One more name of a `q!` key after a field of type `Self`: the field
/// named `N` of the related model after a relation field (the path grows
/// by the relation), the transform named `N` after a date, time or text
/// value (a field's, or a transform's: `created__date__year`).
/// The impls are on different types, so they never overlap, and `q!` can
/// emit the same `.step::<N>()` for `event__date` (a relation, then a
/// field) and `created__date` (a field, then a transform).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no related field, transform or JSON key with this name",
    label = "not a field of the related model, nor a transform or key of this value",
    note = "after a relation a name is a field of the related model; after a date, time or text value it is a transform: year, iso_year, month, day, week, week_day, iso_week_day, quarter (dates and date-times), date, time (date-times), hour, minute, second (times and date-times), lower, upper, length, trim, ltrim, rtrim (text); after a JSON field (serde_json::Value) it is a key"
)]
pub trait Step<M, N>: FieldType {
    /// The handle the step leads to.
    type Out;
    /// Takes the step from `field`.
    fn step(field: Field<M, Self>) -> Self::Out;
}

/// The field named `N` of `T`, reached from `field` (a relation to `T`).
fn through<M: Model, S, T: Model + HasField<N>, N>(
    field: Field<M, S>,
) -> Field<M, <T as HasField<N>>::Type> {
    let relation = match field.member {
        Member::Relation(rel) => Some(rel),
        Member::Column(column) => {
            let owner = field.path.last().map_or(M::META, |r| r.target.meta());
            owner.relation_of_field(column.position)
        }
        // A composite key's handle has no relation type: not stepped from.
        Member::Key(_) => None,
    };
    Field {
        member: member_of::<T>(<T as HasField<N>>::INDEX),
        // The derive gives every relation field its relation: `None`
        // cannot happen for a field of a relation type.
        path: relation.map_or(field.path, |rel| field.path.push(rel)),
        index: None,
        transforms: Transforms::NONE,
        _marker: PhantomData,
    }
}

macro_rules! relation_steps {
    ($($ty:ty),*) => {$(
        impl<M: Model, T: crate::model::SingleKey + HasField<N>, N> Step<M, N> for $ty {
            type Out = Field<M, <T as HasField<N>>::Type>;
            fn step(field: Field<M, Self>) -> Self::Out {
                through::<M, Self, T, N>(field)
            }
        }
    )*};
}

relation_steps!(
    crate::ForeignKey<T>,
    Option<crate::ForeignKey<T>>,
    crate::ManyToMany<T>,
    crate::Reverse<T>,
    crate::ReverseOne<T>
);

macro_rules! transform_steps {
    ($bound:ident: $($ty:ty),*) => {$(
        impl<M: Model, N: $bound> Step<M, N> for $ty {
            type Out = Transformed<M, N::Value>;
            fn step(field: Field<M, Self>) -> Self::Out {
                field.transform(N::TRANSFORM)
            }
        }
    )*};
}

transform_steps!(TransformName: DateTime<Utc>, Option<DateTime<Utc>>, NaiveDateTime, Option<NaiveDateTime>);
transform_steps!(DatePart: NaiveDate, Option<NaiveDate>);
transform_steps!(TimePart: NaiveTime, Option<NaiveTime>);
transform_steps!(TextPart: String, Option<String>);

/// What `q!` calls for a key with a name after its first field that
/// may be a transform (`created__year__gte`, `event__date`): every step
/// and the lookup are trait functions (`steps::next`, `steps::gte`), so
/// the compiler resolves them once it knows the model (a method call
/// would need the handle's type first), and a misuse fails with the
/// message of the trait that is missing.
#[doc(hidden)]
pub mod steps {
    use std::marker::PhantomData;

    use super::Step;
    use crate::field::Field;
    use crate::model::Model;
    use crate::query::expr::Expr;
    use crate::query::q::{InArg, Q};
    use crate::types::{Arg, FieldType, NullableField, OrderedField, TextField};

    /// A handle `q!` reached (a field or a transformed field) of a
    /// condition on model `M`. `M` is carried apart from the handle so
    /// that it is inferred from where the condition is used (`filter`'s
    /// model), before the handle's type can be.
    pub struct At<M, H>(H, PhantomData<fn() -> M>);

    impl<M, H: std::fmt::Debug> std::fmt::Debug for At<M, H> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_tuple("At").field(&self.0).finish()
        }
    }

    impl<M, H> At<M, H> {
        /// The handle.
        pub fn into_inner(self) -> H {
            self.0
        }
    }

    /// The first field of a key.
    pub fn start<M, T>(field: Field<M, T>) -> At<M, Field<M, T>> {
        At(field, PhantomData)
    }

    /// One more name after a handle (see [`Step`]).
    #[diagnostic::on_unimplemented(
        message = "no field or transform of this name follows here",
        label = "not a step from this handle"
    )]
    pub trait Next<M, N> {
        /// The handle the name leads to.
        type Out;
        /// Takes the step.
        fn next(self) -> Self::Out;
    }
    impl<M: Model, T: Step<M, N>, N> Next<M, N> for Field<M, T> {
        type Out = T::Out;
        fn next(self) -> T::Out {
            T::step(self)
        }
    }

    /// The name `N` after `handle`.
    pub fn next<N, M, H: Next<M, N>>(handle: At<M, H>) -> At<M, H::Out> {
        At(handle.0.next(), PhantomData)
    }

    /// `exact` with a value of type `A`.
    #[diagnostic::on_unimplemented(
        message = "`{A}` cannot be compared with this field or transform",
        label = "a value of the wrong type"
    )]
    pub trait LookupEq<M, A> {
        /// `exact`.
        fn eq(self, value: A) -> Q<M>;
    }
    impl<M: Model, T: FieldType, A: Arg<T>> LookupEq<M, A> for Field<M, T> {
        fn eq(self, value: A) -> Q<M> {
            Field::eq(self, value)
        }
    }

    /// `in` with a list (or query) of type `A`.
    #[diagnostic::on_unimplemented(
        message = "`{A}` is not a list of values for this field or transform",
        label = "a list of the wrong type"
    )]
    pub trait LookupIn<M, A> {
        /// `in`.
        fn in_(self, values: A) -> Q<M>;
    }
    impl<M: Model, T: FieldType, A: InArg<T>> LookupIn<M, A> for Field<M, T> {
        fn in_(self, values: A) -> Q<M> {
            Field::in_(self, values)
        }
    }

    /// `gt`, `gte`, `lt`, `lte` and `range` with values of type `A`.
    #[diagnostic::on_unimplemented(
        message = "this field or transform cannot be compared with `{A}` by gt/gte/lt/lte/range",
        label = "an unordered field, or a value of the wrong type"
    )]
    pub trait LookupOrd<M, A> {
        /// `gt`.
        fn gt(self, value: A) -> Q<M>;
        /// `gte`.
        fn gte(self, value: A) -> Q<M>;
        /// `lt`.
        fn lt(self, value: A) -> Q<M>;
        /// `lte`.
        fn lte(self, value: A) -> Q<M>;
        /// `range`.
        fn range(self, bounds: (A, A)) -> Q<M>;
    }
    impl<M: Model, T: OrderedField, A: Arg<T::Base>> LookupOrd<M, A> for Field<M, T> {
        fn gt(self, value: A) -> Q<M> {
            Field::gt(self, value)
        }
        fn gte(self, value: A) -> Q<M> {
            Field::gte(self, value)
        }
        fn lt(self, value: A) -> Q<M> {
            Field::lt(self, value)
        }
        fn lte(self, value: A) -> Q<M> {
            Field::lte(self, value)
        }
        fn range(self, bounds: (A, A)) -> Q<M> {
            Field::range(self, bounds)
        }
    }
    /// The text lookups, `isnull` and `F()` comparisons, of a field or
    /// a transformed value.
    #[diagnostic::on_unimplemented(
        message = "this lookup does not apply here",
        label = "not a field handle"
    )]
    pub trait FieldLookups<M> {
        /// The field's type.
        type Type;
        /// The handle as a field.
        fn field(self) -> Field<M, Self::Type>;
    }
    impl<M, T> FieldLookups<M> for Field<M, T> {
        type Type = T;
        fn field(self) -> Self {
            self
        }
    }

    /// The text lookups: a text field's, or a JSON key's (on its text
    /// form, `json.rs`).
    #[diagnostic::on_unimplemented(
        message = "this lookup does not apply to this value",
        label = "not a lookup of this field, transform or JSON key",
        note = "text lookups apply to text (also after `lower`, `upper`, `trim` and to a JSON key); `contains` and `contained_by` to text, arrays, ranges and JSON"
    )]
    pub trait TextLookups<M> {
        /// `iexact`.
        fn iexact<A: Arg<String>>(self, value: A) -> Q<M>;
        /// `icontains`.
        fn icontains<A: Arg<String>>(self, value: A) -> Q<M>;
        /// `istartswith`.
        fn istartswith<A: Arg<String>>(self, value: A) -> Q<M>;
        /// `iendswith`.
        fn iendswith<A: Arg<String>>(self, value: A) -> Q<M>;
        /// `regex`.
        fn regex<A: Arg<String>>(self, value: A) -> Q<M>;
        /// `iregex`.
        fn iregex<A: Arg<String>>(self, value: A) -> Q<M>;
    }

    macro_rules! text_lookups {
        ($($method:ident),*) => {
            impl<M: Model, T: TextField> TextLookups<M> for Field<M, T> {
                $(fn $method<A: Arg<String>>(self, value: A) -> Q<M> {
                    Field::$method(self, value)
                })*
            }
            $(
                #[doc = concat!("`", stringify!($method), "` on a text field or a JSON key.")]
                pub fn $method<M, H: TextLookups<M>, A: Arg<String>>(
                    handle: At<M, H>,
                    value: A,
                ) -> Q<M> {
                    handle.0.$method(value)
                }
            )*
        };
    }
    text_lookups!(iexact, icontains, istartswith, iendswith, regex, iregex);

    /// `startswith` and `endswith` with a value of type `A`: a text
    /// field's (a prefix, a suffix), a range field's (its lower, upper
    /// bound), or a JSON key's (on its text form).
    #[diagnostic::on_unimplemented(
        message = "`startswith`/`endswith` do not apply here with a `{A}`",
        label = "not a text, range or JSON handle, or a value of the wrong type"
    )]
    pub trait StartsEndsLookup<M, A> {
        /// `startswith`.
        fn startswith(self, value: A) -> Q<M>;
        /// `endswith`.
        fn endswith(self, value: A) -> Q<M>;
    }
    impl<M: Model, T: crate::StartsEndsWithField<A>, A> StartsEndsLookup<M, A> for Field<M, T> {
        fn startswith(self, value: A) -> Q<M> {
            Field::startswith(self, value)
        }
        fn endswith(self, value: A) -> Q<M> {
            Field::endswith(self, value)
        }
    }

    /// `search` on a text field (also after a relation or a text
    /// transform): full-text search with a text or a `SearchQuery`.
    pub fn search<M: Model, H: FieldLookups<M>, V: Into<crate::search::SearchQuery>>(
        handle: At<M, H>,
        query: V,
    ) -> Q<M>
    where
        H::Type: TextField,
    {
        handle.0.field().search(query)
    }

    /// `startswith` on a text field (a prefix), a range field (the lower
    /// bound) or a JSON key.
    pub fn startswith<M, H: StartsEndsLookup<M, A>, A>(handle: At<M, H>, value: A) -> Q<M> {
        handle.0.startswith(value)
    }

    /// `endswith` on a text field (a suffix), a range field (the upper
    /// bound) or a JSON key.
    pub fn endswith<M, H: StartsEndsLookup<M, A>, A>(handle: At<M, H>, value: A) -> Q<M> {
        handle.0.endswith(value)
    }

    macro_rules! expr_lookups {
        ($($method:ident),*) => {$(
            #[doc = concat!("`", stringify!($method), "` with an `F()` expression.")]
            pub fn $method<M: Model, H: FieldLookups<M>>(
                handle: At<M, H>,
                expr: impl Into<Expr>,
            ) -> Q<M>
            where
                H::Type: FieldType,
            {
                handle.0.field().$method(expr)
            }
        )*};
    }
    expr_lookups!(eq_expr, gt_expr, gte_expr, lt_expr, lte_expr);

    /// `contains` with a value of type `A`: a field's, or a JSON key's.
    #[diagnostic::on_unimplemented(
        message = "this lookup does not apply to this value",
        label = "not a lookup of this field, transform or JSON key",
        note = "text lookups apply to text (also after `lower`, `upper`, `trim` and to a JSON key); `contains` and `contained_by` to text, arrays, ranges and JSON"
    )]
    pub trait ContainsLookup<M, A> {
        /// `contains`.
        fn contains(self, value: A) -> Q<M>;
    }
    impl<M: Model, T: crate::field::ContainsField<A>, A> ContainsLookup<M, A> for Field<M, T> {
        fn contains(self, value: A) -> Q<M> {
            Field::contains(self, value)
        }
    }

    /// `contained_by` with a value of type `A`: a field's, or a JSON key's.
    #[diagnostic::on_unimplemented(
        message = "this lookup does not apply to this value",
        label = "not a lookup of this field, transform or JSON key",
        note = "text lookups apply to text (also after `lower`, `upper`, `trim` and to a JSON key); `contains` and `contained_by` to text, arrays, ranges and JSON"
    )]
    pub trait ContainedByLookup<M, A> {
        /// `contained_by`.
        fn contained_by(self, value: A) -> Q<M>;
    }
    impl<M: Model, T: crate::ContainedByField<A>, A> ContainedByLookup<M, A> for Field<M, T> {
        fn contained_by(self, value: A) -> Q<M> {
            Field::contained_by(self, value)
        }
    }

    /// `isnull` and `= None`: a field's, or a JSON key's (where `= None`
    /// is the JSON `null`).
    #[diagnostic::on_unimplemented(
        message = "this lookup does not apply to this value",
        label = "not a lookup of this field, transform or JSON key",
        note = "text lookups apply to text (also after `lower`, `upper`, `trim` and to a JSON key); `contains` and `contained_by` to text, arrays, ranges and JSON"
    )]
    pub trait NullLookups<M> {
        /// `isnull`.
        fn isnull(self, is_null: bool) -> Q<M>;
        /// `= None`.
        fn eq_none(self) -> Q<M>;
    }
    impl<M: Model, T: FieldType> NullLookups<M> for Field<M, T> {
        fn isnull(self, is_null: bool) -> Q<M> {
            Field::is_null(self, is_null)
        }
        fn eq_none(self) -> Q<M> {
            Field::is_null(self, true)
        }
    }

    /// `contains` on a text field (a substring), an array field (every
    /// element of an array value) or a JSON field or key (`@>`).
    pub fn contains<M, H: ContainsLookup<M, A>, A>(handle: At<M, H>, value: A) -> Q<M> {
        handle.0.contains(value)
    }

    /// `contained_by` on an array field or a JSON field or key.
    pub fn contained_by<M, H: ContainedByLookup<M, A>, A>(handle: At<M, H>, values: A) -> Q<M> {
        handle.0.contained_by(values)
    }

    /// `overlap` on an array or range field.
    pub fn overlap<M: Model, H: FieldLookups<M>, A>(handle: At<M, H>, values: A) -> Q<M>
    where
        H::Type: crate::OverlapField<A>,
    {
        handle.0.field().overlap(values)
    }

    /// `exact`.
    pub fn eq<M, H: LookupEq<M, A>, A>(handle: At<M, H>, value: A) -> Q<M> {
        handle.0.eq(value)
    }

    /// `in`.
    pub fn in_<M, H: LookupIn<M, A>, A>(handle: At<M, H>, values: A) -> Q<M> {
        handle.0.in_(values)
    }

    /// `gt`.
    pub fn gt<M, H: LookupOrd<M, A>, A>(handle: At<M, H>, value: A) -> Q<M> {
        handle.0.gt(value)
    }

    /// `gte`.
    pub fn gte<M, H: LookupOrd<M, A>, A>(handle: At<M, H>, value: A) -> Q<M> {
        handle.0.gte(value)
    }

    /// `lt`.
    pub fn lt<M, H: LookupOrd<M, A>, A>(handle: At<M, H>, value: A) -> Q<M> {
        handle.0.lt(value)
    }

    /// `lte`.
    pub fn lte<M, H: LookupOrd<M, A>, A>(handle: At<M, H>, value: A) -> Q<M> {
        handle.0.lte(value)
    }

    /// `range`.
    pub fn range<M, H: LookupOrd<M, A>, A>(handle: At<M, H>, bounds: (A, A)) -> Q<M> {
        handle.0.range(bounds)
    }

    /// `isnull`.
    pub fn is_null<M, H: NullLookups<M>>(handle: At<M, H>, is_null: bool) -> Q<M> {
        handle.0.isnull(is_null)
    }

    /// `= None`: IS NULL across a relation, the JSON `null` at a JSON key.
    pub fn eq_none<M, H: NullLookups<M>>(handle: At<M, H>) -> Q<M> {
        handle.0.eq_none()
    }

    /// `iexact = None`: IS NULL.
    pub fn iexact_null<M: Model, H: FieldLookups<M>>(handle: At<M, H>) -> Q<M>
    where
        H::Type: TextField + NullableField,
    {
        handle.0.field().iexact_null()
    }
}

#[cfg(test)]
mod tests {
    use super::SPELLED;
    use crate::query::q::Transform;

    #[test]
    fn every_transform_has_its_type_level_name() {
        // `len` is spelled in `array.rs` (`ArrayStep`): it must not be a
        // `TransformName`, which date-time fields take.
        assert_eq!(SPELLED.len() + 1, Transform::ALL.len());
        assert!(SPELLED.iter().all(|(t, _)| *t != Transform::Len));
        for (t, spelled) in SPELLED {
            assert_eq!(t.name(), *spelled);
        }
    }
}
