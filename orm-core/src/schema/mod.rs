//! Schema DDL: `CREATE TABLE` / `CREATE INDEX` for the models linked into
//! the binary, for quick scripts and tests.
//!
//! What to create is not decided here: it is the schema the models
//! describe for migrations ([`SchemaState::from_models`]: tables, columns,
//! constraints and indexes with their names). This module writes those
//! tables `IF NOT EXISTS`, in an order where each foreign key's target
//! exists first, so `generate_schemas` creates what `makemigrations` and
//! `migrate` would.
//!
//! [`SchemaState::from_models`]: crate::migrate::SchemaState::from_models

use crate::db::{self, Db};
use crate::error::{Error, Result};
use crate::meta::{registered_models, ModelMeta, NO_MODELS_LINKED};
use crate::migrate::state::{table_of_model, tables_of, TableState};
use crate::sql::ddl::{self, Create};
use crate::sql::Unwritable;

/// Statements, or why one cannot be written.
type Ddls = std::result::Result<Vec<String>, Unwritable>;

fn unwritable(why: Unwritable) -> Error {
    Error::Config(format!("cannot write the schema of the models: {why}"))
}

/// The statements that create `meta`'s table and its indexes (`IF NOT
/// EXISTS`, so they can run again); its foreign keys' targets must exist.
///
/// # Errors
/// [`Error::Config`] when a name holds a NUL (no PostgreSQL name can).
pub fn create_table_sql(meta: &ModelMeta) -> Result<Vec<String>> {
    let table = table_of_model(meta);
    let mut out = extensions_sql(table.extensions().iter()).map_err(unwritable)?;
    out.extend(table_sql(meta.table, &table, &[]).map_err(unwritable)?);
    Ok(out)
}

/// `CREATE EXTENSION IF NOT EXISTS` of each extension a table's types
/// need (`citext`).
fn extensions_sql<'a>(names: impl Iterator<Item = &'a String>) -> Ddls {
    names.map(|name| ddl::create_extension(name)).collect()
}

/// `CREATE TABLE IF NOT EXISTS` of table `name` with its keys and the
/// foreign keys to tables not in `later` (created afterwards; see
/// [`schema_ddl`]), then its indexes.
fn table_sql(name: &str, t: &TableState, later: &[&str]) -> Ddls {
    let table = t.ddl(name, |f| !later.contains(&f.references.as_str()));
    let mut out = vec![ddl::create_table(&table, Create::IfMissing)?];
    for index in &t.indexes {
        out.push(ddl::create_index_with(
            name,
            &index.index_ddl(),
            Create::IfMissing,
        )?);
    }
    if let Some(r) = &t.rls {
        out.push(ddl::enable_rls(
            name,
            &r.column,
            &r.sql_type,
            Create::IfMissing,
        )?);
    }
    Ok(out)
}

/// Every statement `generate_schemas` runs for `models`: the models'
/// tables in an order where each foreign key's target exists first (a
/// cycle's keys are added afterwards), then link tables.
///
/// # Errors
/// [`Error::Config`] when a name holds a NUL (no PostgreSQL name can), or
/// for a relation no schema of tenant models can hold (a foreign key to a
/// tenant model from a model without a tenant field, a many-to-many with a
/// tenant model).
pub fn schema_sql(models: &[&'static ModelMeta]) -> Result<Vec<String>> {
    crate::tenant::check_relations(models)?;
    schema_ddl(models).map_err(unwritable)
}

fn schema_ddl(models: &[&'static ModelMeta]) -> Ddls {
    let tables = tables_of(models);
    let (mut pending, links): (Vec<_>, Vec<_>) = tables
        .iter()
        .partition(|(name, _)| models.iter().any(|m| m.table == name));
    let mut done: Vec<&str> = Vec::new();
    let mut deferred = Vec::new();
    let extensions: std::collections::BTreeSet<String> =
        tables.iter().flat_map(|(_, t)| t.extensions()).collect();
    let mut out = extensions_sql(extensions.iter())?;
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|(name, t)| targets(name, t, models).iter().all(|d| done.contains(d)));
        // In a cycle, take the first one and add its missing keys later.
        let (name, t) = pending.remove(ready.unwrap_or(0));
        let mut later = targets(name, t, models);
        later.retain(|d| !done.contains(d));
        out.extend(table_sql(name, t, &later)?);
        for key in &t.foreign_keys {
            if later.contains(&key.references.as_str()) {
                deferred.push(ddl::add_foreign_key(name, &key.ddl(), Create::IfMissing)?);
            }
        }
        done.push(name);
    }
    out.extend(deferred);
    for (name, t) in links {
        out.extend(table_sql(name, t, &[])?);
    }
    Ok(out)
}

