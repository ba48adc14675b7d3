//! The `pawmock` commands: parses the command line and runs one (`src/main.rs` only
//! calls [`main`], so the binary needs nothing else from the library).

use std::path::Path;
use std::process::ExitCode;

use crate::app::{App, ServeConfig};
use crate::cli::{Cli, Command, DirArgs, ListArgs, SchemaArgs, ServeArgs, display_host};
use crate::library::reload::Reloader;
use crate::library::{self, Library};
use crate::server::watch::{self, WatchConfig};
use clap::Parser;
use tracing::{Level, info, warn};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Runs the command the command line names.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Check(args)) => check(&args),
        Some(Command::List(args)) => list(&args),
        Some(Command::Schema(args)) => schema(&args),
        Some(Command::ImportSessions(args)) => crate::import_sessions::run(&args),
        Some(Command::Record(args)) => crate::record::command(&args),
        Some(Command::Import(args)) => crate::import::command(&args),
    }
}

/// The filter the `--log-level` error suggests: log targets are module paths from the
/// crate's name (`pawmock::connection`), whatever path the code uses for the module.
const LOG_FILTER_EXAMPLE: &str = "info,pawmock::connection=debug";

fn serve(args: ServeArgs) -> ExitCode {
    // A `Targets` filter (`info`, `pawmock=debug`, `warn,pawmock::connection=info`), not
    // an `EnvFilter`: the latter's span and field matching pulls regex-automata's full
    // DFA builder into the build, which makes every `regex` rule of a scenario several
    // times slower to compile, at start-up and on every reload.
    let filter = log_filter(&args.log_level).unwrap_or_else(|e| {
            eprintln!(
                "pawmock: --log-level `{}` is not a log filter ({e}); using `info`. Write a level (error, warn, info, debug, trace) or target=level pairs such as `{LOG_FILTER_EXAMPLE}`",
                args.log_level
            );
            Targets::new().with_default(Level::INFO)
        });
    // notify logs routine watch bookkeeping at info ("unable to remove watch descriptor"
    // when a watched directory is deleted); keep it out unless asked for by name.
    let filter = if args.log_level.contains("notify") {
        filter
    } else {
        filter.with_target("notify", Level::WARN)
    };
    // Log lines are written by a thread of their own, so a terminal or pipe that drains
    // slowly never stops the runtime's workers, and with them every connection's cadence.
    // Not lossy: when its buffer (128k lines) is full, logging waits rather than drops;
    // the guard flushes what is left when `serve` returns.
    let (writer, _flush_on_exit) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("pawmock-log")
        .finish(std::io::stdout());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_ansi(colour())
                .with_writer(writer),
        )
        .with(filter)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pawmock: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // The reloader's scan is the start-up load: hot reload continues from its state.
        let (reloader, loaded) = match Reloader::scan(&args.recordings) {
            Ok(l) => l,
            Err(e) => {
                eprintln!(
                    "pawmock: cannot read the recordings directory {}: {e}; pass another with --recordings DIR",
                    args.recordings.display()
                );
                return ExitCode::FAILURE;
            }
        };
        for p in &loaded.problems {
            warn!("{p}");
        }
        for name in &args.chaos {
            if loaded.library.chaos_profile(name).is_none() {
                eprintln!(
                    "pawmock: unknown chaos profile `{name}` in --chaos; known profiles: {}",
                    loaded.library.chaos_names().join(", ")
                );
                return ExitCode::FAILURE;
            }
        }
        let static_dir = match args.static_dir.as_deref().map(crate::server::static_root) {
            None => None,
            Some(Ok(dir)) => Some(dir),
            Some(Err(e)) => {
                eprintln!("pawmock: {e}");
                return ExitCode::FAILURE;
            }
        };
        let listeners = match crate::server::bind_all(&args.host, args.port).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("pawmock: {e}");
                return ExitCode::FAILURE;
            }
        };
        match crate::limits::raise_open_file_limit() {
            Ok(n) => info!("open file limit: {n} (raised to the hard limit)"),
            Err(e) => warn!("cannot raise the open file limit: {e}; ulimit -n sets it"),
        }
        let count = loaded.library.scenarios().len();
        let port = listeners[0].local_addr().map_or(args.port, |a| a.port());
        let dialect = args.dialect();
        let config = ServeConfig {
            dialect,
            speed: args.speed,
            seed: args.seed,
            max_frame_size: args.max_frame_size,
            chaos: args.chaos.clone(),
            static_dir: static_dir.clone(),
            admin: crate::control::Access::from_flags(
                &args.host,
                args.admin_token.as_deref(),
                args.no_admin,
            ),
            journal: crate::control::JournalConfig {
                size: args.journal_size as usize,
                frames: args.journal_frames,
                ..Default::default()
            },
            handshake_timeout: args.limits.handshake_timeout,
            max_pending: args.limits.max_pending,
            history_budget: args.limits.history_budget,
        };
        let admin = config.admin.clone();
        let app = App::new(loaded.library, config);
        if let Some(dir) = &args.state {
            match crate::persist::StateDir::open(dir, &app.sessions) {
                Ok(state) => {
                    let _ = app.state.set(std::sync::Arc::new(state));
                }
                Err(e) => {
                    eprintln!("pawmock: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        app.inspector.set_problems(loaded.problems);
        info!(
            "pawmock {} serving {count} scenarios from {} on ws://{}:{}/ws (dialect {}, speed {}, seed {})",
            env!("CARGO_PKG_VERSION"),
            args.recordings.display(),
            display_host(&args.host),
            port,
            dialect,
            args.speed,
            args.seed
        );
        match &static_dir {
            Some(dir) => {
                info!(
                    "serving the frontend in {} on http://{}:{}/",
                    dir.display(),
                    display_host(&args.host),
                    port
                );
                if !dir.join("index.html").is_file() {
                    warn!(
                        "{} has no index.html, so GET / will be 404; --static wants the folder that holds the built frontend's index.html",
                        dir.display()
                    );
                }
            }
            None => info!(
                "open http://{}:{}/ for the scenario list; --static DIR serves a frontend",
                display_host(&args.host),
                port
            ),
        }
        match admin {
            crate::control::Access::Off if !args.no_admin => warn!(
                "control API off: --host {} is reachable beyond this machine and no --admin-token is set",
                args.host
            ),
            _ => info!("{}", admin.describe()),
        }
        // Kept alive while the server runs; stopped when it returns.
        let watching = if args.no_watch {
            info!(
                "not watching {} (--no-watch): edits take effect after a restart",
                args.recordings.display()
            );
            None
        } else {
            let config = WatchConfig {
                debounce: args.debounce,
                poll: args.poll,
            };
            match watch::spawn(app.clone(), reloader, config) {
                Ok(handle) => Some(handle),
                Err(e) => {
                    warn!("{e}; serving without hot reload");
                    None
                }
            }
        };
        let shutdown = app.shutdown.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            info!("shutting down");
            shutdown.cancel();
        });
        crate::server::run_all(app, listeners).await;
        if let Some(handle) = watching {
            handle.stop();
        }
        ExitCode::SUCCESS
    })
}

