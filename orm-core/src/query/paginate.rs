//! Pagination: Django's page-number [`Paginator`] (with an optional
//! planner estimate of the count for large tables) and keyset ("cursor")
//! pages ([`QuerySet::keyset_page`]) that stay correct with ties and with
//! rows inserted between requests.

use crate::db;
use crate::error::{Error, Result};
use crate::meta::FieldMeta;
use crate::model::Model;
use crate::query::order::OrderBy;
use crate::query::q::{Cmp, Node, Op, Q};
use crate::query::QuerySet;
use crate::sql::clauses::{Nulls, SortKey};
use crate::sql::joins::{ColumnRef, Table};
use crate::sql::statements;
use crate::types::SqlType;
use crate::value::Value;

/// The longest cursor [`QuerySet::keyset_page`] reads, in bytes: a
/// cursor comes from a client.
pub const MAX_CURSOR_LEN: usize = 4_096;

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidPage(reason.into())
}

/// Django's `Paginator` over a query: the count, the number of pages,
/// and each page's rows (`LIMIT`/`OFFSET` on the query's ordering).
///
/// ```no_run
/// # use orm_core::prelude::*;
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct Post { #[orm(primary_key)] pub id: i64, pub title: String }
/// # async fn run() -> orm_core::Result<()> {
/// let mut pages = Post::all().order_by(["-id"]).paginate(25);
/// let page = pages.page(2).await?;           // Error::InvalidPage past the end
/// println!("{} of {} ({} posts)", page.number, page.num_pages, page.count);
/// for post in &page.object_list { /* .. */ }
/// let next = page.next_page_number();        // None on the last page
/// // From a query string, leniently (Django's `get_page`): `?page=abc` is
/// // the first page, `?page=999` the last.
/// let page = pages.get_page(Some("abc")).await?;
/// # Ok(()) }
/// ```
///
/// A query without an ordering is ordered by primary key, so that pages
/// neither repeat nor skip rows (Django only warns,
/// `UnorderedObjectListWarning`). The count is read once and kept.
pub struct Paginator<M> {
    qs: QuerySet<M>,
    per_page: i64,
    orphans: i64,
    allow_empty_first_page: bool,
    estimate_above: Option<i64>,
    count: Option<i64>,
}

impl<M: Model> std::fmt::Debug for Paginator<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paginator")
            .field("query", &self.qs)
            .field("per_page", &self.per_page)
            .field("orphans", &self.orphans)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

/// One page of a [`Paginator`], as Django's `Page`.
#[derive(Debug, Clone)]
pub struct Page<M> {
    /// The page's rows.
    pub object_list: Vec<M>,
    /// Its number, from 1.
    pub number: i64,
    /// How many pages there are.
    pub num_pages: i64,
    /// How many rows the whole query has (the planner's estimate when the
    /// paginator was asked for one and it was above the threshold).
    pub count: i64,
    /// The paginator's page size.
    pub per_page: i64,
}

impl<M> Page<M> {
    /// Whether a next page exists.
    pub fn has_next(&self) -> bool {
        self.number < self.num_pages
    }

    /// Whether a previous page exists.
    pub fn has_previous(&self) -> bool {
        self.number > 1
    }

    /// Whether there is another page either way.
    pub fn has_other_pages(&self) -> bool {
        self.has_next() || self.has_previous()
    }

    /// The next page's number, if there is one (Django raises `EmptyPage`).
    pub fn next_page_number(&self) -> Option<i64> {
        self.has_next().then_some(self.number + 1)
    }

    /// The previous page's number, if there is one.
    pub fn previous_page_number(&self) -> Option<i64> {
        self.has_previous().then_some(self.number - 1)
    }

    /// The 1-based index of the page's first row in the whole query (0 for
    /// no rows), as Django's `start_index()`.
    pub fn start_index(&self) -> i64 {
        if self.count == 0 {
            0
        } else {
            self.per_page * (self.number - 1) + 1
        }
    }

    /// The 1-based index of the page's last row, as Django's `end_index()`.
    pub fn end_index(&self) -> i64 {
        if self.number == self.num_pages {
            self.count
        } else {
            self.number * self.per_page
        }
    }
}

impl<M: Model> QuerySet<M> {
    /// Pages of `per_page` rows over this query, as Django's
    /// `Paginator(queryset, per_page)`; see [`Paginator`].
    pub fn paginate(self, per_page: i64) -> Paginator<M> {
        Paginator {
            qs: self,
            per_page,
            orphans: 0,
            allow_empty_first_page: true,
            estimate_above: None,
            count: None,
        }
    }

    /// The planner's estimate of how many rows the query returns
    /// (PostgreSQL's `EXPLAIN`, nothing run): instant on any table, and
    /// as good as the table's statistics (`ANALYZE`).
    ///
    /// # Errors
    /// As [`sql`](QuerySet::sql); database errors.
    pub async fn estimated_count(self) -> Result<i64> {
        let db = db::resolve(self.db.as_ref())?;
        let Some(select) = self.sql()? else {
            return Ok(0);
        };
        let stmt = statements::explain_json(select);
        let rows = db.query(&stmt.sql, &stmt.binds).await?;
        let plan: serde_json::Value = rows
            .first()
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(Error::Database)?
            .unwrap_or_default();
        let estimate = plan
            .pointer("/0/Plan/Plan Rows")
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| {
                Error::from(crate::error::QueryError {
                    model: M::META.name,
                    reason: "PostgreSQL's plan has no row estimate".into(),
                })
            })?;
        Ok(estimate.max(0.0).round() as i64)
    }
}

