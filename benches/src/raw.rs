//! The reference: hand-written tokio-postgres on one `Client`, every
//! statement prepared once up front, parameters bound by reference, rows
//! decoded by column index into plain structs.
//!
//! One exception, the `noindex` workload: its child queries (`= ANY($1)`)
//! go unnamed (`query_typed_raw`). PostgreSQL plans a named statement with
//! its parameters only for its first five executions and may then reuse a
//! generic plan, and a generic plan cannot hash the array of `= ANY($1)`:
//! without an index on the key, every row of the table is compared with
//! the array's elements one by one. An unnamed statement is planned with
//! its values every time, in the same single round trip.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures_util::{pin_mut, TryStreamExt};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row, Statement};

use crate::measure::Timed;
use crate::schema::{
    child_hash, comment_hash, ordered, pair_hash, post_hash, split, unordered, user_hash, NewUser,
    PlanCount, PAGE, PLANS_SQL,
};
use crate::BoxResult;

/// A user as the raw side decodes it.
struct RawUser {
    id: i32,
    name: String,
    hair_color: Option<String>,
}

/// A post as the raw side decodes it, with its comments (prefetch).
struct RawPost {
    id: i32,
    user_id: i32,
    title: String,
    body: Option<String>,
    comments: Vec<RawComment>,
}

/// A comment as the raw side decodes it.
struct RawComment {
    id: i32,
    post_id: i32,
    text: String,
}

/// A user with their posts (prefetch).
struct RawUserTree {
    user: RawUser,
    posts: Vec<RawPost>,
}

impl RawUser {
    fn decode(row: &Row, at: usize) -> RawUser {
        RawUser {
            id: row.get(at),
            name: row.get(at + 1),
            hair_color: row.get(at + 2),
        }
    }

    fn hash(&self) -> u64 {
        user_hash(self.id, &self.name, self.hair_color.as_deref())
    }
}

impl RawPost {
    fn decode(row: &Row, at: usize) -> RawPost {
        RawPost {
            id: row.get(at),
            user_id: row.get(at + 1),
            title: row.get(at + 2),
            body: row.get(at + 3),
            comments: Vec::new(),
        }
    }

    fn hash(&self) -> u64 {
        post_hash(self.id, self.user_id, &self.title, self.body.as_deref())
    }
}

/// Every column of `users`, in order.
const USER_COLUMNS: &str = "id, name, hair_color";

/// The posts of some users, in the order the ORM's prefetch returns them.
const POSTS_OF: &str =
    "SELECT id, user_id, title, body FROM posts WHERE user_id = ANY($1) ORDER BY id";

/// The comments of some posts, in the order the ORM's prefetch returns them.
const COMMENTS_OF: &str =
    "SELECT id, post_id, text FROM comments WHERE post_id = ANY($1) ORDER BY id";

/// How the prefetch's child queries (`= ANY($1)`) go to the server.
#[derive(Clone, Copy)]
enum Children {
    /// The statements prepared up front (workload 5, on indexed tables).
    Prepared,
    /// Unnamed statements, planned with their array every time (`noindex`).
    Unnamed,
}

/// The raw side: one connection, its statements prepared once.
pub struct Raw {
    /// The connection (shared with the concurrent workload's tasks).
    pub client: Arc<Client>,
    /// When set, `get`, `filter` and `get_blocks` run on this client with
    /// unnamed statements and explicit parameter types (`query_typed`:
    /// Parse, Bind, Describe, Execute, Sync in one round trip), the
    /// protocol of the ORM's `StatementMode::Unnamed`.
    pub typed: Option<Client>,
    get: Statement,
    filter: Statement,
    all: Statement,
    join: Statement,
    pf_users: Statement,
    pf_posts: Statement,
    pf_comments: Statement,
    insert: Statement,
    bulk: Statement,
    copy: Statement,
    update: Statement,
    delete: Statement,
}