/// Colour in the log only on a terminal, and never with `NO_COLOR` set (no-color.org):
/// in a file or pipe the escape codes would break `grep 'conn=c3'`.
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Parses `--log-level`. A bare word that is not a level would be taken as a target
/// and silence everything else, so it is refused ("verbose" is a typo, not a module).
fn log_filter(text: &str) -> Result<Targets, String> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    // Spaces around the commas and empty parts are dropped first: tracing would read ""
    // as the level `error`, and " pawmock=debug" as a target with a leading space.
    let parts: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    if parts.is_empty() {
        return Err("it is empty".into());
    }
    if let Some(word) = parts
        .iter()
        .find(|d| !d.contains('=') && !LEVELS.contains(&d.to_ascii_lowercase().as_str()))
    {
        return Err(format!("`{word}` is neither a level nor target=level"));
    }
    parts
        .join(",")
        .parse::<Targets>()
        .map_err(|e| e.to_string())
}

fn check(args: &DirArgs) -> ExitCode {
    let loaded = match Library::load(&args.dir) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("pawmock check: cannot read {}: {e}", args.dir.display());
            return ExitCode::FAILURE;
        }
    };
    for p in &loaded.problems {
        println!("{p}");
    }
    for note in library::dashboard_notes::dashboard_notes(&loaded.library) {
        println!("{note}");
    }
    for warning in loaded.library.scenarios().iter().flat_map(|s| &s.warnings) {
        println!("warning: {warning}");
    }
    let dir = args.dir.display();
    if loaded.problems.is_empty() {
        println!("{dir}: {} files, all valid", loaded.files);
        ExitCode::SUCCESS
    } else {
        println!(
            "{dir}: {} files, {} problem(s)",
            loaded.files,
            loaded.problems.len()
        );
        ExitCode::FAILURE
    }
}

