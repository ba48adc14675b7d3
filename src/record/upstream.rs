//! The backend `pawmock record` stands in front of, from `--upstream`.

use warp::http::Uri;

/// Where proxied connections go: WebSockets to `ws://host:port`, other requests to
/// `http://host:port`, each with the client's own path and query.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// `ws://host:port`.
    pub(crate) ws_origin: String,
    /// `http://host:port`.
    pub(crate) http_origin: String,
}

impl Upstream {
    /// Reads `ws://HOST:PORT[/path]` (or `http://…`); only the origin is used.
    pub fn parse(text: &str) -> Result<Upstream, String> {
        let uri: Uri = text.parse().map_err(|e| {
            format!("--upstream `{text}` is not a URL ({e}); write e.g. ws://localhost:8888/ws")
        })?;
        match uri.scheme_str() {
            Some("ws" | "http") => {}
            Some("wss" | "https") => {
                return Err(format!(
                    "--upstream `{text}`: TLS upstreams (wss://, https://) are not supported; record a backend on ws:// or http://"
                ));
            }
            _ => {
                return Err(format!(
                    "--upstream `{text}` has no ws:// or http:// scheme; write e.g. ws://localhost:8888/ws"
                ));
            }
        }
        let Some(host) = uri.host() else {
            return Err(format!(
                "--upstream `{text}` names no host; write e.g. ws://localhost:8888/ws"
            ));
        };
        let port = uri.port_u16().unwrap_or(80);
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let authority = format!("{host}:{port}");
        Ok(Upstream {
            ws_origin: format!("ws://{authority}"),
            http_origin: format!("http://{authority}"),
        })
    }
}

/// The query a proxied WebSocket forwards: the client's, without pawmock's own replay
/// parameters (`scenario`, `speed`, `chaos`, …). `token` and `resume_session` belong to
/// the backend and are kept (the recording never stores `token`).
pub(crate) fn forwarded_query(query: &str) -> String {
    let own = |k: &str| {
        k != "token" && k != "resume_session" && crate::connection::params::KNOWN.contains(&k)
    };
    let kept: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| !own(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        return String::new();
    }
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upstream_is_an_origin() {
        let u = Upstream::parse("ws://localhost:8888/ws").unwrap();
        assert_eq!(u.ws_origin, "ws://localhost:8888");
        assert_eq!(u.http_origin, "http://localhost:8888");
        assert!(Upstream::parse("wss://x/ws").unwrap_err().contains("TLS"));
        assert!(Upstream::parse("localhost:8888").is_err());
    }

    #[test]
    fn pawmocks_own_parameters_are_not_forwarded() {
        assert_eq!(
            forwarded_query("scenario=x&speed=0&token=t&resume_session=s&lang=fr&fault=drop"),
            "token=t&resume_session=s&lang=fr"
        );
        assert_eq!(forwarded_query("scenario=x"), "");
    }
}