impl<M: Model> Paginator<M> {
    /// Django's `orphans`: a last page of at most this many rows joins the
    /// page before it.
    #[must_use]
    pub fn orphans(mut self, orphans: i64) -> Self {
        self.orphans = orphans.max(0);
        self
    }

    /// Django's `allow_empty_first_page` (default `true`): with `false`,
    /// page 1 of no rows is [`Error::InvalidPage`].
    #[must_use]
    pub fn allow_empty_first_page(mut self, allow: bool) -> Self {
        self.allow_empty_first_page = allow;
        self
    }

    /// Counts with the planner's estimate ([`QuerySet::estimated_count`])
    /// when it is above `threshold` rows, else exactly: `COUNT(*)` over
    /// millions of rows is what makes list pages slow. The page count and
    /// the last page are then approximate; each page's rows are exact.
    #[must_use]
    pub fn estimate_above(mut self, threshold: i64) -> Self {
        self.estimate_above = Some(threshold);
        self
    }

    /// Whether the count is the planner's estimate.
    fn estimated(&self) -> bool {
        self.estimate_above
            .zip(self.count)
            .is_some_and(|(threshold, count)| count > threshold)
    }

    /// The number of rows: counted once, then kept.
    ///
    /// # Errors
    /// Database errors; as [`QuerySet::count`].
    pub async fn count(&mut self) -> Result<i64> {
        if let Some(count) = self.count {
            return Ok(count);
        }
        let count = match self.estimate_above {
            Some(threshold) => {
                let estimate = self.qs.clone().estimated_count().await?;
                if estimate > threshold {
                    estimate
                } else {
                    self.qs.clone().count().await?
                }
            }
            None => self.qs.clone().count().await?,
        };
        self.count = Some(count);
        Ok(count)
    }

    /// The number of pages (at least 1 when the first page may be empty),
    /// as Django's `num_pages`.
    ///
    /// # Errors
    /// As [`count`](Paginator::count); [`Error::InvalidPage`] for a page
    /// size below 1.
    pub async fn num_pages(&mut self) -> Result<i64> {
        if self.per_page < 1 {
            return Err(invalid(format!(
                "the page size must be at least 1, not {}",
                self.per_page
            )));
        }
        let count = self.count().await?;
        if count == 0 && !self.allow_empty_first_page {
            return Ok(0);
        }
        let hits = (count - self.orphans).max(1);
        Ok((hits + self.per_page - 1) / self.per_page)
    }

