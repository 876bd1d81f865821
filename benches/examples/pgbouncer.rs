//! The cost of `StatementMode::Unnamed` (issue 24, part 2): `get` by
//! primary key and `filter` (a page of 20 at an offset) run through
//!
//! - `direct named`: the server directly, statements prepared once per
//!   connection (the default; the reference),
//! - `direct unnamed`: the server directly, every statement sent unnamed
//!   with its parameter types (one round trip, parsed and planned each time),
//! - `pgbouncer unnamed`: the same through a real pgbouncer in
//!   `pool_mode = transaction` (`orm_core::testing::pgbouncer`; one more
//!   hop, on the same machine).
//!
//! (`pgbouncer named` is not measured: it fails, see tests/db/pgbouncer.rs.)
//! Each a pool of one connection, single task; the sides take turns within
//! each round, and the figures are medians over the rounds, per statement.
//!
//! ```sh
//! cd benches && cargo build --release --example pgbouncer
//! ROUNDS=5 ./target/release/examples/pgbouncer
//! ```

use std::time::{Duration, Instant};

use orm_core::prelude::*;
use orm_core::StatementMode;

#[allow(dead_code)]
#[path = "../src/schema.rs"]
mod schema;

use schema::User;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Gets per round and side.
const GETS: i32 = 5_000;
/// Pages per round and side.
const PAGES: i32 = 1_000;
/// Users in the table.
const USERS: i32 = 10_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let rounds: usize = std::env::var("ROUNDS").map_or(Ok(5), |r| r.parse())?;
    let Some(urls) = orm_core::testing::pgbouncer::pooled_test_database().await? else {
        return Err("pgbouncer is not installed".into());
    };
    let direct = Db::builder(&urls.direct).max_size(1).connect().await?;
    orm_core::generate_schemas_on(&direct).await?;
    let users = (0..USERS)
        .map(|i| User {
            name: format!("User {i}"),
            hair_color: Some(if i % 2 == 0 { "black" } else { "brown" }.into()),
            ..Default::default()
        })
        .collect();
    orm_core::scope(&direct, User::bulk_insert(users)).await?;
    let unnamed = |url: &str| {
        Db::builder(url)
            .statement_mode(StatementMode::Unnamed)
            .max_size(1)
            .connect()
    };
    let sides = [
        ("direct named", direct.clone()),
        ("direct unnamed", unnamed(&urls.direct).await?),
        ("pgbouncer unnamed", unnamed(&urls.pooled).await?),
    ];
    let mut times = vec![[Vec::new(), Vec::new()]; sides.len()];
    // A first round unmeasured (connections, descriptions, caches).
    for round in 0..=rounds {
        for (i, (_, db)) in sides.iter().enumerate() {
            let get = orm_core::scope(db, gets(round as i32)).await?;
            let filter = orm_core::scope(db, filters(round as i32)).await?;
            if round > 0 {
                times[i][0].push(get / GETS as u32);
                times[i][1].push(filter / PAGES as u32);
            }
        }
    }
    let median = |v: &Vec<Duration>| {
        let mut v = v.clone();
        v.sort();
        v[v.len() / 2]
    };
    let base = [median(&times[0][0]), median(&times[0][1])];
    println!("| side | get by pk | ratio | filter, page of 20 | ratio |");
    println!("|---|---:|---:|---:|---:|");
    for (i, (name, _)) in sides.iter().enumerate() {
        let (g, f) = (median(&times[i][0]), median(&times[i][1]));
        println!(
            "| {name} | {:.1} µs | {:.2} | {:.1} µs | {:.2} |",
            g.as_secs_f64() * 1e6,
            g.as_secs_f64() / base[0].as_secs_f64(),
            f.as_secs_f64() * 1e6,
            f.as_secs_f64() / base[1].as_secs_f64(),
        );
    }
    println!("({rounds} rounds, medians per statement)");
    Ok(())
}

/// `GETS` gets by primary key; the time taken.
async fn gets(seed: i32) -> orm_core::Result<Duration> {
    let started = Instant::now();
    let mut sum = 0i64;
    for i in 0..GETS {
        let id = (i * 7919 + seed * 104_729) % USERS + 1;
        sum += i64::from(User::get(q!(id = id)).await?.id);
    }
    assert!(sum > 0);
    Ok(started.elapsed())
}

/// `PAGES` pages of 20 black-haired users at an offset; the time taken.
async fn filters(seed: i32) -> orm_core::Result<Duration> {
    let started = Instant::now();
    let mut rows = 0;
    for i in 0..PAGES {
        let offset = i64::from((i * 31 + seed * 17) % 200);
        rows += User::filter(q!(hair_color = "black"))
            .order_by(["id"])
            .offset(offset)
            .limit(20)
            .await?
            .len();
    }
    assert_eq!(rows, PAGES as usize * 20);
    Ok(started.elapsed())
}
