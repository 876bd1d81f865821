//! `prefetch_related`: paths resolved and checked, the levels run by the
//! parents' keys ([`prefetch`]) or pipelined with the query
//! ([`prefetch_pipelined`]).

use std::future::Future;
use std::task::{Context, Waker};

use futures_util::future::maybe_done;

use crate::db::{Conn, Db, InFlight};
use crate::error::{Error, Result};
use crate::model::Model;
#[cfg(doc)]
use crate::query::lookup::MAX_NAME_LEN;
use crate::query::q::check_nul;
use crate::query::q::Node;
use crate::sql::Statement;
use crate::types::SqlType;

use super::level::{Fetched, Level};
use super::path::{Path, PrefetchSpec};
use super::render::{render, Keys, LevelSql};

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
            // Under row-level security outside a transaction block, each
            // statement holds a connection of its own (`db/rls.rs`).
            let pinned = match db.rls_block() {
                None => db.pinned().await?,
                Some(_) => db.clone(),
            };
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
pub(super) fn depth(spec: &PrefetchSpec) -> usize {
    spec.path.matches("__").count()
}

/// `specs` with the prefixes of their paths (`posts__tags` needs `posts`
/// first; Django adds it too), each path once, shallowest first.
pub(super) fn with_prefixes(specs: &[PrefetchSpec]) -> Vec<PrefetchSpec> {
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
pub(super) fn pipelined_levels<M: Model>(
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
pub(super) async fn read_pipelined<M, F>(
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
pub(super) fn awaited() -> Error {
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
