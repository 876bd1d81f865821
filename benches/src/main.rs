//! This ORM against hand-written tokio-postgres (the limit), diesel-async
//! and SeaORM, on the same database in the same run.
//!
//! `cd benches && cargo run --release --features peers -- [--quick] [--rounds N]
//! [--only LIST] [--sync-commit off|on|both] [--write-results [PATH]]`
//!
//! Each workload runs every implementation in turn for a number of rounds,
//! after one warm-up run of each; each round starts one implementation
//! later (raw, orm, diesel, seaorm; then orm, diesel, seaorm, raw; ...), so
//! no implementation always runs first. The reads (not `stream`) run each
//! round in [`SLICES`] slices of their inputs, every implementation per
//! slice. The write workloads also compare the whole `users` table each run
//! leaves behind. The table shows each one's
//! median per-operation time and its ratio to raw. Every implementation
//! uses exactly one connection to the same database: raw is one
//! `tokio_postgres::Client` with its statements prepared once, the ORM a
//! `Db` pool of `max_size(1)`, diesel-async a deadpool pool of one
//! `AsyncPgConnection`, SeaORM a sqlx pool of one connection. Without the
//! `peers` feature the diesel and SeaORM columns are absent.

mod measure;
mod orm;
mod raw;
mod report;
mod schema;
mod stream;

#[cfg(feature = "peers")]
mod diesel_side;
#[cfg(feature = "peers")]
mod seaorm;

use std::collections::HashMap;
use std::error::Error;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::Utc;
use orm_core::Db;
use tokio_postgres::{Client, NoTls};

use crate::measure::{
    cpu_affinity, cpu_model, load_average, machine_cores, measure, thousands, Run,
};
use crate::report::{Log, Samples, Side, Target, SIDES};
use crate::schema::{new_users, Fnv, PlanCount, Rng, BLACK, FAN_OUT, MAX_OFFSET};

/// Every fallible function's result.
pub type BoxResult<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// Gets per transaction block in the `unnamed` workload's block rows.
pub const BLOCK: usize = 10;

/// Concurrent tasks of the `concurrent` workload.
const TASKS: usize = 64;

// ---------------------------------------------------------------------------
// Command line

/// One workload (a row or two of the table), by its `--only` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    Get,
    Filter,
    All,
    Concurrent,
    Join,
    Prefetch,
    NoIndex,
    Insert,
    Bulk,
    Update,
    Delete,
    Stream,
    Replica,
    /// Not a default workload (`--only unnamed`): `StatementMode::Unnamed`.
    Unnamed,
}

impl Workload {
    /// In the order they run: the reads share one fill of `users`; the
    /// writes empty the tables. `noindex` runs after the other reads that
    /// use `posts` and `comments`: it drops their foreign-key indexes and
    /// re-creates them before it returns, error or not.
    const ALL: [Workload; 13] = [
        Workload::Get,
        Workload::Filter,
        Workload::All,
        Workload::Concurrent,
        Workload::Replica,
        Workload::Join,
        Workload::Prefetch,
        Workload::NoIndex,
        Workload::Insert,
        Workload::Bulk,
        Workload::Update,
        Workload::Delete,
        Workload::Stream,
    ];

    fn key(self) -> &'static str {
        match self {
            Workload::Get => "get",
            Workload::Filter => "filter",
            Workload::All => "all",
            Workload::Concurrent => "concurrent",
            Workload::Join => "join",
            Workload::Prefetch => "prefetch",
            Workload::NoIndex => "noindex",
            Workload::Insert => "insert",
            Workload::Bulk => "bulk",
            Workload::Update => "update",
            Workload::Delete => "delete",
            Workload::Stream => "stream",
            Workload::Replica => "replica",
            Workload::Unnamed => "unnamed",
        }
    }

    /// `key`, or the name it had before (`create`).
    fn parse(key: &str) -> Option<Workload> {
        let key = match key.trim() {
            "create" => "insert",
            other => other,
        };
        Workload::ALL
            .into_iter()
            .chain(Workload::EXTRA)
            .find(|w| w.key() == key)
    }

    /// Run only when named in `--only`.
    const EXTRA: [Workload; 1] = [Workload::Unnamed];
}

/// The parsed command line.
struct Options {
    quick: bool,
    rounds: usize,
    /// Rounds of the `stream` workload: as `rounds`, but 1 with `--quick`
    /// unless `--rounds` is given.
    stream_rounds: usize,
    only: Vec<Workload>,
    /// `synchronous_commit` values the write workloads run with.
    sync_commit: Vec<bool>,
    /// Where `--write-results` writes the report.
    write_results: Option<PathBuf>,
}

const USAGE: &str = "\
usage: orm-benches [--quick] [--rounds N] [--only LIST] [--sync-commit off|on|both]
                   [--write-results [PATH]]

  --quick             1/10th of the sizes and 3 rounds (a smoke test)
  --rounds N          interleaved rounds per workload (default 7, quick 3);
                      stream runs 1 with --quick unless --rounds is given
  --only LIST         run only these workloads (comma separated):
                      get,filter,all,concurrent,join,prefetch,noindex,insert,bulk,update,
                      delete,stream,replica; and, only when named here, unnamed
                      (StatementMode::Unnamed: ORM vs raw query_typed, vs raw
                      prepared, blocks of 10 gets, through pgbouncer if installed)
  --sync-commit MODE  synchronous_commit for the write workloads (default both)
  --write-results     also write the report to benches/RESULTS.md (or PATH)

Build with `--features peers` for the diesel and SeaORM columns.";

