//! `labctl web`: one page that shows a running lab to a class — its
//! topology drawn live from the status model (`ops::status`, the JSON of
//! `labctl status --json`), the packets of a live capture decoded into
//! events (`capture::decode`) and streamed to the page as server-sent
//! events, and buttons that run the lab's checks, send a mail and ping or
//! fetch from a node through the code of the labctl verbs (`actions`).
//! It reads the lab and adds nothing to it. The server is axum on a small
//! tokio runtime; every asset is compiled into the binary (`assets`).
//! A layer of its own between `cli` and `ops`: it only calls down.

mod actions;
mod assets;
mod feed;
pub mod listen;
mod source;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::Stream as FuturesStream;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::ops::admin::require_admin;
use crate::ops::target::lab_name;
use crate::state::LabDir;
use source::Stream;

/// What `labctl web` was asked for.
pub struct WebRequest {
    /// A lab name or its lab file.
    pub lab: String,
    /// Where the page is served, already listening: opened before a
    /// rootless labctl enters the lab's namespaces, it stays on the
    /// host's network (docs/web.md).
    pub listener: std::net::TcpListener,
    /// Whether `--listen` was given (a non-loopback address needs it).
    pub listen_explicit: bool,
    /// Replay this pcapng file instead of capturing live.
    pub replay: Option<PathBuf>,
}

/// Everything a handler needs.
struct App {
    lab: String,
    stream: Arc<Stream>,
    listening: SocketAddr,
}

/// Serves the page until the process is stopped; `ready` is called once
/// with the page's URL when it can be opened.
pub fn serve(request: WebRequest, ready: impl FnOnce(&str)) -> Result<()> {
    require_admin("web")?;
    let listening = request.listener.local_addr()?;
    // Checked again here for callers other than the CLI (which warned).
    listen::check(listening, request.listen_explicit)
        .map_err(|refused| anyhow::anyhow!("{refused}"))?;
    let lab = lab_name(&request.lab)?;
    let plan = LabDir::of(&lab)?.read_record()?.plan;
    let stream = match &request.replay {
        Some(file) => source::replay(file, &plan)?,
        None => source::live(&lab, &plan, &leased_addresses(&lab))?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the web server's runtime")?;
    runtime.block_on(async move {
        request.listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(request.listener)
            .with_context(|| format!("cannot serve on {listening}"))?;
        let app = Arc::new(App {
            lab,
            stream,
            listening,
        });
        // An address for all interfaces is opened here as 127.0.0.1.
        let shown = match listening.ip() {
            ip if ip.is_unspecified() => SocketAddr::new([127, 0, 0, 1].into(), listening.port()),
            _ => listening,
        };
        ready(&format!("http://{shown}/"));
        axum::serve(listener, router(app))
            .await
            .context("the web server failed")
    })
}

/// Every address a DHCP interface of the lab has now, with its node (from
/// the status model; none if it cannot be read).
fn leased_addresses(lab: &str) -> Vec<(std::net::Ipv4Addr, String)> {
    let Ok(status) = crate::ops::status::lab(lab) else {
        return Vec::new();
    };
    status
        .nodes
        .iter()
        .flat_map(|node| {
            node.interfaces
                .iter()
                .filter(|i| i.addressing == "dhcp")
                .flat_map(|i| {
                    i.addresses
                        .iter()
                        .map(|net| (net.addr(), node.name.clone()))
                })
        })
        .collect()
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/assets/{name}", get(assets::asset))
        .route("/api/status", get(status))
        .route("/api/events", get(events))
        .route("/api/events/{id}/raw", get(raw))
        .route("/api/checks", post(checks))
        .route("/api/mail", post(mail))
        .route("/api/probe", post(probe))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Answers only requests that name this server, and only POSTs the page
/// itself makes (a JSON body with its header: another site's page cannot
/// send that without a CORS preflight, which gets no yes).
async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    if !listen::host_allowed(host, app.listening) {
        return (StatusCode::MISDIRECTED_REQUEST, "unknown host\n").into_response();
    }
    if request.method() == axum::http::Method::POST && !from_page(request.headers()) {
        return (
            StatusCode::FORBIDDEN,
            "actions come from the page only (X-Labctl-Web: 1, a JSON body)\n",
        )
            .into_response();
    }
    next.run(request).await
}

fn from_page(headers: &HeaderMap) -> bool {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    json && headers.get("x-labctl-web").is_some_and(|v| v == "1")
}

/// Runs blocking lab code off the runtime; errors become 400 with the
/// message (already the words the CLI prints).
async fn blocking<F>(work: F) -> Response
where
    F: FnOnce() -> Result<Value> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => axum::Json(value).into_response(),
        Ok(Err(e)) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": crate::printable::lines(&format!("{e:#}"))})),
        )
            .into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "the action panicked\n").into_response(),
    }
}

