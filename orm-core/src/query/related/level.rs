//! One prefetch level: its parents' keys, its rows grouped to their
//! parents as they arrive ([`Grouper`]) and attached.

use std::any::Any;
use std::cell::Cell;
use std::collections::hash_map::Entry;

use futures_util::TryStreamExt;
use tokio_postgres::{Row, RowStream};

use crate::db::Db;
use crate::error::Result;
#[cfg(doc)]
use crate::query::lookup::MAX_NAME_LEN;
use crate::relation::{DynModel, Related, RelationKind, RelationMeta};
use crate::sql::Statement;
use crate::types::SqlType;
use crate::value::{Key, Value};

use super::path::{Path, PrefetchSpec};
use super::render::{parent_field, render, Keys, LevelSql};

/// Related rows by their parent's key.
pub(super) type KeyMap<V> = foldhash::HashMap<Key, V>;

/// One prefetch level: relation `rel` (index `index` of `owner`) for a
/// list of parent objects, loaded with one query.
pub(super) struct Level {
    pub(super) owner: &'static dyn DynModel,
    pub(super) rel: &'static RelationMeta,
    pub(super) index: usize,
    /// A foreign key or one-to-one: one target per parent.
    pub(super) forward: bool,
    /// Each parent's key, by position (`None`: NULL).
    pub(super) parent_keys: Vec<Option<Key>>,
    /// Each key's first parent, by position.
    pub(super) first: KeyMap<usize>,
    /// A key shared by several parents (copies of one object after a
    /// forward level): each copy needs the rows, so they are kept.
    pub(super) repeated: bool,
    /// Each parent's objects are put in key order after grouping.
    pub(super) sort: bool,
    /// The statement, and the column (and its type) that says which parent
    /// a row belongs to; `None` when no parent has a key.
    pub(super) query: Option<(Statement, usize, SqlType)>,
}

/// The rows of a [`Level`], before they are attached.
pub(super) enum Fetched {
    /// No query was needed: every parent gets nothing.
    Nothing,
    /// A reverse or many-to-many level, decoded: one group per parent
    /// position ([`DynModel::new_groups`]), filled at each key's first
    /// parent.
    /// `unsorted`: by parent position, whether a level sorted on the
    /// client got that parent's rows out of key order (the groups are
    /// sorted already; a copy decoded from [`Kept`] rows needs sorting).
    Groups {
        groups: Box<dyn Any + Send>,
        kept: Option<Kept>,
        unsorted: Vec<bool>,
    },
    /// A forward level, kept as it came (parents share targets), with the
    /// column (and its type) that says which parent a row belongs to.
    Rows(Vec<Row>, usize, SqlType),
}

/// The rows of a level with [`repeated`](Level::repeated) keys, and the
/// indexes of each first parent's rows among them: a copy of a parent
/// decodes its own list from them.
pub(super) struct Kept {
    pub(super) rows: Vec<Row>,
    pub(super) of_parent: Vec<Vec<usize>>,
}

impl Level {
    /// Reads the parents' keys and renders the query, `key = ANY($1)` with
    /// their distinct keys.
    pub(super) fn plan(
        path: &Path,
        objects: &[&mut (dyn Any + Send)],
        spec: &PrefetchSpec,
    ) -> Result<Level> {
        let (mut level, distinct) = Level::parents(path, objects, true);
        if !distinct.is_empty() {
            let levels = [LevelSql {
                owner: path.owner.meta(),
                rel: path.rel,
                spec,
                keys: Keys::Values(Cell::new(distinct)),
            }];
            level.query = Some(render(&levels, 0)?);
        }
        Ok(level)
    }

    /// The level of `path` for `objects`, with no query yet: each parent's
    /// key, and (`want_keys`: to bind them) the distinct keys in the
    /// parents' order.
    pub(super) fn parents(
        path: &Path,
        objects: &[&mut (dyn Any + Send)],
        want_keys: bool,
    ) -> (Level, Vec<Value>) {
        let (owner, rel, index) = (path.owner, path.rel, path.index);
        let forward = matches!(rel.kind, RelationKind::ForeignKey | RelationKind::OneToOne);
        let parent_field = parent_field(owner.meta(), rel);
        let mut parent_keys: Vec<Option<Key>> = Vec::with_capacity(objects.len());
        let mut first = KeyMap::default();
        first.reserve(objects.len());
        let mut distinct: Vec<Value> = Vec::new();
        let mut repeated = false;
        for (i, object) in objects.iter().enumerate() {
            let value = owner.field_value(&**object, parent_field);
            let key = Key::of(&value);
            if let Some(key) = &key {
                match first.entry(key.clone()) {
                    Entry::Vacant(slot) => {
                        slot.insert(i);
                        if want_keys {
                            distinct.push(value);
                        }
                    }
                    Entry::Occupied(_) => repeated = true,
                }
            }
            parent_keys.push(key);
        }
        let level = Level {
            owner,
            rel,
            index,
            forward,
            parent_keys,
            first,
            repeated,
            sort: path.sort,
            query: None,
        };
        (level, distinct)
    }

