//! The `manage` command line, as Django's `manage.py`: add a binary to your
//! application that calls [`main`], and every model linked into it is seen.
//!
//! ```text
//! // src/bin/manage.rs, with the models in src/lib.rs of package `my-app`
//! use my_app as _; // links the library crate, and so its models
//!
//! fn main() {
//!     orm_core::cli::main()
//! }
//! ```
//!
//! A binary is a crate of its own, even in the package of the library that
//! declares the models, and a library crate is linked only into the
//! binaries that name it: without the `use` line, `manage` has no models.
//! Then `makemigrations` fails with a message saying so, rather than
//! finding "no changes" (or writing a migration that drops every table).
//!
//! ```text
//! cargo run --bin manage -- makemigrations [--name add_karma] [--check] [--empty] [--merge]
//!                                          [--default users.karma=0]
//! cargo run --bin manage -- migrate [0003 | zero] [--allow-destructive]
//! cargo run --bin manage -- showmigrations
//! cargo run --bin manage -- sqlmigrate 0004 [--revert]
//! ```
//!
//! The database is `--database-url`, else the one registered as
//! `--database NAME` ([`crate::register`]) or given by `DATABASE_URL_<NAME>`,
//! else `DATABASE_URL`, else the default set with
//! [`set_default`](crate::set_default) before calling [`main`].

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::db::{self, Db};
use crate::error::{Error, Result};
use crate::meta::{registered_models, NO_MODELS_LINKED};
use crate::migrate::{Direction, Made, MakeOptions, Migrator};

/// Migrations for the models linked into this binary.
#[derive(Debug, Parser)]
#[command(
    name = "manage",
    about = "Migrations for the models linked into this binary"
)]
pub struct Cli {
    /// The migrations folder.
    #[arg(long, global = true, default_value = "migrations")]
    dir: PathBuf,
    /// A database registered under this name, or `DATABASE_URL_<NAME>`.
    #[arg(long, global = true)]
    database: Option<String>,
    /// The database URL (overrides `--database` and `DATABASE_URL`).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Writes a migration for the changes between the models and the last migration.
    Makemigrations {
        /// The name after the number (default: from the changes).
        #[arg(long)]
        name: Option<String>,
        /// Writes nothing; exits with 1 when the models and migrations differ (for CI).
        #[arg(long)]
        check: bool,
        /// Writes an empty migration to fill by hand.
        #[arg(long)]
        empty: bool,
        /// Joins two branches of the history with a merge migration.
        #[arg(long)]
        merge: bool,
        /// `table.column=SQL` value for existing rows of a new NOT NULL column.
        #[arg(long = "default", value_name = "TABLE.COLUMN=VALUE")]
        defaults: Vec<String>,
    },
    /// Applies pending migrations, or moves to TARGET (a name, a number, or `zero`).
    Migrate {
        /// The migration to end at.
        target: Option<String>,
        /// Runs steps that drop tables or columns or narrow types.
        #[arg(long)]
        allow_destructive: bool,
    },
    /// Lists the migrations, applied ([X]) or not ([ ]).
    Showmigrations,
    /// Prints a migration's SQL without running it.
    Sqlmigrate {
        /// The migration (a name or its number).
        name: String,
        /// The SQL that reverts it instead.
        #[arg(long)]
        revert: bool,
    },
}

/// Parses the process's arguments, runs the command, and exits: 0 on
/// success, 1 when `makemigrations --check` finds changes or a command
/// fails (the error is printed), 2 for bad arguments. `makemigrations`
/// fails when no model is linked into the binary (see the module docs).
pub fn main() {
    main_with(&[]);
}

/// [`main`] for a `manage` binary that has commands of its own beside
/// orm-core's (orm-admin's `createsuperuser`): `extra` are listed, by name
/// and one line of help, in `manage --help`. The binary runs its own
/// commands before calling this; here one of them is an error (exit 2),
/// as any unknown command is.
pub fn main_with(extra: &[(&'static str, &'static str)]) {
    let cli = parse_with(std::env::args_os(), extra).unwrap_or_else(|err| err.exit());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async {
        match run(cli, &mut std::io::stdout()).await {
            Ok(code) => code,
            Err(err) => {
                eprintln!("error: {err}");
                1
            }
        }
    });
    std::process::exit(code);
}

