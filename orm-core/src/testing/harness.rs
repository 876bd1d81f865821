//! What a `#[orm_core::test]` function runs: a current-thread tokio
//! runtime, a fresh database with the schema, the test inside
//! [`scope`](crate::scope), and the database dropped afterwards.
//!
//! The attribute's expansion calls [`run_test`] (through
//! `orm_core::__private`); nothing here is a public API.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;

use super::{create_database, drop_database, with_dbname};
use crate::db::Db;
use crate::error::Result;
use crate::migrate::Migrator;

/// The test body as the expansion passes it: boxed, so that its output
/// type is written down once (`?` in the body needs it).
pub type TestFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// How the test database gets its tables.
#[derive(Debug, Clone, Copy)]
pub enum TestSchema {
    /// `generate_schemas`: the tables of every model linked into the test binary.
    Models,
    /// `Migrator::migrate` with the migration files in this folder.
    Migrations(&'static str),
}

/// The attribute's options.
#[derive(Debug, Clone, Copy)]
pub struct TestOptions {
    /// Where the schema comes from.
    pub schema: TestSchema,
    /// The test has `#[should_panic]`: a set-up failure must then not be a
    /// panic, which the harness would count as the test passing.
    pub should_panic: bool,
}

/// Runs one test: see the module docs. The database is dropped when the
/// test ends, whether it passed, returned an error or panicked (the panic
/// then continues).
#[track_caller]
pub fn run_test<T>(options: TestOptions, test: impl FnOnce(Db) -> TestFuture<T>) -> T {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => set_up_failed(options, &format!("cannot start a tokio runtime: {e}")),
    };
    let (admin_url, name) = match runtime.block_on(create_database()) {
        Ok(created) => created,
        Err(e) => set_up_failed(options, &e.to_string()),
    };
    let db = match runtime.block_on(prepare(options, &with_dbname(&admin_url, &name))) {
        Ok(db) => db,
        Err(e) => {
            let _ = runtime.block_on(drop_database(&admin_url, &name));
            set_up_failed(options, &e.to_string())
        }
    };
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(crate::scope(&db, test(db.clone())))
    }));
    drop(db);
    if let Err(e) = runtime.block_on(drop_database(&admin_url, &name)) {
        eprintln!("#[orm_core::test]: the test's database {name} could not be dropped: {e}");
    }
    match outcome {
        Ok(output) => output,
        Err(payload) => panic::resume_unwind(payload),
    }
}

/// A pool on the new database at `url`, with its schema.
async fn prepare(options: TestOptions, url: &str) -> Result<Db> {
    let db = Db::builder(url).max_size(8).connect().await?;
    match options.schema {
        TestSchema::Models => crate::generate_schemas_on(&db).await?,
        TestSchema::Migrations(dir) => {
            // A fresh database has no data to lose: every step may run.
            Migrator::new(dir).database(&db).migrate(None, true).await?;
        }
    }
    Ok(db)
}

/// Fails the test before it ran. A panic is how a test fails, except under
/// `#[should_panic]`, where it would pass: the process then exits instead.
#[track_caller]
fn set_up_failed(options: TestOptions, reason: &str) -> ! {
    let message = format!("#[orm_core::test]: cannot set up the test database: {reason}");
    if options.should_panic {
        eprintln!("{message}\n(the test expects a panic, so this failure ends the test run)");
        std::process::exit(101);
    }
    panic!("{message}")
}
