//! Prometheus metrics, served at `GET /metrics`: what connections, turns, frames and
//! faults did, and how late frames left compared with their schedule.
//!
//! Everything a frame touches is resolved up front, so the per-frame cost is a few
//! relaxed atomic additions and never a lock: counters by frame kind are created at
//! start-up (one per [`FrameKind`]), the lateness histogram is a fixed array of atomic
//! buckets ([`Lateness`]), and labelled counters that depend on a scenario are looked
//! up once per turn, not per frame.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

use crate::protocol::{DialectChoice, Event};

/// The content type of the exposition (`prometheus_client` writes OpenMetrics text,
/// which Prometheus scrapes natively).
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DialectLabel {
    dialect: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScenarioLabel {
    scenario: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// What kind of frame went out, as the `kind` label of `pawmock_frames_sent_total`:
/// the event kinds (`Event::kind`) plus the replies to dashboard actions and pushes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameKind(usize);

const FRAME_KINDS: [&str; 17] = [
    "stream_start",
    "text_chunk",
    "stream_end",
    "thinking",
    "tool_start",
    "tool_result",
    "error",
    "plan",
    "session_switched",
    "new_session",
    "inbox",
    "connection_info",
    "notification",
    "marker",
    "frame",
    "reply",
    "push",
];

impl FrameKind {
    /// A streamed text chunk (the dashboard's chunk after an agent error, addendum C.1).
    pub(crate) const TEXT_CHUNK: FrameKind = FrameKind(1);
    /// A thinking event (the dashboard's empty one at a turn's start, addendum C.2).
    pub(crate) const THINKING: FrameKind = FrameKind(3);
    /// A reply to a dashboard action (`tool`, `get_settings`, …).
    pub(crate) const REPLY: FrameKind = FrameKind(15);
    /// A frame pushed to every dashboard connection (a reminder ringing).
    pub(crate) const PUSH: FrameKind = FrameKind(16);
    /// A frame sent as given (a raw frame sent through the control API).
    pub(crate) const RAW: FrameKind = FrameKind(14);

    pub(crate) fn of(event: &Event) -> FrameKind {
        FrameKind(match event {
            Event::StreamStart => 0,
            Event::TextChunk { .. } => 1,
            Event::StreamEnd => 2,
            Event::Thinking { .. } => 3,
            Event::ToolStart { .. } => 4,
            Event::ToolResult { .. } => 5,
            Event::Error { .. } | Event::AgentError { .. } => 6,
            Event::PlanCreated { .. } => 7,
            Event::SessionSwitched { .. } => 8,
            Event::NewSession { .. } => 9,
            Event::InboxUpdate { .. } => 10,
            Event::ConnectionInfo { .. } => 11,
            Event::Notification { .. } => 12,
            Event::Marker { .. } => 13,
            Event::Raw(_) | Event::Frame(_) => 14,
        })
    }
}

/// Why a client frame was refused, as the `reason` label of
/// `pawmock_client_frames_rejected_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// Text that is not a frame pawmock understands (bad JSON, unknown action, …).
    Undecodable,
    /// A binary frame (the protocol is JSON text).
    Binary,
    /// Larger than `--max-frame-size` (the connection closes with 1009).
    TooLarge,
}

impl Rejected {
    const ALL: [Rejected; 3] = [Rejected::Undecodable, Rejected::Binary, Rejected::TooLarge];

    fn label(self) -> &'static str {
        match self {
            Rejected::Undecodable => "undecodable",
            Rejected::Binary => "binary",
            Rejected::TooLarge => "too_large",
        }
    }
}

/// The bucket bounds of the lateness histogram, in seconds: from "on time" (a timer
/// wakes within half a millisecond) to "visibly stalled".
const LATENESS_BOUNDS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A histogram of how late frames were written (actual write − scheduled time), made of
/// atomics: `prometheus_client`'s own `Histogram` takes a mutex on every observation,
/// which every connection's every frame would contend for.
#[derive(Debug)]
pub(crate) struct Lateness {
    bounds_ns: [u64; LATENESS_BOUNDS.len()],
    /// Observations per bucket (not cumulative; the last one is `+Inf`).
    buckets: [AtomicU64; LATENESS_BOUNDS.len() + 1],
    sum_ns: AtomicU64,
}

