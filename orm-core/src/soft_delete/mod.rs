//! Soft delete, as django-safedelete and Tortoise users know it: a model
//! marked `#[orm(soft_delete)]` has a nullable timestamp (`deleted_at`);
//! `delete()` sets it instead of removing the row, the default queries
//! leave marked rows out, and [`QuerySet::with_deleted`],
//! [`QuerySet::only_deleted`], [`QuerySet::restore`] and
//! [`QuerySet::hard_delete`] reach past the mark. See the crate docs'
//! "Soft delete" section for the rules across relations and cascades.
//!
//! The query chain calls in here at one point each (the scope in
//! `simplified()`, `delete()`'s branch); the SQL layer's hooks are in
//! [`scope`].

pub(crate) mod filter;
pub(crate) mod scope;

use std::future::Future;

use crate::error::{Error, QueryError, Result};
use crate::meta::{registered_models, FieldMeta, ModelMeta};
use crate::relation::{OnDelete, RelationKind};
use crate::sql::tree::Node;
use crate::sql::{statements, SqlWriter, Statement};
use crate::value::Value;
use crate::{Model, QuerySet};

use filter::DeletedRows;

impl<M: Model> QuerySet<M> {
    /// Includes the rows marked deleted (django-safedelete's
    /// `all_objects`); on a model without `#[orm(soft_delete)]` this
    /// changes nothing.
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # use chrono::{DateTime, Utc};
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # #[orm(soft_delete)]
    /// # pub struct Note { #[orm(primary_key)] pub id: i64, pub deleted_at: Option<DateTime<Utc>> }
    /// # async fn run() -> orm_core::Result<()> {
    /// let every_note = Note::all().with_deleted().count().await?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn with_deleted(mut self) -> Self {
        self.deleted = DeletedRows::Included;
        self
    }

    /// Only the rows marked deleted (django-safedelete's
    /// `deleted_objects`); on a model without `#[orm(soft_delete)]`, no
    /// row (none is marked), and nothing is sent to the server.
    #[must_use]
    pub fn only_deleted(mut self) -> Self {
        self.deleted = DeletedRows::Only;
        self
    }

    /// Removes the matching rows for good (one `DELETE`, the database's
    /// `ON DELETE` rules cascading as for [`delete`](QuerySet::delete) on a
    /// model without soft delete); returns how many. Which rows match
    /// follows the query: `Note::all().only_deleted().hard_delete()`
    /// purges the marked ones. On a model without soft delete it is
    /// [`delete`](QuerySet::delete).
    ///
    /// # Errors
    /// As [`delete`](QuerySet::delete).
    pub fn hard_delete(mut self) -> impl Future<Output = Result<u64>> + Send + 'static {
        let stmt = self.delete_bound();
        let db = self.db;
        async move {
            match stmt? {
                None => Ok(0),
                Some(stmt) => {
                    crate::db::resolve(db.as_ref())?
                        .execute(&stmt.sql, &stmt.binds)
                        .await
                }
            }
        }
    }

    /// Clears the mark of the matching rows that are marked deleted (one
    /// `UPDATE .. SET "deleted_at" = NULL`, whether or not the query set
    /// is [`with_deleted`](QuerySet::with_deleted)), and of the rows of
    /// soft delete models that the delete cascaded to (`CASCADE` keys to
    /// them, marked at the same moment); returns how many of this model's
    /// rows were restored (django-safedelete's `undelete()`).
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] on a model without `#[orm(soft_delete)]`
    /// or a sliced or distinct query.
    pub fn restore(self) -> impl Future<Output = Result<u64>> + Send + 'static {
        restore(self)
    }
}

