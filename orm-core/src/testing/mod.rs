//! Throwaway PostgreSQL for tests and examples (feature `testing`).
//!
//! With `DATABASE_URL` set, databases are created on that server. Without
//! it, a private cluster is started from the locally installed PostgreSQL
//! server binaries (`initdb` + `postgres` on a Unix socket in a temp dir,
//! fsync off; as the `postgres` user when running as root). It is shared by
//! the whole process and stopped, with its temp dir removed, when the
//! process exits, however it exits.
//!
//! ```no_run
//! # async fn t() -> orm_core::Result<()> {
//! let db = orm_core::testing::test_db().await?;   // a fresh, empty database
//! orm_core::scope(&db, async {
//!     orm_core::generate_schemas().await?;
//!     // ... the test ...
//!     Ok::<_, orm_core::Error>(())
//! })
//! .await?;
//! # Ok(()) }
//! ```

pub(crate) mod harness;
pub mod pgbouncer;
mod server;
mod standby;

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

pub use server::{shared as shared_server, ServerError, TestServer};
pub use standby::ReplicaPair;

use crate::db::Db;
use crate::error::{Error, Result};

fn server_url(dbname: &str) -> Result<String> {
    let server = server::shared().map_err(|e| Error::Config(e.to_string()))?;
    Ok(server.url(dbname))
}

/// The URL of a database to use: `DATABASE_URL` when set, else the
/// `postgres` database of the shared throwaway server (started on first use).
///
/// # Errors
/// [`Error::Config`] explaining how to fix it when no server binaries are
/// installed and `DATABASE_URL` is unset, or when the server fails to start.
pub fn database_url() -> Result<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Ok(url),
        _ => server_url("postgres"),
    }
}

/// A fresh, empty database for one test, on the server of
/// [`database_url`]. Tests that each take their own run in parallel and
/// never see each other's rows.
///
/// # Errors
/// As [`database_url`], or the server's error creating the database.
pub async fn test_db() -> Result<Db> {
    let url = test_database_url().await?;
    Db::builder(url).max_size(8).connect().await
}

/// Creates a fresh, empty database as [`test_db`] does and returns its URL,
/// for building a pool with other options (`Db::builder(url).max_size(1)`).
///
/// # Errors
/// As [`test_db`].
pub async fn test_database_url() -> Result<String> {
    let (admin_url, name) = create_database().await?;
    Ok(with_dbname(&admin_url, &name))
}

/// Creates a fresh, empty database on the server of [`database_url`];
/// returns that URL (the server's) and the new database's name.
async fn create_database() -> Result<(String, String)> {
    create_database_on(&database_url()?).await
}

/// [`create_database`] on the server of `admin_url`.
async fn create_database_on(admin_url: &str) -> Result<(String, String)> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let admin_url = admin_url.to_owned();
    let name = format!(
        "orm_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    // The name is ours (digits and underscores); quoted all the same.
    admin_execute(&admin_url, &format!("CREATE DATABASE \"{name}\"")).await?;
    Ok((admin_url, name))
}

/// Drops database `name` (one of [`create_database`]'s) from the server
/// of `admin_url`, ending the sessions still connected to it.
async fn drop_database(admin_url: &str, name: &str) -> Result<()> {
    admin_execute(
        admin_url,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await
}

/// Runs `sql` on a connection of its own to `admin_url`.
async fn admin_execute(admin_url: &str, sql: &str) -> Result<()> {
    let admin = tokio_postgres::Config::from_str(admin_url)
        .map_err(|e| Error::Config(format!("cannot parse DATABASE_URL: {e}")))?;
    let (client, connection) = admin.connect(tokio_postgres::NoTls).await?;
    let task = tokio::spawn(connection);
    let result = client.batch_execute(sql).await;
    drop(client);
    let _ = task.await;
    Ok(result?)
}

/// `url` with its database name replaced by `dbname` (which is ours:
/// letters, digits and underscores only).
fn with_dbname(url: &str, dbname: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    // postgres://user:pass@host:port/dbname -> keep everything up to the path.
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map(|i| scheme_end + i);
    let mut out = match path_start {
        Some(i) => base[..i].to_owned(),
        None => base.to_owned(),
    };
    out.push('/');
    out.push_str(dbname);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::with_dbname;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_dbname("postgres://postgres@/postgres?host=/tmp/x&port=5432", "t_1"),
            "postgres://postgres@/t_1?host=/tmp/x&port=5432"
        );
        assert_eq!(
            with_dbname("postgres://u:p@db.example:5433/app", "t_1"),
            "postgres://u:p@db.example:5433/t_1"
        );
        assert_eq!(
            with_dbname("postgresql://u@h", "t_1"),
            "postgresql://u@h/t_1"
        );
    }
}
