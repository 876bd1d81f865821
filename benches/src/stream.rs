//! The `stream` workload (raw vs. ORM only): one pass over 1,000,000 rows,
//! row by row, measuring time and the process's peak RSS growth, plus two
//! controls that hold every row in memory.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use orm_core::prelude::*;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement};

use crate::measure::{fmt_ns, measure, median, thousands, Run, Timed};
use crate::report::{Log, Samples, Side, Target};
use crate::BoxResult;

/// The `stream` workload's table: filled by one server-side
/// `INSERT .. SELECT generate_series(..)`, then read in full by both sides,
/// one row at a time.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "bench_stream_rows")]
pub struct StreamRow {
    /// Identity primary key, 1..=n in order.
    #[orm(primary_key)]
    pub id: i64,
    /// `stream_user_0000001`, ...
    pub name: String,
    /// NULL for one row in five.
    pub email: Option<String>,
    /// `i * 7919 % 1000`.
    pub karma: i32,
    /// 2024-01-01 plus `i` seconds.
    pub created_at: DateTime<Utc>,
}

/// Columns of `bench_stream_rows`, in the model's order (raw side).
const STREAM_COLUMNS: &str = "id, name, email, karma, created_at";
/// The most the ORM's streaming pass may add to the process's peak RSS.
const STREAM_MEMORY_TARGET_MIB: f64 = 64.0;

/// Folds every field of a row of the `stream` workload into `acc`.
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

/// The raw side of the stream workload: its own statement on the raw client.
pub struct RawStream {
    client: Arc<Client>,
    stream: Statement,
}

impl RawStream {
    /// Prepares the statement on `client`.
    pub async fn prepare(client: Arc<Client>) -> BoxResult<RawStream> {
        let stream = client.prepare(&stream_sql()).await?;
        Ok(RawStream { client, stream })
    }

    fn decode(row: &Row) -> StreamRow {
        StreamRow {
            id: row.get(0),
            name: row.get(1),
            email: row.get(2),
            karma: row.get(3),
            created_at: row.get(4),
        }
    }

    /// One pass over the whole table with `query_raw`: each row is decoded,
    /// folded into the checksum and dropped.
    async fn stream(&self, expected: usize) -> Timed {
        let start = Instant::now();
        let rows = self
            .client
            .query_raw(&self.stream, std::iter::empty::<&(dyn ToSql + Sync)>())
            .await?;
        let mut rows = std::pin::pin!(rows);
        let (mut sum, mut n) = (0, 0);
        while let Some(row) = rows.try_next().await? {
            sum = stream_checksum(sum, &RawStream::decode(&row));
            n += 1;
        }
        let elapsed = start.elapsed();
        check_rows("raw query_raw", n, expected)?;
        Ok((elapsed, sum))
    }

    /// The memory control: `query` collects every `Row`, then they are
    /// decoded into a `Vec<StreamRow>`.
    async fn collect(&self, expected: usize) -> Timed {
        let start = Instant::now();
        let rows = self.client.query(&self.stream, &[]).await?;
        let all: Vec<StreamRow> = rows.iter().map(RawStream::decode).collect();
        drop(rows);
        let (n, sum) = (all.len(), all.iter().fold(0, stream_checksum));
        drop(all);
        let elapsed = start.elapsed();
        check_rows("raw query", n, expected)?;
        Ok((elapsed, sum))
    }
}

