//! SeaORM 2 (sqlx-postgres, tokio): the same operations with SeaORM's
//! entity API on a sqlx pool of one connection (every operation acquires
//! it, as diesel's calls do).
//!
//! The pool does not test the connection on every acquire
//! (`test_before_acquire(false)`; sqlx's default would add a ping, a round
//! trip, to every operation), never retires it (no idle timeout or maximum
//! lifetime), and sqlx's statement logging is off: the same conditions as
//! the ORM's and diesel's pools here.

use std::time::Instant;

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ConnectOptions, Database, DatabaseConnection, DbBackend, LoaderTrait,
    QueryOrder, QuerySelect, Statement,
};

use crate::measure::Timed;
use crate::schema::{
    child_hash, comment_hash, ordered, pair_hash, post_hash, split, unordered, user_hash, NewUser,
    PlanCount, PAGE, PLANS_SQL,
};
use crate::BoxResult;

/// The `users` entity.
pub mod user {
    use sea_orm::entity::prelude::*;

    /// A row of `users`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        /// Identity primary key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// `name`.
        pub name: String,
        /// `hair_color`.
        pub hair_color: Option<String>,
    }

    /// `users` has many `posts`.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// `posts.user_id`.
        #[sea_orm(has_many = "super::post::Entity")]
        Post,
    }

    impl Related<super::post::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Post.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `posts` entity.
pub mod post {
    use sea_orm::entity::prelude::*;

    /// A row of `posts`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "posts")]
    pub struct Model {
        /// Identity primary key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// `user_id`.
        pub user_id: i32,
        /// `title`.
        pub title: String,
        /// `body`.
        pub body: Option<String>,
    }

    /// `posts` belongs to `users` and has many `comments`.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// `posts.user_id -> users.id`.
        #[sea_orm(
            belongs_to = "super::user::Entity",
            from = "Column::UserId",
            to = "super::user::Column::Id"
        )]
        User,
        /// `comments.post_id`.
        #[sea_orm(has_many = "super::comment::Entity")]
        Comment,
    }

    impl Related<super::user::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::User.def()
        }
    }

    impl Related<super::comment::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Comment.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `comments` entity.
pub mod comment {
    use sea_orm::entity::prelude::*;

    /// A row of `comments`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "comments")]
    pub struct Model {
        /// Identity primary key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// `post_id`.
        pub post_id: i32,
        /// `text`.
        pub text: String,
    }

    /// `comments` belongs to `posts`.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// `comments.post_id -> posts.id`.
        #[sea_orm(
            belongs_to = "super::post::Entity",
            from = "Column::PostId",
            to = "super::post::Column::Id"
        )]
        Post,
    }

    impl Related<super::post::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Post.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

fn hash(u: &user::Model) -> u64 {
    user_hash(u.id, &u.name, u.hair_color.as_deref())
}

fn hash_post(p: &post::Model) -> u64 {
    post_hash(p.id, p.user_id, &p.title, p.body.as_deref())
}

fn active(n: NewUser) -> user::ActiveModel {
    user::ActiveModel {
        name: Set(n.name),
        hair_color: Set(n.hair_color),
        ..Default::default()
    }
}

/// `sum` with `users` and their `posts` (`load_many`'s groups, in the
/// users' order) folded in as raw's `tree_hash` does.
fn with_posts(mut sum: u64, users: &[user::Model], posts: &[Vec<post::Model>]) -> u64 {
    for (u, posts) in users.iter().zip(posts) {
        sum = unordered(sum, hash(u));
        for p in posts {
            sum = unordered(sum, child_hash(hash_post(p), u.id));
        }
    }
    sum
}

/// `url` with `localhost` as its host where it has none: sqlx cannot parse
/// `postgres://user@/db?host=/socket/dir` (the throwaway server's form),
/// and its `host` parameter still picks the Unix socket.
fn sqlx_url(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("postgres://") {
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (user, host) = match authority.rsplit_once('@') {
            Some((user, host)) => (format!("{user}@"), host),
            None => (String::new(), authority),
        };
        if host.is_empty() {
            return format!("postgres://{user}localhost{path}");
        }
    }
    url.to_owned()
}

/// The SeaORM side: a `DatabaseConnection` (a sqlx pool of one connection).
pub struct SeaOrm {
    db: DatabaseConnection,
}

