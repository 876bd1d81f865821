//! The raw SQL escape hatch: rows mapped onto a model ([`ActiveRecord::raw`]) or
//! onto tuples ([`raw`]). Values are bound parameters; the SQL text must be
//! a `&'static str`, or wrapped in [`AssertSqlSafe`] when built at run time.
//!
//! [`ActiveRecord::raw`]: crate::ActiveRecord::raw

use std::borrow::Cow;

use postgres_types::ToSql;

use crate::db;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::query::FromRowTuple;

/// SQL text for the raw API: a `&'static str`, or [`AssertSqlSafe`].
#[derive(Debug, Clone)]
pub struct RawSql(Cow<'static, str>);

impl From<&'static str> for RawSql {
    fn from(sql: &'static str) -> Self {
        RawSql(Cow::Borrowed(sql))
    }
}

/// SQL text built at run time, which you vouch for: no value from a user
/// may be formatted into it (bind values as parameters, `$1`, `$2`, ...).
#[derive(Debug, Clone)]
pub struct AssertSqlSafe(pub String);

impl From<AssertSqlSafe> for RawSql {
    fn from(sql: AssertSqlSafe) -> Self {
        RawSql(Cow::Owned(sql.0))
    }
}

pub(crate) async fn models<M: Model>(
    sql: RawSql,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<M>> {
    // A tenant model's rows need a current tenant (or `unscoped`).
    crate::tenant::condition(M::META)?;
    // Raw SQL may write: on the primary.
    let db = db::current()?.primary();
    let described = db.described(&sql.0).await?;
    let names: Vec<&str> = described
        .columns
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    let mut columns = Vec::with_capacity(M::META.fields.len());
    for field in M::META.fields {
        let Some(i) = names.iter().position(|n| *n == field.column) else {
            return Err(Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: format!(
                    "the raw SQL returns no column `{}`; it must return every column of {}: {}",
                    field.column,
                    M::META.name,
                    M::META
                        .fields
                        .iter()
                        .map(|f| f.column)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }));
        };
        columns.push(i);
    }
    let in_order = columns.iter().enumerate().all(|(i, c)| i == *c);
    let rows = db.query_params(&sql.0, params).await?;
    rows.iter()
        .map(|row| {
            let obj = if in_order {
                M::from_row(row, 0)
            } else {
                M::from_row_at(row, &columns)
            }?;
            // A row of another tenant is refused, not mapped.
            crate::tenant::check_row(&obj)?;
            Ok(obj)
        })
        .collect()
}

/// Runs raw SQL on the scoped or default database and decodes each row
/// into a tuple by position:
/// `let rows: Vec<(i64, String)> = orm_core::raw("SELECT id, name FROM users", &[]).await?`.
///
/// # Errors
/// [`Error::Decode`] when a column does not fit its tuple element; database errors.
pub async fn raw<T: FromRowTuple>(
    sql: impl Into<RawSql>,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<T>> {
    let sql = sql.into();
    // Raw SQL may write: on the primary unless marked a read (`raw_read`).
    let db = db::current()?.primary();
    let rows = db.query_params(&sql.0, params).await?;
    rows.iter()
        .map(|row| T::from_row(row, &[], "raw"))
        .collect()
}

/// As [`raw`], for SQL that only reads: on a database with read replicas it
/// runs on a replica, as the ORM's own reads do (a `SELECT` that locks no
/// rows goes to a replica that has every write of the current
/// [`read_your_writes`](crate::read_your_writes) scope; anything else to the
/// primary). Without replicas, the same as [`raw`].
///
/// # Errors
/// As [`raw`].
pub async fn raw_read<T: FromRowTuple>(
    sql: impl Into<RawSql>,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<T>> {
    let sql = sql.into();
    let db = db::current()?;
    let rows = db.query_params(&sql.0, params).await?;
    rows.iter()
        .map(|row| T::from_row(row, &[], "raw"))
        .collect()
}
