//! The accept loop: TCP_NODELAY, HTTP/1.1 and HTTP/2 (h2c) on one port, upgrades, the client
//! address for every request, a header-read timeout and an idle timeout per connection, and
//! graceful shutdown (no new connections; in-flight requests get 20 s).
//!
//! Why not `axum::serve`: it does not expose hyper's connection builder, and so neither
//! timeout. Why not only hyper's `http1().header_read_timeout`, read in hyper 1.12
//! (`proto/h1/conn.rs`): its timer is armed in `poll_read_head`, and `State::idle()` sets
//! `notify_read` after each response so that the next read arms it at once; so it does close
//! idle keep-alive connections, but after the header timeout, with no separate idle setting.
//! And the auto (HTTP/1 + HTTP/2) builder first sniffs up to 24 bytes for the HTTP/2 preface
//! (hyper-util `ReadVersion`) before hyper's HTTP/1 connection exists, with no timer at all:
//! a connection that sends nothing, or a few bytes of `PRI * HTTP/2.0`, stays open forever.
//!
//! So each connection has a small watchdog instead, fed by the socket (bytes read) and by the
//! service (requests in flight, until their response body is done or dropped):
//! - no request in flight and nothing read since the last one ended: closed after the idle
//!   timeout (a fresh connection starts here);
//! - bytes read while no request is in flight (a request head is arriving): closed when the
//!   head has not become a request within the header timeout;
//! - a request in flight: never closed by the watchdog, however long the handler or the
//!   download takes (an upload that stops sending is closed by `DIST_UPLOAD_STALL_SECS`).
//!
//! hyper's own header timer is turned off so that it does not shorten the idle timeout.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::config::Config;
use crate::services::AppState;

/// How long in-flight requests may run after the shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// The two per-connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From the first byte of a request head to the whole head.
    pub header: Duration,
    /// With no request in flight and nothing arriving.
    pub idle: Duration,
}

/// `distd serve` once the state is ready: listens, writes the coalesced refusals each minute,
/// serves until `shutdown`, then writes the refusals still counted.
pub async fn run(
    cfg: &Config,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("listen on {}", cfg.listen))?;
    tracing::info!(
        "listening on http://{} (public URL {}; header timeout {} s, idle timeout {} s)",
        cfg.listen,
        cfg.public_url,
        cfg.header_timeout.as_secs(),
        cfg.idle_timeout.as_secs()
    );
    let flusher = tokio::spawn({
        let (denials, db) = (state.denials.clone(), state.db.clone());
        async move { denials.run_flusher(db).await }
    });
    let timeouts = Timeouts {
        header: cfg.header_timeout,
        idle: cfg.idle_timeout,
    };
    serve(listener, crate::app(state.clone()), timeouts, shutdown).await;
    flusher.abort();
    state.denials.flush(&state.db, true).await;
    tracing::info!("stopped");
    Ok(())
}

/// Serves `app` on `listener` until `shutdown` completes, then lets in-flight requests finish
/// for up to [`SHUTDOWN_GRACE`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().header_read_timeout(None);
    builder.http2().enable_connect_protocol();
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::error!("accept: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Without it a keep-alive client stalls ~40 ms per small response.
        let _ = tcp.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            io: tcp,
            activity: activity.clone(),
        });
        let service = TowerToHyperService::new(tower::service_fn({
            let (app, activity) = (app.clone(), activity.clone());
            move |req: Request<Incoming>| handle(app.clone(), activity.clone(), peer, req)
        }));
        let conn = builder
            .serve_connection_with_upgrades(io, service)
            .into_owned();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            tokio::select! {
                r = watcher.watch(conn) => {
                    if let Err(e) = r {
                        tracing::debug!("connection from {peer}: {e}");
                    }
                }
                why = watchdog(&activity, timeouts) => {
                    tracing::debug!("closing connection from {peer}: {why}");
                }
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections, finishing in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!(
            "in-flight requests did not finish in {} s; aborting them",
            SHUTDOWN_GRACE.as_secs()
        ),
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One request: the peer address for `ConnectInfo`, and the connection counted busy until
/// the response body is finished or dropped.
async fn handle(
    app: Router,
    activity: Arc<Activity>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let busy = Busy::begin(activity);
    let mut req = req.map(Body::new);
    req.extensions_mut().insert(ConnectInfo(peer));
    let res = app.oneshot(req).await?;
    Ok(res.map(|body| Body::new(BusyBody { body, _busy: busy })))
}

/// What a connection is doing, for the watchdog.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Nothing in flight, nothing read since this instant.
    Idle(Instant),
    /// Nothing in flight; the first byte of a request head arrived at this instant.
    Head(Instant),
    /// This many requests in flight (HTTP/2 runs several).
    Busy(usize),
}

#[derive(Debug)]
struct Activity {
    phase: Mutex<Phase>,
    /// Wakes the watchdog when a head starts: its deadline may come before the idle one
    /// the watchdog sleeps towards. (Other changes only move the deadline later.)
    head_started: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            phase: Mutex::new(Phase::Idle(Instant::now())),
            head_started: Notify::new(),
        }
    }
    /// Applies `f`; returns the phase before.
    fn update(&self, f: impl FnOnce(Phase) -> Phase) -> Phase {
        // A poisoned lock only means a panic elsewhere mid-update; the phase is still usable.
        let mut p = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        let before = *p;
        *p = f(before);
        before
    }
    fn phase(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn bytes_read(&self) {
        let before = self.update(|p| match p {
            Phase::Idle(_) => Phase::Head(Instant::now()),
            other => other,
        });
        if matches!(before, Phase::Idle(_)) {
            self.head_started.notify_one();
        }
    }
}

/// Waits until the connection breaks one of its limits; returns which.
async fn watchdog(activity: &Activity, t: Timeouts) -> &'static str {
    loop {
        let now = Instant::now();
        let (deadline, why) = match activity.phase() {
            Phase::Idle(since) => (since + t.idle, "idle timeout"),
            Phase::Head(since) => (since + t.header, "request head not complete in time"),
            // Checked again later: the request may be over by then.
            Phase::Busy(_) => (now + t.header.min(t.idle), ""),
        };
        if deadline <= now && !why.is_empty() {
            return why;
        }
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {}
            () = activity.head_started.notified() => {}
        }
    }
}

/// Counts one request in flight for as long as it lives.
struct Busy(Arc<Activity>);

impl Busy {
    fn begin(activity: Arc<Activity>) -> Self {
        let _ = activity.update(|p| match p {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        });
        Self(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let _ = self.0.update(|p| match p {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        });
    }
}

/// A response body that keeps its request counted until hyper has sent or dropped it.
struct BusyBody {
    body: Body,
    _busy: Busy,
}

impl http_body::Body for BusyBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The socket, telling the watchdog when bytes arrive.
struct Watched<I> {
    io: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_read();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
