//! One WebSocket connection: its state and the loop that serves it.
//!
//! A single task runs a `select!` over the client's frames, the next due event of the
//! turn being played, and shutdown. So a client's `stop`, ping or close is handled while
//! a turn plays, and a slow client slows only its own socket.

mod control;
mod dashboard;
mod deliver;
pub mod hooks;
mod net;
mod on_connect;
pub mod params;
pub mod raw;
pub mod setup;
mod turn;
mod violation;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::{debug, info, warn};

use crate::app::{App, Push};
use crate::chaos::{self, Context, Delivery, Fault, Op, TurnState};
use crate::choose::{Choice, choose};
use crate::metrics::{FrameKind, OpenConnection, Rejected};
use crate::playback::{Timing, expand_turn};
use crate::protocol::action::decode;
use crate::protocol::{Action, Dialect, DialectChoice, Event, PlanAnswer, dialect};
use crate::rng::{self, Rng};
use crate::sessions::new_session_id;
use crate::speed::Speed;

pub use params::Params;
pub use setup::Setup;
use turn::{ActiveTurn, TurnChaos};

/// Most events sent in one go before the connection looks at its client again.
const DUE_BATCH: usize = 64;

/// Why the loop ended, for the close log line.
#[derive(Debug)]
enum End {
    /// The client closed (with this close code, if it sent one).
    ClientClosed(Option<u16>),
    /// The socket failed (the client vanished without a close frame, …).
    Gone(String),
    Shutdown,
    TooLarge,
    /// A chaos `close` fault closed the connection with this code.
    ChaosClose(u16),
    /// A chaos `abort` fault dropped the connection without a close frame.
    ChaosAbort,
    /// The control API closed the connection with this code.
    ByControl(u16),
    /// The client broke RFC 6455 (close code 1007 or 1002, and the reason).
    Violation(u16, String),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::ClientClosed(Some(code)) => write!(f, "client closed ({code})"),
            End::ClientClosed(None) => write!(f, "client closed"),
            End::Gone(why) => write!(f, "connection lost: {why}"),
            End::Shutdown => write!(f, "server shutdown (1001)"),
            End::TooLarge => write!(f, "client frame too large (1009)"),
            End::ChaosClose(code) => write!(f, "closed by chaos ({code})"),
            End::ChaosAbort => write!(f, "aborted by chaos (no close frame)"),
            End::ByControl(code) => write!(f, "closed through the control API ({code})"),
            End::Violation(code, why) => write!(f, "protocol violation ({code}): {why}"),
        }
    }
}

/// A connection's state.
pub struct Connection {
    app: Arc<App>,
    id: String,
    params: Params,
    choice: DialectChoice,
    dialect: Dialect,
    /// The session chats go to unless a frame names another.
    session_id: String,
    seed: u64,
    speed: Speed,
    /// Messages sent to each scenario so far (for `turn` rules and recordings).
    turn_counts: HashMap<String, u32>,
    turns: u64,
    frames_sent: u64,
    active: Option<ActiveTurn>,
    /// The code of the client's close frame, once it sent one.
    close_code: Option<u16>,
    /// Chaos profiles looked up at each turn, and the URL's inline faults.
    profiles: Vec<String>,
    inline: Vec<Fault>,
    chaos_rng: Rng,
    attempt: u32,
    connected_at: tokio::time::Instant,
    /// A `close`/`abort` fault timed from connect, and when it fires.
    connect_fault: Option<(tokio::time::Instant, Fault)>,
    /// Injected faults by kind, for the close line.
    fault_counts: BTreeMap<&'static str, u64>,
    /// Frames fed to the socket and not yet flushed.
    unflushed: bool,
    /// Keeps this connection in `pawmock_connections_open` (see `metrics.rs`).
    open_metric: OpenConnection,
    /// The playing turn's `pawmock_turns_completed/cancelled` counters.
    turn_metric: Option<crate::metrics::TurnCounters>,
    /// The control plane's side: registry entry, command channel, hold and pace.
    ctl: control::Ctl,
}

type Result<T = ()> = std::result::Result<T, End>;

