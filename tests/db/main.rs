//! Integration tests against a real PostgreSQL server.
//!
//! One test binary (linked once); each test gets its own fresh database
//! from `orm_core::testing::test_db`, so tests run in parallel and never
//! see each other's rows. With `DATABASE_URL` unset, a throwaway server is
//! started from the installed PostgreSQL binaries.
//!
//! Tests that need no server are the `offline` binary (`tests/offline.rs`).

mod aggregate_filters;
mod aggregates;
mod common;
mod composite_keys;
mod connections;
mod crud;
mod deep_lookups;
mod enums;
mod errors;
mod expressions;
mod filtersets;
mod foreign_keys;
mod functions;
mod generate_schemas;
mod hooks;
mod hostile_input;
mod intervals;
mod iterator;
mod json_fields;
mod json_models;
mod live_schema_changes;
mod logging;
mod lookups;
mod lost_connections;
mod makemigrations;
mod many_to_many;
// Migrations outside a transaction (`-- atomic: false`).
mod migrate_apply;
mod migrate_nonatomic;
mod migration_cancellation;
mod migration_files;
mod migration_support;
mod models;
mod nulls;
mod on_delete;
mod pagination;
mod pg_scalars;
mod pg_types;
mod pgbouncer;
mod prefetch;
mod prefetch_pipelining;
mod primary_keys;
mod query_cancellation;
mod queryset;
mod ranges;
mod reads;
mod related_values;
mod relation_lookups;
mod resilience_support;
mod reverse_relations;
mod select_related;
mod set_operations;
mod test_attribute;
mod transactions;
mod transforms;
mod types_filters;
mod types_numbers;
mod types_round_trip;
mod types_text;
mod types_time;
// Full-text search and index options (fts).
mod search;
mod search_indexes;
// Soft delete (issue 24).
mod soft_delete;
// Tenant scoping, row-level security (tenant).
mod tenant;
// Many-to-many links between tenant models (tenant_links).
mod tenant_links;
// Row-level security outside blocks: dropped futures, a restart, stale statements.
mod rls_failures;
// Read replicas (issue 24, part 1).
mod replicas;
// Types and migrations through pgbouncer (issue 24, pooler gaps).
mod pgbouncer_migrate;
mod pgbouncer_types;
