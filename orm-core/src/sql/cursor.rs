//! Server-side cursors, for `QuerySet::iterator(chunk_size)`: a query's
//! rows read a chunk at a time inside a transaction.

use crate::sql::SqlWriter;

/// `DECLARE "name" NO SCROLL CURSOR FOR <select>`: `select` is a
/// statement this crate rendered; its parameters stay parameters.
pub(crate) fn declare(name: &str, select: &str) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("DECLARE ");
    w.push_ident(name);
    w.push_sql(" NO SCROLL CURSOR FOR ");
    w.push_text(select);
    w.finish().sql
}

/// `FETCH FORWARD n FROM "name"`.
pub(crate) fn fetch(name: &str, rows: usize) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("FETCH FORWARD ");
    w.push_int(i64::try_from(rows).unwrap_or(i64::MAX));
    w.push_sql(" FROM ");
    w.push_ident(name);
    w.finish().sql
}

/// `CLOSE "name"`.
pub(crate) fn close(name: &str) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("CLOSE ");
    w.push_ident(name);
    w.finish().sql
}