impl Connection {
    pub fn new(app: Arc<App>, id: String, setup: Setup) -> Self {
        let Setup {
            params,
            faults,
            profiles,
            inline,
            mut rng,
            attempt,
            ..
        } = setup;
        let connected_at = tokio::time::Instant::now();
        let connect_fault = connect_timer(&faults, attempt, &mut rng, connected_at);
        let choice = params.dialect.unwrap_or(app.config.dialect);
        let dialect = match choice {
            DialectChoice::Dashboard => Dialect::Dashboard,
            DialectChoice::Docs | DialectChoice::Auto => Dialect::Docs,
        };
        let facts = crate::control::registry::Facts {
            dialect: choice.to_string(),
            scenario: params.scenario.clone(),
            session: params.resume_session.clone().unwrap_or_default(),
        };
        let ctl = control::Ctl::new(&app, &id, params.run.clone(), &params.query, facts);
        let open_metric = app.metrics.connection_opened(choice);
        Connection {
            ctl,
            open_metric,
            turn_metric: None,
            seed: params.seed.unwrap_or(app.config.seed),
            speed: params.speed.unwrap_or(app.config.speed),
            session_id: match &params.resume_session {
                // The real backend resumes only a stored `websocket_<x>` session and
                // binds a fresh id otherwise (addendum C.4); the docs dialect adopts it.
                Some(id) if dialect == Dialect::Docs || dashboard::resumable(&app, id) => {
                    id.clone()
                }
                _ => new_session_id(),
            },
            app,
            id,
            choice,
            dialect,
            params,
            turn_counts: HashMap::new(),
            turns: 0,
            frames_sent: 0,
            active: None,
            close_code: None,
            profiles,
            inline,
            chaos_rng: rng,
            attempt,
            connected_at,
            connect_fault,
            fault_counts: BTreeMap::new(),
            unflushed: false,
        }
    }

    /// Serves the connection until the client leaves or the server shuts down.
    pub async fn run<S>(mut self, ws: &mut WebSocketStream<S>, param_errors: Vec<String>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let opened = Instant::now();
        self.ctl
            .live
            .update(|f| f.session = self.session_id.clone());
        self.ctl.record(crate::control::What::Opened {
            dialect: self.choice.to_string(),
            scenario: self.params.scenario.clone(),
            session: self.session_id.clone(),
        });
        info!(
            conn = %self.id,
            scenario = self.params.scenario.as_deref().unwrap_or("-"),
            dialect = %self.choice,
            session = %self.session_id,
            query = %self.params.query,
            "connection opened"
        );
        // A connection fault timed at 0 ("close at once") fires before any greeting.
        let immediate = self
            .connect_fault
            .take_if(|(at, _)| *at <= self.connected_at);
        let end = match immediate {
            Some((_, fault)) => Box::pin(self.connect_fault_fires(ws, fault)).await.err(),
            None => None,
        };
        let end = match end {
            Some(end) => end,
            None => match Box::pin(self.greet(ws, param_errors)).await {
                Ok(()) => match Box::pin(self.start_on_connect(ws)).await {
                    Ok(()) => self.serve(ws).await,
                    Err(end) => end,
                },
                Err(end) => end,
            },
        };
        if let Some(turn) = self.active.take() {
            if self.dialect == Dialect::Dashboard
                && matches!(end, End::ClientClosed(_) | End::Gone(_))
            {
                // A dropped dashboard socket does not cancel the turn (addendum C.6).
                // It plays on to its end elsewhere, so it counts as completed.
                dashboard::play_on_without(
                    self.app.clone(),
                    turn,
                    self.chaos_rng.clone(),
                    self.params.run.clone(),
                );
                if let Some(m) = self.turn_metric.take() {
                    m.ended(false);
                }
            } else {
                self.ctl.record(crate::control::What::TurnCancelled {
                    scenario: turn.scenario.clone(),
                    frames: turn.sent,
                    why: "connection closed".into(),
                });
                self.store_answer(&turn, true);
                if let Some(m) = self.turn_metric.take() {
                    m.ended(true);
                }
            }
        }
        let (code, by) = match &end {
            End::ClientClosed(code) => (*code, "client"),
            End::Gone(_) => (None, "client"),
            End::Shutdown => (Some(1001), "server"),
            End::TooLarge => (Some(1009), "server"),
            End::ChaosClose(code) | End::ByControl(code) => (Some(*code), "server"),
            End::ChaosAbort => (None, "server"),
            End::Violation(code, why) => {
                self.ctl.close_reason = Some(why.clone());
                (Some(*code), "server")
            }
        };
        let reason = self.ctl.close_reason.take().unwrap_or_default();
        self.ctl.record(crate::control::What::Closed {
            code,
            reason,
            end: end.to_string(),
            by: by.into(),
        });
        match &end {
            End::Shutdown => {
                let _ = ws
                    .close(Some(CloseFrame {
                        code: CloseCode::Away,
                        reason: "pawmock is shutting down".into(),
                    }))
                    .await;
            }
            End::TooLarge => {
                let _ = ws
                    .close(Some(CloseFrame {
                        code: CloseCode::Size,
                        reason: format!(
                            "frame too large: the limit is {} bytes",
                            self.app.config.max_frame_size
                        )
                        .into(),
                    }))
                    .await;
            }
            End::Violation(code, why) => {
                let _ = ws
                    .close(Some(CloseFrame {
                        code: CloseCode::from(*code),
                        reason: why.clone().into(),
                    }))
                    .await;
            }
            End::ClientClosed(_)
            | End::Gone(_)
            | End::ChaosClose(_)
            | End::ChaosAbort
            | End::ByControl(_) => {}
        }
        if matches!(
            end,
            End::Shutdown
                | End::TooLarge
                | End::Violation(..)
                | End::ChaosClose(_)
                | End::ByControl(_)
        ) {
            linger(ws).await;
        }
        info!(
            conn = %self.id,
            end = %end,
            dialect = %self.dialect,
            turns = self.turns,
            frames_sent = self.frames_sent,
            faults = %fault_summary(&self.fault_counts),
            secs = opened.elapsed().as_secs_f32(),
            "connection closed"
        );
        // On `ChaosAbort` the caller drops the socket without a close frame: that is the
        // fault itself.
    }

