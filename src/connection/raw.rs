//! A connection that replays a `raw` recording: a protocol pawmock does not know.
//!
//! Like [`super::Connection`], one task runs one `select!` over the client's frames,
//! the next due frame and shutdown, and plays through the same [`ActiveTurn`] (so
//! speed, chaos and its seeded RNG work the same way). What differs: client frames are
//! not decoded but matched against the recorded client frames, a match starts the
//! server frames recorded after it, and frames are sent exactly as recorded.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::{debug, info, warn};

use super::setup::Setup;
use super::turn::{ActiveTurn, Due, TurnChaos};
use crate::app::App;
use crate::chaos::{self, Context, Delivery, Op, TurnState};
use crate::library::Scenario;
use crate::library::raw::RawScript;
use crate::playback::raw::expand_raw;
use crate::playback::{Segment, Timing};
use crate::protocol::Event;
use crate::protocol::raw::RawFrame;
use crate::rng::{self, Rng};

/// Frames sent in one go before the loop looks at its client again.
const DUE_BATCH: usize = 64;

/// The raw recording a connection pins with `?scenario=`, if it pins one.
pub fn pinned(app: &App, setup: &Setup) -> Option<(Arc<Scenario>, Arc<RawScript>)> {
    let name = setup.params.scenario.as_deref()?;
    let scenario = app.library().get(name)?.clone();
    let script = scenario.raw.clone()?;
    Some((scenario, script))
}

/// Why the loop ended, for the close log line.
enum End {
    ClientClosed,
    Gone(String),
    Shutdown,
    /// The recording's server closed here (or a `close` fault did), with this code.
    Closed(u16),
    /// The recording lost its connection here (1006), or an `abort` fault fired.
    Aborted,
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::ClientClosed => write!(f, "client closed"),
            End::Gone(why) => write!(f, "connection lost: {why}"),
            End::Shutdown => write!(f, "server shutdown (1001)"),
            End::Closed(code) => write!(f, "closed by the recording or chaos ({code})"),
            End::Aborted => write!(f, "aborted by the recording or chaos (no close frame)"),
        }
    }
}

type Result<T = ()> = std::result::Result<T, End>;

struct RawConnection {
    app: Arc<App>,
    id: String,
    scenario: Arc<Scenario>,
    script: Arc<RawScript>,
    timing: Timing,
    /// Set only when the URL or the recording asks for jitter.
    jitter: Option<f64>,
    seed: u64,
    profiles: Vec<String>,
    inline: Vec<chaos::Fault>,
    chaos_rng: Rng,
    attempt: u32,
    connected_at: tokio::time::Instant,
    /// A `close`/`abort` fault timed from connect, and when it fires.
    connect_fault: Option<(tokio::time::Instant, chaos::Fault)>,
    active: Option<ActiveTurn>,
    /// Exchanges matched while another played: each starts when the one before ends.
    queued: VecDeque<Arc<Segment>>,
    /// Where matching starts: the exchange after the last one matched.
    next_exchange: usize,
    exchanges: u32,
    frames_sent: u64,
    unmatched: u64,
    fault_counts: BTreeMap<&'static str, u64>,
}

/// Serves a connection that pinned a raw recording.
pub async fn serve<S>(
    app: Arc<App>,
    mut ws: WebSocketStream<S>,
    setup: Setup,
    scenario: Arc<Scenario>,
    script: Arc<RawScript>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    // The id the handshake was given (and journaled), under the same panic net as a
    // PocketPaw connection.
    let id = setup.id.clone();
    super::net::guarded(&id, &mut ws, move |ws| {
        Box::pin(play(app, ws, setup, scenario, script))
    })
    .await;
    // Dropping the socket here without a close frame is what an abort is.
}

