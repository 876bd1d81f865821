//! Models that more than one test module uses, with the rows the tests make of them.
//!
//! `generate_schemas` creates the table of every model linked into the binary
//! in each test's database, and keeps one model per table name: each model
//! here has a table of its own. Sets that look alike stay apart (`blog` and
//! `edited_blog` both have an `Author`, a `Post` and a `Profile`): their tests
//! check table and constraint names, field lists, and counts per model.
//!
//! The exception is `migrated_people`: versions of one table (`mig_people`)
//! for the migration tests, which build their schema with migrations on an
//! empty database, never with `generate_schemas`.

pub(crate) mod articles;
pub(crate) mod blog;
pub(crate) mod bookshelf;
pub(crate) mod calendar;
pub(crate) mod composite;
pub(crate) mod devices;
pub(crate) mod edited_blog;
pub(crate) mod intervals;
pub(crate) mod json_blog;
pub(crate) mod json_fields;
pub(crate) mod messages;
pub(crate) mod migrated_people;
pub(crate) mod people;
pub(crate) mod pg_types;
pub(crate) mod ranges;
pub(crate) mod resilience;
pub(crate) mod scalars;
pub(crate) mod type_samples;
pub(crate) mod types;
// Full-text search (fts).
pub(crate) mod search;
// Soft delete (issue 24).
pub(crate) mod soft_delete;
// Tenant scoping (tenant).
pub(crate) mod tenants;
// Many-to-many links between tenant models (tenant_links).
pub(crate) mod tenant_links;
// Types through pgbouncer (issue 24, pooler gaps).
pub(crate) mod pooled;

/// The name `name` gives each of `rows`, in order.
pub(crate) fn names_of<T>(rows: &[T], name: impl Fn(&T) -> &str) -> Vec<String> {
    rows.iter().map(|r| name(r).to_owned()).collect()
}

/// `v`, sorted.
pub(crate) fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
