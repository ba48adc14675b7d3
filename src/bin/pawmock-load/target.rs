//! Where load may go: `ws://` URLs on this machine only.
//!
//! The generator opens thousands of connections as fast as it can; pointed at someone
//! else's server that is an attack, not a benchmark. So every URL is checked here, and
//! a name (such as `localhost`) must resolve to loopback addresses only.

use std::net::IpAddr;

use anyhow::{Context, bail};
use tokio_tungstenite::tungstenite::http::Uri;

/// A `ws://` URL whose host is a loopback address.
#[derive(Debug, Clone)]
pub struct Target {
    url: String,
}

impl Target {
    /// Checks `url` and adds `query` (`a=1&b=2`, may be empty) to its query string.
    pub async fn parse(url: &str, query: &str) -> anyhow::Result<Target> {
        let uri: Uri = url.parse().with_context(|| {
            format!("`{url}` is not a URL; give one like ws://127.0.0.1:8000/ws")
        })?;
        match uri.scheme_str() {
            Some("ws") => {}
            Some("wss") => bail!(
                "`{url}`: wss:// is not supported; benchmarks run over plain ws:// on loopback"
            ),
            _ => bail!("`{url}` is not a ws:// URL; give one like ws://127.0.0.1:8000/ws"),
        }
        let host = uri.host().with_context(|| {
            format!("`{url}` has no host; give one like ws://127.0.0.1:8000/ws")
        })?;
        let port = uri.port_u16().unwrap_or(80);
        check_loopback(host, port)
            .await
            .with_context(|| format!("refusing to send load to `{url}`"))?;
        Ok(Target {
            url: with_query(url, query),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Fails unless every address `host` stands for is a loopback address.
async fn check_loopback(host: &str, port: u16) -> anyhow::Result<()> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        if ip.is_loopback() {
            return Ok(());
        }
        bail!("{ip} is not a loopback address; load goes only to 127.0.0.1, ::1 or localhost");
    }
    let addrs: Vec<_> = tokio::net::lookup_host((bare, port))
        .await
        .with_context(|| format!("cannot resolve `{bare}`"))?
        .collect();
    if addrs.is_empty() {
        bail!("`{bare}` resolves to no address");
    }
    if let Some(outside) = addrs.iter().find(|a| !a.ip().is_loopback()) {
        bail!(
            "`{bare}` resolves to {}, which is not a loopback address; load goes only to 127.0.0.1, ::1 or localhost",
            outside.ip()
        );
    }
    Ok(())
}

/// `url` with `query` appended to whatever query it already has.
pub fn with_query(url: &str, query: &str) -> String {
    let query = query.trim_start_matches(['?', '&']);
    if query.is_empty() {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&{query}")
    } else {
        format!("{url}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn loopback_urls_are_accepted_and_get_the_query() {
        let t = Target::parse("ws://127.0.0.1:9/ws", "speed=0")
            .await
            .unwrap();
        assert_eq!(t.url(), "ws://127.0.0.1:9/ws?speed=0");
        let t = Target::parse("ws://[::1]:9/ws?a=1", "b=2").await.unwrap();
        assert_eq!(t.url(), "ws://[::1]:9/ws?a=1&b=2");
        Target::parse("ws://localhost:9/ws", "").await.unwrap();
    }

    #[tokio::test]
    async fn anything_else_is_refused_with_a_reason() {
        for (url, why) in [
            ("ws://10.0.0.1:9/ws", "not a loopback address"),
            ("ws://192.0.2.7/ws", "not a loopback address"),
            ("wss://127.0.0.1:9/ws", "wss:// is not supported"),
            ("http://127.0.0.1:9/ws", "not a ws:// URL"),
            ("127.0.0.1:9", "not a ws:// URL"),
        ] {
            let err = format!("{:#}", Target::parse(url, "").await.unwrap_err());
            assert!(err.contains(why), "{url}: {err}");
        }
    }
}
