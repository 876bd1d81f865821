//! Loading related objects with the query: `select_related` (joins, decoded
//! from the same row by column position) and `prefetch_related` (one query
//! per relation level, grouped in memory). A level selects its rows by its
//! parents' keys: when the query is not sliced, with a subquery of the
//! query's conditions, so every level goes out with the query in one round
//! trip ([`prefetch_pipelined`]); otherwise (and for `get`) with the keys
//! of the loaded parents, `= ANY($1)` ([`prefetch`]).

mod joins;
mod level;
mod path;
mod prefetch;
mod render;

pub(crate) use joins::{check_lock_of, decode_row, plan_joins, single_valued, Join};
pub(crate) use path::PrefetchSpec;
#[cfg(test)]
pub(crate) use prefetch::pipelined_sql;
pub(crate) use prefetch::{check_prefetch, prefetch, prefetch_pipelined};
