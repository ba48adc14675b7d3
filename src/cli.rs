//! Command-line interface: `serve` (the default), `check`, `list` and `schema`.
//! Every flag can also be set with a `PAWMOCK_*` environment variable.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand};

use crate::protocol::DialectChoice;
use crate::speed::Speed;

#[derive(Debug, Parser)]
#[command(
    name = "pawmock",
    version,
    about = "Mock/replay server for chat frontends that speak PocketPaw's /ws WebSocket protocol",
    long_about = "Replays scripted and recorded AI-agent conversations over PocketPaw's /ws \
WebSocket protocol, with the timing you choose.\n\nWith no subcommand, pawmock serves \
./recordings on ws://localhost:8000/ws, or the --host and --port given (the same as `pawmock serve`).",
    args_conflicts_with_subcommands = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    #[command(flatten)]
    pub(crate) serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the recordings directory over WebSocket (the default).
    Serve(ServeArgs),
    /// Validate every file of a recordings directory; exit 1 if any has a problem.
    Check(DirArgs),
    /// List the scenarios, with the URL that selects each one.
    List(ListArgs),
    /// Write the JSON Schemas of the file formats (for editors' `$schema`).
    Schema(SchemaArgs),
    /// Turn a real PocketPaw backend's sessions folder (~/.pocketpaw/memory/sessions)
    /// into scenarios that resume those conversations.
    ImportSessions(ImportSessionsArgs),
    /// Stand in front of a real backend and record every WebSocket conversation that
    /// passes through, as recordings `serve` replays.
    Record(RecordArgs),
    /// Convert the WebSocket messages of a browser's HAR export into recordings.
    Import(ImportArgs),
}

#[derive(Debug, Clone, Args)]
#[command(mut_arg("out", |a| a
    .default_value("recordings/recorded")
    .required(false)
    .help("Directory the recordings are written to (created if missing), one `<date>-<connection>.jsonl` per connection")))]
pub(crate) struct RecordArgs {
    /// The real backend: ws://HOST:PORT/ws. WebSockets go to its origin with the
    /// client's path and query; other requests go to http://HOST:PORT.
    #[arg(long, env = "PAWMOCK_UPSTREAM", value_name = "URL")]
    pub(crate) upstream: String,
    /// Address to listen on.
    #[arg(long, env = "PAWMOCK_HOST", default_value = "127.0.0.1")]
    pub(crate) host: String,
    /// Port to listen on.
    #[arg(long, env = "PAWMOCK_PORT", default_value_t = 8000)]
    pub(crate) port: u16,
    #[command(flatten)]
    pub(crate) output: RecordingsOut,
    /// Log filter, as for `serve`.
    #[arg(long, env = "PAWMOCK_LOG_LEVEL", default_value = "info")]
    pub(crate) log_level: String,
}

#[derive(Debug, Clone, Args)]
#[command(mut_arg("out", |a| a
    .default_value("recordings/imported")
    .required(false)
    .help("Directory the recordings are written to (created if missing), one per WebSocket of the HAR")))]
pub(crate) struct ImportArgs {
    /// A HAR file saved by a browser's developer tools (Chromium, Firefox).
    #[arg(value_name = "FILE.har")]
    pub(crate) har: PathBuf,
    #[command(flatten)]
    pub(crate) output: RecordingsOut,
}

