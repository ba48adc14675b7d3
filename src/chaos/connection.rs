//! One connection's chaos, built once at the handshake: which faults it has and where
//! they come from, its refusal, its connect timer, its RNG, and how each turn gets its
//! faults. The connection loop asks this; it never sorts faults itself.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::RngExt;
use tokio::time::Instant;

use super::Profiles;
use super::apply::{Context, TurnState};
use super::fault::{Fault, Stage};
use super::faults::FaultKind;
use super::handshake::{Refusal, decide};
use crate::rng::Rng;

/// What a connection's chaos is made of, as the URL and the server name it.
pub(crate) struct Sources<'a> {
    /// Profile names in force (`?chaos=`, else `--chaos`).
    pub(crate) profiles: Vec<String>,
    /// The URL's inline faults (`?fault=`), unparsed.
    pub(crate) inline: &'a [String],
    /// The faults of the scenario the URL pins, if any: its handshake and connect-timer
    /// faults belong to the connection (its event faults join each turn it plays).
    pub(crate) pinned: Option<&'a [Fault]>,
}

/// A connection's chaos.
#[derive(Debug)]
pub(crate) struct ConnectionChaos {
    /// Profile names, looked up at each turn so an edited profile applies from the next.
    profiles: Vec<String>,
    /// The URL's event faults, parsed once at the handshake.
    inline: Vec<Fault>,
    /// Connect-timer faults met at the handshake, until the connection opens.
    timed: Vec<Fault>,
    /// The chaos RNG, seeded from the seed and the URL alone, so the same URL and seed
    /// give the same faults however many other connections run.
    pub(crate) rng: Rng,
    /// 1-based attempt number for this URL since the server started.
    pub(crate) attempt: u32,
    connected_at: Instant,
    /// A `close`/`abort` fault timed from connect, and when it fires.
    timer: Option<(Instant, Fault)>,
    /// Faults that acted, by kind, for the close line.
    counts: BTreeMap<&'static str, u64>,
}

impl ConnectionChaos {
    /// Parses and looks up the connection's faults, and decides whether the handshake is
    /// refused (the RNG's first draws). Unknown profiles and bad inline faults come back
    /// as messages for the client, and are left out.
    pub(crate) fn at_handshake(
        library: &impl Profiles,
        sources: Sources<'_>,
        mut rng: Rng,
        attempt: u32,
    ) -> (ConnectionChaos, Option<Refusal>, Vec<String>) {
        let (mut faults, mut inline, errors) =
            super::resolve_parts(library, &sources.profiles, sources.inline);
        faults.extend(inline.iter().cloned());
        if let Some(pinned) = sources.pinned {
            faults.extend(pinned.iter().filter(|f| f.stage() != Stage::Event).cloned());
        }
        let refusal = decide(&faults, attempt, &mut rng);
        faults.retain(|f| f.stage() == Stage::ConnectTimer);
        inline.retain(|f| f.stage() == Stage::Event);
        let chaos = ConnectionChaos {
            profiles: sources.profiles,
            inline,
            timed: faults,
            rng,
            attempt,
            connected_at: Instant::now(),
            timer: None,
            counts: BTreeMap::new(),
        };
        (chaos, refusal, errors)
    }

    /// The connection opened at `now`: arms the first connect-timer fault whose attempt
    /// and probability conditions hold (drawing after the handshake's draws).
    pub(crate) fn opened(&mut self, now: Instant) {
        self.connected_at = now;
        let attempt = self.attempt;
        let rng = &mut self.rng;
        self.timer = std::mem::take(&mut self.timed)
            .into_iter()
            .filter(|f| f.trigger.attempt.is_none_or(|n| n == attempt))
            .filter(|f| f.trigger.probability.is_none_or(|p| rng.random_bool(p)))
            .map(|f| {
                let at = crate::located::duration::later(now, f.trigger.after.unwrap_or_default());
                (at, f)
            })
            .min_by_key(|(at, _)| *at);
    }

    /// When the connect timer fires, if one is armed.
    pub(crate) fn timer(&self) -> Option<Instant> {
        self.timer.as_ref().map(|(at, _)| *at)
    }

    /// The connect-timer fault, disarmed: it fires now.
    pub(crate) fn take_timer(&mut self) -> Option<Fault> {
        self.timer.take().map(|(_, f)| f)
    }

    /// The connect-timer fault if it is due at once ("close at once": before any greeting).
    pub(crate) fn take_immediate(&mut self) -> Option<Fault> {
        let opened = self.connected_at;
        self.timer.take_if(|(at, _)| *at <= opened).map(|(_, f)| f)
    }

