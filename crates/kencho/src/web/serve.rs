//! The HTTP server loop: hyper with limits of its own, so that a slow or silent client cannot
//! hold a connection. Headers must arrive within [`HEADER_TIMEOUT`], and the same timer closes
//! a kept-alive connection that sends nothing more; each request's whole life (its body
//! included) is bounded by the gate (`web::gate`).

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// A request's head must arrive within this; an idle kept-alive connection closes after it.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, app: Router) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: pause rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let app = app.clone();
        tokio::spawn(async move {
            let svc = app.map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                req.map(axum::body::Body::new)
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
            builder.http2().timer(TokioTimer::new()).keep_alive_interval(Some(Duration::from_secs(30)));
            let io = TokioIo::new(stream);
            if let Err(e) = builder.serve_connection_with_upgrades(io, TowerToHyperService::new(svc)).await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}
