//! Read-replica routing overhead: `get` by primary key through a plain `Db`
//! and through a `Db` declared with one replica, and the cost of
//! read-your-writes tracking per write (one `UPDATE` by key, alone or in a
//! transaction block).
//!
//! The replica is the same server declared as its own replica (a second
//! pool on it; a server not in recovery counts as having replayed every
//! write), so the figures are the client's routing work, not a second
//! server's speed. Rounds are interleaved; medians per statement:
//!
//! ```sh
//! cd benches && cargo build --release --example replicas
//! ./target/release/examples/replicas          # ROUNDS=7 by default
//! ```

use std::time::{Duration, Instant};

use orm_core::prelude::*;

#[allow(dead_code)]
#[path = "../src/schema.rs"]
mod schema;

use schema::User;

const N: i32 = 10_000;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let rounds: usize = std::env::var("ROUNDS").map_or(Ok(7), |r| r.parse())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(rounds))
}

/// Runs `work` on `db`, in a `read_your_writes` scope when `scoped`.
async fn on<T>(db: &Db, scoped: bool, work: impl std::future::Future<Output = T>) -> T {
    if scoped {
        orm_core::scope(db, orm_core::read_your_writes(work)).await
    } else {
        orm_core::scope(db, work).await
    }
}

async fn gets(db: &Db, scoped: bool) -> orm_core::Result<(Duration, Duration)> {
    on(db, scoped, async {
        let started = (Instant::now(), cpu_ns());
        let mut sum = 0usize;
        for id in 1..=N {
            sum += User::get(q!(id = id)).await?.name.len();
        }
        std::hint::black_box(sum);
        Ok(elapsed(started))
    })
    .await
}

/// `UPDATE` by key, N / 10 times; with `block`, each in a transaction
/// block (`BEGIN`, the statement, `COMMIT`: in a scope, the WAL position
/// is read behind the `COMMIT`).
async fn updates(
    db: &Db,
    scoped: bool,
    round: usize,
    block: bool,
) -> orm_core::Result<(Duration, Duration)> {
    let color = if round.is_multiple_of(2) {
        "brown"
    } else {
        "black"
    };
    on(db, scoped, async {
        let started = (Instant::now(), cpu_ns());
        for id in 1..=N / 10 {
            let update = || async {
                User::filter(q!(id = id))
                    .update(q!(hair_color = color))
                    .await
            };
            if block {
                orm_core::transaction(update).await?;
            } else {
                update().await?;
            }
        }
        Ok(elapsed(started))
    })
    .await
}

/// Wall and client CPU time since `started`.
fn elapsed(started: (Instant, u64)) -> (Duration, Duration) {
    (
        started.0.elapsed(),
        Duration::from_nanos(cpu_ns().saturating_sub(started.1)),
    )
}

/// CPU time of this process's threads so far (`/proc/self/task/*/schedstat`).
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn per(d: Duration, n: i32) -> f64 {
    d.as_secs_f64() * 1e6 / f64::from(n)
}

async fn run(rounds: usize) -> Result<(), BoxError> {
    let url = orm_core::testing::test_database_url().await?;
    let plain = Db::builder(url.clone()).max_size(1).connect().await?;
    orm_core::generate_schemas_on(&plain).await?;
    let users = (0..N)
        .map(|i| User {
            name: format!("User {i}"),
            hair_color: Some("black".into()),
            ..Default::default()
        })
        .collect();
    orm_core::scope(&plain, User::bulk_insert(users)).await?;
    let routed = Db::builder(url.clone())
        .max_size(1)
        .replica(url.clone())
        .connect()
        .await?;
    // Warm both (statements prepared, the replica checked once).
    gets(&plain, false).await?;
    gets(&routed, false).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let served_before = routed.replica_stats().map_or(0, |s| s.replicas[0].reads);
    let mut t: [Vec<(Duration, Duration)>; 8] = Default::default();
    for round in 1..=rounds {
        t[0].push(gets(&plain, false).await?);
        t[1].push(gets(&routed, false).await?);
        t[2].push(gets(&routed, true).await?);
        t[3].push(updates(&plain, false, round, false).await?);
        t[4].push(updates(&routed, false, round, false).await?);
        t[5].push(updates(&routed, true, round, false).await?);
        t[6].push(updates(&routed, false, round, true).await?);
        t[7].push(updates(&routed, true, round, true).await?);
    }
    let stats = routed.replica_stats().expect("replicas");
    println!(
        "medians of {rounds} interleaved rounds, one connection per pool, current-thread runtime"
    );
    println!("per statement: wall (ratio to plain) | client CPU (ratio to plain)");
    let rows = [
        ("get by pk, plain Db", 0, 0, N),
        ("get by pk, Db with 1 replica", 1, 0, N),
        ("get by pk, replica, in read_your_writes", 2, 0, N),
        ("update by pk, plain Db", 3, 3, N / 10),
        ("update by pk, Db with 1 replica", 4, 3, N / 10),
        ("update by pk, in read_your_writes", 5, 3, N / 10),
        ("transaction(update), Db with 1 replica", 6, 6, N / 10),
        ("transaction(update), in read_your_writes", 7, 6, N / 10),
    ];
    for (label, i, base, n) in rows {
        let wall = median(t[i].iter().map(|x| x.0).collect());
        let cpu = median(t[i].iter().map(|x| x.1).collect());
        let base_wall = median(t[base].iter().map(|x| x.0).collect());
        let base_cpu = median(t[base].iter().map(|x| x.1).collect());
        println!(
            "{label:<42} {:8.2} µs ({:.3}x) | {:6.2} µs ({:.3}x)",
            per(wall, n),
            wall.as_secs_f64() / base_wall.as_secs_f64(),
            per(cpu, n),
            cpu.as_secs_f64() / base_cpu.as_secs_f64()
        );
    }
    println!(
        "reads served by the replica in the measured rounds: {} of {}; by the primary: {}",
        stats.replicas[0].reads - served_before,
        2 * rounds * N as usize,
        stats.primary_reads
    );
    Ok(())
}