impl Raw {
    /// Prepares every statement on `client`.
    pub async fn prepare(client: Client) -> BoxResult<Raw> {
        let get = client
            .prepare(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .await?;
        let filter = client
            .prepare(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE hair_color = $1 \
                 ORDER BY id LIMIT {PAGE} OFFSET $2"
            ))
            .await?;
        let all = client
            .prepare(&format!("SELECT {USER_COLUMNS} FROM users"))
            .await?;
        let join = client
            .prepare(
                "SELECT u.id, u.name, u.hair_color, p.id, p.user_id, p.title, p.body \
                 FROM users u LEFT JOIN posts p ON u.id = p.user_id WHERE u.hair_color = $1",
            )
            .await?;
        let pf_users = all.clone();
        let pf_posts = client.prepare(POSTS_OF).await?;
        let pf_comments = client.prepare(COMMENTS_OF).await?;
        let insert = client
            .prepare("INSERT INTO users (name, hair_color) VALUES ($1, $2) RETURNING id")
            .await?;
        let bulk = client
            .prepare(
                "INSERT INTO users (name, hair_color) \
                 SELECT * FROM UNNEST($1::text[], $2::text[]) RETURNING id",
            )
            .await?;
        let copy = client
            .prepare("COPY users (name, hair_color) FROM STDIN (FORMAT binary)")
            .await?;
        let update = client
            .prepare("UPDATE users SET hair_color = $1 WHERE id = $2")
            .await?;
        let delete = client.prepare("DELETE FROM users WHERE id = $1").await?;
        Ok(Raw {
            typed: None,
            client: Arc::new(client),
            get,
            filter,
            all,
            join,
            pf_users,
            pf_posts,
            pf_comments,
            insert,
            bulk,
            copy,
            update,
            delete,
        })
    }

    /// Runs `stmt` and decodes every row as it arrives (`query_raw`: no
    /// intermediate `Vec<Row>`).
    async fn load<T>(
        &self,
        stmt: &Statement,
        params: &[&(dyn ToSql + Sync)],
        decode: impl Fn(&Row) -> T,
    ) -> BoxResult<Vec<T>> {
        let rows = self.client.query_raw(stmt, params.iter().copied()).await?;
        pin_mut!(rows);
        let mut out = Vec::new();
        while let Some(row) = rows.try_next().await? {
            out.push(decode(&row));
        }
        Ok(out)
    }

    /// Runs the child query `sql` on the key array `keys` as described by
    /// `how`, decoding every row as it arrives: on `prepared`, or as an
    /// unnamed statement with the array typed `int4[]` (one round trip,
    /// planned with the array's values).
    async fn load_children<T>(
        &self,
        how: Children,
        prepared: &Statement,
        sql: &str,
        keys: &[i32],
        decode: impl Fn(&Row) -> T,
    ) -> BoxResult<Vec<T>> {
        let keys: &(dyn ToSql + Sync) = &keys;
        match how {
            Children::Prepared => self.load(prepared, &[keys], decode).await,
            Children::Unnamed => {
                let rows = self
                    .client
                    .query_typed_raw(sql, [(keys, Type::INT4_ARRAY)])
                    .await?;
                pin_mut!(rows);
                let mut out = Vec::new();
                while let Some(row) = rows.try_next().await? {
                    out.push(decode(&row));
                }
                Ok(out)
            }
        }
    }

