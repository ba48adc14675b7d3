//! The dashboard's legacy actions (protocol reference §1.5, §2.2, §2.3, §6 item 12),
//! each answered the way the real backend answers it, from `backend.json`.

mod common;

use std::time::Duration;

use common::{Client, Server};
use regex::Regex;
use serde_json::{Value, json};

/// A dashboard connection, past its `connection_info`.
async fn dashboard(server: &Server) -> Client {
    let mut c = server.connect("dialect=dashboard").await;
    assert_eq!(c.next().await["type"], "connection_info");
    c
}

/// Sends one action and returns its single reply.
async fn ask(c: &mut Client, frame: Value) -> Value {
    c.send(frame).await;
    c.next().await
}

fn is_iso(v: &Value) -> bool {
    let re = Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$").unwrap();
    v.as_str().is_some_and(|s| re.is_match(s))
}

#[tokio::test]
async fn the_load_time_actions_get_the_real_backends_replies_in_order() {
    let server = Server::fixtures().await;
    let mut c = dashboard(&server).await;
    for action in [
        json!({"action": "authenticate", "token": "whatever"}),
        json!({"action": "tool", "tool": "status"}),
        json!({"action": "get_settings"}),
        json!({"action": "get_reminders"}),
        json!({"action": "get_intentions"}),
        json!({"action": "get_skills"}),
        json!({"action": "get_health"}),
        json!({"action": "toggle_agent", "active": true}),
    ] {
        c.send(action).await;
    }
    let mut types = Vec::new();
    for _ in 0..7 {
        types.push(c.next().await["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        types,
        [
            "status",
            "settings",
            "reminders",
            "intentions",
            "skills",
            "health_update",
            "notification"
        ],
        "authenticate is ignored, everything else answered in order"
    );
    assert!(c.silent_for(Duration::from_millis(200)).await);
}

#[tokio::test]
async fn status_text_fills_the_cpu_ram_disk_and_battery_widgets() {
    let server = Server::fixtures().await;
    let mut c = dashboard(&server).await;
    let f = ask(&mut c, json!({"action": "tool", "tool": "status"})).await;
    assert_eq!(f["type"], "status");
    let text = f["content"].as_str().unwrap();
    // The dashboard's own patterns (tools.js parseStatus).
    let grab = |re: &str| {
        Regex::new(re)
            .unwrap()
            .captures(text)
            .map(|c| c[1].to_owned())
    };
    assert_eq!(grab(r"CPU:\s*([\d.]+)%").as_deref(), Some("12.0"));
    assert_eq!(grab(r"RAM:.*\((\d+)%\)").as_deref(), Some("32"));
    assert_eq!(grab(r"Disk:.*\((\d+)%\)").as_deref(), Some("20"));
    assert_eq!(grab(r"Battery:\s*(\d+)%").as_deref(), Some("85"));
}

#[tokio::test]
async fn the_other_tools_answer_like_the_real_backend() {
    let server = Server::fixtures().await;
    let mut c = dashboard(&server).await;
    assert_eq!(
        ask(&mut c, json!({"action": "tool", "tool": "dance"})).await,
        json!({"type": "error", "content": "Unknown tool: dance"})
    );
    assert_eq!(
        ask(&mut c, json!({"action": "tool"})).await,
        json!({"type": "error", "content": "Unknown tool: None"})
    );
    assert_eq!(
        ask(&mut c, json!({"action": "tool", "tool": "panic"})).await,
        json!({"type": "message", "content": "🛑 PANIC: All agent processes stopped!"})
    );
    let shot = ask(&mut c, json!({"action": "tool", "tool": "screenshot"})).await;
    assert_eq!(shot["type"], "screenshot");
    assert!(
        shot["image"].as_str().unwrap().starts_with("iVBORw0KGgo"),
        "a base64 PNG"
    );
    let listing = ask(
        &mut c,
        json!({"action": "tool", "tool": "fetch", "path": "~/Documents"}),
    )
    .await;
    assert_eq!(listing["type"], "message");
    let text = listing["content"].as_str().unwrap();
    assert!(
        text.contains("📁 Recipes/") && text.contains("📄 notes.md (2.0 KB)"),
        "{text}"
    );
}

#[tokio::test]
async fn settings_report_a_configured_provider_and_keep_what_is_saved() {
    let server = Server::fixtures().await;
    let mut c = dashboard(&server).await;
    let f = ask(&mut c, json!({"action": "get_settings"})).await;
    assert_eq!(f["type"], "settings");
    let s = &f["content"];
    // What keeps the welcome wizard closed: a backend whose provider has its key.
    assert_eq!(s["agentBackend"], "claude_agent_sdk");
    assert_eq!(s["claudeSdkProvider"], "anthropic");
    assert_eq!(s["hasAnthropicKey"], true);
    assert_eq!(
        s["agentStatus"],
        json!({"status": "running", "backend": "AgentLoop"})
    );

    let saved = ask(
        &mut c,
        json!({"action": "settings", "agent_backend": "openai_agents", "llm_provider": "ollama",
               "claude_sdk_max_turns": 7, "plan_mode": true, "web_host": "0.0.0.0", "web_port": 9}),
    )
    .await;
    assert_eq!(
        saved,
        json!({"type": "message", "content": "⚙️ Settings updated"})
    );
    let s = ask(&mut c, json!({"action": "get_settings"})).await["content"].clone();
    assert_eq!(s["agentBackend"], "openai_agents");
    assert_eq!(s["llmProvider"], "ollama");
    assert_eq!(s["claudeSdkMaxTurns"], 7);
    assert_eq!(s["planMode"], true);
    assert!(s.get("webHost").is_none() && s.get("webPort").is_none());

    assert_eq!(s["hasOpenaiKey"], false);
    let ok = ask(
        &mut c,
        json!({"action": "save_api_key", "provider": "openai", "key": "sk-test"}),
    )
    .await;
    assert_eq!(
        ok,
        json!({"type": "message", "content": "✅ OpenAI API key saved!"})
    );
    let s = ask(&mut c, json!({"action": "get_settings"})).await["content"].clone();
    assert_eq!(s["hasOpenaiKey"], true);
    for bad in [
        json!({"action": "save_api_key", "provider": "myspace", "key": "k"}),
        json!({"action": "save_api_key", "provider": "openai", "key": "  "}),
        json!({"action": "save_api_key"}),
    ] {
        assert_eq!(
            ask(&mut c, bad).await,
            json!({"type": "error", "content": "Invalid API key or provider"})
        );
    }
}

#[tokio::test]
async fn toggle_agent_is_a_cosmetic_notification() {
    let server = Server::fixtures().await;
    let mut c = dashboard(&server).await;
    assert_eq!(
        ask(&mut c, json!({"action": "toggle_agent", "active": true})).await,
        json!({"type": "notification", "content": "Legacy Mode: ON (Bus is always active)"})
    );
    assert_eq!(
        ask(&mut c, json!({"action": "toggle_agent", "active": false})).await,
        json!({"type": "notification", "content": "Legacy Mode: OFF (Bus is always active)"})
    );
}

#[tokio::test]
async fn reminders_added_during_the_run_are_listed_afterwards_on_every_connection() {
    let server = Server::fixtures().await;
    let mut c = dashboard(&server).await;
    let list = ask(&mut c, json!({"action": "get_reminders"})).await;
    assert_eq!(list["type"], "reminders");
    let canned = list["reminders"].as_array().unwrap();
    assert_eq!(canned.len(), 2);
    let r = &canned[1];
    for field in [
        "id",
        "text",
        "original",
        "trigger_at",
        "created_at",
        "time_remaining",
    ] {
        assert!(r.get(field).is_some(), "{field} in {r}");
    }
    assert_eq!(r["type"], "recurring");
    assert_eq!(r["schedule"], "0 18 * * *");
    assert!(is_iso(&r["trigger_at"]) && is_iso(&r["created_at"]));

    let added = ask(
        &mut c,
        json!({"action": "add_reminder", "message": "remind me in 5 minutes to stretch"}),
    )
    .await;
    assert_eq!(added["type"], "reminder_added");
    let reminder = &added["reminder"];
    assert_eq!(reminder["text"], "stretch");
    assert_eq!(reminder["original"], "remind me in 5 minutes to stretch");
    let remaining = reminder["time_remaining"].as_str().unwrap();
    assert!(remaining == "5m" || remaining == "4m", "{remaining}");
    let id = reminder["id"].as_str().unwrap().to_owned();

    let mut other = dashboard(&server).await;
    let list = ask(&mut other, json!({"action": "get_reminders"})).await;
    let ids: Vec<&str> = list["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[2], id, "kept in memory, shared by connections");

    assert_eq!(
        ask(&mut c, json!({"action": "delete_reminder", "id": id})).await,
        json!({"type": "reminder_deleted", "id": id})
    );
    assert_eq!(
        ask(&mut c, json!({"action": "delete_reminder", "id": id})).await,
        json!({"type": "error", "content": "Reminder not found"})
    );
    let canned_id = canned[0]["id"].as_str().unwrap();
    assert_eq!(
        ask(
            &mut c,
            json!({"action": "delete_reminder", "id": canned_id})
        )
        .await["type"],
        "reminder_deleted"
    );
    let list = ask(&mut c, json!({"action": "get_reminders"})).await;
    assert_eq!(list["reminders"].as_array().unwrap().len(), 1);
    assert_eq!(
        ask(
            &mut c,
            json!({"action": "add_reminder", "message": "stretch sometime"})
        )
        .await,
        json!({"type": "error", "content": "Could not parse time from message. Try 'in 5 minutes' or 'at 3pm'"})
    );
}

#[tokio::test]
async fn intentions_are_created_toggled_run_updated_and_deleted() {
    let server = Server::fixtures().await;
    let mut c = dashboard(&server).await;
    let list = ask(&mut c, json!({"action": "get_intentions"})).await;
    assert_eq!(list["type"], "intentions");
    let first = &list["intentions"][0];
    let fields: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "id",
            "name",
            "prompt",
            "trigger",
            "context_sources",
            "enabled",
            "created_at",
            "last_run",
            "next_run"
        ]
    );
    assert_eq!(
        first["trigger"],
        json!({"type": "cron", "schedule": "0 8 * * 1-5"})
    );

    let created = ask(
        &mut c,
        json!({"action": "create_intention", "name": "Tea", "prompt": "Remind me to drink tea",
               "trigger": {"type": "cron", "schedule": "0 16 * * *"}, "context_sources": [], "enabled": true}),
    )
    .await;
    assert_eq!(created["type"], "intention_created");
    let id = created["intention"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["intention"]["name"], "Tea");
    assert_eq!(created["intention"]["last_run"], Value::Null);

    let toggled = ask(&mut c, json!({"action": "toggle_intention", "id": id})).await;
    assert_eq!(toggled["type"], "intention_toggled");
    assert_eq!(toggled["intention"]["enabled"], false);

    assert_eq!(
        ask(&mut c, json!({"action": "run_intention", "id": id})).await,
        json!({"type": "notification", "content": "🚀 Running intention: Tea"})
    );
    // Then, to every dashboard socket, the run's start and end (addendum C.5).
    for kind in ["intention_started", "intention_completed"] {
        let f = c.next().await;
        assert_eq!(f["type"], kind);
        assert_eq!(f["intention_id"], id.as_str());
        assert_eq!(f["intention_name"], "Tea");
        assert!(is_iso(&f["timestamp"]), "{f}");
        assert_eq!(f.as_object().unwrap().len(), 4);
    }
    let updated = ask(
        &mut c,
        json!({"action": "update_intention", "id": id, "updates": {"name": "Green tea"}}),
    )
    .await;
    assert_eq!(updated["type"], "intention_updated");
    assert_eq!(updated["intention"]["name"], "Green tea");
    assert!(
        is_iso(&updated["intention"]["last_run"]),
        "the run was recorded"
    );

    // A canned intention can be changed too, and the change is listed.
    let canned = first["id"].as_str().unwrap();
    let t = ask(&mut c, json!({"action": "toggle_intention", "id": canned})).await;
    assert_eq!(
        t["intention"]["enabled"],
        !first["enabled"].as_bool().unwrap()
    );

    let mut other = dashboard(&server).await;
    let list = ask(&mut other, json!({"action": "get_intentions"})).await;
    let all = list["intentions"].as_array().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0]["enabled"], t["intention"]["enabled"]);
    assert_eq!(all[2]["name"], "Green tea");

    assert_eq!(
        ask(&mut c, json!({"action": "delete_intention", "id": id})).await,
        json!({"type": "intention_deleted", "id": id})
    );
    for action in ["toggle_intention", "run_intention", "delete_intention"] {
        assert_eq!(
            ask(&mut c, json!({"action": action, "id": id})).await,
            json!({"type": "error", "content": "Intention not found"}),
            "{action}"
        );
    }
    let refused = ask(
        &mut c,
        json!({"action": "create_intention", "prompt": "p", "trigger": {"type": "cron", "schedule": "* * * * *"}}),
    )
    .await;
    assert_eq!(refused["type"], "error");
}

