//! The cost of row-level security's tenant setting outside a transaction
//! block (issue 24, part 4): `count()` of a tenant model with
//! `#[orm(tenant, rls)]` (500 rows per tenant), one task, a pool of two,
//!
//! - `no tenant (unscoped)`: the statement as it is (the reference),
//! - `scope, outside a block`: `BEGIN; set_config(..); <count>; COMMIT`
//!   pipelined on a connection held alone, as a superuser (the policy is
//!   bypassed: the ORM's cost) and as a plain role (the policy applies),
//! - `scope, in one block`: the counts inside one `transaction()` (the
//!   setting made once), as the plain role.
//!
//! The sides take turns within each round; the figures are medians over
//! the rounds, per statement.
//!
//! ```sh
//! cd benches && cargo build --release --example tenant_rls
//! ROUNDS=7 taskset -c 1 ./target/release/examples/tenant_rls
//! ```

use std::time::{Duration, Instant};

use orm_core::prelude::*;
use orm_core::tenant;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A tenant model held by row-level security.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "bench_rls_items")]
pub struct RlsItem {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(tenant, rls)]
    pub tenant_id: i64,
    pub value: i64,
}

/// Counts per round and side.
const COUNTS: u32 = 2_000;

#[derive(Clone, Copy)]
enum How {
    Unscoped,
    Scope,
    ScopeInBlock,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let rounds: usize = std::env::var("ROUNDS").map_or(Ok(7), |r| r.parse())?;
    let url = orm_core::testing::test_database_url().await?;
    let admin = Db::builder(&url).max_size(2).connect().await?;
    orm_core::generate_schemas_on(&admin).await?;
    for t in [1_i64, 2] {
        let items = (0..500)
            .map(|v| RlsItem {
                value: v,
                ..Default::default()
            })
            .collect();
        orm_core::scope(&admin, tenant::scope(t, RlsItem::bulk_create(items))).await?;
    }
    let role = "orm_bench_rls";
    admin
        .batch_execute(
            "DO $$ BEGIN CREATE ROLE \"orm_bench_rls\" LOGIN; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$; \
             GRANT USAGE ON SCHEMA public TO \"orm_bench_rls\"; \
             GRANT SELECT ON bench_rls_items TO \"orm_bench_rls\";",
        )
        .await?;
    let start = url.find("://").map_or(0, |i| i + 3);
    let at = url[start..].find('@').map_or(start, |i| start + i);
    let app_url = format!("{}{role}{}", &url[..start], &url[at..]);
    let app = Db::builder(&app_url).max_size(2).connect().await?;
    let sides = [
        (
            "no tenant (unscoped), superuser",
            admin.clone(),
            How::Unscoped,
        ),
        (
            "scope, outside a block, superuser",
            admin.clone(),
            How::Scope,
        ),
        (
            "scope, outside a block, plain role",
            app.clone(),
            How::Scope,
        ),
        (
            "scope, in one block, plain role",
            app.clone(),
            How::ScopeInBlock,
        ),
    ];
    let mut times = vec![Vec::new(); sides.len()];
    // A first round unmeasured (connections, caches).
    for round in 0..=rounds {
        for (i, (_, db, how)) in sides.iter().enumerate() {
            let took = orm_core::scope(db, counts(*how)).await?;
            if round > 0 {
                times[i].push(took / COUNTS);
            }
        }
    }
    let median = |v: &Vec<Duration>| {
        let mut v = v.clone();
        v.sort();
        v[v.len() / 2]
    };
    let base = median(&times[0]);
    println!("| side | count() | ratio |");
    println!("|---|---:|---:|");
    for (i, (name, _, _)) in sides.iter().enumerate() {
        let t = median(&times[i]);
        println!(
            "| {name} | {:.1} µs | {:.2} |",
            t.as_secs_f64() * 1e6,
            t.as_secs_f64() / base.as_secs_f64()
        );
    }
    println!("({rounds} rounds, medians per statement)");
    Ok(())
}

/// `COUNTS` counts of tenant 1's items (every item unscoped); the time.
async fn counts(how: How) -> orm_core::Result<Duration> {
    let started = Instant::now();
    let run = async {
        let mut sum = 0;
        for _ in 0..COUNTS {
            sum += RlsItem::all().count().await?;
        }
        Ok::<_, orm_core::Error>(sum)
    };
    let sum = match how {
        How::Unscoped => tenant::unscoped(run).await?,
        How::Scope => tenant::scope(1_i64, run).await?,
        How::ScopeInBlock => tenant::scope(1_i64, orm_core::transaction(|| run)).await?,
    };
    let expected = match how {
        How::Unscoped => 1000,
        _ => 500,
    };
    assert_eq!(sum, expected * i64::from(COUNTS));
    Ok(started.elapsed())
}