/// Parses `args` (with the program name) as orm-core's commands, with
/// `extra` listed in the help.
fn parse_with<I, S>(args: I, extra: &[(&'static str, &'static str)]) -> clap::error::Result<Cli>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    for (name, about) in extra {
        command = command.subcommand(clap::Command::new(*name).about(*about));
    }
    let matches = command.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches(&matches).map_err(|err| err.format(&mut command))
}

/// Runs `args` (without the program name) as [`main`] would, writing its
/// report to `out`; returns the exit code.
///
/// # Errors
/// The command's error; [`Error::Config`] for bad arguments.
pub async fn run_args<I, S>(args: I, out: &mut dyn Write) -> Result<i32>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let argv =
        std::iter::once(std::ffi::OsString::from("manage")).chain(args.into_iter().map(Into::into));
    let cli = Cli::try_parse_from(argv).map_err(|e| Error::Config(e.to_string()))?;
    run(cli, out).await
}

fn connect(cli: &Cli) -> Result<Db> {
    if let Some(url) = &cli.database_url {
        return Db::builder(url.clone()).build();
    }
    if let Some(name) = &cli.database {
        if let Ok(db) = db::database(name) {
            return Ok(db);
        }
        let var = format!("DATABASE_URL_{}", name.to_uppercase().replace('-', "_"));
        return match std::env::var(&var) {
            Ok(url) => Db::builder(url).build(),
            Err(_) => Err(Error::Config(format!(
                "no database `{name}`: register it with `orm_core::register(\"{name}\", db)` \
                 before `cli::main()`, or set {var}"
            ))),
        };
    }
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return Db::builder(url).build();
    }
    db::current().map_err(|_| {
        Error::Config(
            "no database: set DATABASE_URL (e.g. postgres://user@localhost/app), pass \
             --database-url, or call orm_core::set_default(..) before cli::main()"
                .into(),
        )
    })
}

fn io(err: std::io::Error) -> Error {
    Error::Migration(format!("cannot write the report: {err}"))
}

/// `makemigrations` compares the linked models with the last migration's
/// state: with no model linked it would see every table as removed, so it
/// refuses, and says how to link them.
fn models_linked() -> Result<()> {
    if registered_models().next().is_some() {
        return Ok(());
    }
    Err(Error::Migration(format!(
        "makemigrations has nothing to compare: {NO_MODELS_LINKED}"
    )))
}

