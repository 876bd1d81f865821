//! `QuerySet::stream()`: rows decoded as the server sends them.

use futures_util::{Stream, TryStreamExt};

use crate::db::{Conn, Db, InFlight};
use crate::error::Result;
use crate::exec::plan::Plan;
use crate::model::Model;
use crate::query::related;

/// What the stream holds between rows: the connection (kept out of the pool
/// until the stream ends) and the server's row stream.
struct Open {
    conn: Conn,
    /// The server said its last word (the last row, or an error).
    ended: bool,
    /// For [`Db::track`]: an error inside a transaction marks it failed.
    db: Db,
    rows: std::pin::Pin<Box<tokio_postgres::RowStream>>,
    /// The first row, read when the stream opened and not yet yielded.
    first: Option<tokio_postgres::Row>,
    joins: Vec<related::Join>,
    /// Run in a transaction block of its own, for row-level security's
    /// tenant setting (`db/rls.rs`): committed after the last row; the
    /// connection closed (rolled back) when the stream ends otherwise.
    block: bool,
}

enum State {
    Start(Result<Option<Plan>>),
    Open(Box<Open>),
    Done,
}

/// Opens the plan's stream on the node its read goes to: on a database
/// with replicas, outside a transaction, a replica (one that has the
/// writes of the current `read_your_writes` scope), else the primary. A
/// replica that went away before the first row arrived is marked down and
/// the stream opened on the next node (nothing was yielded yet, so no row
/// comes twice); after that, an error ends the stream.
async fn open(plan: Plan) -> Result<Open> {
    let db = plan.db()?;
    let block = db.rls_block();
    tracing::debug!(target: "orm_core::sql", sql = %plan.stmt.sql);
    let mut nodes = db.read_nodes(&plan.stmt.sql);
    loop {
        let (node, on) = nodes.next();
        match open_on(on, &plan, &block).await {
            Err(e) if nodes.retry(node, &e) => {}
            result => {
                nodes.served(node);
                return result;
            }
        }
    }
}

/// [`open`] on `db`, up to the first row; `block`: in a transaction
/// block of its own with this tenant setting (row-level security).
async fn open_on(db: Db, plan: &Plan, block: &Option<String>) -> Result<Open> {
    let conn = db.exclusive_client().await?;
    // Dropped before the server answers: cancelled, as once it has.
    let flight = InFlight(&db, &conn);
    let rows = async {
        if let Some(setting) = &block {
            db.rls_begin(&conn, setting).await?;
        }
        db.start_rows(&conn, &plan.stmt.sql, plan.stmt.binds.iter())
            .await
    }
    .await;
    if rows.is_ok() || block.is_none() {
        std::mem::forget(flight);
    } else {
        // The connection is inside the block: closed.
        drop(flight);
    }
    let rows = rows?;
    let mut open = Open {
        conn,
        ended: false,
        db,
        rows: Box::pin(rows),
        first: None,
        joins: plan.joins.clone(),
        block: block.is_some(),
    };
    match open.rows.try_next().await {
        Ok(Some(row)) => open.first = Some(row),
        Ok(None) => open.finish().await?,
        Err(err) => {
            // A block's connection is closed (`Drop`): it is inside the
            // aborted block.
            open.ended = !open.block;
            return open.db.track(Err(err));
        }
    }
    Ok(open)
}

/// The rows of a plan, one at a time.
pub(crate) fn rows<M: Model>(plan: Result<Option<Plan>>) -> impl Stream<Item = Result<M>> + Send {
    futures_util::stream::unfold(State::Start(plan), |state| async move {
        let mut open = match state {
            State::Done | State::Start(Ok(None)) => return None,
            State::Start(Err(err)) => return Some((Err(err), State::Done)),
            State::Start(Ok(Some(plan))) => match open(plan).await {
                Ok(open) => Box::new(open),
                Err(err) => return Some((Err(err), State::Done)),
            },
            State::Open(open) => open,
        };
        if let Some(row) = open.first.take() {
            let item = related::decode_row::<M>(&row, &open.joins);
            return Some((item, State::Open(open)));
        }
        if open.ended {
            return None;
        }
        match open.rows.try_next().await {
            Ok(Some(row)) => {
                let item = related::decode_row::<M>(&row, &open.joins);
                Some((item, State::Open(open)))
            }
            Ok(None) => match open.finish().await {
                Ok(()) => None,
                Err(err) => Some((Err(err), State::Done)),
            },
            Err(err) => {
                // A block's connection is closed (`Drop`): it is inside
                // the aborted block.
                open.ended = !open.block;
                Some((open.db.track::<M>(Err(err)), State::Done))
            }
        }
    })
}

impl Open {
    /// After the last row: commits the stream's own block, if it has one;
    /// the connection is then clean ([`Drop`] leaves it alone).
    async fn finish(&mut self) -> Result<()> {
        if self.block {
            let client: &tokio_postgres::Client = &self.conn;
            client.batch_execute("COMMIT").await?;
        }
        self.ended = true;
        Ok(())
    }
}

/// A stream dropped before its last row (`take(10)`, a `break`, a client
/// gone): outside a transaction its connection is closed and the statement
/// cancelled on the server, which would otherwise produce and send every
/// remaining row for nothing, the connection busy until then. Inside a
/// transaction the connection reads the rest and drops it: cancelling the
/// statement would abort the transaction.
impl Drop for Open {
    fn drop(&mut self) {
        if !self.ended && matches!(self.conn, Conn::Exclusive(_)) {
            self.db.abandon(&self.conn);
        }
    }
}
