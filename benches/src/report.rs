//! Collecting the rounds of every workload, and the Markdown tables (printed,
//! and written to `RESULTS.md` with `--write-results`).

use std::fmt::Write as _;

use crate::measure::{fmt_ns, median, Run};
use crate::BoxResult;

/// One implementation measured by the benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Hand-written tokio-postgres: statements prepared once, rows decoded by
    /// column index. The reference every ratio divides by.
    Raw,
    /// This ORM (`orm-core`).
    Orm,
    /// diesel 2 + diesel-async (`AsyncPgConnection` in a deadpool pool).
    #[cfg(feature = "peers")]
    Diesel,
    /// SeaORM 2 on sqlx-postgres (its pool).
    #[cfg(feature = "peers")]
    SeaOrm,
}

/// Every implementation this build measures, in column order.
pub const SIDES: &[Side] = &[
    Side::Raw,
    Side::Orm,
    #[cfg(feature = "peers")]
    Side::Diesel,
    #[cfg(feature = "peers")]
    Side::SeaOrm,
];

impl Side {
    /// The column's name.
    pub fn name(self) -> &'static str {
        match self {
            Side::Raw => "raw",
            Side::Orm => "orm",
            #[cfg(feature = "peers")]
            Side::Diesel => "diesel",
            #[cfg(feature = "peers")]
            Side::SeaOrm => "seaorm",
        }
    }

    fn column(self) -> usize {
        SIDES
            .iter()
            .position(|s| *s == self)
            .expect("every side has a column")
    }
}

/// What the ORM must reach on a workload.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// ORM per-op time / raw per-op time at most this.
    MaxRatio(f64),
    /// ORM throughput / raw throughput at least this.
    MinThroughput(f64),
}

impl Target {
    fn verdict(self, ratio: f64) -> String {
        match self {
            Target::MaxRatio(t) if ratio <= t => format!("<= {t:.2} ok"),
            Target::MaxRatio(t) => format!("<= {t:.2} **OVER**"),
            Target::MinThroughput(t) if 1.0 / ratio >= t => {
                format!(">= {t:.2}x throughput: {:.2}x ok", 1.0 / ratio)
            }
            Target::MinThroughput(t) => {
                format!(">= {t:.2}x throughput: {:.2}x **UNDER**", 1.0 / ratio)
            }
        }
    }
}

/// Per-operation times (nanoseconds) of one workload: per side, one entry
/// per round.
pub struct Samples {
    /// The workload's `--only` key.
    pub key: &'static str,
    /// The row's label in the table.
    pub label: String,
    target: Target,
    /// Operations per run (per-op = run time / ops).
    ops: usize,
    /// Whether every side's checksum must equal the reference's.
    check: bool,
    per_op: Vec<Vec<f64>>,
    cpu: Vec<Vec<f64>>,
    /// The ORM's per-round ratios: per round, the ORM's run over raw's run
    /// of that same round (paired when the round is recorded).
    orm_ratios: Vec<f64>,
}

impl Samples {
    /// An empty row; a run of `ops` operations per side and round.
    pub fn new(key: &'static str, label: String, ops: usize, target: Target) -> Self {
        Samples {
            key,
            label,
            target,
            ops,
            check: true,
            per_op: vec![Vec::new(); SIDES.len()],
            cpu: vec![Vec::new(); SIDES.len()],
            orm_ratios: Vec::new(),
        }
    }

    /// Does not compare the sides' checksums (the reference returns other
    /// data: `COPY` returns no ids).
    pub fn unchecked(mut self) -> Self {
        self.check = false;
        self
    }

