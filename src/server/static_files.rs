//! `--static DIR`: a built frontend served from the same origin as `/ws`, so the page's
//! `ws://<same host>/ws` and its `/api/...` calls reach pawmock with no proxy.
//!
//! `GET /` is `DIR/index.html`; every other path is looked up in DIR (a folder serves
//! its `index.html`). Nothing outside DIR is ever read: a path is refused when a segment
//! is `.` or `..` (also percent-encoded), contains an encoded `/`, a backslash or a NUL,
//! and the file found is canonicalized and must still lie inside the canonical DIR, so a
//! symlink pointing out is refused too. Responses carry an ETag and Last-Modified and
//! answer a matching `If-None-Match` / `If-Modified-Since` with 304; `no-cache` makes
//! the browser ask every time, so an edited file shows on the next reload.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::debug;
use warp::Filter;
use warp::http::{Method, Response, StatusCode};

use crate::app::App;

pub(crate) type Reply = Response<Vec<u8>>;

/// Checks `--static DIR` at start-up and returns it canonicalized (what every request
/// is checked against).
pub fn static_root(dir: &Path) -> Result<PathBuf, String> {
    let root = dir.canonicalize().map_err(|e| {
        format!(
            "--static {}: {e}; give the folder that holds the built frontend's index.html",
            dir.display()
        )
    })?;
    if !root.is_dir() {
        return Err(format!(
            "--static {}: not a directory; give the folder that holds the built frontend's index.html",
            dir.display()
        ));
    }
    Ok(root)
}

/// GET and HEAD of any path, when pawmock serves a frontend; rejected otherwise so the
/// next route (the index page, then the 404) answers.
pub(crate) fn route(
    app: Arc<App>,
) -> impl Filter<Extract = (Reply,), Error = warp::Rejection> + Clone {
    warp::get()
        .or(warp::head())
        .unify()
        .and(warp::method())
        .and(warp::path::full())
        .and(warp::header::optional::<String>("if-none-match"))
        .and(warp::header::optional::<String>("if-modified-since"))
        .and_then(
            move |method: Method,
                  path: warp::path::FullPath,
                  if_none_match: Option<String>,
                  if_modified_since: Option<String>| {
                let root = app.config.static_dir.clone();
                async move {
                    let Some(root) = root else {
                        return Err(warp::reject::not_found());
                    };
                    let conditions = Conditions {
                        if_none_match,
                        if_modified_since,
                    };
                    Ok(serve(&root, path.as_str(), &conditions, method == Method::HEAD).await)
                }
            },
        )
}

/// The request's cache validators.
#[derive(Debug, Default)]
pub(crate) struct Conditions {
    pub(crate) if_none_match: Option<String>,
    pub(crate) if_modified_since: Option<String>,
}

/// Why a request path is not looked up.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `.`/`..` segments, encoded slashes, backslashes, NULs or bad percent-encoding.
    BadPath(&'static str),
}

/// The decoded segments of a raw (percent-encoded) request path, or why it is refused.
pub(crate) fn segments(raw: &str) -> Result<Vec<String>, Refused> {
    if raw.contains('\\') {
        return Err(Refused::BadPath("a backslash"));
    }
    let mut out = Vec::new();
    for segment in raw.split('/').filter(|s| !s.is_empty()) {
        let bytes: Vec<u8> = percent_encoding::percent_decode_str(segment).collect();
        let decoded =
            String::from_utf8(bytes).map_err(|_| Refused::BadPath("bytes that are not UTF-8"))?;
        if decoded.contains(['/', '\\']) {
            return Err(Refused::BadPath("an encoded slash or backslash"));
        }
        if decoded.contains('\0') {
            return Err(Refused::BadPath("a NUL"));
        }
        if decoded == "." || decoded == ".." {
            return Err(Refused::BadPath("a `.` or `..` segment"));
        }
        out.push(decoded);
    }
    Ok(out)
}

/// Answers one GET (or HEAD, without the body) of `raw_path` from `root`.
pub(crate) async fn serve(
    root: &Path,
    raw_path: &str,
    conditions: &Conditions,
    head: bool,
) -> Reply {
    let segments = match segments(raw_path) {
        Ok(s) => s,
        Err(Refused::BadPath(why)) => {
            debug!(path = raw_path, "static path refused: {why}");
            return text(
                StatusCode::BAD_REQUEST,
                &format!(
                    "refused: the path contains {why}; pawmock serves only files inside its --static directory"
                ),
            );
        }
    };
    let Some(file) = find(root, &segments).await else {
        return text(StatusCode::NOT_FOUND, &format!("not found: {raw_path}"));
    };
    let Ok(meta) = tokio::fs::metadata(&file).await else {
        return text(StatusCode::NOT_FOUND, &format!("not found: {raw_path}"));
    };
    let modified = meta.modified().unwrap_or(UNIX_EPOCH);
    let etag = etag(meta.len(), modified);
    let last_modified = httpdate::fmt_http_date(modified);
    let builder = Response::builder()
        .header("etag", &etag)
        .header("last-modified", &last_modified)
        .header("cache-control", "no-cache");
    if not_modified(conditions, &etag, modified) {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Vec::new())
            .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "bad response"));
    }
    let body = if head {
        Vec::new()
    } else {
        match tokio::fs::read(&file).await {
            Ok(b) => b,
            Err(e) => {
                return text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("cannot read {raw_path}: {e}"),
                );
            }
        }
    };
    builder
        .status(StatusCode::OK)
        .header("content-type", content_type(&file))
        .body(body)
        .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "bad response"))
}

