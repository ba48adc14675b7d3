//! `pawmock import-sessions DIR`: a real backend's sessions folder (addendum D) becomes
//! scenarios, one per session, that resume it: the conversation is the scenario's
//! `history` under the session's own id (so it is in the sidebar and
//! `resume_session`/`switch_session` bring it back), and its turns replay the session's
//! answers in order.
//!
//! Skipped, as the addendum says: `_*.json` (index, aliases), `*_compaction.json`
//! (summary caches) and `*.tmp` (half-written files). Timestamps are naive server local
//! time; like the real backend's readers, pawmock reads them as UTC (they are only
//! shown in the scenario's description: a seeded session starts when pawmock does).

use std::process::ExitCode;
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::cli::ImportSessionsArgs;
use crate::sessions_disk::{self, ReadSession};

/// Runs the command; exit 1 when any file could not be imported.
pub(crate) fn run(args: &ImportSessionsArgs) -> ExitCode {
    let (read, mut problems) = match sessions_disk::read_dir(&args.dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "pawmock import-sessions: cannot read {}: {e}; give the sessions folder, e.g. ~/.pocketpaw/memory/sessions",
                args.dir.display()
            );
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!(
            "pawmock import-sessions: cannot create {}: {e}; choose another folder with --out",
            args.out.display()
        );
        return ExitCode::FAILURE;
    }
    let mut written = 0;
    for session in &read {
        if session.messages.is_empty() {
            println!("{}: no messages, skipped", session.file.display());
            continue;
        }
        let path = args.out.join(format!("{}.json", session.key));
        if path.exists() && !args.force {
            problems.push(format!(
                "{}: already exists, not replaced; pass --force to replace it",
                path.display()
            ));
            continue;
        }
        let text = serde_json::to_string_pretty(&scenario(session)).unwrap_or_default() + "\n";
        match sessions_disk::write_atomic(&path, text.as_bytes()) {
            Ok(()) => {
                written += 1;
                println!(
                    "{} ({} messages) → {}",
                    session.file.display(),
                    session.messages.len(),
                    path.display()
                );
            }
            Err(e) => problems.push(format!("{}: cannot write: {e}", path.display())),
        }
    }
    for p in &problems {
        eprintln!("{p}");
    }
    println!(
        "{written} session(s) imported into {}; serve them with --recordings {} (or keep the folder inside your recordings directory)",
        args.out.display(),
        args.out.display()
    );
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One session as a scenario file.
pub(crate) fn scenario(session: &ReadSession) -> Value {
    let now = SystemTime::now();
    let stored = sessions_disk::to_session(session, now);
    let title = session
        .index
        .as_ref()
        .and_then(|i| i.user_title.clone().or_else(|| Some(i.title.clone())))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| stored.display_title());
    let history: Vec<Value> = session
        .messages
        .iter()
        .map(|m| json!({"role": m.role, "content": m.content}))
        .collect();
    let answers: Vec<&str> = session
        .messages
        .iter()
        .filter(|m| m.role == "assistant" && !m.content.is_empty())
        .map(|m| m.content.as_str())
        .collect();
    let mut turns: Vec<Value> = answers
        .iter()
        .enumerate()
        .map(|(i, a)| json!({"when": {"turn": i + 1}, "reply": [{"say": a}]}))
        .collect();
    turns.push(json!({
        "when": "any",
        "reply": [{"say": answers.last().copied().unwrap_or("(This imported session has no answers to replay.)")}],
    }));
    let last = crate::timestamp::iso8601(stored.last_activity);
    json!({
        "$schema": "../../schema/scenario.schema.json",
        "title": title,
        "description": format!(
            "Imported from {} ({} messages, last activity {} UTC; the file's naive times are read as UTC). Resume it as session {}; each message replays the session's answers in order.",
            session.file.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            session.messages.len(),
            &last[..16].replace('T', " "),
            session.key,
        ),
        "session_id": session.key,
        "history": history,
        "turns": turns,
    })
}
