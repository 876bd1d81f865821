//! Read-replica routing overhead: `get` by primary key through a plain `Db`
//! and through a `Db` declared with one replica, and the cost of
//! read-your-writes tracking per write (one `UPDATE` by key).
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

async fn gets(db: &Db, scoped: bool) -> orm_core::Result<Duration> {
    let work = async {
        let started = Instant::now();
        let mut sum = 0usize;
        for id in 1..=N {
            sum += User::get(q!(id = id)).await?.name.len();
        }
        std::hint::black_box(sum);
        Ok::<_, orm_core::Error>(started.elapsed())
    };
    if scoped {
        orm_core::scope(db, orm_core::read_your_writes(work)).await
    } else {
        orm_core::scope(db, work).await
    }
}

async fn updates(db: &Db, scoped: bool, round: usize) -> orm_core::Result<Duration> {
    let color = if round % 2 == 0 { "brown" } else { "black" };
    let work = async {
        let started = Instant::now();
        for id in 1..=N / 10 {
            User::filter(q!(id = id))
                .update(q!(hair_color = color))
                .await?;
        }
        Ok::<_, orm_core::Error>(started.elapsed())
    };
    if scoped {
        orm_core::scope(db, orm_core::read_your_writes(work)).await
    } else {
        orm_core::scope(db, work).await
    }
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
    let mut t: [Vec<Duration>; 6] = Default::default();
    for round in 1..=rounds {
        t[0].push(gets(&plain, false).await?);
        t[1].push(gets(&routed, false).await?);
        t[2].push(gets(&routed, true).await?);
        t[3].push(updates(&plain, false, round).await?);
        t[4].push(updates(&routed, false, round).await?);
        t[5].push(updates(&routed, true, round).await?);
    }
    let stats = routed.replica_stats().expect("replicas");
    let [a, b, c, d, e, f] = t.map(median);
    println!("medians of {rounds} interleaved rounds, one connection per pool, current-thread runtime");
    println!("get by pk, plain Db:                    {:7.2} µs", per(a, N));
    println!(
        "get by pk, Db with 1 replica:           {:7.2} µs  ({:.3}x)",
        per(b, N),
        b.as_secs_f64() / a.as_secs_f64()
    );
    println!(
        "get by pk, replica, read_your_writes:   {:7.2} µs  ({:.3}x)",
        per(c, N),
        c.as_secs_f64() / a.as_secs_f64()
    );
    println!("update by pk, plain Db:                 {:7.2} µs", per(d, N / 10));
    println!(
        "update by pk, Db with 1 replica:        {:7.2} µs  ({:.3}x)",
        per(e, N / 10),
        e.as_secs_f64() / d.as_secs_f64()
    );
    println!(
        "update by pk, replica, read_your_writes:{:7.2} µs  ({:.3}x: + the WAL position asked after each write)",
        per(f, N / 10),
        f.as_secs_f64() / d.as_secs_f64()
    );
    println!(
        "reads served by the replica in the measured rounds: {} of {}; by the primary: {}",
        stats.replicas[0].reads - served_before,
        2 * rounds * N as usize,
        stats.primary_reads
    );
    Ok(())
}
