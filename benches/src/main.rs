//! ORM vs. hand-written tokio-postgres, on the same database in the same run.
//!
//! `cd benches && cargo run --release -- [--quick] [--rounds N] [--only get,filter,create,bulk,prefetch,stream]`
//!
//! Each workload runs raw, ORM, raw, ORM, ... for a number of rounds (after
//! one warm-up run of each side); the table shows the median per-operation
//! time of each side and their ratio. Both sides use exactly one connection
//! to the same database: raw is one `tokio_postgres::Client` with its
//! statements prepared once, the ORM is a `Db` pool of `max_size(1)`.

use std::collections::HashMap;
use std::error::Error;
use std::fmt::Write as _;
use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use orm_core::prelude::*;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

type BoxResult<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// The benchmark table; the same struct is filled by both sides.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "bench_users")]
pub struct BenchUser {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 50)]
    pub name: String,
    pub email: Option<String>,
    #[orm(index)]
    pub karma: i32,
    pub created_at: DateTime<Utc>,
}

/// Every column, in the model's order: the raw side decodes by these indexes.
const COLUMNS: &str = "id, name, email, karma, created_at";
/// Rows returned by the filter workload.
const PAGE: i64 = 100;
/// Karma values are uniform in `0..KARMA_VALUES`.
const KARMA_VALUES: u64 = 1000;

/// The `prefetch` workload's parent table: users with their posts.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "bench_pf_users")]
pub struct PrefetchUser {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 50)]
    pub name: String,
    pub karma: i32,
    /// `PrefetchPost.user`, reversed.
    pub posts: Reverse<PrefetchPost>,
}

/// The `prefetch` workload's child table: `POSTS_PER_USER` rows per user.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "bench_pf_posts")]
pub struct PrefetchPost {
    #[orm(primary_key)]
    pub id: i64,
    /// Column `user_id`, indexed as a careful schema would have it.
    #[orm(related_name = "posts", index)]
    pub user: ForeignKey<PrefetchUser>,
    pub title: String,
    pub body: String,
}

/// Columns of the prefetch tables, in the models' order (raw side).
const PF_USER_COLUMNS: &str = "id, name, karma";
const PF_POST_COLUMNS: &str = "id, user_id, title, body";
/// Posts per user in the prefetch workload.
const POSTS_PER_USER: usize = 10;

/// The `stream` workload's table: filled with `Sizes::stream_rows` rows by
/// one server-side `INSERT .. SELECT generate_series(..)`, then read in
/// full by both sides, one row at a time.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "bench_stream_rows")]
pub struct StreamRow {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub karma: i32,
    pub created_at: DateTime<Utc>,
}

/// Columns of `bench_stream_rows`, in the model's order (raw side).
const STREAM_COLUMNS: &str = "id, name, email, karma, created_at";
/// The most the ORM's streaming pass may add to the process's peak RSS.
const STREAM_MEMORY_TARGET_MIB: f64 = 64.0;

// ---------------------------------------------------------------------------
// Command line

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    Get,
    Filter,
    Create,
    Bulk,
    Prefetch,
    Stream,
}

impl Workload {
    const ALL: [Workload; 6] = [
        Workload::Get,
        Workload::Filter,
        Workload::Create,
        Workload::Bulk,
        Workload::Prefetch,
        Workload::Stream,
    ];

    fn key(self) -> &'static str {
        match self {
            Workload::Get => "get",
            Workload::Filter => "filter",
            Workload::Create => "create",
            Workload::Bulk => "bulk",
            Workload::Prefetch => "prefetch",
            Workload::Stream => "stream",
        }
    }

    /// The most `orm / raw` may be; `None`: reported only.
    fn target(self) -> Option<f64> {
        match self {
            Workload::Get | Workload::Filter | Workload::Create | Workload::Stream => Some(1.10),
            Workload::Prefetch => Some(1.15),
            Workload::Bulk => None,
        }
    }
}

struct Options {
    quick: bool,
    rounds: usize,
    /// Rounds of the `stream` workload: as `rounds`, but 1 with `--quick`
    /// unless `--rounds` is given.
    stream_rounds: usize,
    only: Vec<Workload>,
}

const USAGE: &str = "\
usage: orm-benches [--quick] [--rounds N] [--only get,filter,create,bulk,prefetch,stream]

  --quick       1/10th of the sizes and 3 rounds by default (a smoke test)
  --rounds N    interleaved raw/ORM rounds per workload (default 7, quick 3);
                bulk_create runs min(N, 3) rounds; stream runs 1 with --quick
                unless --rounds is given
  --only LIST   run only these workloads (comma separated)";

fn parse_args() -> BoxResult<Options> {
    let mut quick = false;
    let mut rounds = None;
    let mut only = Workload::ALL.to_vec();
    let mut args = std::env::args().skip(1);
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
                        Workload::ALL
                            .into_iter()
                            .find(|w| w.key() == key.trim())
                            .ok_or_else(|| format!("unknown workload `{key}`\n{USAGE}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}").into()),
        }
    }
    // A pass takes about a second; one is enough for a smoke test.
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
    })
}

/// How much each workload does; `--quick` divides everything by 10.
struct Sizes {
    table_rows: usize,
    gets: usize,
    filters: usize,
    creates: usize,
    bulk_rows: usize,
    /// Users of the prefetch tables (each with `POSTS_PER_USER` posts).
    pf_users: usize,
    /// Prefetch loads (of every user with their posts) per run.
    pf_loads: usize,
    /// Rows of `bench_stream_rows`, all read by every `stream` pass.
    stream_rows: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        let div = if quick { 10 } else { 1 };
        Sizes {
            table_rows: 100_000 / div,
            gets: 10_000 / div,
            filters: 1_000 / div,
            creates: 10_000 / div,
            bulk_rows: 100_000 / div,
            pf_users: 1_000 / div,
            pf_loads: 20,
            stream_rows: 1_000_000 / div,
        }
    }
}

// ---------------------------------------------------------------------------
// Data

