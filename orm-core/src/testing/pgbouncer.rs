//! A throwaway pgbouncer in `pool_mode = transaction` in front of the
//! shared test server, for tests of [`StatementMode::Unnamed`].
//!
//! [`TestPgbouncer::start`] writes its own `pgbouncer.ini` into a fresh temp
//! dir and runs `/usr/sbin/pgbouncer` (Debian's package `pgbouncer`; `PGBOUNCER`
//! names another binary) in the foreground, as the `postgres` user when
//! running as root (pgbouncer refuses root too). It listens only on a Unix
//! socket in that dir, trusts every client (`auth_type = trust`), sends every
//! database to the shared server, and shares `default_pool_size = 5` server
//! connections per database among all its clients, so statements of
//! different clients really meet on one server connection; with
//! `server_round_robin = 1`, consecutive statements of one client go to
//! different server connections once several are open.
//!
//! As for the server, cleanup does not depend on destructors: a `sh` reaper
//! holding a pipe only this process writes to stops pgbouncer and removes
//! its dir when this process exits, however it exits.
//!
//! [`StatementMode::Unnamed`]: crate::StatementMode::Unnamed

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::server::{self, command_as, io_err, Reaped, ServerError, TestServer};
use crate::error::{Error, Result};

/// The port in pgbouncer's socket file name (`.s.PGSQL.6432`).
const PORT: u16 = 6432;
/// Server connections pgbouncer keeps per database and user.
pub const POOL_SIZE: usize = 5;

/// A second user the auth file lists (besides `postgres`), for tests that
/// connect through pgbouncer as a plain role (row-level security holds
/// neither a superuser nor a table's owner). The test creates the role.
pub const APP_ROLE: &str = "orm_app";

/// Stops pgbouncer (SIGTERM: immediate shutdown, then SIGKILL) and removes
/// its dir once this process's end closes the pipe; `$1` is the dir, the
/// first stdin line the pid.
const REAPER_SCRIPT: &str = r#"
IFS= read -r pid
while read -r _; do :; done
if [ -n "$pid" ]; then
  kill -TERM "$pid"
  i=0
  while kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -ge 100 ]; then kill -KILL "$pid"; break; fi
    sleep 0.05
  done
fi
rm -rf "$1"
"#;

/// A running pgbouncer in transaction mode in front of a [`TestServer`].
#[derive(Debug)]
pub struct TestPgbouncer {
    /// Its directory (ini, socket, log) and the reaper removing it.
    reaped: Reaped,
    child: Child,
}

impl TestPgbouncer {
    /// The pgbouncer binary: `PGBOUNCER` if set, else `/usr/sbin/pgbouncer`,
    /// else `pgbouncer` on the `PATH`; `None` when none is installed.
    pub fn binary() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os("PGBOUNCER").filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(path));
        }
        let debian = PathBuf::from("/usr/sbin/pgbouncer");
        if debian.is_file() {
            return Some(debian);
        }
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join("pgbouncer"))
            .find(|path| path.is_file())
    }

    /// Starts pgbouncer in front of `server` and waits until it listens.
    ///
    /// # Errors
    /// [`ServerError::Io`] when pgbouncer is not installed or cannot be
    /// started, [`ServerError::Startup`] (with its log) when it exits or
    /// does not listen within 10 s.
    pub fn start(server: &TestServer) -> std::result::Result<TestPgbouncer, ServerError> {
        let Some(bin) = Self::binary() else {
            return Err(ServerError::Io {
                context: "starting pgbouncer".into(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "pgbouncer is not installed (apt-get install pgbouncer, or set PGBOUNCER)",
                ),
            });
        };
        let user = server::is_root().then(server::postgres_user).transpose()?;
        let mut reaped = Reaped::new(user, REAPER_SCRIPT, "orm-pgbouncer-reaper")?;
        match boot(&bin, server.socket_dir(), user, &mut reaped) {
            Ok(child) => Ok(TestPgbouncer { reaped, child }),
            Err(e) => {
                reaped.discard();
                Err(e)
            }
        }
    }

    /// The URL of database `dbname` through pgbouncer (user `postgres`,
    /// its Unix socket), e.g.
    /// `postgres://postgres@/db?host=/tmp/orm-pg-1-ab&port=6432`.
    pub fn url(&self, dbname: &str) -> String {
        server::socket_url(&self.reaped.dir, PORT, dbname)
    }

    /// The dir holding the socket, `pgbouncer.ini` and `pgbouncer.log`.
    pub fn dir(&self) -> &Path {
        &self.reaped.dir
    }

    /// pgbouncer's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Writes the ini and the auth file, spawns pgbouncer, hands its pid to the