fn list(args: &ListArgs) -> ExitCode {
    let loaded = match Library::load(&args.recordings.dir) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "pawmock list: cannot read {}: {e}",
                args.recordings.dir.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let scenarios = loaded.library.scenarios();
    let width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let title_width = scenarios
        .iter()
        .map(|s| s.title.chars().count())
        .max()
        .unwrap_or(0);
    for s in scenarios {
        let markers = s.markers();
        let markers = if markers.is_empty() {
            String::new()
        } else {
            format!("  markers: {}", markers.join(", "))
        };
        println!(
            "{:width$}  {:title_width$}  ws://{}:{}/ws?scenario={}{markers}",
            s.name,
            s.title,
            display_host(&args.host),
            args.port,
            s.name
        );
    }
    if !loaded.problems.is_empty() {
        eprintln!(
            "{} file(s) left out because of problems; run `pawmock check {}`",
            loaded.problems.len(),
            args.recordings.dir.display()
        );
    }
    ExitCode::SUCCESS
}

fn schema(args: &SchemaArgs) -> ExitCode {
    match library::schema::write_all(&args.out) {
        Ok(paths) => {
            for p in paths {
                println!("wrote {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "pawmock schema: cannot write into {}: {e}",
                Path::new(&args.out).display()
            );
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suggested_log_filter_names_the_real_connection_target() {
        let f = log_filter(LOG_FILTER_EXAMPLE).unwrap();
        assert!(
            f.would_enable(crate::connection::LOG_TARGET, &Level::DEBUG),
            "`{LOG_FILTER_EXAMPLE}` does not reach `{}`",
            crate::connection::LOG_TARGET
        );
    }

    #[test]
    fn log_levels_and_target_pairs_are_filters_and_other_words_are_refused() {
        let f = log_filter("warn,pawmock::connection=debug").unwrap();
        assert!(f.would_enable("pawmock::connection", &Level::DEBUG));
        assert!(!f.would_enable("pawmock::server", &Level::INFO));
        assert!(f.would_enable("pawmock::server", &Level::WARN));
        assert!(log_filter("INFO").unwrap().would_enable("x", &Level::INFO));
        let e = log_filter("info,verbose").unwrap_err();
        assert!(
            e.contains("`verbose` is neither a level nor target=level"),
            "{e}"
        );
        assert!(log_filter("pawmock=loud").is_err());
        // Spaces and empty parts, as people type them.
        let f = log_filter(" info, pawmock::connection=debug ,").unwrap();
        assert!(f.would_enable("pawmock::connection", &Level::DEBUG));
        assert!(f.would_enable("pawmock::server", &Level::INFO));
        assert!(!f.would_enable("pawmock::server", &Level::DEBUG));
        assert!(log_filter(" , ").is_err());
    }
}
