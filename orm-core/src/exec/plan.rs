//! A compiled `SELECT` ([`Plan`]) and how it runs: its rows decoded as they
//! arrive (joined models attached), then its prefetches, or all of them in
//! one round trip.

use std::borrow::Cow;

use smallvec::smallvec;

use crate::db::{self, Db};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::query::q::Node;
use crate::query::related::{self, Join, PrefetchSpec};
use crate::sql::Bound;
use crate::value::Value;

/// What a `SELECT` needs to run: where, what, and how to decode it.
pub(crate) struct Plan {
    /// The query's own database (`using`), if it has one.
    pub(crate) using: Option<Db>,
    /// `select_for_update()`: needs a transaction.
    pub(crate) locks: bool,
    pub(crate) stmt: Bound,
    pub(crate) joins: Vec<Join>,
    pub(crate) prefetch: Vec<PrefetchSpec>,
    /// The conditions that choose the rows, simplified, when the query
    /// prefetches and is not sliced: the prefetch statements then select
    /// their parents' keys with them and go out with the query
    /// ([`related::prefetch_pipelined`]).
    pub(crate) root: Option<Box<Node>>,
    /// Rows to make room for up front: a small `LIMIT` (a page), else 0.
    pub(crate) rows: usize,
}

impl Plan {
    /// A get by one field's value, with the text kept for it.
    pub(crate) fn get(using: Option<Db>, sql: &'static str, value: Value) -> Plan {
        Plan {
            using,
            locks: false,
            stmt: Bound {
                sql: Cow::Borrowed(sql),
                binds: smallvec![value],
            },
            joins: Vec::new(),
            prefetch: Vec::new(),
            root: None,
            rows: 1,
        }
    }

    /// The database the query runs on, found when it runs (not when its
    /// future is made), so a future awaited inside
    /// [`scope`](crate::scope) uses the scope's database.
    pub(crate) fn db(&self) -> Result<Db> {
        let db = db::resolve(self.using.as_ref())?;
        if self.locks && !db.in_transaction() {
            return Err(Error::Transaction(
                "select_for_update() locks rows until the transaction ends: run it inside \
                 orm_core::transaction(..) or on a Db::begin() transaction"
                    .into(),
            ));
        }
        Ok(db)
    }

    /// One row as the model, with the `select_related` models attached.
    pub(crate) fn decode<M: Model>(&self, row: &tokio_postgres::Row) -> Result<M> {
        related::decode_row(row, &self.joins)
    }

    /// Loads the `prefetch_related` relations of `rows`.
    pub(crate) async fn prefetch<M: Model>(&self, db: &Db, rows: &mut [M]) -> Result<()> {
        if !self.prefetch.is_empty() && !rows.is_empty() {
            // Boxed: its future is as large as a query's, and most queries
            // prefetch nothing.
            Box::pin(related::prefetch(db, rows, &self.prefetch)).await?;
        }
        Ok(())
    }
}

/// Runs a plan: the rows (joined models attached), then the prefetches,
/// or both at once when the prefetches can select their parents' keys
/// without them ([`Plan::root`]).
pub(crate) async fn run<M: Model>(plan: &Plan) -> Result<Vec<M>> {
    let db = plan.db()?;
    // Under `Db::timeout` every statement holds a connection alone (and the
    // levels would escape the limit): the levels then wait for the rows.
    // Under row-level security outside a transaction block, each statement
    // runs in a block of its own (`db/rls.rs`): not pipelined either.
    if let (Some(root), false, false) = (&plan.root, plan.prefetch.is_empty(), db.is_limited()) {
        if db.rls_block().is_none() {
            // Boxed, as `Plan::prefetch`'s: most queries prefetch nothing.
            return Box::pin(run_pipelined(plan, &db, root)).await;
        }
    }
    let mut rows = fetch_rows(plan, &db).await?;
    plan.prefetch(&db, &mut rows).await?;
    Ok(rows)
}

/// The plan's rows, decoded as they arrive (joined models attached).
async fn fetch_rows<M: Model>(plan: &Plan, db: &Db) -> Result<Vec<M>> {
    let mut rows: Vec<M> = Vec::with_capacity(plan.rows);
    let (sql, binds) = (&plan.stmt.sql, &plan.stmt.binds);
    db.for_each_row(sql, binds.iter(), binds, |row| {
        rows.push(plan.decode(&row)?);
        Ok(())
    })
    .await?;
    Ok(rows)
}

/// [`run`] with the prefetch statements sent with the query, pipelined
/// on one connection: one round trip for the whole tree.
async fn run_pipelined<M: Model>(plan: &Plan, db: &Db, root: &Node) -> Result<Vec<M>> {
    let pinned = db.pinned().await?;
    related::prefetch_pipelined(&pinned, root, &plan.prefetch, fetch_rows(plan, &pinned)).await
}
