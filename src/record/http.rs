//! The plain HTTP side of `pawmock record`: requests that are not a WebSocket (the
//! dashboard's page and scripts, its `/api/…` calls) go to the upstream's HTTP origin
//! with hyper-util's pooled client, and its answer comes back unchanged. They are
//! passed, not recorded: recordings hold the WebSocket conversation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tracing::{info, warn};
use warp::http::{HeaderMap, Method, Request, Response, StatusCode};

use super::Recorder;
use super::proxy::Reply;

/// Largest request or response body passed through (the dashboard's bundles are a few
/// megabytes at most).
pub(crate) const MAX_BODY: usize = 64 << 20;
/// How long the upstream may take to answer one request.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Headers of one hop (RFC 9110 §7.6.1), never forwarded either way.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub(crate) fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(10)));
    Client::builder(TokioExecutor::new()).build(connector)
}

fn plain(status: StatusCode, body: String) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Bytes::from(format!("{body}\n")))
        .expect("static response")
}

/// Reads a request body, refusing more than [`MAX_BODY`] bytes.
async fn read_body<S, B>(body: S) -> Result<Bytes, String>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: bytes::Buf,
{
    let mut body = std::pin::pin!(body);
    let mut out = bytes::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(|e| format!("reading the request body failed: {e}"))?;
        if out.len() + chunk.remaining() > MAX_BODY {
            return Err(format!(
                "the request body is larger than {} MiB",
                MAX_BODY >> 20
            ));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            out.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Ok(out.freeze())
}

/// Forwards one request to the upstream and returns its answer.
pub(crate) async fn forward<S, B>(
    recorder: Arc<Recorder>,
    method: Method,
    path_and_query: String,
    headers: HeaderMap,
    body: S,
) -> Reply
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: bytes::Buf,
{
    let started = Instant::now();
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(e) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("pawmock record: {e}"),
            );
        }
    };
    let uri = format!("{}{path_and_query}", recorder.upstream.http_origin);
    let mut request = Request::builder().method(method.clone()).uri(&uri);
    for (name, value) in &headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            request = request.header(name, value);
        }
    }
    let request = match request.body(Full::new(body)) {
        Ok(r) => r,
        Err(e) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("pawmock record: cannot forward {method} {path_and_query}: {e}"),
            );
        }
    };
    // The path only: a query may hold a token.
    let path = path_and_query.split('?').next().unwrap_or("");
    let response = match tokio::time::timeout(TIMEOUT, recorder.http.request(request)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            let why = error_chain(&e);
            warn!(upstream = %recorder.upstream.http_origin, "{method} {path}: cannot reach the upstream: {why}; answering 502");
            return plain(
                StatusCode::BAD_GATEWAY,
                format!(
                    "pawmock record: cannot reach the upstream {}: {why}",
                    recorder.upstream.http_origin
                ),
            );
        }
        Err(_) => {
            warn!(upstream = %recorder.upstream.http_origin, "{method} {path}: no answer within {}s; answering 504", TIMEOUT.as_secs());
            return plain(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "pawmock record: the upstream {} did not answer within {}s",
                    recorder.upstream.http_origin,
                    TIMEOUT.as_secs()
                ),
            );
        }
    };
    let (parts, body) = response.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            warn!(upstream = %recorder.upstream.http_origin, "{method} {path}: reading the answer failed: {e}; answering 502");
            return plain(
                StatusCode::BAD_GATEWAY,
                format!("pawmock record: reading the upstream's answer failed: {e}"),
            );
        }
    };
    info!(
        "{method} {path} → {} ({} bytes, {} ms)",
        parts.status.as_u16(),
        body.len(),
        started.elapsed().as_millis()
    );
    let mut reply = Response::builder().status(parts.status);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            reply = reply.header(name, value);
        }
    }
    reply
        .body(body)
        .unwrap_or_else(|e| plain(StatusCode::BAD_GATEWAY, format!("pawmock record: {e}")))
}

/// An error and its causes, as one line ("client error (Connect): tcp connect error:
/// Connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
