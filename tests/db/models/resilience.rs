//! Rows the resilience tests write under a running pool: things retyped and updated, notes migrated.

use orm_core::prelude::*;

/// A row whose text column the tests retype under a running pool.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "res_things")]
pub(crate) struct Thing {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Retyped by the tests (text, varchar(100), text again).
    pub s: String,
    /// Updated by the tests.
    pub n: i32,
}

/// The model of the migration tests.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "res_notes")]
pub(crate) struct Note {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Text.
    pub body: String,
}