/// reaper and waits for its socket.
fn boot(
    bin: &Path,
    server_dir: &Path,
    user: Option<(u32, u32)>,
    reaped: &mut Reaped,
) -> std::result::Result<Child, ServerError> {
    let dir = reaped.dir.clone();
    let ini = dir.join("pgbouncer.ini");
    let users = dir.join("userlist.txt");
    let log = dir.join("pgbouncer.log");
    // Every database of the server, as the user the client names; the
    // server trusts local connections. `extra_float_digits` is a startup
    // parameter some drivers send and pgbouncer would refuse.
    let config = format!(
        "[databases]\n\
         * = host={server} port=5432\n\
         [pgbouncer]\n\
         listen_addr =\n\
         listen_port = {PORT}\n\
         unix_socket_dir = {dir}\n\
         auth_type = trust\n\
         auth_file = {users}\n\
         pool_mode = transaction\n\
         default_pool_size = {POOL_SIZE}\n\
         server_round_robin = 1\n\
         max_client_conn = 1000\n\
         ignore_startup_parameters = extra_float_digits\n\
         logfile = {log}\n\
         log_connections = 0\n\
         log_disconnections = 0\n",
        server = server_dir.display(),
        dir = dir.display(),
        users = users.display(),
        log = log.display(),
    );
    fs::write(&ini, config).map_err(io_err(format!("writing {}", ini.display())))?;
    fs::write(&users, format!("\"postgres\" \"\"\n\"{APP_ROLE}\" \"\"\n"))
        .map_err(io_err(format!("writing {}", users.display())))?;
    if let Some((uid, gid)) = user {
        for file in [&ini, &users] {
            std::os::unix::fs::chown(file, Some(uid), Some(gid))
                .map_err(io_err(format!("handing {} to postgres", file.display())))?;
        }
    }
    let mut child = command_as(bin, &dir, user)
        .arg(&ini)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(io_err(format!("starting {}", bin.display())))?;
    let ready = reaped
        .watch(child.id(), "pgbouncer")
        .and_then(|()| wait_listening(&mut child, &dir.join(format!(".s.PGSQL.{PORT}")), &log));
    if let Err(e) = ready {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok(child)
}

/// Waits until pgbouncer's socket file exists.
fn wait_listening(
    child: &mut Child,
    socket: &Path,
    log: &Path,
) -> std::result::Result<(), ServerError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let failed = |reason: String| ServerError::Startup {
        reason,
        log_tail: fs::read_to_string(log).unwrap_or_default(),
    };
    loop {
        if let Some(status) = child.try_wait().map_err(io_err("waiting for pgbouncer"))? {
            return Err(failed(format!("pgbouncer exited ({status})")));
        }
        if socket.exists() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(failed("pgbouncer is not listening after 10 s".into()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The process-wide pgbouncer in front of the [shared server](server::shared),
/// started on first use.
///
/// # Errors
/// As [`TestPgbouncer::start`]; a failed start is not retried.
pub fn shared() -> std::result::Result<&'static TestPgbouncer, ServerError> {
    static SHARED: OnceLock<std::result::Result<TestPgbouncer, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let server = server::shared().map_err(|e| e.to_string())?;
            TestPgbouncer::start(server).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| ServerError::Io {
            context: "starting pgbouncer".into(),
            source: std::io::Error::other(e.clone()),
        })
}

/// A fresh, empty database on the shared server, and its URL twice:
/// `direct` to the server, `pooled` through the shared pgbouncer.
#[derive(Debug, Clone)]
pub struct PooledDatabase {
    /// The database on the server itself.
    pub direct: String,
    /// The same database through pgbouncer (transaction mode).
    pub pooled: String,
}

/// A fresh database behind the shared pgbouncer, for a test. `Ok(None)`
/// (with a message on stderr saying why the test is skipped) when
/// pgbouncer is not installed, unless the environment variable `CI` is
/// set: then that is an error, so CI cannot pass without running it.
///
/// # Errors
/// [`Error::Config`] when pgbouncer or the server does not start (or is
/// missing under `CI`); the server's error creating the database.
pub async fn pooled_test_database() -> Result<Option<PooledDatabase>> {
    if TestPgbouncer::binary().is_none() {
        let why = "pgbouncer is not installed (Debian: apt-get install pgbouncer; \
                   or set PGBOUNCER to its binary)";
        if std::env::var_os("CI").is_some() {
            return Err(Error::Config(format!("{why}; CI is set, so this fails")));
        }
        eprintln!("skipped: {why}");
        return Ok(None);
    }
    let pgbouncer = shared().map_err(|e| Error::Config(e.to_string()))?;
    let server = server::shared().map_err(|e| Error::Config(e.to_string()))?;
    let (_, name) = super::create_database_on(&server.url("postgres")).await?;
    Ok(Some(PooledDatabase {
        direct: server.url(&name),
        pooled: pgbouncer.url(&name),
    }))
}
