//! The turn a connection is playing: its remaining schedule, its pending plan, and the
//! answer text so far. Time only enters as the `now` the caller passes in.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::time::{Duration, Instant};

pub(crate) use crate::chaos::TurnChaos;
use crate::chaos::{Delivery, FaultKind, Op, apply};
use crate::library::Scenario;
use crate::library::scenario::{Body, Plan};
use crate::located::duration::later;
use crate::playback::playhead::Playhead;
use crate::playback::{Segment, Timing, expand_branch};
use crate::protocol::{Event, PlanAnswer};
use crate::rng::Rng;

/// What a turn plays: a scenario's turn (kept alive even if a reload replaces the
/// library meanwhile), or a built-in reply.
pub(crate) enum BodyRef {
    Scenario(Arc<Scenario>, usize),
    Owned(Arc<Body>),
}

impl BodyRef {
    /// Whether it is scripted steps rather than recorded frames.
    pub(crate) fn is_scripted(&self) -> bool {
        let body = match self {
            BodyRef::Scenario(s, i) => s.turns.get(*i).map(|t| &t.body),
            BodyRef::Owned(b) => Some(&**b),
        };
        matches!(body, Some(Body::Script(_)))
    }
}

/// The plan a segment stops at, copied out: the segment itself may be shared.
fn gate_of(segment: &Segment) -> Option<(Duration, Plan)> {
    segment.gate.as_ref().map(|g| (g.at, g.plan.clone()))
}

/// What [`ActiveTurn::pop_due`] found.
pub(crate) enum Due<'a> {
    /// An event to send now, and the session it belongs to. Borrowed: the schedule is
    /// shared between connections, and copying an event would bump (and bounce between
    /// cores) the reference counts every connection shares.
    Event(&'a Event, &'a str),
    /// A delivery of a turn that chaos touched (owned: the faults are this connection's).
    Op(Op),
    /// Nothing is due yet (or the turn waits for a plan answer).
    Nothing,
    /// The last event has been sent.
    Finished,
}

/// How a segment is played: straight from the schedule many connections share, or,
/// when this connection has faults, from its own list of deliveries.
enum Playback {
    Shared { segment: Arc<Segment>, next: usize },
    Faulted { ops: VecDeque<Op> },
}

/// A turn in flight on one connection.
pub(crate) struct ActiveTurn {
    pub(crate) scenario: String,
    pub(crate) session_id: String,
    timing: Timing,
    rng: Rng,
    chaos: TurnChaos,
    /// Maps the offsets in `playback` to instants (pause and speed move it, not them).
    pub(crate) playhead: Playhead,
    /// When the current segment started (a plan's branch starts at the answer).
    segment_start: Instant,
    /// The offset of the last event popped, in its segment.
    last_at: Duration,
    /// When the turn started, for the journal's scheduled and actual times.
    pub(crate) t0: Instant,
    playback: Playback,
    /// The plan the current segment stops at, and when it is reached.
    gate: Option<(Duration, Plan)>,
    /// Set once the gate is reached: the plan, and when waiting gives up.
    waiting: Option<(Instant, Plan)>,
    pub(crate) answer: String,
    pub(crate) started: std::time::Instant,
    pub(crate) sent: u64,
    /// Played for a dashboard connection: a plan does not wait (the dashboard has no
    /// plan UI, addendum C.9) but plays its `dashboard_plan` branch at once.
    pub(crate) for_dashboard: bool,
    /// An `exception` agent error was sent: the real backend then stores no answer.
    pub(crate) failed_by_exception: bool,
    /// A scripted turn (not a recording, which replays its frames as recorded): the
    /// dashboard dialect opens it with the real backend's empty thinking event.
    pub(crate) scripted: bool,
}

