//! A connection that replays a `raw` recording: a protocol pawmock does not know.
//!
//! Like [`super::Connection`], one task runs one `select!` over the client's frames,
//! the next due frame and shutdown, and plays through the same [`ActiveTurn`] (so
//! speed, chaos and its seeded RNG work the same way). What differs: client frames are
//! not decoded but matched against the recorded client frames, a match starts the
//! server frames recorded after it, and frames are sent exactly as recorded.
//!
//! It is a first-class connection of the control plane: in the registry with its live
//! state, journaled like the others (the API's commands are carried out by the same
//! code as a PocketPaw connection's, `connection/commands.rs`; `control.rs` beside this
//! file says what differs), and counted in `/metrics` under the dialect `raw`. Its
//! frames are written through the same [`Wire`] as a PocketPaw connection's, so they
//! are counted, journaled and corrupted in the same place.

mod control;

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::{debug, info, warn};

use super::commands::Commanded;
use super::control::Ctl;
use super::deliver::fragments_of;
use super::setup::Setup;
use super::turn::{ActiveTurn, Due};
use super::wire::{Gone, Recorded, Wire};
use crate::app::App;
use crate::chaos::{self, Delivery, Op};
use crate::control::What;
use crate::control::registry::Facts;
use crate::library::Scenario;
use crate::library::raw::RawScript;
use crate::metrics::{OpenConnection, TurnCounters};
use crate::playback::raw::expand_raw;
use crate::playback::{Segment, Timing};
use crate::protocol::Event;
use crate::protocol::raw::RawFrame;
use crate::rng::{self, Rng};

/// Frames sent in one go before the loop looks at its client again.
const DUE_BATCH: usize = 64;

/// The raw recording a connection pins with `?scenario=`, if it pins one.
pub(crate) fn pinned(app: &App, setup: &Setup) -> Option<(Arc<Scenario>, Arc<RawScript>)> {
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
    /// The control API closed the connection with this code.
    ByControl(u16),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::ClientClosed => write!(f, "client closed"),
            End::Gone(why) => write!(f, "connection lost: {why}"),
            End::Shutdown => write!(f, "server shutdown (1001)"),
            End::Closed(code) => write!(f, "closed by the recording or chaos ({code})"),
            End::Aborted => write!(f, "aborted by the recording or chaos (no close frame)"),
            End::ByControl(code) => write!(f, "closed through the control API ({code})"),
        }
    }
}

impl From<Gone> for End {
    fn from(Gone(why): Gone) -> End {
        End::Gone(why)
    }
}

type Result<T = ()> = std::result::Result<T, End>;

struct RawConnection<'a, S> {
    app: Arc<App>,
    id: String,
    scenario: Arc<Scenario>,
    script: Arc<RawScript>,
    timing: Timing,
    /// Set only when the URL or the recording asks for jitter.
    jitter: Option<f64>,
    seed: u64,
    /// The connection's chaos: RNG, connect timer, each exchange's faults, faults counted.
    chaos: chaos::ConnectionChaos,
    active: Option<Box<ActiveTurn>>,
    /// Exchanges matched while another played: each starts when the one before ends.
    queued: VecDeque<Arc<Segment>>,
    /// Where matching starts: the exchange after the last one matched.
    next_exchange: usize,
    exchanges: u32,
    unmatched: u64,
    /// `?freeze=`: the marker a turn holds at.
    freeze: Option<String>,
    /// The socket, every frame written and the count of them.
    wire: Wire<'a, S, Recorded>,
    /// Keeps this connection in `pawmock_connections_open{dialect="raw"}`.
    _open_metric: OpenConnection,
    /// The playing turn's `pawmock_turns_completed/cancelled` counters.
    turn_metric: Option<TurnCounters>,
    /// The control plane's side: registry entry, command mailbox, hold and pace, journal.
    ctl: Ctl,
}

