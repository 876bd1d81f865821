//! `union`, `union_all`, `intersection` and `difference`: one query over
//! the rows of several, as Django's combinators.

use crate::error::{Error, Result};
use crate::exec::plan::Plan;
use crate::model::Model;
use crate::query::q::Node;
use crate::sql::clauses::SortKey;
use crate::sql::compound::{self, SetOp};
use crate::sql::joins::{ColumnRef, Table};
use crate::sql::{statements, Bound, SqlWriter, Statement};

use super::QuerySet;

/// The parts a combined query is made of, and how.
pub(crate) struct Combined<M> {
    op: SetOp,
    parts: Vec<QuerySet<M>>,
}

impl<M> Clone for Combined<M> {
    fn clone(&self) -> Self {
        Combined {
            op: self.op,
            parts: self.parts.clone(),
        }
    }
}

/// What a combined query refuses, as Django's `NotSupportedError`.
const ONLY: &str = "only order_by, reverse, limit/offset, first/last, count, exists, explain, \
                    stream, prefetch_related and using apply to a combined query (union, \
                    intersection, difference); filter, annotate, select or lock each part \
                    before combining";

impl<M: Model> QuerySet<M> {
    /// The rows of this query or of `other`, each once (SQL's `UNION`), as
    /// Django's `union(other)`.
    ///
    /// Each part keeps its own filter, ordering and slice; the combined
    /// query takes [`order_by`](QuerySet::order_by) (on the model's
    /// fields, by their columns in the combined rows),
    /// [`reverse`](QuerySet::reverse), [`limit`](QuerySet::limit) /
    /// [`offset`](QuerySet::offset), [`first`](QuerySet::first) /
    /// [`last`](QuerySet::last), [`count`](QuerySet::count),
    /// [`exists`](QuerySet::exists), [`stream`](QuerySet::stream),
    /// [`explain`](QuerySet::explain),
    /// [`prefetch_related`](QuerySet::prefetch_related) and
    /// [`using`](QuerySet::using). Anything else (a `filter`, `update`,
    /// `delete`, `values`, `aggregate`, ...) reports
    /// [`Error::InvalidQuery`] when it runs, as Django refuses it. A part
    /// that matches nothing is left out, as Django does.
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct User { #[orm(primary_key)] pub id: i64, pub name: String, pub karma: i32 }
    /// # async fn run() -> orm_core::Result<()> {
    /// let top = User::all().order_by(["-karma"]).limit(3);
    /// let named_a = User::filter(q!(name__startswith = "A"));
    /// let users = top.union(named_a).order_by(["name"]).await?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn union(self, other: QuerySet<M>) -> Self {
        self.combine(SetOp::Union, other)
    }

    /// As [`union`](QuerySet::union), keeping the rows both queries
    /// return twice (`UNION ALL`; Django's `union(other, all=True)`).
    #[must_use]
    pub fn union_all(self, other: QuerySet<M>) -> Self {
        self.combine(SetOp::UnionAll, other)
    }

    /// The rows both this query and `other` return (`INTERSECT`), as
    /// Django's `intersection(other)`; what applies to the combined query
    /// is as for [`union`](QuerySet::union). A part that matches nothing
    /// makes the whole match nothing.
    #[must_use]
    pub fn intersection(self, other: QuerySet<M>) -> Self {
        self.combine(SetOp::Intersect, other)
    }

    /// The rows of this query that `other` does not return (`EXCEPT`), as
    /// Django's `difference(other)`; what applies to the combined query
    /// is as for [`union`](QuerySet::union).
    #[must_use]
    pub fn difference(self, other: QuerySet<M>) -> Self {
        self.combine(SetOp::Except, other)
    }

    fn combine(self, op: SetOp, other: QuerySet<M>) -> Self {
        let db = self.db.clone();
        let mut combined = QuerySet::new();
        combined.db = db;
        // Every path that does not know combined queries reports this.
        combined.error = Some((M::META.name, ONLY.to_owned()));
        combined.combined = Some(Box::new(Combined {
            op,
            parts: vec![self, other],
        }));
        combined
    }