async fn play<S>(
    app: Arc<App>,
    ws: &mut WebSocketStream<S>,
    setup: Setup,
    scenario: Arc<Scenario>,
    script: Arc<RawScript>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let id = setup.id.clone();
    for e in &setup.errors {
        // The raw protocol has no error frame pawmock could send.
        warn!(conn = %id, "{e}");
    }
    let params = &setup.params;
    let mut timing = Timing::default()
        .with(&scenario.timing)
        .with(&params.timing);
    timing.speed = timing.speed.times(params.speed.unwrap_or(app.config.speed));
    let jitter = params.timing.jitter.or(scenario.timing.jitter);
    // As for PocketPaw connections (same RNG draws, in the same order).
    let mut chaos_rng = setup.rng;
    let connected_at = tokio::time::Instant::now();
    let connect_fault =
        super::connect_timer(&setup.faults, setup.attempt, &mut chaos_rng, connected_at);
    let mut conn = RawConnection {
        seed: params.seed.unwrap_or(app.config.seed),
        id,
        timing,
        jitter,
        profiles: setup.profiles.clone(),
        inline: setup.inline.clone(),
        chaos_rng,
        attempt: setup.attempt,
        connected_at,
        connect_fault,
        active: None,
        queued: VecDeque::new(),
        next_exchange: 0,
        exchanges: 0,
        frames_sent: 0,
        unmatched: 0,
        fault_counts: BTreeMap::new(),
        app,
        scenario,
        script,
    };
    info!(conn = %conn.id, scenario = %conn.scenario.name, dialect = "raw", query = %setup.params.query, "connection opened");
    let opened = std::time::Instant::now();
    let end = conn.run(ws).await;
    if let End::Shutdown = end {
        let _ = ws
            .close(Some(CloseFrame {
                code: CloseCode::Away,
                reason: "pawmock is shutting down".into(),
            }))
            .await;
    }
    if matches!(end, End::Shutdown | End::Closed(_)) {
        super::linger(ws).await;
    }
    info!(
        conn = %conn.id,
        end = %end,
        dialect = "raw",
        exchanges = conn.exchanges,
        unmatched = conn.unmatched,
        frames_sent = conn.frames_sent,
        faults = %super::fault_summary(&conn.fault_counts),
        secs = opened.elapsed().as_secs_f32(),
        "connection closed"
    );
}

impl RawConnection {
    async fn run<S: AsyncRead + AsyncWrite + Unpin>(&mut self, ws: &mut WebSocketStream<S>) -> End {
        // A connection fault timed at 0 ("close at once") fires before any greeting.
        if let Some((_, fault)) = self
            .connect_fault
            .take_if(|(at, _)| *at <= self.connected_at)
            && let Err(end) = self.connect_fault_fires(ws, fault).await
        {
            return end;
        }
        if !self.script.greeting.is_empty() {
            let mut rng = rng::derive(self.seed, &self.scenario.name, 0);
            let segment = expand_raw(&self.script.greeting, &self.timing, self.jitter, &mut rng);
            // As PocketPaw greetings, the greeting does not pass through chaos.
            self.start(Arc::new(segment), rng, false);
        }
        if let Err(end) = self.on_due(ws).await {
            return end;
        }
        let shutdown = self.app.shutdown.clone();
        let cancelled = shutdown.cancelled();
        tokio::pin!(cancelled);
        loop {
            let due = self.active.as_ref().and_then(ActiveTurn::next_due);
            let timer = self.connect_fault.as_ref().map(|(at, _)| *at);
            let step = tokio::select! {
                biased;
                _ = &mut cancelled => Err(End::Shutdown),
                _ = super::sleep_until(timer), if timer.is_some() => {
                    let (_, fault) = self.connect_fault.take().expect("timer is set");
                    self.connect_fault_fires(ws, fault).await
                }
                frame = ws.next() => self.on_frame(ws, frame).await,
                _ = super::sleep_until(due), if due.is_some() => self.on_due(ws).await,
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    async fn on_frame<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        frame: Option<std::result::Result<Message, WsError>>,
    ) -> Result {
        let frame = match frame {
            None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                return Err(End::ClientClosed);
            }
            Some(Err(e)) => return Err(End::Gone(e.to_string())),
            Some(Ok(Message::Text(t))) => RawFrame::Text(t.as_str().into()),
            Some(Ok(Message::Binary(b))) => RawFrame::Binary(b),
            // Pings are answered by tungstenite; a close ends the stream next.
            Some(Ok(_)) => return Ok(()),
        };
        let Some(i) = self.script.find(&frame, self.next_exchange) else {
            self.unmatched += 1;
            warn!(
                conn = %self.id,
                frame = %preview(&frame),
                "the client frame matches no recorded client frame of {}; nothing is sent (loosen the match with the header's \"match\" rules)",
                self.scenario.name
            );
            return Ok(());
        };
        self.next_exchange = i + 1;
        self.exchanges += 1;
        let mut rng = rng::derive(self.seed, &self.scenario.name, u64::from(self.exchanges));
        let exchange = &self.script.exchanges[i];
        let segment = Arc::new(expand_raw(
            &exchange.replies,
            &self.timing,
            self.jitter,
            &mut rng,
        ));
        debug!(conn = %self.id, exchange = i + 1, frames = segment.events.len(), "exchange matched");
        if self.active.is_some() {
            self.queued.push_back(segment);
            Ok(())
        } else {
            self.start(segment, rng, true);
            self.on_due(ws).await
        }
    }

    /// A `close` or `abort` fault timed from connect.
    async fn connect_fault_fires<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        fault: chaos::Fault,
    ) -> Result {
        *self.fault_counts.entry(fault.name()).or_default() += 1;
        info!(conn = %self.id, fault = fault.name(), event = 0, "fault injected");
        match fault.effect {
            chaos::fault::Effect::Close { code, reason } => self.close(ws, code, reason).await,
            _ => Err(End::Aborted),
        }
    }

