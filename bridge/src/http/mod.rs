//! `serve --http`: the bridge's operational endpoints, on axum, on a thread of its own so a
//! scrape or a page never competes with the ZeroMQ socket thread.
//! - `/metrics`: Prometheus text format; `/healthz`: the process is up; `/readyz`: the socket is
//!   served and the history store accepts writes.
//! - `/` and `/runs/{id}`: the live view of applications and runs ([`pages`], [`charts`]).

mod charts;
mod pages;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::oneshot;

use crate::server::ServerState;

/// `--http` takes `HOST:PORT`, or a bare port on loopback.
pub fn parse_address(value: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = value.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    value.parse().map_err(|_| {
        format!("--http: expected HOST:PORT (e.g. 127.0.0.1:9464) or a port, got '{value}'")
    })
}

/// The running HTTP server; stopped (gracefully) on drop.
pub struct HttpServer {
    address: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// The bound address, with the port resolved.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Binds `address` (errors come back here, not from the thread) and serves until dropped.
pub fn start(address: SocketAddr, state: Arc<ServerState>) -> Result<HttpServer, String> {
    let listener = std::net::TcpListener::bind(address)
        .map_err(|e| format!("--http: cannot bind {address}: {e}"))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("--http: {e}"))?;
    let address = listener.local_addr().map_err(|e| format!("--http: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("--http: cannot start its runtime: {e}"))?;
    let (shutdown, stopped) = oneshot::channel::<()>();
    let app = routes(state);
    let thread = std::thread::Builder::new()
        .name("bridge-http".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(e) => return log::error!("--http: {e}; no HTTP endpoints"),
                };
                let served = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
                if let Err(e) = served {
                    log::error!("--http: the server stopped: {e}");
                }
            })
        })
        .map_err(|e| format!("--http: cannot start its thread: {e}"))?;
    Ok(HttpServer {
        address,
        shutdown: Some(shutdown),
        thread: Some(thread),
    })
}

fn routes(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/", get(index))
        .route("/runs/{id}", get(run))
        .with_state(state)
}

async fn metrics(State(state): State<Arc<ServerState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics_text(),
    )
        .into_response()
}

async fn ready(State(state): State<Arc<ServerState>>) -> Response {
    match state.ready() {
        Ok(()) => "ready\n".into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

/// A page read from the store on a blocking thread (SQLite is synchronous).
async fn page<F>(state: Arc<ServerState>, render: F) -> Response
where
    F: FnOnce(&ServerState) -> Result<Option<String>, String> + Send + 'static,
{
    let rendered = tokio::task::spawn_blocking(move || render(&state)).await;
    match rendered {
        Ok(Ok(Some(html))) => Html(html).into_response(),
        Ok(Ok(None)) => (StatusCode::NOT_FOUND, "no such run\n").into_response(),
        Ok(Err(e)) => {
            log::warn!("--http: a page failed: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn index(State(state): State<Arc<ServerState>>) -> Response {
    page(state, |state| {
        let reader = state.reader().map_err(|e| e.to_string())?;
        let page = pages::index(&reader, state.policy()).map_err(|e| e.to_string())?;
        page.render().map(Some).map_err(|e| e.to_string())
    })
    .await
}

async fn run(State(state): State<Arc<ServerState>>, Path(id): Path<String>) -> Response {
    page(state, move |state| {
        let reader = state.reader().map_err(|e| e.to_string())?;
        match pages::run(&reader, &id, state.policy())? {
            Some(page) => page.render().map(Some).map_err(|e| e.to_string()),
            None => Ok(None),
        }
    })
    .await
}