/// SplitMix64: deterministic, so both sides (and every run) see the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` (the modulo bias is irrelevant here).
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// `n` new (unsaved) users; `tag` keeps names apart between batches.
fn make_users(rng: &mut Rng, n: usize, tag: &str) -> Vec<BenchUser> {
    let base = Utc
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date");
    (0..n)
        .map(|i| {
            let r = rng.next();
            BenchUser {
                id: 0,
                name: format!("{tag}_user_{i:07}"),
                email: (!r.is_multiple_of(5)).then(|| format!("{tag}.user{i}@example.com")),
                karma: ((r >> 8) % KARMA_VALUES) as i32,
                created_at: base + chrono::Duration::seconds(i as i64),
            }
        })
        .collect()
}

/// Folds every field of `u` into `acc`, so both sides provably did the same work.
fn checksum(acc: u64, u: &BenchUser) -> u64 {
    let email = u.email.as_ref().map_or(0, |e| e.len() as u64 + 1);
    acc.wrapping_mul(31)
        .wrapping_add(u.id as u64)
        .wrapping_add((u.karma as u64) << 20)
        .wrapping_add((u.name.len() as u64) << 40)
        .wrapping_add(email << 48)
        .wrapping_add(u.created_at.timestamp() as u64)
}

/// Folds one user of the prefetch workload and every field of its posts
/// (in their order) into `acc`.
fn pf_checksum(acc: u64, id: i64, name: &str, karma: i32, posts: &[PrefetchPost]) -> u64 {
    let acc = acc
        .wrapping_mul(31)
        .wrapping_add(id as u64)
        .wrapping_add((karma as u64) << 20)
        .wrapping_add((name.len() as u64) << 40)
        .wrapping_add((posts.len() as u64) << 56);
    posts.iter().fold(acc, |acc, p| {
        acc.wrapping_mul(31)
            .wrapping_add(p.id as u64)
            .wrapping_add((*p.user.key() as u64) << 16)
            .wrapping_add((p.title.len() as u64) << 40)
            .wrapping_add((p.body.len() as u64) << 48)
    })
}

/// As [`checksum`], for a row of the `stream` workload.
fn stream_checksum(acc: u64, r: &StreamRow) -> u64 {
    let email = r.email.as_ref().map_or(0, |e| e.len() as u64 + 1);
    acc.wrapping_mul(31)
        .wrapping_add(r.id as u64)
        .wrapping_add((r.karma as u64) << 20)
        .wrapping_add((r.name.len() as u64) << 40)
        .wrapping_add(email << 48)
        .wrapping_add(r.created_at.timestamp() as u64)
}

/// Fails unless a pass saw every row of the `stream` table.
fn check_rows(side: &str, got: usize, expected: usize) -> BoxResult<()> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("{side}: the stream pass returned {got} rows, expected {expected}").into())
    }
}

/// `n` users for the prefetch tables.
fn make_pf_users(rng: &mut Rng, n: usize) -> Vec<PrefetchUser> {
    (0..n)
        .map(|i| PrefetchUser {
            id: 0,
            name: format!("pf_user_{i:05}"),
            karma: (rng.next() % KARMA_VALUES) as i32,
            posts: Reverse::default(),
        })
        .collect()
}

/// `POSTS_PER_USER` posts for each of `users` (saved), interleaved so that a
/// user's posts are spread over the table as in real life.
fn make_pf_posts(rng: &mut Rng, users: &[PrefetchUser]) -> Vec<PrefetchPost> {
    let mut posts = Vec::with_capacity(users.len() * POSTS_PER_USER);
    for round in 0..POSTS_PER_USER {
        for u in users {
            let words = 8 + (rng.next() % 25) as usize;
            posts.push(PrefetchPost {
                id: 0,
                user: ForeignKey::from_key(u.id),
                title: format!("Post {round} of {}", u.name),
                body: "lorem ipsum ".repeat(words),
            });
        }
    }
    posts
}

// ---------------------------------------------------------------------------
// The raw side: one client, statements prepared once, decoding by index

struct Raw {
    client: Client,
    get: Statement,
    filter: Statement,
    insert: Statement,
    bulk_insert: Statement,
    pf_users: Statement,
    pf_posts: Statement,
    stream: Statement,
}

/// The raw side's user of the prefetch workload: a plain struct holding its
/// posts (the ORM's `Reverse` can only be filled through the ORM).
struct RawPfUser {
    id: i64,
    name: String,
    karma: i32,
    posts: Vec<PrefetchPost>,
}

impl Raw {
    async fn prepare(client: Client) -> BoxResult<Raw> {
        let get = client
            .prepare(&format!("SELECT {COLUMNS} FROM bench_users WHERE id = $1"))
            .await?;
        let filter = client
            .prepare(&format!(
                "SELECT {COLUMNS} FROM bench_users WHERE karma <= $1 \
                 ORDER BY karma DESC, id LIMIT {PAGE}"
            ))
            .await?;
        let insert = client
            .prepare(&format!(
                "INSERT INTO bench_users (name, email, karma, created_at) \
                 VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
            ))
            .await?;
        let bulk_insert = client
            .prepare(&format!(
                "INSERT INTO bench_users (name, email, karma, created_at) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::integer[], $4::timestamptz[]) \
                 RETURNING {COLUMNS}"
            ))
            .await?;
        let pf_users = client
            .prepare(&format!("SELECT {PF_USER_COLUMNS} FROM bench_pf_users"))
            .await?;
        let pf_posts = client
            .prepare(&format!(
                "SELECT {PF_POST_COLUMNS} FROM bench_pf_posts WHERE user_id = ANY($1) ORDER BY id"
            ))
            .await?;
        let stream = client.prepare(&stream_sql()).await?;
        Ok(Raw {
            client,
            get,
            filter,
            insert,
            bulk_insert,
            pf_users,
            pf_posts,
            stream,
        })
    }

    fn decode(row: &Row) -> BenchUser {
        BenchUser {
            id: row.get(0),
            name: row.get(1),
            email: row.get(2),
            karma: row.get(3),
            created_at: row.get(4),
        }
    }

