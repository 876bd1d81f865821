//! Migrations: Django's `makemigrations` / `migrate` workflow, with SQL you
//! can read and edit.
//!
//! - [`Migrator::make`] compares the models with the state the last
//!   migration recorded and writes `migrations/NNNN_name.sql` (a header, the
//!   SQL to apply, the SQL to revert) and `NNNN_name.state.json` (the schema
//!   after it). Renames are declared (`#[orm(renamed_from = "..")]`), never
//!   guessed.
//! - [`Migrator::migrate`] applies pending migrations in order, or moves to
//!   a target backwards or forwards. Each runs in one transaction; applied
//!   ones are recorded in `orm_migrations` with a checksum, so an applied
//!   file edited later is reported instead of silently diverging; two
//!   processes migrating at once are serialized by a transaction-scoped
//!   advisory lock each migration's transaction takes (so this works
//!   through a pooler in transaction mode too); steps
//!   that drop data run only with `allow_destructive`. A run stopped half-way
//!   (an error, a panic, its future dropped by a timeout) never leaves its
//!   connection in the pool inside the transaction or holding the lock: the
//!   connection is closed, so the server rolls the migration back and
//!   releases the lock.
//! - A hand-written migration with the header line `-- atomic: false`
//!   (Django's `atomic = False`) runs each statement on its own, outside a
//!   transaction, as `CREATE INDEX CONCURRENTLY` needs:
//!
//!   ```sql
//!   -- orm migration: 0007_email_index
//!   -- parent: 0006_add_email
//!   -- atomic: false
//!   --
//!   -- migrate:up
//!   CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);
//!   -- migrate:down
//!   DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;
//!   ```
//!
//!   Its run holds the migration lock for the session, so it is refused
//!   through a pooler in transaction mode. A statement that fails leaves
//!   those before it applied and the migration unrecorded: write them to
//!   run twice.
//!
//! The command line ([`crate::cli`]) wraps this type. Use
//! [`generate_schemas`](crate::generate_schemas) for scripts and tests that
//! start from an empty database; use migrations for a database whose data
//! must survive model changes.

mod file;
pub mod ops;
mod split;
pub mod state;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use file::{Graph, Migration};
pub use ops::{DiffError, Op};
pub use state::{Renames, SchemaState};

use crate::db::{self, Connection, Db};
use crate::error::{Error, Result};
use crate::meta::{registered_models, ModelMeta};
use crate::sql::ddl::{self, Column, Create, Table};
use crate::sql::writes;

/// The table that records applied migrations.
pub const HISTORY_TABLE: &str = "orm_migrations";

/// The advisory lock key `migrate` holds while it runs.
const LOCK_KEY: i64 = 0x6f72_6d5f_6d69_6772; // "orm_migr"

/// Options of [`Migrator::make`].
#[derive(Debug, Clone, Default)]
pub struct MakeOptions {
    /// The name after the number (`add_karma`); derived from the changes
    /// when not given.
    pub name: Option<String>,
    /// By `table.column`: the SQL value for existing rows of a `NOT NULL`
    /// column added (or made `NOT NULL`) without a default.
    pub fills: BTreeMap<String, String>,
}

/// What [`Migrator::make`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Made {
    /// The models match the last migration's state.
    NoChanges,
    /// A migration was written.
    Written {
        /// The `.sql` file.
        path: PathBuf,
        /// One line per change.
        summary: Vec<String>,
        /// The changes that can lose data.
        destructive: Vec<String>,
    },
}

/// Whether a step applied or reverted a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Applied (its `up` SQL ran).
    Apply,
    /// Reverted (its `down` SQL ran).
    Revert,
}

/// One migration [`Migrator::migrate`] applied or reverted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The migration.
    pub name: String,
    /// Applied or reverted.
    pub direction: Direction,
}

/// A migration and whether it is applied, for `showmigrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The migration.
    pub name: String,
    /// Recorded in the history table.
    pub applied: bool,
    /// Applied, but the file changed since (its checksum differs).
    pub edited: bool,
}

/// What [`Migrator::plan`] found.
struct Plan {
    /// The models' state differs from the last migration's.
    changed: bool,
    /// The models' state.
    new: SchemaState,
    /// `(table.column, type)` of new NOT NULL columns that need a value.
    missing: Vec<(String, String)>,
    /// The ops, or why there are none.
    ops: Result<Vec<Op>>,
}