/// The file `segments` names inside `root`, canonicalized and checked to be inside it
/// (a folder means its `index.html`). `None` when missing or outside.
async fn find(root: &Path, segments: &[String]) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    path.extend(segments);
    let mut found = inside(root, &path).await?;
    if tokio::fs::metadata(&found).await.ok()?.is_dir() {
        found = inside(root, &found.join("index.html")).await?;
    }
    tokio::fs::metadata(&found)
        .await
        .ok()?
        .is_file()
        .then_some(found)
}

/// `path` with every symlink resolved, if it exists and is still under `root`.
async fn inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let real = tokio::fs::canonicalize(path).await.ok()?;
    if real.starts_with(root) {
        Some(real)
    } else {
        debug!(path = %path.display(), real = %real.display(), "static path refused: it leads outside the directory");
        None
    }
}

/// A strong validator from size and modification time: cheap, and it changes whenever
/// an editor or a build rewrites the file.
fn etag(len: u64, modified: SystemTime) -> String {
    let t = modified.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("\"{len:x}-{:x}.{:x}\"", t.as_secs(), t.subsec_nanos())
}

/// RFC 9110 §13.2.2: `If-None-Match` decides when present; otherwise
/// `If-Modified-Since` (compared at whole seconds, the resolution of HTTP dates).
fn not_modified(c: &Conditions, etag: &str, modified: SystemTime) -> bool {
    if let Some(tags) = &c.if_none_match {
        return tags
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag);
    }
    let Some(since) = c
        .if_modified_since
        .as_deref()
        .and_then(|d| httpdate::parse_http_date(d).ok())
    else {
        return false;
    };
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    secs(modified) <= secs(since)
}

fn content_type(path: &Path) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let textual = mime.type_() == mime_guess::mime::TEXT
        || matches!(
            mime.essence_str(),
            "application/javascript" | "application/json" | "application/xml" | "image/svg+xml"
        );
    if textual {
        format!("{}; charset=utf-8", mime.essence_str())
    } else {
        mime.essence_str().to_owned()
    }
}

fn text(status: StatusCode, body: &str) -> Reply {
    let mut r = Response::new(format!("{body}\n").into_bytes());
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        warp::http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_in_any_spelling_is_refused() {
        assert_eq!(segments("/").unwrap(), Vec::<String>::new());
        assert_eq!(
            segments("/static/js/app%20one.js").unwrap(),
            ["static", "js", "app one.js"]
        );
        for bad in [
            "/../etc/passwd",
            "/static/../../x",
            "/%2e%2e/x",
            "/%2E%2E/x",
            "/.%2e/x",
            "/./x",
            "/a%2f..%2fb",
            "/a%2Fb",
            "/a\\b",
            "/a%5c..%5cb",
            "/a%00b",
            "/%ff",
        ] {
            assert!(segments(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn validators_decide_304() {
        let t = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_500);
        let tag = etag(10, t);
        let c = |inm: Option<&str>, ims: Option<&str>| Conditions {
            if_none_match: inm.map(str::to_owned),
            if_modified_since: ims.map(str::to_owned),
        };
        assert!(not_modified(&c(Some(&tag), None), &tag, t));
        assert!(not_modified(
            &c(Some(&format!("\"x\", W/{tag}")), None),
            &tag,
            t
        ));
        assert!(not_modified(&c(Some("*"), None), &tag, t));
        assert!(!not_modified(&c(Some("\"other\""), None), &tag, t));
        let date = httpdate::fmt_http_date(t);
        assert!(not_modified(&c(None, Some(&date)), &tag, t));
        let earlier = httpdate::fmt_http_date(t - std::time::Duration::from_secs(5));
        assert!(!not_modified(&c(None, Some(&earlier)), &tag, t));
        // If-None-Match wins over If-Modified-Since.
        assert!(!not_modified(&c(Some("\"other\""), Some(&date)), &tag, t));
        assert!(!not_modified(&c(None, Some("yesterday")), &tag, t));
    }

    #[test]
    fn content_types_come_from_the_extension() {
        assert_eq!(
            content_type(Path::new("a.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("a.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("a.css")), "text/css; charset=utf-8");
        assert_eq!(content_type(Path::new("a.png")), "image/png");
        assert_eq!(content_type(Path::new("a.woff2")), "font/woff2");
        assert_eq!(content_type(Path::new("noext")), "application/octet-stream");
    }
}