    /// This connection's prepared statements on `posts` or `comments` and
    /// their plan counts ([`PLANS_SQL`]; not timed).
    pub async fn plan_counts(&self) -> BoxResult<Vec<PlanCount>> {
        let rows = self.client.query(PLANS_SQL, &[]).await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// `SET synchronous_commit` on this side's connection; returns the
    /// setting the connection then shows.
    pub async fn set_sync_commit(&self, on: bool) -> BoxResult<String> {
        let sql = if on {
            "SET synchronous_commit = on"
        } else {
            "SET synchronous_commit = off"
        };
        self.client.batch_execute(sql).await?;
        let row = self
            .client
            .query_one("SHOW synchronous_commit", &[])
            .await?;
        Ok(row.get(0))
    }

    /// 1: one `query_one` per id.
    pub async fn get(&self, ids: &[i32]) -> Timed {
        if let Some(typed) = &self.typed {
            return get_typed(typed, ids).await;
        }
        let start = Instant::now();
        let mut sum = 0;
        for id in ids {
            let row = self.client.query_one(&self.get, &[id]).await?;
            sum = ordered(sum, RawUser::decode(&row, 0).hash());
        }
        Ok((start.elapsed(), sum))
    }

    /// 2: one page of `PAGE` users per `(hair colour, offset)`.
    pub async fn filter(&self, pages: &[(String, i64)]) -> Timed {
        if let Some(typed) = &self.typed {
            return filter_typed(typed, pages).await;
        }
        let start = Instant::now();
        let mut sum = 0;
        for (color, offset) in pages {
            let users = self
                .load(&self.filter, &[color, offset], |r| RawUser::decode(r, 0))
                .await?;
            sum = users.iter().fold(sum, |acc, u| ordered(acc, u.hash()));
        }
        Ok((start.elapsed(), sum))
    }

    /// 3: every user, `loads` times.
    pub async fn all(&self, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let users = self.load(&self.all, &[], |r| RawUser::decode(r, 0)).await?;
            sum = users.iter().fold(sum, |acc, u| unordered(acc, u.hash()));
        }
        Ok((start.elapsed(), sum))
    }

