//! Throwaway PostgreSQL clusters started from the locally installed server binaries.
//!
//! [`TestServer::start`] runs `initdb` and `postgres` in a fresh directory under the system
//! temp dir. The server listens only on a Unix socket in that directory and trusts every
//! local connection as user `postgres`.
//!
//! Cleanup does not depend on destructors: before `postgres` starts, a small `sh` "reaper"
//! process is spawned with a pipe on its stdin whose write end only this process holds. When
//! this process ends in any way (normal exit, panic, `SIGKILL`, Ctrl-C), the kernel closes the
//! pipe, and the reaper shuts PostgreSQL down (fast shutdown, then `SIGKILL` after ~10 s) and
//! removes the directory. The reaper and `postgres` each run in their own process group, so a
//! Ctrl-C in the terminal reaches neither of them directly. [`Reaped`] (the directory and its
//! reaper) and [`command_as`] (a program run as the `postgres` user) serve the standby and
//! pgbouncer too.

use std::fmt::Write as _;
use std::fs::{self, DirBuilder, OpenOptions};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The port in the socket file name (`.s.PGSQL.5432`); nothing listens on TCP.
pub(super) const PORT: u16 = 5432;
/// How long to wait for the server to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How many lines of `postgres.log` a [`ServerError::Startup`] carries.
const LOG_TAIL_LINES: usize = 40;

/// Shell script of the reaper; `$1` is the cluster's directory, the first stdin line the pid
/// (the pid in `postmaster.pid` wins: [`TestServer::restart`] changes it).
pub(super) const REAPER_SCRIPT: &str = r#"
IFS= read -r pid
while read -r _; do :; done
[ -e "$1/data/postmaster.pid" ] && IFS= read -r pid <"$1/data/postmaster.pid"
if [ -n "$pid" ]; then
  kill -INT "$pid"
  i=0
  while [ -e "$1/data/postmaster.pid" ] && kill -0 "$pid"; do
    i=$((i + 1))
    if [ "$i" -ge 200 ]; then kill -KILL "$pid"; break; fi
    sleep 0.05
  done
fi
rm -rf "$1"
"#;

/// Errors from starting the throwaway server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// No folder holding both `initdb` and `postgres` was found.
    #[error(
        "no PostgreSQL server binaries (initdb, postgres) were found (looked in: {}); \
         install PostgreSQL's server package (e.g. `apt-get install postgresql`), set PG_BIN \
         to the folder holding initdb and postgres, or set DATABASE_URL to use an existing server",
        .searched.join(", ")
    )]
    NoBinaries {
        /// Where it looked, in order, e.g. `PG_BIN (/opt/pg/bin)` or `/usr/local/pgsql/bin`.
        searched: Vec<String>,
    },
    /// Running as root (which PostgreSQL refuses), and there is no `postgres` user to switch to.
    #[error(
        "running as root, which PostgreSQL refuses, and there is no `postgres` system user in \
         /etc/passwd to run it as; create one (e.g. `useradd --system postgres`), run as a \
         non-root user, or set DATABASE_URL to use an existing server"
    )]
    NoPostgresUser,
    /// An I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: io::Error,
    },
    /// `initdb` failed.
    #[error("initdb failed:\n{stderr}")]
    Initdb {
        /// What `initdb` wrote to stderr (or stdout, if stderr was empty).
        stderr: String,
    },
    /// `postgres` exited or did not become ready in time.
    #[error(
        "PostgreSQL failed to start: {reason}\n--- last lines of postgres.log ---\n{log_tail}"
    )]
    Startup {
        /// Why startup was considered failed.
        reason: String,
        /// The last lines of the server's log.
        log_tail: String,
    },
}

impl ServerError {
    /// An equal error (`io::Error` is not `Clone`), so that [`shared`] can repeat its error.
    fn duplicate(&self) -> ServerError {
        match self {
            ServerError::NoBinaries { searched } => ServerError::NoBinaries {
                searched: searched.clone(),
            },
            ServerError::NoPostgresUser => ServerError::NoPostgresUser,
            ServerError::Io { context, source } => ServerError::Io {
                context: context.clone(),
                source: io::Error::new(source.kind(), source.to_string()),
            },
            ServerError::Initdb { stderr } => ServerError::Initdb {
                stderr: stderr.clone(),
            },
            ServerError::Startup { reason, log_tail } => ServerError::Startup {
                reason: reason.clone(),
                log_tail: log_tail.clone(),
            },
        }
    }
}

pub(super) fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> ServerError {
    let context = context.into();
    move |source| ServerError::Io { context, source }
}

