//! The benchmark schema (diesel's benchmark schema: `users`, `posts`,
//! `comments`), the ORM's models for it, the deterministic inputs, and the
//! checksums every implementation's results are compared with.
//!
//! The tables are created from the ORM's models (`generate_schemas_on`);
//! the other implementations map the same tables:
//!
//! ```sql
//! users    (id integer identity pk, name text, hair_color text NULL)
//! posts    (id integer identity pk, user_id integer -> users (indexed), title text, body text NULL)
//! comments (id integer identity pk, post_id integer -> posts (indexed), text text)
//! ```
//!
//! (The `noindex` workload drops the two foreign-key indexes for its rows
//! and re-creates them.)

use orm_core::prelude::*;

/// A row of `users`, as the ORM maps it.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "users")]
pub struct User {
    /// Identity primary key.
    #[orm(primary_key)]
    pub id: i32,
    /// `User 0`, `User 1`, ...
    pub name: String,
    /// `black`, `brown` or NULL.
    pub hair_color: Option<String>,
    /// `Post.user`, reversed (filled by `prefetch_related`).
    pub posts: Reverse<Post>,
}

/// A row of `posts`, as the ORM maps it.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "posts")]
pub struct Post {
    /// Identity primary key.
    #[orm(primary_key)]
    pub id: i32,
    /// Column `user_id`, indexed as a careful schema would have it.
    #[orm(related_name = "posts", index)]
    pub user: ForeignKey<User>,
    /// `Post 3 by user 17`.
    pub title: String,
    /// 96–384 bytes of text, NULL for one post in five.
    pub body: Option<String>,
    /// `Comment.post`, reversed (filled by `prefetch_related`).
    pub comments: Reverse<Comment>,
}

/// A row of `comments`, as the ORM maps it.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "comments")]
pub struct Comment {
    /// Identity primary key.
    #[orm(primary_key)]
    pub id: i32,
    /// Column `post_id`, indexed.
    #[orm(related_name = "comments", index)]
    pub post: ForeignKey<Post>,
    /// `Comment 4 on post 12`.
    pub text: String,
}

/// The hair colour every filter and join looks for (half of the users).
pub const BLACK: &str = "black";
/// Rows per page of the filter workload.
pub const PAGE: i64 = 20;
/// The filter workload's offsets are uniform in `0..=MAX_OFFSET`.
pub const MAX_OFFSET: u64 = 1_000;
/// Posts per user and comments per post of the prefetch workload.
pub const FAN_OUT: usize = 10;

/// The prepared statements on `posts` or `comments` of the session that
/// runs it, with how often PostgreSQL planned each with its parameters
/// (`custom_plans`) and how often it ran a generic plan (`generic_plans`;
/// PostgreSQL 14 and later). Unnamed statements are not listed.
pub const PLANS_SQL: &str = "SELECT statement, generic_plans, custom_plans \
     FROM pg_prepared_statements \
     WHERE (statement LIKE '%posts%' OR statement LIKE '%comments%') \
       AND statement NOT LIKE '%pg_prepared_statements%'";

/// A row of [`PLANS_SQL`]: the statement's text, its generic and its
/// custom plans so far.
pub type PlanCount = (String, i64, i64);

/// A user to insert (the write workloads' input, shared by every side).
#[derive(Debug, Clone)]
pub struct NewUser {
    /// `name`.
    pub name: String,
    /// `hair_color`.
    pub hair_color: Option<String>,
}

/// SplitMix64: deterministic, so every side (and every run) sees the same data.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in `lo..=hi` (the modulo bias is irrelevant here).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// SplitMix64's finalizer: a cheap, well-mixing hash of one `u64`.
pub fn mix(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The hair colour of the user at 0-based position `idx` of a fill: even
/// positions `black` (as diesel's benchmark does), odd ones `brown`, except
/// one in ten NULL.
pub fn hair_color_of(idx: usize) -> Option<&'static str> {
    if idx.is_multiple_of(2) {
        Some(BLACK)
    } else if idx % 10 == 5 {
        None
    } else {
        Some("brown")
    }
}

/// `n` users to insert; `tag` keeps names apart between batches.
pub fn new_users(n: usize, tag: &str) -> Vec<NewUser> {
    (0..n)
        .map(|i| NewUser {
            name: format!("{tag} user {i}"),
            hair_color: hair_color_of(i).map(str::to_owned),
        })
        .collect()
}

/// FNV-1a, 64 bits, over every byte written: the write workloads' hash of
/// the whole `users` table (not the fast per-row hashes below).
pub struct Fnv(u64);

impl Default for Fnv {
    /// The empty hash (FNV-1a's offset basis).
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// Folds in `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Folds in a text value: its length, then its bytes (so that
    /// consecutive values cannot run into each other).
    pub fn text(&mut self, s: &str) {
        self.write(&(s.len() as u64).to_le_bytes());
        self.write(s.as_bytes());
    }

    /// The hash of everything written.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

fn text_hash(s: &str) -> u64 {
    // Length and the last byte: cheap, and enough to tell rows apart once
    // mixed with their ids.
    (s.len() as u64) << 8 | u64::from(s.as_bytes().last().copied().unwrap_or(0))
}

fn opt_hash(s: Option<&str>) -> u64 {
    s.map_or(0, |s| text_hash(s) + 1)
}

/// A hash of every field of a user row.
pub fn user_hash(id: i32, name: &str, hair_color: Option<&str>) -> u64 {
    mix(mix(id as u64 ^ text_hash(name) << 24) ^ opt_hash(hair_color))
}

/// A hash of every field of a post row.
pub fn post_hash(id: i32, user_id: i32, title: &str, body: Option<&str>) -> u64 {
    mix(mix((id as u64) << 32 | user_id as u32 as u64) ^ text_hash(title) << 20 ^ opt_hash(body))
}

/// A hash of every field of a comment row.
pub fn comment_hash(id: i32, post_id: i32, text: &str) -> u64 {
    mix((id as u64) << 32 | post_id as u32 as u64) ^ mix(text_hash(text))
}

/// A hash of one row of `users LEFT JOIN posts`.
pub fn pair_hash(user: u64, post: Option<u64>) -> u64 {
    mix(user ^ post.map_or(0x5eed, |p| p.rotate_left(17)))
}

/// A child attached to parent `parent_id` (prefetch): proves both the
/// child's fields and where it was attached.
pub fn child_hash(child: u64, parent_id: i32) -> u64 {
    mix(child ^ (parent_id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Folds `h` into `acc` where the order of the rows is defined (`ORDER BY`).
pub fn ordered(acc: u64, h: u64) -> u64 {
    acc.wrapping_mul(31).wrapping_add(h)
}

/// Folds `h` into `acc` where the order is not defined (no `ORDER BY`, or
/// implementations that group in different orders): a wrapping sum.
pub fn unordered(acc: u64, h: u64) -> u64 {
    acc.wrapping_add(h)
}

/// `items` split into `parts` contiguous shares whose sizes differ by at
/// most one (the concurrent workload's tasks).
pub fn split<T: Clone>(items: &[T], parts: usize) -> Vec<Vec<T>> {
    let parts = parts.clamp(1, items.len().max(1));
    (0..parts)
        .map(|i| items[i * items.len() / parts..(i + 1) * items.len() / parts].to_vec())
        .collect()
}
