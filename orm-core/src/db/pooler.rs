//! A connection pooler's address and the cancel request that waits for
//! it (see [`cancel`]), and the types a new connection learns so that it
//! never looks one up through the pooler ([`learn_types`]).

/// Where a pooler listens (the first host of the configuration), for
/// [`cancel`].
#[derive(Debug)]
pub(crate) enum PoolerAddr {
    /// A Unix socket's dir and port (the socket is `.s.PGSQL.<port>`).
    Unix(std::path::PathBuf, u16),
    /// A host name or address and port.
    Tcp(String, u16),
}

impl PoolerAddr {
    pub(super) fn of(config: &tokio_postgres::Config) -> Option<PoolerAddr> {
        let port = config.get_ports().first().copied().unwrap_or(5432);
        match config.get_hosts().first()? {
            tokio_postgres::config::Host::Unix(dir) => Some(PoolerAddr::Unix(dir.clone(), port)),
            tokio_postgres::config::Host::Tcp(host) => Some(PoolerAddr::Tcp(host.clone(), port)),
        }
    }
}

/// Sends `token`'s cancel request to the pooler at `addr` and waits until
/// the pooler closes the socket (it has passed the request on), at most
/// 5 s.
///
/// tokio-postgres's own [`cancel_query`](tokio_postgres::CancelToken::cancel_query)
/// closes its socket as soon as the request is written; pgbouncer 1.18
/// then exits ("FATAL .. disconnect_client(): bad client state: 0",
/// pgbouncer issue 801, fixed in 1.19) when it has not finished with it.
/// libpq waits for the close, as this does.
pub(crate) async fn cancel(
    token: &tokio_postgres::CancelToken,
    addr: &PoolerAddr,
) -> std::result::Result<(), tokio_postgres::Error> {
    use tokio::io::AsyncReadExt;
    let wait = std::time::Duration::from_secs(5);
    match addr {
        PoolerAddr::Unix(dir, port) => {
            let path = dir.join(format!(".s.PGSQL.{port}"));
            let stream = tokio::net::UnixStream::connect(path).await;
            let Ok(stream) = stream else {
                return token.cancel_query(tokio_postgres::NoTls).await;
            };
            let mut stream = KeepOpen(stream);
            token
                .cancel_query_raw(&mut stream, tokio_postgres::NoTls)
                .await?;
            let _ = tokio::time::timeout(wait, stream.0.read_to_end(&mut Vec::new())).await;
        }
        PoolerAddr::Tcp(host, port) => {
            let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await;
            let Ok(stream) = stream else {
                return token.cancel_query(tokio_postgres::NoTls).await;
            };
            let mut stream = KeepOpen(stream);
            token
                .cancel_query_raw(&mut stream, tokio_postgres::NoTls)
                .await?;
            let _ = tokio::time::timeout(wait, stream.0.read_to_end(&mut Vec::new())).await;
        }
    }
    Ok(())
}

/// A stream whose shutdown does nothing, so that the pooler's close is
/// waited for, not preceded ([`cancel`]).
struct KeepOpen<S>(S);

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for KeepOpen<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for KeepOpen<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// The database's types whose OIDs are not built in (extension types
/// such as `citext`, domains, enums, ranges, and arrays of them; not the
/// row types of tables), as `"schema"."name"`, at most 1,000.
const USER_TYPES: &str = "\
SELECT format('%I.%I', n.nspname, t.typname) \
FROM pg_catalog.pg_type t \
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typelem <> 0 \
WHERE t.oid >= 16384 AND t.typtype IN ('b', 'd', 'e', 'r', 'm') \
AND t.typisdefined AND coalesce(e.typtype, 'b') <> 'c' \
ORDER BY t.oid LIMIT 1000";

/// Makes a new connection's client learn every type of [`USER_TYPES`], so
/// that it never looks one up later.
///
/// tokio-postgres looks up an OID it does not know (in a column of a
/// result, or a parameter of a prepare) the first time a client meets it,
/// with *named* statements it prepares once and keeps for the client's
/// life. Through a pooler in transaction mode those are on one server
/// connection only: the next lookup, on another, fails with 26000
/// (`prepared statement "s8" does not exist`). Here they are all made and
/// used inside one `BEGIN` .. `COMMIT` (one server connection), then
/// `DEALLOCATE ALL` drops them before the `COMMIT`: nothing named is left
/// on the server connection for its next client. The OIDs are the
/// database's, the same on every server connection.
///
/// A type created after the connection opened is not known to it: a
/// lookup then fails with 26000 and the connection is retired
/// (see `Db::after_unnamed_error`); the next one learns the type. (When
/// the database had no such type at all at connect, tokio-postgres has
/// no lookup statement yet and prepares one then, outside a block: it may
/// work, or fail once in the same way.)
pub(crate) async fn learn_types(
    client: &tokio_postgres::Client,
) -> std::result::Result<(), tokio_postgres::Error> {
    let names: Vec<String> = client
        .query_typed(USER_TYPES, &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    // One NULL of each type: the description's columns carry the OIDs.
    let mut sql = String::from("SELECT ");
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        // `name` is `format('%I.%I')`'s: quoted by the server as needed.
        sql.push_str("NULL::");
        sql.push_str(name);
    }
    client.batch_execute("BEGIN").await?;
    // Dropped at once: its Close goes out ahead of the DEALLOCATE.
    let learned = client.prepare(&sql).await.map(drop);
    let end = match learned {
        Ok(()) => "DEALLOCATE ALL; COMMIT",
        Err(_) => "ROLLBACK",
    };
    client.batch_execute(end).await?;
    learned
}