/// One pass over the whole table with `QuerySet::stream()`.
async fn orm_stream(db: &Db, expected: usize) -> Timed {
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
async fn orm_collect(db: &Db, expected: usize) -> Timed {
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
    side: impl std::future::Future<Output = Timed>,
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

/// The raw side's statement.
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

/// The stream workload's results: its row of the main table, and the
/// memory table (with how the peak RSS was measured).
pub struct StreamResults {
    /// Per-row times of both sides.
    pub samples: Samples,
    /// Time and peak RSS per pass, as Markdown.
    pub memory: String,
}

/// Fills `bench_stream_rows` with `n` rows (not timed), then reads it in
/// full on each side (raw, ORM, raw, ..., after one warm-up pass each),
/// measuring time and peak RSS growth; then the two controls that collect
/// every row into a `Vec`.
pub async fn run(
    raw: &RawStream,
    db: &Db,
    n: usize,
    rounds: usize,
    log: &mut Log,
) -> BoxResult<StreamResults> {
    let client = &raw.client;
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
    log.line(format!(
        "  stream: {} rows filled in {:.1} s (not timed); plan raw: {raw_plan}; ORM: {orm_plan}{}",
        thousands(n),
        fill.elapsed().as_secs_f64(),
        if raw_plan == orm_plan {
            ""
        } else {
            " (**plans differ**)"
        }
    ));

    let label = format!(
        "stream {} rows, row by row (per row; raw and ORM only)",
        thousands(n)
    );
    let mut s = Samples::new("stream", label, n, Target::MaxRatio(1.10));
    let mut raw_mem = MemRow::new("raw `query_raw`, row by row", None);
    let mut orm_mem = MemRow::new("ORM `stream()`, row by row", Some(STREAM_MEMORY_TARGET_MIB));
    // Warm-up passes (statement cache, server buffers); their memory is
    // each side's cold first pass.
    let (first_raw, mem) = measure_mem(raw.stream(n)).await?;
    let expected = first_raw.checksum;
    raw_mem.first = mem;
    let (first_orm, mem) = measure_mem(orm_stream(db, n)).await?;
    orm_mem.first = mem;
    check_checksum("ORM stream() warm-up", expected, first_orm.checksum)?;
    let show = |m: Option<Mem>| {
        m.map_or_else(
            || "n/a".to_owned(),
            |m| format!("+{:.2} MiB", mib(m.growth)),
        )
    };
    log.line(format!(
        "  stream  warm-up: raw {:.0} ms ({} RSS)  orm {:.0} ms ({} RSS)",
        first_raw.wall.as_secs_f64() * 1e3,
        show(raw_mem.first),
        first_orm.wall.as_secs_f64() * 1e3,
        show(orm_mem.first),
    ));
    for round in 1..=rounds {
        let (raw_run, raw_m) = measure_mem(raw.stream(n)).await?;
        let (orm_run, orm_m) = measure_mem(orm_stream(db, n)).await?;
        check_checksum("raw query_raw", expected, raw_run.checksum)?;
        let line = s.record(round, &[(Side::Raw, raw_run), (Side::Orm, orm_run)])?;
        log.line(format!(
            "{line}  | pass raw {:.0} ms ({} RSS)  orm {:.0} ms ({} RSS)",
            raw_run.wall.as_secs_f64() * 1e3,
            show(raw_m),
            orm_run.wall.as_secs_f64() * 1e3,
            show(orm_m),
        ));
        raw_mem.push(raw_run.wall, raw_m);
        orm_mem.push(orm_run.wall, orm_m);
    }

    // Controls, once each: every row in memory at once.
    let mut rows = vec![raw_mem, orm_mem];
    for (label, orm_side) in [
        ("control: ORM `.await` into a `Vec`", true),
        ("control: raw `query` into `Vec<Row>`, then decoded", false),
    ] {
        let (run, mem) = if orm_side {
            measure_mem(orm_collect(db, n)).await?
        } else {
            measure_mem(raw.collect(n)).await?
        };
        check_checksum(label, expected, run.checksum)?;
        log.line(format!(
            "  stream  {label}: {:.0} ms ({} RSS)",
            run.wall.as_secs_f64() * 1e3,
            show(mem)
        ));
        let mut row = MemRow::new(label, None);
        row.push(run.wall, mem);
        rows.push(row);
    }
    let memory = format!(
        "Stream, {} rows: time and peak RSS per pass ({}):\n\n{}",
        thousands(n),
        RSS_METHOD.get().copied().unwrap_or("not measured"),
        memory_table(&rows, n)
    );
    Ok(StreamResults { samples: s, memory })
}
