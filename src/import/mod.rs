//! `pawmock import FILE.har`: the WebSocket messages a browser saved in a HAR file
//! become recordings `serve` replays.

pub(crate) mod har;

use std::process::ExitCode;

/// Runs `pawmock import`.
pub(crate) fn command(args: &crate::cli::ImportArgs) -> ExitCode {
    let redactor = match crate::record::Redactor::with_rules(&args.output.redact) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pawmock import: {e}");
            return ExitCode::FAILURE;
        }
    };
    match har::import(&args.har, &args.output.out, &redactor) {
        Ok(written) => {
            for w in &written {
                println!(
                    "wrote {} ({} frames from {})",
                    w.path.display(),
                    w.frames,
                    w.url
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pawmock import: {e}");
            ExitCode::FAILURE
        }
    }
}