/// The tables of `models` that table `name` (`t`) refers to, but itself.
fn targets<'t>(name: &str, t: &'t TableState, models: &[&ModelMeta]) -> Vec<&'t str> {
    t.foreign_keys
        .iter()
        .map(|f| f.references.as_str())
        .filter(|r| *r != name && models.iter().any(|m| m.table == *r))
        .collect()
}

/// Creates the table and indexes of every model linked into the binary
/// (`#[derive(Model)]` registers each), if they do not exist yet, on the
/// scoped or default database.
///
/// Meant for scripts, examples and tests; it never alters an existing table.
///
/// # Errors
/// [`Error::NotConnected`], or the database's error.
pub async fn generate_schemas() -> Result<()> {
    generate_schemas_on(&db::current()?).await
}

/// As [`generate_schemas`], on `db`.
///
/// # Errors
/// [`Error::Config`] when no model is linked into
/// the binary (it says how to link them), before anything is sent; the
/// database's error.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // This program declares no model and links no crate that does.
/// let db = orm_core::Db::builder("postgres://app@localhost/app").build().unwrap();
/// let err = orm_core::generate_schemas_on(&db).await.unwrap_err();
/// assert!(err.to_string().contains("use your_crate as _;"), "{err}");
/// # }
/// ```
pub async fn generate_schemas_on(db: &Db) -> Result<()> {
    let mut models: Vec<&'static ModelMeta> = registered_models().collect();
    if models.is_empty() {
        return Err(Error::Config(format!(
            "generate_schemas has nothing to create: {NO_MODELS_LINKED}"
        )));
    }
    models.sort_by_key(|m| m.table);
    models.dedup_by_key(|m| m.table);
    let mut script = String::new();
    for stmt in schema_sql(&models)? {
        script.push_str(&stmt);
        script.push_str(";\n");
    }
    if script.is_empty() {
        return Ok(());
    }
    db.batch_execute_dynamic(&script).await
}

#[cfg(test)]
mod tests {
    use super::schema_sql;
    use crate::prelude::*;

    /// Two models whose foreign keys form a cycle.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "cy_a", crate = "crate")]
    struct A {
        #[orm(primary_key)]
        id: i64,
        #[orm(unique)]
        b: Option<crate::ForeignKey<B>>,
        #[orm(default = "it's")]
        note: String,
    }

    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "cy_b", crate = "crate")]
    struct B {
        #[orm(primary_key)]
        id: i32,
        #[orm(on_delete = "set_null")]
        a: Option<crate::ForeignKey<A>>,
    }

    #[test]
    fn a_cycle_s_last_key_is_added_if_missing() {
        assert_eq!(
            schema_sql(&[A::META, B::META]).unwrap(),
            [
                concat!(
                    r#"CREATE TABLE IF NOT EXISTS "cy_a" ("id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL, "#,
                    r#""b_id" integer NULL, "note" text NOT NULL DEFAULT 'it''s', "#,
                    r#"CONSTRAINT "cy_a_pkey" PRIMARY KEY ("id"), CONSTRAINT "cy_a_b_id_key" UNIQUE ("b_id"))"#
                ),
                concat!(
                    r#"CREATE TABLE IF NOT EXISTS "cy_b" ("id" integer GENERATED BY DEFAULT AS IDENTITY NOT NULL, "#,
                    r#""a_id" bigint NULL, CONSTRAINT "cy_b_pkey" PRIMARY KEY ("id"), "#,
                    r#"CONSTRAINT "cy_b_a_id_fkey" FOREIGN KEY ("a_id") REFERENCES "cy_a" ("id") ON DELETE SET NULL)"#
                ),
                r#"CREATE INDEX IF NOT EXISTS "cy_b_a_id_idx" ON "cy_b" ("a_id")"#,
                concat!(
                    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'cy_a_b_id_fkey') ",
                    r#"THEN ALTER TABLE "cy_a" ADD CONSTRAINT "cy_a_b_id_fkey" FOREIGN KEY ("b_id") "#,
                    r#"REFERENCES "cy_b" ("id") ON DELETE CASCADE; END IF; END $$"#
                ),
            ]
        );
    }
}
