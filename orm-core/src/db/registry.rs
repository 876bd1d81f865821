//! Which database a query uses: the global default, databases registered
//! by name, and the task-local [`scope`].

use std::future::Future;
use std::sync::RwLock;

use crate::error::{Error, Result};

use super::Db;

static DEFAULT: RwLock<Option<Db>> = RwLock::new(None);

/// Databases registered by name ([`register`]).
static NAMED: RwLock<Vec<(String, Db)>> = RwLock::new(Vec::new());

/// Registers `db` under `name` (replacing an earlier one), for
/// `.using(&orm_core::database("analytics")?)` and for migrations
/// (`manage migrate --database analytics`).
///
/// ```no_run
/// # fn run() -> orm_core::Result<()> {
/// let analytics = orm_core::Db::builder("postgres://app@localhost/analytics").build()?;
/// orm_core::register("analytics", analytics);
/// let db = orm_core::database("analytics")?;
/// # Ok(()) }
/// ```
pub fn register(name: &str, db: Db) {
    let mut named = NAMED.write().unwrap_or_else(|e| e.into_inner());
    named.retain(|(n, _)| n != name);
    named.push((name.to_owned(), db));
}

/// The database registered as `name`.
///
/// # Errors
/// [`Error::Config`] naming the registered databases when there is none
/// called `name`.
pub fn database(name: &str) -> Result<Db> {
    let named = NAMED.read().unwrap_or_else(|e| e.into_inner());
    named
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, db)| db.clone())
        .ok_or_else(|| {
            let known: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
            Error::Config(format!(
                "no database is registered as `{name}` (registered: {}); call `orm_core::register(\"{name}\", db)` first",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ))
        })
}

tokio::task_local! {
    static CURRENT: Db;
}

/// Connects to `url` and makes it the global default database.
///
/// # Errors
/// As [`DbBuilder::connect`](super::DbBuilder::connect).
///
/// ```no_run
/// # async fn run() -> orm_core::Result<()> {
/// orm_core::connect("postgres://postgres@localhost/app").await?;
/// # Ok(()) }
/// ```
pub async fn connect(url: &str) -> Result<Db> {
    let db = Db::connect(url).await?;
    set_default(db.clone());
    Ok(db)
}

/// Makes `db` the global default database (replacing any earlier one).
pub fn set_default(db: Db) {
    *DEFAULT.write().unwrap_or_else(|e| e.into_inner()) = Some(db);
}

/// Runs `fut` with `db` as the database of every ORM call inside it that
/// has no explicit `.using(..)`, including calls in functions it calls.
/// Scopes nest; the innermost wins. Parallel tasks can each have their own.
///
/// The scope belongs to the future it wraps: a task started inside it with
/// `tokio::spawn` does not inherit it (wrap the spawned future in `scope`
/// too). The returned future owns a clone of `db`, so it can be spawned.
pub fn scope<F: Future>(db: &Db, fut: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(db.clone(), fut)
}

/// The database a query without `.using(..)` runs on: the innermost
/// [`scope`], else the global default.
///
/// # Errors
/// [`Error::NotConnected`] when there is neither.
pub fn current() -> Result<Db> {
    if let Ok(db) = CURRENT.try_with(Db::clone) {
        return Ok(db);
    }
    DEFAULT
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .ok_or(Error::NotConnected)
}

pub(crate) fn resolve(explicit: Option<&Db>) -> Result<Db> {
    match explicit {
        Some(db) => Ok(db.clone()),
        None => current(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    pub(super) async fn no_database_says_how_to_connect() {
        // This test binary never sets a default database.
        let err = current().unwrap_err();
        assert!(matches!(err, Error::NotConnected));
        let message = err.to_string();
        assert!(message.contains("orm_core::connect("), "{message}");
        assert!(message.contains("scope"), "{message}");
        let inside = scope(
            &Db::builder("postgres://u@/db?host=/nonexistent")
                .build()
                .unwrap(),
            async { current().is_ok() },
        )
        .await;
        assert!(inside, "a scope provides the database");
    }
}