/// The soft delete field of `meta`, or the error of an operation that
/// needs one.
fn field_of(meta: &'static ModelMeta, what: &str) -> Result<&'static FieldMeta> {
    scope::field(meta).ok_or_else(|| {
        Error::from(QueryError {
            model: meta.name,
            reason: format!(
                "{what}() needs a soft delete model; {} has no #[orm(soft_delete)]",
                meta.name
            ),
        })
    })
}

/// The filter of a mark (`rows`: [`DeletedRows::Hidden`]) or a restore
/// ([`DeletedRows::Only`]) of `qs`, checked; `None`: no row can match.
fn mark_filter<M: Model>(mut qs: QuerySet<M>, rows: DeletedRows) -> Result<Option<Node>> {
    if qs.limit.is_some() || qs.offset.is_some() || qs.distinct {
        return Err(Error::from(QueryError {
            model: M::META.name,
            reason: "cannot delete or restore a sliced (limit/offset) or distinct query".into(),
        }));
    }
    // Marked rows are not marked again (their time stays).
    if rows == DeletedRows::Hidden && qs.deleted == DeletedRows::Only {
        return Ok(None);
    }
    qs.deleted = rows;
    let filter = qs.simplified()?.into_owned();
    Ok((!matches!(filter, Node::Nothing)).then_some(filter))
}

/// `UPDATE "t" SET "deleted_at" = now() | NULL WHERE <filter> [RETURNING "pk"]`.
pub(crate) fn mark_statement(
    meta: &'static ModelMeta,
    filter: &Node,
    mark: bool,
    returning: bool,
) -> Option<Statement> {
    let field = scope::field(meta)?;
    let mut w = SqlWriter::new();
    scope::push_mark_set(&mut w, meta, field, mark);
    statements::push_where(&mut w, meta, filter);
    if returning {
        w.push_sql(" RETURNING ");
        w.push_ident(meta.pk_field().column);
    }
    Some(w.finish())
}

/// The relations along which a soft delete of `meta`'s rows cascades: the
/// `CASCADE` foreign keys and one-to-ones of soft delete models pointing
/// to it (children that are not soft delete models are left: the row they
/// refer to is still there).
fn cascade_children(meta: &ModelMeta) -> Vec<(&'static ModelMeta, &'static FieldMeta)> {
    registered_models()
        .filter(|child| child.soft_delete.is_some())
        .flat_map(|child| {
            child.relations.iter().filter_map(move |rel| {
                let cascades =
                    matches!(rel.kind, RelationKind::ForeignKey | RelationKind::OneToOne)
                        && rel.on_delete == OnDelete::Cascade
                        && rel.target.meta().table == meta.table;
                cascades.then(|| rel.key_field().map(|key| (child, key)))?
            })
        })
        .collect()
}

/// `UPDATE "child" SET "deleted_at" = now() WHERE "key" = ANY($1) AND
/// "deleted_at" IS NULL RETURNING "pk"`: the cascade of a soft delete
/// (`mark`), or `SELECT "pk" FROM "child" WHERE ..` of the same rows (a
/// preview). The first key column comes back: the rows are counted, and
/// followed further when the child has a one-field key.
pub(crate) fn cascade_statement(
    child: &'static ModelMeta,
    key: &FieldMeta,
    keys: &Value,
    mark: bool,
) -> Option<Statement> {
    let field = scope::field(child)?;
    let mut w = SqlWriter::new();
    if mark {
        scope::push_mark_set(&mut w, child, field, true);
    } else {
        w.push_sql("SELECT ");
        w.push_ident(child.pk_field().column);
        w.push_sql(" FROM ");
        w.push_ident(child.table);
    }
    w.push_sql(" WHERE ");
    w.push_ident(key.column);
    w.push_sql(" = ANY(");
    w.push_bind(keys.clone());
    w.push_sql(") AND ");
    w.push_ident(field.column);
    w.push_sql(" IS NULL");
    if mark {
        w.push_sql(" RETURNING ");
        w.push_ident(child.pk_field().column);
    }
    Some(w.finish())
}

/// The keys in the first column of `rows`.
fn keys_of(meta: &ModelMeta, rows: &[tokio_postgres::Row]) -> Result<Value> {
    let ty = meta.pk_field().sql_type;
    Ok(Value::Array(
        rows.iter()
            .map(|r| Value::read(r, 0, ty))
            .collect::<std::result::Result<Vec<_>, _>>()?,
    ))
}

/// Counts `n` rows of `name` in `report`.
fn add(report: &mut crate::Deleted, name: &str, n: u64) {
    if n > 0 {
        report.total += n;
        *report.per_model.entry(name.to_owned()).or_default() += n;
    }
}

/// Marks (`mark`) or counts the live rows of soft delete models that
/// refer by `CASCADE` keys to `keys` of `meta`, level by level, adding
/// them to `report`.
async fn cascade(
    db: &crate::Db,
    meta: &'static ModelMeta,
    keys: Value,
    mark: bool,
    report: &mut crate::Deleted,
) -> Result<()> {
    let mut queue = vec![(meta, keys)];
    while let Some((parent, keys)) = queue.pop() {
        for (child, key) in cascade_children(parent) {
            let Some(stmt) = cascade_statement(child, key, &keys, mark) else {
                continue;
            };
            let rows = db.query(&stmt.sql, &stmt.binds).await?;
            add(report, child.name, rows.len() as u64);
            if !rows.is_empty() && !child.has_composite_pk() {
                queue.push((child, keys_of(child, &rows)?));
            }
        }
    }
    Ok(())
}

/// `delete()` of a soft delete model: marks the matching live rows (one
/// `UPDATE`), and, when soft delete models refer to it by `CASCADE` keys,
/// theirs too, in one transaction (so all share the time of `now()`).
/// Returns how many rows of `M` were marked.
pub(crate) async fn mark<M: Model>(qs: QuerySet<M>) -> Result<u64> {
    let cascades = !M::META.has_composite_pk() && !cascade_children(M::META).is_empty();
    if cascades {
        return Ok(report(qs)
            .await?
            .per_model
            .get(M::META.name)
            .copied()
            .unwrap_or(0));
    }
    let using = qs.db.clone();
    let Some(filter) = mark_filter(qs, DeletedRows::Hidden)? else {
        return Ok(0);
    };
    let db = crate::db::resolve(using.as_ref())?;
    match mark_statement(M::META, &filter, true, false) {
        Some(stmt) => db.execute(&stmt.sql, &stmt.binds).await,
        None => Ok(0),
    }
}

/// [`QuerySet::delete_report`] of a soft delete model: marks as
/// [`mark`] does, in one transaction, and counts the rows marked per model.
pub(crate) async fn report<M: Model>(qs: QuerySet<M>) -> Result<crate::Deleted> {
    let using = qs.db.clone();
    let mut report = crate::Deleted::default();
    let Some(filter) = mark_filter(qs, DeletedRows::Hidden)? else {
        return Ok(report);
    };
    let Some(stmt) = mark_statement(M::META, &filter, true, true) else {
        return Ok(report);
    };
    let db = crate::db::resolve(using.as_ref())?;
    let options = crate::transaction::TxOptions::default();
    crate::transaction::transaction_on(&db, options, || async {
        let db = crate::db::current()?;
        let rows = db.query(&stmt.sql, &stmt.binds).await?;
        add(&mut report, M::META.name, rows.len() as u64);
        if !rows.is_empty() && !M::META.has_composite_pk() {
            cascade(&db, M::META, keys_of(M::META, &rows)?, true, &mut report).await?;
        }
        Ok(report)
    })
    .await
}

/// [`QuerySet::delete_preview`] of a soft delete model: the rows a soft
/// delete would mark, per model (nothing is set to NULL or refused: the
/// rows stay).
pub(crate) async fn preview<M: Model>(qs: QuerySet<M>) -> Result<crate::query::DeletePreview> {
    let using = qs.db.clone();
    let mut preview = crate::query::DeletePreview::default();
    let Some(filter) = mark_filter(qs, DeletedRows::Hidden)? else {
        return Ok(preview);
    };
    let db = crate::db::resolve(using.as_ref())?;
    let stmt = statements::keys_for_update(M::META, &filter);
    let rows = db.query(&stmt.sql, &stmt.binds).await?;
    add(&mut preview.deleted, M::META.name, rows.len() as u64);
    if !rows.is_empty() && !M::META.has_composite_pk() {
        let keys = keys_of(M::META, &rows)?;
        cascade(&db, M::META, keys, false, &mut preview.deleted).await?;
    }
    Ok(preview)
}

/// `UPDATE "t" SET "deleted_at" = NULL FROM (SELECT "t"."id",
/// "t"."deleted_at" FROM "t" WHERE <filter> FOR UPDATE) AS "restored"
/// WHERE "t"."id" = "restored"."id" RETURNING "t"."id",
/// "restored"."deleted_at"`: a restore that says when each row had been
/// marked, for the cascade.
pub(crate) fn restore_statement(meta: &'static ModelMeta, filter: &Node) -> Option<Statement> {
    let field = scope::field(meta)?;
    let pk = meta.pk_field().column;
    let mut w = SqlWriter::new();
    scope::push_mark_set(&mut w, meta, field, false);
    w.push_sql(" FROM (SELECT ");
    w.push_column(meta.table, pk);
    w.push_sql(", ");
    w.push_column(meta.table, field.column);
    w.push_sql(" FROM ");
    w.push_ident(meta.table);
    statements::push_where(&mut w, meta, filter);
    w.push_sql(" FOR UPDATE) AS \"restored\" WHERE ");
    w.push_column(meta.table, pk);
    w.push_sql(" = ");
    w.push_column("restored", pk);
    w.push_sql(" RETURNING ");
    w.push_column(meta.table, pk);
    w.push_sql(", ");
    w.push_column("restored", field.column);
    Some(w.finish())
}

/// `UPDATE "child" SET "deleted_at" = NULL FROM UNNEST($1::bigint[],
/// $2::timestamptz[]) AS "restored"("key", "at") WHERE "child"."key" =
/// "restored"."key" AND "child"."deleted_at" = "restored"."at" RETURNING
/// "child"."id", "restored"."at"`: the rows a restored parent's
/// delete had cascaded to (marked at the same moment).
pub(crate) fn restore_cascade_statement(
    parent: &'static ModelMeta,
    child: &'static ModelMeta,
    key: &FieldMeta,
    (keys, times): (Value, Value),
) -> Option<Statement> {
    let field = scope::field(child)?;
    let parent_field = scope::field(parent)?;
    let mut w = SqlWriter::new();
    scope::push_mark_set(&mut w, child, field, false);
    w.push_sql(" FROM UNNEST(");
    w.push_bind(keys);
    w.push_sql("::");
    w.push_text(&parent.pk_field().ddl_type());
    w.push_sql("[], ");
    w.push_bind(times);
    w.push_sql("::");
    w.push_text(&parent_field.ddl_type());
    w.push_sql("[]) AS \"restored\"(\"key\", \"at\") WHERE ");
    w.push_column(child.table, key.column);
    w.push_sql(" = \"restored\".\"key\" AND ");
    w.push_column(child.table, field.column);
    w.push_sql(" = \"restored\".\"at\" RETURNING ");
    w.push_column(child.table, child.pk_field().column);
    // The time it had been marked (`RETURNING` gives the new, NULL, value).
    w.push_sql(", \"restored\".\"at\"");
    Some(w.finish())
}

/// The keys and mark times in the first two columns of `rows`.
fn keys_and_times(meta: &ModelMeta, rows: &[tokio_postgres::Row]) -> Result<(Value, Value)> {
    let (mut keys, mut times) = (Vec::new(), Vec::new());
    let at = scope::field(meta).map_or(crate::types::SqlType::TimestampTz, |f| f.sql_type);
    for row in rows {
        keys.push(Value::read(row, 0, meta.pk_field().sql_type)?);
        times.push(Value::read(row, 1, at)?);
    }
    Ok((Value::Array(keys), Value::Array(times)))
}

/// [`QuerySet::restore`]: one `UPDATE`, and when soft delete models refer
/// to `M` by `CASCADE` keys, the rows its delete marked with it, level
/// by level, in one transaction.
async fn restore<M: Model>(qs: QuerySet<M>) -> Result<u64> {
    field_of(M::META, "restore")?;
    let using = qs.db.clone();
    let Some(filter) = mark_filter(qs, DeletedRows::Only)? else {
        return Ok(0);
    };
    let db = crate::db::resolve(using.as_ref())?;
    if M::META.has_composite_pk() || cascade_children(M::META).is_empty() {
        return match mark_statement(M::META, &filter, false, false) {
            Some(stmt) => db.execute(&stmt.sql, &stmt.binds).await,
            None => Ok(0),
        };
    }
    let Some(stmt) = restore_statement(M::META, &filter) else {
        return Ok(0);
    };
    let options = crate::transaction::TxOptions::default();
    crate::transaction::transaction_on(&db, options, || async {
        let db = crate::db::current()?;
        let rows = db.query(&stmt.sql, &stmt.binds).await?;
        let mut queue = vec![(M::META, keys_and_times(M::META, &rows)?)];
        while let Some((parent, restored)) = queue.pop() {
            for (child, key) in cascade_children(parent) {
                let Some(stmt) = restore_cascade_statement(parent, child, key, restored.clone())
                else {
                    continue;
                };
                let rows = db.query(&stmt.sql, &stmt.binds).await?;
                if !rows.is_empty() && !child.has_composite_pk() {
                    queue.push((child, keys_and_times(child, &rows)?));
                }
            }
        }
        Ok(rows.len() as u64)
    })
    .await
}