    /// The parts that are sent, Django's way: a union leaves out the parts
    /// that match nothing, a difference those after the first; an
    /// intersection with such a part, or a difference whose first part is
    /// one, matches nothing (no parts).
    fn live_parts(combined: &Combined<M>) -> Result<Vec<&QuerySet<M>>> {
        let mut live = Vec::with_capacity(combined.parts.len());
        for (i, part) in combined.parts.iter().enumerate() {
            if part.matches_nothing()? {
                match combined.op {
                    SetOp::Union | SetOp::UnionAll => continue,
                    SetOp::Except if i > 0 => continue,
                    SetOp::Except | SetOp::Intersect => return Ok(Vec::new()),
                }
            }
            live.push(part);
        }
        Ok(live)
    }

    /// Whether this query, as a part, can match no row.
    fn matches_nothing(&self) -> Result<bool> {
        if self.limit == Some(0) {
            return Ok(true);
        }
        Ok(match &self.combined {
            Some(combined) => Self::live_parts(combined)?.is_empty(),
            None => matches!(*self.simplified()?, Node::Nothing),
        })
    }

    /// Writes the combined `SELECT`; `None` when it matches nothing.
    pub(crate) fn write_combined(&self, w: &mut SqlWriter) -> Result<Option<()>> {
        let Some(combined) = &self.combined else {
            return self.with_select(|s| statements::push_select(w, s));
        };
        let refuse = |what: &str| {
            Err(Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: format!("{what} after {}(): {ONLY}", combined.op.method()),
            }))
        };
        if !matches!(self.filter, Node::All) {
            return refuse("filter() or exclude()");
        }
        if self.distinct || !self.distinct_on.is_empty() {
            return refuse("distinct()");
        }
        if !self.select_related.is_empty() {
            return refuse("select_related()");
        }
        if self.lock.is_some() {
            return refuse("select_for_update()");
        }
        let order = self.resolve_order()?;
        if order.iter().any(|sort| {
            !matches!(
                sort.key,
                SortKey::Column(ColumnRef {
                    table: Table::Root,
                    ..
                })
            )
        }) {
            return refuse("order_by() across a relation or by an expression");
        }
        let parts = Self::live_parts(combined)?;
        if parts.is_empty() || self.limit == Some(0) {
            return Ok(None);
        }
        for part in &parts {
            let inside = if !part.select_related.is_empty() {
                "select_related()"
            } else if !part.prefetch.is_empty() {
                "prefetch_related() (give it to the combined query)"
            } else if part.lock.is_some() {
                "select_for_update()"
            } else {
                continue;
            };
            return Err(Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: format!(
                    "{inside} in a part of {}(): its rows must be the model's columns only",
                    combined.op.method()
                ),
            }));
        }
        compound::push_compound(
            w,
            combined.op,
            parts.len(),
            |w, i| match parts[i].write_combined(w)? {
                Some(()) => Ok(()),
                // A live part matches something: unreachable, but never
                // send a broken statement.
                None => Err(Error::from(crate::error::QueryError {
                    model: M::META.name,
                    reason: "a part of a combined query matches nothing".into(),
                })),
            },
            &order,
            self.limit,
            self.offset,
        )?;
        Ok(Some(()))
    }

    /// The plan of a combined query's `SELECT`.
    pub(super) fn combined_plan(self) -> Result<Option<Plan>> {
        if !self.prefetch.is_empty() {
            crate::query::related::check_prefetch::<M>(&self.prefetch)?;
        }
        let Some(stmt) = self.kept_or_render(Self::write_combined)? else {
            return Ok(None);
        };
        Ok(Some(Plan {
            locks: false,
            using: self.db,
            stmt,
            joins: Vec::new(),
            prefetch: self.prefetch,
            root: None,
            rows: 0,
        }))
    }

    /// The statement of a combined query's `count()` (or `exists()`).
    pub(super) fn combined_count(&self, exists: bool) -> Result<Option<Bound>> {
        self.kept_or_render(|qs, w| compound::push_count_over(w, exists, |w| qs.write_combined(w)))
    }

    /// The `SELECT` of a combined query, rendered (`sql()`).
    pub(super) fn combined_sql(&self) -> Result<Option<Statement>> {
        let mut w = SqlWriter::new();
        Ok(self.write_combined(&mut w)?.map(|()| w.finish()))
    }
}