/// `--out` and `--redact`, shared by `record` and `import`: both write recordings and
/// redact them the same way. Each command sets its own default folder and says what
/// goes in it (`mut_arg` on the command).
#[derive(Debug, Clone, Args)]
pub(crate) struct RecordingsOut {
    /// Directory the recordings are written to (created if missing).
    #[arg(long, env = "PAWMOCK_OUT", value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// An extra redaction rule (repeatable): a JSONPath such as `$.user.email` or
    /// `$..phone` replaces what it selects, anything else is a regex whose matches are
    /// replaced, with `[redacted]`. API keys, bearer tokens and secret-named keys are
    /// always redacted.
    #[arg(long = "redact", value_name = "RULE")]
    pub(crate) redact: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (loopback by default: nothing beyond this machine can connect).
    #[arg(long, env = "PAWMOCK_HOST", default_value = "127.0.0.1")]
    pub(crate) host: String,
    /// Port to listen on.
    #[arg(long, env = "PAWMOCK_PORT", default_value_t = 8000)]
    pub(crate) port: u16,
    /// Directory of scenarios (*.json) and recordings (*.jsonl).
    #[arg(
        long,
        env = "PAWMOCK_RECORDINGS",
        default_value = "recordings",
        value_name = "DIR"
    )]
    pub(crate) recordings: PathBuf,
    /// Protocol dialect: `docs` (the published page), `dashboard` (the shipped
    /// dashboard), or `auto` (decided by the client's first dialect-specific action).
    /// [default: auto; dashboard with --static]
    #[arg(long, env = "PAWMOCK_DIALECT")]
    pub(crate) dialect: Option<DialectChoice>,
    /// Pace multiplier for every connection: 2 is twice as fast, 0 plays without delays.
    #[arg(long, env = "PAWMOCK_SPEED", default_value_t = Speed::NORMAL, value_parser = str::parse::<Speed>)]
    pub(crate) speed: Speed,
    /// Seed of the random jitter, so runs repeat exactly (`?seed=` overrides it).
    #[arg(long, env = "PAWMOCK_SEED", default_value_t = crate::rng::DEFAULT_SEED)]
    pub(crate) seed: u64,
    /// Log filter: error, warn, info, debug, trace, or target=level pairs such as
    /// `info,pawmock::connection=debug`.
    #[arg(long, env = "PAWMOCK_LOG_LEVEL", default_value = "info")]
    pub(crate) log_level: String,
    /// Chaos profiles (from `recordings/chaos/`) for every connection whose URL names
    /// none, e.g. `--chaos flaky-network,slow-tools`.
    #[arg(
        long,
        env = "PAWMOCK_CHAOS",
        value_delimiter = ',',
        value_name = "NAME[,NAME…]"
    )]
    pub(crate) chaos: Vec<String>,
    /// Largest client frame accepted, in bytes; larger frames close the socket with 1009.
    #[arg(long, env = "PAWMOCK_MAX_FRAME_SIZE", default_value_t = 1 << 20, value_parser = crate::limits::parse_frame_size)]
    pub(crate) max_frame_size: usize,
    /// Serve a built frontend (such as the PocketPaw dashboard) from DIR on the same
    /// origin as /ws: `/` is DIR/index.html, `/static/js/app.js` is
    /// DIR/static/js/app.js. The default dialect becomes `dashboard`.
    #[arg(long = "static", env = "PAWMOCK_STATIC", value_name = "DIR")]
    pub(crate) static_dir: Option<PathBuf>,
    /// Keep the sessions chatted, renamed and deleted in DIR (the real backend's
    /// memory/sessions layout) and read them back at start. Without it, sessions last
    /// until pawmock stops.
    #[arg(long = "state", env = "PAWMOCK_STATE", value_name = "DIR")]
    pub(crate) state: Option<PathBuf>,
    /// Hot reload reads a changed file this long after the change, so the several writes
    /// of one save become one reload.
    #[arg(
        long,
        env = "PAWMOCK_DEBOUNCE",
        default_value = "100ms",
        value_name = "DURATION",
        value_parser = parse_interval
    )]
    pub(crate) debounce: Duration,
    /// Do not watch the recordings directory: edits take effect after a restart.
    #[arg(
        long,
        env = "PAWMOCK_NO_WATCH",
        action = ArgAction::SetTrue,
        value_parser = BoolishValueParser::new(),
        conflicts_with = "poll"
    )]
    pub(crate) no_watch: bool,
    /// Look for changes every DURATION instead of waiting for change events, for file
    /// systems that send none (network mounts, some containers).
    #[arg(long, env = "PAWMOCK_POLL", value_name = "DURATION", value_parser = parse_interval)]
    pub(crate) poll: Option<Duration>,
    /// Require this bearer token for the control API (`/__pawmock/`) and accept it from
    /// anywhere. Without it the API answers loopback clients only, and is off when
    /// --host listens beyond loopback.
    #[arg(long, env = "PAWMOCK_ADMIN_TOKEN", value_name = "TOKEN")]
    pub(crate) admin_token: Option<String>,
    /// Turn the control API (`/__pawmock/`) off.
    #[arg(
        long,
        env = "PAWMOCK_NO_ADMIN",
        action = ArgAction::SetTrue,
        value_parser = BoolishValueParser::new()
    )]
    pub(crate) no_admin: bool,
    /// Entries the journal (`GET /__pawmock/journal`) keeps; the oldest go first. It is
    /// also bounded to 16 MiB.
    #[arg(long, env = "PAWMOCK_JOURNAL_SIZE", default_value_t = 10_000, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub(crate) journal_size: u32,
    /// Keep the body of every frame sent in the journal, not only its type.
    #[arg(
        long,
        env = "PAWMOCK_JOURNAL_FRAMES",
        action = ArgAction::SetTrue,
        value_parser = BoolishValueParser::new()
    )]
    pub(crate) journal_frames: bool,
    #[command(flatten)]
    pub(crate) limits: crate::limits::LimitArgs,
}