async fn run(cli: Cli, out: &mut dyn Write) -> Result<i32> {
    let migrator = Migrator::new(cli.dir.clone());
    match &cli.command {
        Command::Makemigrations {
            name,
            check,
            empty,
            merge,
            defaults,
        } => {
            models_linked()?;
            if *check {
                let changed = migrator.check()?;
                if changed {
                    writeln!(
                        out,
                        "The models have changes that no migration records; run makemigrations."
                    )
                    .map_err(io)?;
                    for op in migrator.changes(&BTreeMap::new()).unwrap_or_default() {
                        writeln!(out, "  {}", op.up()?.replace('\n', "\n  ")).map_err(io)?;
                    }
                    return Ok(1);
                }
                writeln!(out, "No changes detected.").map_err(io)?;
                return Ok(0);
            }
            if *merge {
                let path = migrator.merge()?;
                writeln!(out, "Wrote {}", path.display()).map_err(io)?;
                return Ok(0);
            }
            if *empty {
                let path = migrator.make_empty(name.as_deref())?;
                writeln!(
                    out,
                    "Wrote {} (empty: write its SQL by hand)",
                    path.display()
                )
                .map_err(io)?;
                return Ok(0);
            }
            let mut fills = BTreeMap::new();
            for d in defaults {
                let Some((key, value)) = d.split_once('=') else {
                    return Err(Error::Config(format!(
                        "--default {d}: expected table.column=VALUE"
                    )));
                };
                fills.insert(key.trim().to_owned(), value.trim().to_owned());
            }
            ask_for_defaults(&migrator, &mut fills)?;
            let made = migrator.make(&MakeOptions {
                name: name.clone(),
                fills,
            })?;
            match made {
                Made::NoChanges => writeln!(out, "No changes detected.").map_err(io)?,
                Made::Written {
                    path,
                    summary,
                    destructive,
                } => {
                    writeln!(out, "Wrote {}", path.display()).map_err(io)?;
                    for s in summary {
                        writeln!(out, "  - {s}").map_err(io)?;
                    }
                    for d in destructive {
                        writeln!(
                            out,
                            "  ! destructive: {d} (migrate needs --allow-destructive)"
                        )
                        .map_err(io)?;
                    }
                }
            }
            Ok(0)
        }
        Command::Migrate {
            target,
            allow_destructive,
        } => {
            let migrator = migrator.database(&connect(&cli)?);
            let steps = migrator
                .migrate(target.as_deref(), *allow_destructive)
                .await?;
            if steps.is_empty() {
                writeln!(out, "No migrations to apply.").map_err(io)?;
            }
            for step in steps {
                let verb = match step.direction {
                    Direction::Apply => "Applied",
                    Direction::Revert => "Reverted",
                };
                writeln!(out, "{verb} {}", step.name).map_err(io)?;
            }
            Ok(0)
        }
        Command::Showmigrations => {
            let migrator = migrator.database(&connect(&cli)?);
            for s in migrator.status().await? {
                let mark = if s.applied { "X" } else { " " };
                let edited = if s.edited {
                    "  (edited since applied!)"
                } else {
                    ""
                };
                writeln!(out, "[{mark}] {}{edited}", s.name).map_err(io)?;
            }
            Ok(0)
        }
        Command::Sqlmigrate { name, revert } => {
            write!(out, "{}", migrator.sql(name, *revert)?).map_err(io)?;
            Ok(0)
        }
    }
}

/// At a terminal, asks for the one-off value of each new `NOT NULL` column
/// that has no default, as Django's `makemigrations` does.
fn ask_for_defaults(migrator: &Migrator, fills: &mut BTreeMap<String, String>) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Ok(());
    }
    for column in migrator.needs_default(fills)? {
        eprint!(
            "{column} is NOT NULL and has no default. SQL value for the rows already there \
             (e.g. 0, 'unknown', now()): "
        );
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::Migration(format!("cannot read the answer: {e}")))?;
        let value = line.trim();
        if value.is_empty() {
            return Err(Error::Migration(format!("no value given for {column}")));
        }
        fills.insert(column, value.to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXTRA: &[(&str, &str)] = &[("createsuperuser", "Creates an admin user")];

    #[test]
    fn extra_commands_are_listed_in_the_help() {
        let err = parse_with(["manage", "--help"], EXTRA).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
        let help = err.to_string();
        for word in ["makemigrations", "migrate", "showmigrations", "sqlmigrate"] {
            assert!(help.contains(word), "{word} in {help}");
        }
        assert!(
            help.contains("createsuperuser  Creates an admin user"),
            "{help}"
        );
        // Without extras, orm-core's own help does not list it.
        let plain = parse_with(["manage", "--help"], &[])
            .unwrap_err()
            .to_string();
        assert!(!plain.contains("createsuperuser"), "{plain}");
    }

    #[test]
    fn orm_core_commands_still_parse_and_an_extra_one_is_not_run_here() {
        let cli = parse_with(["manage", "--dir", "m", "showmigrations"], EXTRA).expect("parses");
        assert!(matches!(cli.command, Command::Showmigrations));
        assert_eq!(cli.dir, PathBuf::from("m"));
        // The binary runs its own commands before orm-core parses; one
        // reaching orm-core is a usage error, not a panic.
        let err = parse_with(["manage", "createsuperuser"], EXTRA).unwrap_err();
        assert_ne!(err.kind(), clap::error::ErrorKind::DisplayHelp);
    }
}
