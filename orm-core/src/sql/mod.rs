//! SQL rendering: one writer produces the text and the bind list together,
//! so they cannot drift apart.
//!
//! * `writer`: [`Statement`] and the writer; the only place identifiers are quoted.
//! * `condition`: `WHERE` trees, lookups, `LIKE` escaping, Django's NULL rules.
//! * `statements`: `SELECT`, `COUNT`, `UPDATE`, `DELETE`, `INSERT`.
//! * `shape`: texts kept per query shape, so a repeated query is not
//!   rendered again.

pub(crate) mod condition;
pub(crate) mod shape;
pub mod statements;
mod writer;

pub use writer::Statement;
pub(crate) use writer::{Binds, Bound, SqlWriter};

#[cfg(test)]
mod tests;
