//! The change list's pages: page numbers (`OFFSET`) near the start of a
//! list, and keyset links (`cursor=`) for Previous / Next / Last that stay
//! one indexed range query however deep the page is.
//!
//! A keyset link carries the sort key of the page's last (Next) or first
//! (Previous) row, made and read back by
//! [`QuerySet::keyset_page`](orm_core::QuerySet::keyset_page): each value
//! is parsed by its field's SQL type and bound as a parameter, and a
//! cursor made for another ordering is refused. `cursor=last` is the last
//! page, read with the ordering reversed (no `COUNT`, no `OFFSET`): the
//! last `list_per_page` rows, not the remainder the last page number
//! shows.
//! Orderings a cursor cannot follow (a nullable column) keep page numbers
//! only. A cursor that cannot be read is [`Error::InvalidPage`], which
//! the pages answer with a 400 naming it.

use std::fmt::Write;

use orm_core::prelude::*;
use orm_core::query::Filters;
use orm_core::{OrderBy, QuerySet};

use crate::html::E;
use crate::ops::{ListPage, Ops};

/// The value of `cursor=` for the last page.
pub(crate) const LAST: &str = "last";

/// Page numbers up to this one are offered as `OFFSET` links when the
/// count is the planner's estimate; deeper pages are reached by keyset.
const NEAR_PAGES: i64 = 5;

/// A page of the change list of `M` for a query string: by `cursor`
/// (keyset) when given, else by page number (`OFFSET`).
pub(crate) async fn list<M: Model + Default + Clone>(
    ops: &Ops<M>,
    query: &str,
    page: Option<&str>,
    cursor: Option<&str>,
) -> Result<ListPage> {
    let Filters { q, order } = ops.filters.parse(query)?;
    let mut order = if order.is_empty() { ops.order() } else { order };
    // A unique last term: pages neither repeat nor skip rows.
    order.push(OrderBy::from(M::META.pk_field().name.to_owned()));
    let qs: QuerySet<M> = M::filter(q).order_by(order);
    let per_page = ops.opts.list_per_page;
    let mut pages = qs
        .clone()
        .paginate(per_page)
        .estimate_above(ops.opts.estimate_count_above);
    // Whether the ordering is one a cursor can follow.
    let keyset = qs.keyset_cursor(&M::default(), true).is_ok();
    let (rows, number, next, previous, count, num_pages) = match cursor {
        Some(cursor) if keyset => {
            let found = if cursor == LAST {
                qs.keyset_last_page(per_page).await
            } else {
                qs.keyset_page(per_page, Some(cursor)).await
            }?;
            let count = pages.count().await?;
            let num_pages = pages.num_pages().await?;
            // A keyset page is one of the numbered pages only when it
            // starts the list with a full page (or is the whole list): the
            // last page by keyset is the last `per_page` rows, not the
            // remainder that page numbers end with.
            let full = found.items.len() as i64 == per_page;
            let number = (found.previous.is_none() && (full || found.next.is_none())).then_some(1);
            (
                found.items,
                number,
                found.next,
                found.previous,
                count,
                num_pages,
            )
        }
        Some(cursor) if cursor != LAST => {
            return Err(Error::InvalidPage(
                "this ordering has a nullable field, which a cursor cannot follow; use page numbers"
                    .to_owned(),
            ));
        }
        _ => {
            let found = if cursor == Some(LAST) {
                let last = pages.num_pages().await?.max(1);
                pages.page(last).await?
            } else {
                pages.get_page(page).await?
            };
            let next = match found.object_list.last() {
                Some(row) if keyset && found.has_next() => qs.keyset_cursor(row, true)?,
                _ => None,
            };
            let previous = match found.object_list.first() {
                Some(row) if keyset && found.has_previous() => qs.keyset_cursor(row, false)?,
                _ => None,
            };
            (
                found.object_list,
                Some(found.number),
                next,
                previous,
                found.count,
                found.num_pages,
            )
        }
    };
    Ok(ListPage {
        rows: rows.iter().map(|o| ops.row(o)).collect(),
        number,
        num_pages,
        count,
        estimated: count > ops.opts.estimate_count_above,
        next,
        previous,
        keyset,
    })
}

/// Makes a page link's query string from the parameters to set (`None`
/// removes one).
pub(crate) type Link<'a> = dyn Fn(&[(&str, Option<&str>)]) -> String + 'a;

/// The page links under the change list: page numbers near the current
/// page (all of them for an exact count; only the first
/// [`NEAR_PAGES`] for an estimated one), and the keyset links First,
/// Previous, Next, Last. `link` makes a query string from the parameters
/// to set.
pub(crate) fn nav(body: &mut String, page: &ListPage, link: &Link<'_>) {
    let number = page.number;
    let num_pages = page.num_pages;
    if num_pages <= 1 && page.next.is_none() && page.previous.is_none() {
        return;
    }
    body.push_str("<nav class=\"pages\" aria-label=\"Pages\">");
    let arrow = |body: &mut String, text: &str, rel: &str, href: Option<String>| match href {
        Some(href) => {
            let _ = write!(
                body,
                "<a class=\"step\" rel=\"{rel}\" href=\"{}\">{text}</a>",
                E(&href)
            );
        }
        None => {
            let _ = write!(body, "<span class=\"step disabled\">{text}</span>");
        }
    };
    if page.keyset {
        arrow(
            body,
            "« First",
            "first",
            page.previous
                .is_some()
                .then(|| link(&[("cursor", None), ("page", None)])),
        );
        arrow(
            body,
            "‹ Previous",
            "prev",
            page.previous
                .as_deref()
                .map(|c| link(&[("cursor", Some(c)), ("page", None)])),
        );
    }
    // Page numbers: exact counts show the first two, three around the
    // current page and the last two; estimated ones the first few only
    // (an OFFSET deep into millions of rows is what makes a list slow).
    let limit = if page.estimated && page.keyset {
        num_pages.min(NEAR_PAGES)
    } else {
        num_pages
    };
    let mut last_shown = 0;
    for n in 1..=limit {
        let near = match number {
            Some(current) => n <= 2 || n > num_pages - 2 || (n - current).abs() <= 2,
            None => n <= 2 || n > num_pages - 2,
        };
        if !near && limit == num_pages {
            continue;
        }
        if n > last_shown + 1 {
            body.push_str("<span class=\"gap\">…</span>");
        }
        last_shown = n;
        if Some(n) == number {
            let _ = write!(
                body,
                "<span class=\"current\" aria-current=\"page\">{n}</span>"
            );
        } else {
            let href = link(&[("cursor", None), ("page", Some(&n.to_string()))]);
            let _ = write!(body, "<a href=\"{}\">{n}</a>", E(&href));
        }
    }
    if limit < num_pages {
        body.push_str("<span class=\"gap\">…</span>");
    }
    if page.keyset {
        arrow(
            body,
            "Next ›",
            "next",
            page.next
                .as_deref()
                .map(|c| link(&[("cursor", Some(c)), ("page", None)])),
        );
        arrow(
            body,
            "Last »",
            "last",
            page.next
                .is_some()
                .then(|| link(&[("cursor", Some(LAST)), ("page", None)])),
        );
    }
    body.push_str("</nav>");
}
