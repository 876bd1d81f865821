//! A prefetch level's statement: its levels resolved (filters checked,
//! orderings resolved) and written by the SQL layer (`sql/prefetch.rs`).

use std::cell::Cell;

use crate::error::Result;
use crate::meta::ModelMeta;
use crate::query::q::check_nul;
use crate::query::q::Node;
use crate::relation::{Hop, HopTenant, RelationKind, RelationMeta};
use crate::sql::clauses::Sort;
pub(super) use crate::sql::prefetch::parent_field;
use crate::sql::prefetch::{level_select, Keys as SqlKeys, Level};
use crate::sql::Statement;
use crate::types::SqlType;
use crate::value::Value;

use super::path::{sorted_on_client, PrefetchSpec};

/// Where the keys a level matches its rows by come from.
pub(super) enum Keys<'a> {
    /// The distinct keys of its loaded parents: `key = ANY($n)`. Taken
    /// (left empty) when rendered: a level's statement is rendered once.
    Values(Cell<Vec<Value>>),
    /// The parents are the rows of the queried model this filter selects:
    /// `key IN (SELECT "users"."id" FROM "users" WHERE ..)`.
    Root(&'a Node),
    /// The parents are the rows the level at this index loads: `key IN
    /// (SELECT "posts"."id" FROM <that level's FROM and WHERE>)`.
    Level(usize),
}

/// What one prefetch level's statement is rendered from.
pub(super) struct LevelSql<'a> {
    /// The model whose objects get the related ones.
    pub(super) owner: &'static ModelMeta,
    pub(super) rel: &'static RelationMeta,
    pub(super) spec: &'a PrefetchSpec,
    pub(super) keys: Keys<'a>,
}

/// Whether the parents of `levels[i]` are every row of its owner model:
/// the query has no condition and each level above loads every row of its
/// target (a reverse or many-to-many level without a filter of its own,
/// under such parents).
pub(super) fn all_rows(levels: &[LevelSql<'_>], i: usize) -> bool {
    match &levels[i].keys {
        Keys::Values(_) => false,
        Keys::Root(filter) => matches!(filter, Node::All),
        Keys::Level(above) => {
            let level = &levels[*above];
            let unfiltered = level
                .spec
                .filter
                .as_ref()
                .is_none_or(|f| matches!(f.simplify(), Node::All));
            unfiltered
                && !matches!(
                    level.rel.kind,
                    RelationKind::ForeignKey | RelationKind::OneToOne
                )
                && all_rows(levels, *above)
        }
    }
}

/// `levels`, resolved for the SQL layer: each level's join, its own
/// filter simplified and checked, its ordering (none when its rows are
/// sorted on the client), and whether its parents are every row.
fn resolve<'a>(levels: &'a [LevelSql<'a>]) -> Result<Vec<Level<'a>>> {
    levels
        .iter()
        .enumerate()
        .map(|(i, level)| {
            let target_meta = level.rel.target.meta();
            let filter = match &level.spec.filter {
                Some(filter) => {
                    let filter = filter.simplify();
                    filter.check_relations()?;
                    check_nul(target_meta, &filter)?;
                    Some(filter)
                }
                None => crate::soft_delete::filter::prefetch_filter(level.rel),
            };
            let filter = match crate::tenant::condition(target_meta)? {
                Some(cond) => Some(filter.map_or(cond.clone(), |f| f.and(cond))),
                None => filter,
            };
            let order = if sorted_on_client(level.rel, level.spec) {
                None
            } else if level.spec.order.is_empty() {
                Some(vec![Sort::new(target_meta.pk_field(), false)])
            } else {
                Some(
                    level
                        .spec
                        .order
                        .iter()
                        .map(|o| o.resolve(target_meta))
                        .collect::<Result<_>>()?,
                )
            };
            let hop = level.rel.hop()?;
            // A tenant link's rows of the current tenant (the owner's).
            let link_tenant = match hop {
                Hop::Through {
                    tenant:
                        Some(HopTenant {
                            source: Some(_), ..
                        }),
                    ..
                } => crate::tenant::current_value(level.owner)?,
                _ => None,
            };
            Ok(Level {
                owner: level.owner,
                rel: level.rel,
                hop,
                link_tenant,
                keys: match &level.keys {
                    Keys::Values(values) => SqlKeys::Values(values),
                    Keys::Root(filter) => SqlKeys::Root(filter),
                    Keys::Level(above) => SqlKeys::Level(*above),
                },
                filter,
                order,
                all_rows: all_rows(levels, i),
            })
        })
        .collect()
}

/// The statement of `levels[i]` ([`level_select`]), and the column (and
/// its type) that says which parent a row belongs to.
pub(super) fn render(levels: &[LevelSql<'_>], i: usize) -> Result<(Statement, usize, SqlType)> {
    Ok(level_select(&resolve(levels)?, i))
}
