//! Which rows a query set of a soft delete model sees ([`DeletedRows`]),
//! as conditions on its filter and its prefetch levels.

use std::borrow::Cow;

use crate::meta::{FieldMeta, ModelMeta};
use crate::relation::{RelationKind, RelationMeta};
use crate::sql::tree::{Cond, Node, Op, RelPath};

use super::scope::field;

/// Which rows of a soft delete model a query set sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum DeletedRows {
    /// Only the rows not marked deleted (the default).
    #[default]
    Hidden,
    /// Every row ([`with_deleted`](crate::QuerySet::with_deleted)).
    Included,
    /// Only the marked rows ([`only_deleted`](crate::QuerySet::only_deleted)).
    Only,
}

/// `deleted_at IS NULL` (live rows) or `IS NOT NULL` (marked ones).
fn mark_leaf(field: &'static FieldMeta, live: bool) -> Node {
    Node::Leaf(Cond {
        path: RelPath::EMPTY,
        field,
        op: Op::IsNull(live),
    })
}

/// `filter` with the condition `rows` adds on a soft delete model
/// (`AND "deleted_at" IS NULL` by default); on any other model unchanged,
/// except that [`DeletedRows::Only`] matches no row (none is marked).
pub(crate) fn scoped<'a>(meta: &ModelMeta, rows: DeletedRows, filter: &'a Node) -> Cow<'a, Node> {
    match (field(meta), rows) {
        (Some(f), DeletedRows::Hidden) => Cow::Owned(filter.clone().and(mark_leaf(f, true))),
        (Some(f), DeletedRows::Only) => Cow::Owned(filter.clone().and(mark_leaf(f, false))),
        (None, DeletedRows::Only) => Cow::Owned(Node::Nothing),
        _ => Cow::Borrowed(filter),
    }
}

/// The filter of a prefetch level given no query of its own: the live
/// rows of a soft delete target across a reverse or many-to-many relation
/// (Django's default manager) or a nullable key (read as `None`, as
/// `select_related`'s `LEFT JOIN`); a non-null key loads its row as it is
/// (Django's base manager).
pub(crate) fn prefetch_filter(rel: &RelationMeta) -> Option<Node> {
    let f = field(rel.target.meta())?;
    let forward = matches!(rel.kind, RelationKind::ForeignKey | RelationKind::OneToOne);
    let nullable = rel.key_field().is_some_and(|k| k.nullable);
    (!forward || nullable).then(|| mark_leaf(f, true))
}
