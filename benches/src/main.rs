//! ORM vs. hand-written tokio-postgres, on the same database in the same run.
//!
//! `cd benches && cargo run --release -- [--quick] [--rounds N] [--only get,filter,create,bulk,prefetch]`
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
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use orm_core::prelude::*;
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

// ---------------------------------------------------------------------------
// Command line

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    Get,
    Filter,
    Create,
    Bulk,
    Prefetch,
}

impl Workload {
    const ALL: [Workload; 5] = [
        Workload::Get,
        Workload::Filter,
        Workload::Create,
        Workload::Bulk,
        Workload::Prefetch,
    ];

    fn key(self) -> &'static str {
        match self {
            Workload::Get => "get",
            Workload::Filter => "filter",
            Workload::Create => "create",
            Workload::Bulk => "bulk",
            Workload::Prefetch => "prefetch",
        }
    }

    /// The most `orm / raw` may be; `None`: reported only.
    fn target(self) -> Option<f64> {
        match self {
            Workload::Get | Workload::Filter | Workload::Create => Some(1.10),
            Workload::Prefetch => Some(1.15),
            Workload::Bulk => None,
        }
    }
}

struct Options {
    quick: bool,
    rounds: usize,
    only: Vec<Workload>,
}

const USAGE: &str = "\
usage: orm-benches [--quick] [--rounds N] [--only get,filter,create,bulk,prefetch]

  --quick       1/10th of the sizes and 3 rounds by default (a smoke test)
  --rounds N    interleaved raw/ORM rounds per workload (default 7, quick 3);
                bulk_create runs min(N, 3) rounds
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
    Ok(Options {
        quick,
        rounds: rounds.unwrap_or(if quick { 3 } else { 7 }),
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
        Ok(Raw {
            client,
            get,
            filter,
            insert,
            bulk_insert,
            pf_users,
            pf_posts,
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
        "- rounds: {} (bulk_create: {}), interleaved raw/orm after one warm-up run each",
        opts.rounds,
        opts.rounds.min(3)
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
    println!(
        "- one connection per side; {} rows in the table for the reads; tokio multi-thread \
         runtime, benchmark in a spawned task",
        thousands(sizes.table_rows)
    );
    println!();

    // Fill the table (through the ORM; not timed).
    let mut rng = Rng(0x5eed_0f0b_5eed);
    let rows = make_users(&mut rng, sizes.table_rows, "seed");
    let stored = orm_core::scope(&db, BenchUser::bulk_create(rows)).await?;
    let ids = (
        stored.iter().map(|u| u.id).min().unwrap_or(1),
        stored.iter().map(|u| u.id).max().unwrap_or(1),
    );
    drop(stored);
    client.batch_execute("VACUUM ANALYZE bench_users").await?;

    let mut bench = Bench {
        raw: Raw::prepare(client).await?,
        db,
        sizes,
        rounds: opts.rounds,
        rng,
        ids,
    };
    let mut results = Vec::new();
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
