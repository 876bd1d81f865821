//! A connection that could not be opened, naming where it went.

use std::fmt;

use super::*;

/// Why a checkout could not get a connection.
type PoolError = deadpool::managed::PoolError<tokio_postgres::Error>;

/// A connection that could not be opened ([`Error::Connect`]).
///
/// It names where the connection went (hosts or socket, ports, database,
/// user) but never the password; the driver's error is its source.
#[derive(Debug)]
pub struct ConnectError {
    target: String,
    cause: PoolError,
}

impl ConnectError {
    /// Where the connection went: `database "app" on localhost:5432 as user "app"`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The driver's error, when the driver gave one (not for a timeout).
    pub fn driver_error(&self) -> Option<&tokio_postgres::Error> {
        match &self.cause {
            PoolError::Backend(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn new(target: &str, cause: PoolError) -> Self {
        ConnectError {
            target: target.to_owned(),
            cause,
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot connect to {}: ", self.target)?;
        match &self.cause {
            PoolError::Backend(e) => f.write_str(&describe(e)),
            PoolError::Timeout(_) => f.write_str(
                "no connection was established within the connect timeout \
                 (DbBuilder::connect_timeout)",
            ),
            other => write!(f, "{other}"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            PoolError::Backend(e) => Some(e),
            other => Some(other),
        }
    }
}

/// Where a configuration connects, for errors: `database "app" on
/// localhost:5432 as user "app"`, a Unix socket as its file
/// (`/run/postgresql/.s.PGSQL.5432`). The password is never part of it.
pub(crate) fn describe_target(config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let ports = config.get_ports();
    // One port for every host, one per host, or none (5432).
    let port = |i: usize| match ports {
        [] => 5432,
        [one] => *one,
        many => many.get(i).copied().unwrap_or(5432),
    };
    let mut places: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| match host {
            Host::Tcp(name) => format!("{name}:{}", port(i)),
            #[cfg(unix)]
            Host::Unix(dir) => format!("{}/.s.PGSQL.{}", dir.display(), port(i)),
        })
        .collect();
    if places.is_empty() {
        places = config
            .get_hostaddrs()
            .iter()
            .enumerate()
            .map(|(i, addr)| format!("{addr}:{}", port(i)))
            .collect();
    }
    let user = config.get_user();
    // PostgreSQL's default database is the user's name.
    let dbname = config.get_dbname().or(user).unwrap_or("?");
    let mut out = format!("database \"{dbname}\" on ");
    if places.is_empty() {
        out.push_str("no host");
    } else {
        out.push_str(&places.join(", "));
    }
    if let Some(user) = user {
        out.push_str(&format!(" as user \"{user}\""));
    }
    out
}
