//! `#[orm_core::test]`: each test gets a fresh database with the schema of
//! the linked models, the body runs inside its scope, and the database may
//! be taken as an argument.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use orm_core::prelude::*;

use crate::common::User;

#[orm_core::test]
async fn the_schema_exists_and_the_database_is_empty() -> Result<()> {
    // The table is there (a missing one is an error), with no rows.
    assert_eq!(User::all().count().await?, 0);
    User::create(User::named("ada")).await?;
    assert_eq!(User::all().count().await?, 1);
    Ok(())
}

#[orm_core::test]
async fn the_database_is_its_own_and_fresh() -> Result<()> {
    // Its name is one no other test has: the one test_db gives.
    let rows: Vec<(String,)> = orm_core::raw("SELECT current_database()::text", &[]).await?;
    let name = &rows[0].0;
    assert!(name.starts_with("orm_test_"), "{name}");
    assert_eq!(User::all().count().await?, 0);
    Ok(())
}

/// How many of the two `parallel_*` tests have written their row.
static WRITTEN: AtomicU32 = AtomicU32::new(0);

/// Writes `name`, waits (up to 10 s) until the other `parallel_*` test has
/// written its own, then sees only its row. Under `--test-threads=1` the
/// other runs before or after, and the check is weaker but still holds.
async fn write_and_wait(name: &str) -> Result<()> {
    User::create(User::named(name)).await?;
    WRITTEN.fetch_add(1, Ordering::SeqCst);
    for _ in 0..1000 {
        if WRITTEN.load(Ordering::SeqCst) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let names: Vec<String> = User::all()
        .fetch()
        .await?
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, [name]);
    Ok(())
}

#[orm_core::test]
async fn parallel_tests_do_not_see_each_others_rows_a() -> Result<()> {
    write_and_wait("parallel-a").await
}

#[orm_core::test]
async fn parallel_tests_do_not_see_each_others_rows_b() -> Result<()> {
    write_and_wait("parallel-b").await
}

#[orm_core::test]
async fn the_argument_is_the_scoped_database(db: Db) -> Result<()> {
    User::create(User::named("scoped")).await?;
    let through_argument = User::all().using(&db).fetch().await?;
    assert_eq!(through_argument.len(), 1);
    assert_eq!(through_argument[0].name, "scoped");
    // A statement run on the argument counts on the argument's pool.
    let before = db.query_count();
    User::filter(q!(name = "scoped")).using(&db).count().await?;
    assert_eq!(db.query_count(), before + 1);
    Ok(())
}

#[orm_core::test]
async fn a_mutable_argument_and_no_result(mut db: Db) {
    db = db.timeout(Duration::from_secs(5));
    let n = User::all().using(&db).count().await.expect("count");
    assert_eq!(n, 0);
}

#[orm_core::test]
#[should_panic(expected = "the body panicked with 1 user")]
async fn a_panic_fails_the_test_as_in_any_test() {
    User::create(User::named("ada")).await.expect("create");
    let n = User::all().count().await.expect("count");
    panic!("the body panicked with {n} user");
}

#[orm_core::test]
async fn an_error_from_the_body_is_the_tests_result() -> Result<()> {
    // The body's `?` and `return` are the test's own.
    let missing = User::get(q!(name = "nobody")).await;
    assert!(
        matches!(missing, Err(Error::DoesNotExist { .. })),
        "{missing:?}"
    );
    if User::all().exists().await? {
        return Err(Error::Config("the database was not empty".into()));
    }
    Ok(())
}

/// Whether database `name` still exists on the test server.
fn database_exists(name: &str) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let url = orm_core::testing::database_url().expect("the test server");
        let admin = Db::connect(&url)
            .await
            .expect("the server's postgres database");
        let rows: Vec<(i64,)> = orm_core::scope(
            &admin,
            orm_core::raw(
                "SELECT count(*) FROM pg_database WHERE datname = $1",
                &[&name],
            ),
        )
        .await
        .expect("pg_database");
        rows[0].0 == 1
    })
}

/// The expansion's runner, called as the attribute's expansion calls it.
fn run_test<T>(body: impl FnOnce(Db) -> orm_core::__private::TestFuture<T>) -> T {
    orm_core::__private::run_test(
        orm_core::__private::TestOptions {
            schema: orm_core::__private::TestSchema::Models,
            should_panic: false,
        },
        body,
    )
}

async fn current_database() -> Result<String> {
    let rows: Vec<(String,)> = orm_core::raw("SELECT current_database()::text", &[]).await?;
    Ok(rows[0].0.clone())
}

#[test]
fn the_database_is_dropped_after_the_test() {
    let name = run_test(|_db| Box::pin(async { current_database().await.expect("name") }));
    assert!(name.starts_with("orm_test_"), "{name}");
    assert!(!database_exists(&name), "{name} is left on the server");
}

#[test]
fn the_database_is_dropped_after_a_panic_which_goes_on() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let inside = seen.clone();
    let outcome = std::panic::catch_unwind(move || {
        run_test(move |_db| {
            Box::pin(async move {
                *inside.lock().unwrap() = current_database().await.expect("name");
                panic!("the body's panic");
            })
        })
    });
    let payload = outcome.expect_err("the body's panic reaches the harness");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the body's panic"));
    let name = seen.lock().unwrap().clone();
    assert!(name.starts_with("orm_test_"), "{name}");
    assert!(!database_exists(&name), "{name} is left on the server");
}
