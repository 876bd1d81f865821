//! SQL rendering: one writer produces the text and the bind list together,
//! so they cannot drift apart.
//!
//! * `writer`: [`Statement`] and the writer; the only place identifiers and
//!   literals are quoted.
//! * `condition`: `WHERE` trees, lookups, `LIKE` escaping, Django's NULL rules.
//! * `statements`: `SELECT`, `COUNT`, `UPDATE`, `DELETE`, `INSERT`.
//! * `ddl`: `CREATE` / `ALTER` / `DROP` of tables, columns, constraints and
//!   indexes, for `generate_schemas` and migrations.
//! * `shape`: texts kept per query shape, so a repeated query is not
//!   rendered again.

pub(crate) mod condition;
pub(crate) mod ddl;
pub(crate) mod shape;
pub(crate) mod statements;
mod writer;

pub use writer::Statement;
pub(crate) use writer::{quote_ident, Binds, Bound, SqlWriter, Unwritable};

#[cfg(test)]
mod tests;
