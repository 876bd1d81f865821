//! `select_related`: the `LEFT JOIN`s of a query's paths, their columns,
//! and the joined models decoded from the same row by column position.

use std::any::Any;

use smallvec::SmallVec;
use tokio_postgres::Row;

use crate::error::{Error, Result};
use crate::meta::ModelMeta;
use crate::meta::MAX_ALIAS_LEN;
use crate::model::Model;
#[cfg(doc)]
use crate::query::lookup::MAX_NAME_LEN;
use crate::query::lookup::{check_len, shown, too_deep, MAX_RELATIONS};
use crate::relation::{Related, RelationKind, RelationMeta};
pub(crate) use crate::sql::joins::Join;

pub(super) fn relation_named(
    meta: &'static ModelMeta,
    name: &str,
    what: &'static str,
    accept: impl Fn(&RelationMeta) -> bool,
) -> Result<(usize, &'static RelationMeta)> {
    meta.relations
        .iter()
        .enumerate()
        .find(|(_, r)| r.name == name && accept(r))
        .ok_or_else(|| {
            Error::from(crate::error::LookupError {
                model: meta.name,
                what,
                name: shown(name),
                valid: meta
                    .relations
                    .iter()
                    .filter(|r| accept(r))
                    .map(|r| r.name.to_owned())
                    .collect(),
            })
        })
}

/// Relations with at most one row on the other side: forward keys and the
/// reverse side of a one-to-one.
pub(crate) fn single_valued(rel: &RelationMeta) -> bool {
    match rel.kind {
        RelationKind::ForeignKey | RelationKind::OneToOne => true,
        RelationKind::Reverse => {
            rel.one && rel.mirror().is_ok_and(|m| m.kind == RelationKind::OneToOne)
        }
        RelationKind::ManyToMany => false,
    }
}

/// The joins for `paths` (`author`, `author__profile`): forward foreign
/// keys and one-to-ones only, each path's prefixes included once.
///
/// Each path is checked as it is read, in time linear in its length: at
/// most [`MAX_NAME_LEN`] bytes and [`MAX_RELATIONS`] relations.
pub(crate) fn plan_joins(root: &'static ModelMeta, paths: &[String]) -> Result<Vec<Join>> {
    const WHAT: &str = "select_related relation";
    if paths.is_empty() {
        // `sql()` plans joins on every query: no map for none.
        return Ok(Vec::new());
    }
    let mut joins: Vec<Join> = Vec::new();
    // Each join's path, to find a shared prefix in constant time.
    let mut by_prefix: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    let mut start = root.fields.len();
    for path in paths {
        check_len(root, WHAT, path, || single_valued_names(root))?;
        let mut meta = root;
        let mut parent: Option<usize> = None;
        let mut end = 0;
        for (depth, segment) in path.split("__").enumerate() {
            if depth == MAX_RELATIONS {
                return Err(too_deep(meta, WHAT, segment));
            }
            end += if depth == 0 { 0 } else { 2 } + segment.len();
            let prefix = &path[..end];
            let (rel_index, rel) = relation_named(meta, segment, WHAT, single_valued)?;
            let index = match by_prefix.get(prefix) {
                Some(&i) => i,
                None => {
                    // PostgreSQL cuts names at 63 bytes: two long paths
                    // sharing their first 60 would be one name. A long one
                    // is named by its place (no relation name is a number).
                    let alias = if prefix.len() + 3 <= MAX_ALIAS_LEN {
                        format!("sr_{prefix}")
                    } else {
                        format!("sr_{}", joins.len())
                    };
                    let nullable = parent.is_some_and(|p| joins[p].nullable)
                        || rel.kind == RelationKind::Reverse
                        || rel.key_field().is_none_or(|key| key.nullable);
                    joins.push(Join {
                        alias,
                        parent,
                        rel,
                        rel_index,
                        start,
                        nullable,
                        tenant: None,
                    });
                    by_prefix.insert(prefix, joins.len() - 1);
                    start += rel.target.meta().fields.len();
                    joins.len() - 1
                }
            };
            parent = Some(index);
            meta = rel.target.meta();
        }
    }
    Ok(joins)
}

/// The relations `select_related` may follow from `meta`, for messages.
pub(super) fn single_valued_names(meta: &ModelMeta) -> Vec<String> {
    meta.relations
        .iter()
        .filter(|r| single_valued(r))
        .map(|r| r.name.to_owned())
        .collect()
}

/// Checks `lock_of` names before anything is sent: each is `"self"` or a
/// path the query's `select_related` follows (Django's rule); PostgreSQL
/// would refuse any other (or, for an empty name or a NUL, fail to parse).
///
/// # Errors
/// [`Error::InvalidLookup`] naming the model, the name and the valid ones.
pub(crate) fn check_lock_of(meta: &ModelMeta, of: &[String], joins: &[Join]) -> Result<()> {
    let path = |j: &Join| j.alias.strip_prefix("sr_").unwrap_or_default().to_owned();
    for name in of {
        if name == "self" {
            continue;
        }
        if let Some(join) = joins
            .iter()
            .find(|j| j.alias.strip_prefix("sr_") == Some(name))
        {
            if join.nullable {
                return Err(Error::from(crate::error::QueryError {
                    model: meta.name,
                    reason: format!(
                        "select_for_update(of) cannot lock `{}`: the relation may have no row \
                         (a nullable key or a reverse one-to-one, joined with LEFT JOIN), and \
                         PostgreSQL cannot lock the nullable side of an outer join",
                        shown(name)
                    ),
                }));
            }
            continue;
        }
        return Err(Error::from(crate::error::LookupError {
            model: meta.name,
            what: "lock_of table",
            name: shown(name),
            valid: std::iter::once("self".to_owned())
                .chain(joins.iter().map(path))
                .collect(),
        }));
    }
    Ok(())
}

/// Decodes a row of a model query, with its `select_related` joins (if
/// any) attached.
pub(crate) fn decode_row<M: Model>(row: &Row, joins: &[Join]) -> Result<M> {
    if joins.is_empty() {
        M::from_row(row, 0)
    } else {
        decode_joined(row, joins)
    }
}

/// Decodes a row of a `select_related` query: the model, then each joined
/// model from its columns, attached to its parent (deepest first).
pub(crate) fn decode_joined<M: Model>(row: &Row, joins: &[Join]) -> Result<M> {
    let mut root = M::from_row(row, 0)?;
    if let [join] = joins {
        // One join (the usual case): straight onto the root.
        let child = join.rel.target.decode(row, join.start)?;
        root.attach_related(join.rel_index, Related::One(child))?;
        return Ok(root);
    }
    // Inline for up to 4 joins: no allocation per row but the models'.
    let mut objects: SmallVec<[Option<Box<dyn Any + Send>>; 4]> = joins
        .iter()
        .map(|j| j.rel.target.decode(row, j.start))
        .collect::<Result<_>>()?;
    for j in (0..joins.len()).rev() {
        let join = &joins[j];
        let child = objects[j].take();
        match join.parent {
            None => root.attach_related(join.rel_index, Related::One(child))?,
            Some(p) => {
                let (head, _) = objects.split_at_mut(j);
                if let Some(parent) = head[p].as_deref_mut() {
                    join.rel
                        .owner
                        .attach(parent, join.rel_index, Related::One(child))?;
                }
            }
        }
    }
    Ok(root)
}
