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
//! `orm_core::raw` with the ORM's SQL), `raw-update`, `orm-update`,
//! `raw-delete`, `orm-delete` (by key; only the first round finds rows),
//! `raw-count`, `orm-count` (`COUNT(*)` of the users of one hair colour),
//! `raw-insert`, `orm-insert` (`save()` of a new user), and
//! `raw-filter`, `orm-filter` (a page of 20 users at an offset, `PAGES` per
//! round), `raw-prefetch`, `orm-prefetch` (users -> posts -> comments, 100 / 1,000 /
//! 10,000 rows), `raw-join`, `orm-join` (the 1,000 posts with their users,
//! `select_related`), `raw-posts`, `orm-posts` (10,000 users -> 100,000
//! posts): `LOADS` loads per round instead of `N` statements.

use std::time::Instant;

use orm_core::prelude::*;

/// The benchmark's models (`users`, `posts`, `comments`), shared with it.
#[allow(dead_code)]
#[path = "../src/schema.rs"]
mod schema;

use schema::{Comment, Post, User, FAN_OUT};

/// Users of the prefetch and join workloads' tree (the benchmark's shape:
/// `FAN_OUT` posts each, `FAN_OUT` comments per post).
const TREE_USERS: usize = 100;
/// Loads per round of those workloads: their figures are per load.
const LOADS: i32 = 20;

/// Gives each user `FAN_OUT` posts and each post `FAN_OUT` comments (not
/// measured).
async fn fill_tree(users: usize) -> orm_core::Result<()> {
    fill_posts(users).await?;
    let mut comments = Vec::new();
    for p in 1..=(users * FAN_OUT) as i32 {
        for c in 0..FAN_OUT {
            comments.push(Comment {
                post: ForeignKey::from_key(p),
                text: format!("Comment {c} on post {p}"),
                ..Default::default()
            });
        }
    }
    Comment::bulk_insert(comments).await?;
    Ok(())
}

/// Gives each user `FAN_OUT` posts (not measured).
async fn fill_posts(users: usize) -> orm_core::Result<()> {
    let mut posts = Vec::new();
    for u in 1..=users as i32 {
        for p in 0..FAN_OUT {
            posts.push(Post {
                user: ForeignKey::from_key(u),
                title: format!("Post {p} by user {u}"),
                body: (p % 5 != 0).then(|| "lorem ipsum ".repeat(8 + (p * 3) % 24)),
                ..Default::default()
            });
        }
    }
    Post::bulk_insert(posts).await?;
    Ok(())
}

const N: i32 = 10_000;
/// Pages per round of the filter workloads (20 rows at an offset).
const PAGES: i32 = 1_000;