/// Serves a connection that pinned a raw recording.
pub(crate) async fn serve<S>(
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
    let mut chaos = setup.chaos;
    chaos.opened(tokio::time::Instant::now());
    let facts = Facts {
        dialect: "raw".into(),
        scenario: Some(scenario.name.clone()),
        session: String::new(),
    };
    let ctl = Ctl::new(&app, &id, params.run.clone(), &params.query, facts);
    let open_metric = app.metrics.raw_connection_opened();
    let mut conn = RawConnection {
        seed: params.seed.unwrap_or(app.config.seed),
        id,
        timing,
        jitter,
        chaos,
        active: None,
        queued: VecDeque::new(),
        next_exchange: 0,
        exchanges: 0,
        unmatched: 0,
        freeze: params.freeze.clone(),
        wire: Wire::recorded(ws),
        _open_metric: open_metric,
        turn_metric: None,
        ctl,
        app,
        scenario,
        script,
    };
    conn.ctl.record(What::Opened {
        dialect: "raw".into(),
        scenario: Some(conn.scenario.name.clone()),
        session: String::new(),
    });
    info!(conn = %conn.id, scenario = %conn.scenario.name, dialect = "raw", query = %setup.params.query, "connection opened");
    if let Some(problem) = conn.freeze_problem() {
        // As for any URL problem: the raw protocol has no error frame to carry it.
        warn!(conn = %conn.id, "{problem}");
    }
    let opened = std::time::Instant::now();
    let end = conn.run().await;
    if let Some(turn) = conn.active.take() {
        conn.ctl.why = "connection closed";
        conn.finish(turn, true);
    }
    let (code, by) = match &end {
        End::ClientClosed => (conn.wire.client_close(), "client"),
        End::Gone(_) => (None, "client"),
        End::Shutdown => (Some(1001), "server"),
        End::Closed(1005 | 1006) | End::Aborted => (None, "server"),
        End::Closed(code) | End::ByControl(code) => (Some(*code), "server"),
    };
    let reason = conn.ctl.close_reason.take().unwrap_or_default();
    conn.ctl.record(What::Closed {
        code,
        reason,
        end: end.to_string(),
        by: by.into(),
    });
    if let End::Shutdown = end {
        conn.wire
            .close(CloseCode::Away, "pawmock is shutting down")
            .await;
    }
    if matches!(end, End::Shutdown | End::Closed(_) | End::ByControl(_)) {
        conn.wire.linger().await;
    }
    info!(
        conn = %conn.id,
        end = %end,
        dialect = "raw",
        exchanges = conn.exchanges,
        unmatched = conn.unmatched,
        frames_sent = conn.wire.frames_sent(),
        faults = %conn.chaos.summary(),
        secs = opened.elapsed().as_secs_f32(),
        "connection closed"
    );
    // Dropping `conn` takes it out of the registry (its `Ctl`).
}

