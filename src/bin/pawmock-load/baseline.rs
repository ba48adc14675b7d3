//! The baseline server: plain tokio-tungstenite sending pre-rendered frames.
//!
//! It stands for the limit of this machine. It renders one turn once, at start-up, with
//! pawmock's own `expand_turn` and `dialect::render` (so its frames are the same bytes
//! pawmock sends), and answers every chat message by sending those frames: in a tight
//! loop, or, when the URL asks for a `chunk_delay`, each at `start + k × chunk_delay`
//! with tokio's timer, the way pawmock paces a turn. Everything pawmock does beyond
//! that (choosing a turn, expanding and rendering per connection, sessions, logs, the
//! select loop) is what the ratio between the two measures.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use pawmock::Library;
use pawmock::{Dialect, Event};
use pawmock::{Timing, expand_turn};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The same read buffer pawmock's upgrade uses, so idle memory compares like for like.
const READ_BUFFER: usize = 1024;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port; the URL is printed).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The recordings directory the answer is taken from.
    #[arg(long, default_value = "recordings")]
    pub recordings: PathBuf,
    /// The scenario whose first turn is every answer.
    #[arg(long, default_value = "long-markdown")]
    pub scenario: String,
    /// Exit by itself after this long, so a forgotten baseline never lingers.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub lifetime: Duration,
    /// Diagnosis: render every frame when it is sent (with pawmock's `render_text` and a
    /// session id per connection, as pawmock must) instead of sending pre-rendered bytes.
    /// The difference to the plain baseline is what rendering alone costs.
    #[arg(long)]
    pub render_each_frame: bool,
}

/// The first turn of `scenario` expanded at speed 0.
fn turn_events(recordings: &Path, scenario: &str) -> anyhow::Result<Vec<Event>> {
    let loaded = Library::load(recordings)
        .with_context(|| format!("cannot read {}", recordings.display()))?;
    let s = loaded.library.get(scenario).with_context(|| {
        format!(
            "no scenario `{scenario}` in {}; known: {}",
            recordings.display(),
            loaded.library.names().join(", ")
        )
    })?;
    let turn = s
        .turns
        .first()
        .with_context(|| format!("scenario `{scenario}` has no turns"))?;
    let mut timing = Timing::default().with(&s.timing);
    timing.speed = pawmock::Speed::INSTANT;
    let mut rng = pawmock::derive_rng(pawmock::DEFAULT_SEED, scenario, 1);
    let segment = expand_turn(&turn.body, &timing, &mut rng);
    Ok(segment.events.into_iter().map(|e| e.event).collect())
}

/// Renders the first turn of `scenario` as pawmock sends it in the docs dialect at speed
/// 0: `response_chunk`s, then `stream_end`.
pub fn render_turn(recordings: &Path, scenario: &str) -> anyhow::Result<Vec<String>> {
    let session = pawmock::new_session_id();
    Ok(turn_events(recordings, scenario)?
        .iter()
        .filter_map(|e| pawmock::render_event(e, Dialect::Docs, &session))
        .map(|frame| frame.to_string())
        .collect())
}

/// What every chat message is answered with.
struct Answer {
    frames: Arc<[Message]>,
    /// With `--render-each-frame`: the events, rendered per send instead.
    events: Option<Arc<[Event]>>,
}

/// `pawmock-load baseline`: serves until killed or `--lifetime` ends.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let ip: IpAddr = if args.host == "localhost" {
        IpAddr::from([127, 0, 0, 1])
    } else {
        args.host
            .parse()
            .with_context(|| format!("--host {}: give an IP address", args.host))?
    };
    if !ip.is_loopback() {
        bail!("--host {ip}: the baseline listens on loopback only (127.0.0.1 or ::1)");
    }
    let frames: Arc<[Message]> = render_turn(&args.recordings, &args.scenario)?
        .into_iter()
        .map(Message::text)
        .collect();
    let answer = Arc::new(Answer {
        frames: frames.clone(),
        events: match args.render_each_frame {
            true => Some(turn_events(&args.recordings, &args.scenario)?.into()),
            false => None,
        },
    });
    let listener = TcpListener::bind(SocketAddr::new(ip, args.port))
        .await
        .with_context(|| format!("cannot listen on {ip}:{}", args.port))?;
    let addr = listener.local_addr()?;
    println!(
        "baseline serving ws://{addr}/ws ({} frames of `{}` per answer; exits after {})",
        frames.len(),
        args.scenario,
        humantime::format_duration(args.lifetime)
    );
    let accept = async {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(serve(stream, answer.clone()));
        }
    };
    let _ = tokio::time::timeout(args.lifetime, accept).await;
    Ok(())
}