impl Default for Lateness {
    fn default() -> Self {
        Lateness {
            bounds_ns: LATENESS_BOUNDS.map(|s| (s * 1e9) as u64),
            buckets: Default::default(),
            sum_ns: AtomicU64::new(0),
        }
    }
}

impl Lateness {
    pub(crate) fn observe(&self, late: Duration) {
        let ns = u64::try_from(late.as_nanos()).unwrap_or(u64::MAX);
        let i = self
            .bounds_ns
            .iter()
            .position(|b| ns <= *b)
            .unwrap_or(self.bounds_ns.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }
}

impl TypedMetric for Lateness {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Lateness {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        // The encoder adds the buckets up itself: it wants each bucket's own count.
        let mut count = 0;
        let mut buckets = Vec::with_capacity(self.buckets.len());
        for (i, n) in self.buckets.iter().enumerate() {
            let n = n.load(Ordering::Relaxed);
            count += n;
            let bound = LATENESS_BOUNDS.get(i).copied().unwrap_or(f64::INFINITY);
            buckets.push((bound, n));
        }
        // The count is the buckets' total, so a scrape during a write stays consistent.
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        encoder
            .encode_histogram::<prometheus_client::encoding::NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// Every metric pawmock exports, and the registry that writes them out.
pub(crate) struct Metrics {
    registry: Registry,
    open: Family<DialectLabel, Gauge>,
    total: Family<DialectLabel, Counter>,
    refused: Family<KindLabel, Counter>,
    turns_started: Family<ScenarioLabel, Counter>,
    turns_completed: Family<ScenarioLabel, Counter>,
    turns_cancelled: Family<ScenarioLabel, Counter>,
    /// Each scenario's three turn counters, resolved from the families once: a turn start
    /// then takes one shared read lock and allocates nothing, where looking each family
    /// up took three locks and a label `String` (measured at 1,000 starts together).
    by_scenario:
        std::sync::RwLock<std::collections::HashMap<Box<str>, std::sync::Arc<ScenarioCounters>>>,
    faults: Family<KindLabel, Counter>,
    frames: [Counter; FRAME_KINDS.len()],
    rejected: [Counter; Rejected::ALL.len()],
    bytes: Counter,
    reloads: Counter,
    reload_problems: Counter,
    lateness: std::sync::Arc<Lateness>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("pawmock");
        let open = Family::<DialectLabel, Gauge>::default();
        registry.register(
            "connections_open",
            "WebSocket connections open now, by dialect (auto: not detected yet)",
            open.clone(),
        );
        let total = Family::<DialectLabel, Counter>::default();
        registry.register(
            "connections",
            "WebSocket connections accepted, by the dialect chosen at the handshake",
            total.clone(),
        );
        let refused = Family::<KindLabel, Counter>::default();
        registry.register(
            "handshakes_refused",
            "WebSocket handshakes refused by a chaos fault, by fault kind",
            refused.clone(),
        );
        let turns_started = Family::<ScenarioLabel, Counter>::default();
        registry.register(
            "turns_started",
            "Turns started, by scenario",
            turns_started.clone(),
        );
        let turns_completed = Family::<ScenarioLabel, Counter>::default();
        registry.register(
            "turns_completed",
            "Turns that played to their end, by scenario",
            turns_completed.clone(),
        );
        let turns_cancelled = Family::<ScenarioLabel, Counter>::default();
        registry.register(
            "turns_cancelled",
            "Turns cut short (stop, a new message, a session switch, a halting fault, the connection ending), by scenario",
            turns_cancelled.clone(),
        );
        let frames_family = Family::<KindLabel, Counter>::default();
        let frames = FRAME_KINDS.map(|kind| frames_family.get_or_create_owned(&KindLabel { kind }));
        registry.register(
            "frames_sent",
            "WebSocket frames sent, by kind",
            frames_family,
        );
        let bytes = Counter::default();
        registry.register(
            "bytes_sent",
            "Bytes of WebSocket frame payloads sent",
            bytes.clone(),
        );
        let faults = Family::<KindLabel, Counter>::default();
        registry.register(
            "faults_applied",
            "Chaos faults that acted, by kind",
            faults.clone(),
        );
        let rejected_family = Family::<ReasonLabel, Counter>::default();
        let rejected = Rejected::ALL
            .map(|r| rejected_family.get_or_create_owned(&ReasonLabel { reason: r.label() }));
        registry.register(
            "client_frames_rejected",
            "Client frames refused, by reason",
            rejected_family,
        );
        let reloads = Counter::default();
        registry.register(
            "reloads",
            "Hot reloads that changed something",
            reloads.clone(),
        );
        let reload_problems = Counter::default();
        registry.register(
            "reload_problems",
            "New problems found by hot reloads (a broken file, a duplicate name)",
            reload_problems.clone(),
        );
        let lateness = std::sync::Arc::new(Lateness::default());
        registry.register(
            "frame_lateness_seconds",
            "How late each scheduled frame was written: actual write time minus scheduled time",
            ArcMetric(lateness.clone()),
        );
        Metrics {
            registry,
            open,
            total,
            refused,
            turns_started,
            turns_completed,
            turns_cancelled,
            by_scenario: Default::default(),
            faults,
            frames,
            rejected,
            bytes,
            reloads,
            reload_problems,
            lateness,
        }
    }