/// Makes and applies the migrations of one folder on one database.
///
/// ```no_run
/// # async fn run() -> orm_core::Result<()> {
/// use orm_core::migrate::{Made, MakeOptions, Migrator};
/// let migrator = Migrator::new("migrations");
/// if let Made::Written { path, .. } = migrator.make(&MakeOptions::default())? {
///     println!("wrote {}", path.display());
/// }
/// migrator.migrate(None, false).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Migrator {
    dir: PathBuf,
    db: Option<Db>,
    models: Vec<&'static ModelMeta>,
}

impl Migrator {
    /// The migrations in `dir`, for every model linked into the binary, on
    /// the scoped or default database.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let mut models: Vec<&'static ModelMeta> = registered_models().collect();
        models.sort_by_key(|m| m.table);
        models.dedup_by_key(|m| m.table);
        Migrator {
            dir: dir.into(),
            db: None,
            models,
        }
    }

    /// Only these models (a second database's, or a test's).
    #[must_use]
    pub fn models(mut self, models: &[&'static ModelMeta]) -> Self {
        self.models = models.to_vec();
        self
    }

    /// On `db` rather than the scoped or default database.
    #[must_use]
    pub fn database(mut self, db: &Db) -> Self {
        self.db = Some(db.clone());
        self
    }

    /// The migration folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The migrations in the folder, checked and ordered.
    ///
    /// # Errors
    /// [`Error::Migration`] for a gap or a conflict in the history.
    pub fn graph(&self) -> Result<Graph> {
        Graph::load(&self.dir)
    }

    /// The changes between the last migration's state and the models.
    ///
    /// # Errors
    /// As [`graph`](Self::graph); [`Error::Migration`] when a `NOT NULL`
    /// column needs a default or a change cannot be generated.
    pub fn changes(&self, fills: &BTreeMap<String, String>) -> Result<Vec<Op>> {
        self.plan(&self.graph()?, fills).ops
    }

    /// The last migration's state, the models' state, and the ops between.
    fn plan(&self, graph: &Graph, fills: &BTreeMap<String, String>) -> Plan {
        let old = graph.leaf().map(|m| m.state.clone()).unwrap_or_default();
        let new = SchemaState::from_models(&self.models);
        let diff = ops::diff(&old, &new, &Renames::from_models(&self.models), fills);
        let missing = match &diff {
            Err(DiffError::NeedsDefault(columns)) => columns.clone(),
            _ => Vec::new(),
        };
        let ops = diff.map_err(|e| match e {
            DiffError::NeedsDefault(columns) => Error::Migration(format!(
                "cannot add NOT NULL column{} {} without a default for the rows already there: \
                 give the field `#[orm(default = ..)]`, make it an `Option`, or pass a one-off \
                 value with `makemigrations --default {}=<SQL value>`",
                if columns.len() > 1 { "s" } else { "" },
                columns
                    .iter()
                    .map(|(column, ty)| format!("{column} ({ty})"))
                    .collect::<Vec<_>>()
                    .join(", "),
                columns[0].0
            )),
            DiffError::Unsupported(why) => Error::Migration(why),
        });
        // Relations no schema of tenant models can hold: said before any
        // SQL is written.
        let ops = crate::tenant::check_relations(&self.models).and(ops);
        Plan {
            // A state that differs without any operation (fields reordered)
            // needs no migration.
            changed: ops.as_ref().map_or(true, |ops| !ops.is_empty()),
            new,
            missing,
            ops,
        }
    }

    /// The `table.column`s that [`make`](Self::make) needs a one-off value
    /// for (new `NOT NULL` columns without a default and no entry in `fills`).
    ///
    /// # Errors
    /// As [`graph`](Self::graph).
    pub fn needs_default(&self, fills: &BTreeMap<String, String>) -> Result<Vec<String>> {
        let plan = self.plan(&self.graph()?, fills);
        Ok(plan.missing.into_iter().map(|(column, _)| column).collect())
    }

    /// True when the models differ from the last migration's state
    /// (`makemigrations --check`).
    ///
    /// # Errors
    /// As [`graph`](Self::graph); a relation no schema of tenant models can
    /// hold (a foreign key to a tenant model from a model without a tenant
    /// field, a many-to-many with a tenant model). A missing default counts
    /// as a change.
    pub fn check(&self) -> Result<bool> {
        crate::tenant::check_relations(&self.models)?;
        Ok(self.plan(&self.graph()?, &BTreeMap::new()).changed)
    }

    /// Writes a migration for the changes, if there are any.
    ///
    /// # Errors
    /// As [`changes`](Self::changes); file errors.
    pub fn make(&self, options: &MakeOptions) -> Result<Made> {
        let graph = self.graph()?;
        let plan = self.plan(&graph, &options.fills);
        let ops = plan.ops?;
        let new = plan.new;
        if !plan.changed {
            return Ok(Made::NoChanges);
        }
        let name = options.name.clone().unwrap_or_else(|| {
            if graph.leaf().is_none() {
                "initial".to_owned()
            } else {
                auto_name(&ops)
            }
        });
        let summary: Vec<String> = ops.iter().map(describe).collect();
        let migration = Migration {
            name: format!("{:04}_{}", graph.next_number(), slug(&name)),
            parents: graph
                .leaf()
                .map(|m| vec![m.name.clone()])
                .unwrap_or_default(),
            up: join_sql(ops.iter().map(Op::up))?,
            down: join_sql(ops.iter().rev().map(|op| op.inverse().up()))?,
            destructive: ops.iter().filter_map(Op::destructive).collect(),
            destructive_down: ops
                .iter()
                .rev()
                .filter_map(|op| op.inverse().destructive())
                .collect(),
            checksum: String::new(),
            atomic: true,
            state: new,
        };
        let comment = format!(
            "Changes:\n{}",
            summary
                .iter()
                .map(|s| format!("  - {s}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let path = migration.write(&self.dir, &comment)?;
        Ok(Made::Written {
            path,
            summary,
            destructive: migration.destructive,
        })
    }

    /// Writes an empty migration to fill by hand (a data migration); its
    /// state is the last one's.
    ///
    /// # Errors
    /// As [`graph`](Self::graph); file errors.
    pub fn make_empty(&self, name: Option<&str>) -> Result<PathBuf> {
        let graph = self.graph()?;
        let migration = Migration {
            name: format!(
                "{:04}_{}",
                graph.next_number(),
                slug(name.unwrap_or("custom"))
            ),
            parents: graph
                .leaf()
                .map(|m| vec![m.name.clone()])
                .unwrap_or_default(),
            up: "-- Write the SQL to apply here.\n".into(),
            down: "-- Write the SQL that reverts it here.\n".into(),
            destructive: Vec::new(),
            destructive_down: Vec::new(),
            checksum: String::new(),
            atomic: true,
            state: graph.leaf().map(|m| m.state.clone()).unwrap_or_default(),
        };
        migration.write(&self.dir, "A hand-written migration.")
    }

    /// Joins the two latest migrations of a history that forked (two
    /// branches each added one): a migration with both as parents, no SQL,
    /// and the combined schema state.
    ///
    /// # Errors
    /// [`Error::Migration`] when there is nothing to merge or both branches
    /// changed the same table or column differently.
    pub fn merge(&self) -> Result<PathBuf> {
        let all = file::read_all(&self.dir)?;
        let mut leaves: Vec<&Migration> = all
            .iter()
            .filter(|m| !all.iter().any(|o| o.parents.contains(&m.name)))
            .collect();
        leaves.sort_by(|a, b| a.name.cmp(&b.name));
        let [a, b] = leaves.as_slice() else {
            return Err(Error::Migration(format!(
                "nothing to merge: the history has {} latest migration(s) ({}); a merge joins two",
                leaves.len(),
                leaves
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let of_b = file::ancestry(&all, &b.name);
        let common = file::ancestry(&all, &a.name)
            .into_iter()
            .filter(|n| of_b.contains(n))
            .max();
        let base = common
            .and_then(|n| all.iter().find(|m| m.name == n))
            .map(|m| m.state.clone())
            .unwrap_or_default();
        let state = state::merge3(&base, &a.state, &b.state).map_err(|why| {
            Error::Migration(format!(
                "cannot merge {} and {}: {why}; edit one of them so they agree",
                a.name, b.name
            ))
        })?;
        let migration = Migration {
            name: format!("{:04}_merge", file::next_number(&all)),
            parents: vec![a.name.clone(), b.name.clone()],
            up: String::new(),
            down: String::new(),
            destructive: Vec::new(),
            destructive_down: Vec::new(),
            checksum: String::new(),
            atomic: true,
            state,
        };
        migration.write(
            &self.dir,
            &format!("Merges the branches ending in {} and {}.", a.name, b.name),
        )
    }

    /// The SQL of migration `name` (or a prefix: `0003`), to apply or revert.
    ///
    /// # Errors
    /// As [`graph`](Self::graph); [`Error::Migration`] for an unknown name.
    pub fn sql(&self, name: &str, revert: bool) -> Result<String> {
        let graph = self.graph()?;
        let m = graph.find(name)?;
        Ok(if revert { m.down.clone() } else { m.up.clone() })
    }

    fn db(&self) -> Result<Db> {
        // Migrations read and write the primary only.
        db::resolve(self.db.as_ref()).map(|db| db.primary())
    }

    /// Each migration and whether it is applied.
    ///
    /// # Errors
    /// As [`graph`](Self::graph); database errors.
    pub async fn status(&self) -> Result<Vec<Status>> {
        let graph = self.graph()?;
        let db = self.db()?;
        let session = db.session().await?;
        // In one transaction block: through a pooler in transaction mode
        // its statements stay on one server connection.
        let read = async {
            session.batch_execute("BEGIN").await?;
            create_history(&session).await?;
            let applied = applied(&session).await?;
            session.batch_execute("COMMIT").await?;
            Ok::<_, Error>(applied)
        }
        .await;
        // Dropped instead (closed) when the block may still be open.
        let applied = read?;
        session.release();
        Ok(graph
            .ordered
            .iter()
            .map(|m| {
                let recorded = applied.iter().find(|(n, _)| n == &m.name);
                Status {
                    name: m.name.clone(),
                    applied: recorded.is_some(),
                    edited: recorded.is_some_and(|(_, sum)| sum != &m.checksum),
                }
            })
            .collect())
    }

    /// Applies the pending migrations (`target` `None`), or moves to
    /// `target` (a name or prefix; `"zero"` reverts them all): reverting
    /// what is applied beyond it, newest first, and applying what it needs.
    /// Each migration runs in its own transaction and is recorded with its
    /// checksum; that transaction holds an advisory lock
    /// (`pg_advisory_xact_lock`) and reads what is applied again under it,
    /// so concurrent runs wait for each other and each migration runs
    /// once. Nothing outlives a transaction, so this works through a pooler
    /// in transaction mode (pgbouncer) as well as directly. An `-- atomic:
    /// false` migration instead runs its statements one by one in
    /// autocommit, holding the lock for the session (`pg_advisory_lock`):
    /// refused in [`StatementMode::Unnamed`](crate::StatementMode::Unnamed)
    /// (a pooler), before anything runs.
    ///
    /// # Errors
    /// [`Error::Migration`] when an applied migration's file was edited or
    /// removed, when a step drops data and `allow_destructive` is false
    /// (nothing runs then), or when a migration fails: it is rolled back,
    /// and those before it stay applied (an `-- atomic: false` one: its
    /// statements before the failed one stay applied, and it is not
    /// recorded).
    pub async fn migrate(
        &self,
        target: Option<&str>,
        allow_destructive: bool,
    ) -> Result<Vec<Step>> {
        let graph = self.graph()?;
        let db = self.db()?;
        // From a `BEGIN` to its end the session holds state no other user
        // may inherit (a migration's transaction and its lock): dropped
        // anywhere in between, `Session` closes the connection.
        let session = db.session().await?;
        let result = run(&graph, &db, &session, target, allow_destructive).await;
        // After an error the block may still be open (a failed ROLLBACK):
        // released only once a ROLLBACK gets through (a warning, not an
        // error, when nothing is open).
        if result.is_ok() || session.batch_execute("ROLLBACK").await.is_ok() {
            session.release();
        }
        result
    }
}

/// `BEGIN`, then the migration lock: transaction-scoped
/// (`pg_advisory_xact_lock`), so it is released by the `COMMIT` or
/// `ROLLBACK` on the server connection that took it, which a pooler in
/// transaction mode keeps for the whole block. A session lock would stay
/// on whichever server connection the pooler lent, and its unlock could
/// reach another one.
async fn begin_locked(client: &Connection) -> std::result::Result<(), tokio_postgres::Error> {
    // Polled (`pg_try_advisory_xact_lock`), not awaited in
    // `pg_advisory_xact_lock`: a run waiting in a statement holds a
    // snapshot, which a `CREATE INDEX CONCURRENTLY` of the run holding the
    // lock (an `-- atomic: false` migration) would wait for, while that
    // run holds the lock until its index is built: neither would end.
    // Between tries no transaction is open. The key is a constant, not
    // input.
    let try_lock = format!("BEGIN; SELECT pg_try_advisory_xact_lock({LOCK_KEY})");
    poll_lock(client, &try_lock, Some("ROLLBACK")).await
}

/// Runs `try_lock` (a query whose one row says `t` when it got the lock)
/// until it gets it, with `between` (a `ROLLBACK` of the block it began)
/// after each miss and a pause (5 ms, doubled up to 200 ms) before the
/// next try.
async fn poll_lock(
    client: &Connection,
    try_lock: &str,
    between: Option<&str>,
) -> std::result::Result<(), tokio_postgres::Error> {
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        let got = client.simple_query(try_lock).await?.iter().any(
            |m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("t")),
        );
        if got {
            return Ok(());
        }
        if let Some(between) = between {
            client.batch_execute(between).await?;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(200));
    }
}

/// Creates the history table if it is not there: each applied migration's
/// name, its file's checksum, and when it was applied.
async fn create_history(client: &Connection) -> Result<()> {
    let table = Table::new(
        HISTORY_TABLE,
        vec![
            Column {
                primary_key: true,
                ..Column::new("name", "text")
            },
            Column::new("checksum", "text"),
            Column {
                default: Some("now()"),
                ..Column::new("applied_at", "timestamptz")
            },
        ],
    );
    let sql = ddl::create_table(&table, Create::IfMissing)
        .map_err(|why| Error::Migration(why.to_string()))?;
    client.batch_execute(&sql).await.map_err(Error::from)
}

async fn applied(client: &Connection) -> Result<Vec<(String, String)>> {
    let sql = writes::select_table(
        HISTORY_TABLE,
        &["name", "checksum"],
        &["applied_at", "name"],
    );
    let rows = client.query(&sql, &[]).await.map_err(Error::from)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

async fn run(
    graph: &Graph,
    db: &Db,
    client: &Connection,
    target: Option<&str>,
    allow_destructive: bool,
) -> Result<Vec<Step>> {
    // Under the lock: two first runs at once would race on CREATE TABLE
    // IF NOT EXISTS.
    begin_locked(client).await?;
    create_history(client).await?;
    let applied = applied(client).await?;
    client.batch_execute("COMMIT").await?;
    for (name, sum) in &applied {
        match graph.ordered.iter().find(|m| &m.name == name) {
            None => {
                return Err(Error::Migration(format!(
                    "{name} is applied to this database but its file is not in the folder; \
                     restore it (it is needed to revert)"
                )))
            }
            Some(m) if &m.checksum != sum => {
                return Err(Error::Migration(format!(
                    "{name} was edited after it was applied (checksum {} recorded, {} now); \
                     restore the applied text, or revert it (`migrate <earlier>`) with the \
                     original file before editing",
                    sum.chars().take(12).collect::<String>(),
                    m.checksum.chars().take(12).collect::<String>()
                )))
            }
            Some(_) => {}
        }
    }
    let is_applied = |name: &str| applied.iter().any(|(n, _)| n == name);
    let wanted: Vec<&str> = match target {
        None => graph.names(),
        Some("zero") => Vec::new(),
        Some(t) => graph.ancestry(&graph.find(t)?.name),
    };
    let revert: Vec<&Migration> = graph
        .ordered
        .iter()
        .rev()
        .filter(|m| is_applied(&m.name) && !wanted.contains(&m.name.as_str()))
        .collect();
    let apply: Vec<&Migration> = graph
        .ordered
        .iter()
        .filter(|m| !is_applied(&m.name) && wanted.contains(&m.name.as_str()))
        .collect();
    let risky: Vec<String> = revert
        .iter()
        .flat_map(|m| {
            m.destructive_down
                .iter()
                .map(move |d| format!("{} (revert): {d}", m.name))
        })
        .chain(apply.iter().flat_map(|m| {
            m.destructive
                .iter()
                .map(move |d| format!("{}: {d}", m.name))
        }))
        .collect();
    if !risky.is_empty() && !allow_destructive {
        return Err(Error::Migration(format!(
            "these steps can lose data, so nothing was run:\n  {}\nreview them, back up, and run again with --allow-destructive",
            risky.join("\n  ")
        )));
    }
    // A session lock needs one server connection throughout, which a
    // pooler in transaction mode does not keep.
    if let (Some(m), crate::StatementMode::Unnamed) = (
        revert.iter().chain(&apply).find(|m| !m.atomic),
        db.statement_mode(),
    ) {
        return Err(Error::Migration(format!(
            "{} is `-- atomic: false`: it runs outside a transaction, holding the migration \
             lock for the session, which a pooler in transaction mode cannot keep (this \
             database is in unnamed statement mode); nothing was run: run migrate against the \
             server directly (not through pgbouncer)",
            m.name
        )));
    }
    let mut steps = Vec::new();
    for m in revert {
        if in_transaction(graph, client, m, Direction::Revert).await? {
            steps.push(Step {
                name: m.name.clone(),
                direction: Direction::Revert,
            });
        }
    }
    for m in apply {
        if in_transaction(graph, client, m, Direction::Apply).await? {
            steps.push(Step {
                name: m.name.clone(),
                direction: Direction::Apply,
            });
        }
    }
    Ok(steps)
}

/// Applies or reverts `m` in a transaction of its own that holds the
/// migration lock ([`begin_locked`]): `BEGIN; lock; <what is applied now>;
/// <sql>; <record>; COMMIT`, or `ROLLBACK` and the error. What is applied
/// is read again under the lock, so a run that waited for another one
/// skips what that one did (`Ok(false)`): each migration runs once
/// however many runs there are, through a pooler too. The caller's
/// [`Session`](crate::db::Session) closes the connection if this stops
/// half-way.
async fn in_transaction(
    graph: &Graph,
    client: &Connection,
    m: &Migration,
    direction: Direction,
) -> Result<bool> {
    let name = &m.name;
    if !m.atomic {
        return apart(graph, client, m, direction).await;
    }
    begin_locked(client).await.map_err(Error::from)?;
    let now = match applied(client).await {
        Ok(now) => now,
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(e);
        }
    };
    match decide(graph, m, direction, &now) {
        Ok(true) => {}
        Ok(false) => return skip(client).await,
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(e);
        }
    }
    let (sql, outcome) = match direction {
        Direction::Apply => {
            let record = writes::insert_into_table(HISTORY_TABLE, &["name", "checksum"]);
            let outcome = run_and_record(client, &m.up, &record, &[name, &m.checksum]).await;
            (&m.up, outcome)
        }
        Direction::Revert => {
            let record = writes::delete_from_table(HISTORY_TABLE, "name");
            (
                &m.down,
                run_and_record(client, &m.down, &record, &[name]).await,
            )
        }
    };
    if let Err(err) = outcome {
        let _ = client.batch_execute("ROLLBACK").await;
        let hint = if err.code() == Some(&tokio_postgres::error::SqlState::ACTIVE_SQL_TRANSACTION)
            && sql.to_ascii_uppercase().contains("CONCURRENTLY")
        {
            "; each migration runs in one transaction, which `CREATE INDEX CONCURRENTLY` \
             (and `DROP INDEX CONCURRENTLY`, `REINDEX .. CONCURRENTLY`) cannot: add the line \
             `-- atomic: false` to the migration's header (before its `--` line: each \
             statement then runs on its own, outside a transaction), or drop `CONCURRENTLY`"
        } else {
            ""
        };
        return Err(Error::Migration(format!(
            "{name} failed and was rolled back (the schema and data are as before it): {}{hint}",
            Error::from(err)
        )));
    }
    Ok(true)
}

/// Whether `m` is to run in `direction`, given what is applied `now`
/// (read under the migration lock): `false` when another run did it.
///
/// # Errors
/// Another run changed what it depends on.
fn decide(
    graph: &Graph,
    m: &Migration,
    direction: Direction,
    now: &[(String, String)],
) -> Result<bool> {
    let name = &m.name;
    let is_applied = |n: &str| now.iter().any(|(a, _)| a == n);
    let conflict = match direction {
        Direction::Apply if is_applied(name) => return Ok(false),
        Direction::Revert if !is_applied(name) => return Ok(false),
        Direction::Apply => m
            .parents
            .iter()
            .find(|p| !is_applied(p))
            .map(|p| format!("its parent {p} is not applied")),
        Direction::Revert => graph
            .ordered
            .iter()
            .find(|c| c.parents.contains(name) && is_applied(&c.name))
            .map(|c| format!("{} (which depends on it) is applied", c.name)),
    };
    match conflict {
        None => Ok(true),
        Some(why) => Err(Error::Migration(format!(
            "{name} was not run: {why}; another migrate changed this database at the same \
             time; run migrate again"
        ))),
    }
}

/// Takes the migration lock for the session (`pg_try_advisory_lock`,
/// polled as [`begin_locked`] polls): held with no transaction open, so a
/// `CREATE INDEX CONCURRENTLY` waits for nothing of ours.
async fn lock_session(client: &Connection) -> std::result::Result<(), tokio_postgres::Error> {
    // The key is a constant, not input.
    let try_lock = format!("SELECT pg_try_advisory_lock({LOCK_KEY})");
    poll_lock(client, &try_lock, None).await
}

/// An `-- atomic: false` migration: under the migration lock held by the
/// session ([`lock_session`]), what is applied is read again, then each
/// statement of its SQL runs on its own in autocommit, then its record;
/// then the lock is released. A failed statement leaves those before it
/// applied and the migration unrecorded. (A session lock needs the same
/// server connection throughout: `run` refuses this through a pooler.)
async fn apart(
    graph: &Graph,
    client: &Connection,
    m: &Migration,
    direction: Direction,
) -> Result<bool> {
    lock_session(client).await?;
    let outcome = apart_locked(graph, client, m, direction).await;
    // When this fails, the caller's `Session` closes the connection,
    // which releases the lock.
    let unlock = format!("SELECT pg_advisory_unlock({LOCK_KEY})");
    client.simple_query(&unlock).await?;
    outcome
}

/// [`apart`] once the lock is held.
async fn apart_locked(
    graph: &Graph,
    client: &Connection,
    m: &Migration,
    direction: Direction,
) -> Result<bool> {
    let name = &m.name;
    if !decide(graph, m, direction, &applied(client).await?)? {
        return Ok(false);
    }
    let sql = match direction {
        Direction::Apply => &m.up,
        Direction::Revert => &m.down,
    };
    let statements = split::statements(sql);
    for (i, statement) in statements.iter().enumerate() {
        if let Err(err) = client.batch_execute(statement).await {
            let applied = match i {
                0 => "nothing of it was applied".to_owned(),
                1 => "its first statement stays applied".to_owned(),
                n => format!("its first {n} statements stay applied"),
            };
            return Err(Error::Migration(format!(
                "{name} failed at statement {} of {} ({}): {}; it runs outside a \
                 transaction (`-- atomic: false`), so {applied}, and it is not recorded: \
                 make the failed statement succeed (a failed CREATE INDEX CONCURRENTLY \
                 leaves an INVALID index: DROP INDEX IF EXISTS it) and run migrate again \
                 (statements written with IF NOT EXISTS / IF EXISTS can run twice)",
                i + 1,
                statements.len(),
                first_line(statement),
                Error::from(err)
            )));
        }
    }
    if direction == Direction::Apply {
        invalid_indexes(client, name, sql).await?;
    }
    let recorded = match direction {
        Direction::Apply => {
            let record = writes::insert_into_table(HISTORY_TABLE, &["name", "checksum"]);
            client.execute(&record, &[name, &m.checksum]).await
        }
        Direction::Revert => {
            let record = writes::delete_from_table(HISTORY_TABLE, "name");
            client.execute(&record, &[name]).await
        }
    };
    if let Err(err) = recorded {
        return Err(Error::Migration(format!(
            "{name} ran, but recording it failed: {}; its statements stay applied: run \
             migrate again once the history table takes the record",
            Error::from(err)
        )));
    }
    Ok(true)
}

/// Refuses to record `name` while an index its SQL names is INVALID: a
/// `CREATE INDEX CONCURRENTLY` of it was interrupted (its run's future
/// dropped, the server stopped), and a run again with `IF NOT EXISTS`
/// skipped the invalid index instead of building it.
async fn invalid_indexes(client: &Connection, name: &str, sql: &str) -> Result<()> {
    let rows = client
        .query(
            "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE NOT i.indisvalid",
            &[],
        )
        .await?;
    let invalid: Vec<String> = rows
        .iter()
        .map(|r| r.get::<_, String>(0))
        .filter(|index| sql.contains(index.as_str()))
        .collect();
    if invalid.is_empty() {
        return Ok(());
    }
    Err(Error::Migration(format!(
        "{name} ran, but it is not recorded: its index {} is INVALID (a CREATE INDEX \
         CONCURRENTLY of it was interrupted, and IF NOT EXISTS then skipped it): DROP INDEX \
         CONCURRENTLY it and run migrate again",
        invalid.join(", ")
    )))
}

/// The first line of a statement that is not a comment, for an error
/// message.
fn first_line(statement: &str) -> &str {
    statement
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("--"))
        .unwrap_or_default()
}

/// Ends a block that found its migration done by another run.
async fn skip(client: &Connection) -> Result<bool> {
    client.batch_execute("COMMIT").await.map_err(Error::from)?;
    Ok(false)
}

/// `<sql>; <record>; COMMIT` inside the block [`in_transaction`] began.
async fn run_and_record(
    client: &Connection,
    sql: &str,
    record: &str,
    params: &[&(dyn postgres_types::ToSql + Sync)],
) -> std::result::Result<(), tokio_postgres::Error> {
    if !sql.trim().is_empty() {
        client.batch_execute(sql).await?;
    }
    client.execute(record, params).await?;
    client.batch_execute("COMMIT").await
}

/// The statements, each ended by `;` and a line break.
fn join_sql(sql: impl Iterator<Item = Result<String>>) -> Result<String> {
    sql.map(|s| Ok(s? + ";\n")).collect()
}

/// `add_karma`-style: lowercase letters, digits and `_`, at most 40 bytes.
fn slug(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    s.truncate(40);
    let s = s.trim_matches('_').to_owned();
    if s.is_empty() {
        "auto".into()
    } else {
        s
    }
}

/// A name for a migration from its first change (`add_users_karma`,
/// `..._and_more` when there are several).
fn auto_name(ops: &[Op]) -> String {
    let first = match ops.first() {
        Some(Op::CreateTable(t, _)) => format!("create_{t}"),
        Some(Op::DropTable(t, _)) => format!("drop_{t}"),
        Some(Op::RenameTable { to, .. }) => format!("rename_{to}"),
        Some(Op::AddColumn { table, column, .. }) => format!("add_{table}_{}", column.name),
        Some(Op::DropColumn { table, column }) => format!("remove_{table}_{}", column.name),
        Some(Op::RenameColumn { table, to, .. }) => format!("rename_{table}_{to}"),
        Some(
            Op::AlterType { table, column, .. }
            | Op::SetNotNull { table, column, .. }
            | Op::SetDefault { table, column, .. },
        ) => format!("alter_{table}_{column}"),
        Some(Op::AddUnique(t, c) | Op::AddIndex(t, c)) => {
            format!("add_{t}_{}", c.columns.join("_"))
        }
        Some(Op::DropUnique(t, c) | Op::DropIndex(t, c)) => {
            format!("remove_{t}_{}", c.columns.join("_"))
        }
        Some(Op::AddForeignKey(t, f)) => format!("add_{t}_{}_fk", f.column),
        Some(Op::DropForeignKey(t, f)) => format!("remove_{t}_{}_fk", f.column),
        Some(Op::RenameConstraint { to, .. }) => format!("rename_{to}"),
        Some(Op::CreateExtension(name)) => format!("create_extension_{name}"),
        Some(Op::DropExtension(name)) => format!("drop_extension_{name}"),
        Some(Op::EnableRls(t, _)) => format!("enable_rls_{t}"),
        Some(Op::DisableRls(t, _)) => format!("disable_rls_{t}"),
        None => "auto".into(),
    };
    let significant = ops
        .iter()
        .filter(|op| !matches!(op, Op::RenameConstraint { .. }))
        .count();
    if significant > 1 {
        format!("{first}_and_more")
    } else {
        first
    }
}

/// One line for a change, for the file's header and the command's output.
fn describe(op: &Op) -> String {
    match op {
        Op::CreateTable(t, _) => format!("create table {t}"),
        Op::DropTable(t, _) => format!("drop table {t}"),
        Op::RenameTable { from, to } => format!("rename table {from} to {to}"),
        Op::AddColumn { table, column, .. } => format!("add column {table}.{}", column.name),
        Op::DropColumn { table, column } => format!("drop column {table}.{}", column.name),
        Op::RenameColumn { table, from, to } => format!("rename column {table}.{from} to {to}"),
        Op::AlterType {
            table,
            column,
            from,
            to,
        } => format!("change type of {table}.{column} from {from} to {to}"),
        Op::SetNotNull {
            table,
            column,
            not_null,
            ..
        } => format!(
            "make {table}.{column} {}",
            if *not_null { "NOT NULL" } else { "nullable" }
        ),
        Op::SetDefault {
            table, column, to, ..
        } => match to {
            Some(d) => format!("set default of {table}.{column} to {d}"),
            None => format!("drop default of {table}.{column}"),
        },
        Op::AddUnique(t, c) => format!("add unique {} on {t} ({})", c.name, c.columns.join(", ")),
        Op::DropUnique(t, c) => format!("drop unique {} on {t}", c.name),
        Op::AddIndex(t, c) => format!("add index {} on {t} ({})", c.name, c.columns.join(", ")),
        Op::DropIndex(t, c) => format!("drop index {} on {t}", c.name),
        Op::AddForeignKey(t, f) => format!(
            "add foreign key {t}.{} -> {}.{} on delete {}",
            f.column, f.references, f.target_column, f.on_delete
        ),
        Op::DropForeignKey(t, f) => format!("drop foreign key {t}.{}", f.column),
        Op::RenameConstraint { from, to, .. } => format!("rename {from} to {to}"),
        Op::CreateExtension(name) => format!("create extension {name}"),
        Op::DropExtension(name) => format!("drop extension {name}"),
        Op::EnableRls(t, r) => format!("enable row-level security on {t} by {}", r.column),
        Op::DisableRls(t, _) => format!("disable row-level security on {t}"),
    }
}
