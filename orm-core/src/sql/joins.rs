//! The joins of `select_related` ([`Join`], planned by the query
//! chain) and their columns, as a `SELECT` writes them.

use crate::meta::{FieldMeta, ModelMeta};
use crate::relation::{Hop, HopTenant, RelationMeta};
use crate::sql::SqlWriter;

/// One join of a `select_related` path.
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
    /// Whether the join can find no row: a nullable key, a reverse
    /// one-to-one, or a join hanging from such a one. A `LEFT JOIN`;
    /// otherwise an `INNER JOIN`, as Django's (a non-null key always
    /// has its row, and only an inner join's rows can be locked).
    pub nullable: bool,
    /// A joined tenant model's tenant column and the current tenant: `AND
    /// "alias"."tenant" = $n` in its `ON` (set by `crate::tenant`).
    pub tenant: Option<(&'static str, crate::value::Value)>,
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

/// ` INNER JOIN "users" AS "sr_author" ON "sr_author"."id" = "posts"."author_id" ..`
/// (` LEFT JOIN` where the join can find no row).
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
        let kind = if join.nullable {
            " LEFT JOIN "
        } else {
            " INNER JOIN "
        };
        push_join(
            w,
            kind,
            target.table,
            &join.alias,
            target_col,
            parent_alias,
            source_col,
        );
        if join.nullable {
            crate::soft_delete::scope::push_live(w, target, &join.alias);
        }
        if let Some((column, value)) = &join.tenant {
            w.push_sql(" AND ");
            w.push_column(&join.alias, column);
            w.push_sql(" = ");
            w.push_bind(value.clone());
        }
    }
}

/// `<kind> "table" AS "alias" ON "alias"."target_col" = "parent"."source_col"`.
fn push_join(
    w: &mut SqlWriter,
    kind: &'static str,
    table: &str,
    alias: &str,
    target_col: &str,
    parent: &str,
    source_col: &str,
) {
    w.push_sql(kind);
    w.push_ident(table);
    w.push_sql(" AS ");
    w.push_ident(alias);
    w.push_sql(" ON ");
    w.push_column(alias, target_col);
    w.push_sql(" = ");
    w.push_column(parent, source_col);
}

/// A table of a `SELECT`: the queried model's, a `select_related` join's
/// (by index), or a join of an ordering or `values(..)` path (by index in
/// the [`PathJoin`]s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Root,
    Selected(usize),
    Path(usize),
}

/// A column of one of a `SELECT`'s tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ColumnRef {
    pub table: Table,
    pub field: &'static FieldMeta,
}

impl ColumnRef {
    /// A column of the queried model's own table.
    pub(crate) fn root(field: &'static FieldMeta) -> ColumnRef {
        ColumnRef {
            table: Table::Root,
            field,
        }
    }
}

/// One `LEFT JOIN` of a path that `order_by` or `values(..)` names
/// (`author__name`, `tags__name`), so a row without a related row is kept
/// (its columns NULL), as Django's joins on nullable paths.
#[derive(Debug, Clone)]
pub(crate) struct PathJoin {
    /// The joined table's alias: `r_` and the path (`r_author__profile`),
    /// or `r_<n>`, its place, for a path too long for a name.
    pub alias: String,
    /// The table it hangs from.
    pub parent: Table,
    /// The relation on the parent model, and its index there.
    pub rel_index: usize,
    pub hop: Hop,
    /// The primary key column of the parent model (a many-to-many's link
    /// rows point at it).
    pub parent_pk: &'static str,
    /// The alias of a many-to-many's link table (`<alias>_link`): empty
    /// for a key hop.
    pub link: String,
}

/// The tables of one `SELECT`, to name a [`ColumnRef`]'s table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tables<'a> {
    pub meta: &'static ModelMeta,
    pub selected: &'a [Join],
    pub paths: &'a [PathJoin],
}

impl<'a> Tables<'a> {
    /// The queried model's table only.
    pub(crate) fn root(meta: &'static ModelMeta) -> Tables<'a> {
        Tables {
            meta,
            selected: &[],
            paths: &[],
        }
    }

    /// The alias (or name) `table` is written with.
    pub(crate) fn alias(&self, table: Table) -> &'a str {
        let joined = match table {
            Table::Root => None,
            Table::Selected(i) => self.selected.get(i).map(|j| j.alias.as_str()),
            Table::Path(i) => self.paths.get(i).map(|j| j.alias.as_str()),
        };
        // Planned with these joins: an index is always among them.
        joined.unwrap_or(self.meta.table)
    }

    /// `"alias"."column"`.
    pub(crate) fn push_column(&self, w: &mut SqlWriter, column: ColumnRef) {
        w.push_column(self.alias(column.table), column.field.column);
    }
}

/// ` LEFT JOIN "users" AS "r_author" ON "r_author"."id" = "posts"."author_id"`
/// for each path join; a many-to-many takes two (its link table, then its
/// target).
pub(crate) fn push_path_joins(w: &mut SqlWriter, tables: Tables<'_>) {
    for join in tables.paths {
        let parent = tables.alias(join.parent);
        match join.hop {
            Hop::Key {
                target,
                target_col,
                source_col,
            } => {
                push_join(
                    w,
                    " LEFT JOIN ",
                    target.table,
                    &join.alias,
                    target_col,
                    parent,
                    source_col,
                );
                crate::soft_delete::scope::push_live(w, target, &join.alias);
            }
            Hop::Through {
                target,
                through,
                source_col,
                target_col,
                tenant,
            } => {
                w.push_sql(" LEFT JOIN ");
                w.push_ident(through);
                w.push_sql(" AS ");
                w.push_ident(&join.link);
                w.push_sql(" ON ");
                w.push_column(&join.link, source_col);
                w.push_sql(" = ");
                w.push_column(parent, join.parent_pk);
                push_link_source_tenant(w, tenant, &join.link, parent);
                w.push_sql(" LEFT");
                push_join_target(w, target, (&join.alias, &join.link, target_col), tenant);
                crate::soft_delete::scope::push_live(w, target, &join.alias);
            }
        }
    }
}

/// ` JOIN "target" AS "alias" ON "alias"."pk" = "link"."target_col"`: the
/// rows a many-to-many link table points at (`AND "alias"."tenant" =
/// "link"."tenant"` when both are a tenant's).
pub(crate) fn push_join_target(
    w: &mut SqlWriter,
    target: &ModelMeta,
    (alias, link, target_col): (&str, &str, &str),
    tenant: Option<HopTenant>,
) {
    w.push_sql(" JOIN ");
    w.push_ident(target.table);
    w.push_sql(" AS ");
    w.push_ident(alias);
    w.push_sql(" ON ");
    w.push_column(alias, target.pk_field().column);
    w.push_sql(" = ");
    w.push_column(link, target_col);
    if let Some(HopTenant {
        link: link_col,
        target: Some(target_tenant),
        ..
    }) = tenant
    {
        w.push_sql(" AND ");
        w.push_column(alias, target_tenant);
        w.push_sql(" = ");
        w.push_column(link, link_col);
    }
}

/// ` AND "link"."tenant" = "source"."tenant"`: a hop through a tenant
/// link table from a tenant model carries the tenant to the link (whose
/// key starts with it).
pub(crate) fn push_link_source_tenant(
    w: &mut SqlWriter,
    tenant: Option<HopTenant>,
    link: &str,
    source: &str,
) {
    if let Some(HopTenant {
        link: link_col,
        source: Some(source_col),
        ..
    }) = tenant
    {
        w.push_sql(" AND ");
        w.push_column(link, link_col);
        w.push_sql(" = ");
        w.push_column(source, source_col);
    }
}
