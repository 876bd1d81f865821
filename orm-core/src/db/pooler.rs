//! A connection pooler's address and the cancel request that waits for
//! it (see [`cancel`]).

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
