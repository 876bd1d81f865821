//! diesel 2 + diesel-async: the same operations with diesel's query DSL on
//! an `AsyncPgConnection` from a deadpool pool of one connection, checked
//! out for every operation (as SeaORM does).
//!
//! The pool recycles connections with `RecyclingMethod::Fast` (no test
//! query on every checkout; diesel-async's default, `Verified`, would add a
//! round trip to every operation), like the ORM's and SeaORM's pools here.

use std::time::Instant;

use diesel::prelude::*;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::measure::Timed;
use crate::schema::{
    child_hash, comment_hash, ordered, pair_hash, post_hash, split, unordered, user_hash,
    NewUser as Input, PlanCount, PAGE, PLANS_SQL,
};
use crate::BoxResult;

/// diesel's view of the tables (`diesel print-schema` of what the ORM creates).
mod tables {
    diesel::table! {
        users (id) {
            id -> Int4,
            name -> Text,
            hair_color -> Nullable<Text>,
        }
    }

    diesel::table! {
        posts (id) {
            id -> Int4,
            user_id -> Int4,
            title -> Text,
            body -> Nullable<Text>,
        }
    }

    diesel::table! {
        comments (id) {
            id -> Int4,
            post_id -> Int4,
            text -> Text,
        }
    }

    diesel::joinable!(comments -> posts (post_id));
    diesel::joinable!(posts -> users (user_id));
    diesel::allow_tables_to_appear_in_same_query!(users, posts, comments);
}

use tables::{comments, posts, users};

/// A row of `users`.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct User {
    id: i32,
    name: String,
    hair_color: Option<String>,
}

/// A row of `posts`.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Associations)]
#[diesel(belongs_to(User))]
#[diesel(table_name = posts)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Post {
    id: i32,
    user_id: i32,
    title: String,
    body: Option<String>,
}

/// A row of `comments`.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Associations)]
#[diesel(belongs_to(Post))]
#[diesel(table_name = comments)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Comment {
    id: i32,
    post_id: i32,
    text: String,
}

/// A user to insert. `treat_none_as_default_value = false` (as diesel's own
/// benchmark has it) binds `None` as NULL: by default diesel writes
/// `DEFAULT` for it, which makes the statement uncacheable, so every insert
/// would be prepared again.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewUser {
    name: String,
    hair_color: Option<String>,
}

impl From<Input> for NewUser {
    fn from(n: Input) -> Self {
        NewUser {
            name: n.name,
            hair_color: n.hair_color,
        }
    }
}

/// A post with its comments, as `grouped_by` builds them.
type PostTree = (Post, Vec<Comment>);

fn hash(u: &User) -> u64 {
    user_hash(u.id, &u.name, u.hair_color.as_deref())
}

fn hash_post(p: &Post) -> u64 {
    post_hash(p.id, p.user_id, &p.title, p.body.as_deref())
}

/// `sum` with `parents` and their `posts`, grouped to them by `grouped_by`
/// (part of the timed work), folded in as raw's `tree_hash` does.
fn with_posts(mut sum: u64, parents: &[User], posts: Vec<Post>) -> u64 {
    let grouped = posts.grouped_by(parents);
    for (u, posts) in parents.iter().zip(&grouped) {
        sum = unordered(sum, hash(u));
        for p in posts {
            sum = unordered(sum, child_hash(hash_post(p), u.id));
        }
    }
    sum
}

/// The diesel-async side: a deadpool pool of one `AsyncPgConnection`.
pub struct Diesel {
    pool: Pool<AsyncPgConnection>,
}

impl Diesel {
    /// A pool of at most one connection to `url`, opened now.
    pub async fn connect(url: &str) -> BoxResult<Diesel> {
        let mut config = ManagerConfig::default();
        config.recycling_method = RecyclingMethod::Fast;
        let manager =
            AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
        let pool = Pool::builder(manager).max_size(1).build()?;
        drop(pool.get().await?);
        Ok(Diesel { pool })
    }

    /// `SET synchronous_commit` on the pool's one connection; returns the
    /// setting the connection then shows.
    pub async fn set_sync_commit(&self, on: bool) -> BoxResult<String> {
        #[derive(QueryableByName)]
        struct Setting {
            #[diesel(sql_type = diesel::sql_types::Text)]
            synchronous_commit: String,
        }
        let mut conn = self.pool.get().await?;
        let sql = if on {
            "SET synchronous_commit = on"
        } else {
            "SET synchronous_commit = off"
        };
        diesel::sql_query(sql).execute(&mut conn).await?;
        let shown: Setting = diesel::sql_query("SHOW synchronous_commit")
            .get_result(&mut conn)
            .await?;
        Ok(shown.synchronous_commit)
    }