    async fn greet<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        param_errors: Vec<String>,
    ) -> Result {
        if self.dialect == Dialect::Dashboard {
            let event = Event::ConnectionInfo {
                connection_id: self.session_id.clone(),
            };
            self.send(ws, &event, None).await?;
        }
        if let Some(id) = self
            .params
            .resume_session
            .clone()
            .filter(|id| *id == self.session_id)
        {
            let messages = self.app.sessions.history(&id);
            self.send(
                ws,
                &Event::SessionSwitched {
                    session_id: id,
                    messages,
                },
                None,
            )
            .await?;
        }
        let param_errors = param_errors.into_iter().chain(self.freeze_problem());
        for message in param_errors {
            warn!(conn = %self.id, "{message}");
            self.send(ws, &Event::Error { message }, None).await?;
        }
        if let Some(name) = &self.params.scenario {
            let library = self.app.library();
            if library.get(name).is_none() {
                let message = format!(
                    "scenario `{name}` does not exist; known scenarios: {}",
                    library.names().join(", ")
                );
                warn!(conn = %self.id, "{message}");
                self.send(ws, &Event::Error { message }, None).await?;
            }
        }
        Ok(())
    }

    async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
    ) -> End {
        let shutdown = self.app.shutdown.clone();
        // One waiter for the whole connection: a new one per loop would register with
        // (and leave) the token's shared waiter list for every frame sent.
        let cancelled = shutdown.cancelled();
        tokio::pin!(cancelled);
        // Pushes go to dashboard connections only (the docs dialect has no such frames),
        // so the others never poll the channel, whose every poll takes its shared lock.
        // A stream, not `recv()` per loop: its wait stays registered between frames.
        let mut pushes: Option<Pushes> = None;
        // The control API's mailbox (its bell is one branch below).
        let live = self.ctl.live.clone();
        loop {
            if pushes.is_none() && self.dialect == Dialect::Dashboard {
                pushes = Some(BroadcastStream::new(self.app.pushes.subscribe()));
            }
            // What the control API shows, before the loop waits.
            self.sync_state();
            let due = self.active.as_ref().and_then(ActiveTurn::next_due);
            let timer = self.connect_fault.as_ref().map(|(at, _)| *at);
            let step = tokio::select! {
                biased;
                _ = &mut cancelled => Err(End::Shutdown),
                _ = sleep_until(timer), if timer.is_some() => {
                    let (_, fault) = self.connect_fault.take().expect("timer is set");
                    Box::pin(self.connect_fault_fires(ws, fault)).await
                }
                // The handlers are boxed: inlined, the largest of them (every action
                // the dashboard sends) would sit in every idle connection's task.
                frame = ws.next() => Box::pin(self.on_frame(ws, frame)).await,
                _ = sleep_until(due), if due.is_some() => Box::pin(self.on_due(ws)).await,
                Some(push) = next_push(&mut pushes), if pushes.is_some() => {
                    Box::pin(self.on_push(ws, push)).await
                }
                _ = live.rung() => Box::pin(self.on_commands(ws)).await,
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
        match frame {
            None => Err(End::ClientClosed(self.close_code)),
            Some(Err(WsError::Capacity(e))) => {
                warn!(conn = %self.id, "client frame too large: {e}");
                self.app.metrics.client_frame_rejected(Rejected::TooLarge);
                Err(End::TooLarge)
            }
            Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                Err(End::ClientClosed(self.close_code))
            }
            Some(Err(e)) => match violation::of(&e) {
                Some((code, why)) => {
                    warn!(conn = %self.id, code, "client broke the WebSocket protocol: {why}");
                    Err(End::Violation(code, why))
                }
                None => Err(End::Gone(e.to_string())),
            },
            Some(Ok(Message::Text(text))) => match decode(&text) {
                Ok(action) => {
                    let message = match &action {
                        Action::Chat { text, .. } => Some(text.as_str()),
                        _ => None,
                    };
                    self.ctl
                        .client_frame(hooks::action_name(&action), message, &text);
                    self.on_action(ws, action).await
                }
                Err(e) => {
                    self.ctl.client_frame("invalid".into(), None, &text);
                    self.app
                        .metrics
                        .client_frame_rejected(Rejected::Undecodable);
                    self.reject_input(ws, e.0).await
                }
            },
            Some(Ok(Message::Binary(bytes))) => {
                self.app.metrics.client_frame_rejected(Rejected::Binary);
                self.reject_input(
                    ws,
                    format!("binary frames are not part of the protocol ({} bytes ignored); send JSON text frames", bytes.len()),
                )
                .await
            }
            Some(Ok(Message::Close(frame))) => {
                // tungstenite answers the close itself; the stream ends next.
                self.ctl.close_reason = frame.as_ref().map(|f| f.reason.to_string());
                self.close_code = frame.map(|f| u16::from(f.code));
                debug!(conn = %self.id, code = ?self.close_code, "client sent close");
                Ok(())
            }
            Some(Ok(_)) => Ok(()), // ping/pong: tungstenite answers pings while we read
        }
    }

    /// Frames pushed to every dashboard connection (a reminder ringing).
    async fn on_push<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        push: std::result::Result<Push, BroadcastStreamRecvError>,
    ) -> Result {
        let frames = match push {
            Ok(push) if push.from.as_deref() == Some(self.id.as_str()) => return Ok(()),
            Ok(push) if !push.audience.includes(self.params.run.as_deref()) => return Ok(()),
            Ok(push) => push.frames,
            Err(BroadcastStreamRecvError::Lagged(n)) => {
                warn!(conn = %self.id, "{n} pushed frames skipped: the connection fell behind");
                return Ok(());
            }
        };
        for frame in frames.iter() {
            self.feed_text(ws, FrameKind::PUSH, Some(frame.clone()))
                .await?;
        }
        self.flush(ws).await
    }

    async fn reject_input<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        message: String,
    ) -> Result {
        warn!(conn = %self.id, "bad client frame: {message}");
        self.send(ws, &Event::Error { message }, None).await
    }

    async fn on_action<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        action: Action,
    ) -> Result {
        if self.choice == DialectChoice::Auto
            && let Some(d) = action.implied_dialect()
        {
            debug!(conn = %self.id, dialect = %d, "dialect detected");
            self.dialect = d;
            self.choice = if d == Dialect::Dashboard {
                DialectChoice::Dashboard
            } else {
                DialectChoice::Docs
            };
            self.open_metric.detected(self.choice);
        }
        self.ctl.why = match &action {
            Action::Stop => "stop",
            Action::Chat { .. } => "new message",
            Action::SwitchSession { .. } => "switch session",
            _ => "new session",
        };
        match action {
            Action::Chat {
                text, session_id, ..
            } => self.start_turn(ws, text, session_id).await,
            Action::Stop => match self.active.take() {
                Some(turn) => self.cancel(ws, turn).await,
                None => {
                    let sid = self.session_id.clone();
                    self.send(ws, &Event::StreamEnd, Some(&sid)).await
                }
            },
            Action::SwitchSession { session_id } => {
                self.leave_active(ws).await?;
                self.session_id = session_id.clone();
                let messages = self.app.sessions.history(&session_id);
                self.send(
                    ws,
                    &Event::SessionSwitched {
                        session_id,
                        messages,
                    },
                    None,
                )
                .await
            }
            Action::NewSession => {
                self.leave_active(ws).await?;
                self.session_id = new_session_id();
                let event = Event::NewSession {
                    session_id: self.session_id.clone(),
                };
                self.send(ws, &event, None).await
            }
            Action::Plan { answer, .. } => self.answer_plan(ws, answer).await,
            Action::Authenticate => Ok(()),
            Action::Legacy { name, frame } => {
                let library = self.app.library();
                let data = library.backend();
                let ctx = crate::backend::Ctx {
                    data: &data,
                    state: &self.app.backend,
                    panels: &self.app.panels,
                    now: std::time::SystemTime::now(),
                };
                let replies = crate::backend::answer(&ctx, &name, &frame);
                if name == "run_intention" {
                    let run = crate::backend::intention_run::IntentionRun::start(
                        &ctx,
                        &frame,
                        self.app.config.speed,
                    );
                    if let Some(run) = run {
                        self.app.announce_intention_run(run);
                    }
                }
                debug!(conn = %self.id, action = %name, replies = replies.len(), "dashboard action answered");
                for reply in replies {
                    self.send_json(ws, &reply).await?;
                }
                Ok(())
            }
        }
    }

    async fn start_turn<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        text: String,
        session_id: Option<String>,
    ) -> Result {
        self.cancel_active(ws).await?;
        // A message that names a session makes it the current one: later messages
        // without one, errors and an idle `stop` then carry the session the client uses.
        if let Some(named) = &session_id {
            self.session_id.clone_from(named);
        }
        let session_id = session_id.unwrap_or_else(|| self.session_id.clone());
        self.app.sessions.append(&session_id, "user", &text);
        let library = self.app.library();
        let counts = &self.turn_counts;
        let choice = choose(&library, self.params.scenario.as_deref(), &text, |name| {
            counts.get(name).copied().unwrap_or(0)
        });
        self.turns += 1;
        let (name, turn_index, body_owner) = match choice {
            Choice::Missing(message) => {
                warn!(conn = %self.id, "{message}");
                self.send(ws, &Event::Error { message }, Some(&session_id))
                    .await?;
                return self.send(ws, &Event::StreamEnd, Some(&session_id)).await;
            }
            Choice::Turn { scenario, turn } => {
                *self.turn_counts.entry(scenario.name.clone()).or_default() += 1;
                (
                    scenario.name.clone(),
                    turn,
                    turn::BodyRef::Scenario(scenario, turn),
                )
            }
            Choice::Fallback(body) => (
                "(fallback)".to_owned(),
                0,
                turn::BodyRef::Owned(Arc::new(body)),
            ),
        };
        let timing = self.timing_for(&body_owner);
        let index = self.turn_counts.get(&name).copied().unwrap_or(0) as u64;
        let (segment, rng) = match &body_owner {
            turn::BodyRef::Scenario(s, i) => {
                self.app.schedules.expand(s, *i, &timing, self.seed, index)
            }
            turn::BodyRef::Owned(body) => {
                let mut rng = rng::derive(self.seed, &name, index);
                (Arc::new(expand_turn(body, &timing, &mut rng)), rng)
            }
        };
        info!(conn = %self.id, scenario = %name, turn = turn_index + 1, session = %session_id, events = segment.events.len(), "turn started");
        self.turn_metric = Some(self.app.metrics.turn_started(&name));
        self.ctl.record(crate::control::What::TurnStarted {
            scenario: name.clone(),
            turn: self.turns,
            session: session_id.clone(),
            trigger: "message".into(),
        });
        let mut faults = chaos::profile_faults(&library, &self.profiles, |name| {
            debug!(conn = %self.id, "chaos profile `{name}` is gone; the turn plays without it");
        });
        faults.extend(self.inline.iter().cloned());
        faults.retain(|f| !f.is_handshake() && !f.is_connect_timer());
        faults.append(&mut self.ctl.next_faults);
        if let turn::BodyRef::Scenario(s, _) = &body_owner {
            faults.extend(
                s.chaos
                    .iter()
                    .filter(|f| !f.is_handshake() && !f.is_connect_timer())
                    .cloned(),
            );
        }
        let chaos = TurnChaos {
            faults,
            state: TurnState::default(),
            context: Context {
                turn: u32::try_from(self.turns).unwrap_or(u32::MAX),
                attempt: self.attempt,
                since_connect: std::time::Duration::ZERO,
            },
            connected_at: self.connected_at,
        };
        let mut turn = ActiveTurn::new(
            name,
            session_id,
            timing,
            rng,
            segment,
            chaos,
            &mut self.chaos_rng,
        );
        turn.for_dashboard = self.dialect == Dialect::Dashboard;
        turn.scripted = body_owner.is_scripted();
        self.active = Some(turn);
        self.control_new_turn();
        // Events due at once (stream_start, everything at speed 0) go out now.
        self.on_due(ws).await
    }

    fn timing_for(&self, body: &turn::BodyRef) -> Timing {
        let mut timing = Timing::default();
        if let turn::BodyRef::Scenario(s, _) = body {
            timing = timing.with(&s.timing);
        }
        timing = timing.with(&self.params.timing);
        timing.speed = timing.speed.times(self.speed);
        timing
    }

    /// Sends every event that is due, and moves the turn on (plan gate, end).
    async fn on_due<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
    ) -> Result {
        let played = self.play_due(ws).await;
        // Frames due together go out in one write: with TCP_NODELAY (set for cadence)
        // each flush is a segment of its own, and one per frame cost speed 0 more than
        // half its throughput.
        if played.is_ok() {
            self.flush(ws).await?;
        }
        played
    }

    /// Queues the events that are due, at most [`DUE_BATCH`] of them; the caller flushes.
    async fn play_due<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
    ) -> Result {
        let now = tokio::time::Instant::now();
        // At most a batch per call: at speed 0 a whole long answer is due at once, and
        // returning to the `select!` between batches lets a `stop`, a ping, a close or
        // shutdown in (and a client that stopped reading cannot hold shutdown off).
        for _ in 0..DUE_BATCH {
            if !self.play_one(ws, now, false).await? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Queues the next event that is due (`force`: the next one whatever its time, for a
    /// `step`); false when there was none or the turn is over or held.
    async fn play_one<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        now: tokio::time::Instant,
        force: bool,
    ) -> Result<bool> {
        let Some(turn) = self.active.as_mut() else {
            return Ok(false);
        };
        let scripted = turn.scripted;
        // When the next delivery is due (pauses already shifted in), for the lateness
        // histogram; a `step` sends it early on purpose and is not timed.
        let scheduled = if force { None } else { turn.next_due() };
        let due = if force {
            turn.pop_next(now, &mut self.chaos_rng)
        } else {
            turn.pop_due(now, &mut self.chaos_rng)
        };
        match due {
            turn::Due::Event(Event::Marker { name }, _) => {
                let name = name.clone();
                Ok(!self.on_marker(&name))
            }
            turn::Due::Event(event, session) => {
                if let Some(at) = scheduled {
                    self.app.metrics.lateness(now.saturating_duration_since(at));
                }
                let is_end = *event == Event::StreamEnd;
                let kind = FrameKind::of(event);
                let frame = dialect::render_text(event, self.dialect, session);
                let around = dashboard::Around::of(event, self.dialect, session, scripted);
                self.ctl.scheduled = Some((turn.last_scheduled(), turn.t0));
                // The dashboard fetches /api/sessions as soon as it sees the final
                // stream_end, so the answer is stored before that frame goes out.
                if is_end && turn.is_over() {
                    let turn = self.active.take().expect("checked above");
                    self.finish(turn, false);
                }
                self.feed_turn_frame(ws, kind, frame, around).await?;
                Ok(true)
            }
            turn::Due::Op(op) => {
                if let Some(at) = scheduled {
                    self.app.metrics.lateness(now.saturating_duration_since(at));
                }
                let sid = turn.session_id.clone();
                self.ctl.scheduled = Some((turn.last_scheduled(), turn.t0));
                if let Delivery::Send(Event::Marker { name }) = &op.delivery {
                    let name = name.clone();
                    return Ok(!self.on_marker(&name));
                }
                if matches!(op.delivery, Delivery::Send(Event::StreamEnd)) && turn.is_over() {
                    let turn = self.active.take().expect("checked above");
                    self.finish(turn, false);
                }
                self.deliver(ws, op, &sid).await?;
                Ok(true)
            }
            turn::Due::Nothing => Ok(false),
            turn::Due::Finished => {
                let turn = self.active.take().expect("checked above");
                self.finish(turn, false);
                Ok(false)
            }
        }
    }

    async fn answer_plan<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        answer: PlanAnswer,
    ) -> Result {
        match self.active.as_mut() {
            Some(turn) if turn.is_waiting_for_plan() => {
                turn.answer_plan(
                    Some(answer),
                    tokio::time::Instant::now(),
                    &mut self.chaos_rng,
                );
                info!(conn = %self.id, ?answer, "plan answered");
                self.on_due(ws).await
            }
            _ => {
                let verb = if answer == PlanAnswer::Approve {
                    "approve"
                } else {
                    "reject"
                };
                let message = format!("No active plan to {verb}");
                let sid = self.session_id.clone();
                self.send(ws, &Event::Error { message }, Some(&sid)).await
            }
        }
    }

    async fn cancel_active<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
    ) -> Result {
        match self.active.take() {
            Some(turn) => self.cancel(ws, turn).await,
            None => Ok(()),
        }
    }

    /// Ends a turn at once: what was sent stays, `stream_end` closes it.
    async fn cancel<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        turn: ActiveTurn,
    ) -> Result {
        let sid = turn.session_id.clone();
        self.finish(turn, true);
        self.send(ws, &Event::StreamEnd, Some(&sid)).await
    }

    fn finish(&mut self, turn: ActiveTurn, cancelled: bool) {
        let what = if cancelled {
            crate::control::What::TurnCancelled {
                scenario: turn.scenario.clone(),
                frames: turn.sent,
                why: std::mem::take(&mut self.ctl.why).into(),
            }
        } else {
            crate::control::What::TurnEnded {
                scenario: turn.scenario.clone(),
                frames: turn.sent,
            }
        };
        self.ctl.record(what);
        info!(
            conn = %self.id,
            scenario = %turn.scenario,
            session = %turn.session_id,
            events = turn.sent,
            cancelled,
            secs = turn.started.elapsed().as_secs_f32(),
            "turn finished"
        );
        if let Some(m) = self.turn_metric.take() {
            m.ended(cancelled);
        }
        self.store_answer(&turn, cancelled);
    }

    /// Stores the answer text, marked as interrupted when the turn was cut short.
    fn store_answer(&self, turn: &ActiveTurn, cancelled: bool) {
        store_answer(&self.app, self.dialect, turn, cancelled);
    }

    /// Carries out one delivery of the playing turn, logging the fault behind it.
    async fn deliver<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        op: Op,
        sid: &str,
    ) -> Result {
        if let Some(f) = &op.fault {
            *self.fault_counts.entry(f.kind).or_default() += 1;
            self.app.metrics.fault_applied(f.kind);
            info!(conn = %self.id, fault = f.kind, event = f.event_index, turn = self.turns, "fault injected");
            self.ctl.record(crate::control::What::FaultApplied {
                fault: f.kind.into(),
                stage: "turn".into(),
                trigger: format!("event {} of turn {}", f.event_index, self.turns),
            });
        }
        match op.delivery {
            Delivery::Send(event) => {
                let frame = dialect::render_text(&event, self.dialect, sid);
                let scripted = self.active.as_ref().is_none_or(|t| t.scripted);
                let around = dashboard::Around::of(&event, self.dialect, sid, scripted);
                self.feed_turn_frame(ws, FrameKind::of(&event), frame, around)
                    .await
            }
            Delivery::Corrupt(event) => match dialect::render(&event, self.dialect, sid) {
                Some(frame) => {
                    let kind = FrameKind::of(&event);
                    self.send_raw(ws, kind, vec![deliver::corrupt(&frame.to_string())])
                        .await
                }
                None => Ok(()),
            },
            Delivery::Fragmented(event, pieces) => match dialect::render(&event, self.dialect, sid)
            {
                Some(frame) => {
                    let kind = FrameKind::of(&event);
                    self.send_raw(ws, kind, deliver::fragments(&frame.to_string(), pieces))
                        .await
                }
                None => Ok(()),
            },
            Delivery::Close { code, reason } => self.chaos_close(ws, code, reason).await,
            Delivery::Abort => {
                // What was due before the abort reaches the client first.
                let _ = self.flush(ws).await;
                Err(End::ChaosAbort)
            }
            Delivery::Halt => {
                // The turn stops for good; the socket stays open and keeps answering.
                if let Some(turn) = self.active.take() {
                    self.ctl.why = "fault";
                    self.finish(turn, true);
                }
                Ok(())
            }
            Delivery::Nothing => Ok(()),
        }
    }

    async fn chaos_close<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        code: u16,
        reason: String,
    ) -> Result {
        self.ctl.close_reason = Some(reason.clone());
        let _ = ws
            .close(Some(CloseFrame {
                code: CloseCode::from(code),
                reason: reason.into(),
            }))
            .await;
        Err(End::ChaosClose(code))
    }

    /// A `close` or `abort` fault timed from connect.
    async fn connect_fault_fires<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        fault: Fault,
    ) -> Result {
        *self.fault_counts.entry(fault.name()).or_default() += 1;
        self.app.metrics.fault_applied(fault.name());
        info!(conn = %self.id, fault = fault.name(), event = 0, "fault injected");
        self.ctl.record(crate::control::What::FaultApplied {
            fault: fault.name().into(),
            stage: "connect".into(),
            trigger: format!(
                "{:?} after connect",
                fault.trigger.after.unwrap_or_default()
            ),
        });
        match fault.effect {
            chaos::fault::Effect::Close { code, reason } => {
                self.chaos_close(ws, code, reason).await
            }
            _ => Err(End::ChaosAbort),
        }
    }

    async fn send_raw<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        kind: FrameKind,
        messages: Vec<Message>,
    ) -> Result {
        for m in messages {
            self.app.metrics.frame_sent(kind, m.len());
            if let Message::Text(t) = &m {
                self.ctl.frame_sent(t.as_str());
            }
            ws.feed(m).await.map_err(|e| End::Gone(e.to_string()))?;
        }
        self.ctl.flush_journal();
        ws.flush().await.map_err(|e| End::Gone(e.to_string()))?;
        self.unflushed = false;
        self.frames_sent += 1;
        Ok(())
    }

    /// Sends a frame as it is (the replies to dashboard actions have one shape only).
    async fn send_json<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        frame: &serde_json::Value,
    ) -> Result {
        self.send_text(ws, FrameKind::REPLY, Some(frame.to_string()))
            .await
    }

    /// Renders and sends one event in this connection's dialect (events the dialect has
    /// no frame for are skipped).
    async fn send<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        event: &Event,
        session: Option<&str>,
    ) -> Result {
        let sid = session.unwrap_or(&self.session_id);
        let frame = dialect::render_text(event, self.dialect, sid);
        self.send_text(ws, FrameKind::of(event), frame).await
    }

    /// Sends a rendered frame (`None`: the dialect has no frame for the event).
    async fn send_text<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        kind: FrameKind,
        frame: Option<String>,
    ) -> Result {
        if frame.is_none() {
            return Ok(());
        }
        self.feed_text(ws, kind, frame).await?;
        self.flush(ws).await
    }

    /// Flushes what [`Self::feed_text`] queued, if anything.
    async fn flush<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
    ) -> Result {
        if std::mem::take(&mut self.unflushed) {
            self.ctl.flush_journal();
            ws.flush().await.map_err(|e| End::Gone(e.to_string()))?;
        }
        Ok(())
    }

    /// Queues a rendered frame to go out with the next flush (see [`Self::on_due`]).
    async fn feed_text<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        kind: FrameKind,
        frame: Option<String>,
    ) -> Result {
        let Some(frame) = frame else {
            return Ok(());
        };
        self.app.metrics.frame_sent(kind, frame.len());
        self.ctl.frame_sent(&frame);
        let frame = self.ctl.maybe_corrupt(frame);
        ws.feed(Message::text(frame))
            .await
            .map_err(|e| End::Gone(e.to_string()))?;
        self.unflushed = true;
        self.frames_sent += 1;
        Ok(())
    }
}