    /// Runs the query. Needs no parent object, so the levels of one depth
    /// can run at once.
    pub(super) async fn fetch(&self, db: &Db) -> Result<Fetched> {
        let Some((stmt, key_index, key_type)) = &self.query else {
            return Ok(Fetched::Nothing);
        };
        let (key_index, key_type) = (*key_index, *key_type);
        if self.forward {
            let rows = db.query(&stmt.sql, &stmt.binds).await?;
            return Ok(Fetched::Rows(rows, key_index, key_type));
        }
        // Every row is decoded as it arrives, straight into its group.
        let mut grouper = Grouper::new(self, key_index, key_type);
        db.for_each_row(&stmt.sql, stmt.binds.iter(), &stmt.binds, |row| {
            grouper.push(row)
        })
        .await?;
        Ok(grouper.finish())
    }

    /// The rows of this level's statement, started before its parents
    /// were known ([`prefetch_pipelined`]), read and sorted to them as they
    /// arrive.
    pub(super) async fn read(
        &self,
        db: &Db,
        rows: RowStream,
        (key_index, key_type): (usize, SqlType),
    ) -> Result<Fetched> {
        futures_util::pin_mut!(rows);
        if self.forward {
            // Parents share targets: the rows are kept, each decoded once
            // per parent that points at it.
            let mut kept = Vec::new();
            while let Some(row) = db.track(rows.try_next().await)? {
                kept.push(row);
            }
            return Ok(Fetched::Rows(kept, key_index, key_type));
        }
        let mut grouper = Grouper::new(self, key_index, key_type);
        while let Some(row) = db.track(rows.try_next().await)? {
            grouper.push(row)?;
        }
        Ok(grouper.finish())
    }

    /// Stores the fetched rows into the parents (the same objects, in the
    /// same order, as [`plan`](Level::plan) was given).
    pub(super) fn attach(
        &self,
        mut objects: Vec<&mut (dyn Any + Send)>,
        fetched: Fetched,
    ) -> Result<()> {
        debug_assert_eq!(objects.len(), self.parent_keys.len(), "the planned parents");
        let (owner, index, target) = (self.owner, self.index, self.rel.target);
        let (rows, key_index, key_type) = match fetched {
            Fetched::Nothing => {
                // No group at all: each one taken from it is empty.
                let mut none = target.new_groups(0);
                for object in objects {
                    let empty = if self.forward {
                        Related::One(None)
                    } else {
                        target.take_group(&mut *none, 0)
                    };
                    owner.attach(object, index, empty)?;
                }
                return Ok(());
            }
            Fetched::Groups {
                mut groups,
                kept,
                unsorted,
            } => {
                for (i, object) in objects.iter_mut().enumerate() {
                    // A copy of an earlier parent decodes its own list
                    // from the rows kept for that parent.
                    let first = match (&kept, &self.parent_keys[i]) {
                        (Some(_), Some(key)) => self.first.get(key).copied().unwrap_or(i),
                        _ => i,
                    };
                    let group = match (&kept, first == i) {
                        (Some(kept), false) => {
                            let mut again = target.new_groups(1);
                            for &row in &kept.of_parent[first] {
                                target.decode_into(&mut *again, 0, &kept.rows[row])?;
                            }
                            if unsorted.get(first).copied().unwrap_or(self.sort) {
                                target.sort_by_pk(&mut *again, 0);
                            }
                            target.take_group(&mut *again, 0)
                        }
                        _ => target.take_group(&mut *groups, i),
                    };
                    owner.attach(&mut **object, index, group)?;
                }
                return Ok(());
            }
            Fetched::Rows(rows, key_index, key_type) => (rows, key_index, key_type),
        };
        // A forward level: many parents may share a target, decoded once
        // per parent.
        let mut by_key: KeyMap<&Row> = KeyMap::default();
        for row in &rows {
            if let Some(key) = Key::read(row, key_index, key_type)? {
                by_key.insert(key, row);
            }
        }
        for (object, key) in objects.iter_mut().zip(&self.parent_keys) {
            let related = match key.as_ref().and_then(|k| by_key.get(k)) {
                Some(row) => Some(target.decode_row(row, 0)?),
                None => None,
            };
            owner.attach(&mut **object, index, Related::One(related))?;
        }
        Ok(())
    }
}

