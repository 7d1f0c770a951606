//! Lingering close for admission connections.
//!
//! Closing a socket that still has unread bytes in its receive buffer makes the kernel
//! answer with RST instead of FIN, and an RST can make the client discard response bytes
//! it has received but not yet read. During a graceful shutdown under HTTP/2 load the
//! client keeps sending new streams until it sees the GOAWAY, so such bytes are almost
//! always there, and the last response could break off. So every admission connection,
//! once hyper is done with it, is handed to a drain task that reads and discards until
//! the client closes (or [`LINGER`] passes): the lingering close HTTP/1.1 servers have
//! long done (RFC 9112 §9.6). `run` waits for the drains before the process exits.

use axum_server::accept::Accept;
use std::{
    future::Ready,
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::TcpStream,
};
use tokio_util::task::TaskTracker;

/// The longest a closed connection is drained.
pub const LINGER: Duration = Duration::from_secs(2);

/// Sets TCP_NODELAY (a review answer is a few small TLS records; with Nagle on, each can
/// wait for the client's delayed ACK, ~40 ms on Linux) and wraps each stream so that it
/// lingers on close.
#[derive(Debug, Clone)]
pub struct LingerAcceptor {
    drains: TaskTracker,
}

impl LingerAcceptor {
    /// An acceptor whose drain tasks `drains` tracks.
    pub fn new(drains: TaskTracker) -> Self {
        Self { drains }
    }
}

impl<S> Accept<TcpStream, S> for LingerAcceptor {
    type Stream = Lingering;
    type Service = S;
    type Future = Ready<io::Result<(Lingering, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        std::future::ready(stream.set_nodelay(true).map(|()| {
            let stream = Lingering {
                inner: Some(stream),
                drains: self.drains.clone(),
            };
            (stream, service)
        }))
    }
}

/// A TCP stream that is drained, not just closed, when dropped.
#[derive(Debug)]
pub struct Lingering {
    /// Always `Some` until dropped.
    inner: Option<TcpStream>,
    drains: TaskTracker,
}

impl Lingering {
    fn stream(&mut self) -> io::Result<Pin<&mut TcpStream>> {
        self.inner
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl AsyncRead for Lingering {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.stream() {
            Ok(s) => s.poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.stream() {
            Ok(s) => s.poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.stream() {
            Ok(s) => s.poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.as_ref().is_some_and(|s| s.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.stream() {
            Ok(s) => s.poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.stream() {
            Ok(s) => s.poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(stream) = self.inner.take() else {
            return;
        };
        // Outside a runtime (never, in the server) the stream just closes.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            self.drains.spawn_on(drain(stream), &runtime);
        }
    }
}

/// Sends FIN (if hyper has not), then reads and discards until the client closes or
/// [`LINGER`] passes; only then is the socket closed.
async fn drain(mut stream: TcpStream) {
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn a_dropped_stream_is_drained_until_the_client_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let drains = TaskTracker::new();
        let (mut stream, ()) = LingerAcceptor::new(drains.clone())
            .accept(server, ())
            .await
            .unwrap();
        stream.write_all(b"answer").await.unwrap();
        // Bytes the server never reads: closing on them would send RST.
        client.write_all(&[7u8; 10_000]).await.unwrap();
        drop(stream);
        drains.close();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.expect("FIN, not RST");
        assert_eq!(got, b"answer");
        drop(client);
        tokio::time::timeout(LINGER, drains.wait())
            .await
            .expect("the drain ends when the client closes");
    }
}