    /// The faults of a turn that starts now, in order: the profiles as the library has
    /// them now (`gone` hears of names it no longer has), the URL's, `injected` (the
    /// control API's, for this turn), then the playing scenario's own.
    pub(crate) fn turn_faults(
        &self,
        library: &impl Profiles,
        scenario: Option<&[Fault]>,
        injected: Vec<Fault>,
        gone: impl FnMut(&str),
    ) -> Vec<Fault> {
        let mut faults = super::profile_faults(library, &self.profiles, gone);
        faults.extend(self.inline.iter().cloned());
        faults.extend(injected);
        faults.extend(scenario.into_iter().flatten().cloned());
        // A turn takes event faults only (from every source, the control API's too);
        // the others acted at the handshake or are the connection's timer.
        faults.retain(|f| f.stage() == Stage::Event);
        faults
    }

    /// The chaos side of turn number `turn` (0 for an `on_connect` turn) with `faults`.
    pub(crate) fn turn(&self, turn: u32, faults: Vec<Fault>) -> TurnChaos {
        TurnChaos {
            faults,
            state: TurnState::default(),
            context: Context {
                turn,
                attempt: self.attempt,
                since_connect: Duration::ZERO,
            },
            connected_at: self.connected_at,
        }
    }

    /// Counts a fault that acted, for the close line.
    pub(crate) fn acted(&mut self, kind: FaultKind) {
        *self.counts.entry(kind.name()).or_default() += 1;
    }

    /// `drop=2,latency=10` for the close line (`-` when no fault acted).
    pub(crate) fn summary(&self) -> String {
        if self.counts.is_empty() {
            return "-".to_owned();
        }
        self.counts
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The chaos side of a turn: its faults, their counters, and what the triggers see.
pub(crate) struct TurnChaos {
    pub(crate) faults: Vec<Fault>,
    pub(crate) state: TurnState,
    pub(crate) context: Context,
    /// When the connection opened (for `from: connect` triggers).
    pub(crate) connected_at: Instant,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::rng::derive;

    /// Profiles by name, as the library would look them up.
    struct Map(BTreeMap<String, super::super::Profile>);

    impl Profiles for Map {
        fn profile(&self, name: &str) -> Option<&super::super::Profile> {
            self.0.get(name)
        }
        fn profile_names(&self) -> Vec<&str> {
            self.0.keys().map(String::as_str).collect()
        }
    }

    fn library_with(profile: &str) -> Map {
        let rel = Path::new("chaos/p.json");
        let p = super::super::profile_from_text(rel, rel.to_path_buf(), profile).unwrap();
        Map(BTreeMap::from([(p.name.clone(), p)]))
    }

    #[tokio::test(start_paused = true)]
    async fn each_fault_goes_to_its_stage_once() {
        let library = library_with(
            r#"{"faults": [
                {"kind": "drop", "events": ["text_chunk"]},
                {"kind": "refuse_first", "count": 1},
                {"kind": "close", "code": 4001, "trigger": {"after": "2s", "from": "connect"}}
            ]}"#,
        );
        let inline = ["duplicate:events=thinking".to_owned(), "explode".to_owned()];
        let sources = Sources {
            profiles: vec!["p".into(), "gone".into()],
            inline: &inline,
            pinned: None,
        };
        let (mut chaos, refusal, errors) =
            ConnectionChaos::at_handshake(&library, sources, derive(1, "x", 0), 1);
        assert_eq!(refusal.map(|r| r.status), Some(503));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("unknown chaos profile `gone`"));
        assert!(errors[1].contains("?fault=explode"));
        let now = Instant::now();
        chaos.opened(now);
        assert_eq!(chaos.timer(), Some(now + Duration::from_secs(2)));
        assert!(chaos.take_immediate().is_none(), "not due at once");
        let mut gone = Vec::new();
        let kinds: Vec<_> = chaos
            .turn_faults(&library, None, Vec::new(), |n| gone.push(n.to_owned()))
            .iter()
            .map(Fault::kind)
            .collect();
        assert_eq!(kinds, [FaultKind::Drop, FaultKind::Duplicate]);
        assert_eq!(gone, ["gone"]);
        assert_eq!(chaos.take_timer().map(|f| f.kind()), Some(FaultKind::Close));
        assert_eq!(chaos.timer(), None);
        chaos.acted(FaultKind::Drop);
        chaos.acted(FaultKind::Drop);
        chaos.acted(FaultKind::Close);
        assert_eq!(chaos.summary(), "close=1,drop=2");
    }
}
