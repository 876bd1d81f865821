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
    /// `deleted_objects`); on a model without `#[orm(soft_delete)]`, every
    /// row (none is marked).
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
                let cascades = matches!(rel.kind, RelationKind::ForeignKey | RelationKind::OneToOne)
                    && rel.on_delete == OnDelete::Cascade
                    && rel.target.meta().table == meta.table;
                cascades.then(|| rel.key_field().map(|key| (child, key)))?
            })
        })
        .collect()
}

/// `UPDATE "child" SET "deleted_at" = now() WHERE "key" = ANY($1) AND
/// "deleted_at" IS NULL [RETURNING "pk"]`: the cascade of a soft delete.
pub(crate) fn cascade_statement(
    child: &'static ModelMeta,
    key: &FieldMeta,
    keys: &Value,
    returning: bool,
) -> Option<Statement> {
    let field = scope::field(child)?;
    let mut w = SqlWriter::new();
    scope::push_mark_set(&mut w, child, field, true);
    w.push_sql(" WHERE ");
    w.push_ident(key.column);
    w.push_sql(" = ANY(");
    w.push_bind(keys.clone());
    w.push_sql(") AND ");
    w.push_ident(field.column);
    w.push_sql(" IS NULL");
    if returning {
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

/// `delete()` of a soft delete model: marks the matching live rows (one
/// `UPDATE`), and, when soft delete models refer to it by `CASCADE` keys,
/// theirs too, in one transaction (so all share the time of `now()`).
/// Returns how many rows of `M` were marked.
pub(crate) async fn mark<M: Model>(qs: QuerySet<M>) -> Result<u64> {
    let using = qs.db.clone();
    let Some(filter) = mark_filter(qs, DeletedRows::Hidden)? else {
        return Ok(0);
    };
    let db = crate::db::resolve(using.as_ref())?;
    let cascades = !M::META.has_composite_pk() && !cascade_children(M::META).is_empty();
    let Some(stmt) = mark_statement(M::META, &filter, true, cascades) else {
        return Ok(0);
    };
    if !cascades {
        return db.execute(&stmt.sql, &stmt.binds).await;
    }
    let options = crate::transaction::TxOptions::default();
    crate::transaction::transaction_on(&db, options, || async {
        let db = crate::db::current()?;
        let rows = db.query(&stmt.sql, &stmt.binds).await?;
        let mut queue = vec![(M::META, keys_of(M::META, &rows)?)];
        while let Some((parent, keys)) = queue.pop() {
            for (child, key) in cascade_children(parent) {
                let further = !child.has_composite_pk() && !cascade_children(child).is_empty();
                let Some(stmt) = cascade_statement(child, key, &keys, further) else {
                    continue;
                };
                if further {
                    let marked = db.query(&stmt.sql, &stmt.binds).await?;
                    if !marked.is_empty() {
                        queue.push((child, keys_of(child, &marked)?));
                    }
                } else {
                    db.execute(&stmt.sql, &stmt.binds).await?;
                }
            }
        }
        Ok(rows.len() as u64)
    })
    .await
}

/// [`QuerySet::restore`].
async fn restore<M: Model>(qs: QuerySet<M>) -> Result<u64> {
    field_of(M::META, "restore")?;
    let using = qs.db.clone();
    let Some(filter) = mark_filter(qs, DeletedRows::Only)? else {
        return Ok(0);
    };
    let db = crate::db::resolve(using.as_ref())?;
    let Some(stmt) = mark_statement(M::META, &filter, false, false) else {
        return Ok(0);
    };
    db.execute(&stmt.sql, &stmt.binds).await
}