    async fn get(&self, ids: &[i64]) -> BoxResult<(Duration, u64)> {
        let start = Instant::now();
        let mut sum = 0;
        for id in ids {
            let row = self.client.query_one(&self.get, &[id]).await?;
            sum = checksum(sum, &Raw::decode(&row));
        }
        Ok((start.elapsed(), sum))
    }

    async fn filter(&self, karmas: &[i32]) -> BoxResult<(Duration, u64)> {
        let start = Instant::now();
        let mut sum = 0;
        for karma in karmas {
            let rows = self.client.query(&self.filter, &[karma]).await?;
            let users: Vec<BenchUser> = rows.iter().map(Raw::decode).collect();
            sum = users.iter().fold(sum, checksum);
        }
        Ok((start.elapsed(), sum))
    }

    async fn create(&self, users: Vec<BenchUser>) -> BoxResult<(Duration, u64)> {
        let start = Instant::now();
        let mut sum = 0;
        // By value: each input is dropped inside the loop, as `create` does.
        for u in users {
            let row = self
                .client
                .query_one(&self.insert, &[&u.name, &u.email, &u.karma, &u.created_at])
                .await?;
            sum = checksum(sum, &Raw::decode(&row));
        }
        Ok((start.elapsed(), sum))
    }

    async fn bulk(&self, users: Vec<BenchUser>) -> BoxResult<(Duration, u64)> {
        let start = Instant::now();
        let n = users.len();
        let mut names = Vec::with_capacity(n);
        let mut emails = Vec::with_capacity(n);
        let mut karmas = Vec::with_capacity(n);
        let mut created = Vec::with_capacity(n);
        for u in users {
            names.push(u.name);
            emails.push(u.email);
            karmas.push(u.karma);
            created.push(u.created_at);
        }
        let rows = self
            .client
            .query(&self.bulk_insert, &[&names, &emails, &karmas, &created])
            .await?;
        // The inputs are freed inside the timing, as in `bulk_create`.
        drop((names, emails, karmas, created));
        let stored: Vec<BenchUser> = rows.iter().map(Raw::decode).collect();
        drop(rows);
        let elapsed = start.elapsed();
        if stored.len() != n {
            return Err(format!("raw bulk insert returned {} rows for {n}", stored.len()).into());
        }
        Ok((elapsed, stored.iter().fold(0, checksum)))
    }