    /// The exposition in OpenMetrics text format.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// A connection was accepted: counts it and returns the guard that keeps it in
    /// `pawmock_connections_open` until dropped.
    pub(crate) fn connection_opened(&self, choice: DialectChoice) -> OpenConnection {
        self.opened(dialect_label(choice))
    }

    /// Counts a connection opened under `dialect`, open until the handle drops.
    fn opened(&self, dialect: &'static str) -> OpenConnection {
        let label = DialectLabel { dialect };
        self.total.get_or_create(&label).inc();
        let gauge = self.open.get_or_create_owned(&label);
        gauge.inc();
        OpenConnection {
            gauge,
            family: self.open.clone(),
        }
    }

    pub(crate) fn handshake_refused(&self, fault: &'static str) {
        self.refused.get_or_create(&KindLabel { kind: fault }).inc();
        self.fault_applied(fault);
    }

    pub(crate) fn fault_applied(&self, kind: &'static str) {
        self.faults.get_or_create(&KindLabel { kind }).inc();
    }

    /// A turn started; the returned counters are kept with the turn for its end.
    pub(crate) fn turn_started(&self, scenario: &str) -> TurnCounters {
        let known = self
            .by_scenario
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(scenario)
            .cloned();
        let counters = known.unwrap_or_else(|| self.resolve(scenario));
        counters.started.inc();
        TurnCounters(counters)
    }

    /// A scenario's turn counters, created in the families on its first turn.
    fn resolve(&self, scenario: &str) -> std::sync::Arc<ScenarioCounters> {
        let mut map = self.by_scenario.write().unwrap_or_else(|e| e.into_inner());
        map.entry(scenario.into())
            .or_insert_with(|| {
                let label = ScenarioLabel {
                    scenario: scenario.to_owned(),
                };
                std::sync::Arc::new(ScenarioCounters {
                    started: self.turns_started.get_or_create_owned(&label),
                    completed: self.turns_completed.get_or_create_owned(&label),
                    cancelled: self.turns_cancelled.get_or_create_owned(&label),
                })
            })
            .clone()
    }

    /// A frame of `bytes` payload bytes was queued on the socket (no lock: atomics).
    #[inline]
    pub(crate) fn frame_sent(&self, kind: FrameKind, bytes: usize) {
        self.frames[kind.0].inc();
        self.bytes.inc_by(bytes as u64);
    }

    #[inline]
    pub(crate) fn lateness(&self, late: Duration) {
        self.lateness.observe(late);
    }

    pub(crate) fn client_frame_rejected(&self, why: Rejected) {
        let i = Rejected::ALL.iter().position(|r| *r == why).unwrap_or(0);
        self.rejected[i].inc();
    }

