//! The SQL of a prefetch level: `SELECT .. FROM target [JOIN link] WHERE
//! key <keys> [AND filter] [ORDER BY ..]`, its keys bound, a subquery of
//! the query's conditions, or of the level above. The query chain
//! resolves each level first ([`Level`]).

use std::cell::Cell;

use crate::meta::ModelMeta;
use crate::relation::{Hop, HopTenant, RelationKind, RelationMeta};
use crate::sql::condition::{push_node, push_order_by, Scope};
use crate::sql::statements::push_where;
use crate::sql::tree::Node;
use crate::sql::{SqlWriter, Statement};
use crate::types::SqlType;
use crate::value::Value;

/// Where the keys a level matches its rows by come from.
pub(crate) enum Keys<'a> {
    /// The distinct keys of its loaded parents: `key = ANY($n)`. Taken
    /// (left empty) when rendered: a level's statement is rendered once.
    Values(&'a Cell<Vec<Value>>),
    /// The parents are the rows of the queried model this filter selects:
    /// `key IN (SELECT "users"."id" FROM "users" WHERE ..)`.
    Root(&'a Node),
    /// The parents are the rows the level at this index loads: `key IN
    /// (SELECT "posts"."id" FROM <that level's FROM and WHERE>)`.
    Level(usize),
}

/// One prefetch level, resolved: what its statement is written from.
pub(crate) struct Level<'a> {
    /// The model whose objects get the related ones.
    pub owner: &'static ModelMeta,
    pub rel: &'static RelationMeta,
    pub hop: Hop,
    pub keys: Keys<'a>,
    /// Its own filter, simplified and checked; `None`: none.
    pub filter: Option<Node>,
    /// Its `ORDER BY`; `None` when its rows are sorted on the client.
    pub order: Option<Vec<crate::sql::clauses::Sort>>,
    /// Its parents are every row of its owner model (see `all_rows` in
    /// the query chain), so its key only has to be set.
    pub all_rows: bool,
    /// Through a tenant link table from a tenant model: the current
    /// tenant, which the link's rows are matched by too (its key starts
    /// with it).
    pub link_tenant: Option<Value>,
}

/// The field of `owner` a level matches its rows by: a forward relation's
/// key column, else the primary key.
pub(crate) fn parent_field(owner: &ModelMeta, rel: &RelationMeta) -> usize {
    match (rel.kind, rel.field) {
        (RelationKind::ForeignKey | RelationKind::OneToOne, Some(f)) => f,
        _ => owner.pk,
    }
}

/// The alias of a many-to-many level's link table.
pub(crate) const LINK: &str = "prefetch_link";

/// `SELECT <target columns>[, link key] FROM target [JOIN link] WHERE key
/// <keys> [AND filter] ORDER BY ..` for `levels[i]`, and the column (and its
/// type) that says which parent a row belongs to.
pub(crate) fn level_select(levels: &[Level<'_>], i: usize) -> (Statement, usize, SqlType) {
    let level = &levels[i];
    let target_meta = level.rel.target.meta();
    let mut w = SqlWriter::new();
    w.push_sql("SELECT ");
    w.push_list(target_meta.fields, ", ", |w, f| {
        w.push_column(target_meta.table, f.column)
    });
    if let Hop::Through { source_col, .. } = level.hop {
        w.push_sql(", ");
        w.push_column(LINK, source_col);
    }
    push_from_where(&mut w, levels, i);
    if let Some(order) = &level.order {
        push_order_by(&mut w, crate::sql::joins::Tables::root(target_meta), order);
    }
    // The column that says which parent a row belongs to.
    let key = match level.hop {
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
    (w.finish(), key.0, key.1)
}

/// ` FROM target [JOIN link] WHERE key <keys> [AND (filter)]` of
/// `levels[i]`: the rows it loads, for its own statement and for the
/// subquery of a level below it.
fn push_from_where(w: &mut SqlWriter, levels: &[Level<'_>], i: usize) {
    let level = &levels[i];
    let target_meta = level.rel.target.meta();
    w.push_sql(" FROM ");
    w.push_ident(target_meta.table);
    let key: (&str, &str) = match level.hop {
        Hop::Key { target_col, .. } => (target_meta.table, target_col),
        Hop::Through {
            through,
            source_col,
            target_col,
            tenant,
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
            if let Some(HopTenant {
                link,
                target: Some(target_tenant),
                ..
            }) = tenant
            {
                w.push_sql(" AND ");
                w.push_column(LINK, link);
                w.push_sql(" = ");
                w.push_column(target_meta.table, target_tenant);
            }
            (LINK, source_col)
        }
    };
    w.push_sql(" WHERE ");
    if let (
        Hop::Through {
            tenant: Some(t), ..
        },
        Some(value),
    ) = (level.hop, &level.link_tenant)
    {
        w.push_column(LINK, t.link);
        w.push_sql(" = ");
        w.push_bind(value.clone());
        w.push_sql(" AND ");
    }
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
        ) && level.all_rows =>
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
            push_from_where(w, levels, *above);
            w.push_sql(")");
        }
    }
    match &level.filter {
        None | Some(Node::All) => {}
        Some(Node::Nothing) => w.push_sql(" AND FALSE"),
        Some(filter) => {
            w.push_sql(" AND (");
            push_node(w, Scope::root(target_meta), filter, false);
            w.push_sql(")");
        }
    }
}