    /// 4: `users LEFT JOIN posts WHERE hair_color = $1`, `loads` times.
    pub async fn join(&self, color: &str, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let pairs: Vec<(RawUser, Option<RawPost>)> = self
                .load(&self.join, &[&color], |r| {
                    let post = r.get::<_, Option<i32>>(3).map(|_| RawPost::decode(r, 3));
                    (RawUser::decode(r, 0), post)
                })
                .await?;
            sum = pairs.iter().fold(sum, |acc, (u, p)| {
                unordered(acc, pair_hash(u.hash(), p.as_ref().map(RawPost::hash)))
            });
        }
        Ok((start.elapsed(), sum))
    }

    /// 5: every user, their posts, the posts' comments: three queries,
    /// grouped by key and attached, `loads` times.
    pub async fn prefetch(&self, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let users = self.prefetch_once(Children::Prepared).await?;
            sum = unordered(sum, tree_hash(&users));
        }
        Ok((start.elapsed(), sum))
    }

    /// 10 (noindex): [`prefetch`](Raw::prefetch) with unnamed child queries.
    pub async fn noindex_prefetch(&self, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let users = self.prefetch_once(Children::Unnamed).await?;
            sum = unordered(sum, tree_hash(&users));
        }
        Ok((start.elapsed(), sum))
    }

    /// 10 (noindex): every user, then their posts (one unnamed `= ANY($1)
    /// ORDER BY id` query), grouped by user with a `HashMap`, `loads` times.
    pub async fn prefetch_posts(&self, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let mut users = self
                .load(&self.pf_users, &[], |r| RawUserTree {
                    user: RawUser::decode(r, 0),
                    posts: Vec::new(),
                })
                .await?;
            let user_ids: Vec<i32> = users.iter().map(|u| u.user.id).collect();
            let posts = self
                .load_children(
                    Children::Unnamed,
                    &self.pf_posts,
                    POSTS_OF,
                    &user_ids,
                    |r| RawPost::decode(r, 0),
                )
                .await?;
            let mut by_user: HashMap<i32, Vec<RawPost>> = HashMap::with_capacity(users.len());
            for p in posts {
                by_user.entry(p.user_id).or_default().push(p);
            }
            for u in &mut users {
                u.posts = by_user.remove(&u.user.id).unwrap_or_default();
            }
            sum = unordered(sum, tree_hash(&users));
        }
        Ok((start.elapsed(), sum))
    }

    /// 10 (noindex): the users of one hair colour with their posts, in one
    /// query (`users LEFT JOIN posts .. WHERE hair_color = $1`, the join
    /// workload's statement), grouped into user trees by hand, `loads` times.
    pub async fn filtered_posts(&self, color: &str, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let param: &(dyn ToSql + Sync) = &color;
            let rows = self.client.query_raw(&self.join, [param]).await?;
            pin_mut!(rows);
            let mut users: Vec<RawUserTree> = Vec::new();
            let mut at: HashMap<i32, usize> = HashMap::new();
            while let Some(r) = rows.try_next().await? {
                let id: i32 = r.get(0);
                let i = *at.entry(id).or_insert_with(|| {
                    users.push(RawUserTree {
                        user: RawUser::decode(&r, 0),
                        posts: Vec::new(),
                    });
                    users.len() - 1
                });
                if r.get::<_, Option<i32>>(3).is_some() {
                    users[i].posts.push(RawPost::decode(&r, 3));
                }
            }
            sum = unordered(sum, tree_hash(&users));
        }
        Ok((start.elapsed(), sum))
    }

    async fn prefetch_once(&self, how: Children) -> BoxResult<Vec<RawUserTree>> {
        let mut users = self
            .load(&self.pf_users, &[], |r| RawUserTree {
                user: RawUser::decode(r, 0),
                posts: Vec::new(),
            })
            .await?;
        let user_ids: Vec<i32> = users.iter().map(|u| u.user.id).collect();
        let mut posts = self
            .load_children(how, &self.pf_posts, POSTS_OF, &user_ids, |r| {
                RawPost::decode(r, 0)
            })
            .await?;
        let post_ids: Vec<i32> = posts.iter().map(|p| p.id).collect();
        let all_comments = self
            .load_children(how, &self.pf_comments, COMMENTS_OF, &post_ids, |r| {
                RawComment {
                    id: r.get(0),
                    post_id: r.get(1),
                    text: r.get(2),
                }
            })
            .await?;
        let mut comments: HashMap<i32, Vec<RawComment>> = HashMap::with_capacity(posts.len());
        for c in all_comments {
            comments.entry(c.post_id).or_default().push(c);
        }
        let mut by_user: HashMap<i32, Vec<RawPost>> = HashMap::with_capacity(users.len());
        for mut p in posts.drain(..) {
            p.comments = comments.remove(&p.id).unwrap_or_default();
            by_user.entry(p.user_id).or_default().push(p);
        }
        for u in &mut users {
            u.posts = by_user.remove(&u.user.id).unwrap_or_default();
        }
        Ok(users)
    }

    /// 6: one `INSERT .. RETURNING id` per user.
    pub async fn insert(&self, users: Vec<NewUser>) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for u in users {
            let row = self
                .client
                .query_one(&self.insert, &[&u.name, &u.hair_color])
                .await?;
            sum = ordered(sum, row.get::<_, i32>(0) as u64);
        }
        Ok((start.elapsed(), sum))
    }

    /// 7: one `INSERT .. SELECT * FROM UNNEST($1, $2) RETURNING id`.
    pub async fn bulk(&self, users: Vec<NewUser>) -> Timed {
        let start = Instant::now();
        let (names, colors): (Vec<String>, Vec<Option<String>>) =
            users.into_iter().map(|u| (u.name, u.hair_color)).unzip();
        let ids: Vec<i32> = self
            .load(&self.bulk, &[&names, &colors], |r| r.get(0))
            .await?;
        let elapsed = start.elapsed();
        Ok((
            elapsed,
            ids.iter().fold(0, |acc, &id| ordered(acc, id as u64)),
        ))
    }

    /// 7, second reference: `COPY .. FROM STDIN (FORMAT binary)`, no ids
    /// back; the checksum is the number of rows copied.
    pub async fn copy(&self, users: Vec<NewUser>) -> Timed {
        let start = Instant::now();
        let sink = self.client.copy_in(&self.copy).await?;
        let writer = BinaryCopyInWriter::new(sink, &[Type::TEXT, Type::TEXT]);
        pin_mut!(writer);
        for u in &users {
            writer
                .as_mut()
                .write(&[&u.name as &(dyn ToSql + Sync), &u.hair_color])
                .await?;
        }
        let n = writer.finish().await?;
        // Freed inside the timing, as the ORM's bulk_insert frees the
        // models it consumes.
        drop(users);
        Ok((start.elapsed(), n))
    }

    /// 8: one `UPDATE users SET hair_color = $1 WHERE id = $2` per id.
    pub async fn update(&self, changes: &[(i32, String)]) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for (id, color) in changes {
            let n = self.client.execute(&self.update, &[color, id]).await?;
            sum = ordered(sum, n ^ *id as u64);
        }
        Ok((start.elapsed(), sum))
    }

    /// 8: one `DELETE FROM users WHERE id = $1` per id.
    pub async fn delete(&self, ids: &[i32]) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for id in ids {
            let n = self.client.execute(&self.delete, &[id]).await?;
            sum = ordered(sum, n ^ *id as u64);
        }
        Ok((start.elapsed(), sum))
    }

    /// 9: `tasks` spawned tasks share the one client (tokio-postgres
    /// pipelines their queries), each getting its share of `ids`.
    pub async fn concurrent(&self, ids: &[i32], tasks: usize) -> Timed {
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for chunk in split(ids, tasks) {
            let (client, stmt) = (self.client.clone(), self.get.clone());
            set.spawn(async move {
                let mut sum = 0;
                for id in chunk {
                    let row = client.query_one(&stmt, &[&id]).await?;
                    sum = unordered(sum, RawUser::decode(&row, 0).hash());
                }
                Ok::<u64, tokio_postgres::Error>(sum)
            });
        }
        let mut sum = 0;
        while let Some(part) = set.join_next().await {
            sum = unordered(sum, part??);
        }
        Ok((start.elapsed(), sum))
    }
}

