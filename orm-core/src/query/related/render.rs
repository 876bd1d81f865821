//! The SQL of a prefetch level: `SELECT .. FROM target [JOIN link] WHERE
//! key <keys> [AND filter]`, its keys bound, a subquery of the query's
//! conditions, or of the level above.

use std::cell::Cell;

use crate::error::Result;
use crate::meta::ModelMeta;
#[cfg(doc)]
use crate::query::lookup::MAX_NAME_LEN;
use crate::query::q::check_nul;
use crate::query::q::Node;
use crate::relation::{Hop, RelationKind, RelationMeta};
use crate::sql::condition::{push_node, Scope};
use crate::sql::statements::push_where;
use crate::sql::{SqlWriter, Statement};
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

/// The field of `owner` a level matches its rows by: a forward relation's
/// key column, else the primary key.
pub(super) fn parent_field(owner: &ModelMeta, rel: &RelationMeta) -> usize {
    match (rel.kind, rel.field) {
        (RelationKind::ForeignKey | RelationKind::OneToOne, Some(f)) => f,
        _ => owner.pk,
    }
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

/// The alias of a many-to-many level's link table.
pub(super) const LINK: &str = "prefetch_link";

/// `SELECT <target columns>[, link key] FROM target [JOIN link] WHERE key
/// <keys> [AND filter] ORDER BY ..` for `levels[i]`, and the column (and its
/// type) that says which parent a row belongs to.
pub(super) fn render(levels: &[LevelSql<'_>], i: usize) -> Result<(Statement, usize, SqlType)> {
    let level = &levels[i];
    let target_meta = level.rel.target.meta();
    let hop = level.rel.hop()?;
    let mut w = SqlWriter::new();
    w.push_sql("SELECT ");
    w.push_list(target_meta.fields, ", ", |w, f| {
        w.push_column(target_meta.table, f.column)
    });
    if let Hop::Through { source_col, .. } = hop {
        w.push_sql(", ");
        w.push_column(LINK, source_col);
    }
    push_from_where(&mut w, levels, i)?;
    if !sorted_on_client(level.rel, level.spec) {
        let order: Vec<(&'static crate::meta::FieldMeta, bool)> = if level.spec.order.is_empty() {
            vec![(target_meta.pk_field(), false)]
        } else {
            level
                .spec
                .order
                .iter()
                .map(|o| o.resolve(target_meta))
                .collect::<Result<_>>()?
        };
        w.push_sql(" ORDER BY ");
        w.push_list(order.iter(), ", ", |w, (f, desc)| {
            w.push_column(target_meta.table, f.column);
            w.push_sql(if *desc { " DESC" } else { " ASC" });
        });
    }
    // The column that says which parent a row belongs to.
    let key = match hop {
        Hop::Through { .. } => (target_meta.fields.len(), level.owner.pk_field().sql_type),
        Hop::Key { target_col, .. } => {
            let i = target_meta
                .fields
                .iter()
                .position(|f| f.column == target_col)
                .unwrap_or(target_meta.pk);
            (i, target_meta.fields[i].sql_type)
        }
    };
    Ok((w.finish(), key.0, key.1))
}

/// ` FROM target [JOIN link] WHERE key <keys> [AND (filter)]` of
/// `levels[i]`: the rows it loads, for its own statement and for the
/// subquery of a level below it.
pub(super) fn push_from_where(w: &mut SqlWriter, levels: &[LevelSql<'_>], i: usize) -> Result<()> {
    let level = &levels[i];
    let target_meta = level.rel.target.meta();
    let hop = level.rel.hop()?;
    w.push_sql(" FROM ");
    w.push_ident(target_meta.table);
    let key: (&str, &str) = match hop {
        Hop::Key { target_col, .. } => (target_meta.table, target_col),
        Hop::Through {
            through,
            source_col,
            target_col,
            ..
        } => {
            w.push_sql(" JOIN ");
            w.push_ident(through);
            w.push_sql(" AS ");
            w.push_ident(LINK);
            w.push_sql(" ON ");
            w.push_column(LINK, target_col);
            w.push_sql(" = ");
            w.push_column(target_meta.table, target_meta.pk_field().column);
            (LINK, source_col)
        }
    };
    w.push_sql(" WHERE ");
    w.push_column(key.0, key.1);
    let parent = &level.owner.fields[parent_field(level.owner, level.rel)];
    match &level.keys {
        Keys::Values(values) => {
            w.push_sql(" = ANY(");
            w.push_bind(Value::Array(values.take()));
            w.push_sql(")");
        }
        // Every row of the owner is a parent, and a row is matched by its
        // parent's primary key: the rows whose key is set are the ones
        // (one that names no row is dropped when sorted to the parents).
        // A subquery would cost a probe or a hash of the whole owner table.
        _ if !matches!(
            level.rel.kind,
            RelationKind::ForeignKey | RelationKind::OneToOne
        ) && all_rows(levels, i) =>
        {
            w.push_sql(" IS NOT NULL");
        }
        Keys::Root(filter) => {
            w.push_sql(" IN (SELECT ");
            w.push_column(level.owner.table, parent.column);
            w.push_sql(" FROM ");
            w.push_ident(level.owner.table);
            push_where(w, level.owner, filter);
            w.push_sql(")");
        }
        Keys::Level(above) => {
            w.push_sql(" IN (SELECT ");
            w.push_column(level.owner.table, parent.column);
            push_from_where(w, levels, *above)?;
            w.push_sql(")");
        }
    }
    if let Some(filter) = &level.spec.filter {
        let filter = filter.simplify();
        filter.check_relations()?;
        check_nul(target_meta, &filter)?;
        match filter {
            Node::All => {}
            Node::Nothing => w.push_sql(" AND FALSE"),
            filter => {
                w.push_sql(" AND (");
                push_node(w, Scope::root(target_meta), &filter, false);
                w.push_sql(")");
            }
        }
    }
    Ok(())
}