impl ActiveTurn {
    pub(crate) fn new(
        scenario: String,
        session_id: String,
        timing: Timing,
        rng: Rng,
        segment: Arc<Segment>,
        chaos: TurnChaos,
        chaos_rng: &mut Rng,
    ) -> Self {
        let mut turn = ActiveTurn {
            scenario,
            session_id,
            timing,
            rng,
            chaos,
            playhead: Playhead::new(Instant::now(), crate::speed::Speed::NORMAL, false),
            segment_start: Instant::now(),
            last_at: Duration::ZERO,
            t0: Instant::now(),
            playback: Playback::Faulted {
                ops: VecDeque::new(),
            },
            gate: None,
            waiting: None,
            answer: String::new(),
            started: std::time::Instant::now(),
            sent: 0,
            for_dashboard: false,
            failed_by_exception: false,
            scripted: true,
        };
        let now = turn.t0;
        turn.load(segment, now, chaos_rng);
        turn
    }

    fn load(&mut self, segment: Arc<Segment>, origin: Instant, chaos_rng: &mut Rng) {
        // A branch keeps the pace and the hold the turn had.
        let rate = self.playhead.rate();
        self.playhead = Playhead::new(origin, rate, self.playhead.is_paused());
        self.segment_start = origin;
        if self.chaos.faults.is_empty() {
            self.gate = gate_of(&segment);
            self.playback = Playback::Shared { segment, next: 0 };
            return;
        }
        let mut context = self.chaos.context;
        context.since_connect = origin.saturating_duration_since(self.chaos.connected_at);
        let ops = apply(
            segment.events.clone(),
            &self.chaos.faults,
            &mut self.chaos.state,
            context,
            chaos_rng,
        );
        let halted = ops.iter().any(|o| {
            matches!(
                o.delivery,
                Delivery::Halt | Delivery::Close { .. } | Delivery::Abort
            )
        });
        self.gate = if halted { None } else { gate_of(&segment) };
        self.playback = Playback::Faulted { ops: ops.into() };
    }

    /// The offset of the next delivery, if any is left in this segment.
    fn upcoming(&self) -> Option<Duration> {
        match &self.playback {
            Playback::Shared { segment, next } => segment.events.get(*next).map(|e| e.at),
            Playback::Faulted { ops } => ops.front().map(|o| o.at),
        }
    }

