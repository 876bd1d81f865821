//! Set-up shared by the database tests, and the `User` model most of them use.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use orm_core::prelude::*;

/// A fresh database with every model's table created.
pub(crate) async fn setup() -> Db {
    let db = orm_core::testing::test_db().await.expect(
        "a throwaway PostgreSQL database (install PostgreSQL's server or set DATABASE_URL)",
    );
    orm_core::generate_schemas_on(&db)
        .await
        .expect("generate_schemas");
    db
}

/// The User model.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "users")]
pub(crate) struct User {
    /// Identity primary key.
    #[orm(primary_key)]
    pub id: i64,
    /// Unique, varchar(30).
    #[orm(max_length = 30, unique)]
    pub name: String,
    /// Nullable.
    pub email: Option<String>,
    /// Indexed, DEFAULT 0.
    #[orm(default = 0, index)]
    pub karma: i32,
    /// Set on insert.
    #[orm(auto_now_add)]
    pub created_at: DateTime<Utc>,
    /// Set on every save.
    #[orm(auto_now)]
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// A user with only a name.
    pub(crate) fn named(name: &str) -> User {
        User {
            name: name.into(),
            ..Default::default()
        }
    }
}

/// Creates users with the given (name, karma, email).
pub(crate) async fn users(rows: &[(&str, i32, Option<&str>)]) -> Vec<User> {
    let objs = rows
        .iter()
        .map(|(name, karma, email)| User {
            name: (*name).into(),
            karma: *karma,
            email: email.map(str::to_owned),
            ..Default::default()
        })
        .collect();
    User::bulk_create(objs).await.expect("bulk_create users")
}

/// Names of the users, in order.
pub(crate) fn names(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.name.as_str()).collect()
}

/// A fresh, empty folder for one test's migrations.
pub(crate) fn folder() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "orm-tests-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