    /// Records one round and returns its line for the log. `runs` is in the
    /// order the round ran them (it rotates from round to round); each side
    /// at most once, raw always. Runs are matched to columns by their side,
    /// and the line lists them in column order.
    pub fn record(&mut self, round: usize, runs: &[(Side, Run)]) -> BoxResult<String> {
        let run_of = |side: Side| {
            let mut found = runs.iter().filter(|(s, _)| *s == side).map(|(_, r)| *r);
            match (found.next(), found.next()) {
                (_, Some(_)) => Err(format!(
                    "{}: {} twice in round {round}",
                    self.label,
                    side.name()
                )),
                (run, None) => Ok(run),
            }
        };
        let reference = run_of(Side::Raw)?.ok_or("a round without the raw side")?;
        let mut ordered = Vec::new();
        for &side in SIDES {
            if let Some(run) = run_of(side)? {
                ordered.push((side, run));
            }
        }
        if self.check {
            if let Some((side, run)) = ordered
                .iter()
                .find(|(_, r)| r.checksum != reference.checksum)
            {
                return Err(format!(
                    "{}: {} returned other data than raw (checksums {:#x} vs {:#x})",
                    self.label,
                    side.name(),
                    run.checksum,
                    reference.checksum
                )
                .into());
            }
        }
        let per = |d: std::time::Duration| d.as_nanos() as f64 / self.ops as f64;
        let raw = per(reference.wall);
        let first = runs.first().map_or("raw", |(side, _)| side.name());
        let mut line = format!("  {:<16} round {round} ({first} first):", self.key);
        for (side, run) in ordered {
            let t = per(run.wall);
            let col = side.column();
            self.per_op[col].push(t);
            if let Some(cpu) = run.cpu {
                self.cpu[col].push(per(cpu));
            }
            if side == Side::Raw {
                let _ = write!(line, " raw {:>10}", fmt_ns(t));
            } else {
                if side == Side::Orm {
                    self.orm_ratios.push(t / raw);
                }
                let _ = write!(
                    line,
                    " | {} {:>10} ({:.3})",
                    side.name(),
                    fmt_ns(t),
                    t / raw
                );
            }
        }
        Ok(line)
    }

    fn median_of(&self, side: Side) -> Option<f64> {
        median(&self.per_op[side.column()])
    }
}

/// The results as a Markdown table: per side the median per-op time and its
/// ratio to raw, the ORM's target, and the spread of the ORM's per-round
/// ratios.
pub fn table(results: &[Samples]) -> String {
    let mut out = String::from("| workload |");
    for side in SIDES {
        let _ = write!(out, " {} |", side.name());
    }
    out.push_str(" ORM target (orm/raw) | ORM per-round ratio: median (min–max) |\n|---|");
    for _ in SIDES {
        out.push_str("---:|");
    }
    out.push_str("---|---|\n");
    for s in results {
        let Some(raw) = s.median_of(Side::Raw) else {
            continue;
        };
        let _ = write!(out, "| {} | {} |", s.label, fmt_ns(raw));
        for &side in &SIDES[1..] {
            match s.median_of(side) {
                Some(t) => {
                    let _ = write!(out, " {} ({:.2}) |", fmt_ns(t), t / raw);
                }
                None => out.push_str(" – |"),
            }
        }
        let orm = s.median_of(Side::Orm).unwrap_or(f64::NAN);
        let ratios = &s.orm_ratios;
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        let _ = writeln!(
            out,
            " {} | {:.3} ({lo:.3}–{hi:.3}, n={}) |",
            s.target.verdict(orm / raw),
            median(ratios).unwrap_or(f64::NAN),
            ratios.len()
        );
    }
    out
}

/// The client CPU per operation (median over the rounds): CPU time of every
/// thread of this process during a run, divided by its operations.
pub fn cpu_table(results: &[Samples]) -> String {
    let mut out = String::from("| workload |");
    for side in SIDES {
        let _ = write!(out, " {} |", side.name());
    }
    out.push_str("\n|---|");
    for _ in SIDES {
        out.push_str("---:|");
    }
    out.push('\n');
    for s in results {
        let _ = write!(out, "| {} |", s.label);
        for side in SIDES {
            match median(&s.cpu[side.column()]) {
                Some(t) => {
                    let _ = write!(out, " {} |", fmt_ns(t));
                }
                None => out.push_str(" – |"),
            }
        }
        out.push('\n');
    }
    out
}

/// Everything printed that also goes into `RESULTS.md`.
#[derive(Default)]
pub struct Log {
    /// The run's facts (date, server, settings, machine).
    pub header: Vec<String>,
    /// One line per round and setup step.
    pub rounds: Vec<String>,
}

impl Log {
    /// Prints a line of the header and keeps it.
    pub fn fact(&mut self, line: String) {
        println!("{line}");
        self.header.push(line);
    }

    /// Prints a line of the round log and keeps it.
    pub fn line(&mut self, line: String) {
        println!("{line}");
        self.rounds.push(line);
    }
}

/// The versions of the measured crates, from the `Cargo.lock` this program
/// was built with (`name version`, in the order asked).
pub fn crate_versions(names: &[&str]) -> Vec<String> {
    let lock = include_str!("../Cargo.lock");
    let mut out = Vec::new();
    for name in names {
        let mut lines = lock.lines();
        while let Some(line) = lines.next() {
            if line == format!("name = \"{name}\"") {
                if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = ")) {
                    out.push(format!("{name} {}", v.trim_matches('"')));
                }
                break;
            }
        }
    }
    out
}