fn parse_args() -> BoxResult<Options> {
    let mut quick = false;
    let mut rounds = None;
    let mut only = Workload::ALL.to_vec();
    let mut sync_commit = vec![false, true];
    let mut write_results = None;
    let mut args = std::env::args().skip(1).peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--rounds" => {
                let n: usize = args.next().ok_or("--rounds needs a number")?.parse()?;
                if n == 0 {
                    return Err("--rounds must be at least 1".into());
                }
                rounds = Some(n);
            }
            "--only" => {
                let list = args.next().ok_or("--only needs a list")?;
                only = list
                    .split(',')
                    .map(|key| {
                        Workload::parse(key)
                            .ok_or_else(|| format!("unknown workload `{key}`\n{USAGE}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--sync-commit" => {
                sync_commit = match args.next().as_deref() {
                    Some("off") => vec![false],
                    Some("on") => vec![true],
                    Some("both") => vec![false, true],
                    _ => return Err(format!("--sync-commit needs off, on or both\n{USAGE}").into()),
                };
            }
            "--write-results" => {
                let path = match args.peek() {
                    Some(p) if !p.starts_with("--") => {
                        PathBuf::from(args.next().unwrap_or_default())
                    }
                    _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/RESULTS.md")),
                };
                write_results = Some(path);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}").into()),
        }
    }
    let stream_rounds = match rounds {
        Some(n) => n,
        None if quick => 1,
        None => 7,
    };
    Ok(Options {
        quick,
        rounds: rounds.unwrap_or(if quick { 3 } else { 7 }),
        stream_rounds,
        only,
        sync_commit,
        write_results,
    })
}

/// How much each workload does; `--quick` divides most sizes by 10.
struct Sizes {
    /// Users of the read workloads' table (get, filter, all, concurrent).
    users: usize,
    gets: usize,
    filters: usize,
    /// Loads of every user per run (workload 3).
    all_loads: usize,
    /// Users of the two join sizes, and the loads per run of each.
    join: [(usize, usize); 2],
    /// Users of the prefetch workload (`FAN_OUT` posts each, `FAN_OUT`
    /// comments per post), and loads per run.
    prefetch_users: usize,
    prefetch_loads: usize,
    /// Users of the `noindex` rows' two fills (`FAN_OUT` posts each; the
    /// smaller also `FAN_OUT` comments per post), and loads per run of
    /// every row.
    noindex_users: [usize; 2],
    noindex_loads: usize,
    inserts: usize,
    bulk_rows: usize,
    updates: usize,
    deletes: usize,
    concurrent_gets: usize,
    stream_rows: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        let div = if quick { 10 } else { 1 };
        Sizes {
            users: 10_000 / div,
            gets: 10_000 / div,
            filters: 1_000 / div,
            all_loads: 20,
            join: [(100, 1_000 / div), (10_000 / div, 20)],
            prefetch_users: 100 / div,
            prefetch_loads: 20,
            // The smaller fill is not divided: the tree of 100 users is the
            // prefetch workload's full size, where the missing indexes show.
            noindex_users: [100, 10_000 / div],
            noindex_loads: 20,
            inserts: 10_000 / div,
            bulk_rows: 10_000 / div,
            updates: 10_000 / div,
            deletes: 10_000 / div,
            concurrent_gets: 10_000 / div,
            stream_rows: 1_000_000 / div,
        }
    }
}

// ---------------------------------------------------------------------------
// The implementations

/// The implementations, each with its own connection to the benchmark
/// database.
struct Sides {
    raw: raw::Raw,
    orm: orm::Orm,
    #[cfg(feature = "peers")]
    diesel: diesel_side::Diesel,
    #[cfg(feature = "peers")]
    seaorm: seaorm::SeaOrm,
}

impl Sides {
    /// The ORM on `db` (a pool of `max_size(1)`), every other
    /// implementation on a new connection of its own to `url`.
    async fn connect(url: &str, db: Db) -> BoxResult<Sides> {
        Ok(Sides {
            raw: raw::Raw::prepare(connect(url).await?).await?,
            orm: orm::Orm { db },
            #[cfg(feature = "peers")]
            diesel: diesel_side::Diesel::connect(url).await?,
            #[cfg(feature = "peers")]
            seaorm: seaorm::SeaOrm::connect(url).await?,
        })
    }
}

/// Measures `$call` on the implementation `$side`, with `$s` bound to it:
/// `run_side!(self, side, |x| x.get(&ids))`. Each implementation has
/// inherent methods of the same names.
macro_rules! run_side {
    ($bench:expr, $side:expr, |$s:ident| $call:expr) => {
        match $side {
            Side::Raw => {
                let $s = &$bench.sides.raw;
                measure($call).await?
            }
            Side::Orm => {
                let $s = &$bench.sides.orm;
                measure($call).await?
            }
            #[cfg(feature = "peers")]
            Side::Diesel => {
                let $s = &$bench.sides.diesel;
                measure($call).await?
            }
            #[cfg(feature = "peers")]
            Side::SeaOrm => {
                let $s = &$bench.sides.seaorm;
                measure($call).await?
            }
        }
    };
}

/// Slices of every round of the workloads of many operations. A round runs
/// the first slice of its inputs on every implementation, then the second,
/// and so on, each slice starting one implementation later. A slowdown of
/// the machine lasting a second (another VM, a background job) then slows
/// every implementation alike, instead of the one that happened to be
/// running. In `concurrent`, every slice starts its 64 tasks anew (about 16
/// gets each); the writes reset the table before every slice of every
/// implementation ([`sliced_write_round`]). `bulk` (one operation) runs
/// [`BULK_REPEATS`] times per round in the same way; `stream` (its memory
/// is measured per pass) runs whole.
const SLICES: usize = 10;

/// `loads` split into at most [`SLICES`] slices, as even as can be, none
/// empty.
fn slice_loads(loads: usize) -> Vec<usize> {
    let k = SLICES.min(loads).max(1);
    (0..k)
        .map(|i| loads / k + usize::from(i < loads % k))
        .collect()
}

/// One round's runs by implementation, each the sum of its slices
/// ([`Run::then`]), in the order the implementations first ran.
#[derive(Default)]
struct RoundRuns(Vec<(Side, Run)>);

impl RoundRuns {
    fn add(&mut self, side: Side, run: Run) {
        match self.0.iter_mut().find(|(s, _)| *s == side) {
            Some((_, total)) => *total = total.then(run),
            None => self.0.push((side, run)),
        }
    }
}

/// One round of a read workload over `$parts` (its input in slices, see
/// [`SLICES`]): `$call` runs one slice, `$part`, on the implementation bound
/// to `$s`. Slice `k` of round `r` runs in [`round_order`]`(r + k)`.
macro_rules! sliced_round {
    ($bench:expr, $round:expr, $parts:expr, |$s:ident, $part:ident| $call:expr) => {{
        let mut runs = RoundRuns::default();
        for (k, $part) in $parts.into_iter().enumerate() {
            for side in round_order($round + k) {
                runs.add(side, run_side!($bench, side, |$s| $call));
            }
        }
        runs.0
    }};
}

/// Loads per implementation in the warm-up of each `noindex` row (not
/// timed). PostgreSQL plans a named statement's first five executions with
/// their parameters and only then may switch to a generic plan; after six,
/// every timed load runs with the plan it keeps, as on a long-running
/// server.
const NOINDEX_WARM_LOADS: usize = 6;

/// One row of the `noindex` workload, as the other reads (a warm-up of
/// [`NOINDEX_WARM_LOADS`] loads per implementation, then rounds in slices
/// of `noindex_loads` loads), logging each side's plan counts after the
/// warm-up and after the rounds ([`Bench::log_plans`]). `$key` names the
/// row in the log; `$call` runs `$part` loads on the implementation bound
/// to `$s`. Evaluates to the row's [`Samples`].
///
/// Every implementation starts the row on a new connection. PostgreSQL
/// decides between a custom and the generic plan of a prepared statement
/// by comparing the generic plan's cost with the average cost of the
/// statement's custom plans so far in the session, and the rows share
/// statements (the posts of some users) on tables of other sizes: on the
/// old connections a row's choice would depend on the rows and workloads
/// that ran before it.
macro_rules! noindex_row {
    ($bench:expr, $key:expr, $label:expr, |$s:ident, $part:ident| $call:expr) => {{
        let loads = $bench.sizes.noindex_loads;
        let mut samples = Samples::new($key, $label, loads, Target::MaxRatio(1.10));
        let db = Db::builder(&$bench.url).max_size(1).connect().await?;
        $bench.sides = Sides::connect(&$bench.url, db).await?;
        let before = $bench.plan_counts().await?;
        for &side in SIDES {
            let $part = NOINDEX_WARM_LOADS;
            run_side!($bench, side, |$s| $call);
        }
        let warm = format!("after the warm-up ({NOINDEX_WARM_LOADS} loads per side)");
        $bench.log_plans($key, &warm, &before).await?;
        for round in 1..=$bench.rounds {
            let runs = sliced_round!($bench, round, slice_loads(loads), |$s, $part| $call);
            $bench.record(&mut samples, round, &runs)?;
        }
        let after = format!("after warm-up and {} rounds", $bench.rounds);
        $bench.log_plans($key, &after, &before).await?;
        samples
    }};
}

/// Bulk inserts per implementation and round (each one operation of
/// `bulk_rows` rows into an emptied table): a round runs the first on every
/// implementation, then the second, each starting one implementation later,
/// as the slices of the other workloads ([`SLICES`]).
const BULK_REPEATS: usize = 5;

/// One round of a write workload over `$parts` (its input in slices, see
/// [`SLICES`]), as [`sliced_round`]: before each implementation's run of a
/// slice the tables are reset with `$fill` users (not timed), after it
/// `users` is hashed, and every implementation must leave the same table
/// after each slice (the runs' own checksums cover only the ids or counts
/// they got back).
macro_rules! sliced_write_round {
    ($bench:expr, $name:expr, $round:expr, $fill:expr, $parts:expr,
     |$s:ident, $part:ident| $call:expr) => {{
        let mut runs = RoundRuns::default();
        for (k, $part) in $parts.into_iter().enumerate() {
            let mut tables = Vec::new();
            for side in round_order($round + k) {
                $bench.reset($fill).await?;
                runs.add(side, run_side!($bench, side, |$s| $call));
                tables.push((side.name(), $bench.table_hash().await?));
            }
            same_table(&format!("{}, slice {}", $name, k + 1), $round, &tables)?;
        }
        runs.0
    }};
}

/// The implementations in the order round `round` (1-based) runs them:
/// [`SIDES`] rotated to start at index `(round - 1) % SIDES.len()`, so that
/// no implementation always goes first (equally often when the number of
/// rounds is a multiple of `SIDES.len()`). Warm-ups run in [`SIDES`] order.
fn round_order(round: usize) -> impl Iterator<Item = Side> {
    let start = round.saturating_sub(1) % SIDES.len();
    SIDES[start..].iter().chain(&SIDES[..start]).copied()
}

/// Fails unless every run of a write workload's round (`(who, table hash)`
/// in the order they ran) left the same `users` table.
fn same_table(workload: &str, round: usize, tables: &[(&str, u64)]) -> BoxResult<()> {
    let Some(&(first, expected)) = tables.first() else {
        return Ok(());
    };
    for &(who, hash) in &tables[1..] {
        if hash != expected {
            return Err(format!(
                "{workload}, round {round}: {first} and {who} left different users tables \
                 (table hashes {expected:#x} vs {hash:#x})"
            )
            .into());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The workloads

/// The run's state: the implementations, a connection for setup, the log.
struct Bench {
    sides: Sides,
    /// Fills and empties the tables (not one of the measured connections).
    admin: Client,
    /// The benchmark database's URL and name.
    url: String,
    dbname: String,
    sizes: Sizes,
    rounds: usize,
    rng: Rng,
    log: Log,
    results: Vec<Samples>,
}

impl Bench {
    /// Empties the three tables (identities restarted, so every side gets
    /// the same ids) and fills `users` with `n` users (`User 0`, ... with
    /// [`schema::hair_color_of`]'s colours).
    async fn reset(&self, n: usize) -> BoxResult<()> {
        self.admin
            .batch_execute("TRUNCATE users, posts, comments RESTART IDENTITY")
            .await?;
        if n > 0 {
            self.admin
                .execute(
                    "INSERT INTO users (name, hair_color) \
                     SELECT 'User ' || i, CASE WHEN i % 2 = 0 THEN 'black' \
                                               WHEN i % 10 = 5 THEN NULL ELSE 'brown' END \
                     FROM generate_series(0, $1::integer - 1) AS i ORDER BY i",
                    &[&(n as i32)],
                )
                .await?;
        }
        Ok(())
    }

    /// [`reset`](Bench::reset) with `n` users, `posts` posts per user and
    /// `comments` comments per post, then `VACUUM ANALYZE`.
    async fn fill(&self, n: usize, posts: usize, comments: usize) -> BoxResult<()> {
        self.reset(n).await?;
        if posts > 0 {
            // Round-robin, so that a user's posts are spread over the table.
            self.admin
                .execute(
                    "INSERT INTO posts (user_id, title, body) \
                     SELECT u, 'Post ' || p || ' by user ' || u, \
                            CASE WHEN (u + p) % 5 = 0 THEN NULL \
                                 ELSE repeat('lorem ipsum ', 8 + (u * 7 + p * 13) % 25) END \
                     FROM generate_series(0, $2::integer - 1) AS p, \
                          generate_series(1, $1::integer) AS u \
                     ORDER BY p, u",
                    &[&(n as i32), &(posts as i32)],
                )
                .await?;
        }
        if comments > 0 {
            self.admin
                .execute(
                    "INSERT INTO comments (post_id, text) \
                     SELECT post, 'Comment ' || c || ' on post ' || post \
                     FROM generate_series(0, $2::integer - 1) AS c, \
                          generate_series(1, $1::integer) AS post \
                     ORDER BY c, post",
                    &[&((n * posts) as i32), &(comments as i32)],
                )
                .await?;
        }
        self.admin
            .batch_execute("VACUUM ANALYZE users, posts, comments")
            .await?;
        Ok(())
    }

    /// A hash of every byte of every value of `users` (by `id`), read
    /// through the setup connection after a write workload's run (not
    /// timed): the run's own checksum covers only the ids or row counts it
    /// got back, which are the same for everyone after `RESTART IDENTITY`.
    async fn table_hash(&self) -> BoxResult<u64> {
        let rows = self
            .admin
            .query("SELECT id, name, hair_color FROM users ORDER BY id", &[])
            .await?;
        let mut h = Fnv::default();
        for row in &rows {
            let id: i32 = row.get(0);
            let name: &str = row.get(1);
            let hair_color: Option<&str> = row.get(2);
            h.write(&id.to_le_bytes());
            h.text(name);
            match hair_color {
                None => h.write(&[0]),
                Some(c) => {
                    h.write(&[1]);
                    h.text(c);
                }
            }
        }
        Ok(h.finish())
    }

    /// Sets `synchronous_commit` for the database (new sessions) and on
    /// every side's connection, and checks that each side's session shows it.
    async fn set_sync_commit(&mut self, on: bool) -> BoxResult<()> {
        let value = if on { "on" } else { "off" };
        self.admin
            .batch_execute(&format!(
                "ALTER DATABASE \"{}\" SET synchronous_commit = {value}",
                self.dbname
            ))
            .await?;
        let shown = [
            ("raw", self.sides.raw.set_sync_commit(on).await?),
            ("orm", self.sides.orm.set_sync_commit(on).await?),
            #[cfg(feature = "peers")]
            ("diesel", self.sides.diesel.set_sync_commit(on).await?),
            #[cfg(feature = "peers")]
            ("seaorm", self.sides.seaorm.set_sync_commit(on).await?),
        ];
        for (side, got) in shown {
            if got != value {
                return Err(format!("{side}: synchronous_commit is {got}, not {value}").into());
            }
        }
        self.log.line(format!(
            "  synchronous_commit = {value} on every connection"
        ));
        Ok(())
    }

    /// Records a round and logs its line.
    fn record(&mut self, s: &mut Samples, round: usize, runs: &[(Side, Run)]) -> BoxResult<()> {
        let line = s.record(round, runs)?;
        self.log.line(line);
        Ok(())
    }

    /// `n` random ids of the filled `users` table.
    fn random_ids(&mut self, n: usize) -> Vec<i32> {
        let users = self.sizes.users as u64;
        (0..n).map(|_| self.rng.range(1, users) as i32).collect()
    }

    /// 1: get by primary key.
    async fn get(&mut self) -> BoxResult<()> {
        let label = format!("1 get by pk x{}", thousands(self.sizes.gets));
        self.get_fresh("get", label, Target::MaxRatio(1.05)).await
    }

    /// A row of gets by primary key over fresh random ids, on the sides as
    /// they are set.
    async fn get_fresh(
        &mut self,
        key: &'static str,
        label: String,
        target: Target,
    ) -> BoxResult<()> {
        let n = self.sizes.gets;
        let ids = self.random_ids(n);
        let s = self.get_row(key, label, &ids, target).await?;
        self.results.push(s);
        Ok(())
    }

    /// The rounds of [`get`](Bench::get) over `ids`, as row `key`.
    async fn get_row(
        &mut self,
        key: &'static str,
        label: String,
        ids: &[i32],
        target: Target,
    ) -> BoxResult<Samples> {
        let n = ids.len();
        let mut s = Samples::new(key, label, n, target);
        let warm = &ids[..n.min(500)];
        for &side in SIDES {
            run_side!(self, side, |x| x.get(warm));
        }
        for round in 1..=self.rounds {
            let runs = sliced_round!(self, round, ids.chunks(n.div_ceil(SLICES)), |x, part| {
                x.get(part)
            });
            self.record(&mut s, round, &runs)?;
        }
        Ok(s)
    }

    /// 2: `WHERE hair_color = $1 ORDER BY id LIMIT 20 OFFSET $2`, random offsets.
    async fn filter(&mut self) -> BoxResult<()> {
        let label = format!(
            "2 filter + order_by + limit 20, offset 0..={MAX_OFFSET} x{}",
            thousands(self.sizes.filters)
        );
        self.filter_fresh("filter", label, Target::MaxRatio(1.10))
            .await
    }

    /// A row of filtered pages at fresh random offsets, on the sides as
    /// they are set.
    async fn filter_fresh(
        &mut self,
        key: &'static str,
        label: String,
        target: Target,
    ) -> BoxResult<()> {
        let n = self.sizes.filters;
        let pages: Vec<(String, i64)> = (0..n)
            .map(|_| (BLACK.to_owned(), self.rng.range(0, MAX_OFFSET) as i64))
            .collect();
        let s = self.filter_row(key, label, &pages, target).await?;
        self.results.push(s);
        Ok(())
    }

    /// The rounds of [`filter`](Bench::filter) over `pages`, as row `key`.
    async fn filter_row(
        &mut self,
        key: &'static str,
        label: String,
        pages: &[(String, i64)],
        target: Target,
    ) -> BoxResult<Samples> {
        let n = pages.len();
        let mut s = Samples::new(key, label, n, target);
        let warm = &pages[..n.min(50)];
        for &side in SIDES {
            run_side!(self, side, |x| x.filter(warm));
        }
        for round in 1..=self.rounds {
            let runs = sliced_round!(self, round, pages.chunks(n.div_ceil(SLICES)), |x, part| {
                x.filter(part)
            });
            self.record(&mut s, round, &runs)?;
        }
        Ok(s)
    }

    /// 10: `get` and `filter` as rows 1 and 2 (other random inputs),
    /// the ORM on a `Db` declared with one read replica: the benchmark
    /// server itself, on a second pool of one connection (a server not in
    /// recovery counts as having replayed every write), so the rows show
    /// the client's routing work, not a second server's speed. Outside a
    /// `read_your_writes` scope, as most reads run.
    async fn replica(&mut self) -> BoxResult<()> {
        let mut rng = Rng(0x5eed_0f0b_5eed ^ 0x24);
        let users = self.sizes.users as u64;
        let ids: Vec<i32> = (0..self.sizes.gets)
            .map(|_| rng.range(1, users) as i32)
            .collect();
        let pages: Vec<(String, i64)> = (0..self.sizes.filters)
            .map(|_| (BLACK.to_owned(), rng.range(0, MAX_OFFSET) as i64))
            .collect();
        let routed = Db::builder(&self.url)
            .max_size(1)
            .replica(self.url.clone())
            .connect()
            .await?;
        let plain = std::mem::replace(&mut self.sides.orm, orm::Orm { db: routed });
        let label = format!("10 get by pk, Db with 1 replica x{}", thousands(ids.len()));
        let get = self
            .get_row("replica-get", label, &ids, Target::MaxRatio(1.05))
            .await;
        let label = format!(
            "10 filter + order_by + limit 20, Db with 1 replica x{}",
            thousands(pages.len())
        );
        let filter = match get {
            Ok(_) => Some(
                self.filter_row("replica-filter", label, &pages, Target::MaxRatio(1.10))
                    .await,
            ),
            Err(_) => None,
        };
        let routed = std::mem::replace(&mut self.sides.orm, plain);
        let served = routed.db.replica_stats().map_or(0, |s| s.replicas[0].reads);
        self.log.line(format!(
            "  replica: {served} reads served by the replica pool, {} by the primary",
            routed.db.replica_stats().map_or(0, |s| s.primary_reads)
        ));
        self.results.push(get?);
        if let Some(filter) = filter {
            self.results.push(filter?);
        }
        Ok(())
    }

    /// A row of gets in transaction blocks of [`BLOCK`], on the sides as
    /// they are set.
    async fn block_row(&mut self, label: String, target: Target) -> BoxResult<()> {
        let n = self.sizes.gets;
        let ids = self.random_ids(n);
        let mut s = Samples::new("unnamed", label, n, target);
        let warm = &ids[..n.min(500)];
        for &side in SIDES {
            run_side!(self, side, |x| x.get_blocks(warm));
        }
        let chunk = (n / BLOCK).div_ceil(SLICES) * BLOCK;
        for round in 1..=self.rounds {
            let runs = sliced_round!(self, round, ids.chunks(chunk), |x, part| {
                x.get_blocks(part)
            });
            self.record(&mut s, round, &runs)?;
        }
        self.results.push(s);
        Ok(())
    }

    /// 13-21 (`--only unnamed`): the ORM in `StatementMode::Unnamed`
    /// against raw tokio-postgres doing the same protocol (`query_typed`,
    /// the same parameter types: what the ORM itself costs), against raw
    /// prepared statements (what the mode costs), in transaction blocks of
    /// [`BLOCK`] gets, and through a real pgbouncer in transaction mode
    /// when one is installed (and the server is the throwaway one).
    async fn unnamed(&mut self) -> BoxResult<()> {
        let unnamed = |url: String| async move {
            Db::builder(url)
                .statement_mode(orm_core::StatementMode::Unnamed)
                .max_size(1)
                .connect()
                .await
        };
        let named = self.sides.orm.db.clone();
        let gets = thousands(self.sizes.gets);
        let pages = thousands(self.sizes.filters);
        self.sides.orm.db = unnamed(self.url.clone()).await?;
        self.sides.raw.typed = Some(connect(&self.url).await?);
        let label = format!("13 get by pk x{gets}: ORM unnamed / raw query_typed");
        self.get_fresh("unnamed", label, Target::MaxRatio(1.10))
            .await?;
        let label = format!("14 filter x{pages}: ORM unnamed / raw query_typed");
        self.filter_fresh("unnamed", label, Target::MaxRatio(1.10))
            .await?;
        let label = format!("17 get x{gets} in blocks of {BLOCK}: ORM unnamed / raw query_typed");
        self.block_row(label, Target::MaxRatio(1.10)).await?;
        self.sides.raw.typed = None;
        let label = format!("15 get by pk x{gets}: ORM unnamed / raw prepared");
        self.get_fresh("unnamed", label, Target::MaxRatio(2.50))
            .await?;
        let label = format!("16 filter x{pages}: ORM unnamed / raw prepared");
        self.filter_fresh("unnamed", label, Target::MaxRatio(2.50))
            .await?;
        let label = format!("18 get x{gets} in blocks of {BLOCK}: ORM unnamed / raw prepared");
        self.block_row(label, Target::MaxRatio(2.50)).await?;
        self.sides.orm.db = named.clone();
        let label = format!("19 get x{gets} in blocks of {BLOCK}: ORM named / raw prepared");
        self.block_row(label, Target::MaxRatio(1.10)).await?;
        let pgbouncer = orm_core::testing::pgbouncer::TestPgbouncer::binary().is_some()
            && std::env::var_os("DATABASE_URL").is_none();
        if pgbouncer {
            let bouncer = orm_core::testing::pgbouncer::shared()?;
            let url = bouncer.url(&self.dbname);
            self.sides.orm.db = unnamed(url.clone()).await?;
            self.sides.raw.typed = Some(connect(&url).await?);
            let label =
                format!("20 get by pk x{gets} via pgbouncer: ORM unnamed / raw query_typed");
            self.get_fresh("unnamed", label, Target::MaxRatio(1.10))
                .await?;
            let label = format!("21 filter x{pages} via pgbouncer: ORM unnamed / raw query_typed");
            self.filter_fresh("unnamed", label, Target::MaxRatio(1.10))
                .await?;
            self.sides.raw.typed = None;
            self.sides.orm.db = named;
        } else {
            self.sides.orm.db = named;
            self.log.line(
                "  unnamed: pgbouncer rows skipped (pgbouncer not installed, or DATABASE_URL set)"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// 3: every row of `users` into models.
    async fn all(&mut self) -> BoxResult<()> {
        let loads = self.sizes.all_loads;
        let label = format!(
            "3 fetch all {} rows (per fetch, x{loads})",
            thousands(self.sizes.users)
        );
        let mut s = Samples::new("all", label, loads, Target::MaxRatio(1.05));
        for &side in SIDES {
            run_side!(self, side, |x| x.all(1));
        }
        for round in 1..=self.rounds {
            let runs = sliced_round!(self, round, slice_loads(loads), |x, part| x.all(part));
            self.record(&mut s, round, &runs)?;
        }
        self.results.push(s);
        Ok(())
    }

    /// 9: `TASKS` concurrent tasks doing gets by pk through one connection.
    async fn concurrent(&mut self) -> BoxResult<()> {
        let n = self.sizes.concurrent_gets;
        let ids = self.random_ids(n);
        let label = format!(
            "9 {TASKS} concurrent tasks, get by pk x{} on one pooled connection (per get)",
            thousands(n)
        );
        let mut s = Samples::new("concurrent", label, n, Target::MinThroughput(0.9));
        let warm = &ids[..n.min(640)];
        for &side in SIDES {
            run_side!(self, side, |x| x.concurrent(warm, TASKS));
        }
        for round in 1..=self.rounds {
            let runs = sliced_round!(self, round, ids.chunks(n.div_ceil(SLICES)), |x, part| {
                x.concurrent(part, TASKS)
            });
            self.record(&mut s, round, &runs)?;
        }
        self.results.push(s);
        Ok(())
    }

    /// 4: users with their posts, `WHERE hair_color = 'black'`, at both sizes.
    async fn join(&mut self) -> BoxResult<()> {
        self.log.line(format!(
            "  join: the ORM sends {}",
            orm::Orm::join_sql(BLACK)?
        ));
        for (users, loads) in self.sizes.join {
            // One post per user: `users LEFT JOIN posts` then has one row
            // per user of that colour, as the ORM's query from `posts` does.
            self.fill(users, 1, 0).await?;
            self.log.line(format!(
                "  join: {} users with one post each (not timed)",
                thousands(users)
            ));
            let label = format!(
                "4 users LEFT JOIN posts WHERE hair_color, {} users (per query, x{loads})",
                thousands(users)
            );
            let mut s = Samples::new("join", label, loads, Target::MaxRatio(1.10));
            for &side in SIDES {
                run_side!(self, side, |x| x.join(BLACK, 1));
            }
            for round in 1..=self.rounds {
                let runs = sliced_round!(self, round, slice_loads(loads), |x, part| {
                    x.join(BLACK, part)
                });
                self.record(&mut s, round, &runs)?;
            }
            self.results.push(s);
        }
        Ok(())
    }

    /// 5: users -> posts -> comments, two prefetch levels.
    async fn prefetch(&mut self) -> BoxResult<()> {
        let (users, loads) = (self.sizes.prefetch_users, self.sizes.prefetch_loads);
        self.fill(users, FAN_OUT, FAN_OUT).await?;
        let (posts, comments) = (users * FAN_OUT, users * FAN_OUT * FAN_OUT);
        self.log.line(format!(
            "  prefetch: {} users, {} posts, {} comments (not timed)",
            thousands(users),
            thousands(posts),
            thousands(comments)
        ));
        let label = format!(
            "5 prefetch {} users -> {} posts -> {} comments (per load, x{loads})",
            thousands(users),
            thousands(posts),
            thousands(comments)
        );
        let mut s = Samples::new("prefetch", label, loads, Target::MaxRatio(1.15));
        for &side in SIDES {
            run_side!(self, side, |x| x.prefetch(1));
        }
        for round in 1..=self.rounds {
            let runs = sliced_round!(self, round, slice_loads(loads), |x, part| x.prefetch(part));
            self.record(&mut s, round, &runs)?;
        }
        self.results.push(s);
        Ok(())
    }

    /// 10: prefetches on tables without the indexes on `posts.user_id` and
    /// `comments.post_id`: dropped first, re-created before returning
    /// whether the rows ran or failed, so the workloads after this one
    /// keep the schema they expect.
    async fn noindex(&mut self) -> BoxResult<()> {
        let dropped = self.drop_fk_indexes().await?;
        let rows = self.noindex_rows().await;
        let restored = self.restore_indexes(&dropped).await;
        let rows = rows?;
        restored?;
        self.results.extend(rows);
        Ok(())
    }

    /// The rows of [`noindex`](Bench::noindex), in the table's order.
    async fn noindex_rows(&mut self) -> BoxResult<Vec<Samples>> {
        let [small, big] = self.sizes.noindex_users;
        let loads = self.sizes.noindex_loads;
        let black = |users: usize| users.div_ceil(2);

        self.fill(small, FAN_OUT, FAN_OUT).await?;
        self.log.line(format!(
            "  noindex: {} users, {} posts, {} comments, no index on posts.user_id or \
             comments.post_id (not timed)",
            thousands(small),
            thousands(small * FAN_OUT),
            thousands(small * FAN_OUT * FAN_OUT)
        ));
        let tree = noindex_row!(
            self,
            "noindex-tree",
            format!(
                "10 no FK index: prefetch {} users -> {} posts -> {} comments (per load, x{loads})",
                thousands(small),
                thousands(small * FAN_OUT),
                thousands(small * FAN_OUT * FAN_OUT)
            ),
            |x, part| x.noindex_prefetch(part)
        );
        let few = noindex_row!(
            self,
            "noindex-few",
            format!(
                "10 no FK index: users WHERE hair_color with their posts, {} of {} users, {} \
                 posts (per load, x{loads})",
                thousands(black(small)),
                thousands(small),
                thousands(black(small) * FAN_OUT)
            ),
            |x, part| x.filtered_posts(BLACK, part)
        );

        self.fill(big, FAN_OUT, 0).await?;
        self.log.line(format!(
            "  noindex: {} users, {} posts, no index on posts.user_id (not timed)",
            thousands(big),
            thousands(big * FAN_OUT)
        ));
        let all = noindex_row!(
            self,
            "noindex-posts",
            format!(
                "10 no FK index: prefetch {} users -> {} posts (per load, x{loads})",
                thousands(big),
                thousands(big * FAN_OUT)
            ),
            |x, part| x.prefetch_posts(part)
        );
        let many = noindex_row!(
            self,
            "noindex-many",
            format!(
                "10 no FK index: users WHERE hair_color with their posts, {} of {} users, {} \
                 posts (per load, x{loads})",
                thousands(black(big)),
                thousands(big),
                thousands(black(big) * FAN_OUT)
            ),
            |x, part| x.filtered_posts(BLACK, part)
        );
        Ok(vec![all, tree, few, many])
    }

    /// Drops the indexes on `posts.user_id` and `comments.post_id` (the
    /// ORM's `generate_schemas` creates them: Django indexes foreign keys)
    /// in one implicit transaction; returns their names and definitions.
    async fn drop_fk_indexes(&mut self) -> BoxResult<Vec<(String, String)>> {
        let mut found: Vec<(String, String)> = Vec::new();
        for (table, column) in [("posts", "user_id"), ("comments", "post_id")] {
            let rows = self
                .admin
                .query(
                    "SELECT indexname::text, indexdef FROM pg_indexes \
                     WHERE schemaname = current_schema() AND tablename = $1::text \
                       AND indexdef LIKE '%(' || $2::text || ')'",
                    &[&table, &column],
                )
                .await?;
            if rows.is_empty() {
                return Err(format!("noindex: no index on {table}.{column} to drop").into());
            }
            found.extend(rows.iter().map(|r| (r.get(0), r.get(1))));
        }
        let drops: String = found
            .iter()
            .map(|(name, _)| format!("DROP INDEX \"{}\";", name.replace('"', "\"\"")))
            .collect();
        self.admin.batch_execute(&drops).await?;
        let names: Vec<&str> = found.iter().map(|(name, _)| name.as_str()).collect();
        self.log.line(format!(
            "  noindex: dropped {} (not timed)",
            names.join(", ")
        ));
        Ok(found)
    }

    /// Re-creates the indexes [`drop_fk_indexes`](Bench::drop_fk_indexes)
    /// dropped, from their definitions.
    async fn restore_indexes(&mut self, dropped: &[(String, String)]) -> BoxResult<()> {
        let script: String = dropped.iter().map(|(_, def)| format!("{def};")).collect();
        self.admin.batch_execute(&script).await?;
        let defs: Vec<&str> = dropped.iter().map(|(_, def)| def.as_str()).collect();
        self.log
            .line(format!("  noindex: re-created {}", defs.join("; ")));
        Ok(())
    }

    /// Every side's prepared statements on `posts` or `comments` with
    /// their plan counts (`pg_prepared_statements`, read through the side's
    /// own connection; not timed).
    async fn plan_counts(&self) -> BoxResult<Vec<(Side, Vec<PlanCount>)>> {
        Ok(vec![
            (Side::Raw, self.sides.raw.plan_counts().await?),
            (Side::Orm, self.sides.orm.plan_counts().await?),
            #[cfg(feature = "peers")]
            (Side::Diesel, self.sides.diesel.plan_counts().await?),
            #[cfg(feature = "peers")]
            (Side::SeaOrm, self.sides.seaorm.plan_counts().await?),
        ])
    }

    /// Logs, per side, the prepared statements on `posts` or `comments`
    /// that ran since `before` ([`plan_counts`](Bench::plan_counts)) and
    /// how often PostgreSQL planned each with its parameters (custom) or
    /// ran its generic plan; the statements are cut at 160 characters.
    async fn log_plans(
        &mut self,
        row: &str,
        when: &str,
        before: &[(Side, Vec<PlanCount>)],
    ) -> BoxResult<()> {
        fn by_text(counts: &[PlanCount]) -> HashMap<&str, (i64, i64)> {
            let mut map: HashMap<&str, (i64, i64)> = HashMap::new();
            for (text, generic, custom) in counts {
                let e = map.entry(text.as_str()).or_default();
                *e = (e.0 + generic, e.1 + custom);
            }
            map
        }
        let after = self.plan_counts().await?;
        for (side, now) in &after {
            let was = before
                .iter()
                .find(|(s, _)| s == side)
                .map_or_else(HashMap::new, |(_, c)| by_text(c));
            let mut ran: Vec<(&str, i64, i64)> = by_text(now)
                .into_iter()
                .filter_map(|(text, (generic, custom))| {
                    let (g0, c0) = was.get(text).copied().unwrap_or_default();
                    let (g, c) = (generic - g0, custom - c0);
                    (g + c > 0).then_some((text, g, c))
                })
                .collect();
            ran.sort_unstable();
            let head = format!("  {row} plans, {when}: {}:", side.name());
            if ran.is_empty() {
                self.log.line(format!(
                    "{head} no prepared statement on posts or comments ran"
                ));
            }
            for (text, generic, custom) in ran {
                let short: String = text.chars().take(160).collect();
                let cut = if short.len() < text.len() {
                    format!("... ({} characters)", text.len())
                } else {
                    String::new()
                };
                self.log.line(format!(
                    "{head} {custom} custom, {generic} generic: {short}{cut}"
                ));
            }
        }
        Ok(())
    }

    /// 6: single-row inserts returning the id, into a table emptied before
    /// every slice.
    async fn insert(&mut self, mode: &str) -> BoxResult<()> {
        let n = self.sizes.inserts;
        let users = new_users(n, "insert");
        let label = format!("6 insert returning id x{} ({mode})", thousands(n));
        let mut s = Samples::new("insert", label, n, Target::MaxRatio(1.10));
        let warm = &users[..n.min(500)];
        for &side in SIDES {
            self.reset(0).await?;
            let input = warm.to_vec();
            run_side!(self, side, |x| x.insert(input));
        }
        let name = format!("insert ({mode})");
        for round in 1..=self.rounds {
            let parts = users.chunks(n.div_ceil(SLICES));
            let runs = sliced_write_round!(self, name, round, 0, parts, |x, part| {
                x.insert(part.to_vec())
            });
            self.record(&mut s, round, &runs)?;
        }
        self.results.push(s);
        Ok(())
    }

    /// 7: bulk inserts of `bulk_rows` users with their ids back, against
    /// raw `UNNEST .. RETURNING id`, and against raw `COPY` (no ids):
    /// [`BULK_REPEATS`] per implementation and round, interleaved, each into
    /// an emptied table.
    async fn bulk(&mut self, mode: &str) -> BoxResult<()> {
        let n = self.sizes.bulk_rows;
        let users = new_users(n, "bulk");
        let mut with_ids = Samples::new(
            "bulk",
            format!(
                "7 bulk insert {} rows with ids, vs raw UNNEST .. RETURNING id ({mode})",
                thousands(n)
            ),
            BULK_REPEATS,
            Target::MaxRatio(1.2),
        );
        let mut vs_copy = Samples::new(
            "bulk-copy",
            format!(
                "7 bulk insert {} rows, vs raw COPY BINARY without ids ({mode})",
                thousands(n)
            ),
            BULK_REPEATS,
            Target::MaxRatio(1.1),
        )
        .unchecked();
        let warm = &users[..n.min(1_000)];
        self.reset(0).await?;
        let input = warm.to_vec();
        self.sides.raw.copy(input).await?;
        self.reset(0).await?;
        self.sides.orm.copy(warm.to_vec()).await?;
        for &side in SIDES {
            self.reset(0).await?;
            let input = warm.to_vec();
            run_side!(self, side, |x| x.bulk(input));
        }
        for round in 1..=self.rounds {
            let mut runs = RoundRuns::default();
            // Raw's COPY and the ORM's bulk_insert, each run in its side's
            // turn, just before that side's bulk insert with ids.
            let mut copies = RoundRuns::default();
            for repeat in 0..BULK_REPEATS {
                let mut tables = Vec::new();
                for side in round_order(round + repeat) {
                    let copy = match side {
                        Side::Raw => Some("raw COPY"),
                        Side::Orm => Some("orm bulk_insert"),
                        #[cfg(feature = "peers")]
                        Side::Diesel | Side::SeaOrm => None,
                    };
                    if let Some(who) = copy {
                        self.reset(0).await?;
                        let input = users.clone();
                        let run = if side == Side::Raw {
                            measure(self.sides.raw.copy(input)).await?
                        } else {
                            measure(self.sides.orm.copy(input)).await?
                        };
                        if run.checksum != n as u64 {
                            let got = run.checksum;
                            return Err(format!("{who} wrote {got} rows, not {n}").into());
                        }
                        copies.add(side, run);
                        tables.push((who, self.table_hash().await?));
                    }
                    self.reset(0).await?;
                    let input = users.clone();
                    runs.add(side, run_side!(self, side, |x| x.bulk(input)));
                    tables.push((side.name(), self.table_hash().await?));
                }
                let name = format!("bulk ({mode}), repeat {}", repeat + 1);
                same_table(&name, round, &tables)?;
            }
            let (runs, copies) = (runs.0, copies.0);
            self.record(&mut with_ids, round, &runs)?;
            // Against COPY: raw's COPY and the ORM's bulk_insert (COPY too)
            // in place of their runs; the peers, which have no COPY path,
            // with their bulk insert.
            let vs_copy_runs: Vec<_> = runs
                .iter()
                .map(|&(side, run)| {
                    let copy = copies.iter().find(|(s, _)| *s == side);
                    (side, copy.map_or(run, |&(_, c)| c))
                })
                .collect();
            self.record(&mut vs_copy, round, &vs_copy_runs)?;
        }
        self.results.push(with_ids);
        self.results.push(vs_copy);
        Ok(())
    }

    /// 8: one field updated by primary key, on a table filled afresh before
    /// every slice.
    async fn update(&mut self, mode: &str) -> BoxResult<()> {
        let n = self.sizes.updates;
        let changes: Vec<(i32, String)> = self
            .random_ids(n)
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, format!("colour {}", i % 7)))
            .collect();
        let label = format!("8 update one field by pk x{} ({mode})", thousands(n));
        let mut s = Samples::new("update", label, n, Target::MaxRatio(1.10));
        let warm = &changes[..n.min(500)];
        for &side in SIDES {
            self.reset(self.sizes.users).await?;
            run_side!(self, side, |x| x.update(warm));
        }
        let (name, users) = (format!("update ({mode})"), self.sizes.users);
        for round in 1..=self.rounds {
            let parts = changes.chunks(n.div_ceil(SLICES));
            let runs = sliced_write_round!(self, name, round, users, parts, |x, part| {
                x.update(part)
            });
            self.record(&mut s, round, &runs)?;
        }
        self.results.push(s);
        Ok(())
    }

    /// 8: delete by primary key, every row of the table in all (a tenth per
    /// slice, on a table filled afresh before every slice).
    async fn delete(&mut self, mode: &str) -> BoxResult<()> {
        let n = self.sizes.deletes;
        let mut ids: Vec<i32> = (1..=n as i32).collect();
        // A fixed-seed shuffle, so the deletes do not walk the table in order.
        for i in (1..ids.len()).rev() {
            let j = self.rng.range(0, i as u64) as usize;
            ids.swap(i, j);
        }
        let label = format!("8 delete by pk x{} ({mode})", thousands(n));
        let mut s = Samples::new("delete", label, n, Target::MaxRatio(1.10));
        let warm = &ids[..n.min(500)];
        for &side in SIDES {
            self.reset(n).await?;
            run_side!(self, side, |x| x.delete(warm));
        }
        let name = format!("delete ({mode})");
        for round in 1..=self.rounds {
            let parts = ids.chunks(n.div_ceil(SLICES));
            let runs =
                sliced_write_round!(self, name, round, n, parts, |x, part| { x.delete(part) });
            self.record(&mut s, round, &runs)?;
        }
        self.results.push(s);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The run

/// `url` with its database name replaced by `dbname` (URL form only).
fn with_dbname(url: &str, dbname: &str) -> BoxResult<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base
        .find("://")
        .ok_or("DATABASE_URL must be a postgres:// URL")?
        + 3;
    let head = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    Ok(match query {
        Some(q) => format!("{head}/{dbname}?{q}"),
        None => format!("{head}/{dbname}"),
    })
}

async fn show(client: &Client, setting: &str) -> BoxResult<String> {
    let row = client.query_one(&format!("SHOW {setting}"), &[]).await?;
    Ok(row.get(0))
}

async fn run(admin_url: String, opts: Options) -> BoxResult<()> {
    // A database of our own, so that every side can connect to it by name.
    let admin_config = tokio_postgres::Config::from_str(&admin_url)?;
    let (admin, admin_conn) = admin_config.connect(NoTls).await?;
    let admin_task = tokio::spawn(admin_conn);
    let dbname = format!("bench_{}", std::process::id());
    admin
        .batch_execute(&format!("CREATE DATABASE \"{dbname}\""))
        .await?;
    let url = with_dbname(&admin_url, &dbname)?;

    let result = bench(&url, &dbname, &opts).await;

    // Only matters with DATABASE_URL; the throwaway server is removed at exit.
    admin
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{dbname}\" WITH (FORCE)"
        ))
        .await?;
    drop(admin);
    let _ = admin_task.await;
    result
}

async fn connect(url: &str) -> BoxResult<Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

async fn bench(url: &str, dbname: &str, opts: &Options) -> BoxResult<()> {
    let sizes = Sizes::new(opts.quick);
    let admin = connect(url).await?;
    let db = Db::builder(url).max_size(1).connect().await?;
    orm_core::generate_schemas_on(&db).await?;
    let sides = Sides::connect(url, db.clone()).await?;
    let stream_raw = stream::RawStream::prepare(sides.raw.client.clone()).await?;

    let mut log = Log::default();
    facts(&admin, opts, &sizes, &mut log).await?;
    println!();

    let mut bench = Bench {
        sides,
        admin,
        url: url.to_owned(),
        dbname: dbname.to_owned(),
        sizes,
        rounds: opts.rounds,
        rng: Rng(0x5eed_0f0b_5eed),
        log,
        results: Vec::new(),
    };
    let runs = |w: Workload| opts.only.contains(&w);
    let reads = [
        Workload::Get,
        Workload::Filter,
        Workload::All,
        Workload::Concurrent,
        Workload::Replica,
        Workload::Unnamed,
    ];
    if reads.into_iter().any(runs) {
        bench.fill(bench.sizes.users, 0, 0).await?;
        let line = format!(
            "  reads: {} users (not timed)",
            thousands(bench.sizes.users)
        );
        bench.log.line(line);
    }
    let mut stream_memory = None;
    for workload in Workload::ALL
        .into_iter()
        .chain(Workload::EXTRA)
        .filter(|w| runs(*w))
    {
        match workload {
            Workload::Unnamed => bench.unnamed().await?,
            Workload::Get => bench.get().await?,
            Workload::Filter => bench.filter().await?,
            Workload::All => bench.all().await?,
            Workload::Concurrent => bench.concurrent().await?,
            Workload::Replica => bench.replica().await?,
            Workload::Join => bench.join().await?,
            Workload::Prefetch => bench.prefetch().await?,
            Workload::NoIndex => bench.noindex().await?,
            Workload::Insert | Workload::Bulk | Workload::Update | Workload::Delete => {
                for &on in &opts.sync_commit {
                    bench.set_sync_commit(on).await?;
                    let mode = if on {
                        "synchronous_commit on"
                    } else {
                        "synchronous_commit off"
                    };
                    match workload {
                        Workload::Insert => bench.insert(mode).await?,
                        Workload::Bulk => bench.bulk(mode).await?,
                        Workload::Update => bench.update(mode).await?,
                        _ => bench.delete(mode).await?,
                    }
                }
            }
            Workload::Stream => {
                let out = stream::run(
                    &stream_raw,
                    &db,
                    bench.sizes.stream_rows,
                    opts.stream_rounds,
                    &mut bench.log,
                )
                .await?;
                bench.results.push(out.samples);
                stream_memory = Some(out.memory);
            }
        }
    }

    // In the issue's numbering (every label but stream's starts with its
    // number), not in the order they ran; stream last.
    bench.results.sort_by_key(|s| {
        s.label
            .split(' ')
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(u32::MAX)
    });
    let end_load = load_average();
    let main_table = report::table(&bench.results);
    let cpu_table = report::cpu_table(&bench.results);
    println!();
    print!("{main_table}");
    println!();
    println!("{}", legend(&end_load));
    println!();
    println!("Client CPU per operation (median; CPU time of all of this process's threads):");
    println!();
    print!("{cpu_table}");
    if let Some(memory) = &stream_memory {
        println!();
        print!("{memory}");
    }
    if let Some(path) = &opts.write_results {
        let text = results_file(
            &bench.log,
            &main_table,
            &cpu_table,
            stream_memory.as_deref(),
            &end_load,
        );
        std::fs::write(path, text)?;
        println!();
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// The explanation under the main table.
fn legend(end_load: &str) -> String {
    format!(
        "Each cell: median per-op time over the rounds, and (in parentheses) its ratio to raw's \
         median. ORM per-round ratio: each ORM run over the raw run of the same round. \
         Load average at the end: {end_load}."
    )
}

/// Prints (and logs) what the run was: date, server, settings, machine.
async fn facts(admin: &Client, opts: &Options, sizes: &Sizes, log: &mut Log) -> BoxResult<()> {
    let version = show(admin, "server_version").await?;
    let settings = [
        "synchronous_commit",
        "fsync",
        "full_page_writes",
        "shared_buffers",
        "wal_level",
    ];
    let mut shown = Vec::new();
    for s in settings {
        shown.push(format!("{s}={}", show(admin, s).await?));
    }
    let server = if std::env::var("DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        "the server of DATABASE_URL"
    } else {
        "a throwaway cluster (orm_core::testing) on a Unix socket"
    };
    let usable = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut crates = vec!["tokio-postgres", "deadpool-postgres"];
    if cfg!(feature = "peers") {
        crates.extend(["diesel", "diesel-async", "sea-orm", "sqlx-postgres"]);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    log.fact(format!(
        "# orm-benches{}",
        if opts.quick {
            " (--quick: a smoke test, do not quote)"
        } else {
            ""
        }
    ));
    log.fact(String::new());
    log.fact(format!(
        "- date: {}",
        Utc::now().format("%Y-%m-%d %H:%M UTC")
    ));
    log.fact(format!(
        "- command: `orm-benches {}` ({} build, features: {})",
        args.join(" "),
        if cfg!(debug_assertions) {
            "**debug**"
        } else {
            "release"
        },
        if cfg!(feature = "peers") {
            "peers"
        } else {
            "none (no diesel, no SeaORM)"
        }
    ));
    log.fact(format!("- PostgreSQL {version}, {server}"));
    log.fact(format!(
        "- server settings: {}; the write workloads run with synchronous_commit {} (SET on \
         every connection and ALTER DATABASE)",
        shown.join(", "),
        match opts.sync_commit.as_slice() {
            [false] => "off",
            [true] => "on",
            _ => "off, then on",
        }
    ));
    log.fact(format!(
        "- machine: {} cores ({}); CPUs allowed: {} ({usable} usable{}); load average {} at start",
        machine_cores(),
        cpu_model(),
        cpu_affinity(),
        if usable == 1 {
            " — pinned: the benchmark and the throwaway server share one core"
        } else {
            ""
        },
        load_average()
    ));
    log.fact(format!(
        "- crates: orm-core (this repository), {}",
        report::crate_versions(&crates).join(", ")
    ));
    log.fact(format!(
        "- rounds: {} (stream: {}, raw then orm), every implementation in turn after one \
         warm-up run each, each round starting one implementation later (rotating, so no \
         implementation always goes first); the reads (1-5, 9, 10) and single-row writes (6, 8) \
         run each round in {SLICES} slices of their inputs, every implementation per slice, \
         each slice starting one implementation later, and the bulk insert (7) {BULK_REPEATS} \
         times in the same way; one connection per implementation; tokio multi-thread \
         runtime, benchmark in a spawned task; noindex (10): a warm-up of \
         {NOINDEX_WARM_LOADS} loads per implementation, new connections for every row",
        opts.rounds, opts.stream_rounds
    ));
    log.fact(format!(
        "- data: {} users for the reads; the write workloads start from an emptied (insert, \
         bulk) or freshly filled (update, delete) table before every slice (or bulk insert) \
         of every run, and every implementation must leave the same users table after it (a \
         hash of every value, read after it, not timed)",
        thousands(sizes.users)
    ));
    Ok(())
}

/// The text of `RESULTS.md`: the run's facts, the tables, the round log.
fn results_file(
    log: &Log,
    main_table: &str,
    cpu_table: &str,
    stream_memory: Option<&str>,
    end_load: &str,
) -> String {
    let mut out = String::from(
        "# Benchmark results\n\n\
         Written by `orm-benches --write-results` from one run; every figure below was \
         measured in that run (see `README.md` for what each workload does and how to read \
         the ratios).\n\n",
    );
    for line in log.header.iter().skip(2) {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("\n## Per-operation time and ratio to raw\n\n");
    out.push_str(main_table);
    out.push('\n');
    out.push_str(&legend(end_load));
    out.push_str("\n\n## Client CPU per operation\n\n");
    out.push_str(
        "Median over the rounds of the CPU time used by all of this process's threads (the \
         benchmark loop, tokio's workers, the connection tasks) during a run, divided by its \
         operations. Server-side costs do not show here.\n\n",
    );
    out.push_str(cpu_table);
    if let Some(memory) = stream_memory {
        out.push_str("\n## Stream: time and memory\n\n");
        out.push_str(memory);
    }
    out.push_str("\n## Rounds\n\n```\n");
    for line in &log.rounds {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("```\n");
    out
}

fn main() -> std::process::ExitCode {
    match try_main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn try_main() -> BoxResult<()> {
    let opts = parse_args()?;
    // Starts the shared throwaway server (unless DATABASE_URL is set)
    // before the runtime exists, so no worker thread blocks on it.
    let admin_url = orm_core::testing::database_url()?;
    // The benchmark runs in a spawned task, on a worker thread like a
    // server's request handlers, not on the thread that blocks on the runtime.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async { tokio::spawn(run(admin_url, opts)).await? })
}