#[tokio::test]
async fn skills_are_listed_and_a_known_skill_runs_as_a_streamed_turn() {
    let server = Server::fixtures().await;
    let mut c = dashboard(&server).await;
    let list = ask(&mut c, json!({"action": "get_skills"})).await;
    assert_eq!(list["type"], "skills");
    assert_eq!(
        list["skills"][0],
        json!({"name": "summarize", "description": "Summarise a web page or a file", "argument_hint": "<url or path>"})
    );

    c.send(json!({"action": "run_skill", "name": "summarize", "args": "https://example.org"}))
        .await;
    let frames = c.until_stream_end().await;
    let types: Vec<&str> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "notification",
            "stream_start",
            "skill_started",
            "message",
            "skill_completed",
            "stream_end"
        ]
    );
    assert_eq!(frames[0]["content"], "🎯 Running skill: summarize");
    assert_eq!(frames[2]["skill_name"], "summarize");
    assert_eq!(frames[2]["args"], "https://example.org");
    assert!(is_iso(&frames[2]["timestamp"]));
    assert_eq!(frames[3]["is_stream_chunk"], true);
    assert!(
        frames[3]["content"]
            .as_str()
            .unwrap()
            .contains("French press")
    );

    // An unknown skill gets no answer at all, as with the real backend.
    c.send(json!({"action": "run_skill", "name": "nope", "args": ""}))
        .await;
    assert!(c.silent_for(Duration::from_millis(200)).await);
}

