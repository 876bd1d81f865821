//! The paths `order_by` and `values(..)` name across relations
//! (`author__name`, `tags__name`): each relation a `LEFT JOIN`
//! ([`PathJoin`]), planned once per path and shared by the query's
//! ordering and values, or the `select_related` join of the same relation.

use crate::error::{Error, Result};
use crate::meta::MAX_ALIAS_LEN;
use crate::meta::{check_len, shown, too_deep, ModelMeta, MAX_RELATIONS};
use crate::query::related::{single_valued, Join};
use crate::relation::{Hop, RelationMeta};
use crate::sql::joins::{ColumnRef, PathJoin, Table, Tables};

/// Where a name may lead, and the joins its paths take.
#[derive(Debug)]
pub(crate) struct PathPlan<'s> {
    root: &'static ModelMeta,
    selected: &'s [Join],
    /// The joins planned so far, parents first.
    pub joins: Vec<PathJoin>,
    reach: Reach,
}

/// Which relations a path may cross.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// None: the model's own fields (and a forward relation's key column),
    /// where no join can be written (`distinct_on`, prefetch and `__in`
    /// subqueries).
    Own,
    /// Relations to one row at most (foreign keys, one-to-ones both ways):
    /// a model query, whose rows a join must never repeat.
    Single,
    /// Every relation, as Django's joins: `values(..)`, one row per
    /// related row (and one with NULLs when there is none).
    Many,
}

impl<'s> PathPlan<'s> {
    /// A plan for a query over `root` with `select_related` joins
    /// `selected` (reused for the same relations).
    pub(crate) fn new(root: &'static ModelMeta, selected: &'s [Join], reach: Reach) -> Self {
        PathPlan {
            root,
            selected,
            joins: Vec::new(),
            reach,
        }
    }

    /// The queried model.
    pub(crate) fn root(&self) -> &'static ModelMeta {
        self.root
    }

    /// The query's tables, to write its columns.
    pub(crate) fn tables(&self) -> Tables<'_> {
        Tables {
            meta: self.root,
            selected: self.selected,
            paths: &self.joins,
        }
    }

    /// The column `name` names: a field of the model (`"title"`, `"pk"`,
    /// `"author_id"`), relations then a field of the last one
    /// (`"author__name"`), or relations ending with one: a forward
    /// relation's key column (`"author"`, Django's `author_id`), else the
    /// related row's primary key (`"tags"`).
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] naming the model and its fields and
    /// relations for an unknown name, or a path too long or too deep;
    /// [`Error::InvalidQuery`] for a relation the plan may not cross.
    pub(crate) fn column(&mut self, name: &str) -> Result<ColumnRef> {
        if let Some(field) = self.root.field(name) {
            return Ok(ColumnRef::root(field));
        }
        check_len(self.root, WHAT, name, || valid(self.root))?;
        let last = name.split("__").count() - 1;
        let mut meta = self.root;
        let mut table = Table::Root;
        let mut end = 0;
        for (i, segment) in name.split("__").enumerate() {
            end += if i == 0 { 0 } else { 2 } + segment.len();
            if i == last {
                if let Some(field) = meta.field(segment) {
                    return Ok(ColumnRef { table, field });
                }
            }
            let Some((rel_index, rel)) = meta
                .relations
                .iter()
                .enumerate()
                .find(|(_, r)| r.name == segment)
            else {
                return Err(Error::from(crate::error::LookupError {
                    model: meta.name,
                    what: WHAT,
                    name: shown(segment),
                    valid: valid(meta),
                }));
            };
            if i == last {
                if let Some(key) = rel.key_field() {
                    // Django orders `"author"` by `author_id` (the related
                    // model's `Meta.ordering` aside: there is none here).
                    return Ok(ColumnRef { table, field: key });
                }
            }
            if i == MAX_RELATIONS {
                return Err(too_deep(meta, WHAT, segment));
            }
            self.check_reach(meta, rel, name)?;
            table = self.join(table, meta, rel_index, rel, &name[..end])?;
            meta = rel.target.meta();
        }
        // A bare relation without a key column: the related row's key.
        Ok(ColumnRef {
            table,
            field: meta.pk_field(),
        })
    }

    fn check_reach(&self, meta: &ModelMeta, rel: &RelationMeta, name: &str) -> Result<()> {
        let why = match self.reach {
            Reach::Many => return Ok(()),
            Reach::Single if single_valued(rel) => return Ok(()),
            Reach::Single => format!(
                "`{}` crosses `{}.{}`, a relation to many rows: ordering model rows by it \
                 would return a row once per related row (Django's join does). Order by an \
                 aggregate of it instead: `.annotate([Min(\"{}\")]).order_by([\"{}__min\"])` \
                 (or Max, \"-..__max\" descending)",
                shown(name),
                meta.name,
                rel.name,
                shown(name),
                shown(name),
            ),
            Reach::Own => format!(
                "`{}` crosses the relation `{}.{}`; only the model's own fields can be named here",
                shown(name),
                meta.name,
                rel.name
            ),
        };
        Err(Error::from(crate::error::QueryError {
            model: self.root.name,
            reason: why,
        }))
    }

    /// The table of `rel` from `parent`: `select_related`'s join of it, an
    /// earlier path's, or a new one.
    fn join(
        &mut self,
        parent: Table,
        parent_meta: &'static ModelMeta,
        rel_index: usize,
        rel: &'static RelationMeta,
        path: &str,
    ) -> Result<Table> {
        let selected_parent = match parent {
            Table::Root => Some(None),
            Table::Selected(p) => Some(Some(p)),
            Table::Path(_) => None,
        };
        if let Some(selected_parent) = selected_parent {
            if let Some(i) = self
                .selected
                .iter()
                .position(|j| j.parent == selected_parent && j.rel_index == rel_index)
            {
                return Ok(Table::Selected(i));
            }
        }
        if let Some(i) = self
            .joins
            .iter()
            .position(|j| j.parent == parent && j.rel_index == rel_index)
        {
            return Ok(Table::Path(i));
        }
        let hop = rel.hop()?;
        // PostgreSQL cuts names at 63 bytes: a long path is named by its
        // place (no relation name starts with a digit). `l_` names a
        // many-to-many's link table, apart from every `r_` name.
        let name = if path.len() + 2 <= MAX_ALIAS_LEN {
            path.to_owned()
        } else {
            self.joins.len().to_string()
        };
        let link = match hop {
            Hop::Through { .. } => format!("l_{name}"),
            Hop::Key { .. } => String::new(),
        };
        self.joins.push(PathJoin {
            alias: format!("r_{name}"),
            parent,
            rel_index,
            hop,
            parent_pk: parent_meta.pk_field().column,
            link,
        });
        Ok(Table::Path(self.joins.len() - 1))
    }
}

const WHAT: &str = "field";

/// The fields and relations of `meta`, for messages.
fn valid(meta: &ModelMeta) -> Vec<String> {
    let mut names = meta.field_names();
    for rel in meta.relations {
        // A foreign key's field and relation share the name.
        if !names.iter().any(|n| n == rel.name) {
            names.push(rel.name.to_owned());
        }
    }
    names
}