impl<S: AsyncRead + AsyncWrite + Unpin> RawConnection<'_, S> {
    async fn run(&mut self) -> End {
        // A connection fault timed at 0 ("close at once") fires before any greeting.
        if let Some(fault) = self.chaos.take_immediate()
            && let Err(end) = self.connect_fault_fires(fault).await
        {
            return end;
        }
        if !self.script.greeting.is_empty() {
            let mut rng = rng::derive(self.seed, &self.scenario.name, 0);
            let segment = expand_raw(&self.script.greeting, &self.timing, self.jitter, &mut rng);
            // As PocketPaw greetings, the greeting does not pass through chaos.
            self.start(Arc::new(segment), rng, false);
        }
        if let Err(end) = self.on_due().await {
            return end;
        }
        let shutdown = self.app.shutdown.clone();
        let cancelled = shutdown.cancelled();
        tokio::pin!(cancelled);
        // The control API's mailbox (its bell is one branch below).
        let live = self.ctl.live.clone();
        loop {
            // What the control API shows, before the loop waits.
            self.sync_state();
            let due = self.active.as_deref().and_then(ActiveTurn::next_due);
            let timer = self.chaos.timer();
            let step = tokio::select! {
                biased;
                _ = &mut cancelled => Err(End::Shutdown),
                _ = super::sleep_until(timer), if timer.is_some() => {
                    let fault = self.chaos.take_timer().expect("timer is set");
                    self.connect_fault_fires(fault).await
                }
                frame = self.wire.next() => self.on_frame(frame).await,
                _ = super::sleep_until(due), if due.is_some() => self.on_due().await,
                _ = live.rung() => Box::pin(self.on_commands()).await,
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    async fn on_frame(&mut self, frame: Option<std::result::Result<Message, WsError>>) -> Result {
        let frame = match frame {
            None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                return Err(End::ClientClosed);
            }
            Some(Err(e)) => return Err(End::Gone(e.to_string())),
            Some(Ok(Message::Text(t))) => RawFrame::Text(t.as_str().into()),
            Some(Ok(Message::Binary(b))) => RawFrame::Binary(b),
            Some(Ok(Message::Close(frame))) => {
                // tungstenite answers the close itself; the stream ends next.
                self.ctl.close_reason = frame.as_ref().map(|f| f.reason.to_string());
                self.wire.client_closed(frame.map(|f| u16::from(f.code)));
                return Ok(());
            }
            // Pings are answered by tungstenite.
            Some(Ok(_)) => return Ok(()),
        };
        let found = self.script.find(&frame, self.next_exchange);
        let action = if found.is_some() { "raw" } else { "unmatched" };
        self.ctl
            .client_frame(action.into(), None, &frame.journal_text());
        let Some(i) = found else {
            self.unmatched += 1;
            self.app
                .metrics
                .client_frame_rejected(crate::metrics::Rejected::Undecodable);
            warn!(
                conn = %self.id,
                frame = %frame.preview(120),
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
            self.on_due().await
        }
    }

    /// A `close` or `abort` fault timed from connect.
    async fn connect_fault_fires(&mut self, fault: chaos::Fault) -> Result {
        super::connect_fault::applied(&mut self.chaos, &self.ctl, &self.id, &fault);
        match fault.effect.on_timer() {
            Delivery::Close { code, reason } => Err(self.close(code, reason).await),
            _ => Err(End::Aborted),
        }
    }

    /// Starts playing a segment, with the faults in force now when `faulty` (an
    /// exchange; the greeting is the connection's `on_connect` turn and has none).
    fn start(&mut self, segment: Arc<Segment>, rng: Rng, faulty: bool) {
        let mut faults = Vec::new();
        if faulty {
            let library = self.app.library();
            let injected = std::mem::take(&mut self.ctl.next_faults);
            faults = self.chaos.turn_faults(&*library, None, injected, |_| {});
        }
        self.ctl.record(What::TurnStarted {
            scenario: self.scenario.name.clone(),
            turn: u64::from(self.exchanges),
            session: String::new(),
            trigger: if faulty { "message" } else { "on_connect" }.into(),
        });
        self.turn_metric = Some(self.app.metrics.turn_started(&self.scenario.name));
        let chaos = self.chaos.turn(self.exchanges, faults);
        let mut turn = Box::new(ActiveTurn::new(
            self.scenario.name.clone(),
            String::new(),
            self.timing.clone(),
            rng,
            segment,
            chaos,
            &mut self.chaos.rng,
        ));
        turn.scripted = false;
        self.active = Some(turn);
        self.control_new_turn();
    }

    /// A turn is over: journaled, counted, and the next queued exchange starts.
    fn finish(&mut self, turn: Box<ActiveTurn>, cancelled: bool) {
        let what = if cancelled {
            What::TurnCancelled {
                scenario: turn.scenario.clone(),
                frames: turn.sent,
                why: std::mem::take(&mut self.ctl.why).into(),
            }
        } else {
            What::TurnEnded {
                scenario: turn.scenario.clone(),
                frames: turn.sent,
            }
        };
        self.ctl.record(what);
        if let Some(m) = self.turn_metric.take() {
            m.ended(cancelled);
        }
    }

    /// Starts the exchange matched while another played, if there is one.
    fn start_queued(&mut self) -> bool {
        let Some(next) = self.queued.pop_front() else {
            return false;
        };
        let rng = rng::derive(self.seed, &self.scenario.name, u64::from(self.exchanges));
        self.start(next, rng, true);
        true
    }

    /// Sends what is due (at most a batch), then flushes once.
    async fn on_due(&mut self) -> Result {
        let now = tokio::time::Instant::now();
        for _ in 0..DUE_BATCH {
            if !self.play_one(now, false).await? {
                break;
            }
        }
        Ok(self.wire.flush(&mut self.ctl).await?)
    }

    /// Plays the next delivery that is due (`force`: the next one whatever its time, for
    /// a `step`); false when nothing was, or the turn is over or held.
    async fn play_one(&mut self, now: tokio::time::Instant, force: bool) -> Result<bool> {
        let Some(turn) = self.active.as_mut() else {
            return Ok(false);
        };
        // When the delivery is due (pauses shifted in), for the lateness histogram; a
        // `step` sends it early on purpose and is not timed.
        let scheduled = if force { None } else { turn.next_due() };
        let due = if force {
            turn.pop_next(now, &mut self.chaos.rng)
        } else {
            turn.pop_due(now, &mut self.chaos.rng)
        };
        let step = match due {
            Due::Event(event, _) => Step::Send(event.clone()),
            Due::Op(op) => Step::Op(op),
            Due::Nothing => return Ok(false),
            Due::Finished => Step::Finished,
        };
        self.ctl.scheduled = Some((turn.last_scheduled(), turn.t0));
        let late = |app: &App| {
            if let Some(at) = scheduled {
                app.metrics.lateness(now.saturating_duration_since(at));
            }
        };
        match step {
            Step::Send(Event::Marker { name })
            | Step::Op(Op {
                delivery: Delivery::Send(Event::Marker { name }),
                ..
            }) => Ok(!self.on_marker(&name)),
            Step::Send(event) => {
                late(&self.app);
                self.send(&event).await?;
                Ok(true)
            }
            Step::Op(op) => {
                late(&self.app);
                self.deliver(op).await?;
                // A delivery that wrote nothing (a dropped frame) leaves no time behind.
                self.ctl.scheduled = None;
                Ok(true)
            }
            Step::Finished => {
                self.ctl.scheduled = None;
                let turn = self.active.take().expect("checked above");
                self.finish(turn, false);
                Ok(self.start_queued())
            }
        }
    }

    /// Queues one event's frame (markers and any other event are not sent).
    async fn send(&mut self, event: &Event) -> Result {
        let Event::Frame(frame) = event else {
            return Ok(());
        };
        match frame {
            RawFrame::Close { code, reason } => Err(self.close(*code, reason.clone()).await),
            // Cut in half when a `corrupt` fault was injected through the control API.
            other => Ok(self.wire.feed_frame(&mut self.ctl, other).await?),
        }
    }

    async fn deliver(&mut self, op: Op) -> Result {
        if let Some(f) = &op.fault {
            self.chaos.acted(f.kind);
            self.app.metrics.fault_applied(f.kind.name());
            info!(conn = %self.id, fault = f.kind.name(), event = f.event_index, exchange = self.exchanges, "fault injected");
            self.ctl.record(What::FaultApplied {
                fault: f.kind.to_string(),
                stage: "turn".into(),
                trigger: format!("event {} of exchange {}", f.event_index, self.exchanges),
            });
        }
        match op.delivery {
            Delivery::Send(event) => self.send(&event).await,
            Delivery::Corrupt(Event::Frame(frame)) => {
                self.send(&Event::Frame(frame.corrupted())).await
            }
            Delivery::Fragmented(Event::Frame(frame), pieces) => {
                let messages = match &frame {
                    RawFrame::Text(_) => fragments_of(frame.payload(), Data::Text, pieces),
                    RawFrame::Binary(_) => fragments_of(frame.payload(), Data::Binary, pieces),
                    RawFrame::Close { .. } => return self.send(&Event::Frame(frame)).await,
                };
                Ok(self
                    .wire
                    .feed_recorded(&mut self.ctl, &frame, messages)
                    .await?)
            }
            Delivery::Corrupt(_) | Delivery::Fragmented(..) | Delivery::Nothing => Ok(()),
            Delivery::Close { code, reason } => Err(self.close(code, reason).await),
            Delivery::Abort => {
                let _ = self.wire.flush(&mut self.ctl).await;
                Err(End::Aborted)
            }
            Delivery::Halt => {
                // The exchange stops for good; the socket stays open.
                self.halt();
                Ok(())
            }
        }
    }

    /// Closes with `code` (what was queued goes out first): 1006 means a connection lost
    /// without a close frame, 1005 a close frame without a code. Says how it ended.
    async fn close(&mut self, code: u16, reason: String) -> End {
        let _ = self.wire.flush(&mut self.ctl).await;
        match code {
            1006 => End::Aborted,
            1005 => {
                self.wire.close_without_code().await;
                End::Closed(code)
            }
            _ => {
                self.ctl.close_reason = Some(reason.clone());
                self.wire.close(CloseCode::from(code), reason).await;
                End::Closed(code)
            }
        }
    }
}

enum Step {
    Send(Event),
    Op(Op),
    Finished,
}

#[cfg(test)]
mod tests;