    /// Starts playing a segment, with the faults in force now when `faulty`.
    fn start(&mut self, segment: Arc<Segment>, rng: Rng, faulty: bool) {
        let mut faults = Vec::new();
        if faulty {
            let library = self.app.library();
            faults = chaos::profile_faults(&library, &self.profiles, |_| {});
            faults.extend(self.inline.iter().cloned());
            faults.retain(|f| !f.is_handshake() && !f.is_connect_timer());
        }
        let chaos = TurnChaos {
            faults,
            state: TurnState::default(),
            context: Context {
                turn: self.exchanges,
                attempt: self.attempt,
                since_connect: std::time::Duration::ZERO,
            },
            connected_at: self.connected_at,
        };
        self.active = Some(ActiveTurn::new(
            self.scenario.name.clone(),
            String::new(),
            self.timing.clone(),
            rng,
            segment,
            chaos,
            &mut self.chaos_rng,
        ));
    }

    /// Sends what is due (at most a batch), then flushes once.
    async fn on_due<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
    ) -> Result {
        let now = tokio::time::Instant::now();
        let mut fed = false;
        for _ in 0..DUE_BATCH {
            let Some(turn) = self.active.as_mut() else {
                break;
            };
            let step = match turn.pop_due(now, &mut self.chaos_rng) {
                Due::Event(event, _) => Step::Send(event.clone()),
                Due::Op(op) => Step::Op(op),
                Due::Nothing => break,
                Due::Finished => Step::Finished,
            };
            match step {
                Step::Send(event) => fed |= self.send(ws, &event).await?,
                Step::Op(op) => fed |= self.deliver(ws, op).await?,
                Step::Finished => {
                    self.active = None;
                    if let Some(next) = self.queued.pop_front() {
                        let rng =
                            rng::derive(self.seed, &self.scenario.name, u64::from(self.exchanges));
                        self.start(next, rng, true);
                    }
                }
            }
        }
        if fed {
            ws.flush().await.map_err(|e| End::Gone(e.to_string()))?;
        }
        Ok(())
    }

    /// Queues one event's frame; true when something was fed to the socket.
    async fn send<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        event: &Event,
    ) -> Result<bool> {
        let Event::Frame(frame) = event else {
            // Markers (and nothing else reaches a raw connection) are not sent.
            return Ok(false);
        };
        match frame {
            RawFrame::Close { code, reason } => {
                self.close(ws, *code, reason.clone()).await.map(|_| false)
            }
            other => {
                let message = other.message().expect("a data frame");
                self.feed(ws, vec![message]).await.map(|_| true)
            }
        }
    }

    async fn deliver<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        op: Op,
    ) -> Result<bool> {
        if let Some(f) = &op.fault {
            *self.fault_counts.entry(f.kind).or_default() += 1;
            info!(conn = %self.id, fault = f.kind, event = f.event_index, exchange = self.exchanges, "fault injected");
        }
        match op.delivery {
            Delivery::Send(event) => self.send(ws, &event).await,
            Delivery::Corrupt(Event::Frame(frame)) => {
                self.send(ws, &Event::Frame(frame.corrupted())).await
            }
            Delivery::Fragmented(Event::Frame(frame), pieces) => {
                let messages = match &frame {
                    RawFrame::Text(_) => fragments(frame.payload(), Data::Text, pieces),
                    RawFrame::Binary(_) => fragments(frame.payload(), Data::Binary, pieces),
                    RawFrame::Close { .. } => return self.send(ws, &Event::Frame(frame)).await,
                };
                self.feed(ws, messages).await.map(|_| true)
            }
            Delivery::Corrupt(_) | Delivery::Fragmented(..) | Delivery::Nothing => Ok(false),
            Delivery::Close { code, reason } => self.close(ws, code, reason).await.map(|_| false),
            Delivery::Abort => {
                let _ = ws.flush().await;
                Err(End::Aborted)
            }
            Delivery::Halt => {
                // The exchange stops for good; the socket stays open.
                self.active = None;
                Ok(false)
            }
        }
    }

    async fn feed<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        messages: Vec<Message>,
    ) -> Result {
        for m in messages {
            ws.feed(m).await.map_err(|e| End::Gone(e.to_string()))?;
        }
        self.frames_sent += 1;
        Ok(())
    }

    /// Closes with `code`: 1006 means a connection lost without a close frame, 1005 a
    /// close frame without a code.
    async fn close<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        code: u16,
        reason: String,
    ) -> Result {
        let _ = ws.flush().await;
        match code {
            1006 => Err(End::Aborted),
            1005 => {
                let _ = ws.close(None).await;
                Err(End::Closed(code))
            }
            _ => {
                let _ = ws
                    .close(Some(CloseFrame {
                        code: CloseCode::from(code),
                        reason: reason.into(),
                    }))
                    .await;
                Err(End::Closed(code))
            }
        }
    }
}

