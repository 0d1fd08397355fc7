//! Connections that a handler can cut, for the stand-in server's
//! `drop` fault (it is a stand-in, not a model).
//!
//! axum's `serve` gives handlers no hold on their socket, so we hand it a
//! [`DropListener`] whose streams carry a [`ConnHandle`] kill switch, and pass
//! the switch to handlers as connect info. A handler that drops a connection
//! flips the switch and returns any response: hyper's first write of that
//! response fails, hyper gives up on the connection and the socket is closed
//! with nothing written. A client sees the connection close before a response
//! (reqwest: an error, never a response). With HTTP/2 every stream on the
//! connection goes down with it, as when a real server dies.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A TCP listener whose connections can be killed by their handlers.
#[derive(Debug)]
pub(crate) struct DropListener {
    inner: TcpListener,
}

impl DropListener {
    pub fn new(inner: TcpListener) -> Self {
        DropListener { inner }
    }
}

impl Listener for DropListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, remote)) => {
                    // Small request/response pairs: do not let Nagle add latency.
                    let _ = stream.set_nodelay(true);
                    return (KillableStream { inner: stream, switch: ConnHandle::default() }, remote);
                }
                Err(err) => wait_after_accept_error(err).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// Like axum's own listener: retry at once after a per-connection error, back
/// off a second after others (out of file descriptors, say).
async fn wait_after_accept_error(err: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(err.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!(cause = %err, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The kill switch of one connection, handed to handlers as connect info.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnHandle(Arc<AtomicBool>);

impl ConnHandle {
    /// From now on every read and write on the connection fails.
    pub fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn killed(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, DropListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, DropListener>) -> Self {
        stream.io().switch.clone()
    }
}

/// A TCP stream that fails all IO once its [`ConnHandle`] is killed.
#[derive(Debug)]
pub(crate) struct KillableStream {
    inner: TcpStream,
    switch: ConnHandle,
}

impl KillableStream {
    fn check(&self, kind: io::ErrorKind) -> io::Result<()> {
        if self.switch.killed() {
            Err(io::Error::new(kind, "connection dropped by lingo-devllm's `drop` fault"))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.check(io::ErrorKind::ConnectionAborted)?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.check(io::ErrorKind::BrokenPipe)?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check(io::ErrorKind::BrokenPipe)?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check(io::ErrorKind::BrokenPipe)?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check(io::ErrorKind::BrokenPipe)?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