    /// `loads` times: every user, then their posts with one `= ANY($1)`
    /// query, grouped by user id and attached.
    async fn prefetch(&self, loads: usize) -> BoxResult<(Duration, u64)> {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let users = self.prefetch_once().await?;
            sum = users.iter().fold(sum, |acc, u| {
                pf_checksum(acc, u.id, &u.name, u.karma, &u.posts)
            });
        }
        Ok((start.elapsed(), sum))
    }

    async fn prefetch_once(&self) -> BoxResult<Vec<RawPfUser>> {
        let rows = self.client.query(&self.pf_users, &[]).await?;
        let mut users: Vec<RawPfUser> = rows
            .iter()
            .map(|row| RawPfUser {
                id: row.get(0),
                name: row.get(1),
                karma: row.get(2),
                posts: Vec::new(),
            })
            .collect();
        drop(rows);
        if users.is_empty() {
            return Ok(users);
        }
        let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        let rows = self.client.query(&self.pf_posts, &[&ids]).await?;
        let mut by_user: HashMap<i64, Vec<PrefetchPost>> = HashMap::with_capacity(users.len());
        for row in &rows {
            let user_id: i64 = row.get(1);
            by_user.entry(user_id).or_default().push(PrefetchPost {
                id: row.get(0),
                user: ForeignKey::from_key(user_id),
                title: row.get(2),
                body: row.get(3),
            });
        }
        drop(rows);
        for u in &mut users {
            u.posts = by_user.remove(&u.id).unwrap_or_default();
        }
        Ok(users)
    }

    fn decode_stream(row: &Row) -> StreamRow {
        StreamRow {
            id: row.get(0),
            name: row.get(1),
            email: row.get(2),
            karma: row.get(3),
            created_at: row.get(4),
        }
    }

    /// One pass over the whole `stream` table with `query_raw`: each row is
    /// decoded, folded into the checksum and dropped.
    async fn stream(&self, expected: usize) -> BoxResult<(Duration, u64)> {
        let start = Instant::now();
        let rows = self
            .client
            .query_raw(&self.stream, std::iter::empty::<&(dyn ToSql + Sync)>())
            .await?;
        let mut rows = std::pin::pin!(rows);
        let (mut sum, mut n) = (0, 0);
        while let Some(row) = rows.try_next().await? {
            sum = stream_checksum(sum, &Raw::decode_stream(&row));
            n += 1;
        }
        let elapsed = start.elapsed();
        check_rows("raw query_raw", n, expected)?;
        Ok((elapsed, sum))
    }

    /// The memory control: `query` collects every `Row`, then they are
    /// decoded into a `Vec<StreamRow>`.
    async fn collect(&self, expected: usize) -> BoxResult<(Duration, u64)> {
        let start = Instant::now();
        let rows = self.client.query(&self.stream, &[]).await?;
        let all: Vec<StreamRow> = rows.iter().map(Raw::decode_stream).collect();
        drop(rows);
        let (n, sum) = (all.len(), all.iter().fold(0, stream_checksum));
        drop(all);
        let elapsed = start.elapsed();
        check_rows("raw query", n, expected)?;
        Ok((elapsed, sum))
    }

    /// Empties the table between write runs (outside the timings).
    async fn truncate(&self) -> BoxResult<()> {
        self.client
            .batch_execute("TRUNCATE bench_users RESTART IDENTITY")
            .await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The ORM side: the same operations through the public API

mod orm {
    use super::*;

    pub async fn get(db: &Db, ids: &[i64]) -> BoxResult<(Duration, u64)> {
        orm_core::scope(db, async {
            let start = Instant::now();
            let mut sum = 0;
            for &id in ids {
                let u = BenchUser::get(q!(id = id)).await?;
                sum = checksum(sum, &u);
            }
            Ok((start.elapsed(), sum))
        })
        .await
    }

    pub async fn filter(db: &Db, karmas: &[i32]) -> BoxResult<(Duration, u64)> {
        orm_core::scope(db, async {
            let start = Instant::now();
            let mut sum = 0;
            for &karma in karmas {
                let users: Vec<BenchUser> = BenchUser::filter(q!(karma__lte = karma))
                    .order_by(["-karma", "id"])
                    .limit(PAGE)
                    .await?;
                sum = users.iter().fold(sum, checksum);
            }
            Ok((start.elapsed(), sum))
        })
        .await
    }

    pub async fn create(db: &Db, users: Vec<BenchUser>) -> BoxResult<(Duration, u64)> {
        orm_core::scope(db, async {
            let start = Instant::now();
            let mut sum = 0;
            for u in users {
                let stored = BenchUser::create(u).await?;
                sum = checksum(sum, &stored);
            }
            Ok((start.elapsed(), sum))
        })
        .await
    }

    pub async fn bulk(db: &Db, users: Vec<BenchUser>) -> BoxResult<(Duration, u64)> {
        orm_core::scope(db, async {
            let n = users.len();
            let start = Instant::now();
            let stored = BenchUser::bulk_create(users).await?;
            let elapsed = start.elapsed();
            if stored.len() != n {
                return Err(format!("bulk_create returned {} rows for {n}", stored.len()).into());
            }
            Ok((elapsed, stored.iter().fold(0, checksum)))
        })
        .await
    }

    pub async fn prefetch(db: &Db, loads: usize) -> BoxResult<(Duration, u64)> {
        orm_core::scope(db, async {
            let start = Instant::now();
            let mut sum = 0;
            for _ in 0..loads {
                let users = PrefetchUser::all().prefetch_related(["posts"]).await?;
                for u in &users {
                    let posts = u.posts.get().ok_or("posts were not prefetched")?;
                    sum = pf_checksum(sum, u.id, &u.name, u.karma, posts);
                }
            }
            Ok((start.elapsed(), sum))
        })
        .await
    }

    /// One pass over the whole `stream` table with `QuerySet::stream()`.
    pub async fn stream(db: &Db, expected: usize) -> BoxResult<(Duration, u64)> {
        orm_core::scope(db, async {
            let start = Instant::now();
            let mut rows = StreamRow::all().order_by(["id"]).stream();
            let (mut sum, mut n) = (0, 0);
            while let Some(r) = rows.try_next().await? {
                sum = stream_checksum(sum, &r);
                n += 1;
            }
            let elapsed = start.elapsed();
            check_rows("ORM stream()", n, expected)?;
            Ok((elapsed, sum))
        })
        .await
    }

    /// The memory control: the same query awaited into a `Vec`.
    pub async fn collect(db: &Db, expected: usize) -> BoxResult<(Duration, u64)> {
        orm_core::scope(db, async {
            let start = Instant::now();
            let all: Vec<StreamRow> = StreamRow::all().order_by(["id"]).await?;
            let (n, sum) = (all.len(), all.iter().fold(0, stream_checksum));
            drop(all);
            let elapsed = start.elapsed();
            check_rows("ORM .await", n, expected)?;
            Ok((elapsed, sum))
        })
        .await
    }
}

// ---------------------------------------------------------------------------
// Measuring

/// CPU time used so far by every thread of this process (the benchmark loop,
/// the runtime's workers and so both connection tasks), from
/// `/proc/self/task/*/schedstat`; `None` where that is unavailable.
fn process_cpu() -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

/// One timed run of one side.
struct Run {
    wall: Duration,
    cpu: Option<Duration>,
    checksum: u64,
}

/// Runs `side` (already built, so building its input is not counted).
async fn measure(side: impl Future<Output = BoxResult<(Duration, u64)>>) -> BoxResult<Run> {
    let cpu_before = process_cpu();
    let (wall, checksum) = side.await?;
    let cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    Ok(Run {
        wall,
        cpu,
        checksum,
    })
}

/// The process's resident set size and its high-water mark (`VmRSS`,
/// `VmHWM` of `/proc/self/status`), in bytes; `None` off Linux.
fn rss_and_hwm() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = |key: &str| -> Option<u64> {
        let line = status.lines().find_map(|l| l.strip_prefix(key))?;
        line.trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .ok()
    };
    Some((kib("VmRSS:")? * 1024, kib("VmHWM:")? * 1024))
}

/// How a pass's peak RSS is taken.
enum PeakMode {
    /// `VmHWM`, reset to the current RSS by writing `5` to
    /// `/proc/self/clear_refs` before the pass (Linux 4.0+): exact.
    HighWaterMark,
    /// `VmRSS` sampled every 5 ms on a thread of its own (where the reset is
    /// refused, or with `ORM_BENCHES_RSS_SAMPLER=1`): misses peaks shorter
    /// than the interval.
    Sampler {
        stop: Arc<AtomicBool>,
        thread: std::thread::JoinHandle<u64>,
    },
}

impl PeakMode {
    fn describe(&self) -> &'static str {
        match self {
            PeakMode::HighWaterMark => {
                "VmHWM of /proc/self/status, reset before each pass through /proc/self/clear_refs"
            }
            PeakMode::Sampler { .. } => "VmRSS of /proc/self/status sampled every 5 ms",
        }
    }
}

/// Tracks the peak RSS of the process from `start` to `finish`.
struct PeakRss {
    baseline: u64,
    mode: PeakMode,
}

/// One pass's memory: the RSS when it started and how far above that the
/// process's RSS went during the pass, in bytes.
#[derive(Debug, Clone, Copy)]
struct Mem {
    baseline: u64,
    growth: u64,
}

impl PeakRss {
    fn start() -> Option<PeakRss> {
        let force_sampler = std::env::var("ORM_BENCHES_RSS_SAMPLER").is_ok_and(|v| v == "1");
        if !force_sampler && std::fs::write("/proc/self/clear_refs", "5").is_ok() {
            // Right after the reset VmHWM is the current RSS (give or take
            // what another thread allocated in between).
            let (rss, hwm) = rss_and_hwm()?;
            if hwm <= rss + (1 << 20) {
                return Some(PeakRss {
                    baseline: rss,
                    mode: PeakMode::HighWaterMark,
                });
            }
        }
        let (baseline, _) = rss_and_hwm()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let mut peak = 0;
                loop {
                    if let Some((rss, _)) = rss_and_hwm() {
                        peak = peak.max(rss);
                    }
                    if stop.load(Ordering::Relaxed) {
                        return peak;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        });
        Some(PeakRss {
            baseline,
            mode: PeakMode::Sampler { stop, thread },
        })
    }