/// The SQL the ORM renders for `User::get(q!(id = ..))` (no `LIMIT 21`:
/// one row at most matches a key).
const GET_SQL: &str = r#"SELECT "users"."id", "users"."name", "users"."hair_color" FROM "users" WHERE "users"."id" = $1"#;

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
        let tree = workload.ends_with("-prefetch") || workload.ends_with("-join");
        let users = (0..if tree { TREE_USERS as i32 } else { N })
            .map(|i| User {
                name: format!("User {i}"),
                hair_color: Some("black".into()),
                ..Default::default()
            })
            .collect();
        orm_core::scope(&db, User::bulk_insert(users)).await?;
        if tree {
            orm_core::scope(&db, fill_tree(TREE_USERS)).await?;
        }
        let posts_only = workload.ends_with("-posts");
        if posts_only {
            orm_core::scope(&db, fill_posts(N as usize)).await?;
        }
        // Statements per round: the tree workloads count loads.
        let filter = workload.ends_with("-filter");
        let per_round = if tree || posts_only {
            LOADS
        } else if filter {
            PAGES
        } else {
            N
        };
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        let get = client.prepare(GET_SQL).await?;
        let update = client
            .prepare("UPDATE users SET hair_color = $1 WHERE id = $2")
            .await?;
        let delete = client.prepare("DELETE FROM users WHERE id = $1").await?;
        let count = client
            .prepare("SELECT COUNT(*) FROM users WHERE hair_color = $1")
            .await?;
        let insert = client
            .prepare("INSERT INTO users (name, hair_color) VALUES ($1, $2) RETURNING id")
            .await?;
        let page = client
            .prepare(
                "SELECT id, name, hair_color FROM users WHERE hair_color = $1 \
                 ORDER BY id LIMIT 20 OFFSET $2",
            )
            .await?;
        let tree_users = client
            .prepare("SELECT id, name, hair_color FROM users")
            .await?;
        let tree_posts = client
            .prepare(
                "SELECT id, user_id, title, body FROM posts WHERE user_id = ANY($1) ORDER BY id",
            )
            .await?;
        let tree_join = client
            .prepare(
                "SELECT u.id, u.name, u.hair_color, p.id, p.user_id, p.title, p.body \
                 FROM users u LEFT JOIN posts p ON u.id = p.user_id WHERE u.hair_color = $1",
            )
            .await?;
        let tree_comments = client
            .prepare("SELECT id, post_id, text FROM comments WHERE post_id = ANY($1) ORDER BY id")
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
                // The first round deletes every user, the next ones none:
                // the client's work is the same (the server's is not).
                "raw-delete" => {
                    for id in 1..=N {
                        sum += client.execute(&delete, &[&id]).await? as i64;
                    }
                }
                "orm-delete" => {
                    orm_core::scope(&db, async {
                        for id in 1..=N {
                            sum += User::filter(q!(id = id)).delete().await? as i64;
                        }
                        Ok::<_, orm_core::Error>(())
                    })
                    .await?
                }
                "raw-count" => {
                    for _ in 0..N {
                        let row = client.query_one(&count, &[&"black"]).await?;
                        sum += row.get::<_, i64>(0);
                    }
                }
                "orm-count" => {
                    orm_core::scope(&db, async {
                        for _ in 0..N {
                            sum += User::filter(q!(hair_color = "black")).count().await?;
                        }
                        Ok::<_, orm_core::Error>(())
                    })
                    .await?
                }
                "raw-insert" => {
                    for i in 0..N {
                        let (name, hair_color) = (format!("New {i}"), Some("brown".to_owned()));
                        let row = client.query_one(&insert, &[&name, &hair_color]).await?;
                        sum += i64::from(row.get::<_, i32>(0) % 2);
                    }
                }
                "orm-insert" => {
                    orm_core::scope(&db, async {
                        for i in 0..N {
                            let mut u = User {
                                name: format!("New {i}"),
                                hair_color: Some("brown".to_owned()),
                                ..Default::default()
                            };
                            u.save().await?;
                            sum += i64::from(u.id % 2);
                        }
                        Ok::<_, orm_core::Error>(())
                    })
                    .await?
                }
                "raw-prefetch" => {
                    for _ in 0..LOADS {
                        let users = raw_prefetch(&client, [&tree_users, &tree_posts, &tree_comments]).await?;
                        sum += users.iter().map(|u| u.3.len() as i64).sum::<i64>();
                    }
                }
                "raw-filter" => {
                    for i in 0..PAGES {
                        let offset = i64::from(i * 37 % 1000);
                        let users = raw_load(&client, &page, &[&"black", &offset], |r| {
                            (r.get::<_, i32>(0), r.get::<_, String>(1), r.get::<_, Option<String>>(2))
                        })
                        .await?;
                        sum += users.len() as i64;
                    }
                }
                "orm-filter" => {
                    orm_core::scope(&db, async {
                        for i in 0..PAGES {
                            let offset = i64::from(i * 37 % 1000);
                            let users: Vec<User> = User::filter(q!(hair_color = "black"))
                                .order_by(["id"])
                                .offset(offset)
                                .limit(20)
                                .await?;
                            sum += users.len() as i64;
                        }
                        Ok::<_, orm_core::Error>(())
                    })
                    .await?
                }
                "raw-join" => {
                    for _ in 0..LOADS {
                        type Pair = ((i32, String, Option<String>), Option<(i32, i32, String, Option<String>)>);
                        let pairs: Vec<Pair> = raw_load(&client, &tree_join, &[&"black"], |r| {
                            let post = r
                                .get::<_, Option<i32>>(3)
                                .map(|id| (id, r.get(4), r.get(5), r.get(6)));
                            ((r.get(0), r.get(1), r.get(2)), post)
                        })
                        .await?;
                        sum += pairs.len() as i64;
                    }
                }
                "orm-join" => {
                    orm_core::scope(&db, async {
                        for _ in 0..LOADS {
                            let posts: Vec<Post> = Post::filter(q!(user__hair_color = "black"))
                                .select_related(["user"])
                                .await?;
                            sum += posts.iter().filter(|p| p.user.get().is_some()).count() as i64;
                        }
                        Ok::<_, orm_core::Error>(())
                    })
                    .await?
                }
                "raw-posts" => {
                    use std::collections::HashMap;
                    for _ in 0..LOADS {
                        let mut users: RawTree = raw_load(&client, &tree_users, &[], |r| {
                            (r.get(0), r.get(1), r.get(2), Vec::new())
                        })
                        .await?;
                        let ids: Vec<i32> = users.iter().map(|u| u.0).collect();
                        let posts: Vec<RawPost> = raw_load(&client, &tree_posts, &[&ids], |r| {
                            (r.get(0), r.get(1), r.get(2), r.get(3), Vec::new())
                        })
                        .await?;
                        let mut by_user: HashMap<i32, Vec<RawPost>> = HashMap::with_capacity(users.len());
                        for p in posts {
                            by_user.entry(p.1).or_default().push(p);
                        }
                        for u in &mut users {
                            u.3 = by_user.remove(&u.0).unwrap_or_default();
                        }
                        sum += users.iter().map(|u| u.3.len() as i64).sum::<i64>();
                    }
                }
                "orm-posts" => {
                    orm_core::scope(&db, async {
                        for _ in 0..LOADS {
                            let users: Vec<User> = User::all().prefetch_related(["posts"]).await?;
                            sum += users.iter().map(|u| u.posts.get().map_or(0, |p| p.len()) as i64).sum::<i64>();
                        }
                        Ok::<_, orm_core::Error>(())
                    })
                    .await?
                }
                "orm-prefetch" => {
                    orm_core::scope(&db, async {
                        for _ in 0..LOADS {
                            let users: Vec<User> = User::all().prefetch_related(["posts__comments"]).await?;
                            sum += users.iter().map(|u| u.posts.get().map_or(0, |p| p.len()) as i64).sum::<i64>();
                        }
                        Ok::<_, orm_core::Error>(())
                    })
                    .await?
                }
                other => {
                    return Err(format!(
                        "unknown workload {other:?}: raw-get, orm-get, orm-raw-get, raw-update, orm-update, raw-delete, orm-delete, raw-count, orm-count, raw-insert, orm-insert, raw-filter, orm-filter, raw-prefetch, orm-prefetch, raw-join, orm-join, raw-posts, orm-posts"
                    )
                    .into())
                }
            }
            let wall = start.elapsed().as_nanos() as f64 / f64::from(per_round) / 1000.0;
            let cpu = (cpu_ns() - cpu) as f64 / f64::from(per_round) / 1000.0;
            let (user, sys) = user_sys_ticks();
            // Clock ticks of 10 ms: µs per statement = ticks * 10,000 / per_round.
            let per = |t: u64| t as f64 * 10_000.0 / f64::from(per_round);
            let (user, sys) = (per(user - ticks.0), per(sys - ticks.1));
            println!("{workload} round {round}: {wall:.2} µs wall, {cpu:.2} µs CPU ({user:.1} user, {sys:.1} system) per statement (checksum {sum})");
        }
        Ok(())
    }
}

