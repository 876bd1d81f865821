//! Loading related objects with the query: `select_related` (joins, decoded
//! from the same row by column position) and `prefetch_related` (one query
//! per relation level, grouped in memory). A level selects its rows by its
//! parents' keys: when the query is not sliced, with a subquery of the
//! query's conditions, so every level goes out with the query in one round
//! trip ([`prefetch_pipelined`]); otherwise (and for `get`) with the keys
//! of the loaded parents, `= ANY($1)` ([`prefetch`]).

use std::any::Any;
use std::cell::Cell;
use std::collections::hash_map::Entry;
use std::future::Future;
use std::task::{Context, Waker};

use futures_util::future::maybe_done;
use futures_util::TryStreamExt;
use smallvec::SmallVec;
use tokio_postgres::{Row, RowStream};

use crate::db::{Conn, Db, InFlight};
use crate::error::{Error, Result};
use crate::model::{Model, ModelMeta};
#[cfg(doc)]
use crate::query::lookup::MAX_NAME_LEN;
use crate::query::lookup::{check_len, relation_names, shown, too_deep, MAX_RELATIONS};
use crate::query::order::OrderBy;
use crate::query::q::check_nul;
use crate::query::q::Node;
use crate::query::values::MAX_ALIAS_LEN;
use crate::relation::{DynModel, Hop, Related, RelationKind, RelationMeta};
use crate::sql::condition::{push_node, Scope};
use crate::sql::statements::push_where;
use crate::sql::{SqlWriter, Statement};
use crate::types::SqlType;
use crate::value::{Key, Value};

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