/// A running throwaway cluster.
///
/// The server lives until the process exits, even if the `TestServer` is dropped earlier
/// (use [`TestServer::stop`] to stop it sooner). It is then stopped and its directory removed
/// by a reaper process, however the process exits.
#[derive(Debug)]
pub struct TestServer {
    /// Its directory (data, socket, log) and the reaper removing it.
    reaped: Reaped,
    bin: PathBuf,
    user: Option<(u32, u32)>,
    postgres: Child,
}

impl TestServer {
    /// Starts a new cluster (initdb + postgres) in a fresh temp dir.
    ///
    /// # Errors
    /// If no server binaries are found, `initdb` fails, or `postgres` does not become ready
    /// within 30 s. Anything created so far is removed again.
    pub fn start() -> Result<TestServer, ServerError> {
        let bin = find_bin_dir()?;
        let user = is_root().then(postgres_user).transpose()?;
        let mut reaped = Reaped::new(user, REAPER_SCRIPT, "orm-pg-reaper")?;
        match boot(&bin, user, &mut reaped) {
            Ok(postgres) => Ok(TestServer {
                reaped,
                bin,
                user,
                postgres,
            }),
            Err(e) => {
                // `boot` has already stopped postgres; clean up synchronously instead.
                reaped.discard();
                Err(e)
            }
        }
    }

    /// Connection URL for database `dbname` on this server, as accepted by tokio-postgres's
    /// `Config::from_str`, e.g.
    /// `postgres://postgres@/dbname?host=/tmp/orm-pg-1234-abcd&port=5432`
    /// (host = the socket directory; user `postgres`; trust auth).
    ///
    /// The URL names no TCP host on purpose: tokio-postgres would try a host in the
    /// authority part (such as `localhost`) before the socket directory.
    pub fn url(&self, dbname: &str) -> String {
        socket_url(&self.reaped.dir, PORT, dbname)
    }

    /// The socket directory.
    pub fn socket_dir(&self) -> &Path {
        &self.reaped.dir
    }

    /// The postmaster's pid.
    pub fn pid(&self) -> u32 {
        self.postgres.id()
    }

    /// Stops the server (fast shutdown: sessions are terminated, open
    /// transactions rolled back) and starts it again on the same data and
    /// socket, as an administrator's restart does; waits until it accepts
    /// connections again. Use a server of your own ([`TestServer::start`]),
    /// not the [`shared`] one other tests use.
    ///
    /// # Errors
    /// If the server cannot be signalled or does not come back within 30 s.
    pub fn restart(&mut self) -> Result<(), ServerError> {
        let signalled = Command::new("kill")
            .args(["-INT", &self.postgres.id().to_string()])
            .status()
            .map_err(io_err("signalling postgres (kill -INT)"))?;
        if !signalled.success() {
            return Err(ServerError::Io {
                context: "signalling postgres (kill -INT)".into(),
                source: io::Error::other(format!("kill exited with {signalled}")),
            });
        }
        self.postgres
            .wait()
            .map_err(io_err("waiting for postgres to stop"))?;
        self.postgres = run_postgres(&self.bin, &self.reaped.dir, self.user)?;
        Ok(())
    }

    /// Stops the server now (fast shutdown) and removes its directory, waiting for both.
    pub fn stop(mut self) {
        self.reaped.close();
        let _ = self.postgres.wait();
        self.reaped.wait();
    }
}

/// The process-wide shared server, started on first use; later calls return the same one,
/// or an equal error. It lives until the process exits.
///
/// # Errors
/// As [`TestServer::start`]; a failed start is not retried.
pub fn shared() -> Result<&'static TestServer, ServerError> {
    static SHARED: OnceLock<Result<TestServer, ServerError>> = OnceLock::new();
    SHARED
        .get_or_init(TestServer::start)
        .as_ref()
        .map_err(ServerError::duplicate)
}