/// A user and their posts, each post with its comments, as the raw side
/// of the benchmark builds them: three statements, each row decoded as it
/// arrives, then grouped by key.
type RawTree = Vec<(i32, String, Option<String>, Vec<RawPost>)>;
type RawPost = (i32, i32, String, Option<String>, Vec<RawComment>);
type RawComment = (i32, i32, String);

async fn raw_prefetch(
    client: &tokio_postgres::Client,
    [users, posts, comments]: [&tokio_postgres::Statement; 3],
) -> Result<RawTree, BoxError> {
    use std::collections::HashMap;

    let mut users: RawTree = raw_load(client, users, &[], |r| {
        (r.get(0), r.get(1), r.get(2), Vec::new())
    })
    .await?;
    let ids: Vec<i32> = users.iter().map(|u| u.0).collect();
    let mut posts: Vec<RawPost> = raw_load(client, posts, &[&ids], |r| {
        (r.get(0), r.get(1), r.get(2), r.get(3), Vec::new())
    })
    .await?;
    let ids: Vec<i32> = posts.iter().map(|p| p.0).collect();
    let all_comments: Vec<RawComment> = raw_load(client, comments, &[&ids], |r| {
        (r.get(0), r.get(1), r.get(2))
    })
    .await?;
    let mut by_post: HashMap<i32, Vec<RawComment>> = HashMap::with_capacity(ids.len());
    for c in all_comments {
        by_post.entry(c.1).or_default().push(c);
    }
    let mut by_user: HashMap<i32, Vec<RawPost>> = HashMap::with_capacity(users.len());
    for mut p in posts.drain(..) {
        p.4 = by_post.remove(&p.0).unwrap_or_default();
        by_user.entry(p.1).or_default().push(p);
    }
    for u in &mut users {
        u.3 = by_user.remove(&u.0).unwrap_or_default();
    }
    Ok(users)
}

/// The benchmark raw side's `load`: `query_raw`, each row decoded as it
/// arrives (no `Vec<Row>`).
async fn raw_load<T>(
    client: &tokio_postgres::Client,
    stmt: &tokio_postgres::Statement,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    decode: impl Fn(&tokio_postgres::Row) -> T,
) -> Result<Vec<T>, BoxError> {
    use futures_util::TryStreamExt;

    let rows = client.query_raw(stmt, params.iter().copied()).await?;
    futures_util::pin_mut!(rows);
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await? {
        out.push(decode(&row));
    }
    Ok(out)
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
