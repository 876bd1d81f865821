//! Relation metadata: [`RelationMeta`] (what a relation field declares:
//! its kind, target, columns, `related_name`, link table, `on_delete`) and
//! [`Hop`], the join it takes.

use std::fmt;

use crate::error::{Error, Result};
use crate::meta::{FieldMeta, ModelMeta};

use super::ops::DynModel;

/// What the database does to a row whose foreign key points at a deleted row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnDelete {
    /// Delete this row too (`ON DELETE CASCADE`, the default).
    Cascade,
    /// Set the key to NULL (`ON DELETE SET NULL`; the field must be an `Option`).
    SetNull,
    /// Refuse the delete (`ON DELETE RESTRICT`).
    Restrict,
    /// Refuse the delete, as Django's `PROTECT` (`ON DELETE RESTRICT` in the database).
    Protect,
    /// Set the key to the column's default (`ON DELETE SET DEFAULT`).
    SetDefault,
    /// Refuse the delete if rows still refer to it, checked at the end of the
    /// statement (`ON DELETE NO ACTION`; the constraint is not deferrable).
    DoNothing,
}

impl OnDelete {
    /// The SQL action.
    pub const fn sql(&self) -> &'static str {
        match self {
            OnDelete::Cascade => "CASCADE",
            OnDelete::SetNull => "SET NULL",
            OnDelete::Restrict | OnDelete::Protect => "RESTRICT",
            OnDelete::SetDefault => "SET DEFAULT",
            OnDelete::DoNothing => "NO ACTION",
        }
    }
}

/// The kind of a relation field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// A [`ForeignKey`](super::ForeignKey): this row holds the key of one target row.
    ForeignKey,
    /// A [`OneToOne`](super::OneToOne): a unique foreign key.
    OneToOne,
    /// A [`ManyToMany`](super::ManyToMany): rows of a through table link the two sides.
    ManyToMany,
    /// A [`Reverse`](super::Reverse): the other side of a foreign key or many-to-many
    /// declared on the target model.
    Reverse,
}

/// One relation of a model (emitted by the derive).
pub struct RelationMeta {
    /// The field's name (`author`, `tags`, `posts`).
    pub name: &'static str,
    /// Its kind.
    pub kind: RelationKind,
    /// The model that declares it.
    pub owner: &'static dyn DynModel,
    /// The model it points at.
    pub target: &'static dyn DynModel,
    /// For foreign keys: the index of the key column in the owner's fields.
    pub field: Option<usize>,
    /// `related_name = ".."`: the name of the reverse side on the target.
    pub related_name: Option<&'static str>,
    /// `on_delete = ".."` for foreign keys.
    pub on_delete: OnDelete,
    /// `through = ".."` for many-to-many: the link table's name.
    pub through: Option<&'static str>,
    /// For [`RelationKind::Reverse`]: declared as [`ReverseOne`](super::ReverseOne) (at most one row).
    pub one: bool,
}

impl fmt::Debug for RelationMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{} ({:?} to {})",
            self.owner.meta().name,
            self.name,
            self.kind,
            self.target.meta().name
        )
    }
}

/// The same relation: the same name on the same model. Compared by name,
/// never by address alone: metadata copied into two crates has two
/// addresses. (One address is still a shortcut: it is one relation.)
impl PartialEq for RelationMeta {
    fn eq(&self, other: &Self) -> bool {
        if std::ptr::eq(self, other) {
            return true;
        }
        let (mine, theirs) = (self.owner.meta(), other.owner.meta());
        self.name == other.name && mine.table == theirs.table && mine.name == theirs.name
    }
}

impl Eq for RelationMeta {}

/// A resolved hop from one table to another, used to render the
/// correlated subquery of a lookup across a relation.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Hop {
    /// `target.target_col = source.source_col` (forward or reverse key).
    Key {
        target: &'static ModelMeta,
        target_col: &'static str,
        source_col: &'static str,
    },
    /// `target.pk = through.target_col AND through.source_col = source.pk`
    /// (and, between tenant models, the tenant columns equal: see
    /// [`HopTenant`]).
    Through {
        target: &'static ModelMeta,
        through: &'static str,
        source_col: &'static str,
        target_col: &'static str,
        tenant: Option<HopTenant>,
    },
}

/// The tenant columns a hop through a tenant link table equates: the
/// link's `link` with the source's `source` and the target's `target`
/// (each side that is a tenant model). Every join and subquery across the
/// link then carries the tenant, as Citus co-locates it, and the link's
/// key (which starts with the tenant) serves the lookup.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HopTenant {
    pub(crate) link: &'static str,
    pub(crate) source: Option<&'static str>,
    pub(crate) target: Option<&'static str>,
}

/// The tenant column of a many-to-many's link table, when the model that
/// declares the relation is a tenant model: named and typed as that
/// model's tenant field, first in the link's primary key and in both
/// foreign keys (to a target that is a tenant model too).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkTenant {
    /// The owner's tenant field: the link column's name and type.
    pub(crate) field: &'static FieldMeta,
    /// The target's tenant column, when the target is a tenant model.
    pub(crate) target: Option<&'static str>,
}