/// Runs initdb, spawns postgres, tells the reaper its pid, and waits until it is ready.
fn boot(bin: &Path, user: Option<(u32, u32)>, reaped: &mut Reaped) -> Result<Child, ServerError> {
    let dir = reaped.dir.clone();
    initdb(bin, &dir, &dir.join("data"), user)?;
    let mut child = spawn_postgres(bin, &dir, user)?;
    let ready = reaped
        .watch(child.id(), "the server")
        .and_then(|()| wait_ready(&mut child, &dir.join("data"), &dir.join("postgres.log")));
    if let Err(e) = ready {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok(child)
}

/// Spawns postgres on the cluster in `dir` and waits until it is ready.
pub(super) fn run_postgres(
    bin: &Path,
    dir: &Path,
    user: Option<(u32, u32)>,
) -> Result<Child, ServerError> {
    let mut child = spawn_postgres(bin, dir, user)?;
    if let Err(e) = wait_ready(&mut child, &dir.join("data"), &dir.join("postgres.log")) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok(child)
}

/// Spawns postgres on the cluster in `dir`, logging to `postgres.log`.
pub(super) fn spawn_postgres(
    bin: &Path,
    dir: &Path,
    user: Option<(u32, u32)>,
) -> Result<Child, ServerError> {
    let data = dir.join("data");
    let log_path = dir.join("postgres.log");
    let log = OpenOptions::new().create(true).append(true).open(&log_path);
    let log = log.map_err(io_err(format!("creating {}", log_path.display())))?;
    let log2 = log
        .try_clone()
        .map_err(io_err("duplicating a file handle"))?;
    let settings = "listen_addresses= fsync=off synchronous_commit=off full_page_writes=off \
                    max_connections=200 shared_buffers=128MB";
    let mut cmd = pg_command(bin, "postgres", dir, user);
    cmd.arg("-D")
        .arg(&data)
        .arg("-k")
        .arg(dir)
        .args(["-p", &PORT.to_string()]);
    cmd.args(
        settings
            .split_whitespace()
            .flat_map(|setting| ["-c", setting]),
    );
    let started = cmd.stdout(log).stderr(log2).process_group(0).spawn();
    started.map_err(io_err(format!("starting {}/postgres", bin.display())))
}

/// A command for the server binary `name`, run in `dir` as `user`, stdin null.
pub(super) fn pg_command(bin: &Path, name: &str, dir: &Path, user: Option<(u32, u32)>) -> Command {
    command_as(&bin.join(name), dir, user)
}

fn initdb(
    bin: &Path,
    dir: &Path,
    data: &Path,
    user: Option<(u32, u32)>,
) -> Result<(), ServerError> {
    let mut stderr = String::new();
    for locale in ["C.UTF-8", "C"] {
        let _ = fs::remove_dir_all(data);
        let mut cmd = pg_command(bin, "initdb", dir, user);
        cmd.arg("-D").arg(data).arg(format!("--locale={locale}"));
        cmd.args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "--encoding=UTF8",
        ]);
        let out = cmd.output();
        let out = out.map_err(io_err(format!("running {}/initdb", bin.display())))?;
        if out.status.success() {
            return Ok(());
        }
        let text = [out.stderr, out.stdout].into_iter().find(|t| !t.is_empty());
        stderr = String::from_utf8_lossy(&text.unwrap_or_default())
            .trim_end()
            .to_owned();
    }
    Err(ServerError::Initdb { stderr })
}