    fn finish(self) -> Option<(Mem, &'static str)> {
        let how = self.mode.describe();
        let peak = match self.mode {
            PeakMode::HighWaterMark => rss_and_hwm()?.1,
            PeakMode::Sampler { stop, thread } => {
                stop.store(true, Ordering::Relaxed);
                thread.join().ok()?
            }
        };
        let mem = Mem {
            baseline: self.baseline,
            growth: peak.saturating_sub(self.baseline),
        };
        Some((mem, how))
    }
}

/// As [`measure`], and the pass's peak RSS growth.
async fn measure_mem(
    side: impl Future<Output = BoxResult<(Duration, u64)>>,
) -> BoxResult<(Run, Option<Mem>)> {
    let tracker = PeakRss::start();
    let run = measure(side).await?;
    let mem = tracker.and_then(PeakRss::finish).map(|(mem, how)| {
        RSS_METHOD.get_or_init(|| how);
        mem
    });
    Ok((run, mem))
}

/// How the peak RSS was measured (set by the first measurement).
static RSS_METHOD: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Time and memory of the passes of one side of the `stream` workload (or
/// of a control).
struct MemRow {
    label: &'static str,
    /// Peak RSS growth allowed, in MiB; `None`: reported only.
    target_mib: Option<f64>,
    /// The untimed warm-up pass (the first one of this side in the process).
    first: Option<Mem>,
    walls: Vec<Duration>,
    mems: Vec<Mem>,
}

impl MemRow {
    fn new(label: &'static str, target_mib: Option<f64>) -> Self {
        MemRow {
            label,
            target_mib,
            first: None,
            walls: Vec::new(),
            mems: Vec::new(),
        }
    }

    fn push(&mut self, wall: Duration, mem: Option<Mem>) {
        self.walls.push(wall);
        self.mems.extend(mem);
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The `stream` workload's time and memory per side, as a Markdown table.
fn memory_table(rows: &[MemRow], n: usize) -> String {
    let mut out = String::from(
        "| pass | time per pass (median) | per row | RSS at start (median) | highest RSS \
         | peak RSS above start: first pass / median of rounds (max) | target |\n\
         |---|---:|---:|---:|---:|---|---|\n",
    );
    for r in rows {
        let walls: Vec<f64> = r.walls.iter().map(|d| d.as_nanos() as f64).collect();
        let Some(wall) = median(&walls) else { continue };
        let growths: Vec<f64> = r.mems.iter().map(|m| mib(m.growth)).collect();
        let baselines: Vec<f64> = r.mems.iter().map(|m| mib(m.baseline)).collect();
        let highest = r
            .mems
            .iter()
            .chain(&r.first)
            .map(|m| m.baseline + m.growth)
            .max();
        let (growth, baseline, highest) = match (median(&growths), median(&baselines), highest) {
            (Some(g), Some(b), Some(h)) => {
                let max = growths.iter().copied().fold(f64::MIN, f64::max);
                let first = r
                    .first
                    .map_or_else(|| "–".to_owned(), |m| format!("{:.2} MiB", mib(m.growth)));
                (
                    format!("{first} / {g:.2} MiB ({max:.2}, n={})", growths.len()),
                    format!("{b:.1} MiB"),
                    format!("{:.1} MiB", mib(h)),
                )
            }
            _ => ("n/a".to_owned(), "n/a".to_owned(), "n/a".to_owned()),
        };
        // The target applies to every pass, the cold first one included.
        let worst = r
            .mems
            .iter()
            .chain(&r.first)
            .map(|m| mib(m.growth))
            .fold(None, |acc: Option<f64>, g| {
                Some(acc.map_or(g, |a| a.max(g)))
            });
        let target = match (r.target_mib, worst) {
            (Some(t), Some(w)) if w < t => format!("< {t:.0} MiB ok"),
            (Some(t), Some(_)) => format!("< {t:.0} MiB **OVER**"),
            (Some(t), None) => format!("< {t:.0} MiB (not measured)"),
            (None, _) => "report only".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {baseline} | {highest} | {growth} | {target} |",
            r.label,
            fmt_ns(wall),
            fmt_ns(wall / n as f64),
        );
    }
    out
}

/// Per-operation times (nanoseconds) of one workload, one entry per round.
struct Samples {
    workload: Workload,
    label: String,
    raw: Vec<f64>,
    orm: Vec<f64>,
    raw_cpu: Vec<f64>,
    orm_cpu: Vec<f64>,
}

impl Samples {
    fn new(workload: Workload, label: String) -> Self {
        Samples {
            workload,
            label,
            raw: Vec::new(),
            orm: Vec::new(),
            raw_cpu: Vec::new(),
            orm_cpu: Vec::new(),
        }
    }

    /// Records one round (`ops` operations on each side) and prints it.
    fn push(&mut self, round: usize, ops: usize, raw: Run, orm: Run) -> BoxResult<()> {
        if raw.checksum != orm.checksum {
            return Err(format!(
                "{}: raw and ORM results differ (checksums {:#x} vs {:#x})",
                self.workload.key(),
                raw.checksum,
                orm.checksum
            )
            .into());
        }
        let per = |d: Duration| d.as_nanos() as f64 / ops as f64;
        let (r, o) = (per(raw.wall), per(orm.wall));
        let mut line = format!(
            "  {:<7} round {round}: raw {:>10}  orm {:>10}  ratio {:.3}",
            self.workload.key(),
            fmt_ns(r),
            fmt_ns(o),
            o / r
        );
        if let (Some(rc), Some(oc)) = (raw.cpu, orm.cpu) {
            let (rc, oc) = (per(rc), per(oc));
            let _ = write!(line, "  | client CPU raw {} orm {}", fmt_ns(rc), fmt_ns(oc));
            self.raw_cpu.push(rc);
            self.orm_cpu.push(oc);
        }
        println!("{line}");
        self.raw.push(r);
        self.orm.push(o);
        Ok(())
    }

    fn ratios(&self) -> impl Iterator<Item = f64> + '_ {
        self.orm.iter().zip(&self.raw).map(|(o, r)| o / r)
    }
}

fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[mid]),
        _ => Some((v[mid - 1] + v[mid]) / 2.0),
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns.abs() >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns.abs() >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The results as a Markdown table.
fn table(results: &[Samples]) -> String {
    let mut out = String::from(
        "| workload | raw per-op | orm per-op | ratio (orm/raw) | target | per-round ratios: median (min–max) \
         | client CPU per-op raw / orm (ORM extra) |\n\
         |---|---:|---:|---:|---|---|---|\n",
    );
    for s in results {
        let (Some(raw), Some(orm)) = (median(&s.raw), median(&s.orm)) else {
            continue;
        };
        let ratio = orm / raw;
        let target = match s.workload.target() {
            Some(t) if ratio <= t => format!("<= {t:.2} ok"),
            Some(t) => format!("<= {t:.2} **OVER**"),
            None => "report only".to_owned(),
        };
        let ratios: Vec<f64> = s.ratios().collect();
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        let paired = median(&ratios).unwrap_or(f64::NAN);
        let cpu = match (median(&s.raw_cpu), median(&s.orm_cpu)) {
            (Some(r), Some(o)) => format!(
                "{} / {} ({}{})",
                fmt_ns(r),
                fmt_ns(o),
                if o >= r { "+" } else { "" },
                fmt_ns(o - r)
            ),
            _ => "n/a".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {ratio:.3} | {target} | {paired:.3} ({lo:.3}–{hi:.3}, n={}) | {cpu} |",
            s.label,
            fmt_ns(raw),
            fmt_ns(orm),
            s.raw.len()
        );
    }
    out
}

// ---------------------------------------------------------------------------
// The run

struct Bench {
    raw: Raw,
    db: Db,
    sizes: Sizes,
    rounds: usize,
    stream_rounds: usize,
    rng: Rng,
    /// Ids of the filled table (for the `get` workload).
    ids: (i64, i64),
}

impl Bench {
    async fn get(&mut self) -> BoxResult<Samples> {
        let n = self.sizes.gets;
        let (lo, hi) = self.ids;
        let ids: Vec<i64> = (0..n)
            .map(|_| self.rng.range(lo as u64, hi as u64) as i64)
            .collect();
        let label = format!("get by pk x{}", thousands(n));
        let mut s = Samples::new(Workload::Get, label);
        let warm = &ids[..n.min(500)];
        self.raw.get(warm).await?;
        orm::get(&self.db, warm).await?;
        for round in 1..=self.rounds {
            let raw = measure(self.raw.get(&ids)).await?;
            let orm = measure(orm::get(&self.db, &ids)).await?;
            s.push(round, n, raw, orm)?;
        }
        Ok(s)
    }

    async fn filter(&mut self) -> BoxResult<Samples> {
        let n = self.sizes.filters;
        // `karma <= k` with k >= 100 always has well over 100 matching rows.
        let karmas: Vec<i32> = (0..n)
            .map(|_| self.rng.range(100, KARMA_VALUES - 1) as i32)
            .collect();
        let label = format!("filter+order_by+limit {PAGE} rows x{}", thousands(n));
        let mut s = Samples::new(Workload::Filter, label);
        let warm = &karmas[..n.min(50)];
        self.raw.filter(warm).await?;
        orm::filter(&self.db, warm).await?;
        for round in 1..=self.rounds {
            let raw = measure(self.raw.filter(&karmas)).await?;
            let orm = measure(orm::filter(&self.db, &karmas)).await?;
            s.push(round, n, raw, orm)?;
        }
        Ok(s)
    }

    async fn create(&mut self) -> BoxResult<Samples> {
        let n = self.sizes.creates;
        let label = format!("create x{}", thousands(n));
        let mut s = Samples::new(Workload::Create, label);
        let users = make_users(&mut self.rng, n, "c");
        let warm = users[..n.min(500)].to_vec();
        self.raw.truncate().await?;
        self.raw.create(warm.clone()).await?;
        self.raw.truncate().await?;
        orm::create(&self.db, warm).await?;
        for round in 1..=self.rounds {
            self.raw.truncate().await?;
            let raw = measure(self.raw.create(users.clone())).await?;
            self.raw.truncate().await?;
            let orm = measure(orm::create(&self.db, users.clone())).await?;
            s.push(round, n, raw, orm)?;
        }
        self.raw.truncate().await?;
        Ok(s)
    }

    async fn bulk(&mut self) -> BoxResult<Samples> {
        let n = self.sizes.bulk_rows;
        let label = format!("bulk_create {} rows (per call)", thousands(n));
        let mut s = Samples::new(Workload::Bulk, label);
        let users = make_users(&mut self.rng, n, "b");
        let warm = users[..n.min(1000)].to_vec();
        self.raw.truncate().await?;
        self.raw.bulk(warm.clone()).await?;
        self.raw.truncate().await?;
        orm::bulk(&self.db, warm).await?;
        for round in 1..=self.rounds.min(3) {
            self.raw.truncate().await?;
            let raw = measure(self.raw.bulk(users.clone())).await?;
            self.raw.truncate().await?;
            let orm = measure(orm::bulk(&self.db, users.clone())).await?;
            s.push(round, 1, raw, orm)?;
        }
        self.raw.truncate().await?;
        Ok(s)
    }

    async fn prefetch(&mut self) -> BoxResult<Samples> {
        let (users, loads) = (self.sizes.pf_users, self.sizes.pf_loads);
        // Fill the two tables (through the ORM; not timed).
        let stored = orm_core::scope(
            &self.db,
            PrefetchUser::bulk_create(make_pf_users(&mut self.rng, users)),
        )
        .await?;
        let posts = make_pf_posts(&mut self.rng, &stored);
        let n_posts = posts.len();
        orm_core::scope(&self.db, PrefetchPost::bulk_create(posts)).await?;
        drop(stored);
        self.raw
            .client
            .batch_execute("VACUUM ANALYZE bench_pf_users, bench_pf_posts")
            .await?;

        let label = format!(
            "prefetch_related {} users + {} posts (per load, x{loads})",
            thousands(users),
            thousands(n_posts)
        );
        let mut s = Samples::new(Workload::Prefetch, label);
        self.raw.prefetch(1).await?;
        orm::prefetch(&self.db, 1).await?;
        for round in 1..=self.rounds {
            let raw = measure(self.raw.prefetch(loads)).await?;
            let orm = measure(orm::prefetch(&self.db, loads)).await?;
            s.push(round, loads, raw, orm)?;
        }
        Ok(s)
    }

    /// Fills `bench_stream_rows` (not timed), then reads it in full on each
    /// side, measuring time and peak RSS growth; then the two controls that
    /// collect every row into a `Vec`.
    async fn stream(&mut self) -> BoxResult<(Samples, Vec<MemRow>)> {
        let n = self.sizes.stream_rows;
        let client = &self.raw.client;
        let fill = Instant::now();
        client
            .batch_execute("TRUNCATE bench_stream_rows RESTART IDENTITY")
            .await?;
        // One server-side statement: ids 1..=n in order, 20% of emails NULL.
        client
            .execute(
                "INSERT INTO bench_stream_rows (name, email, karma, created_at) \
                 SELECT 'stream_user_' || lpad(i::text, 7, '0'), \
                        CASE WHEN i % 5 = 0 THEN NULL ELSE 'stream.user' || i || '@example.com' END, \
                        (i * 7919 % 1000)::integer, \
                        timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' \
                 FROM generate_series(1::bigint, $1::bigint) AS i",
                &[&(n as i64)],
            )
            .await?;
        client
            .batch_execute("VACUUM ANALYZE bench_stream_rows")
            .await?;
        let orm_sql = StreamRow::all()
            .order_by(["id"])
            .sql()?
            .ok_or("the stream query matches nothing")?
            .sql;
        let raw_plan = top_plan(client, &stream_sql()).await?;
        let orm_plan = top_plan(client, &orm_sql).await?;
        println!(
            "  stream: {} rows filled in {:.1} s (not timed); plan raw: {raw_plan}; ORM: {orm_plan}{}",
            thousands(n),
            fill.elapsed().as_secs_f64(),
            if raw_plan == orm_plan {
                ""
            } else {
                " (**plans differ**)"
            }
        );

        let label = format!("stream {} rows (per row)", thousands(n));
        let mut s = Samples::new(Workload::Stream, label);
        let mut raw_mem = MemRow::new("raw `query_raw`, row by row", None);
        let mut orm_mem = MemRow::new("ORM `stream()`, row by row", Some(STREAM_MEMORY_TARGET_MIB));
        // Warm-up passes (statement cache, server buffers); their memory is
        // each side's cold first pass.
        let (raw, mem) = measure_mem(self.raw.stream(n)).await?;
        let expected = raw.checksum;
        raw_mem.first = mem;
        let (orm, mem) = measure_mem(orm::stream(&self.db, n)).await?;
        orm_mem.first = mem;
        check_checksum("ORM stream() warm-up", expected, orm.checksum)?;
        let show = |m: Option<Mem>| {
            m.map_or_else(
                || "n/a".to_owned(),
                |m| format!("+{:.2} MiB", mib(m.growth)),
            )
        };
        println!(
            "  stream  warm-up: raw {:.0} ms ({} RSS)  orm {:.0} ms ({} RSS)",
            raw.wall.as_secs_f64() * 1e3,
            show(raw_mem.first),
            orm.wall.as_secs_f64() * 1e3,
            show(orm_mem.first),
        );
        for round in 1..=self.stream_rounds {
            let (raw, raw_m) = measure_mem(self.raw.stream(n)).await?;
            let (orm, orm_m) = measure_mem(orm::stream(&self.db, n)).await?;
            check_checksum("raw query_raw", expected, raw.checksum)?;
            let (raw_wall, orm_wall) = (raw.wall, orm.wall);
            s.push(round, n, raw, orm)?;
            println!(
                "  {:<7} round {round}: pass raw {:.0} ms ({} RSS)  orm {:.0} ms ({} RSS)",
                "",
                raw_wall.as_secs_f64() * 1e3,
                show(raw_m),
                orm_wall.as_secs_f64() * 1e3,
                show(orm_m),
            );
            raw_mem.push(raw_wall, raw_m);
            orm_mem.push(orm_wall, orm_m);
        }

        // Controls, once each: every row in memory at once.
        let mut controls = Vec::new();
        for (label, side) in [
            ("control: ORM `.await` into a `Vec`", true),
            ("control: raw `query` into `Vec<Row>`, then decoded", false),
        ] {
            let (run, mem) = if side {
                measure_mem(orm::collect(&self.db, n)).await?
            } else {
                measure_mem(self.raw.collect(n)).await?
            };
            check_checksum(label, expected, run.checksum)?;
            println!(
                "  stream  {label}: {:.0} ms ({} RSS)",
                run.wall.as_secs_f64() * 1e3,
                show(mem)
            );
            let mut row = MemRow::new(label, None);
            row.push(run.wall, mem);
            controls.push(row);
        }
        let mut mems = vec![raw_mem, orm_mem];
        mems.extend(controls);
        Ok((s, mems))
    }
}

/// The raw side's `stream` statement.
fn stream_sql() -> String {
    format!("SELECT {STREAM_COLUMNS} FROM bench_stream_rows ORDER BY id")
}

/// The top node of `sql`'s plan, e.g. `Index Scan using .. on ..`.
async fn top_plan(client: &Client, sql: &str) -> BoxResult<String> {
    let rows = client
        .query(&format!("EXPLAIN (COSTS OFF) {sql}"), &[])
        .await?;
    let first: String = rows.first().ok_or("EXPLAIN returned nothing")?.get(0);
    Ok(first.trim().to_owned())
}

fn check_checksum(what: &str, expected: u64, got: u64) -> BoxResult<()> {
    if expected == got {
        Ok(())
    } else {
        Err(
            format!("{what}: checksum {got:#x} differs from the first raw pass's {expected:#x}")
                .into(),
        )
    }
}

/// The CPUs this process may run on (Linux), e.g. `0` under `taskset -c 0`.
fn cpu_affinity() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_else(|| "?".to_owned())
}