/// Sorts the rows of a reverse or many-to-many level into the groups of
/// their parents, decoding each row as it comes, straight into the group
/// of its key's first parent; rows are kept only when other parents share
/// that key. Rows of one parent often come together (children created
/// together have adjacent keys): the last parent is checked before the map.
pub(super) struct Grouper<'l> {
    pub(super) level: &'l Level,
    pub(super) key_index: usize,
    pub(super) key_type: SqlType,
    /// One group per parent ([`DynModel::new_groups`]).
    pub(super) groups: Box<dyn Any + Send>,
    pub(super) kept: Option<Kept>,
    pub(super) last: Option<(Key, usize)>,
    /// When the level is [sorted](Level::sort) on the client: which
    /// parents' rows may have come out of primary key order.
    pub(super) order: Option<ArrivalOrder>,
}

/// Which groups of a level sorted on the client need sorting. A parent's
/// rows mostly come together and in key order (as a table's rows are
/// stored): comparing each row's key with the previous row's, one integer
/// per row, spares comparing every group's objects afterwards. A parent
/// whose rows come in more than one run is sorted.
pub(super) struct ArrivalOrder {
    /// The column of the target's primary key, and its type.
    pub(super) column: usize,
    pub(super) ty: SqlType,
    /// The previous row's parent and primary key.
    pub(super) run: Option<(usize, Key)>,
    /// By parent position: some of its rows came.
    pub(super) seen: Vec<bool>,
    /// By parent position: its rows may be out of key order.
    pub(super) unsorted: Vec<bool>,
}

impl<'l> Grouper<'l> {
    pub(super) fn new(level: &'l Level, key_index: usize, key_type: SqlType) -> Self {
        let parents = level.parent_keys.len();
        Grouper {
            level,
            key_index,
            key_type,
            groups: level.rel.target.new_groups(parents),
            kept: level.repeated.then(|| Kept {
                rows: Vec::new(),
                of_parent: vec![Vec::new(); parents],
            }),
            last: None,
            order: level.sort.then(|| {
                let target = level.rel.target.meta();
                ArrivalOrder {
                    // The statement selects the target's fields in order,
                    // the primary key at its position.
                    column: target.pk,
                    ty: target.pk_field().sql_type,
                    run: None,
                    seen: vec![false; parents],
                    unsorted: vec![false; parents],
                }
            }),
        }
    }

    pub(super) fn push(&mut self, row: Row) -> Result<()> {
        let Some(key) = Key::read(&row, self.key_index, self.key_type)? else {
            return Ok(());
        };
        let parent = match &self.last {
            Some((last_key, parent)) if *last_key == key => *parent,
            _ => match self.level.first.get(&key) {
                Some(&parent) => {
                    self.last = Some((key, parent));
                    parent
                }
                // A key the database matched but `Key` does not equal
                // (citext, a non-deterministic collation), or, pipelined,
                // a parent the query did not return: dropped.
                None => return Ok(()),
            },
        };
        let target = self.level.rel.target;
        if let Some(order) = &mut self.order {
            let pk = Key::read(&row, order.column, order.ty)?;
            let in_order = match &order.run {
                Some((run, last)) if *run == parent => pk.as_ref() >= Some(last),
                // A new run of this parent's rows: in order if its first.
                _ => !std::mem::replace(&mut order.seen[parent], true),
            };
            if !in_order {
                order.unsorted[parent] = true;
            }
            order.run = pk.map(|pk| (parent, pk));
        }
        target.decode_into(&mut *self.groups, parent, &row)?;
        if let Some(kept) = &mut self.kept {
            kept.of_parent[parent].push(kept.rows.len());
            kept.rows.push(row);
        }
        Ok(())
    }

    pub(super) fn finish(mut self) -> Fetched {
        let unsorted = match self.order {
            Some(order) => order.unsorted,
            None => Vec::new(),
        };
        let target = self.level.rel.target;
        for (at, _) in unsorted.iter().enumerate().filter(|(_, u)| **u) {
            target.sort_by_pk(&mut *self.groups, at);
        }
        Fetched::Groups {
            groups: self.groups,
            kept: self.kept,
            unsorted,
        }
    }
}