/// Polls `postmaster.pid` until its 8th line (the postmaster status) says `ready` (or
/// `standby`).
pub(super) fn wait_ready(child: &mut Child, data: &Path, log: &Path) -> Result<(), ServerError> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let pid_file = data.join("postmaster.pid");
    loop {
        if let Some(status) = child.try_wait().map_err(io_err("waiting for postgres"))? {
            return Err(startup_error(format!("postgres exited ({status})"), log));
        }
        if let Ok(text) = fs::read_to_string(&pid_file) {
            // A hot standby says `standby` once it accepts connections.
            if matches!(
                text.lines().nth(7).map(str::trim),
                Some("ready" | "standby")
            ) {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            let reason = format!("not ready after {} s", READY_TIMEOUT.as_secs());
            return Err(startup_error(reason, log));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(super) fn startup_error(reason: String, log: &Path) -> ServerError {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let log_tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
    ServerError::Startup { reason, log_tail }
}

/// Finds a folder holding both `initdb` and `postgres`. `PG_BIN`, if set, is the only one tried.
pub(super) fn find_bin_dir() -> Result<PathBuf, ServerError> {
    let usable = |d: &PathBuf| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("PG_BIN").filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        let searched = vec![format!("PG_BIN ({})", dir.display())];
        return Some(dir)
            .filter(usable)
            .ok_or(ServerError::NoBinaries { searched });
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    let mut searched = Vec::new();
    let pg_config = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output();
    if let Some(out) = pg_config.ok().filter(|out| out.status.success()) {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        searched.push(format!("`pg_config --bindir` ({dir})"));
        candidates.push(dir.into());
    }
    let mut versions: Vec<(Vec<u64>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let key = name.split('.').map(|n| n.parse().unwrap_or(0)).collect();
            (key, entry.path().join("bin"))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    candidates.extend(versions.into_iter().map(|(_, dir)| dir));
    candidates.push("/usr/local/pgsql/bin".into());
    candidates.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    searched
        .extend(["/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "PATH"].map(String::from));
    candidates
        .into_iter()
        .find(usable)
        .ok_or(ServerError::NoBinaries { searched })
}

pub(super) fn is_root() -> bool {
    match fs::metadata("/proc/self") {
        Ok(meta) => meta.uid() == 0,
        Err(_) => Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0"),
    }
}

/// The `postgres` user's (uid, gid) from /etc/passwd.
pub(super) fn postgres_user() -> Result<(u32, u32), ServerError> {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            match fields[..] {
                ["postgres", _, uid, gid, ..] => Some((uid.parse().ok()?, gid.parse().ok()?)),
                _ => None,
            }
        })
        .ok_or(ServerError::NoPostgresUser)
}

/// Creates `<tmp>/orm-pg-<pid>-<random>`, owned by `user` if given, keeping the socket path
/// short and free of characters that PostgreSQL's `unix_socket_directories` would misread.
pub(super) fn make_temp_dir(user: Option<(u32, u32)>) -> Result<PathBuf, ServerError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = std::env::temp_dir();
    let plain = tmp.to_str().is_some_and(|s| {
        s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
    });
    let base = if plain { tmp } else { PathBuf::from("/tmp") };
    let mut attempts = 0;
    loop {
        let mut hasher = RandomState::new().build_hasher();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        hasher.write_u128(nanos.as_nanos());
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        let random = hasher.finish() as u32;
        let dir = base.join(format!("orm-pg-{}-{random:08x}", std::process::id()));
        let created = DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .and_then(|()| match user {
                Some((uid, gid)) => std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                    .inspect_err(|_| drop(fs::remove_dir(&dir))),
                None => Ok(()),
            });
        match created {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 16 => attempts += 1,
            Err(e) => return Err(io_err(format!("creating {}", dir.display()))(e)),
        }
    }
}

/// The URL of database `dbname` as user `postgres` on the Unix socket in
/// `dir` with `port` in its name (the server's, the standby's, pgbouncer's).
pub(super) fn socket_url(dir: &Path, port: u16, dbname: &str) -> String {
    format!(
        "postgres://postgres@/{}?host={}&port={port}",
        percent_encode(dbname, false),
        percent_encode(&dir.to_string_lossy(), true)
    )
}

/// Percent-encodes everything but unreserved characters (and `/` if `keep_slash`).
pub(super) fn percent_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A fresh directory (see [`make_temp_dir`]) and the reaper that removes
/// it when this process exits.
#[derive(Debug)]
pub(super) struct Reaped {
    /// The directory.
    pub(super) dir: PathBuf,
    reaper: Child,
    /// Write end of the reaper's stdin; closing it triggers the cleanup.
    stdin: Option<ChildStdin>,
}

impl Reaped {
    /// Creates the directory, owned by `user` if given, and spawns the
    /// reaper: `sh -c script name dir`, in a process group of its own (a
    /// Ctrl-C in the terminal does not reach it).
    pub(super) fn new(
        user: Option<(u32, u32)>,
        script: &str,
        name: &str,
    ) -> Result<Reaped, ServerError> {
        let dir = make_temp_dir(user)?;
        let spawned = Command::new("/bin/sh")
            .args(["-c", script, name])
            .arg(&dir)
            .current_dir("/")
            .env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        match spawned {
            Ok(mut reaper) => Ok(Reaped {
                dir,
                stdin: reaper.stdin.take(),
                reaper,
            }),
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                Err(io_err("spawning the cleanup process (/bin/sh)")(e))
            }
        }
    }

    /// Hands `pid` (`what`'s) to the reaper: the process it stops.
    pub(super) fn watch(&mut self, pid: u32, what: &str) -> Result<(), ServerError> {
        match self.stdin.as_mut() {
            Some(pipe) => writeln!(pipe, "{pid}")
                .and_then(|()| pipe.flush())
                .map_err(io_err(format!(
                    "handing {what}'s pid to the cleanup process"
                ))),
            None => Ok(()),
        }
    }

    /// Undoes [`Reaped::new`] now, for a start that failed (its process
    /// already stopped): the reaper killed, the directory removed.
    pub(super) fn discard(mut self) {
        let _ = self.reaper.kill();
        let _ = self.reaper.wait();
        drop(self.stdin.take());
        let _ = fs::remove_dir_all(&self.dir);
    }

    /// Closes the pipe now: the reaper stops the process it watches and
    /// removes the directory ([`Reaped::wait`] waits for it).
    pub(super) fn close(&mut self) {
        drop(self.stdin.take());
    }

    /// Waits until the reaper is done.
    pub(super) fn wait(&mut self) {
        let _ = self.reaper.wait();
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        // Keep the pipe open until the process exits: what it watches
        // outlives this handle.
        if let Some(stdin) = self.stdin.take() {
            std::mem::forget(stdin);
        }
    }
}

/// A command for `program`, run in `dir` as `user` (uid, gid) if given,
/// its stdin null.
pub(super) fn command_as(program: &Path, dir: &Path, user: Option<(u32, u32)>) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir).stdin(Stdio::null());
    if let Some((uid, gid)) = user {
        cmd.gid(gid).uid(uid);
    }
    cmd
}