#[tokio::test]
async fn health_is_reported_and_a_check_sets_last_check() {
    let server = Server::fixtures().await;
    let mut c = dashboard(&server).await;
    let h = ask(&mut c, json!({"action": "get_health"})).await;
    assert_eq!(
        h,
        json!({"type": "health_update", "data": {"status": "healthy", "check_count": 12, "issues": [], "last_check": null}})
    );
    let checked = ask(&mut c, json!({"action": "run_health_check"})).await;
    assert_eq!(checked["type"], "health_update");
    assert!(is_iso(&checked["data"]["last_check"]));
    let again = ask(&mut c, json!({"action": "get_health"})).await;
    assert_eq!(again["data"]["last_check"], checked["data"]["last_check"]);
    let errors = ask(&mut c, json!({"action": "get_health_errors", "limit": 5})).await;
    assert_eq!(errors["type"], "health_errors");
    assert_eq!(errors["errors"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn browse_walks_a_made_up_home_and_echoes_the_context() {
    let server = Server::fixtures().await;
    let mut c = dashboard(&server).await;
    let home = ask(
        &mut c,
        json!({"action": "browse", "path": "~", "context": "sidebar_root"}),
    )
    .await;
    assert_eq!(home["type"], "files");
    assert_eq!(home["path"], "~");
    assert_eq!(home["context"], "sidebar_root");
    let names: Vec<&str> = home["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Documents", "Downloads", "Pictures", "Projects", "todo.txt"],
        "folders first, hidden files skipped"
    );
    assert_eq!(
        home["files"][0],
        json!({"name": "Documents", "isDir": true})
    );
    assert_eq!(
        home["files"][4],
        json!({"name": "todo.txt", "isDir": false, "size": "120 B"})
    );

    for (path, shown) in [
        ("Documents/Recipes", "~/Documents/Recipes"),
        ("~/Documents/./Recipes/", "~/Documents/Recipes"),
        ("/home/paw/Projects", "~/Projects"),
        ("Projects/../Downloads", "~/Downloads"),
    ] {
        let f = ask(&mut c, json!({"action": "browse", "path": path})).await;
        assert_eq!(f["path"], shown, "{path}: {f}");
        assert!(f.get("context").is_none(), "no context sent, none echoed");
    }
    for (path, error) in [
        ("~/Documents/notes.md", "Not a directory"),
        ("~/Nowhere", "Path does not exist"),
        ("/etc", "Access denied: /etc is outside /home/paw"),
        ("../..", "Access denied: ../.. is outside /home/paw"),
        (
            "/home/pawn",
            "Access denied: /home/pawn is outside /home/paw",
        ),
    ] {
        let f = ask(
            &mut c,
            json!({"action": "browse", "path": path, "context": "modal"}),
        )
        .await;
        assert_eq!(
            f,
            json!({"type": "files", "error": error, "context": "modal"}),
            "{path}"
        );
    }
    let nav = ask(&mut c, json!({"action": "navigate", "path": "~/Pictures"})).await;
    assert_eq!(
        nav,
        json!({"type": "message", "content": "📁 **~/Pictures**\n\n📄 cat.jpg (2.3 MB)\n"})
    );
}

#[tokio::test]
async fn replies_keep_the_dashboard_shape_on_docs_and_auto_connections() {
    let server = Server::fixtures().await;
    for query in ["dialect=docs", ""] {
        let mut c = server.connect(query).await;
        let f = ask(&mut c, json!({"action": "get_health"})).await;
        assert_eq!(f["type"], "health_update", "{query}");
        assert!(f.get("session_id").is_none());
    }
}

#[tokio::test]
async fn a_backend_json_in_the_recordings_changes_the_replies() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hello.json"),
        r#"{"turns": [{"reply": [{"say": "hi"}]}]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("backend.json"),
        r#"{
          "status": {"os": "Plan 9 (mips)", "cpu_percent": 99.5, "cpu_cores": 2, "ram_used_gb": 1,
                     "ram_total_gb": 4, "disk_used_gb": 10, "disk_total_gb": 40, "uptime": "0:05:00"},
          "settings": {"llmProvider": "ollama"},
          "skills": [{"name": "joke", "output": "Why did the cat sit on the laptop?"}],
          "home": {"path": "/Users/sam", "files": {"hello.txt": 5}}
        }"#,
    )
    .unwrap();
    let server = Server::instant(dir.path()).await;
    let mut c = dashboard(&server).await;
    let status = ask(&mut c, json!({"action": "tool", "tool": "status"})).await;
    let text = status["content"].as_str().unwrap();
    assert!(
        text.contains("Plan 9 (mips)") && text.contains("CPU: 99.5%"),
        "{text}"
    );
    assert!(
        !text.contains("Battery"),
        "no battery given, no battery line"
    );
    let settings = ask(&mut c, json!({"action": "get_settings"})).await;
    assert_eq!(settings["content"]["llmProvider"], "ollama");
    assert_eq!(
        settings["content"]["hasAnthropicKey"], true,
        "merged over built-in"
    );
    let skills = ask(&mut c, json!({"action": "get_skills"})).await;
    assert_eq!(
        skills["skills"],
        json!([{"name": "joke", "description": "", "argument_hint": ""}])
    );
    let files = ask(&mut c, json!({"action": "browse", "path": "/Users/sam"})).await;
    assert_eq!(
        files["files"],
        json!([{"name": "hello.txt", "isDir": false, "size": "5 B"}])
    );
    let reminders = ask(&mut c, json!({"action": "get_reminders"})).await;
    assert_eq!(
        reminders["reminders"].as_array().unwrap().len(),
        2,
        "built-in kept"
    );
}

