//! This ORM: the same operations through its public API, on a `Db` pool of
//! one connection (kept out for the calls, shared by concurrent ones).

use std::time::Instant;

use orm_core::prelude::*;

use crate::measure::Timed;
use crate::schema::{
    child_hash, comment_hash, ordered, pair_hash, post_hash, split, unordered, user_hash, Comment,
    NewUser, PlanCount, Post, User, PAGE, PLANS_SQL,
};
use crate::BoxResult;

fn hash(u: &User) -> u64 {
    user_hash(u.id, &u.name, u.hair_color.as_deref())
}

fn hash_post(p: &Post) -> u64 {
    post_hash(p.id, *p.user.key(), &p.title, p.body.as_deref())
}

fn hash_comment(c: &Comment) -> u64 {
    comment_hash(c.id, *c.post.key(), &c.text)
}

/// The inputs as unsaved models (inside the timing, as the ORM's users
/// would build them).
fn models(users: Vec<NewUser>) -> Vec<User> {
    users
        .into_iter()
        .map(|n| User {
            name: n.name,
            hair_color: n.hair_color,
            ..Default::default()
        })
        .collect()
}

/// `sum` with every user of `users` and every post under the user it was
/// attached to folded in (order-independent, as raw's `tree_hash`).
fn users_with_posts(mut sum: u64, users: &[User]) -> BoxResult<u64> {
    for u in users {
        sum = unordered(sum, hash(u));
        for p in u.posts.get().ok_or("posts were not prefetched")? {
            sum = unordered(sum, child_hash(hash_post(p), u.id));
        }
    }
    Ok(sum)
}

/// The ORM side: a pool of `max_size(1)` on the benchmark database.
pub struct Orm {
    /// The pool; every call below runs in `orm_core::scope(&db, ..)`.
    pub db: Db,
}

impl Orm {
    /// `SET synchronous_commit` on the pool's one connection; returns the
    /// setting the connection then shows.
    pub async fn set_sync_commit(&self, on: bool) -> BoxResult<String> {
        let sql = if on {
            "SET synchronous_commit = on"
        } else {
            "SET synchronous_commit = off"
        };
        self.db.batch_execute(sql).await?;
        let shown: Vec<(String,)> =
            orm_core::scope(&self.db, orm_core::raw("SHOW synchronous_commit", &[])).await?;
        Ok(shown.into_iter().next().map(|(v,)| v).unwrap_or_default())
    }

    /// 1: `User::get(q!(id = id))` per id.
    pub async fn get(&self, ids: &[i32]) -> Timed {
        orm_core::scope(&self.db, async {
            let start = Instant::now();
            let mut sum = 0;
            for &id in ids {
                let u = User::get(q!(id = id)).await?;
                sum = ordered(sum, hash(&u));
            }
            Ok((start.elapsed(), sum))
        })
        .await
    }

    /// Gets by primary key in transaction blocks of [`crate::BLOCK`] gets.
    pub async fn get_blocks(&self, ids: &[i32]) -> Timed {
        orm_core::scope(&self.db, async {
            let start = Instant::now();
            let mut sum = 0;
            for block in ids.chunks(crate::BLOCK) {
                sum = orm_core::transaction(|| async move {
                    let mut sum = sum;
                    for &id in block {
                        let u = User::get(q!(id = id)).await?;
                        sum = ordered(sum, hash(&u));
                    }
                    Ok(sum)
                })
                .await?;
            }
            Ok((start.elapsed(), sum))
        })
        .await
    }

    /// 2: `User::filter(q!(hair_color = c)).order_by(["id"]).offset(o).limit(PAGE)`.
    pub async fn filter(&self, pages: &[(String, i64)]) -> Timed {
        orm_core::scope(&self.db, async {
            let start = Instant::now();
            let mut sum = 0;
            for (color, offset) in pages {
                let users: Vec<User> = User::filter(q!(hair_color = color.as_str()))
                    .order_by(["id"])
                    .offset(*offset)
                    .limit(PAGE)
                    .await?;
                sum = users.iter().fold(sum, |acc, u| ordered(acc, hash(u)));
            }
            Ok((start.elapsed(), sum))
        })
        .await
    }