    /// A hot reload changed something and found `problems` new problems.
    pub(crate) fn reloaded(&self, problems: usize) {
        self.reloads.inc();
        self.reload_problems.inc_by(problems as u64);
    }
}

fn dialect_label(choice: DialectChoice) -> &'static str {
    match choice {
        DialectChoice::Auto => "auto",
        DialectChoice::Docs => "docs",
        DialectChoice::Dashboard => "dashboard",
    }
}

/// The registry wants an owned metric; the histogram is shared with [`Metrics`].
#[derive(Debug)]
struct ArcMetric(std::sync::Arc<Lateness>);

impl EncodeMetric for ArcMetric {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// A connection counted in `pawmock_connections_open`; dropping it takes it out.
pub(crate) struct OpenConnection {
    gauge: Gauge,
    family: Family<DialectLabel, Gauge>,
}

impl OpenConnection {
    /// The dialect was detected from the client's first frame: the connection moves to
    /// that dialect's gauge.
    pub(crate) fn detected(&mut self, choice: DialectChoice) {
        let gauge = self.family.get_or_create_owned(&DialectLabel {
            dialect: dialect_label(choice),
        });
        gauge.inc();
        self.gauge.dec();
        self.gauge = gauge;
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// One scenario's turn counters (handles into the `turns_*` families).
#[derive(Debug)]
struct ScenarioCounters {
    started: Counter,
    completed: Counter,
    cancelled: Counter,
}

/// A turn's end counters, resolved when it starts (one shared handle per scenario).
#[derive(Debug, Clone)]
pub(crate) struct TurnCounters(std::sync::Arc<ScenarioCounters>);

impl TurnCounters {
    pub(crate) fn ended(&self, cancelled: bool) {
        if cancelled {
            self.0.cancelled.inc();
        } else {
            self.0.completed.inc();
        }
    }
}

/// Raw connections (`connection::raw`: a recording of a protocol pawmock does not know).
impl Metrics {
    /// A raw connection was accepted: counted as [`Metrics::connection_opened`] counts
    /// the others, under the dialect `raw`.
    pub(crate) fn raw_connection_opened(&self) -> OpenConnection {
        self.opened("raw")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_kinds_follow_the_event_kind_names() {
        let events = [
            Event::StreamStart,
            Event::StreamEnd,
            Event::Thinking { text: "t".into() },
            Event::Error {
                message: "m".into(),
            },
            Event::Marker { name: "m".into() },
            Event::Raw(serde_json::json!({})),
        ];
        for e in &events {
            assert_eq!(FRAME_KINDS[FrameKind::of(e).0], e.kind());
        }
        assert_eq!(FRAME_KINDS[FrameKind::REPLY.0], "reply");
        assert_eq!(FRAME_KINDS[FrameKind::PUSH.0], "push");
    }

    #[test]
    fn lateness_buckets_are_cumulative_with_the_count_in_inf() {
        let m = Metrics::new();
        m.lateness(Duration::from_micros(100));
        m.lateness(Duration::from_millis(3));
        m.lateness(Duration::from_secs(10));
        let text = m.encode();
        assert!(
            text.contains("pawmock_frame_lateness_seconds_bucket{le=\"0.0005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("pawmock_frame_lateness_seconds_bucket{le=\"0.005\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("pawmock_frame_lateness_seconds_bucket{le=\"+Inf\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("pawmock_frame_lateness_seconds_count 3"),
            "{text}"
        );
    }

    #[test]
    fn turn_counters_are_resolved_once_per_scenario_and_count_by_scenario() {
        let m = Metrics::new();
        let a = m.turn_started("weather");
        let b = m.turn_started("weather");
        assert!(
            std::sync::Arc::ptr_eq(&a.0, &b.0),
            "one handle per scenario"
        );
        m.turn_started("stream").ended(false);
        a.ended(true);
        b.ended(false);
        let text = m.encode();
        for line in [
            "pawmock_turns_started_total{scenario=\"weather\"} 2",
            "pawmock_turns_cancelled_total{scenario=\"weather\"} 1",
            "pawmock_turns_completed_total{scenario=\"weather\"} 1",
            "pawmock_turns_started_total{scenario=\"stream\"} 1",
            "pawmock_turns_completed_total{scenario=\"stream\"} 1",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }

    #[test]
    fn the_open_gauge_follows_detection_and_drop() {
        let m = Metrics::new();
        let mut c = m.connection_opened(DialectChoice::Auto);
        c.detected(DialectChoice::Dashboard);
        let text = m.encode();
        assert!(
            text.contains("pawmock_connections_open{dialect=\"auto\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("pawmock_connections_open{dialect=\"dashboard\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("pawmock_connections_total{dialect=\"auto\"} 1"),
            "{text}"
        );
        drop(c);
        assert!(
            m.encode()
                .contains("pawmock_connections_open{dialect=\"dashboard\"} 0")
        );
    }
}
