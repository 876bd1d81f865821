//! Logging of every statement through `tracing`, its parameters only at trace level.
//!
//! SQL and duration at debug level, under the target `orm_core::sql`.

use std::sync::{Arc, Mutex, Once};

use orm_core::prelude::*;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

use crate::common::{setup, User};

#[derive(Debug, Clone, Default)]
struct Seen {
    level: Option<Level>,
    sql: Option<String>,
    elapsed: bool,
    params: Option<String>,
}

#[tokio::test]
async fn fetch_and_get_log_their_values_at_trace_level() -> Result<()> {
    let seen = logged_by(Level::TRACE, || async {
        User::filter(q!(name = "fetched-value")).fetch().await?;
        User::get_or_none(q!(name = "got-value")).await?;
        Ok(())
    })
    .await?;
    for value in ["fetched-value", "got-value"] {
        let event = seen
            .iter()
            .find(|s| s.params.as_deref().is_some_and(|p| p.contains(value)))
            .unwrap_or_else(|| panic!("{value} was not logged: {seen:?}"));
        assert_eq!(event.level, Some(Level::TRACE));
        assert!(event.elapsed, "with its duration: {event:?}");
        assert!(
            event
                .sql
                .as_deref()
                .is_some_and(|q| q.starts_with("SELECT ")),
            "{event:?}"
        );
    }
    Ok(())
}

struct Capture {
    max: Level,
    events: Arc<Mutex<Vec<Seen>>>,
}

impl Visit for Seen {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "sql" => self.sql = Some(format!("{value:?}")),
            "params" => self.params = Some(format!("{value:?}")),
            "elapsed_us" => self.elapsed = true,
            _ => {}
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "sql" {
            self.sql = Some(value.to_owned());
        }
    }
    fn record_u64(&mut self, field: &Field, _value: u64) {
        if field.name() == "elapsed_us" {
            self.elapsed = true;
        }
    }
}

impl Subscriber for Capture {
    fn register_callsite(&self, _metadata: &'static Metadata<'static>) -> Interest {
        // Asked per event: the callsite's interest is shared by every test.
        Interest::sometimes()
    }
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "orm_core::sql" && *metadata.level() <= self.max
    }
    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _span: &Id, _values: &Record<'_>) {}
    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut seen = Seen {
            level: Some(*event.metadata().level()),
            ..Seen::default()
        };
        event.record(&mut seen);
        self.events.lock().unwrap().push(seen);
    }
    fn enter(&self, _span: &Id) {}
    fn exit(&self, _span: &Id) {}
}

/// `tracing` caches one interest per callsite for the whole process,
/// computed on the thread that first reaches it: a test thread without a
/// capture could cache "never", and a capture on another thread would then
/// miss the event (tokio-rs/tracing#3611; this test failed that way now
/// and then under the parallel suite). This process-wide default enables
/// nothing but is interested in every callsite "sometimes", so each event
/// asks the dispatcher of the thread it happens on.
struct Anchor;

impl Subscriber for Anchor {
    fn register_callsite(&self, _metadata: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }
    fn enabled(&self, _metadata: &Metadata<'_>) -> bool {
        false
    }
    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _span: &Id, _values: &Record<'_>) {}
    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}
    fn event(&self, _event: &Event<'_>) {}
    fn enter(&self, _span: &Id) {}
    fn exit(&self, _span: &Id) {}
}

/// Installs [`Anchor`] once, and recomputes what was cached before it.
pub(crate) fn anchor() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing::dispatcher::set_global_default(tracing::Dispatch::new(Anchor));
        tracing::callsite::rebuild_interest_cache();
    });
}

/// The statements `work` logs, up to `max` level, on a fresh database.
async fn logged_by<Fut>(max: Level, work: impl FnOnce() -> Fut) -> Result<Vec<Seen>>
where
    Fut: std::future::Future<Output = Result<()>>,
{
    anchor();
    let db = setup().await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let dispatch = tracing::Dispatch::new(Capture {
        max,
        events: events.clone(),
    });
    // The test runtime is single-threaded: a thread default covers it.
    let _guard = tracing::dispatcher::set_default(&dispatch);
    orm_core::scope(&db, work()).await?;
    let seen = events.lock().unwrap().clone();
    Ok(seen)
}

async fn logged(max: Level) -> Result<Vec<Seen>> {
    logged_by(max, || async {
        User::filter(q!(name = "secret-value")).count().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bulk_writes_send_one_statement() -> Result<()> {
    let users = || {
        (0..300)
            .map(|i| User::named(&format!("u{i}")))
            .collect::<Vec<_>>()
    };
    let seen = logged_by(Level::DEBUG, || async move {
        User::bulk_insert(users()).await?;
        User::all().delete().await?;
        User::bulk_create(users()).await?;
        Ok(())
    })
    .await?;
    let sql: Vec<&str> = seen.iter().filter_map(|s| s.sql.as_deref()).collect();
    // bulk_insert: one binary COPY; bulk_create: one INSERT reading back
    // only the generated keys.
    let copies: Vec<&&str> = sql.iter().filter(|q| q.starts_with("COPY ")).collect();
    assert_eq!(
        copies,
        [
            &r#"COPY "users" ("name", "email", "karma", "created_at", "updated_at") FROM STDIN (FORMAT binary)"#
        ],
        "{sql:#?}"
    );
    let inserts: Vec<&&str> = sql.iter().filter(|q| q.starts_with("INSERT ")).collect();
    assert_eq!(inserts.len(), 1, "{sql:#?}");
    assert!(inserts[0].ends_with(r#"RETURNING "id""#), "{}", inserts[0]);
    Ok(())
}

#[tokio::test]
async fn statements_are_logged_with_their_duration() -> Result<()> {
    let seen = logged(Level::DEBUG).await?;
    let count = seen
        .iter()
        .find(|s| {
            s.sql
                .as_deref()
                .is_some_and(|q| q.starts_with("SELECT COUNT(*)"))
        })
        .expect("the count statement was logged");
    assert_eq!(count.level, Some(Level::DEBUG));
    assert!(count.elapsed, "with its duration");
    assert!(
        seen.iter().all(|s| s.params.is_none()),
        "no parameters at debug level: {seen:?}"
    );
    Ok(())
}

#[tokio::test]
async fn parameters_only_at_trace_level() -> Result<()> {
    let seen = logged(Level::TRACE).await?;
    let with_params: Vec<&Seen> = seen.iter().filter(|s| s.params.is_some()).collect();
    assert!(!with_params.is_empty(), "{seen:?}");
    assert!(with_params.iter().all(|s| s.level == Some(Level::TRACE)));
    assert!(with_params.iter().any(|s| s
        .params
        .as_deref()
        .is_some_and(|p| p.contains("secret-value"))));
    Ok(())
}