enum Step {
    Send(Event),
    Op(Op),
    Finished,
}

/// A message split into `pieces` WebSocket frames (first with the opcode, then
/// continuation frames, the last with FIN).
fn fragments(payload: &[u8], kind: Data, pieces: u32) -> Vec<Message> {
    let n = (pieces as usize).clamp(1, payload.len().max(1));
    let size = payload.len().div_ceil(n).max(1);
    let chunks: Vec<&[u8]> = if payload.is_empty() {
        vec![payload]
    } else {
        payload.chunks(size).collect()
    };
    let last = chunks.len() - 1;
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let opcode = if i == 0 {
                OpCode::Data(kind)
            } else {
                OpCode::Data(Data::Continue)
            };
            Message::Frame(Frame::message(
                bytes::Bytes::copy_from_slice(chunk),
                opcode,
                i == last,
            ))
        })
        .collect()
}

/// The first 120 characters of a frame, for the log.
fn preview(frame: &RawFrame) -> String {
    match frame {
        RawFrame::Text(t) => t.chars().take(120).collect(),
        RawFrame::Binary(b) => format!("<{} binary bytes>", b.len()),
        RawFrame::Close { code, .. } => format!("<close {code}>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_fragments_carry_the_binary_opcode_first_and_join_back() {
        let msgs = fragments(&[1, 2, 3, 4, 5], Data::Binary, 2);
        assert_eq!(msgs.len(), 2);
        let mut joined = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            let Message::Frame(f) = m else {
                panic!("{m:?} is not a raw frame")
            };
            let want = if i == 0 {
                OpCode::Data(Data::Binary)
            } else {
                OpCode::Data(Data::Continue)
            };
            assert_eq!(f.header().opcode, want);
            assert_eq!(f.header().is_final, i == 1);
            joined.extend_from_slice(f.payload());
        }
        assert_eq!(joined, [1, 2, 3, 4, 5]);
    }
}