impl ServeArgs {
    /// The dialect in force: the flag, else `dashboard` when serving a frontend (the
    /// page pawmock serves is the dashboard, which never says which dialect it speaks
    /// before its first action), else `auto`.
    pub(crate) fn dialect(&self) -> DialectChoice {
        self.dialect.unwrap_or(if self.static_dir.is_some() {
            DialectChoice::Dashboard
        } else {
            DialectChoice::Auto
        })
    }
}

#[derive(Debug, Clone, Args)]
pub(crate) struct DirArgs {
    /// Recordings directory.
    #[arg(
        default_value = "recordings",
        env = "PAWMOCK_RECORDINGS",
        value_name = "DIR"
    )]
    pub(crate) dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub(crate) recordings: DirArgs,
    /// Host shown in the URLs.
    #[arg(long, env = "PAWMOCK_HOST", default_value = "127.0.0.1")]
    pub(crate) host: String,
    /// Port shown in the URLs.
    #[arg(long, env = "PAWMOCK_PORT", default_value_t = 8000)]
    pub(crate) port: u16,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct SchemaArgs {
    /// Directory to write the schemas into.
    #[arg(long, default_value = "schema", value_name = "DIR")]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ImportSessionsArgs {
    /// The sessions folder: `<session>.json` files and `_index.json`.
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// Where the scenarios are written (created if needed).
    #[arg(long, default_value = "recordings/sessions", value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Replace scenario files that already exist in the output folder.
    #[arg(long)]
    pub(crate) force: bool,
}

/// A debounce or poll interval: a duration such as `100ms` or `1s`, at least 10 ms.
fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = crate::located::duration::parse(s)?;
    let min = crate::server::watch::MIN_INTERVAL;
    if d < min {
        return Err(format!(
            "`{s}` is too short: give at least {}ms, e.g. 100ms",
            min.as_millis()
        ));
    }
    Ok(d)
}

/// The host name to show in URLs: loopback addresses read better as `localhost`.
pub(crate) fn display_host(host: &str) -> &str {
    match host {
        "127.0.0.1" | "::1" | "0.0.0.0" | "::" => "localhost",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("pawmock").chain(args.iter().copied()))
            .map(|cli| cli.serve)
    }

    #[test]
    fn hot_reload_flags_have_the_documented_defaults_and_forms() {
        let default = serve(&[]).unwrap();
        assert_eq!(default.debounce, Duration::from_millis(100));
        assert!(!default.no_watch);
        assert_eq!(default.poll, None);
        let set = serve(&["--debounce", "250ms", "--poll", "1.5s"]).unwrap();
        assert_eq!(set.debounce, Duration::from_millis(250));
        assert_eq!(set.poll, Some(Duration::from_millis(1500)));
        assert!(serve(&["--no-watch"]).unwrap().no_watch);
    }

    #[test]
    fn hot_reload_flags_refuse_bad_values_with_a_reason() {
        let short = serve(&["--debounce", "1ms"]).unwrap_err().to_string();
        assert!(short.contains("too short"), "{short}");
        let bad = serve(&["--poll", "soon"]).unwrap_err().to_string();
        assert!(bad.contains("invalid duration"), "{bad}");
        let both = serve(&["--no-watch", "--poll", "1s"])
            .unwrap_err()
            .to_string();
        assert!(both.contains("cannot be used with"), "{both}");
    }
}