impl SeaOrm {
    /// A pool of exactly one connection to `url`, opened now.
    pub async fn connect(url: &str) -> BoxResult<SeaOrm> {
        let mut options = ConnectOptions::new(sqlx_url(url));
        options
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .sqlx_logging(false);
        let db = Database::connect(options).await?;
        Ok(SeaOrm { db })
    }

    /// `SET synchronous_commit` on the pool's one connection; returns the
    /// setting the connection then shows.
    pub async fn set_sync_commit(&self, on: bool) -> BoxResult<String> {
        let sql = if on {
            "SET synchronous_commit = on"
        } else {
            "SET synchronous_commit = off"
        };
        self.db.execute_unprepared(sql).await?;
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SHOW synchronous_commit",
            ))
            .await?
            .ok_or("SHOW returned no row")?;
        Ok(row.try_get("", "synchronous_commit")?)
    }

    /// 1: `user::Entity::find_by_id(id).one(db)` per id.
    pub async fn get(&self, ids: &[i32]) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for &id in ids {
            let u = user::Entity::find_by_id(id)
                .one(&self.db)
                .await?
                .ok_or("no such user")?;
            sum = ordered(sum, hash(&u));
        }
        Ok((start.elapsed(), sum))
    }

    /// Gets by primary key in transaction blocks of [`crate::BLOCK`] gets
    /// (`begin()`, the gets, `commit()`).
    pub async fn get_blocks(&self, ids: &[i32]) -> Timed {
        use sea_orm::TransactionTrait;
        let start = Instant::now();
        let mut sum = 0;
        for block in ids.chunks(crate::BLOCK) {
            let txn = self.db.begin().await?;
            for &id in block {
                let u = user::Entity::find_by_id(id)
                    .one(&txn)
                    .await?
                    .ok_or("no such user")?;
                sum = ordered(sum, hash(&u));
            }
            txn.commit().await?;
        }
        Ok((start.elapsed(), sum))
    }

    /// 2: `find().filter(HairColor.eq(c)).order_by_asc(Id).limit(20).offset(o)`.
    pub async fn filter(&self, pages: &[(String, i64)]) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for (color, offset) in pages {
            let page = user::Entity::find()
                .filter(user::Column::HairColor.eq(color.as_str()))
                .order_by_asc(user::Column::Id)
                .limit(PAGE as u64)
                .offset(*offset as u64)
                .all(&self.db)
                .await?;
            sum = page.iter().fold(sum, |acc, u| ordered(acc, hash(u)));
        }
        Ok((start.elapsed(), sum))
    }

    /// 3: `user::Entity::find().all(db)`, `loads` times.
    pub async fn all(&self, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let all = user::Entity::find().all(&self.db).await?;
            sum = all.iter().fold(sum, |acc, u| unordered(acc, hash(u)));
        }
        Ok((start.elapsed(), sum))
    }

    /// 4: `user::Entity::find().find_also_related(post::Entity)
    /// .filter(HairColor.eq(c))`: `users LEFT JOIN posts` into
    /// `(user, Option<post>)`.
    pub async fn join(&self, color: &str, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let rows = user::Entity::find()
                .find_also_related(post::Entity)
                .filter(user::Column::HairColor.eq(color))
                .all(&self.db)
                .await?;
            sum = rows.iter().fold(sum, |acc, (u, p)| {
                unordered(acc, pair_hash(hash(u), p.as_ref().map(hash_post)))
            });
        }
        Ok((start.elapsed(), sum))
    }

    /// 5: users, then `load_many(post::Entity)` on them and
    /// `load_many(comment::Entity)` on all their posts (the loader API:
    /// one `IN (..)` query per level), `loads` times.
    pub async fn prefetch(&self, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let users = user::Entity::find().all(&self.db).await?;
            let posts = users.load_many(post::Entity, &self.db).await?;
            let counts: Vec<usize> = posts.iter().map(Vec::len).collect();
            let flat: Vec<post::Model> = posts.into_iter().flatten().collect();
            let comments = flat.load_many(comment::Entity, &self.db).await?;
            let mut next = flat.iter().zip(&comments);
            for (u, count) in users.iter().zip(counts) {
                sum = unordered(sum, hash(u));
                for (p, cs) in next.by_ref().take(count) {
                    sum = unordered(sum, child_hash(hash_post(p), u.id));
                    for c in cs {
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

    /// 10 (noindex): the same as [`prefetch`](SeaOrm::prefetch), on the
    /// tables without their foreign-key indexes.
    pub async fn noindex_prefetch(&self, loads: usize) -> Timed {
        self.prefetch(loads).await
    }

    /// 10 (noindex): every user, then `load_many(post::Entity)` on them,
    /// `loads` times.
    pub async fn prefetch_posts(&self, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let users = user::Entity::find().all(&self.db).await?;
            let posts = users.load_many(post::Entity, &self.db).await?;
            sum = with_posts(sum, &users, &posts);
        }
        Ok((start.elapsed(), sum))
    }

    /// 10 (noindex): `find().filter(HairColor.eq(c))`, then
    /// `load_many(post::Entity)` on those users, `loads` times.
    pub async fn filtered_posts(&self, color: &str, loads: usize) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..loads {
            let users = user::Entity::find()
                .filter(user::Column::HairColor.eq(color))
                .all(&self.db)
                .await?;
            let posts = users.load_many(post::Entity, &self.db).await?;
            sum = with_posts(sum, &users, &posts);
        }
        Ok((start.elapsed(), sum))
    }

    /// The pool's connection's prepared statements on `posts` or `comments`
    /// and their plan counts ([`PLANS_SQL`]; not timed).
    pub async fn plan_counts(&self) -> BoxResult<Vec<PlanCount>> {
        let rows = self
            .db
            .query_all_raw(Statement::from_string(DbBackend::Postgres, PLANS_SQL))
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("", "statement")?,
                    r.try_get("", "generic_plans")?,
                    r.try_get("", "custom_plans")?,
                ))
            })
            .collect()
    }

    /// 6: `user::Entity::insert(active_model).exec(db)` (`RETURNING id`) per user.
    pub async fn insert(&self, input: Vec<NewUser>) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for n in input {
            let res = user::Entity::insert(active(n)).exec(&self.db).await?;
            sum = ordered(sum, res.last_insert_id as u64);
        }
        Ok((start.elapsed(), sum))
    }

    /// 7: `insert_many(..).exec_with_returning_keys(db)`: one multi-row
    /// `INSERT .. RETURNING id`.
    pub async fn bulk(&self, input: Vec<NewUser>) -> Timed {
        let start = Instant::now();
        let models: Vec<user::ActiveModel> = input.into_iter().map(active).collect();
        let ids = user::Entity::insert_many(models)
            .exec_with_returning_keys(&self.db)
            .await?;
        let elapsed = start.elapsed();
        Ok((
            elapsed,
            ids.iter().fold(0, |acc, &id| ordered(acc, id as u64)),
        ))
    }

    /// 8: `update_many().col_expr(HairColor, c).filter(Id.eq(id))` per id.
    pub async fn update(&self, changes: &[(i32, String)]) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for (id, color) in changes {
            let res = user::Entity::update_many()
                .col_expr(user::Column::HairColor, Expr::value(color.as_str()))
                .filter(user::Column::Id.eq(*id))
                .exec(&self.db)
                .await?;
            sum = ordered(sum, res.rows_affected ^ *id as u64);
        }
        Ok((start.elapsed(), sum))
    }

    /// 8: `user::Entity::delete_by_id(id).exec(db)` per id.
    pub async fn delete(&self, ids: &[i32]) -> Timed {
        let start = Instant::now();
        let mut sum = 0;
        for &id in ids {
            let res = user::Entity::delete_by_id(id).exec(&self.db).await?;
            sum = ordered(sum, res.rows_affected ^ id as u64);
        }
        Ok((start.elapsed(), sum))
    }

    /// 9: `tasks` spawned tasks sharing the `DatabaseConnection`; each get
    /// acquires the pool's one connection.
    pub async fn concurrent(&self, ids: &[i32], tasks: usize) -> Timed {
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for chunk in split(ids, tasks) {
            let db = self.db.clone();
            set.spawn(async move {
                let mut sum = 0;
                for id in chunk {
                    let u = user::Entity::find_by_id(id)
                        .one(&db)
                        .await?
                        .ok_or("no such user")?;
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
