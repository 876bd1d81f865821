//! `manage createsuperuser`, as Django's: the admin's command beside
//! orm-core's `manage` commands ([`orm_core::cli`]).
//!
//! A `manage` binary that calls [`main`] instead of `orm_core::cli::main`
//! has every command of orm-core's and `createsuperuser`:
//!
//! ```text
//! // src/bin/manage.rs
//! use my_app as _; // links the models
//!
//! fn main() {
//!     orm_admin::cli::main()
//! }
//! ```
//!
//! ```text
//! manage createsuperuser                       # asks for the username and the password (twice)
//! manage createsuperuser --username admin      # asks for the password only
//! ADMIN_PASSWORD=... manage createsuperuser --noinput --username admin
//! ```
//!
//! As in Django: at a terminal the password is read without echo; an
//! empty password, two passwords that differ, or a username taken is an
//! `Error: ...` and the question again; with `--noinput` (or
//! `--no-input`) nothing is asked, the username is `--username` (else
//! `ADMIN_USERNAME`) and the password `ADMIN_PASSWORD` (Django's
//! `DJANGO_SUPERUSER_PASSWORD`), and any problem ends the command with
//! exit code 1. When stdin is not a terminal the answers are read from it
//! line by line (scripts, tests; the password is then not hidden by
//! anyone). The admin's tables are created first when missing
//! ([`install_on`](crate::install_on)).
//!
//! The database is `--database-url`, else `DATABASE_URL`, else the
//! default set with [`orm_core::set_default`] before calling [`main`].

use std::ffi::OsString;
use std::io::{BufRead, IsTerminal, Write};

use orm_core::prelude::*;

use crate::models::AdminUser;

/// Runs `createsuperuser` when it is the command, else orm-core's `manage`
/// ([`orm_core::cli::main`]); exits with the command's code.
pub fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if !is_createsuperuser(&args) {
        orm_core::cli::main_with(&[(
            "createsuperuser",
            "Creates an admin superuser (--username NAME, --noinput with ADMIN_PASSWORD)",
        )]);
        return;
    }
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
    let terminal = std::io::stdin().is_terminal();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let code = runtime.block_on(run_args(
        args,
        &mut input,
        terminal,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    ));
    std::process::exit(code);
}

/// Whether the first word that is not an option (or an option's value)
/// is `createsuperuser`.
fn is_createsuperuser(args: &[OsString]) -> bool {
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let word = word.to_string_lossy();
        match word.as_ref() {
            // orm-core's global options that take a value.
            "--dir" | "--database" | "--database-url" => {
                words.next();
            }
            w if w.starts_with('-') => {}
            w => return w == "createsuperuser",
        }
    }
    false
}

/// The options of `createsuperuser`.
#[derive(Debug, Default)]
struct Options {
    database_url: Option<String>,
    username: Option<String>,
    noinput: bool,
}

const USAGE: &str =
    "usage: manage [--database-url URL] createsuperuser [--username NAME] [--noinput]";

fn parse(args: Vec<OsString>) -> std::result::Result<Options, String> {
    let mut opts = Options::default();
    let mut words = args.into_iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(word) = words.next() {
        let (name, inline) = match word.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (word.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| words.next())
                .ok_or_else(|| format!("{what} needs a value\n{USAGE}"))
        };
        match name.as_str() {
            "createsuperuser" => {}
            "--database-url" => opts.database_url = Some(value("--database-url")?),
            // Accepted for orm-core's commands; not used here.
            "--dir" | "--database" => {
                value(&name)?;
            }
            "--username" => opts.username = Some(value("--username")?),
            "--noinput" | "--no-input" => opts.noinput = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
        }
    }
    Ok(opts)
}

fn connect(opts: &Options) -> Result<Db> {
    if let Some(url) = &opts.database_url {
        return Db::builder(url.clone()).build();
    }
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return Db::builder(url).build();
    }
    orm_core::current().map_err(|_| {
        Error::Config(
            "no database: set DATABASE_URL (e.g. postgres://user@localhost/app), pass \
             --database-url, or call orm_core::set_default(..) before cli::main()"
                .into(),
        )
    })
}

/// Runs `createsuperuser` with `args` (without the program name),
/// reading answers from `input` (a `terminal`: the password is read
/// without echo), writing the questions and errors to `err` and the
/// result to `out`; returns the exit code (0, 1 on failure, 2 for bad
/// arguments).
pub async fn run_args(
    args: Vec<OsString>,
    input: &mut dyn BufRead,
    terminal: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let opts = match parse(args) {
        Ok(opts) => opts,
        Err(message) => {
            let _ = writeln!(err, "{message}");
            return 2;
        }
    };
    let db = match connect(&opts) {
        Ok(db) => db,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return 1;
        }
    };
    let result = orm_core::scope(&db, async {
        crate::install().await?;
        create(&opts, input, terminal, err).await
    })
    .await;
    match result {
        Ok(Ok(username)) => {
            let _ = writeln!(out, "Superuser {username:?} created successfully.");
            0
        }
        Ok(Err(message)) => {
            let _ = writeln!(err, "Error: {message}");
            1
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            1
        }
    }
}