    /// Page `number` (from 1), as Django's `page(number)`.
    ///
    /// # Errors
    /// [`Error::InvalidPage`] for a number below 1 ("That page number is
    /// less than 1") or past the last page ("That page contains no
    /// results"); database errors.
    pub async fn page(&mut self, number: i64) -> Result<Page<M>> {
        let num_pages = self.num_pages().await?;
        if number < 1 {
            return Err(invalid("That page number is less than 1"));
        }
        if number > num_pages && !(number == 1 && self.allow_empty_first_page) {
            return Err(invalid("That page contains no results"));
        }
        let count = self.count().await?;
        let bottom = (number - 1) * self.per_page;
        let mut top = bottom + self.per_page;
        if top + self.orphans >= count {
            // The last page, with its orphans: up to the count, or every
            // row left when the count is the planner's estimate.
            top = if self.estimated() { i64::MAX } else { count };
        }
        let mut qs = self.qs.clone();
        if qs.order.is_empty() {
            qs.order = vec![OrderBy::field(M::META.pk_field(), false)];
        }
        let qs = qs.offset(bottom);
        let qs = if top == i64::MAX {
            qs
        } else {
            qs.limit((top - bottom).max(0))
        };
        let object_list = qs.fetch().await?;
        Ok(Page {
            object_list,
            number,
            num_pages: num_pages.max(1),
            count,
            per_page: self.per_page,
        })
    }

    /// Page `number` as found in a query string, leniently, as Django's
    /// `get_page`: missing or not a number is the first page, past the
    /// end (or below 1) the last.
    ///
    /// # Errors
    /// Database errors.
    pub async fn get_page(&mut self, number: Option<&str>) -> Result<Page<M>> {
        let number = number
            .and_then(|n| n.trim().parse::<i64>().ok())
            .unwrap_or(1);
        match self.page(number).await {
            Err(Error::InvalidPage(_)) => {
                let last = self.num_pages().await?.max(1);
                self.page(last).await
            }
            other => other,
        }
    }
}

/// A page of [`QuerySet::keyset_page`]: its rows and the cursors of the
/// pages around it (DRF's `CursorPagination`).
#[derive(Debug, Clone)]
pub struct KeysetPage<M> {
    /// The page's rows, in the query's ordering.
    pub items: Vec<M>,
    /// The cursor of the next page; `None` on the last one.
    pub next: Option<String>,
    /// The cursor of the previous page; `None` on the first one.
    pub previous: Option<String>,
}

/// The ordering terms of a keyset page: fields of the model, not null,
/// ending with the primary key (a unique tie-breaker).
fn keyset_order<M: Model>(qs: &QuerySet<M>) -> Result<Vec<(&'static FieldMeta, bool)>> {
    let refuse = |why: String| {
        Error::from(crate::error::QueryError {
            model: M::META.name,
            reason: format!("keyset pagination: {why}"),
        })
    };
    if qs.limit.is_some() || qs.offset.is_some() {
        return Err(refuse("the query is already sliced (limit/offset)".into()));
    }
    let mut order = Vec::new();
    for sort in qs.resolve_order()? {
        let SortKey::Column(ColumnRef {
            table: Table::Root,
            field,
        }) = sort.key
        else {
            return Err(refuse(
                "it orders by the model's own fields only, not across relations or by expressions"
                    .into(),
            ));
        };
        if field.nullable || sort.nulls != Nulls::Default {
            return Err(refuse(format!(
                "`{}` may be NULL, which a cursor cannot place; order by non-null fields",
                field.name
            )));
        }
        if matches!(field.sql_type, SqlType::Bytea | SqlType::Jsonb) {
            return Err(refuse(format!(
                "`{}` ({}) has no order a cursor can hold",
                field.name,
                field.sql_type.name()
            )));
        }
        order.push((field, sort.desc));
    }
    let pk = M::META.pk_field();
    if !order.iter().any(|(f, _)| f.name == pk.name) {
        order.push((pk, false));
    }
    Ok(order)
}

