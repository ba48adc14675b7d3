//! `--static DIR`: a built frontend on the same origin as `/ws`, with content types,
//! 304s, 404s, and no way out of DIR; and the index page when there is no frontend.

mod common;

use std::path::Path;

use common::Server;
use common::http::{get, request};
use pawmock::ServeConfig;

/// The secret that must never be served: it sits next to the served directory.
const SECRET: &str = "top secret: outside the static directory";

/// A site in `root/site`, a secret in `root/secret.txt`, and symlinks in the site that
/// point inside and outside it.
fn site(root: &Path) -> std::path::PathBuf {
    let site = root.join("site");
    std::fs::create_dir_all(site.join("static/js")).unwrap();
    std::fs::create_dir_all(site.join("docs")).unwrap();
    std::fs::write(
        site.join("index.html"),
        "<!doctype html><title>dash</title>",
    )
    .unwrap();
    std::fs::write(site.join("static/js/app.js"), "console.log('app');").unwrap();
    std::fs::write(site.join("static/style.css"), "body{}").unwrap();
    std::fs::write(site.join("static/logo.png"), [0x89, b'P', b'N', b'G']).unwrap();
    std::fs::write(site.join("docs/index.html"), "<p>docs</p>").unwrap();
    std::fs::write(root.join("secret.txt"), SECRET).unwrap();
    std::os::unix::fs::symlink(root.join("secret.txt"), site.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(root, site.join("up")).unwrap();
    std::os::unix::fs::symlink(site.join("static/style.css"), site.join("alias.css")).unwrap();
    site
}

async fn serve(site: &Path) -> Server {
    Server::start(
        &common::fixtures(),
        ServeConfig {
            speed: pawmock::Speed::INSTANT,
            static_dir: Some(pawmock::static_root(site).unwrap()),
            ..Default::default()
        },
    )
    .await
}

#[tokio::test]
async fn root_is_index_html_and_other_paths_are_looked_up_with_their_content_type() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&site(dir.path())).await;
    let cases = [
        (
            "/",
            "text/html; charset=utf-8",
            "<!doctype html><title>dash</title>",
        ),
        (
            "/static/js/app.js?v=0.4.4",
            "text/javascript; charset=utf-8",
            "console.log('app');",
        ),
        ("/static/style.css", "text/css; charset=utf-8", "body{}"),
        ("/docs/", "text/html; charset=utf-8", "<p>docs</p>"),
        ("/docs", "text/html; charset=utf-8", "<p>docs</p>"),
        ("/alias.css", "text/css; charset=utf-8", "body{}"),
    ];
    for (path, content_type, body) in cases {
        let r = get(server.addr, path, &[]).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some(content_type), "{path}");
        assert_eq!(r.text(), body, "{path}");
        assert!(r.header("etag").is_some() && r.header("last-modified").is_some());
        assert_eq!(r.header("cache-control"), Some("no-cache"));
    }
    let png = get(server.addr, "/static/logo.png", &[]).await;
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert_eq!(png.body, [0x89, b'P', b'N', b'G']);
}

#[tokio::test]
async fn validators_get_304_and_changed_or_missing_ones_get_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&site(dir.path())).await;
    let first = get(server.addr, "/static/js/app.js", &[]).await;
    let etag = first.header("etag").unwrap().to_owned();
    let modified = first.header("last-modified").unwrap().to_owned();

    let r = get(
        server.addr,
        "/static/js/app.js",
        &[("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = get(
        server.addr,
        "/static/js/app.js",
        &[("If-Modified-Since", &modified)],
    )
    .await;
    assert_eq!(r.status, 304);
    let r = get(
        server.addr,
        "/static/js/app.js",
        &[
            ("If-None-Match", "\"stale\""),
            ("If-Modified-Since", &modified),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "If-None-Match decides when both are sent");
    assert_eq!(r.text(), "console.log('app');");

    // Rewriting the file changes its validator.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(
        dir.path().join("site/static/js/app.js"),
        "console.log('app v2');",
    )
    .unwrap();
    let r = get(
        server.addr,
        "/static/js/app.js",
        &[("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "console.log('app v2');");
}

#[tokio::test]
async fn head_sends_the_headers_without_the_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&site(dir.path())).await;
    let r = request(server.addr, "HEAD", "/static/style.css", &[], b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn what_is_missing_is_404() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&site(dir.path())).await;
    for path in ["/nope.js", "/static/js/", "/static/js/app.js/x"] {
        let r = get(server.addr, path, &[]).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(r.text().contains("not found"), "{path}");
    }
}

#[tokio::test]
async fn no_request_escapes_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&site(dir.path())).await;
    for path in [
        "/../secret.txt",
        "/static/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/static/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/static%2f..%2f..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/leak.txt",
        "/up/secret.txt",
        "/secret.txt%00.html",
    ] {
        let r = get(server.addr, path, &[]).await;
        assert!(
            r.status == 400 || r.status == 404,
            "{path} gave {}: {}",
            r.status,
            r.text()
        );
        assert!(!r.text().contains(SECRET), "{path} leaked the secret");
    }
    // The traversal spellings are refused as such, not merely not found.
    let r = get(server.addr, "/%2e%2e/secret.txt", &[]).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("refused"));
}

#[tokio::test]
async fn ws_and_api_still_work_next_to_the_frontend() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&site(dir.path())).await;
    let r = get(server.addr, "/api/version", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["current"], "0.4.4");
    let r = get(server.addr, "/api/nope", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        serde_json::json!({"detail": "Not Found"}),
        "the real server's 404, not the frontend's"
    );
    let mut c = server.connect("dialect=dashboard").await;
    assert_eq!(c.next().await["type"], "connection_info");
    let r = request(server.addr, "POST", "/index.html", &[], b"").await;
    assert_eq!(r.status, 404, "only GET and HEAD read files");
}

#[tokio::test]
async fn without_a_frontend_root_is_a_page_naming_pawmock_the_ws_url_and_the_scenarios() {
    let server = Server::fixtures().await;
    let r = get(server.addr, "/", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let page = r.text();
    assert!(page.contains("<h1>pawmock"), "{page}");
    assert!(page.contains(&format!("ws://{}/ws", server.addr)), "{page}");
    for name in ["weather", "plan", "slow", "everything", "weather-recorded"] {
        assert!(
            page.contains(&format!("?scenario={name}</code>")),
            "{name} missing in {page}"
        );
    }
    assert!(page.contains("Weather with one tool call"));
    assert!(page.contains("--static DIR"));
    let r = get(server.addr, "/static/js/app.js", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["path"], "/static/js/app.js");
}

#[tokio::test]
async fn the_index_page_escapes_the_host_it_was_asked_for() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::fixtures().await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x<b>\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains("ws://x&lt;b&gt;/ws"), "{raw}");
    assert!(!raw.contains("x<b>"), "{raw}");
}
