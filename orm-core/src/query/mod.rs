//! Building queries: [`QuerySet`] (the chain), [`Q`] (conditions),
//! [`Assign`] (updates), [`OrderBy`], and the runtime [`Lookup`] form.

mod annotate;
mod cascade;
mod deferred;
pub mod expr;
mod filterset;
pub mod functions;
mod having;
pub(crate) mod lookup;
pub(crate) mod order;
mod paginate;
pub(crate) mod paths;
pub(crate) mod q;
mod queryset;
pub(crate) mod related;
pub mod search;
pub(crate) mod values;
pub(crate) mod values_query;

pub use annotate::{Annotated, AnnotatedQuery};
pub use cascade::{DeletePreview, Deleted};
pub use deferred::{Deferred, DeferredQuery};
pub use expr::{Arith, Expr, OuterRef, F};
pub use filterset::{
    FilterSet, Filters, DEFAULT_IGNORED, DEFAULT_MAX_PARAMS, DEFAULT_MAX_QUERY_LEN,
    DEFAULT_MAX_SEARCH_TERMS,
};
pub use having::{HavingQ, HQ};
pub use lookup::{
    Lookup, LookupPolicy, DEFAULT_MAX_IN_ITEMS, DEFAULT_MAX_REGEX_LEN, DEFAULT_MAX_VALUE_LEN,
    MAX_JSON_KEYS, MAX_NAME_LEN, MAX_RELATIONS,
};
pub use order::OrderBy;
pub use paginate::{KeysetPage, Page, Paginator, MAX_CURSOR_LEN};
pub use q::{Assign, IntoAssign, IntoQ, Q};
pub use q::{InArg, InOperand};
#[cfg(test)]
pub(crate) use queryset::FAST_GETS;
pub use queryset::{Exists, QuerySet};
pub use values::{
    Aggregate, Aggregated, ArrayAgg, Avg, BoolAnd, BoolOr, Count, FieldNames, FromRowTuple,
    JSONBAgg, Max, Min, Record, StdDev, StringAgg, Sum, Variance,
};
pub use values_query::ValuesQuery;