/// A value as its text in a cursor, read back by [`SqlType::parse`].
fn cursor_text(value: &Value) -> Option<String> {
    Some(match value {
        Value::Bool(Some(b)) => b.to_string(),
        Value::I16(Some(n)) => n.to_string(),
        Value::I32(Some(n)) => n.to_string(),
        Value::I64(Some(n)) => n.to_string(),
        Value::F32(Some(n)) => n.to_string(),
        Value::F64(Some(n)) => n.to_string(),
        Value::Text(Some(s)) => s.clone(),
        Value::Date(Some(d)) => d.format("%Y-%m-%d").to_string(),
        Value::Time(Some(t)) => t.format("%H:%M:%S%.f").to_string(),
        Value::Timestamp(Some(t)) => t.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        Value::TimestampTz(Some(t)) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        Value::Uuid(Some(u)) => u.to_string(),
        Value::Decimal(Some(d)) => d.to_string(),
        Value::Inet(Some(ip)) => ip.to_string(),
        Value::Interval(Some(i)) => i.to_string(),
        _ => return None,
    })
}

/// A cursor: which way from the row, and the row's ordering values; as
/// hex of a small JSON document (opaque to clients, safe in a URL).
fn encode_cursor(
    order: &[(&'static FieldMeta, bool)],
    forward: bool,
    values: Vec<String>,
) -> String {
    let doc = serde_json::json!({
        "o": ordering_names(order),
        "d": if forward { "n" } else { "p" },
        "v": values,
    });
    let bytes = doc.to_string().into_bytes();
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

/// The ordering a cursor was made for (`["-karma", "id"]`): a cursor of
/// another ordering is refused, not read as this one's.
fn ordering_names(order: &[(&'static FieldMeta, bool)]) -> Vec<String> {
    order
        .iter()
        .map(|(f, desc)| format!("{}{}", if *desc { "-" } else { "" }, f.name))
        .collect()
}

/// Reads a cursor back: the direction and one value per ordering term.
fn decode_cursor(cursor: &str, order: &[(&'static FieldMeta, bool)]) -> Result<(bool, Vec<Value>)> {
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(invalid(format!(
            "the cursor is longer than {MAX_CURSOR_LEN} bytes"
        )));
    }
    let bad = || invalid("the cursor is not one this query gave");
    if !cursor.len().is_multiple_of(2) {
        return Err(bad());
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes: Vec<u8> = cursor
        .as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let made_for = doc.get("o").and_then(serde_json::Value::as_array);
    let this: Vec<serde_json::Value> = ordering_names(order).into_iter().map(Into::into).collect();
    if made_for != Some(&this) {
        return Err(invalid("the cursor is for another ordering of the rows"));
    }
    let forward = match doc.get("d").and_then(serde_json::Value::as_str) {
        Some("n") => true,
        Some("p") => false,
        _ => return Err(bad()),
    };
    let texts = doc
        .get("v")
        .and_then(serde_json::Value::as_array)
        .filter(|v| v.len() == order.len())
        .ok_or_else(bad)?;
    let mut values = Vec::with_capacity(texts.len());
    for (text, (field, _)) in texts.iter().zip(order) {
        let text = text.as_str().ok_or_else(bad)?;
        let value = field
            .sql_type
            .parse(text)
            .map_err(|e| invalid(format!("the cursor's `{}`: {e}", field.name)))?;
        if value.has_nul() {
            return Err(bad());
        }
        values.push(value);
    }
    Ok((forward, values))
}

/// The cursor of the page after (or, `!forward`, before) `row`.
fn cursor_of<M: Model>(
    order: &[(&'static FieldMeta, bool)],
    row: &M,
    forward: bool,
) -> Option<String> {
    let values: Option<Vec<String>> = order
        .iter()
        .map(|(field, _)| {
            let index = M::META.fields.iter().position(|f| f.name == field.name)?;
            cursor_text(&row.field_value(index))
        })
        .collect();
    values.map(|v| encode_cursor(order, forward, v))
}

/// The rows after (or, `!forward`, before) the row holding `values` in
/// `order`: `a >= $1 AND (a > $2 OR (a = $3 AND b > $4) OR ..)`, with `<`
/// for a descending term (and the other way round backwards).
fn beyond(order: &[(&'static FieldMeta, bool)], values: &[Value], forward: bool) -> Node {
    let mut branches = Vec::with_capacity(order.len());
    for (i, ((field, desc), value)) in order.iter().zip(values).enumerate() {
        let cmp = if *desc == forward { Cmp::Lt } else { Cmp::Gt };
        let mut terms: Vec<Node> = order[..i]
            .iter()
            .zip(values)
            .map(|((f, _), v)| Node::leaf(f, Op::Exact(v.clone())))
            .collect();
        terms.push(Node::leaf(field, Op::Cmp(cmp, value.clone())));
        branches.push(Node::And(terms));
    }
    match (order.first(), values.first()) {
        // The first term's bound alone too (`a >= $1 AND (..)`): implied
        // by the OR, but PostgreSQL derives no index range from an OR, so
        // without it an index on `a` is scanned from its start.
        (Some((field, desc)), Some(value)) if order.len() > 1 => {
            let cmp = if *desc == forward { Cmp::Lte } else { Cmp::Gte };
            Node::And(vec![
                Node::leaf(field, Op::Cmp(cmp, value.clone())),
                Node::Or(branches),
            ])
        }
        _ => Node::Or(branches),
    }
}

impl<M: Model> QuerySet<M> {
    /// A page of `size` rows by keyset ("cursor") pagination, as Django
    /// REST framework's `CursorPagination`: the first page for `None`,
    /// else the page the cursor (from [`KeysetPage::next`] or
    /// [`KeysetPage::previous`]) points to.
    ///
    /// The query's ordering (by primary key when it has none; the primary
    /// key is added last as the tie-breaker) must be on the model's own
    /// non-null fields. A page starts right after the row the cursor
    /// holds, by value, so ties never repeat or skip a row and rows
    /// inserted or deleted elsewhere do not shift the pages; each page is
    /// one indexed range query however deep it is (no `OFFSET`).
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct Post { #[orm(primary_key)] pub id: i64, pub views: i64 }
    /// # async fn run(cursor: Option<String>) -> orm_core::Result<()> {
    /// let page = Post::all().order_by(["-views"]).keyset_page(20, cursor.as_deref()).await?;
    /// // `?cursor=..` of the next request: page.next, page.previous.
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidPage`] for a cursor this query did not give (bad
    /// text, too long, other fields) or a size below 1;
    /// [`Error::InvalidQuery`] for an ordering a cursor cannot follow;
    /// database errors.
    pub async fn keyset_page(self, size: i64, cursor: Option<&str>) -> Result<KeysetPage<M>> {
        let order = keyset_order(&self)?;
        let (forward, after) = match cursor {
            None => (true, None),
            Some(cursor) => {
                let (forward, values) = decode_cursor(cursor, &order)?;
                (forward, Some(values))
            }
        };
        self.keyset_fetch(size, order, forward, after).await
    }

    /// The query of a keyset page (its rows, one past the page), for
    /// the SQL tests: the cursor's page, or the last page.
    #[cfg(test)]
    pub(crate) fn keyset_query(self, size: i64, cursor: Option<&str>) -> Result<QuerySet<M>> {
        let order = keyset_order(&self)?;
        let (forward, after) = match cursor {
            None => (false, None),
            Some(cursor) => {
                let (forward, values) = decode_cursor(cursor, &order)?;
                (forward, Some(values))
            }
        };
        Ok(self
            .keyset_select(&order, forward, after.as_deref())
            .limit(size + 1))
    }

    /// The rows of a keyset page, in the order they are read.
    fn keyset_select(
        self,
        order: &[(&'static FieldMeta, bool)],
        forward: bool,
        after: Option<&[Value]>,
    ) -> QuerySet<M> {
        let mut qs = self;
        qs.reversed = false;
        qs.order = order
            .iter()
            .map(|&(field, desc)| OrderBy::field(field, desc == forward))
            .collect();
        if let Some(values) = after {
            qs = qs.filter(Q::<M>::from_node(beyond(order, values, forward)));
        }
        qs
    }

    /// The last page of [`keyset_page`](QuerySet::keyset_page)'s pages:
    /// the last `size` rows, read with the ordering reversed (an indexed
    /// scan from the end, no `OFFSET`, no count), in the query's
    /// ordering; its `next` is `None`, its `previous` a cursor.
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct Post { #[orm(primary_key)] pub id: i64, #[orm(index)] pub views: i64 }
    /// # async fn run() -> orm_core::Result<()> {
    /// let qs = Post::all().order_by(["views"]);
    /// let last = qs.clone().keyset_last_page(100).await?;
    /// // `ORDER BY views DESC, id DESC LIMIT 101`, shown in the query's order.
    /// let before = qs.clone().keyset_page(100, last.previous.as_deref()).await?;
    /// // From an OFFSET page (`page=3`) to the keyset page after it:
    /// let page3 = qs.clone().offset(200).limit(100).await?;
    /// let next = qs.keyset_cursor(&page3[99], true)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`keyset_page`](QuerySet::keyset_page).
    pub async fn keyset_last_page(self, size: i64) -> Result<KeysetPage<M>> {
        let order = keyset_order(&self)?;
        self.keyset_fetch(size, order, false, None).await
    }

    /// The cursor of the page right after (`forward`) or right before
    /// `row` in this query's ordering, as [`KeysetPage::next`] and
    /// [`KeysetPage::previous`] give: for switching from an `OFFSET` page
    /// to keyset pages. `None` when a value of `row` cannot be held by a
    /// cursor.
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] for an ordering a cursor cannot follow.
    pub fn keyset_cursor(&self, row: &M, forward: bool) -> Result<Option<String>> {
        let order = keyset_order(self)?;
        Ok(cursor_of(&order, row, forward))
    }

    async fn keyset_fetch(
        self,
        size: i64,
        order: Vec<(&'static FieldMeta, bool)>,
        forward: bool,
        after: Option<Vec<Value>>,
    ) -> Result<KeysetPage<M>> {
        if size < 1 {
            return Err(invalid(format!(
                "the page size must be at least 1, not {size}"
            )));
        }
        let qs = self.keyset_select(&order, forward, after.as_deref());
        let mut items = qs.limit(size + 1).fetch().await?;
        let more = items.len() as i64 > size;
        items.truncate(size as usize);
        if !forward {
            items.reverse();
        }
        let cursor_of = |row: &M, forward: bool| cursor_of(&order, row, forward);
        // Forward: more rows after, and a page before unless this is the
        // first. Backward: the other way round (without a cursor, it is
        // the last page).
        let (has_next, has_previous) = if forward {
            (more, after.is_some())
        } else {
            (after.is_some(), more)
        };
        let next = if has_next {
            items.last().and_then(|row| cursor_of(row, true))
        } else {
            None
        };
        let previous = if has_previous {
            items.first().and_then(|row| cursor_of(row, false))
        } else {
            None
        };
        Ok(KeysetPage {
            items,
            next,
            previous,
        })
    }
}