fn relation_named(
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
fn single_valued(rel: &RelationMeta) -> bool {
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
                    joins.push(Join {
                        alias,
                        parent,
                        rel,
                        rel_index,
                        start,
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
fn single_valued_names(meta: &ModelMeta) -> Vec<String> {
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
        if name == "self"
            || joins
                .iter()
                .any(|j| j.alias.strip_prefix("sr_") == Some(name))
        {
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

/// A `prefetch_related` path, optionally with a filter and ordering of its
/// own (Django's `Prefetch("posts", queryset=..)`).
#[derive(Debug, Clone)]
pub(crate) struct PrefetchSpec {
    pub path: String,
    pub filter: Option<Node>,
    pub order: Vec<OrderBy>,
    /// The table the filter was written for, checked against the relation.
    pub model: Option<&'static str>,
}

/// Runs the prefetch queries for `roots`: one per relation level, the
/// levels of a path (`posts__tags`) in order, a prefix used once. Every
/// path was checked ([`check_prefetch`]) when the query was planned,
/// before its main query.
///
/// The levels of one depth (`author` and `tags`, or `posts__tags` and
/// `posts__comments`) do not depend on each other: their queries go out
/// together, pipelined on one connection, and their rows are attached once
/// all have arrived. A deeper level waits for the objects of the one above.
pub(crate) async fn prefetch<M: Model>(
    db: &Db,
    roots: &mut [M],
    specs: &[PrefetchSpec],
) -> Result<()> {
    let all = with_prefixes(specs);
    let paths: Vec<Path> = all.iter().map(Path::resolve::<M>).collect::<Result<_>>()?;
    let levels: Vec<(&PrefetchSpec, Path)> = all.iter().zip(paths).collect();
    for same_depth in levels.chunk_by(|(a, _), (b, _)| depth(a) == depth(b)) {
        let mut planned = Vec::with_capacity(same_depth.len());
        for (spec, path) in same_depth {
            planned.push(Level::plan(path, &path.objects(roots), spec)?);
        }
        let fetched: Vec<Fetched> = if let [level] = planned.as_slice() {
            vec![level.fetch(db).await?]
        } else {
            // One connection for the depth, the queries pipelined on it.
            // Each is awaited to its end (join_all): a statement abandoned
            // half-way in a transaction could fail without being seen.
            let pinned = db.pinned().await?;
            let all = planned.iter().map(|level| level.fetch(&pinned));
            futures_util::future::join_all(all)
                .await
                .into_iter()
                .collect::<Result<_>>()?
        };
        for ((_, path), (level, fetched)) in same_depth.iter().zip(planned.iter().zip(fetched)) {
            level.attach(path.objects(roots), fetched)?;
        }
    }
    Ok(())
}

/// How deep a prefetch path goes: 0 for `posts`, 1 for `posts__tags`.
fn depth(spec: &PrefetchSpec) -> usize {
    spec.path.matches("__").count()
}

/// `specs` with the prefixes of their paths (`posts__tags` needs `posts`
/// first; Django adds it too), each path once, shallowest first.
fn with_prefixes(specs: &[PrefetchSpec]) -> Vec<PrefetchSpec> {
    // Every path was resolved (bounded in length and depth) by
    // `check_prefetch` when the query was planned, before any prefix is
    // built from it here. The paths seen are hashed: many specs cost
    // linear time, not quadratic.
    let given: foldhash::HashSet<&str> = specs.iter().map(|s| s.path.as_str()).collect();
    let mut seen: foldhash::HashSet<&str> = foldhash::HashSet::default();
    let mut all: Vec<PrefetchSpec> = Vec::new();
    for spec in specs {
        for (at, _) in spec.path.match_indices("__") {
            let prefix = &spec.path[..at];
            if !given.contains(prefix) && seen.insert(prefix) {
                all.push(PrefetchSpec {
                    path: prefix.to_owned(),
                    filter: None,
                    order: Vec::new(),
                    model: None,
                });
            }
        }
        if seen.insert(&spec.path) {
            all.push(spec.clone());
        }
    }
    all.sort_by_key(depth);
    all
}

/// The levels [`prefetch_pipelined`] loads for `specs`, shallowest first,
/// and their statements, each with the column (and its type) that says
/// which parent a row belongs to.
#[allow(clippy::type_complexity)]
fn pipelined_levels<M: Model>(
    filter: &Node,
    specs: &[PrefetchSpec],
) -> Result<(Vec<Path>, Vec<(Statement, usize, SqlType)>)> {
    let all = with_prefixes(specs);
    let paths: Vec<Path> = all.iter().map(Path::resolve::<M>).collect::<Result<_>>()?;
    let mut sql: Vec<LevelSql<'_>> = Vec::with_capacity(all.len());
    for (spec, path) in all.iter().zip(&paths) {
        let keys = match spec.path.rsplit_once("__") {
            None => Keys::Root(filter),
            // `with_prefixes` put the prefix before it.
            Some((prefix, _)) => match all.iter().position(|s| s.path == prefix) {
                Some(above) => Keys::Level(above),
                None => {
                    return Err(Error::from(crate::error::QueryError {
                        model: M::META.name,
                        reason: format!("prefetch of `{}` without `{prefix}`", spec.path),
                    }))
                }
            },
        };
        sql.push(LevelSql {
            owner: path.owner.meta(),
            rel: path.rel,
            spec,
            keys,
        });
    }
    let statements = (0..sql.len())
        .map(|i| render(&sql, i))
        .collect::<Result<_>>()?;
    Ok((paths, statements))
}

/// The statements a query over `M` filtered by `filter` sends for its
/// prefetches when pipelined (unit tests).
#[cfg(test)]
pub(crate) fn pipelined_sql<M: Model>(
    filter: &Node,
    specs: &[PrefetchSpec],
) -> Result<Vec<Statement>> {
    Ok(pipelined_levels::<M>(filter, specs)?
        .1
        .into_iter()
        .map(|(stmt, _, _)| stmt)
        .collect())
}

/// Runs a query over `M` whose rows `filter` selects (not sliced) with its
/// `prefetch_related` levels, all sent together on `db` (a pinned
/// connection): one round trip instead of one per depth.
///
/// A level's statement does not wait for its parents' keys: it selects
/// them with a subquery of the conditions that chose the parents (`WHERE
/// "user_id" IN (SELECT "users"."id" FROM "users" WHERE ..)`, a level
/// deeper `WHERE "post_id" IN (SELECT "posts"."id" FROM "posts" WHERE
/// "user_id" IN (..))`). Its rows are sorted to the parents once `root`
/// (the query itself) has decoded them. Outside a transaction the
/// statements see one snapshot each, as the levels of [`prefetch`] do:
/// a row changed in between is missed or dropped, never attached to the
/// wrong parent. With no array of keys bound, PostgreSQL's generic plan of
/// the kept statement is a hash join, not a scan per key.
pub(crate) async fn prefetch_pipelined<M, F>(
    db: &Db,
    filter: &Node,
    specs: &[PrefetchSpec],
    root: F,
) -> Result<Vec<M>>
where
    M: Model,
    F: std::future::Future<Output = Result<Vec<M>>>,
{
    let (paths, statements) = pipelined_levels::<M>(filter, specs)?;
    let conn = db.client().await?;
    // Dropped before every level's rows are read (a timeout, a client
    // gone): the statements still running are abandoned, as a dropped
    // query's are. After an error, the connection reads and drops the
    // rows left.
    let flight = InFlight(db, &conn);
    let loaded = read_pipelined(db, &conn, root, &paths, &statements).await;
    std::mem::forget(flight);
    loaded
}

/// The body of [`prefetch_pipelined`]: sends the statements and reads
/// their rows.
async fn read_pipelined<M, F>(
    db: &Db,
    conn: &Conn,
    root: F,
    paths: &[Path],
    statements: &[(Statement, usize, SqlType)],
) -> Result<Vec<M>>
where
    M: Model,
    F: std::future::Future<Output = Result<Vec<M>>>,
{
    let mut root = std::pin::pin!(maybe_done(root));
    let mut levels: Vec<_> = statements
        .iter()
        .map(|(stmt, _, _)| {
            Box::pin(maybe_done(db.start_rows(
                conn,
                &stmt.sql,
                stmt.binds.iter(),
            )))
        })
        .collect();
    // Polled once each, in this order, the query and then every level go
    // out without waiting for an answer: one round trip. The answers come
    // back in the same order, each waiting on the connection until it is
    // read, so every level's rows are decoded as they arrive, once the
    // objects they belong to are known.
    {
        let mut cx = Context::from_waker(Waker::noop());
        let _ = root.as_mut().poll(&mut cx);
        for level in &mut levels {
            let _ = level.as_mut().poll(&mut cx);
        }
    }
    root.as_mut().await;
    let mut roots = root.as_mut().take_output().ok_or_else(awaited)??;
    // Shallowest first: a level's parents are the objects the level above
    // attached.
    for ((path, mut started), (_, key_index, key_type)) in paths.iter().zip(levels).zip(statements)
    {
        started.as_mut().await;
        let rows = started.as_mut().take_output().ok_or_else(awaited)??;
        let (level, _) = Level::parents(path, &path.objects(&mut roots), false);
        let fetched = level.read(db, rows, (*key_index, *key_type)).await?;
        level.attach(path.objects(&mut roots), fetched)?;
    }
    Ok(roots)
}

/// A future awaited to its end had no output (cannot happen).
fn awaited() -> Error {
    Error::Transaction("a prefetch statement ended without an answer".into())
}

/// Resolves every `prefetch_related` path of a query on `M` (when it is
/// planned, before the main query is sent), each in time linear in its
/// length: at most [`MAX_NAME_LEN`] bytes and [`MAX_RELATIONS`] relations.
///
/// # Errors
/// [`Error::InvalidLookup`] naming the model, the relation and the valid
/// ones; [`Error::InvalidQuery`] for a query over another model;
/// [`Error::InvalidValue`] for a NUL in a value of a prefetch's filter.
pub(crate) fn check_prefetch<M: Model>(specs: &[PrefetchSpec]) -> Result<()> {
    for spec in specs {
        let path = Path::resolve::<M>(spec)?;
        if let Some(filter) = &spec.filter {
            // Also when the main query finds no row and it never runs.
            check_nul(path.rel.target.meta(), filter)?;
        }
    }
    Ok(())
}

/// A prefetch path resolved on the models: the relations it goes through
/// (each with the model it starts from), then the relation to load.
struct Path {
    through: Vec<(&'static dyn DynModel, usize)>,
    owner: &'static dyn DynModel,
    rel: &'static RelationMeta,
    index: usize,
    /// Each parent's objects are put in key order here, not by the
    /// statement ([`sorted_on_client`]).
    sort: bool,
}

impl Path {
    /// Resolves `spec`'s path from `M`: an unknown relation, or a prefetch
    /// query over another model, is an error.
    fn resolve<M: Model>(spec: &PrefetchSpec) -> Result<Path> {
        const WHAT: &str = "prefetch_related relation";
        let mut owner: &'static dyn DynModel = crate::relation::ModelOps::<M>::new_static();
        check_len(M::META, WHAT, &spec.path, || relation_names(M::META))?;
        let mut segments = spec.path.split("__").peekable();
        let mut through = Vec::new();
        let (index, rel) = loop {
            let segment = segments.next().unwrap_or_default();
            let (index, rel) = relation_named(owner.meta(), segment, WHAT, |_| true)?;
            let Some(next) = segments.peek() else {
                break (index, rel);
            };
            if through.len() + 1 == MAX_RELATIONS {
                return Err(too_deep(rel.target.meta(), WHAT, next));
            }
            through.push((owner, index));
            owner = rel.target;
        };
        if let Some(table) = spec.model {
            if table != rel.target.meta().table {
                return Err(Error::from(crate::error::QueryError {
                    model: owner.meta().name,
                    reason: format!(
                        "prefetch of `{}` takes a query over {}, not over table `{table}`",
                        spec.path,
                        rel.target.meta().name
                    ),
                }));
            }
        }
        Ok(Path {
            through,
            owner,
            rel,
            index,
            sort: sorted_on_client(rel, spec),
        })
    }

    /// The objects the path ends on (`posts__tags`: every loaded post of
    /// every root), always in the same order.
    fn objects<'a, M: Model>(&self, roots: &'a mut [M]) -> Vec<&'a mut (dyn Any + Send)> {
        let mut objects: Vec<&mut (dyn Any + Send)> = roots
            .iter_mut()
            .map(|m| m as &mut (dyn Any + Send))
            .collect();
        for &(owner, index) in &self.through {
            objects = objects
                .into_iter()
                .flat_map(|o| owner.related_mut(o, index))
                .collect();
        }
        objects
    }
}

/// Related rows by their parent's key.
type KeyMap<V> = foldhash::HashMap<Key, V>;

/// One prefetch level: relation `rel` (index `index` of `owner`) for a
/// list of parent objects, loaded with one query.
struct Level {
    owner: &'static dyn DynModel,
    rel: &'static RelationMeta,
    index: usize,
    /// A foreign key or one-to-one: one target per parent.
    forward: bool,
    /// Each parent's key, by position (`None`: NULL).
    parent_keys: Vec<Option<Key>>,
    /// Each key's first parent, by position.
    first: KeyMap<usize>,
    /// A key shared by several parents (copies of one object after a
    /// forward level): each copy needs the rows, so they are kept.
    repeated: bool,
    /// Each parent's objects are put in key order after grouping.
    sort: bool,
    /// The statement, and the column (and its type) that says which parent
    /// a row belongs to; `None` when no parent has a key.
    query: Option<(Statement, usize, SqlType)>,
}

/// The rows of a [`Level`], before they are attached.
enum Fetched {
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
struct Kept {
    rows: Vec<Row>,
    of_parent: Vec<Vec<usize>>,
}

impl Level {
    /// Reads the parents' keys and renders the query, `key = ANY($1)` with
    /// their distinct keys.
    fn plan(path: &Path, objects: &[&mut (dyn Any + Send)], spec: &PrefetchSpec) -> Result<Level> {
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
    fn parents(
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
    async fn fetch(&self, db: &Db) -> Result<Fetched> {
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
    async fn read(
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
    fn attach(&self, mut objects: Vec<&mut (dyn Any + Send)>, fetched: Fetched) -> Result<()> {
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
struct Grouper<'l> {
    level: &'l Level,
    key_index: usize,
    key_type: SqlType,
    /// One group per parent ([`DynModel::new_groups`]).
    groups: Box<dyn Any + Send>,
    kept: Option<Kept>,
    last: Option<(Key, usize)>,
    /// When the level is [sorted](Level::sort) on the client: which
    /// parents' rows may have come out of primary key order.
    order: Option<ArrivalOrder>,
}

/// Which groups of a level sorted on the client need sorting. A parent's
/// rows mostly come together and in key order (as a table's rows are
/// stored): comparing each row's key with the previous row's, one integer
/// per row, spares comparing every group's objects afterwards. A parent
/// whose rows come in more than one run is sorted.
struct ArrivalOrder {
    /// The column of the target's primary key, and its type.
    column: usize,
    ty: SqlType,
    /// The previous row's parent and primary key.
    run: Option<(usize, Key)>,
    /// By parent position: some of its rows came.
    seen: Vec<bool>,
    /// By parent position: its rows may be out of key order.
    unsorted: Vec<bool>,
}

impl<'l> Grouper<'l> {
    fn new(level: &'l Level, key_index: usize, key_type: SqlType) -> Self {
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

    fn push(&mut self, row: Row) -> Result<()> {
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

    fn finish(mut self) -> Fetched {
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

/// Where the keys a level matches its rows by come from.
enum Keys<'a> {
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
struct LevelSql<'a> {
    /// The model whose objects get the related ones.
    owner: &'static ModelMeta,
    rel: &'static RelationMeta,
    spec: &'a PrefetchSpec,
    keys: Keys<'a>,
}

/// The field of `owner` a level matches its rows by: a forward relation's
/// key column, else the primary key.
fn parent_field(owner: &ModelMeta, rel: &RelationMeta) -> usize {
    match (rel.kind, rel.field) {
        (RelationKind::ForeignKey | RelationKind::OneToOne, Some(f)) => f,
        _ => owner.pk,
    }
}

/// Whether the parents of `levels[i]` are every row of its owner model:
/// the query has no condition and each level above loads every row of its
/// target (a reverse or many-to-many level without a filter of its own,
/// under such parents).
fn all_rows(levels: &[LevelSql<'_>], i: usize) -> bool {
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

/// Whether a level's objects are put in primary key order after they are
/// grouped by parent, rather than by `ORDER BY` in its statement: with no
/// ordering of its own and an integer or UUID key, which Rust orders as
/// PostgreSQL does. Sorting a few objects per parent costs less than the
/// server's sort of every row, and without `ORDER BY` PostgreSQL is free to
/// hash-join the level's rows instead of walking the key's index and
/// probing its parents once per row (on a table without an index on the
/// foreign key: 11 ms instead of 22-27 ms for 50,000 of 100,000 posts).
fn sorted_on_client(rel: &RelationMeta, spec: &PrefetchSpec) -> bool {
    let pk = rel.target.meta().pk_field().sql_type;
    spec.order.is_empty() && (pk.is_integer() || pk == SqlType::Uuid)
}

/// The alias of a many-to-many level's link table.
const LINK: &str = "prefetch_link";

/// `SELECT <target columns>[, link key] FROM target [JOIN link] WHERE key
/// <keys> [AND filter] ORDER BY ..` for `levels[i]`, and the column (and its
/// type) that says which parent a row belongs to.
fn render(levels: &[LevelSql<'_>], i: usize) -> Result<(Statement, usize, SqlType)> {
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
        let order: Vec<(&'static crate::model::FieldMeta, bool)> = if level.spec.order.is_empty() {
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
fn push_from_where(w: &mut SqlWriter, levels: &[LevelSql<'_>], i: usize) -> Result<()> {
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