/// Stores a turn's answer text, marked as interrupted when the turn was cut short.
fn store_answer(app: &App, dialect: Dialect, turn: &ActiveTurn, cancelled: bool) {
    if turn.failed_by_exception && dialect == Dialect::Dashboard {
        // An exception in the real agent loop stores no answer, not even the part
        // already streamed (addendum C.1 path 2).
        return;
    }
    let mut text = turn.answer.clone();
    if cancelled {
        text.push_str("\n\n[Response interrupted]");
    }
    if !turn.answer.is_empty() || cancelled {
        app.sessions.append(&turn.session_id, "assistant", text);
    }
}

/// What every dashboard connection receives at once (see `App::pushes`).
type Pushes = BroadcastStream<Push>;

/// The next push; never resolves without a subscription (the branch is off then).
async fn next_push(
    pushes: &mut Option<Pushes>,
) -> Option<std::result::Result<Push, BroadcastStreamRecvError>> {
    match pushes {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

/// How long a connection that sent its close frame waits for the client's.
const LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// After pawmock's close frame: reads (and drops) what the client still sends until its
/// close frame or the end of the stream, for at most [`LINGER`], before TCP is closed
/// (RFC 6455 §7.1.1). Closing at once with client frames unread makes the kernel send a
/// reset, and a browser that sees it before reading the close frame reports 1006
/// instead of the code that was sent.
async fn linger<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) {
    let _ =
        tokio::time::timeout(LINGER, async { while let Some(Ok(_)) = ws.next().await {} }).await;
}

async fn sleep_until(due: Option<tokio::time::Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Serves an accepted WebSocket (used by the server after the upgrade).
pub async fn serve<S>(app: Arc<App>, mut ws: WebSocketStream<S>, mut setup: Setup)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let errors = std::mem::take(&mut setup.errors);
    let id = setup.id.clone();
    let conn_id = id.clone();
    net::guarded(&conn_id, &mut ws, move |ws| {
        Box::pin(async move { Connection::new(app, id, setup).run(ws, errors).await })
    })
    .await;
}

/// The first `close`/`abort` fault timed from connect whose attempt and probability
/// conditions hold, and when it fires.
fn connect_timer(
    faults: &[Fault],
    attempt: u32,
    rng: &mut Rng,
    connected_at: tokio::time::Instant,
) -> Option<(tokio::time::Instant, Fault)> {
    use rand::RngExt;
    faults
        .iter()
        .filter(|f| f.is_connect_timer())
        .filter(|f| f.trigger.attempt.is_none_or(|n| n == attempt))
        .filter(|f| f.trigger.probability.is_none_or(|p| rng.random_bool(p)))
        .map(|f| {
            (
                crate::located::duration::later(connected_at, f.trigger.after.unwrap_or_default()),
                f.clone(),
            )
        })
        .min_by_key(|(at, _)| *at)
}

/// `drop=2, latency=10` for the close line (`-` when no fault acted).
fn fault_summary(counts: &BTreeMap<&'static str, u64>) -> String {
    if counts.is_empty() {
        return "-".to_owned();
    }
    counts
        .iter()
        .map(|(k, n)| format!("{k}={n}"))
        .collect::<Vec<_>>()
        .join(",")
}
