//! SQL rendering: one writer produces the text, the bind list and the key
//! a kept text is found under together, so they cannot drift apart.
//!
//! * `writer`: [`Statement`] and the writer; the only place identifiers and
//!   literals are quoted, and where a statement's key is recorded.
//! * `condition`: `WHERE` trees, lookups, `LIKE` escaping, Django's NULL rules.
//! * `statements`: `SELECT`, `COUNT`, `UPDATE`, `DELETE`, `INSERT`.
//! * `ddl`: `CREATE` / `ALTER` / `DROP` of tables, columns, constraints and
//!   indexes, for `generate_schemas` and migrations.
//! * `kept`: texts kept by key, so a repeated query is walked for its
//!   values only, and by-key texts of the commonest gets, updates and deletes.

pub(crate) mod aggregate;
pub(crate) mod clauses;
pub(crate) mod compound;
pub(crate) mod condition;
pub(crate) mod cursor;
pub(crate) mod ddl;
pub(crate) mod expr;
pub(crate) mod functions;
pub(crate) mod grouped;
pub(crate) mod having;
pub(crate) mod joins;
pub(crate) mod kept;
pub(crate) mod prefetch;
pub(crate) mod search;
pub(crate) mod statements;
pub(crate) mod tree;
mod writer;
pub(crate) mod writes;

pub use writer::Statement;
pub(crate) use writer::{quote_ident, Binds, Bound, Key, SqlWriter, Unwritable};

#[cfg(test)]
mod tests;