/// `labctl status LAB --json`, plus what the stream is (docs/web.md).
async fn status(State(app): State<Arc<App>>) -> Response {
    let lab = app.lab.clone();
    let replay = app.stream.replay.clone();
    blocking(move || {
        let status = crate::ops::status::lab(&lab)?;
        let mut value = serde_json::to_value(status)?;
        value["stream"] = json!({"replay": replay});
        Ok(value)
    })
    .await
}

/// The event stream: the kept events first (`pdu`), then each new one,
/// and the counts every second (`counts`).
async fn events(
    State(app): State<Arc<App>>,
) -> Sse<impl FuturesStream<Item = Result<SseEvent, Infallible>>> {
    // Subscribed before the history is read: an event sent in between
    // comes twice, and the page keeps the first (ids only grow).
    let pages = app.stream.pages.subscribe();
    let history = app
        .stream
        .feed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .history();
    let first = futures::stream::iter(
        history
            .into_iter()
            .map(|json| Ok(SseEvent::default().event("pdu").data(&*json))),
    );
    let state = (app, tokio::time::interval(Duration::from_secs(1)), 0u64);
    let live = futures::stream::unfold(
        (state, pages),
        |((app, mut every_second, mut lagged), mut rx)| async move {
            let event = tokio::select! {
                received = rx.recv() => match received {
                    Ok(json) => SseEvent::default().event("pdu").data(&*json),
                    Err(RecvError::Lagged(n)) => {
                        lagged += n;
                        counts_event(&app, lagged)
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = every_second.tick() => counts_event(&app, lagged),
            };
            Some((Ok(event), ((app, every_second, lagged), rx)))
        },
    );
    Sse::new(futures::StreamExt::chain(first, live)).keep_alive(KeepAlive::default())
}

/// The stream's counts, and the events this page missed because it read
/// too slowly.
fn counts_event(app: &App, lagged: u64) -> SseEvent {
    let counts = app
        .stream
        .feed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .counts();
    let mut value = serde_json::to_value(counts).unwrap_or_default();
    value["lagged"] = json!(lagged);
    value["per_second"] = json!(feed::DISPLAY_PER_SECOND);
    value["burst"] = json!(feed::DISPLAY_BURST);
    SseEvent::default().event("counts").data(value.to_string())
}

/// The raw bytes of event `id`'s first frame, as hex.
async fn raw(State(app): State<Arc<App>>, Path(id): Path<u64>) -> Response {
    let bytes = app
        .stream
        .feed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .raw(id);
    match bytes {
        Some(bytes) => axum::Json(json!({"id": id, "hex": hex(&bytes)})).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": format!("the bytes of event {id} are no longer kept")})),
        )
            .into_response(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn checks(State(app): State<Arc<App>>) -> Response {
    let lab = app.lab.clone();
    blocking(move || actions::run_checks(&lab)).await
}

async fn mail(
    State(app): State<Arc<App>>,
    axum::Json(form): axum::Json<actions::MailForm>,
) -> Response {
    let lab = app.lab.clone();
    blocking(move || actions::send_mail(&lab, &form)).await
}

async fn probe(
    State(app): State<Arc<App>>,
    axum::Json(form): axum::Json<actions::ProbeForm>,
) -> Response {
    let lab = app.lab.clone();
    blocking(move || actions::probe(&lab, &form)).await
}
