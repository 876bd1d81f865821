//! The `LEFT JOIN`s of `select_related` ([`Join`], planned by the query
//! chain) and their columns, as a `SELECT` writes them.

use crate::meta::ModelMeta;
use crate::relation::{Hop, RelationMeta};
use crate::sql::SqlWriter;

/// One `LEFT JOIN` of a `select_related` path.
#[derive(Debug, Clone)]
pub(crate) struct Join {
    /// The alias of the joined table (`sr_author__profile`; `sr_<n>`, its
    /// place, for a path too long for a name).
    pub alias: String,
    /// The join this one hangs from; `None` for the queried model.
    pub parent: Option<usize>,
    /// The relation on the parent model, and its index there.
    pub rel: &'static RelationMeta,
    pub rel_index: usize,
    /// The first column of the joined model in the row.
    pub start: usize,
}

/// `, "sr_author"."id", ..` for every joined model.
pub(crate) fn push_join_columns(w: &mut SqlWriter, joins: &[Join]) {
    for join in joins {
        for field in join.rel.target.meta().fields {
            w.push_sql(", ");
            w.push_column(&join.alias, field.column);
        }
    }
}

/// ` LEFT JOIN "users" AS "sr_author" ON "sr_author"."id" = "posts"."author_id" ..`
pub(crate) fn push_joins(w: &mut SqlWriter, root: &ModelMeta, joins: &[Join]) {
    for join in joins {
        let target = join.rel.target.meta();
        let parent_alias = match join.parent {
            Some(p) => joins[p].alias.as_str(),
            None => root.table,
        };
        // Forward: target.pk = parent.key; reverse one-to-one: target.key = parent.pk.
        let (target_col, source_col) = match join.rel.hop() {
            Ok(Hop::Key {
                target_col,
                source_col,
                ..
            }) => (target_col, source_col),
            _ => (target.pk_field().column, "id"),
        };
        w.push_sql(" LEFT JOIN ");
        w.push_ident(target.table);
        w.push_sql(" AS ");
        w.push_ident(&join.alias);
        w.push_sql(" ON ");
        w.push_column(&join.alias, target_col);
        w.push_sql(" = ");
        w.push_column(parent_alias, source_col);
    }
}
