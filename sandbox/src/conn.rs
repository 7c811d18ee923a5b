//! Loopback serving with connections a handler can reset: what a test needs to make a client
//! see "the request went out, no answer came back" (a load balancer or NAT dropping the
//! connection after the server did the work).
//!
//! [`serve`] runs an axum [`Router`] like `axum::serve`, but every connection carries a
//! [`Connection`] (read it with [`Connection::of`] from the request's extensions). After
//! [`Connection::reset`], the connection's next read or write fails and its socket is closed
//! with an RST: hyper never writes the response the handler returned, and the client gets a
//! connection error (reset / incomplete message), not a status.
//!
//! ```no_run
//! # async fn demo(router: axum::Router) -> std::io::Result<()> {
//! use axum::extract::Request;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! // In a handler or middleware:
//! fn drop_it(request: &Request) {
//!     if let Some(connection) = crm_sandbox::conn::Connection::of(request) {
//!         connection.reset();
//!     }
//! }
//! crm_sandbox::conn::serve(listener, router).await
//! # }
//! ```

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request};
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Serves `router` on `listener` until the task is dropped, with a [`Connection`] in the
/// extensions of every request (as `ConnectInfo<Connection>`).
pub async fn serve(listener: TcpListener, router: Router) -> io::Result<()> {
    axum::serve(
        ResettableListener { inner: listener },
        router.into_make_service_with_connect_info::<Connection>(),
    )
    .await
}

/// The connection a request arrived on.
#[derive(Debug, Clone)]
pub struct Connection {
    peer: SocketAddr,
    reset: Arc<AtomicBool>,
}

impl Connection {
    /// The connection of a request served by [`serve`]; `None` under another server.
    pub fn of(request: &Request) -> Option<Self> {
        request
            .extensions()
            .get::<ConnectInfo<Self>>()
            .map(|ConnectInfo(connection)| connection.clone())
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Drops the connection without another byte: the answer to the current request is never
    /// written, and the socket is closed with an RST.
    pub fn reset(&self) {
        self.reset.store(true, Ordering::SeqCst);
    }

    pub fn is_reset(&self) -> bool {
        self.reset.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, ResettableListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, ResettableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose streams fail once their [`Connection`] is reset.
pub struct ResettableListener {
    inner: TcpListener,
}

impl Listener for ResettableListener {
    type Io = ResettableStream;
    type Addr = Connection;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, peer) = Listener::accept(&mut self.inner).await;
        let reset = Arc::new(AtomicBool::new(false));
        let connection = Connection {
            peer,
            reset: Arc::clone(&reset),
        };
        (
            ResettableStream {
                inner: stream,
                reset,
            },
            connection,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(Connection {
            peer: self.inner.local_addr()?,
            reset: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// A TCP stream that fails every read and write once reset, so hyper drops it.
pub struct ResettableStream {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl ResettableStream {
    /// `Some(error)` once reset; the socket is then set to close with an RST (zero linger),
    /// so the client sees "connection reset" rather than a clean end of stream.
    fn check(&self) -> Option<io::Error> {
        if !self.reset.load(Ordering::SeqCst) {
            return None;
        }
        let _ = self.inner.set_zero_linger();
        Some(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "sandbox: connection reset on purpose",
        ))
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(error) = self.check() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(error) = self.check() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(error) = self.check() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(error) = self.check() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.check().is_some() {
            // Nothing more to say; dropping the socket sends the RST.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
