//! A throwaway primary and hot standby pair, for tests of read replicas.
//!
//! [`ReplicaPair::start`] starts a primary as [`TestServer::start`] does
//! (`initdb --auth=trust` trusts local replication connections, and
//! `wal_level=replica` and `max_wal_senders=10` are PostgreSQL's defaults),
//! then makes the standby with `pg_basebackup -R -X stream` over the
//! primary's Unix socket and starts it on a socket directory of its own. It
//! is ready when it accepts connections in recovery. Both are stopped, and
//! their directories removed, by reaper processes when this process exits,
//! however it exits.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use super::server::{
    find_bin_dir, io_err, is_root, pg_command, postgres_user, run_postgres, socket_url, Reaped,
    ServerError, TestServer, PORT, REAPER_SCRIPT,
};
use crate::db::Db;
use crate::error::{Error, Result};

/// A running primary and hot standby (streaming replication).
#[derive(Debug)]
pub struct ReplicaPair {
    primary: TestServer,
    /// The standby's directory and the reaper removing it.
    reaped: Reaped,
    bin: PathBuf,
    user: Option<(u32, u32)>,
    /// The standby's postmaster, `None` while stopped.
    standby: Option<Child>,
}

impl ReplicaPair {
    /// Starts a primary, copies it with `pg_basebackup -R -X stream` and
    /// starts the copy as a hot standby streaming from it.
    ///
    /// # Errors
    /// As [`TestServer::start`]; when `pg_basebackup` fails or the standby
    /// does not accept connections within 30 s.
    pub fn start() -> std::result::Result<ReplicaPair, ServerError> {
        let primary = TestServer::start()?;
        let bin = find_bin_dir()?;
        let user = is_root().then(postgres_user).transpose()?;
        let reaped = Reaped::new(user, REAPER_SCRIPT, "orm-pg-reaper")?;
        let mut pair = ReplicaPair {
            primary,
            reaped,
            bin,
            user,
            standby: None,
        };
        let mut backup = pg_command(&pair.bin, "pg_basebackup", &pair.reaped.dir, user);
        backup
            .arg("-D")
            .arg(pair.reaped.dir.join("data"))
            .args([
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
                "-U",
                "postgres",
            ])
            .arg("-h")
            .arg(pair.primary.socket_dir())
            .args(["-p", &PORT.to_string()]);
        let out = backup.output().map_err(io_err("running pg_basebackup"))?;
        if !out.status.success() {
            return Err(ServerError::Startup {
                reason: "pg_basebackup failed".into(),
                log_tail: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        pair.start_standby()?;
        Ok(pair)
    }

    /// The primary.
    pub fn primary(&self) -> &TestServer {
        &self.primary
    }

    /// The URL of database `dbname` on the primary (see [`TestServer::url`]).
    pub fn primary_url(&self, dbname: &str) -> String {
        self.primary.url(dbname)
    }

    /// The URL of database `dbname` on the standby.
    pub fn standby_url(&self, dbname: &str) -> String {
        socket_url(&self.reaped.dir, PORT, dbname)
    }

    /// Stops the standby (fast shutdown: its sessions are terminated with
    /// SQLSTATE 57P01), keeping its data for [`start_standby`](Self::start_standby).
    ///
    /// # Errors
    /// When it cannot be signalled.
    pub fn stop_standby(&mut self) -> std::result::Result<(), ServerError> {
        let Some(mut child) = self.standby.take() else {
            return Ok(());
        };
        let signalled = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .map_err(io_err("signalling the standby (kill -INT)"))?;
        if !signalled.success() {
            return Err(ServerError::Io {
                context: "signalling the standby (kill -INT)".into(),
                source: std::io::Error::other(format!("kill exited with {signalled}")),
            });
        }
        child
            .wait()
            .map_err(io_err("waiting for the standby to stop"))?;
        Ok(())
    }

    /// Starts the standby (again) and waits until it accepts connections.
    ///
    /// # Errors
    /// When it does not accept connections within 30 s.
    pub fn start_standby(&mut self) -> std::result::Result<(), ServerError> {
        if self.standby.is_some() {
            return Ok(());
        }
        let child = run_postgres(&self.bin, &self.reaped.dir, self.user)?;
        // The pid in `postmaster.pid` wins when the reaper runs.
        let _ = self.reaped.watch(child.id(), "the standby");
        self.standby = Some(child);
        Ok(())
    }

    /// Pauses WAL replay on the standby (`pg_wal_replay_pause()`): it keeps
    /// receiving WAL but shows none of it until [`resume_replay`](Self::resume_replay).
    ///
    /// # Errors
    /// The standby's error.
    pub async fn pause_replay(&self) -> Result<()> {
        self.on_standby("SELECT pg_wal_replay_pause()").await
    }

    /// Resumes WAL replay on the standby (`pg_wal_replay_resume()`).
    ///
    /// # Errors
    /// The standby's error.
    pub async fn resume_replay(&self) -> Result<()> {
        self.on_standby("SELECT pg_wal_replay_resume()").await
    }

    /// Waits until the standby has replayed the primary's WAL as of now.
    ///
    /// # Errors
    /// [`Error::Config`] after 30 s; the servers' errors.
    pub async fn wait_replayed(&self) -> Result<()> {
        let primary = Db::builder(self.primary_url("postgres"))
            .max_size(1)
            .build()?;
        let standby = Db::builder(self.standby_url("postgres"))
            .max_size(1)
            .build()?;
        let rows = primary
            .query("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::int8", &[])
            .await?;
        let target: i64 = rows[0].get(0);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let rows = standby
                .query(
                    "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::int8",
                    &[],
                )
                .await?;
            let replayed: Option<i64> = rows[0].get(0);
            if replayed.is_some_and(|r| r >= target) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::Config(
                    "the standby did not replay the primary's WAL within 30 s".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn on_standby(&self, sql: &'static str) -> Result<()> {
        let standby = Db::builder(self.standby_url("postgres"))
            .max_size(1)
            .build()?;
        standby.batch_execute(sql).await
    }
}
