//! Schema DDL: `CREATE TABLE` / `CREATE INDEX` for the models linked into
//! the binary, for quick scripts and tests.

use crate::db::{self, Db};
use crate::error::{Error, Result};
use crate::meta::{registered_models, FieldMeta, ModelMeta, NO_MODELS_LINKED};
use crate::migrate::state::object_name;
use crate::relation::{RelationKind, RelationMeta};
use crate::sql::ddl::{self, Column, Create, Ddl, ForeignKey, Key, References, Table};
use crate::sql::Unwritable;

/// Statements, or why one cannot be written.
type Ddls = std::result::Result<Vec<String>, Unwritable>;

/// `REFERENCES "target" ("pk") ON DELETE ..` of the foreign key `rel`.
fn references(rel: &RelationMeta) -> References<'static> {
    let target = rel.target.meta();
    References {
        table: target.table,
        column: target.pk_field().column,
        on_delete: rel.on_delete.sql(),
    }
}

/// A model field's column, with its `REFERENCES` unless its target is
/// created later.
fn column<'a>(meta: &'a ModelMeta, i: usize, sql_type: &'a str, later: &[&str]) -> Column<'a> {
    let field = &meta.fields[i];
    Column {
        identity: field.auto,
        primary_key: field.primary_key,
        nullable: field.nullable,
        // A literal from the model's source, rendered (and quoted) by the derive.
        default: field.default,
        unique: field.unique && !field.primary_key,
        references: meta
            .relation_of_field(i)
            .filter(|rel| !later.contains(&rel.target.meta().table))
            .map(references),
        ..Column::new(field.column, sql_type)
    }
}

fn unwritable(why: Unwritable) -> Error {
    Error::Config(format!("cannot write the schema of the models: {why}"))
}

/// The statements that create `meta`'s table and its indexes (`IF NOT
/// EXISTS`, so they can run again).
///
/// # Errors
/// [`Error::Config`] when a name holds a NUL (no PostgreSQL name can).
pub fn create_table_sql(meta: &ModelMeta) -> Result<Vec<String>> {
    create_table_sql_deferring(meta, &[]).map_err(unwritable)
}

/// As [`create_table_sql`], leaving out the foreign keys to the tables in
/// `later` (created afterwards; see [`foreign_key_sql`]).
fn create_table_sql_deferring(meta: &ModelMeta, later: &[&str]) -> Ddls {
    let types: Vec<String> = meta.fields.iter().map(FieldMeta::ddl_type).collect();
    let uniques: Vec<String> = meta
        .unique_together
        .iter()
        .map(|columns| object_name(meta.table, columns, "uniq"))
        .collect();
    let table = Table {
        name: meta.table,
        columns: (0..meta.fields.len())
            .map(|i| column(meta, i, &types[i], later))
            .collect(),
        primary_key: None,
        uniques: meta
            .unique_together
            .iter()
            .zip(&uniques)
            .map(|(columns, name)| Key {
                name: Some(name),
                columns: columns.to_vec(),
            })
            .collect(),
        foreign_keys: Vec::new(),
    };
    let mut out = vec![ddl::create_table(&table, Create::IfMissing)?];
    let single = meta
        .fields
        .iter()
        .filter(|f| f.index && !f.unique && !f.primary_key)
        .map(|f| std::slice::from_ref(&f.column));
    for columns in single.chain(meta.indexes.iter().copied()) {
        out.push(create_index_sql(meta.table, columns)?);
    }
    Ok(out)
}

fn create_index_sql(table: &str, columns: &[&str]) -> Ddl {
    let name = object_name(table, columns, "idx");
    ddl::create_index(table, &name, columns, Create::IfMissing)
}

/// The foreign keys of `meta` to the tables in `tables`, added after the
/// tables exist (for cycles), each only if not there yet.
fn foreign_key_sql(meta: &ModelMeta, tables: &[&str]) -> Ddls {
    let mut out = Vec::new();
    for (i, field) in meta.fields.iter().enumerate() {
        let Some(rel) = meta.relation_of_field(i) else {
            continue;
        };
        if !tables.contains(&rel.target.meta().table) {
            continue;
        }
        let name = object_name(meta.table, &[field.column], "fkey");
        let key = ForeignKey {
            name: &name,
            column: field.column,
            references: references(rel),
        };
        out.push(ddl::add_foreign_key(meta.table, &key, Create::IfMissing)?);
    }
    Ok(out)
}

