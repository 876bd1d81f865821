//! Shared by the migration tests: empty databases, migrators, and a database's schema as text lines.

use std::path::{Path, PathBuf};

use orm_core::migrate::{Made, Migrator};
use orm_core::prelude::*;
use orm_core::ModelMeta;

pub(crate) async fn empty_db() -> Db {
    orm_core::testing::test_db()
        .await
        .expect("a throwaway PostgreSQL database")
}

pub(crate) fn migrator(dir: &Path, db: &Db, models: &[&'static ModelMeta]) -> Migrator {
    Migrator::new(dir).models(models).database(db)
}

pub(crate) fn written(made: Made) -> PathBuf {
    match made {
        Made::Written { path, .. } => path,
        Made::NoChanges => panic!("expected a migration"),
    }
}

/// The schema of `db` as text lines: columns (sorted by name), constraints
/// and indexes with their definitions, leaving out the history table.
pub(crate) async fn introspect(db: &Db) -> Result<Vec<String>> {
    let mut out: Vec<String> = query::<(String, String, String, bool, Option<String>, String)>(
        db,
        "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                pg_get_expr(d.adbin, d.adrelid), a.attidentity::text \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped \
           AND c.relname <> 'orm_migrations' ORDER BY 1, 2",
    )
    .await?
    .into_iter()
    .map(|(t, c, ty, not_null, default, identity)| {
        format!("column {t}.{c} {ty} not_null={not_null} default={default:?} identity={identity:?}")
    })
    .collect();
    let constraints: Vec<(String, String, String)> = query(
        db,
        "SELECT conrelid::regclass::text, conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> 'orm_migrations' \
         ORDER BY 1, 2",
    )
    .await?;
    out.extend(
        constraints
            .into_iter()
            .map(|(t, n, def)| format!("constraint {t}.{n} {def}")),
    );
    let indexes: Vec<(String, String, String)> = query(
        db,
        "SELECT tablename::text, indexname::text, indexdef FROM pg_indexes \
         WHERE schemaname = 'public' AND tablename <> 'orm_migrations' ORDER BY 1, 2",
    )
    .await?;
    out.extend(
        indexes
            .into_iter()
            .map(|(t, n, def)| format!("index {t}.{n} {def}")),
    );
    Ok(out)
}

/// Runs `sql` (no parameters) on `db`, rows as tuples.
pub(crate) async fn query<T: orm_core::query::FromRowTuple>(db: &Db, sql: &str) -> Result<Vec<T>> {
    orm_core::scope(
        db,
        orm_core::raw::<T>(orm_core::AssertSqlSafe(sql.to_owned()), &[]),
    )
    .await
}

/// The schema `generate_schemas` makes for `models`, introspected.
pub(crate) async fn generated(models: &[&'static ModelMeta]) -> Result<Vec<String>> {
    let db = empty_db().await;
    for stmt in orm_core::schema::schema_sql(models)? {
        query::<(i32,)>(&db, &stmt).await?;
    }
    introspect(&db).await
}

pub(crate) async fn count(db: &Db, table: &str) -> Result<i64> {
    let rows: Vec<(i64,)> = query(db, &format!("SELECT count(*) FROM \"{table}\"")).await?;
    Ok(rows[0].0)
}