    /// 1: `users.find(id).first(conn)` per id.
    pub async fn get(&self, ids: &[i32]) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for &id in ids {
            let mut conn = self.pool.get().await?;
            let u: User = users::table.find(id).first(&mut conn).await?;
            sum = ordered(sum, hash(&u));
        }
        Ok((start.elapsed(), sum))
    }

    /// Gets by primary key in transaction blocks of [`crate::BLOCK`] gets
    /// (`BEGIN`, the gets, `COMMIT` on one pooled connection).
    pub async fn get_blocks(&self, ids: &[i32]) -> Timed {
        use diesel_async::SimpleAsyncConnection;
        let start = Instant::now();
        let mut sum = 0;
        for block in ids.chunks(crate::BLOCK) {
            let mut conn = self.pool.get().await?;
            conn.batch_execute("BEGIN").await?;
            for &id in block {
                let u: User = users::table.find(id).first(&mut conn).await?;
                sum = ordered(sum, hash(&u));
            }
            conn.batch_execute("COMMIT").await?;
        }
        Ok((start.elapsed(), sum))
    }

    /// 2: `filter(hair_color.eq(c)).order(id).limit(20).offset(o)`.
    pub async fn filter(&self, pages: &[(String, i64)]) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for (color, offset) in pages {
            let mut conn = self.pool.get().await?;
            let page: Vec<User> = users::table
                .filter(users::hair_color.eq(color))
                .order(users::id)
                .limit(PAGE)
                .offset(*offset)
                .load(&mut conn)
                .await?;
            sum = page.iter().fold(sum, |acc, u| ordered(acc, hash(u)));
        }
        Ok((start.elapsed(), sum))
    }

    /// 3: `users.load(conn)`, `loads` times.
    pub async fn all(&self, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let mut conn = self.pool.get().await?;
            let all: Vec<User> = users::table.load(&mut conn).await?;
            sum = all.iter().fold(sum, |acc, u| unordered(acc, hash(u)));
        }
        Ok((start.elapsed(), sum))
    }

    /// 4: `users.left_outer_join(posts).filter(hair_color.eq(c))` into
    /// `(User, Option<Post>)`, diesel's own benchmark query.
    pub async fn join(&self, color: &str, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let mut conn = self.pool.get().await?;
            let rows: Vec<(User, Option<Post>)> = users::table
                .left_outer_join(posts::table)
                .filter(users::hair_color.eq(color))
                .load(&mut conn)
                .await?;
            sum = rows.iter().fold(sum, |acc, (u, p)| {
                unordered(acc, pair_hash(hash(u), p.as_ref().map(hash_post)))
            });
        }
        Ok((start.elapsed(), sum))
    }

    /// 5: users, `Post::belonging_to(&users)`, `Comment::belonging_to(&posts)`,
    /// then `grouped_by` twice (diesel's documented way), `loads` times.
    pub async fn prefetch(&self, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let mut conn = self.pool.get().await?;
            let all_users: Vec<User> = users::table.load(&mut conn).await?;
            let all_posts: Vec<Post> = Post::belonging_to(&all_users)
                .select(Post::as_select())
                .load(&mut conn)
                .await?;
            let all_comments: Vec<Comment> = Comment::belonging_to(&all_posts)
                .select(Comment::as_select())
                .load(&mut conn)
                .await?;
            drop(conn);
            let grouped_comments = all_comments.grouped_by(&all_posts);
            let posts_with_comments: Vec<Vec<PostTree>> = all_posts
                .into_iter()
                .zip(grouped_comments)
                .grouped_by(&all_users);
            let tree: Vec<(User, Vec<PostTree>)> =
                all_users.into_iter().zip(posts_with_comments).collect();
            for (u, posts) in &tree {
                sum = unordered(sum, hash(u));
                for (p, comments) in posts {
                    sum = unordered(sum, child_hash(hash_post(p), u.id));
                    for c in comments {
                        sum = unordered(
                            sum,
                            child_hash(comment_hash(c.id, c.post_id, &c.text), p.id),
                        );
                    }
                }
            }
        }
        Ok((start.elapsed(), sum))
    }

    /// 10 (noindex): the same as [`prefetch`](Diesel::prefetch), on the
    /// tables without their foreign-key indexes.
    pub async fn noindex_prefetch(&self, loads: usize) -> Timed {
        self.prefetch(loads).await
    }

    /// 10 (noindex): every user, `Post::belonging_to(&users)`, `grouped_by`,
    /// `loads` times.
    pub async fn prefetch_posts(&self, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let mut conn = self.pool.get().await?;
            let all_users: Vec<User> = users::table.load(&mut conn).await?;
            let all_posts: Vec<Post> = Post::belonging_to(&all_users)
                .select(Post::as_select())
                .load(&mut conn)
                .await?;
            drop(conn);
            sum = with_posts(sum, &all_users, all_posts);
        }
        Ok((start.elapsed(), sum))
    }

    /// 10 (noindex): `users.filter(hair_color.eq(c))`, then
    /// `Post::belonging_to(&users)` and `grouped_by`, `loads` times.
    pub async fn filtered_posts(&self, color: &str, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let mut conn = self.pool.get().await?;
            let some_users: Vec<User> = users::table
                .filter(users::hair_color.eq(color))
                .load(&mut conn)
                .await?;
            let their_posts: Vec<Post> = Post::belonging_to(&some_users)
                .select(Post::as_select())
                .load(&mut conn)
                .await?;
            drop(conn);
            sum = with_posts(sum, &some_users, their_posts);
        }
        Ok((start.elapsed(), sum))
    }

    /// The pool's connection's prepared statements on `posts` or `comments`
    /// and their plan counts ([`PLANS_SQL`]; not timed).
    pub async fn plan_counts(&self) -> BoxResult<Vec<PlanCount>> {
        #[derive(QueryableByName)]
        struct Plans {
            #[diesel(sql_type = diesel::sql_types::Text)]
            statement: String,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            generic_plans: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            custom_plans: i64,
        }
        let mut conn = self.pool.get().await?;
        let rows: Vec<Plans> = diesel::sql_query(PLANS_SQL).load(&mut conn).await?;
        Ok(rows
            .into_iter()
            .map(|p| (p.statement, p.generic_plans, p.custom_plans))
            .collect())
    }

    /// 6: `insert_into(users).values(&new).returning(id).get_result(conn)` per user.
    pub async fn insert(&self, input: Vec<Input>) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for n in input {
            let new = NewUser::from(n);
            let mut conn = self.pool.get().await?;
            let id: i32 = diesel::insert_into(users::table)
                .values(&new)
                .returning(users::id)
                .get_result(&mut conn)
                .await?;
            sum = ordered(sum, id as u64);
        }
        Ok((start.elapsed(), sum))
    }

    /// 7: one multi-row `INSERT .. VALUES (..), (..) .. RETURNING id`.
    pub async fn bulk(&self, input: Vec<Input>) -> Timed {
        let start = Instant::now();
        let new: Vec<NewUser> = input.into_iter().map(NewUser::from).collect();
        let mut conn = self.pool.get().await?;
        let ids: Vec<i32> = diesel::insert_into(users::table)
            .values(&new)
            .returning(users::id)
            .get_results(&mut conn)
            .await?;
        let elapsed = start.elapsed();
        Ok((
            elapsed,
            ids.iter().fold(0, |acc, &id| ordered(acc, id as u64)),
        ))
    }

    /// 8: `update(users.find(id)).set(hair_color.eq(c))` per id. diesel
    /// marks every `UPDATE` unsafe to cache, so each one is prepared anew
    /// (a Parse/Describe round trip before the Bind/Execute).
    pub async fn update(&self, changes: &[(i32, String)]) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for (id, color) in changes {
            let mut conn = self.pool.get().await?;
            let n = diesel::update(users::table.find(*id))
                .set(users::hair_color.eq(color))
                .execute(&mut conn)
                .await?;
            sum = ordered(sum, n as u64 ^ *id as u64);
        }
        Ok((start.elapsed(), sum))
    }

    /// 8: `delete(users.find(id))` per id.
    pub async fn delete(&self, ids: &[i32]) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for &id in ids {
            let mut conn = self.pool.get().await?;
            let n = diesel::delete(users::table.find(id))
                .execute(&mut conn)
                .await?;
            sum = ordered(sum, n as u64 ^ id as u64);
        }
        Ok((start.elapsed(), sum))
    }

    /// 9: `tasks` spawned tasks, each checking the pool's one connection out
    /// for each of its gets.
    pub async fn concurrent(&self, ids: &[i32], tasks: usize) -> Timed {
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for chunk in split(ids, tasks) {
            let pool = self.pool.clone();
            set.spawn(async move {
                let mut sum = 0;
                for id in chunk {
                    let mut conn = pool.get().await?;
                    let u: User = users::table.find(id).first(&mut conn).await?;
                    sum = unordered(sum, hash(&u));
                }
                Ok::<u64, Box<dyn std::error::Error + Send + Sync>>(sum)
            });
        }
        let mut sum = 0;
        while let Some(part) = set.join_next().await {
            sum = unordered(sum, part??);
        }
        Ok((start.elapsed(), sum))
    }
}