/// The 1-minute load average (Linux), to tell a busy machine from a slow ORM.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

async fn show(client: &Client, setting: &str) -> BoxResult<String> {
    let row = client.query_one(&format!("SHOW {setting}"), &[]).await?;
    Ok(row.get(0))
}

async fn run(admin_url: String, opts: Options) -> BoxResult<()> {
    let sizes = Sizes::new(opts.quick);

    // A database of our own, so that both sides can connect to it by name.
    let admin_config = tokio_postgres::Config::from_str(&admin_url)?;
    let (admin, admin_conn) = admin_config.connect(NoTls).await?;
    let admin_task = tokio::spawn(admin_conn);
    let dbname = format!("bench_{}", std::process::id());
    admin
        .batch_execute(&format!("CREATE DATABASE \"{dbname}\""))
        .await?;
    let mut config = admin_config.clone();
    config.dbname(&dbname);

    let result = bench(&config, sizes, &opts).await;

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

async fn bench(config: &tokio_postgres::Config, sizes: Sizes, opts: &Options) -> BoxResult<()> {
    let (client, conn) = config.connect(NoTls).await?;
    let conn_task = tokio::spawn(conn);
    let db = Db::builder_from_config(config.clone())
        .max_size(1)
        .connect()
        .await?;
    orm_core::generate_schemas_on(&db).await?;

    let version = show(&client, "server_version").await?;
    let sync_commit = show(&client, "synchronous_commit").await?;
    let fsync = show(&client, "fsync").await?;
    let shared_buffers = show(&client, "shared_buffers").await?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let server = if std::env::var("DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        "DATABASE_URL"
    } else {
        "throwaway cluster (orm_core::testing), Unix socket"
    };
    println!(
        "# orm-benches{}",
        if opts.quick { " (--quick)" } else { "" }
    );
    println!();
    println!("- date: {}", Utc::now().format("%Y-%m-%d %H:%M UTC"));
    println!("- PostgreSQL {version} ({server})");
    println!("- synchronous_commit={sync_commit}, fsync={fsync}, shared_buffers={shared_buffers}");
    println!(
        "- rounds: {} (bulk_create: {}, stream: {}), interleaved raw/orm after one warm-up run each",
        opts.rounds,
        opts.rounds.min(3),
        opts.stream_rounds
    );
    let affinity = cpu_affinity();
    let pinned = if cores == 1 {
        " — pinned: the benchmark and the throwaway server share one core"
    } else {
        ""
    };
    println!(
        "- CPUs allowed: {affinity} ({cores} usable{pinned}); load average {} at start",
        load_average()
    );
    // Only `get` and `filter` read the filled `bench_users` (the write
    // workloads empty it first): without them, it is not filled, so that
    // the `stream` workload's memory is measured in a process that did not
    // first allocate (and keep in its heap) 100,000 users.
    let fill_users = opts
        .only
        .iter()
        .any(|w| matches!(w, Workload::Get | Workload::Filter));
    let table_rows = if fill_users {
        format!(
            "{} rows in the table for the reads",
            thousands(sizes.table_rows)
        )
    } else {
        "bench_users not filled (no get or filter)".to_owned()
    };
    println!(
        "- one connection per side; {table_rows}; tokio multi-thread runtime, benchmark in a \
         spawned task"
    );
    println!();

    // Fill the table (through the ORM; not timed).
    let mut rng = Rng(0x5eed_0f0b_5eed);
    let ids = if fill_users {
        let rows = make_users(&mut rng, sizes.table_rows, "seed");
        let stored = orm_core::scope(&db, BenchUser::bulk_create(rows)).await?;
        let ids = (
            stored.iter().map(|u| u.id).min().unwrap_or(1),
            stored.iter().map(|u| u.id).max().unwrap_or(1),
        );
        drop(stored);
        client.batch_execute("VACUUM ANALYZE bench_users").await?;
        ids
    } else {
        // The draws `make_users` would have made, so that the later
        // workloads get the same data either way.
        for _ in 0..sizes.table_rows {
            rng.next();
        }
        (1, 1)
    };

    let sizes_stream_rows = sizes.stream_rows;
    let mut bench = Bench {
        raw: Raw::prepare(client).await?,
        db,
        sizes,
        rounds: opts.rounds,
        stream_rounds: opts.stream_rounds,
        rng,
        ids,
    };
    let mut results = Vec::new();
    let mut memory = Vec::new();
    // Reads first: the write workloads empty the table.
    for workload in Workload::ALL {
        if !opts.only.contains(&workload) {
            continue;
        }
        let samples = match workload {
            Workload::Get => bench.get().await?,
            Workload::Filter => bench.filter().await?,
            Workload::Create => bench.create().await?,
            Workload::Bulk => bench.bulk().await?,
            Workload::Prefetch => bench.prefetch().await?,
            Workload::Stream => {
                let (samples, mems) = bench.stream().await?;
                memory = mems;
                samples
            }
        };
        results.push(samples);
    }

    println!();
    print!("{}", table(&results));
    println!();
    println!(
        "ratio = median ORM per-op / median raw per-op; per-round ratios pair each ORM run \
         with the raw run just before it; client CPU = CPU time of all this process's \
         threads during the run, per op (median). Load average at the end: {}.",
        load_average()
    );
    if !memory.is_empty() {
        println!();
        println!(
            "Stream, {} rows: time and peak RSS per pass ({}):",
            thousands(sizes_stream_rows),
            RSS_METHOD.get().copied().unwrap_or("not measured")
        );
        println!();
        print!("{}", memory_table(&memory, sizes_stream_rows));
    }

    drop(bench);
    let _ = conn_task.await;
    Ok(())
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