    /// When something next needs doing: the next delivery, or the end of a plan's wait.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        if self.playhead.is_paused() {
            return None;
        }
        if let Some(at) = self.upcoming() {
            return self.playhead.due(at);
        }
        if let Some((at, _)) = &self.gate {
            return self.playhead.due(*at);
        }
        self.waiting.as_ref().map(|(deadline, _)| *deadline)
    }

    pub(crate) fn is_waiting_for_plan(&self) -> bool {
        self.waiting.is_some() || (self.upcoming().is_none() && self.gate.is_some())
    }

    /// True once nothing is left to send or wait for: the last event went out.
    pub(crate) fn is_over(&self) -> bool {
        self.upcoming().is_none() && self.gate.is_none() && self.waiting.is_none()
    }

    /// When the last event popped was scheduled, from the turn's start.
    pub(crate) fn last_scheduled(&self) -> Duration {
        self.segment_start.saturating_duration_since(self.t0) + self.last_at
    }

    /// Holds the turn exactly where the last event popped was scheduled (a freeze).
    pub(crate) fn hold_at_last(&mut self, now: Instant) {
        self.playhead.hold_at(self.last_at, now);
    }

    /// Goes on after a pause or a freeze; a plan's wait for an answer does not run out
    /// while held, so its deadline moves by the time held.
    pub(crate) fn resume(&mut self, now: Instant) {
        let held = self.playhead.resume(now);
        if let Some((deadline, _)) = self.waiting.as_mut() {
            *deadline = later(*deadline, held);
        }
    }

    /// The next thing due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant, chaos_rng: &mut Rng) -> Due<'_> {
        self.pop(now, chaos_rng, false)
    }

    /// The next event whatever its time, moving a held playhead to it (a `step`).
    pub(crate) fn pop_next(&mut self, now: Instant, chaos_rng: &mut Rng) -> Due<'_> {
        if let Some(at) = self.upcoming().or(self.gate.as_ref().map(|(at, _)| *at)) {
            self.playhead.advance_to(at);
        }
        self.pop(now, chaos_rng, true)
    }

    fn pop(&mut self, now: Instant, chaos_rng: &mut Rng, force: bool) -> Due<'_> {
        match self.upcoming() {
            Some(at) if !force && !self.playhead.reached(at, now) => return Due::Nothing,
            Some(at) => {
                self.last_at = at;
                self.sent += 1;
                match &mut self.playback {
                    Playback::Shared { segment, next } => {
                        let i = *next;
                        *next += 1;
                        let event = &segment.events[i].event;
                        match event {
                            Event::TextChunk { text } => self.answer.push_str(text),
                            Event::AgentError {
                                exception: true, ..
                            } => self.failed_by_exception = true,
                            _ => {}
                        }
                        return Due::Event(event, &self.session_id);
                    }
                    Playback::Faulted { ops } => {
                        let op = ops.pop_front().expect("upcoming is some");
                        // The stored answer is what was sent as answer text, once: a
                        // duplicated chunk is not said twice.
                        if let Delivery::Send(Event::TextChunk { text }) = &op.delivery
                            && op
                                .fault
                                .as_ref()
                                .is_none_or(|f| f.kind != FaultKind::Duplicate)
                        {
                            self.answer.push_str(text);
                        }
                        if let Delivery::Send(Event::AgentError {
                            exception: true, ..
                        }) = &op.delivery
                        {
                            self.failed_by_exception = true;
                        }
                        return Due::Op(op);
                    }
                }
            }
            None => {}
        }
        if let Some((at, _)) = &self.gate {
            if force || self.playhead.reached(*at, now) {
                let (_, plan) = self.gate.take().expect("gate exists");
                if self.for_dashboard {
                    let answer = dashboard_answer(&plan);
                    self.waiting = Some((now, plan));
                    self.answer_plan(answer, now, chaos_rng);
                    return self.pop_due(now, chaos_rng);
                }
                self.waiting = Some((later(now, plan.wait), plan));
            }
            return Due::Nothing;
        }
        if let Some((deadline, _)) = &self.waiting {
            if !self.playhead.is_paused() && *deadline <= now {
                self.answer_plan(None, now, chaos_rng);
                return self.pop_due(now, chaos_rng);
            }
            return Due::Nothing;
        }
        Due::Finished
    }

    /// Continues with the branch the answer chose (`None`: the wait timed out).
    pub(crate) fn answer_plan(
        &mut self,
        answer: Option<PlanAnswer>,
        now: Instant,
        chaos_rng: &mut Rng,
    ) {
        let plan = match self.waiting.take() {
            Some((_, plan)) => plan,
            None => match self.gate.take() {
                Some((_, plan)) => plan,
                None => return,
            },
        };
        let steps = match answer {
            Some(PlanAnswer::Approve) => &plan.approve,
            Some(PlanAnswer::Reject) => &plan.reject,
            None => &plan.timeout,
        };
        let segment = expand_branch(steps, &self.timing, &mut self.rng);
        self.load(Arc::new(segment), now, chaos_rng);
    }
}

