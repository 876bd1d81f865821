//! Client work per statement, for profilers: one kind of statement run
//! `N` times by one side, on one connection, single-threaded.
//!
//! The benchmark's wall times swing by ±15 % on a shared machine; the
//! number of instructions the client executes does not. Under callgrind,
//! the difference between two runs that differ only in their number of
//! rounds is the cost of `N` statements, setup excluded:
//!
//! ```sh
//! cargo build --release --example per_statement
//! for r in 1 2; do
//!   ROUNDS=$r valgrind --tool=callgrind --callgrind-out-file=cg.$r \
//!     ./target/release/examples/per_statement orm-get 2>&1 | grep Collected
//! done   # (second - first) / 10,000 = instructions per get
//! callgrind_annotate --inclusive=yes cg.2 | less
//! ```
//!
//! Without valgrind it prints the wall and CPU time per statement of each
//! round. Workloads: `raw-get`, `orm-get`, `orm-raw-get` (the ORM's
//! `orm_core::raw` with the ORM's SQL), `raw-update`, `orm-update`.

use std::time::Instant;

use orm_core::prelude::*;

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "users")]
struct User {
    #[orm(primary_key)]
    id: i32,
    name: String,
    hair_color: Option<String>,
}

const N: i32 = 10_000;

/// The SQL the ORM renders for `User::get(q!(id = ..))` (Django's limit of
/// 21 rows, written as a literal).
const GET_SQL: &str = r#"SELECT "users"."id", "users"."name", "users"."hair_color" FROM "users" WHERE "users"."id" = $1 LIMIT 21"#;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let workload = std::env::args().nth(1).unwrap_or_default();
    let rounds: usize = std::env::var("ROUNDS").map_or(Ok(3), |r| r.parse())?;
    // MULTI=1: the benchmark's set-up instead, a multi-thread runtime with
    // the statements in a spawned task (wake-ups cross threads there).
    if std::env::var_os("MULTI").is_some_and(|v| v == "1") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        return runtime.block_on(async { tokio::spawn(run(workload, rounds)).await? });
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(workload, rounds))
}

async fn run(workload: String, rounds: usize) -> Result<(), BoxError> {
    {
        let url = orm_core::testing::test_database_url().await?;
        let db = Db::builder(url.clone()).max_size(1).connect().await?;
        orm_core::generate_schemas_on(&db).await?;
        let users = (0..N)
            .map(|i| User {
                name: format!("User {i}"),
                hair_color: Some("black".into()),
                ..Default::default()
            })
            .collect();
        orm_core::scope(&db, User::bulk_insert(users)).await?;
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        let get = client.prepare(GET_SQL).await?;
        let update = client
            .prepare("UPDATE users SET hair_color = $1 WHERE id = $2")
            .await?;
        for round in 1..=rounds {
            let (start, cpu, ticks) = (Instant::now(), cpu_ns(), user_sys_ticks());
            let mut sum = 0i64;
            match workload.as_str() {
                "raw-get" => {
                    for id in 1..=N {
                        // Decoded in full, as the ORM decodes its model.
                        let row = client.query_one(&get, &[&id]).await?;
                        let (user_id, name, hair_color): (i32, String, Option<String>) =
                            (row.get(0), row.get(1), row.get(2));
                        sum += name.len() as i64;
                        std::hint::black_box((user_id, hair_color));
                    }
                }
                "orm-get" => {
                    orm_core::scope(&db, async {
                        for id in 1..=N {
                            sum += User::get(q!(id = id)).await?.name.len() as i64;
                        }
                        Ok::<_, orm_core::Error>(())
                    })
                    .await?
                }
                "orm-raw-get" => {
                    orm_core::scope(&db, async {
                        for id in 1..=N {
                            let rows: Vec<(i32, String, Option<String>)> =
                                orm_core::raw(GET_SQL, &[&id]).await?;
                            sum += rows[0].1.len() as i64;
                        }
                        Ok::<_, orm_core::Error>(())
                    })
                    .await?
                }
                "raw-update" => {
                    for id in 1..=N {
                        sum += client.execute(&update, &[&"brown", &id]).await? as i64;
                    }
                }
                "orm-update" => {
                    orm_core::scope(&db, async {
                        for id in 1..=N {
                            let changed = User::filter(q!(id = id))
                                .update(q!(hair_color = "brown"))
                                .await?;
                            sum += changed as i64;
                        }
                        Ok::<_, orm_core::Error>(())
                    })
                    .await?
                }
                other => {
                    return Err(format!(
                        "unknown workload {other:?}: raw-get, orm-get, orm-raw-get, raw-update, orm-update"
                    )
                    .into())
                }
            }
            let wall = start.elapsed().as_nanos() as f64 / f64::from(N) / 1000.0;
            let cpu = (cpu_ns() - cpu) as f64 / f64::from(N) / 1000.0;
            let (user, sys) = user_sys_ticks();
            // Clock ticks of 10 ms: µs per statement = ticks * 10,000 / N.
            let per = |t: u64| t as f64 * 10_000.0 / f64::from(N);
            let (user, sys) = (per(user - ticks.0), per(sys - ticks.1));
            println!("{workload} round {round}: {wall:.2} µs wall, {cpu:.2} µs CPU ({user:.1} user, {sys:.1} system) per statement (checksum {sum})");
        }
        Ok(())
    }
}

/// CPU time of every thread of this process, in nanoseconds (Linux).
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// User and system CPU time of this process so far, in clock ticks
/// (`/proc/self/stat` fields 14 and 15; 100 per second on Linux).
fn user_sys_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let mut fields = rest.split_whitespace().skip(11);
    let mut next = || fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
    (next(), next())
}