impl Hop {
    pub(crate) fn target(&self) -> &'static ModelMeta {
        match self {
            Hop::Key { target, .. } | Hop::Through { target, .. } => target,
        }
    }
}

impl RelationMeta {
    /// The key column of a foreign key.
    pub(crate) fn key_field(&self) -> Option<&'static FieldMeta> {
        self.field.map(|i| &self.owner.meta().fields[i])
    }

    /// For a [`RelationKind::Reverse`]: the forward relation on the target
    /// it mirrors: the one whose `related_name` is this field's name, else
    /// the only foreign key or many-to-many of the target that points back.
    pub fn mirror(&self) -> Result<&'static RelationMeta> {
        let owner = self.owner.meta();
        let target = self.target.meta();
        let candidates: Vec<&'static RelationMeta> = target
            .relations
            .iter()
            .filter(|r| r.kind != RelationKind::Reverse && r.target.meta().table == owner.table)
            .collect();
        let named: Vec<_> = candidates
            .iter()
            .copied()
            .filter(|r| r.related_name == Some(self.name))
            .collect();
        match (named.as_slice(), candidates.as_slice()) {
            ([one], _) => Ok(one),
            ([], [one]) => Ok(one),
            _ => Err(Error::from(crate::error::QueryError {
                model: owner.name,
                reason: format!(
                    "`{}.{}: Reverse<{}>` matches {} relations of {} pointing back; \
                     set `related_name = \"{}\"` on the right one",
                    owner.name,
                    self.name,
                    target.name,
                    if named.is_empty() {
                        candidates.len()
                    } else {
                        named.len()
                    },
                    target.name,
                    self.name
                ),
            })),
        }
    }

    /// The through table of a many-to-many and its two key columns
    /// `(table, owner_col, target_col)`.
    pub(crate) fn through_table(&self) -> (String, String, String) {
        let owner = self.owner.meta();
        let target = self.target.meta();
        let table = self
            .through
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}_{}", owner.table, self.name));
        // The derive's rule for default table names (`UserProfile` ->
        // `user_profile`).
        let owner_name = orm_names::snake_case(owner.name);
        let target_name = orm_names::snake_case(target.name);
        if owner.table == target.table {
            (
                table,
                format!("from_{owner_name}_id"),
                format!("to_{target_name}_id"),
            )
        } else {
            (
                table,
                format!("{owner_name}_id"),
                format!("{target_name}_id"),
            )
        }
    }

    /// The tenant column of this many-to-many's link table: `None` unless
    /// the owner is a tenant model (a many-to-many from a model without a
    /// tenant field to a tenant model is refused by
    /// [`check_relations`](crate::tenant::check_relations)).
    pub(crate) fn link_tenant(&self) -> Option<LinkTenant> {
        if self.kind != RelationKind::ManyToMany {
            return None;
        }
        let owner = self.owner.meta();
        let target = self.target.meta();
        let tenant = owner.tenant?;
        Some(LinkTenant {
            field: &owner.fields[tenant.field],
            target: target.tenant.map(|t| target.fields[t.field].column),
        })
    }

    /// The hop from the owner's table to the target's.
    pub(crate) fn hop(&self) -> Result<Hop> {
        let owner = self.owner.meta();
        let target = self.target.meta();
        Ok(match self.kind {
            RelationKind::ForeignKey | RelationKind::OneToOne => Hop::Key {
                target,
                target_col: target.pk_field().column,
                source_col: self
                    .key_field()
                    .map_or(owner.pk_field().column, |f| f.column),
            },
            RelationKind::ManyToMany => {
                let (through, source_col, target_col) = self.through_table();
                Hop::Through {
                    target,
                    through: leak(through),
                    source_col: leak(source_col),
                    target_col: leak(target_col),
                    tenant: self.link_tenant().map(|t| HopTenant {
                        link: t.field.column,
                        source: Some(t.field.column),
                        target: t.target,
                    }),
                }
            }
            RelationKind::Reverse => {
                let mirror = self.mirror()?;
                match mirror.kind {
                    RelationKind::ManyToMany => {
                        let (through, mirror_owner_col, mirror_target_col) = mirror.through_table();
                        Hop::Through {
                            target,
                            through: leak(through),
                            source_col: leak(mirror_target_col),
                            target_col: leak(mirror_owner_col),
                            // The mirror's owner is this hop's target.
                            tenant: mirror.link_tenant().map(|t| HopTenant {
                                link: t.field.column,
                                source: t.target,
                                target: Some(t.field.column),
                            }),
                        }
                    }
                    _ => Hop::Key {
                        target,
                        target_col: mirror.key_field().map_or("id", |f| f.column),
                        source_col: owner.pk_field().column,
                    },
                }
            }
        })
    }
}

/// Table and column names derived at run time live as long as the program
/// (a bounded set: one per relation), like the static metadata they extend.
pub(super) fn leak(s: String) -> &'static str {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let names = names.get_or_insert_with(HashSet::new);
    if let Some(existing) = names.get(s.as_str()) {
        return existing;
    }
    let leaked: &'static str = Box::leak(s.into_boxed_str());
    names.insert(leaked);
    leaked
}
