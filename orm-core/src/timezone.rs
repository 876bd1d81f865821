//! The active time zone: the zone the date and time transforms
//! (`created__year`, `created__date`, ...) and
//! [`QuerySet::dates`](crate::QuerySet::dates) /
//! [`datetimes`](crate::QuerySet::datetimes) read a `DateTime<Utc>`
//! (`timestamptz`) column in, as Django's `django.utils.timezone`.
//!
//! UTC unless set: [`set_default`] changes the process-wide default
//! (Django's `TIME_ZONE` setting), [`override_zone`] runs a future with
//! another zone active (Django's `timezone.override`), and inside it
//! [`activate`] / [`deactivate`] change the zone of that scope. The zone
//! is read when a query is rendered, that is when it is run: a condition
//! built outside a scope and run inside one uses the scope's zone, as in
//! Django.
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # use orm_core::timezone;
//! # use chrono::{DateTime, NaiveDate, Utc};
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Post { #[orm(primary_key)] pub id: i64, pub created: DateTime<Utc> }
//! # async fn run() -> orm_core::Result<()> {
//! let new_year = NaiveDate::from_ymd_opt(2021, 12, 31).unwrap();
//! // The posts written on New Year's Eve in New York, whatever the UTC date.
//! let posts = timezone::override_zone(
//!     "America/New_York",
//!     Post::filter(q!(created__date = new_year)),
//! )
//! .await??;
//! # Ok(()) }
//! ```
//!
//! The active zone is a [task-local](tokio::task_local) value, not a
//! thread-local one: each future of a `tokio::join!` sees the scope it
//! was created in, even when they run on the same thread at once. A task
//! started with `tokio::spawn` does **not** inherit it (it starts with the
//! default zone); wrap its future in [`inherit`] to carry the zone over:
//! `tokio::spawn(timezone::inherit(async { .. }))`.
//!
//! Zone names are PostgreSQL's (the IANA names such as
//! `America/New_York` and `Europe/Paris`, abbreviations such as `UTC`,
//! and POSIX specifications such as `EST5EDT`); they are always sent as a
//! bound parameter. A name is checked for its shape when it is set (letters,
//! digits and `/ _ - + : . , < >`, at most [`MAX_ZONE_LEN`] bytes): one of
//! another shape is an [`Error::Config`]. Whether a well-formed name is a
//! zone PostgreSQL knows is only learnt when a query uses it: an unknown
//! one fails with PostgreSQL's own error, `time zone "Mars/Olympus" not
//! recognized`.

use std::cell::RefCell;
use std::future::{Future, IntoFuture};
use std::sync::{Arc, RwLock};

use crate::error::{Error, Result};

/// The zone used when none is set: UTC, as Django's default `TIME_ZONE`.
pub const UTC: &str = "UTC";

/// The longest zone name accepted, in bytes (the longest IANA name has
/// 32).
pub const MAX_ZONE_LEN: usize = 100;

tokio::task_local! {
    /// The zone of the innermost [`override_zone`] scope: `None` after
    /// [`deactivate`] (the default applies).
    static ACTIVE: RefCell<Option<Arc<str>>>;
}

/// The process-wide default ([`set_default`]); `None`: UTC.
static DEFAULT: RwLock<Option<Arc<str>>> = RwLock::new(None);

/// Checks the shape of a zone name (see the [module docs](self)).
fn check(name: &str) -> Result<Arc<str>> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"/_-+:.,<>".contains(&b);
    if name.is_empty() || name.len() > MAX_ZONE_LEN || !name.bytes().all(allowed) {
        let shown: String = name.chars().take(MAX_ZONE_LEN).collect();
        return Err(Error::Config(format!(
            "{shown:?} is not a time zone name: expected a name such as \"America/New_York\" \
             or \"UTC\" (letters, digits and / _ - + : . , < >, at most {MAX_ZONE_LEN} bytes)"
        )));
    }
    Ok(Arc::from(name))
}

/// The process-wide default zone: [`UTC`] unless [`set_default`] changed it.
pub fn default_zone() -> String {
    let default = DEFAULT.read().unwrap_or_else(|e| e.into_inner());
    default.as_deref().unwrap_or(UTC).to_owned()
}

/// Sets the process-wide default zone (Django's `TIME_ZONE` setting): the
/// zone of every task outside an [`override_zone`] scope, and inside one
/// after [`deactivate`].
///
/// # Errors
/// [`Error::Config`] for a name that is not shaped like a zone name (see
/// the [module docs](self)); the default is then unchanged.
pub fn set_default(name: &str) -> Result<()> {
    let zone = check(name)?;
    *DEFAULT.write().unwrap_or_else(|e| e.into_inner()) = Some(zone);
    Ok(())
}

/// The active zone's name: that of the innermost [`override_zone`] scope
/// (or what [`activate`] set in it), else the [default](default_zone).
pub fn current() -> String {
    ACTIVE
        .try_with(|zone| zone.borrow().as_deref().map(str::to_owned))
        .ok()
        .flatten()
        .unwrap_or_else(default_zone)
}