/// The answer a plan gets in the dashboard dialect: its `dashboard_plan` branch
/// (`approve` when the file does not say; `None` is the timeout branch).
fn dashboard_answer(plan: &Plan) -> Option<PlanAnswer> {
    use crate::library::format::DashboardPlan;
    match plan.dashboard.unwrap_or_default() {
        DashboardPlan::Approve => Some(PlanAnswer::Approve),
        DashboardPlan::Reject => Some(PlanAnswer::Reject),
        DashboardPlan::Timeout => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::apply::{Context, TurnState};
    use crate::library::Library;
    use crate::playback::expand_turn;
    use crate::rng;
    use std::path::Path;

    fn fixture(name: &str) -> Arc<Scenario> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        Library::load(&dir)
            .unwrap()
            .library
            .get(name)
            .unwrap()
            .clone()
    }

    /// Drives a turn the way the connection loop does, with a simulated clock:
    /// returns each event with the time it was released, relative to the start.
    fn drive(
        turn: &mut ActiveTurn,
        start: Instant,
        answer_at: Option<(Duration, PlanAnswer)>,
    ) -> Vec<(Duration, Event)> {
        let mut out = Vec::new();
        let mut now = start;
        let mut chaos_rng = rng::derive(1, "chaos", 0);
        loop {
            match turn.pop_due(now, &mut chaos_rng) {
                Due::Event(e, _) => out.push((now - start, e.clone())),
                Due::Op(other) => panic!("no chaos here: {other:?}"),
                Due::Finished => return out,
                Due::Nothing => {
                    if let Some((at, answer)) = answer_at
                        && turn.is_waiting_for_plan()
                        && now - start <= at
                        && turn.next_due().is_some_and(|d| d > start + at)
                    {
                        now = start + at;
                        turn.answer_plan(Some(answer), now, &mut chaos_rng);
                        continue;
                    }
                    now = turn
                        .next_due()
                        .expect("a turn that is not finished has something due");
                }
            }
        }
    }

    fn start(name: &str, timing: Timing) -> (ActiveTurn, Instant, Vec<(Duration, Event)>) {
        let s = fixture(name);
        let mut r = rng::derive(1, name, 1);
        let segment = expand_turn(&s.turns[0].body, &timing, &mut r);
        let planned = segment
            .events
            .iter()
            .map(|e| (e.at, e.event.clone()))
            .collect();
        let chaos = TurnChaos {
            faults: Vec::new(),
            state: TurnState::default(),
            context: Context {
                turn: 1,
                attempt: 1,
                since_connect: Duration::ZERO,
            },
            connected_at: Instant::now(),
        };
        let turn = ActiveTurn::new(
            name.into(),
            "s".into(),
            timing,
            rng::derive(1, name, 1),
            Arc::new(segment),
            chaos,
            &mut rng::derive(1, "chaos", 0),
        );
        let origin = turn.t0;
        (turn, origin, planned)
    }

    #[test]
    fn events_are_released_exactly_at_their_scheduled_offsets() {
        let s = fixture("weather");
        let (mut turn, origin, planned) = start("weather", Timing::default().with(&s.timing));
        let played = drive(&mut turn, origin, None);
        assert_eq!(played, planned);
        assert_eq!(turn.answer, "It's **18°C** and cloudy in Paris.");
    }

    #[test]
    fn a_plan_waits_then_plays_the_answered_branch_from_the_answer_time() {
        let timing = Timing {
            speed: crate::speed::Speed::INSTANT,
            ..Timing::default()
        };
        let (mut turn, origin, _) = start("plan", timing);
        let played = drive(
            &mut turn,
            origin,
            Some((Duration::from_secs(2), PlanAnswer::Reject)),
        );
        let plan_at = played
            .iter()
            .position(|(_, e)| matches!(e, Event::PlanCreated { .. }))
            .unwrap();
        let after: Vec<_> = played[plan_at + 1..].iter().collect();
        assert!(
            after.iter().all(|(at, _)| *at == Duration::from_secs(2)),
            "{after:?}"
        );
        assert_eq!(
            turn.answer,
            "Here is my plan.Understood, I changed nothing."
        );
        assert_eq!(played.last().unwrap().1, Event::StreamEnd);
    }

    #[test]
    fn for_the_dashboard_a_plan_plays_its_branch_at_once_without_waiting() {
        let timing = Timing {
            speed: crate::speed::Speed::INSTANT,
            ..Timing::default()
        };
        let (mut turn, origin, _) = start("plan", timing);
        turn.for_dashboard = true;
        let played = drive(&mut turn, origin, None);
        assert!(
            played.iter().all(|(at, _)| at.is_zero()),
            "nothing waits: {played:?}"
        );
        assert!(
            turn.answer.ends_with("Done: tests pass."),
            "{}",
            turn.answer
        );
        assert_eq!(played.last().unwrap().1, Event::StreamEnd);
    }

    #[test]
    fn an_unanswered_plan_plays_the_timeout_branch_after_its_wait_whatever_the_speed() {
        // The wait is for a human: speed 0 does not shorten it.
        let timing = Timing {
            speed: crate::speed::Speed::INSTANT,
            ..Timing::default()
        };
        let (mut turn, origin, _) = start("plan", timing);
        let played = drive(&mut turn, origin, None);
        let (at, _) = played
            .iter()
            .find(|(_, e)| matches!(e, Event::TextChunk { text } if text.starts_with("No")))
            .unwrap();
        assert_eq!(*at, Duration::from_secs(3), "the fixture waits 3s");
        assert!(turn.answer.ends_with("No answer, so I did nothing."));
    }

    /// Drives a turn with a pause from `pause_at` to `resume_at` (offsets from the start).
    fn drive_paused(
        turn: &mut ActiveTurn,
        start: Instant,
        pause_at: Duration,
        resume_at: Duration,
    ) -> Vec<(Duration, Event)> {
        let mut out = Vec::new();
        let mut chaos_rng = rng::derive(1, "chaos", 0);
        let mut now = start;
        let mut paused = false;
        loop {
            if !paused && now >= start + pause_at && now < start + resume_at {
                turn.playhead.pause(start + pause_at);
                paused = true;
                now = start + resume_at;
                turn.resume(now);
                continue;
            }
            match turn.pop_due(now, &mut chaos_rng) {
                Due::Event(e, _) => out.push((now - start, e.clone())),
                Due::Finished => return out,
                Due::Nothing => {
                    let next = turn.next_due().expect("not finished");
                    now = if !paused && next > start + pause_at {
                        start + pause_at
                    } else {
                        next
                    };
                }
                Due::Op(other) => panic!("no chaos here: {other:?}"),
            }
        }
    }

    #[test]
    fn a_pause_shifts_every_later_event_by_the_time_paused_and_no_earlier_one() {
        let s = fixture("weather");
        let (mut turn, origin, planned) = start("weather", Timing::default().with(&s.timing));
        let pause_at = Duration::from_millis(1000);
        let held = Duration::from_secs(5);
        let played = drive_paused(&mut turn, origin, pause_at, pause_at + held);
        let expected: Vec<_> = planned
            .iter()
            .map(|(at, e)| (if *at < pause_at { *at } else { *at + held }, e.clone()))
            .collect();
        assert_eq!(played, expected);
        assert!(planned.iter().any(|(at, _)| *at < pause_at));
        assert!(planned.iter().any(|(at, _)| *at > pause_at));
    }

    #[test]
    fn a_step_releases_the_next_event_only_while_held() {
        let s = fixture("weather");
        let (mut turn, origin, planned) = start("weather", Timing::default().with(&s.timing));
        let mut chaos_rng = rng::derive(1, "chaos", 0);
        turn.playhead.pause(origin);
        assert!(turn.next_due().is_none(), "a held turn is never due");
        assert!(matches!(
            turn.pop_due(origin + Duration::from_secs(60), &mut chaos_rng),
            Due::Nothing
        ));
        for (_, want) in planned.iter().take(3) {
            match turn.pop_next(origin, &mut chaos_rng) {
                Due::Event(e, _) => assert_eq!(e, want),
                _ => panic!("a step releases the next event"),
            }
        }
        assert!(matches!(turn.pop_due(origin, &mut chaos_rng), Due::Nothing));
        // Resumed, the rest follows from where the steps left the playhead.
        turn.resume(origin);
        let rest = drive(&mut turn, origin, None);
        assert_eq!(rest.len(), planned.len() - 3);
        let third = planned[2].0;
        for ((at, e), (planned_at, planned_e)) in rest.iter().zip(&planned[3..]) {
            assert_eq!(e, planned_e);
            assert_eq!(*at, *planned_at - third);
        }
    }

    #[test]
    fn a_plans_wait_does_not_run_out_while_held() {
        let timing = Timing {
            speed: crate::speed::Speed::INSTANT,
            ..Timing::default()
        };
        let (mut turn, origin, _) = start("plan", timing);
        let mut chaos_rng = rng::derive(1, "chaos", 0);
        while let Due::Event(..) = turn.pop_due(origin, &mut chaos_rng) {}
        assert!(turn.is_waiting_for_plan());
        let deadline = turn.next_due().unwrap();
        turn.playhead.pause(origin + Duration::from_secs(1));
        turn.resume(origin + Duration::from_secs(11));
        assert_eq!(turn.next_due().unwrap(), deadline + Duration::from_secs(10));
    }
}