    /// 3: `User::all()`, `loads` times.
    pub async fn all(&self, loads: usize) -> Timed {
        orm_core::scope(&self.db, async {
            let start = Instant::now();
            let mut sum = 0;
            for _ in 0..loads {
                let users: Vec<User> = User::all().await?;
                sum = users.iter().fold(sum, |acc, u| unordered(acc, hash(u)));
            }
            Ok((start.elapsed(), sum))
        })
        .await
    }

    /// The SQL the ORM sends for workload 4.
    pub fn join_sql(color: &str) -> BoxResult<String> {
        let stmt = Post::filter(q!(user__hair_color = color))
            .select_related(["user"])
            .sql()?
            .ok_or("the join matches nothing")?;
        Ok(stmt.sql)
    }

    /// 4: `Post::filter(q!(user__hair_color = c)).select_related(["user"])`:
    /// every post of a user with that hair colour, its user joined in the
    /// same query. Equal to the raw `users LEFT JOIN posts` only because
    /// every user of this workload has a post (the ORM cannot start a join
    /// from `users`: `select_related` follows forward keys, as Django's).
    /// The filter is a condition on the joined row, not an `EXISTS`.
    pub async fn join(&self, color: &str, loads: usize) -> Timed {
        orm_core::scope(&self.db, async {
            let start = Instant::now();
            let mut sum = 0;
            for _ in 0..loads {
                let posts: Vec<Post> = Post::filter(q!(user__hair_color = color))
                    .select_related(["user"])
                    .await?;
                for p in &posts {
                    let u = p.user.get().ok_or("select_related did not load the user")?;
                    sum = unordered(sum, pair_hash(hash(u), Some(hash_post(p))));
                }
            }
            Ok((start.elapsed(), sum))
        })
        .await
    }

    /// 5: `User::all().prefetch_related(["posts__comments"])`, `loads` times.
    pub async fn prefetch(&self, loads: usize) -> Timed {
        orm_core::scope(&self.db, async {
            let start = Instant::now();
            let mut sum = 0;
            for _ in 0..loads {
                let users: Vec<User> = User::all().prefetch_related(["posts__comments"]).await?;
                for u in &users {
                    sum = unordered(sum, hash(u));
                    for p in u.posts.get().ok_or("posts were not prefetched")? {
                        sum = unordered(sum, child_hash(hash_post(p), u.id));
                        for c in p.comments.get().ok_or("comments were not prefetched")? {
                            sum = unordered(sum, child_hash(hash_comment(c), p.id));
                        }
                    }
                }
            }
            Ok((start.elapsed(), sum))
        })
        .await
    }

    /// 10 (noindex): the same as [`prefetch`](Orm::prefetch), on the tables
    /// without their foreign-key indexes.
    pub async fn noindex_prefetch(&self, loads: usize) -> Timed {
        self.prefetch(loads).await
    }

    /// 10 (noindex): `User::all().prefetch_related(["posts"])`, `loads` times.
    pub async fn prefetch_posts(&self, loads: usize) -> Timed {
        orm_core::scope(&self.db, async {
            let start = Instant::now();
            let mut sum = 0;
            for _ in 0..loads {
                let users: Vec<User> = User::all().prefetch_related(["posts"]).await?;
                sum = users_with_posts(sum, &users)?;
            }
            Ok((start.elapsed(), sum))
        })
        .await
    }

    /// 10 (noindex): `User::filter(q!(hair_color = c)).prefetch_related(["posts"])`,
    /// `loads` times.
    pub async fn filtered_posts(&self, color: &str, loads: usize) -> Timed {
        orm_core::scope(&self.db, async {
            let start = Instant::now();
            let mut sum = 0;
            for _ in 0..loads {
                let users: Vec<User> = User::filter(q!(hair_color = color))
                    .prefetch_related(["posts"])
                    .await?;
                sum = users_with_posts(sum, &users)?;
            }
            Ok((start.elapsed(), sum))
        })
        .await
    }

