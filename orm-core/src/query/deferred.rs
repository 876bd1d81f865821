//! `only(..)` / `defer(..)`: rows with some columns left unread.
//!
//! Django loads a deferred field on first access; a Rust struct cannot, so a
//! deferred field holds its type's `Default` and the row comes wrapped in
//! [`Deferred`], which remembers what was read. Its `save()` (with the
//! Active Record methods, in `active_record.rs`) writes only those fields,
//! so a partly loaded row never overwrites the columns it did not read.

use std::future::{Future, IntoFuture};
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;

use crate::db;
use crate::error::Result;
use crate::meta::FieldMeta;
use crate::model::Model;
use crate::query::paths::{PathPlan, Reach};
use crate::query::values::resolve_fields;
use crate::query::QuerySet;
use crate::sql::joins::ColumnRef;

/// A row read with [`QuerySet::only`] or [`QuerySet::defer`]: the model,
/// its unread fields at their `Default`, and which fields were read.
/// Dereferences to the model.
#[derive(Debug, Clone)]
pub struct Deferred<M> {
    pub(crate) object: M,
    /// Shared by the rows of one query.
    pub(crate) loaded: Arc<[&'static FieldMeta]>,
}

impl<M> Deref for Deferred<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.object
    }
}

impl<M> DerefMut for Deferred<M> {
    fn deref_mut(&mut self) -> &mut M {
        &mut self.object
    }
}

impl<M: Model> Deferred<M> {
    /// The names of the fields that were not read.
    pub fn deferred_fields(&self) -> Vec<&'static str> {
        M::META
            .fields
            .iter()
            .filter(|f| !self.loaded.iter().any(|l| l.position == f.position))
            .map(|f| f.name)
            .collect()
    }
}

/// A query reading some fields only; see [`QuerySet::only`]. Await it for
/// the rows, or call [`first`](Self::first).
pub struct DeferredQuery<M> {
    qs: QuerySet<M>,
    names: Vec<String>,
    only: bool,
}

impl<M: Model> std::fmt::Debug for DeferredQuery<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeferredQuery")
            .field("query", &self.qs)
            .finish_non_exhaustive()
    }
}

impl<M: Model + Default> QuerySet<M> {
    /// Reads only these fields (and the primary key), as Django's `only()`;
    /// the others hold their `Default`. The rows come as [`Deferred`],
    /// whose `save()` writes only what was read.
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct Post { #[orm(primary_key)] pub id: i64, pub title: String, pub body: String }
    /// # async fn run() -> orm_core::Result<()> {
    /// let mut posts = Post::all().only(["title"]).await?;
    /// posts[0].title = "Renamed".into();
    /// posts[0].save().await?; // UPDATE .. SET "title" = $1: the body is kept
    /// # Ok(()) }
    /// ```
    pub fn only<I>(self, fields: I) -> DeferredQuery<M>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        DeferredQuery::new(self, fields, true)
    }

    /// Reads every field but these, as Django's `defer()` (large text or
    /// JSON columns a listing does not need); see [`only`](Self::only).
    pub fn defer<I>(self, fields: I) -> DeferredQuery<M>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        DeferredQuery::new(self, fields, false)
    }
}

impl<M: Model + Default> DeferredQuery<M> {
    fn new<I>(qs: QuerySet<M>, fields: I, only: bool) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        DeferredQuery {
            qs,
            names: fields.into_iter().map(|f| f.as_ref().to_owned()).collect(),
            only,
        }
    }

    /// The fields to read, in the model's order (the primary key always).
    fn columns(&self) -> Result<Vec<&'static FieldMeta>> {
        let meta = M::META;
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let named = resolve_fields(meta, &names)?;
        let listed = |f: &FieldMeta| named.iter().any(|n| n.position == f.position);
        Ok(meta
            .fields
            .iter()
            .filter(|f| meta.is_pk_field(f.position) || listed(f) == self.only)
            .collect())
    }

    /// Runs the query.
    ///
    /// # Errors
    /// [`Error::InvalidLookup`](crate::Error::InvalidLookup) for an unknown
    /// field; database errors.
    pub async fn fetch(self) -> Result<Vec<Deferred<M>>> {
        let columns = self.columns()?;
        let selected: Vec<ColumnRef> = columns.iter().map(|f| ColumnRef::root(f)).collect();
        let mut plan = PathPlan::new(M::META, &[], Reach::Single);
        let Some(stmt) = self.qs.select_columns(&mut plan, &selected)? else {
            return Ok(Vec::new());
        };
        let db = db::resolve(self.qs.db.as_ref())?;
        // Each selected column's index in the model, found once per query.
        let indexes: Vec<usize> = columns.iter().map(|c| c.position).collect();
        let loaded: Arc<[&'static FieldMeta]> = columns.into();
        db.load_with(&stmt.sql, stmt.binds.iter(), |row| {
            let mut object = M::default();
            for (column, &index) in indexes.iter().enumerate() {
                object.read_field(index, row, column)?;
            }
            Ok(Deferred {
                object,
                loaded: loaded.clone(),
            })
        })
        .await
    }

    /// The first row (by the query's ordering, or primary key), if any.
    ///
    /// # Errors
    /// As [`fetch`](Self::fetch).
    pub async fn first(mut self) -> Result<Option<Deferred<M>>> {
        self.qs = self.qs.first_query();
        Ok(self.fetch().await?.into_iter().next())
    }
}

impl<M: Model + Default> IntoFuture for DeferredQuery<M> {
    type Output = Result<Vec<Deferred<M>>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.fetch())
    }
}