/// The prefetch checksum of a forest: every user, every post under the
/// user it was attached to, every comment under its post.
fn tree_hash(users: &[RawUserTree]) -> u64 {
    users.iter().fold(0, |acc, u| {
        let acc = unordered(acc, u.user.hash());
        u.posts.iter().fold(acc, |acc, p| {
            let acc = unordered(acc, child_hash(p.hash(), u.user.id));
            p.comments.iter().fold(acc, |acc, c| {
                unordered(
                    acc,
                    child_hash(comment_hash(c.id, c.post_id, &c.text), p.id),
                )
            })
        })
    })
}

/// [`Raw::get`] with unnamed statements ([`Raw::typed`]); `id` is the
/// `integer` PostgreSQL describes.
async fn get_typed(client: &Client, ids: &[i32]) -> Timed {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    let start = Instant::now();
    let mut sum = 0;
    for id in ids {
        let row = client.query_typed(&sql, &[(id, Type::INT4)]).await?;
        let row = row.first().ok_or("no row")?;
        sum = ordered(sum, RawUser::decode(row, 0).hash());
    }
    Ok((start.elapsed(), sum))
}

/// [`Raw::filter`] with unnamed statements ([`Raw::typed`]): `text` and
/// `bigint` (the `OFFSET`), as PostgreSQL describes them.
async fn filter_typed(client: &Client, pages: &[(String, i64)]) -> Timed {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE hair_color = $1 ORDER BY id LIMIT {PAGE} OFFSET $2"
    );
    let start = Instant::now();
    let mut sum = 0;
    for (color, offset) in pages {
        let rows = client
            .query_typed(&sql, &[(color, Type::TEXT), (offset, Type::INT8)])
            .await?;
        let users: Vec<RawUser> = rows.iter().map(|r| RawUser::decode(r, 0)).collect();
        sum = users.iter().fold(sum, |acc, u| ordered(acc, u.hash()));
    }
    Ok((start.elapsed(), sum))
}

impl Raw {
    /// Gets by primary key in transaction blocks of `BLOCK` gets each
    /// (`BEGIN`, the gets, `COMMIT`): prepared statements, or unnamed ones
    /// with [`Raw::typed`].
    pub async fn get_blocks(&self, ids: &[i32]) -> Timed {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let client: &Client = self.typed.as_ref().unwrap_or(&self.client);
        let start = Instant::now();
        let mut sum = 0;
        for block in ids.chunks(crate::BLOCK) {
            client.batch_execute("BEGIN").await?;
            for id in block {
                let row = match &self.typed {
                    Some(typed) => typed
                        .query_typed(&sql, &[(id, Type::INT4)])
                        .await?
                        .remove(0),
                    None => self.client.query_one(&self.get, &[id]).await?,
                };
                sum = ordered(sum, RawUser::decode(&row, 0).hash());
            }
            client.batch_execute("COMMIT").await?;
        }
        Ok((start.elapsed(), sum))
    }
}