    /// The pool's connection's prepared statements on `posts` or `comments`
    /// and their plan counts ([`PLANS_SQL`]; not timed).
    pub async fn plan_counts(&self) -> BoxResult<Vec<PlanCount>> {
        Ok(orm_core::scope(&self.db, orm_core::raw(PLANS_SQL, &[])).await?)
    }

    /// 6: `user.save()` (an `INSERT .. RETURNING` that fills the id) per user.
    pub async fn insert(&self, users: Vec<NewUser>) -> Timed {
        orm_core::scope(&self.db, async {
            let start = Instant::now();
            let mut sum = 0;
            for n in users {
                let mut u = User {
                    name: n.name,
                    hair_color: n.hair_color,
                    ..Default::default()
                };
                u.save().await?;
                sum = ordered(sum, u.id as u64);
            }
            Ok((start.elapsed(), sum))
        })
        .await
    }

    /// 7: `User::bulk_create(users)`, the models back with their ids.
    pub async fn bulk(&self, users: Vec<NewUser>) -> Timed {
        orm_core::scope(&self.db, async {
            let start = Instant::now();
            let users = models(users);
            let stored = User::bulk_create(users).await?;
            let elapsed = start.elapsed();
            Ok((
                elapsed,
                stored.iter().fold(0, |acc, u| ordered(acc, u.id as u64)),
            ))
        })
        .await
    }

    /// 7 without ids: `User::bulk_insert(users)` (one binary `COPY`); the
    /// checksum is the number of rows, as raw `copy`'s.
    pub async fn copy(&self, users: Vec<NewUser>) -> Timed {
        orm_core::scope(&self.db, async {
            let start = Instant::now();
            let users = models(users);
            let n = User::bulk_insert(users).await?;
            Ok((start.elapsed(), n))
        })
        .await
    }

    /// 8: `User::filter(q!(id = id)).update(q!(hair_color = c))` per id.
    pub async fn update(&self, changes: &[(i32, String)]) -> Timed {
        orm_core::scope(&self.db, async {
            let start = Instant::now();
            let mut sum = 0;
            for (id, color) in changes {
                let n = User::filter(q!(id = *id))
                    .update(q!(hair_color = color.as_str()))
                    .await?;
                sum = ordered(sum, n ^ *id as u64);
            }
            Ok((start.elapsed(), sum))
        })
        .await
    }

    /// 8: `User::filter(q!(id = id)).delete()` per id.
    pub async fn delete(&self, ids: &[i32]) -> Timed {
        orm_core::scope(&self.db, async {
            let start = Instant::now();
            let mut sum = 0;
            for &id in ids {
                let n = User::filter(q!(id = id)).delete().await?;
                sum = ordered(sum, n ^ id as u64);
            }
            Ok((start.elapsed(), sum))
        })
        .await
    }

    /// 9: `tasks` spawned tasks, each in `scope(&db, ..)` getting its share
    /// of `ids`; the gets are pipelined on the pool's one connection.
    pub async fn concurrent(&self, ids: &[i32], tasks: usize) -> Timed {
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for chunk in split(ids, tasks) {
            let db = self.db.clone();
            set.spawn(async move {
                orm_core::scope(&db, async {
                    let mut sum = 0;
                    for id in chunk {
                        let u = User::get(q!(id = id)).await?;
                        sum = unordered(sum, hash(&u));
                    }
                    Ok::<u64, orm_core::Error>(sum)
                })
                .await
            });
        }
        let mut sum = 0;
        while let Some(part) = set.join_next().await {
            sum = unordered(sum, part??);
        }
        Ok((start.elapsed(), sum))
    }
}