#[tokio::test]
async fn a_due_reminder_rings_on_every_dashboard_connection_and_leaves_the_list() {
    let server = Server::fixtures().await;
    let mut c = dashboard(&server).await;
    let mut other = dashboard(&server).await;
    let mut docs = server.connect("dialect=docs").await;
    // An `auto` connection becomes a dashboard one with its first dashboard action.
    let mut auto = server.connect("").await;
    let listed = ask(&mut auto, json!({"action": "get_reminders"})).await;
    assert_eq!(listed["type"], "reminders", "{listed}");
    let added = ask(
        &mut c,
        json!({"action": "add_reminder", "message": "remind me in 1 second to stretch"}),
    )
    .await;
    assert_eq!(added["type"], "reminder_added", "{added}");
    let id = added["reminder"]["id"].clone();
    for conn in [&mut c, &mut other, &mut auto] {
        // The real backend's two frames: `content` first, then the `reminder` the
        // dashboard reads.
        let first = conn.next().await;
        let second = conn.next().await;
        assert_eq!(first["type"], "reminder", "{first}");
        assert_eq!(first["content"]["id"], id, "{first}");
        assert_eq!(second["type"], "reminder", "{second}");
        assert_eq!(second["reminder"]["text"], "stretch", "{second}");
        assert_eq!(second["reminder"]["id"], id, "{second}");
    }
    assert!(
        docs.silent_for(Duration::from_millis(300)).await,
        "the docs dialect has no reminder frame"
    );
    let list = ask(&mut other, json!({"action": "get_reminders"})).await;
    assert!(
        list["reminders"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != id),
        "a reminder that rang is gone: {list}"
    );
    assert!(
        c.silent_for(Duration::from_millis(1500)).await,
        "it rings once"
    );
}
