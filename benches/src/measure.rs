//! Timing one run of one side, the process's CPU time, and formatting.

use std::future::Future;
use std::time::Duration;

use crate::BoxResult;

/// What one side's run returns: its own wall time (the side starts the clock
/// after any setup of its own) and a checksum of the data it got back.
pub type Timed = BoxResult<(Duration, u64)>;

/// CPU time used so far by every thread of this process (the benchmark loop,
/// the runtime's workers and so every connection task), from
/// `/proc/self/task/*/schedstat`; `None` where that is unavailable.
pub fn process_cpu() -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

/// One timed run of one side.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Wall time of the run.
    pub wall: Duration,
    /// CPU time of the whole process during the run.
    pub cpu: Option<Duration>,
    /// Checksum of the data the run got back.
    pub checksum: u64,
}

impl Run {
    /// This run followed by `next` (the next slice of the same round): times
    /// added, checksums chained in slice order.
    pub fn then(self, next: Run) -> Run {
        Run {
            wall: self.wall + next.wall,
            cpu: self.cpu.zip(next.cpu).map(|(a, b)| a + b),
            checksum: self
                .checksum
                .wrapping_mul(0x0100_0000_01b3)
                .wrapping_add(next.checksum),
        }
    }
}

/// Runs `side` (already built, so building its input is not counted).
pub async fn measure(side: impl Future<Output = Timed>) -> BoxResult<Run> {
    let cpu_before = process_cpu();
    let (wall, checksum) = side.await?;
    let cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    Ok(Run {
        wall,
        cpu,
        checksum,
    })
}

/// The median of `values`; `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[mid]),
        _ => Some((v[mid - 1] + v[mid]) / 2.0),
    }
}

/// `1.23 ms`, `45.67 µs`, `890 ns`.
pub fn fmt_ns(ns: f64) -> String {
    if ns.abs() >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns.abs() >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// `10000` as `10,000`.
pub fn thousands(n: usize) -> String {
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

/// The CPUs this process may run on (Linux), e.g. `1` under `taskset -c 1`.
pub fn cpu_affinity() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_else(|| "?".to_owned())
}

/// The 1-minute load average (Linux), to tell a busy machine from a slow side.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// The machine's online cores (not only those this process may use).
pub fn machine_cores() -> usize {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|s| {
            s.trim()
                .split(',')
                .map(|range| {
                    let mut ends = range.split('-').map(|n| n.parse::<usize>().ok());
                    match (ends.next().flatten(), ends.next().flatten()) {
                        (Some(lo), Some(hi)) => Some(hi - lo + 1),
                        (Some(_), None) => Some(1),
                        _ => None,
                    }
                })
                .sum::<Option<usize>>()
        })
        .unwrap_or(0)
}

/// The CPU model (first `model name` of `/proc/cpuinfo`).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        })
        .unwrap_or_else(|| "?".to_owned())
}