/// The link tables of `meta`'s many-to-many relations that no model
/// declares (`through` naming a model's table uses that model's table).
fn through_tables_sql(meta: &ModelMeta, model_tables: &[&str]) -> Ddls {
    let mut out = Vec::new();
    for rel in meta
        .relations
        .iter()
        .filter(|r| r.kind == RelationKind::ManyToMany)
    {
        let (table, own, other) = rel.through_table();
        if model_tables.contains(&table.as_str()) {
            continue;
        }
        let sides = [(own.as_str(), meta), (other.as_str(), rel.target.meta())];
        let types = sides.map(|(_, side)| side.pk_field().sql_type.ddl(None));
        let link = Table {
            name: &table,
            columns: sides
                .iter()
                .zip(&types)
                .map(|((col, side), sql_type)| Column {
                    references: Some(References {
                        table: side.table,
                        column: side.pk_field().column,
                        on_delete: "CASCADE",
                    }),
                    ..Column::new(col, sql_type)
                })
                .collect(),
            primary_key: Some(Key {
                name: None,
                columns: vec![&own, &other],
            }),
            uniques: Vec::new(),
            foreign_keys: Vec::new(),
        };
        out.push(ddl::create_table(&link, Create::IfMissing)?);
        out.push(create_index_sql(&table, &[other.as_str()])?);
    }
    Ok(out)
}

/// Every statement `generate_schemas` runs for `models`: tables in an order
/// where each foreign key's target exists first (a cycle's keys are added
/// afterwards), then link tables.
///
/// # Errors
/// [`Error::Config`] when a name holds a NUL (no PostgreSQL name can).
pub fn schema_sql(models: &[&'static ModelMeta]) -> Result<Vec<String>> {
    schema_ddl(models).map_err(unwritable)
}

fn schema_ddl(models: &[&'static ModelMeta]) -> Ddls {
    let tables: Vec<&str> = models.iter().map(|m| m.table).collect();
    let mut done: Vec<&str> = Vec::new();
    let mut deferred: Vec<(&ModelMeta, Vec<&str>)> = Vec::new();
    let mut out = Vec::new();
    let mut pending: Vec<&ModelMeta> = models.to_vec();
    while !pending.is_empty() {
        let deps = |m: &ModelMeta| -> Vec<&'static str> {
            m.relations
                .iter()
                .filter(|r| r.field.is_some())
                .map(|r| r.target.meta().table)
                .filter(|t| *t != m.table && tables.contains(t))
                .collect()
        };
        let ready = pending
            .iter()
            .position(|m| deps(m).iter().all(|d| done.contains(d)));
        // In a cycle, take the first one and add its missing keys later.
        let index = ready.unwrap_or(0);
        let meta = pending.remove(index);
        let later: Vec<&str> = deps(meta)
            .into_iter()
            .filter(|d| !done.contains(d))
            .collect();
        out.extend(create_table_sql_deferring(meta, &later)?);
        if !later.is_empty() {
            deferred.push((meta, later));
        }
        done.push(meta.table);
    }
    for (meta, later) in deferred {
        out.extend(foreign_key_sql(meta, &later)?);
    }
    for meta in models {
        out.extend(through_tables_sql(meta, &tables)?);
    }
    Ok(out)
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
                    r#"CREATE TABLE IF NOT EXISTS "cy_a" ("id" bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "#,
                    r#""b_id" integer NULL UNIQUE, "note" text NOT NULL DEFAULT 'it''s')"#
                ),
                concat!(
                    r#"CREATE TABLE IF NOT EXISTS "cy_b" ("id" integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "#,
                    r#""a_id" bigint NULL REFERENCES "cy_a" ("id") ON DELETE SET NULL)"#
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