/// Asks (or, `--noinput`, takes) the username and password and creates
/// the user: its name, or the message that ends the command.
async fn create(
    opts: &Options,
    input: &mut dyn BufRead,
    terminal: bool,
    err: &mut dyn Write,
) -> Result<std::result::Result<String, String>> {
    if opts.noinput {
        let Some(username) = opts
            .username
            .clone()
            .or_else(|| std::env::var("ADMIN_USERNAME").ok())
            .filter(|u| !u.trim().is_empty())
        else {
            return Ok(Err(
                "You must use --username with --noinput (or set ADMIN_USERNAME).".into(),
            ));
        };
        let password = std::env::var("ADMIN_PASSWORD").unwrap_or_default();
        if password.is_empty() {
            return Ok(Err(
                "Set the password in ADMIN_PASSWORD with --noinput (blank passwords aren't allowed)."
                    .into(),
            ));
        }
        if taken(&username).await? {
            return Ok(Err("That username is already taken.".into()));
        }
        crate::create_superuser(&username, &password).await?;
        return Ok(Ok(username));
    }
    // Questions until answered, as Django's; the end of the input stops.
    let mut username = opts.username.clone();
    loop {
        let name = match username.take() {
            Some(name) => name,
            None => {
                let Some(line) = ask(input, err, "Username: ", false, terminal) else {
                    return Ok(Err("no username given (end of input).".into()));
                };
                line
            }
        };
        let name = name.trim().to_owned();
        if name.is_empty() {
            let _ = writeln!(err, "Error: This field cannot be blank.");
        } else if taken(&name).await? {
            let _ = writeln!(err, "Error: That username is already taken.");
        } else {
            username = Some(name);
            break;
        }
        if opts.username.is_some() {
            // Given on the command line: asking again would not change it.
            return Ok(Err("That username is already taken.".into()));
        }
    }
    let username = username.unwrap_or_default();
    let password = loop {
        let Some(first) = ask(input, err, "Password: ", true, terminal) else {
            return Ok(Err("no password given (end of input).".into()));
        };
        let Some(again) = ask(input, err, "Password (again): ", true, terminal) else {
            return Ok(Err("no password given (end of input).".into()));
        };
        if first != again {
            let _ = writeln!(err, "Error: Your passwords didn't match.");
            continue;
        }
        if first.is_empty() {
            let _ = writeln!(err, "Error: Blank passwords aren't allowed.");
            continue;
        }
        break first;
    };
    crate::create_superuser(&username, &password).await?;
    Ok(Ok(username))
}

async fn taken(username: &str) -> Result<bool> {
    AdminUser::filter(q!(username = username.to_owned()))
        .exists()
        .await
}

/// One answer (without its line end); `None` at the end of the input.
/// A `secret` answer at a terminal is read with echo off (`stty -echo`).
fn ask(
    input: &mut dyn BufRead,
    err: &mut dyn Write,
    question: &str,
    secret: bool,
    terminal: bool,
) -> Option<String> {
    let _ = write!(err, "{question}");
    let _ = err.flush();
    let hide = secret && terminal && stty("-echo");
    let mut line = String::new();
    let read = input.read_line(&mut line);
    if hide {
        stty("echo");
        let _ = writeln!(err);
    }
    match read {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\n', '\r']).to_owned()),
    }
}

/// `stty <setting>` on the terminal of stdin; whether it ran.
fn stty(setting: &str) -> bool {
    std::process::Command::new("stty")
        .arg(setting)
        .stdin(std::process::Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_command_is_found_after_global_options() {
        assert!(is_createsuperuser(&os(&["createsuperuser"])));
        assert!(is_createsuperuser(&os(&[
            "--database-url",
            "postgres://x/createsuperuser",
            "--dir",
            "m",
            "createsuperuser",
            "--noinput"
        ])));
        assert!(!is_createsuperuser(&os(&["migrate"])));
        assert!(!is_createsuperuser(&os(&[
            "--database-url",
            "createsuperuser",
            "migrate"
        ])));
        assert!(!is_createsuperuser(&os(&[])));
    }

    #[test]
    fn options_are_parsed_and_unknown_ones_refused() {
        let opts = parse(os(&["createsuperuser", "--username=ada", "--no-input"])).expect("valid");
        assert_eq!(opts.username.as_deref(), Some("ada"));
        assert!(opts.noinput);
        let err = parse(os(&["createsuperuser", "--email", "a@b"])).unwrap_err();
        assert!(err.contains("unexpected argument `--email`"), "{err}");
        let err = parse(os(&["createsuperuser", "--username"])).unwrap_err();
        assert!(err.contains("--username needs a value"), "{err}");
    }
}
