//! SQL rendering: one writer produces the text and the bind list together,
//! so they cannot drift apart.
//!
//! * `writer`: [`Statement`] and the writer; the only place identifiers are quoted.
//! * `condition`: `WHERE` trees, lookups, `LIKE` escaping, Django's NULL rules.
//! * `statements`: `SELECT`, `COUNT`, `UPDATE`, `DELETE`, `INSERT`.

pub(crate) mod condition;
pub mod statements;
mod writer;

pub(crate) use writer::SqlWriter;
pub use writer::Statement;

#[cfg(test)]
mod tests;
