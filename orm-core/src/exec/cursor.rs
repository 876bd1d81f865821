//! `QuerySet::iterator(chunk_size)` with `prefetch_related`: the rows read
//! through a server-side cursor a chunk at a time, each chunk's
//! relations prefetched before its rows are handed out (Django's
//! `iterator(chunk_size=..)` after `prefetch_related`).
//!
//! The cursor lives in a transaction: the caller's when there is one,
//! else one begun for the iteration and committed when the last row has
//! been read. Dropped half-way, the iteration's own transaction rolls
//! back (its connection is closed, never pooled mid-transaction), which
//! closes the cursor; in the caller's transaction the cursor stays open
//! until that transaction ends.

use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::Stream;

use crate::db::{Db, NO_VALUES};
use crate::error::Result;
use crate::exec::plan::Plan;
use crate::model::Model;
use crate::sql::cursor;
use crate::transaction::Transaction;

/// Makes each cursor's name unique in the process (so in its session).
static CURSORS: AtomicU64 = AtomicU64::new(0);

/// An open cursor and the rows of the chunk being handed out.
struct Open<M> {
    plan: Plan,
    /// The iteration's own transaction (none inside the caller's).
    own: Option<Transaction>,
    db: Db,
    name: String,
    fetch: String,
    chunk: std::vec::IntoIter<M>,
    /// The last chunk was short: no more rows.
    last: bool,
}

enum State<M> {
    Start(Result<Option<Plan>>, usize),
    Open(Box<Open<M>>),
    Done,
}

async fn open<M>(plan: Plan, chunk_size: usize) -> Result<Open<M>> {
    let db = plan.db()?;
    let (own, db) = if db.in_transaction() {
        (None, db)
    } else {
        let tx = db.begin().await?;
        let db = Db::clone(&tx);
        (Some(tx), db)
    };
    let name = format!("orm_iterator_{}", CURSORS.fetch_add(1, Ordering::Relaxed));
    let declare = cursor::declare(&name, &plan.stmt.sql);
    db.execute(&declare, &plan.stmt.binds).await?;
    Ok(Open {
        fetch: cursor::fetch(&name, chunk_size),
        plan,
        own,
        db,
        name,
        chunk: Vec::new().into_iter(),
        last: false,
    })
}

impl<M: Model> Open<M> {
    /// The next chunk, its relations prefetched; empty at the end.
    async fn next_chunk(&mut self, chunk_size: usize) -> Result<Vec<M>> {
        let mut rows: Vec<M> = Vec::with_capacity(chunk_size);
        let plan = &self.plan;
        self.db
            .for_each_row(&self.fetch, NO_VALUES, NO_VALUES, |row| {
                rows.push(plan.decode(&row)?);
                Ok(())
            })
            .await?;
        self.last = rows.len() < chunk_size;
        self.plan.prefetch(&self.db, &mut rows).await?;
        Ok(rows)
    }

    /// Closes the cursor, and commits the iteration's own transaction.
    async fn finish(mut self) -> Result<()> {
        self.db.execute(&cursor::close(&self.name), &[]).await?;
        match self.own.take() {
            Some(tx) => tx.commit().await,
            None => Ok(()),
        }
    }
}

/// The rows of `plan`, `chunk_size` at a time through a cursor, each
/// chunk's `prefetch_related` relations loaded before its rows come out.
pub(crate) fn chunked<M: Model>(
    plan: Result<Option<Plan>>,
    chunk_size: usize,
) -> impl Stream<Item = Result<M>> + Send {
    futures_util::stream::unfold(State::Start(plan, chunk_size), move |state| async move {
        let mut open = match state {
            State::Done | State::Start(Ok(None), _) => return None,
            State::Start(Err(err), _) => return Some((Err(err), State::Done)),
            State::Start(Ok(Some(plan)), size) => match open::<M>(plan, size).await {
                Ok(open) => Box::new(open),
                Err(err) => return Some((Err(err), State::Done)),
            },
            State::Open(open) => open,
        };
        loop {
            if let Some(row) = open.chunk.next() {
                return Some((Ok(row), State::Open(open)));
            }
            if open.last {
                return match open.finish().await {
                    Ok(()) => None,
                    Err(err) => Some((Err(err), State::Done)),
                };
            }
            match open.next_chunk(chunk_size).await {
                Ok(rows) => open.chunk = rows.into_iter(),
                Err(err) => return Some((Err(err), State::Done)),
            }
        }
    })
}