/// Runs `future` (a future, or a query set: anything awaitable) with the
/// zone `name` active (Django's `timezone.override`): the queries it runs
/// read `DateTime<Utc>` columns in that zone. Scopes nest; each future of a `tokio::join!` keeps its own.
///
/// ```no_run
/// # use orm_core::timezone;
/// # async fn run() -> orm_core::Result<()> {
/// let (tokyo, paris) = tokio::join!(
///     timezone::override_zone("Asia/Tokyo", async { timezone::current() }),
///     timezone::override_zone("Europe/Paris", async { timezone::current() }),
/// );
/// assert_eq!((tokyo?, paris?), ("Asia/Tokyo".to_owned(), "Europe/Paris".to_owned()));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::Config`] for a name not shaped like a zone name (checked
/// before `future` is polled; it then never runs). The future's own
/// result is the `Ok` value, so a query in it gives `Result<Result<..>>`.
pub async fn override_zone<F: IntoFuture>(name: &str, future: F) -> Result<F::Output> {
    let zone = check(name)?;
    Ok(ACTIVE
        .scope(RefCell::new(Some(zone)), future.into_future())
        .await)
}

/// As [`override_zone`], for a closure run at once (no `.await` inside):
/// rendering a query's SQL in a zone, for instance.
///
/// # Errors
/// As [`override_zone`].
pub fn override_sync<R>(name: &str, f: impl FnOnce() -> R) -> Result<R> {
    let zone = check(name)?;
    Ok(ACTIVE.sync_scope(RefCell::new(Some(zone)), f))
}

/// Makes `name` the zone of the innermost [`override_zone`] scope
/// (Django's `timezone.activate`), for the rest of that scope: every
/// future running inside the scope sees it.
///
/// Outside any scope there is no task-local zone to change, and changing
/// the zone of the whole process behind the caller's back is what a
/// thread-local `activate` would get wrong: this is an error; use
/// [`override_zone`] or, for the process, [`set_default`].
///
/// # Errors
/// [`Error::Config`] for a name not shaped like a zone name, or when
/// called outside an [`override_zone`] scope.
pub fn activate(name: &str) -> Result<()> {
    let zone = check(name)?;
    ACTIVE
        .try_with(|active| *active.borrow_mut() = Some(zone))
        .map_err(|_| {
            Error::Config(format!(
                "timezone::activate({name:?}) outside timezone::override_zone(..): \
                 run the code in an override_zone scope, or set the process's zone \
                 with timezone::set_default"
            ))
        })
}

/// Makes the [default](default_zone) zone the active one again in the
/// innermost [`override_zone`] scope (Django's `timezone.deactivate`).
/// Outside any scope the default is already active: nothing changes.
pub fn deactivate() {
    // Outside a scope there is nothing to undo.
    let _ = ACTIVE.try_with(|active| *active.borrow_mut() = None);
}

/// `future` with the zone active now made active in it: for a task
/// started with `tokio::spawn`, which does not inherit task-locals.
///
/// ```no_run
/// # use orm_core::timezone;
/// # async fn run() -> orm_core::Result<()> {
/// timezone::override_zone("Europe/Paris", async {
///     let task = tokio::spawn(timezone::inherit(async { timezone::current() }));
///     assert_eq!(task.await.unwrap(), "Europe/Paris");
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub fn inherit<F: IntoFuture>(future: F) -> impl Future<Output = F::Output> {
    let zone = ACTIVE.try_with(|zone| zone.borrow().clone()).ok().flatten();
    ACTIVE.scope(RefCell::new(zone), future.into_future())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_for_their_shape() {
        for good in [
            "UTC",
            "America/New_York",
            "Etc/GMT+5",
            "EST5EDT",
            "America/Port-au-Prince",
        ] {
            assert!(check(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "UTC'; DROP TABLE x", "Europe/Paris\0", "é"] {
            let err = check(bad).unwrap_err().to_string();
            assert!(err.contains("is not a time zone name"), "{bad}: {err}");
        }
        assert!(check(&"A".repeat(MAX_ZONE_LEN + 1)).is_err());
        // A refused default changes nothing (a valid one would change the
        // zone of every test in this process: not tried here).
        let before = default_zone();
        assert!(set_default("not a zone").is_err());
        assert_eq!(default_zone(), before);
    }

    #[test]
    fn outside_a_scope_the_zone_is_the_default_and_activate_refuses() {
        assert_eq!(current(), default_zone());
        let err = activate("Europe/Paris").unwrap_err().to_string();
        assert!(err.contains("outside timezone::override_zone"), "{err}");
        deactivate();
        assert_eq!(current(), default_zone());
    }

    #[test]
    fn scopes_nest_and_activate_changes_the_innermost() {
        override_sync("Asia/Tokyo", || {
            assert_eq!(current(), "Asia/Tokyo");
            override_sync("Europe/Paris", || {
                assert_eq!(current(), "Europe/Paris");
                activate("America/New_York").unwrap();
                assert_eq!(current(), "America/New_York");
                deactivate();
                assert_eq!(current(), default_zone());
            })
            .unwrap();
            assert_eq!(current(), "Asia/Tokyo");
        })
        .unwrap();
        assert!(override_sync("no spaces", || ()).is_err());
    }

    #[tokio::test]
    async fn join_keeps_each_future_in_its_own_scope() {
        let (a, b) = tokio::join!(
            override_zone("Asia/Tokyo", async {
                tokio::task::yield_now().await;
                current()
            }),
            override_zone("Europe/Paris", async {
                activate("America/New_York").unwrap();
                tokio::task::yield_now().await;
                current()
            }),
        );
        assert_eq!(a.unwrap(), "Asia/Tokyo");
        assert_eq!(b.unwrap(), "America/New_York");
        let spawned = override_zone("Europe/Paris", async {
            let bare = tokio::spawn(async { current() }).await.unwrap();
            let carried = tokio::spawn(inherit(async { current() })).await.unwrap();
            (bare, carried)
        })
        .await
        .unwrap();
        assert_eq!(spawned, (default_zone(), "Europe/Paris".to_owned()));
    }
}