/// One connection: every chat message is answered with the whole turn.
async fn serve(stream: TcpStream, answer: Arc<Answer>) {
    let mut query = String::new();
    // The error type is tungstenite's (an HTTP response); this closure never returns it.
    #[allow(clippy::result_large_err)]
    let remember_query = |req: &Request, resp: Response| {
        query = req.uri().query().unwrap_or_default().to_owned();
        Ok(resp)
    };
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let Ok(mut ws) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, remember_query, Some(config)).await
    else {
        return;
    };
    let pace = pace(&query);
    let session = pawmock::new_session_id();
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(text) = msg else { continue };
        if text.contains(r#""stop""#) {
            continue;
        }
        let played = match (pace, &answer.events) {
            (None, None) => tight(&mut ws, &answer.frames).await,
            (None, Some(events)) => rendering(&mut ws, events, &session).await,
            (Some(delay), _) => paced(&mut ws, &answer.frames, delay).await,
        };
        if played.is_err() {
            return;
        }
    }
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn tight(ws: &mut Ws, frames: &[Message]) -> Result<(), ()> {
    for f in frames {
        ws.send(f.clone()).await.map_err(drop)?;
    }
    Ok(())
}

async fn rendering(ws: &mut Ws, events: &[Event], session: &str) -> Result<(), ()> {
    for e in events {
        if let Some(text) = pawmock::render_event_text(e, Dialect::Docs, session) {
            ws.send(Message::text(text)).await.map_err(drop)?;
        }
    }
    Ok(())
}

/// Frame k at start + k × delay, reading the client meanwhile (so a close is seen). A
/// frame already due goes at once, as in pawmock: the first one never waits for the
/// timer's next tick.
async fn paced(ws: &mut Ws, frames: &[Message], delay: Duration) -> Result<(), ()> {
    let start = Instant::now();
    for (k, f) in frames.iter().enumerate() {
        let at = start + delay * k as u32;
        while Instant::now() < at {
            tokio::select! {
                biased;
                msg = ws.next() => match msg {
                    Some(Ok(Message::Text(t))) if t.contains(r#""stop""#) => return Ok(()),
                    Some(Ok(_)) => {}
                    _ => return Err(()),
                },
                _ = tokio::time::sleep_until(at) => break,
            }
        }
        ws.send(f.clone()).await.map_err(drop)?;
    }
    Ok(())
}

/// The chunk delay a URL asks for, unless it also asks for speed 0.
fn pace(query: &str) -> Option<Duration> {
    let mut delay = None;
    let mut instant = false;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "chunk_delay" => delay = pawmock::parse_duration(&v).ok(),
            "speed" => instant = v.parse::<f64>().is_ok_and(|s| s == 0.0),
            _ => {}
        }
    }
    delay.filter(|d| !instant && !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_sends_the_frames_pawmock_renders() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings");
        let frames = render_turn(&dir, "long-markdown").unwrap();
        assert!(frames.len() > 600, "{}", frames.len());
        assert!(frames[0].starts_with(r###"{"type":"response_chunk","content":"##"###));
        assert!(
            frames
                .last()
                .unwrap()
                .starts_with(r#"{"type":"stream_end""#)
        );
    }

    #[test]
    fn the_pace_comes_from_the_url() {
        assert_eq!(
            pace("scenario=x&chunk_delay=50ms&jitter=0"),
            Some(Duration::from_millis(50))
        );
        assert_eq!(pace("scenario=x&speed=0"), None);
        assert_eq!(pace("chunk_delay=50ms&speed=0"), None);
        assert_eq!(pace(""), None);
    }
}
