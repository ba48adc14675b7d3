//! `pawmock record`: a recording proxy. pawmock listens like `serve`, forwards each
//! WebSocket to the upstream (same path and query, pawmock's own parameters removed)
//! and writes what passes, both ways and with its timing, to a recording `serve`
//! replays. Other HTTP requests are forwarded to the upstream too, so a real frontend
//! works through the recorder.

pub(crate) mod http;
pub(crate) mod line;
pub(crate) mod proxy;
pub(crate) mod redact;
pub(crate) mod upstream;
pub(crate) mod writer;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;
use warp::Filter;
use warp::http::{HeaderMap, Method};
use warp::hyper::upgrade::OnUpgrade;

pub(crate) use redact::Redactor;
pub(crate) use upstream::Upstream;

/// What a running recorder shares between its connections.
pub struct Recorder {
    pub(crate) upstream: Upstream,
    /// Where recordings are written.
    pub(crate) out: PathBuf,
    pub(crate) redactor: Arc<Redactor>,
    http: http::HttpClient,
    next_connection: AtomicU64,
    pub shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl Recorder {
    pub fn new(upstream: Upstream, out: PathBuf, redactor: Redactor) -> Arc<Recorder> {
        Arc::new(Recorder {
            upstream,
            out,
            redactor: Arc::new(redactor),
            http: http::client(),
            next_connection: AtomicU64::new(1),
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
        })
    }

    fn next_connection_id(&self) -> String {
        format!("c{}", self.next_connection.fetch_add(1, Ordering::Relaxed))
    }
}

/// Every request: a WebSocket handshake (any path) is proxied and recorded, anything
/// else is forwarded over HTTP.
pub(crate) fn routes(
    recorder: Arc<Recorder>,
) -> impl Filter<Extract = (proxy::Reply,), Error = std::convert::Infallible> + Clone {
    let ws = {
        let recorder = recorder.clone();
        warp::header::exact_ignore_case("upgrade", "websocket")
            .and(warp::path::full())
            .and(warp::query::raw().or(warp::any().map(String::new)).unify())
            .and(warp::header::headers_cloned())
            .and(warp::ext::optional::<OnUpgrade>())
            .then(
                move |path: warp::path::FullPath,
                      query: String,
                      headers: HeaderMap,
                      on_upgrade: Option<OnUpgrade>| {
                    proxy::handshake(
                        recorder.clone(),
                        path.as_str().to_owned(),
                        query,
                        headers,
                        on_upgrade,
                    )
                },
            )
    };
    let plain = warp::method()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .then(
            move |method: Method,
                  path: warp::path::FullPath,
                  query: String,
                  headers: HeaderMap,
                  body| {
                let target = if query.is_empty() {
                    path.as_str().to_owned()
                } else {
                    format!("{}?{query}", path.as_str())
                };
                http::forward(recorder.clone(), method, target, headers, body)
            },
        );
    ws.or(plain)
        .unify()
        .recover(|_| async {
            Ok::<_, std::convert::Infallible>(
                warp::http::Response::builder()
                    .status(400)
                    .body(bytes::Bytes::from_static(b"pawmock record: bad request\n"))
                    .expect("static response"),
            )
        })
        .unify()
}

/// Serves until `recorder.shutdown` is cancelled.
pub(crate) async fn run(recorder: Arc<Recorder>, listener: TcpListener) {
    if let Ok(addr) = listener.local_addr() {
        // Its own address first: tools read the first ws:// URL of this line.
        info!(
            "pawmock record on ws://{addr}/ws (any path): forwarding to {} and recording into {}",
            recorder.upstream.ws_origin,
            recorder.out.display()
        );
    }
    let shutdown = recorder.shutdown.clone();
    warp::serve(routes(recorder.clone()))
        .incoming(listener)
        .graceful(async move { shutdown.cancelled().await })
        .run()
        .await;
    recorder.tracker.close();
    let _ = tokio::time::timeout(Duration::from_secs(3), recorder.tracker.wait()).await;
}

/// Starts a recorder on `listener` in the background (for tests and benchmarks).
pub fn spawn(recorder: Arc<Recorder>, listener: TcpListener) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(recorder, listener))
}

/// `pawmock record`: parses the arguments, binds, and records until Ctrl-C.
pub(crate) fn command(args: &crate::cli::RecordArgs) -> std::process::ExitCode {
    use std::process::ExitCode;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = args
        .log_level
        .parse::<tracing_subscriber::filter::Targets>()
        .unwrap_or_else(|e| {
            eprintln!(
                "pawmock record: --log-level `{}` is not a log filter ({e}); using `info`",
                args.log_level
            );
            tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO)
        });
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_target(false))
        .with(filter)
        .init();
    let upstream = match Upstream::parse(&args.upstream) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("pawmock record: {e}");
            return ExitCode::FAILURE;
        }
    };
    let redactor = match Redactor::with_rules(&args.output.redact) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pawmock record: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::create_dir_all(&args.output.out) {
        eprintln!(
            "pawmock record: cannot create the output directory {}: {e}; choose another with --out DIR",
            args.output.out.display()
        );
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pawmock record: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let listener = match crate::server::bind(&args.host, args.port).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("pawmock record: {e}");
                return ExitCode::FAILURE;
            }
        };
        let recorder = Recorder::new(upstream, args.output.out.clone(), redactor);
        let shutdown = recorder.shutdown.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            info!("shutting down");
            shutdown.cancel();
        });
        run(recorder, listener).await;
        ExitCode::SUCCESS
    })
}
