//! The dashboard's panels beyond chat (addendum B.1–B.8): per endpoint family, the
//! real backend's status and shape, the state change the UI shows, and a bad body's
//! real error shape. The data is the bundled `backend.json` (the fixtures have none).

mod common;

use std::net::SocketAddr;

use common::Server;
use common::http::{HttpResponse, get, get_json, request};
use serde_json::{Value, json};

/// The text of the QR code in a PNG, read back with rqrr.
fn qr_text(png_bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes.to_vec()));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("a readable QR code").1
}

async fn send(addr: SocketAddr, method: &str, path: &str, body: Value) -> HttpResponse {
    let text = body.to_string();
    request(
        addr,
        method,
        path,
        &[("Content-Type", "application/json")],
        text.as_bytes(),
    )
    .await
}

/// `method path body` as JSON, asserting the status.
async fn call(addr: SocketAddr, method: &str, path: &str, body: Value, status: u16) -> Value {
    let r = send(addr, method, path, body).await;
    assert_eq!(r.status, status, "{method} {path}: {}", r.text());
    r.json()
}

#[tokio::test]
async fn a_channel_toggled_stays_toggled_and_failures_are_200_errors_or_400_details() {
    let server = Server::fixtures().await;
    let addr = server.addr;
    let status = get_json(addr, "/api/channels/status", 200).await;
    assert_eq!(status["telegram"]["running"], true);

    let stopped = call(
        addr,
        "POST",
        "/api/channels/toggle",
        json!({"channel": "telegram", "action": "stop"}),
        200,
    )
    .await;
    assert_eq!(
        stopped,
        json!({"channel": "telegram", "configured": true, "running": false})
    );
    let status = get_json(addr, "/api/channels/status", 200).await;
    assert_eq!(status["telegram"]["running"], false, "the stop is kept");

    let again = call(
        addr,
        "POST",
        "/api/channels/toggle",
        json!({"channel": "telegram", "action": "stop"}),
        200,
    )
    .await;
    assert_eq!(again, json!({"error": "Telegram is not running"}));
    let started = call(
        addr,
        "POST",
        "/api/channels/toggle",
        json!({"channel": "telegram", "action": "start"}),
        200,
    )
    .await;
    assert_eq!(started["running"], true);
    let twice = call(
        addr,
        "POST",
        "/api/channels/toggle",
        json!({"channel": "telegram", "action": "start"}),
        200,
    )
    .await;
    assert_eq!(twice, json!({"error": "Telegram is already running"}));
    let unconfigured = call(
        addr,
        "POST",
        "/api/channels/toggle",
        json!({"channel": "google_chat", "action": "start"}),
        200,
    )
    .await;
    assert_eq!(
        unconfigured,
        json!({"error": "Google Chat is not configured — save tokens first"})
    );

    let bad = call(
        addr,
        "POST",
        "/api/channels/toggle",
        json!({"channel": "fax", "action": "start"}),
        400,
    )
    .await;
    assert_eq!(bad, json!({"detail": "Unknown channel: fax"}));
    let bad = call(
        addr,
        "POST",
        "/api/channels/toggle",
        json!({"channel": "slack", "action": "pause"}),
        400,
    )
    .await;
    assert!(
        bad["detail"]
            .as_str()
            .unwrap()
            .starts_with("Invalid action")
    );
    let r = request(addr, "POST", "/api/channels/toggle", &[], b"{not json").await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("Invalid JSON body")
    );
}

#[tokio::test]
async fn webhooks_list_masked_secrets_and_add_remove_and_regenerate_change_the_list() {
    let server = Server::fixtures().await;
    let addr = server.addr;
    let list = get_json(addr, "/api/webhooks", 200).await;
    let hook = &list["webhooks"][0];
    assert_eq!(hook["name"], "github-push");
    assert_eq!(hook["secret"], "***ab12");
    assert_eq!(hook["sync_timeout"], 30);
    assert_eq!(
        hook["url"],
        format!("http://{addr}/webhook/inbound/github-push")
    );

    let added = call(
        addr,
        "POST",
        "/api/webhooks/add",
        json!({"name": "ci", "description": "CI results"}),
        200,
    )
    .await;
    assert_eq!(added["status"], "ok");
    assert_eq!(added["webhook"]["name"], "ci");
    let secret = added["webhook"]["secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32);
    let dup = call(
        addr,
        "POST",
        "/api/webhooks/add",
        json!({"name": "ci"}),
        409,
    )
    .await;
    assert!(dup["detail"].as_str().unwrap().contains("already exists"));
    call(
        addr,
        "POST",
        "/api/webhooks/add",
        json!({"description": "no name"}),
        400,
    )
    .await;

    let regenerated = call(
        addr,
        "POST",
        "/api/webhooks/regenerate-secret",
        json!({"name": "ci"}),
        200,
    )
    .await;
    assert_eq!(regenerated["status"], "ok");
    assert_ne!(regenerated["secret"], secret);
    let names = |v: &Value| -> Vec<String> {
        v["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&get_json(addr, "/api/webhooks", 200).await),
        ["github-push", "ci"]
    );
    call(
        addr,
        "POST",
        "/api/webhooks/remove",
        json!({"name": "github-push"}),
        200,
    )
    .await;
    assert_eq!(names(&get_json(addr, "/api/webhooks", 200).await), ["ci"]);
    let gone = call(
        addr,
        "POST",
        "/api/webhooks/remove",
        json!({"name": "github-push"}),
        404,
    )
    .await;
    assert!(gone["detail"].is_string());

    let extras = get_json(addr, "/api/extras/check?channel=discord", 200).await;
    assert_eq!(extras["installed"], true);
    assert_eq!(
        call(
            addr,
            "POST",
            "/api/extras/install",
            json!({"extra": "discord"}),
            200
        )
        .await,
        json!({"status": "ok"})
    );
    assert_eq!(
        get_json(addr, "/api/whatsapp/qr", 200).await,
        json!({"qr": null, "connected": false})
    );
}

#[tokio::test]
async fn the_qr_is_a_png_and_the_tunnel_starts_with_a_url_and_stops() {
    let server = Server::fixtures().await;
    let addr = server.addr;
    let r = get(addr, "/api/qr?t=1767225600000", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/png"));
    let decoder = png::Decoder::new(std::io::Cursor::new(r.body.clone()));
    let reader = decoder.read_info().expect("a PNG");
    let info = reader.info();
    assert!(
        info.width >= 100 && info.width == info.height,
        "{}x{}",
        info.width,
        info.height
    );

    let status = get_json(addr, "/api/remote/status", 200).await;
    assert_eq!(
        status,
        json!({"active": false, "url": null, "installed": true})
    );
    let started = call(addr, "POST", "/api/remote/start", json!({}), 200).await;
    assert_eq!(
        started,
        json!({"url": "https://calm-paws-demo.trycloudflare.com", "active": true})
    );
    let status = get_json(addr, "/api/remote/status", 200).await;
    assert_eq!(status["active"], true);
    assert_eq!(status["url"], "https://calm-paws-demo.trycloudflare.com");
    // While the tunnel runs the QR encodes its URL.
    let tunnel_qr = get(addr, "/api/qr", &[]).await;
    assert_eq!(tunnel_qr.status, 200);
    let text = qr_text(&tunnel_qr.body);
    assert!(
        text.starts_with("https://calm-paws-demo.trycloudflare.com/?token="),
        "{text}"
    );
    assert_eq!(
        call(addr, "POST", "/api/remote/stop", json!({}), 200).await,
        json!({"active": false})
    );
    assert_eq!(
        get_json(addr, "/api/remote/status", 200).await["active"],
        false
    );

    let token = call(addr, "POST", "/api/token/regenerate", json!({}), 200).await;
    assert!(token["token"].as_str().unwrap().len() >= 32);
    let session = call(addr, "POST", "/api/auth/session", json!({}), 200).await;
    let st = session["session_token"].as_str().unwrap();
    let (exp, mac) = st.split_once(':').unwrap();
    assert!(exp.parse::<u64>().is_ok() && mac.len() == 64, "{st}");
    assert_eq!(session["expires_in_hours"], 24);
    let login = send(
        addr,
        "POST",
        "/api/auth/login",
        json!({"token": "anything"}),
    )
    .await;
    assert_eq!(login.status, 200);
    assert_eq!(login.json(), json!({"ok": true}));
    assert!(
        login
            .header("set-cookie")
            .unwrap()
            .starts_with("pocketpaw_session=")
    );
    let r = request(addr, "POST", "/api/auth/login", &[], b"nope").await;
    assert_eq!(
        (r.status, r.json()),
        (400, json!({"detail": "Invalid JSON body"}))
    );

    assert_eq!(
        get_json(addr, "/api/telegram/status", 200).await,
        json!({"configured": false, "user_id": null})
    );
    let bad = call(
        addr,
        "POST",
        "/api/telegram/setup",
        json!({"bot_token": "nope"}),
        200,
    )
    .await;
    assert!(bad["error"].is_string());
    let setup = call(
        addr,
        "POST",
        "/api/telegram/setup",
        json!({"bot_token": "123:ABC"}),
        200,
    )
    .await;
    assert!(
        setup["qr_url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,iVBOR")
    );
    assert!(
        setup["deep_link"]
            .as_str()
            .unwrap()
            .starts_with("https://t.me/")
    );
    assert_eq!(
        get_json(addr, "/api/telegram/pairing-status", 200).await["paired"],
        true
    );
}

#[tokio::test]
async fn identity_saved_is_read_back_and_audit_cleared_is_empty() {
    let server = Server::fixtures().await;
    let addr = server.addr;
    let saved = call(
        addr,
        "PUT",
        "/api/identity",
        json!({"soul_file": "# Soul\nPlayful.", "user_file": "# User\nAlex"}),
        200,
    )
    .await;
    assert_eq!(
        saved,
        json!({"ok": true, "updated": ["SOUL.md", "USER.md"]})
    );
    let identity = get_json(addr, "/api/identity", 200).await;
    assert_eq!(identity["soul_file"], "# Soul\nPlayful.");
    assert_eq!(identity["user_file"], "# User\nAlex");
    assert!(
        identity["identity_file"]
            .as_str()
            .unwrap()
            .starts_with("# Identity"),
        "others kept"
    );
    let bad = call(addr, "PUT", "/api/identity", json!({"soul_file": 3}), 422).await;
    assert!(bad["detail"].as_str().unwrap().contains("soul_file"));

    assert!(
        !get_json(addr, "/api/audit", 200)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    let r = request(addr, "DELETE", "/api/audit", &[], b"").await;
    assert_eq!((r.status, r.json()), (200, json!({"ok": true})));
    assert_eq!(get_json(addr, "/api/audit", 200).await, json!([]));

    let r = request(addr, "DELETE", "/api/memory/long_term/mem-1", &[], b"").await;
    assert_eq!((r.status, r.json()), (200, json!({"ok": true})));
    let left = get_json(addr, "/api/memory/long_term", 200).await;
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
    let r = request(addr, "DELETE", "/api/memory/long_term/mem-1", &[], b"").await;
    assert_eq!(r.status, 404);

    let audit = call(addr, "POST", "/api/security-audit", json!({}), 200).await;
    assert_eq!(
        (
            audit["total"].clone(),
            audit["passed"].clone(),
            audit["issues"].clone()
        ),
        (json!(7), json!(6), json!(1))
    );
    let keys: Vec<&str> = audit["results"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["check", "passed", "message", "fixable"]);

    let reports = get_json(addr, "/api/self-audit/reports", 200).await;
    assert_eq!(
        reports,
        json!([{"date": "2026-11-23", "total": 3, "passed": 2, "issues": 1}])
    );
    let report = get_json(addr, "/api/self-audit/reports/2026-11-23", 200).await;
    assert_eq!(report["total_checks"], 3);
    get_json(addr, "/api/self-audit/reports/1999-01-01", 404).await;
    let run = call(addr, "POST", "/api/self-audit/run", json!({}), 200).await;
    assert_eq!(
        (run["passed"].clone(), run["total_checks"].clone()),
        (json!(2), json!(3))
    );
    assert_eq!(
        get_json(addr, "/api/self-audit/reports", 200)
            .await
            .as_array()
            .unwrap()
            .len(),
        2,
        "the run is stored, newest first"
    );
    assert_eq!(
        get_json(addr, "/api/memory/stats", 200).await["backend"],
        "file"
    );
    assert_eq!(
        get_json(addr, "/api/memory/settings", 200).await["memory_backend"],
        "file"
    );
}

#[tokio::test]
async fn a_health_check_answers_the_summary_and_pushes_health_update_to_dashboard_sockets() {
    let server = Server::fixtures().await;
    let addr = server.addr;
    let mut tab = server.connect("dialect=dashboard").await;
    assert_eq!(tab.next().await["type"], "connection_info");
    let before = get_json(addr, "/api/health", 200).await;
    assert_eq!(before["last_check"], Value::Null);

    let summary = call(addr, "POST", "/api/health/check", json!({}), 200).await;
    let keys: Vec<&str> = summary
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["status", "check_count", "issues", "last_check"]);
    assert_eq!(summary["status"], "healthy");
    assert!(summary["last_check"].is_string());
    let pushed = tab.next().await;
    assert_eq!(pushed, json!({"type": "health_update", "data": summary}));

    assert!(
        !get_json(addr, "/api/health/errors?limit=20", 200)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    let r = request(addr, "DELETE", "/api/health/errors", &[], b"").await;
    assert_eq!((r.status, r.json()), (200, json!({"cleared": true})));
    assert_eq!(
        get_json(addr, "/api/health/errors?limit=20", 200).await,
        json!([])
    );
}

#[tokio::test]
async fn mcp_presets_are_an_array_and_servers_add_toggle_and_remove() {
    let server = Server::fixtures().await;
    let addr = server.addr;
    let presets = get_json(addr, "/api/mcp/presets", 200).await;
    let presets = presets
        .as_array()
        .expect("an array: the dashboard calls .filter on it");
    let keys: Vec<&str> = presets[1]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in [
        "id",
        "name",
        "description",
        "icon",
        "category",
        "package",
        "transport",
        "url",
        "docs_url",
        "needs_args",
        "oauth",
        "installed",
        "env_keys",
    ] {
        assert!(keys.contains(&k), "{k} in {keys:?}");
    }
    assert_eq!(presets[0]["installed"], true, "filesystem is running");
    assert_eq!(presets[1]["installed"], false);

    let installed = call(
        addr,
        "POST",
        "/api/mcp/presets/install",
        json!({"preset_id": "github", "env": {"GITHUB_TOKEN": "x"}}),
        200,
    )
    .await;
    assert_eq!(installed["status"], "ok");
    assert!(
        installed["tools"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["name"].is_string() && t["description"].is_string())
    );
    assert_eq!(
        get_json(addr, "/api/mcp/presets", 200).await[1]["installed"],
        true
    );
    let r = send(
        addr,
        "POST",
        "/api/mcp/presets/install",
        json!({"preset_id": "nope"}),
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].is_string());

    call(
        addr,
        "POST",
        "/api/mcp/add",
        json!({"name": "local", "transport": "stdio", "command": "x", "args": [], "enabled": true}),
        200,
    )
    .await;
    let status = get_json(addr, "/api/mcp/status", 200).await;
    assert_eq!(status["local"]["connected"], true);
    let off = call(
        addr,
        "POST",
        "/api/mcp/toggle",
        json!({"name": "local"}),
        200,
    )
    .await;
    assert_eq!(off, json!({"status": "ok", "enabled": false}));
    assert_eq!(
        get_json(addr, "/api/mcp/status", 200).await["local"]["enabled"],
        false
    );
    call(
        addr,
        "POST",
        "/api/mcp/remove",
        json!({"name": "local"}),
        200,
    )
    .await;
    assert!(
        get_json(addr, "/api/mcp/status", 200)
            .await
            .get("local")
            .is_none()
    );
    let missing = call(
        addr,
        "POST",
        "/api/mcp/remove",
        json!({"name": "local"}),
        200,
    )
    .await;
    assert!(missing["error"].is_string());

    assert_eq!(
        get_json(addr, "/api/skills/search?q=&limit=30", 200).await,
        json!({"skills": [], "count": 0})
    );
    let found = get_json(addr, "/api/skills/search?q=pdf&limit=30", 200).await;
    assert_eq!(found["count"], 1);
    assert_eq!(found["skills"][0]["id"], "anthropics/skills/pdf");
    assert!(found["skills"][0]["installs"].is_number());
    let ok = call(
        addr,
        "POST",
        "/api/skills/install",
        json!({"source": "anthropics/skills/pdf"}),
        200,
    )
    .await;
    assert_eq!(ok, json!({"status": "ok", "installed": ["pdf"]}));
    let bad = call(
        addr,
        "POST",
        "/api/skills/install",
        json!({"source": "nope"}),
        400,
    )
    .await;
    assert!(bad["error"].is_string());
    call(
        addr,
        "POST",
        "/api/skills/remove",
        json!({"name": "pdf"}),
        200,
    )
    .await;
    call(
        addr,
        "POST",
        "/api/skills/remove",
        json!({"name": "pdf"}),
        404,
    )
    .await;
}

#[tokio::test]
async fn mission_control_lists_creates_edits_and_deletes_agents_and_tasks() {
    let server = Server::fixtures().await;
    let addr = server.addr;
    let agents = get_json(addr, "/api/mission-control/agents", 200).await;
    assert_eq!(agents["count"], 2);
    let keys: Vec<&str> = agents["agents"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "name",
            "role",
            "description",
            "session_key",
            "backend",
            "status",
            "level",
            "current_task_id",
            "specialties",
            "last_heartbeat",
            "created_at",
            "updated_at",
            "metadata"
        ]
    );
    assert_eq!(
        get_json(addr, "/api/mission-control/tasks", 200).await["count"],
        2
    );
    assert_eq!(
        get_json(addr, "/api/mission-control/activity", 200).await["count"],
        2
    );
    assert_eq!(
        get_json(addr, "/api/mission-control/projects", 200).await,
        json!({"count": 0, "projects": []})
    );
    let stats = get_json(addr, "/api/mission-control/stats", 200).await["stats"].clone();
    assert_eq!(stats["tasks"]["by_status"]["in_progress"], 1);
    assert_eq!(stats["agents"]["total"], 2);

    let agent = call(addr, "POST", "/api/mission-control/agents", json!({"name": "Ledger", "role": "Accountant", "description": "", "specialties": ["finance"], "backend": "claude_agent_sdk", "level": "specialist"}), 200).await["agent"].clone();
    let agent_id = agent["id"].as_str().unwrap().to_owned();
    assert_eq!(agent["status"], "idle");
    assert_eq!(
        get_json(addr, "/api/mission-control/agents", 200).await["count"],
        3
    );
    call(
        addr,
        "POST",
        "/api/mission-control/agents",
        json!({"role": "nameless"}),
        422,
    )
    .await;

    let task = call(addr, "POST", "/api/mission-control/tasks", json!({"title": "File the VAT return", "description": "", "priority": "urgent", "tags": [], "assignee_ids": []}), 200).await["task"].clone();
    let task_id = task["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (task["status"].clone(), task["priority"].clone()),
        (json!("inbox"), json!("urgent"))
    );
    let base = format!("/api/mission-control/tasks/{task_id}");
    let patched = call(addr, "PATCH", &base, json!({"priority": "low"}), 200).await;
    assert_eq!(patched["task"]["priority"], "low");
    let assigned = call(
        addr,
        "POST",
        &format!("{base}/assign"),
        json!({"agent_ids": [agent_id]}),
        200,
    )
    .await;
    assert_eq!(assigned["task"]["assignee_ids"], json!([agent_id]));
    assert_eq!(assigned["task"]["status"], "assigned");
    call(
        addr,
        "POST",
        &format!("{base}/status"),
        json!({"status": "sideways"}),
        400,
    )
    .await;
    let run = call(
        addr,
        "POST",
        &format!("{base}/run"),
        json!({"agent_id": agent_id}),
        200,
    )
    .await;
    assert_eq!(run["status"], "started");
    assert_eq!(run["agent_name"], "Ledger");
    let stopped = call(addr, "POST", &format!("{base}/stop"), json!({}), 200).await;
    assert_eq!(stopped["status"], "stopped");
    let message = call(
        addr,
        "POST",
        &format!("{base}/messages"),
        json!({"content": "Use the Q3 numbers"}),
        200,
    )
    .await;
    assert_eq!(message["message"]["content"], "Use the Q3 numbers");
    assert_eq!(
        get_json(addr, &format!("{base}/messages"), 200).await["count"],
        1
    );
    assert_eq!(
        get_json(addr, &format!("{base}/documents"), 200).await,
        json!({"count": 0, "documents": []})
    );
    let activity = get_json(addr, "/api/mission-control/activity", 200).await;
    assert_eq!(
        activity["activities"][0]["message"], "Task created: File the VAT return",
        "newest first"
    );

    let r = request(addr, "DELETE", &base, &[], b"").await;
    assert_eq!((r.status, r.json()["success"].clone()), (200, json!(true)));
    let r = request(addr, "DELETE", &base, &[], b"").await;
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"detail": "Task not found"}))
    );
    let r = request(
        addr,
        "DELETE",
        &format!("/api/mission-control/agents/{agent_id}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn deep_work_starts_a_planning_project_that_can_be_approved() {
    let server = Server::fixtures().await;
    let addr = server.addr;
    let short = call(
        addr,
        "POST",
        "/api/deep-work/parse-goal",
        json!({"description": "too short"}),
        422,
    )
    .await;
    assert!(short["detail"].is_string());
    let goal = call(
        addr,
        "POST",
        "/api/deep-work/parse-goal",
        json!({"description": "Plan a three-day trip to Lisbon"}),
        200,
    )
    .await;
    assert_eq!(goal["success"], true);
    assert_eq!(
        goal["goal_analysis"]["goal"],
        "Plan a three-day trip to Lisbon"
    );
    let started = call(
        addr,
        "POST",
        "/api/deep-work/start",
        json!({"description": "Plan a three-day trip to Lisbon", "research_depth": "standard"}),
        200,
    )
    .await;
    assert_eq!(started["project"]["status"], "planning");
    let id = started["project"]["id"].as_str().unwrap().to_owned();
    let plan = get_json(addr, &format!("/api/deep-work/projects/{id}/plan"), 200).await;
    for k in [
        "project",
        "tasks",
        "progress",
        "prd",
        "execution_levels",
        "task_level_map",
        "goal_analysis",
    ] {
        assert!(plan.get(k).is_some(), "{k}");
    }
    let approved = call(
        addr,
        "POST",
        &format!("/api/deep-work/projects/{id}/approve"),
        json!({}),
        200,
    )
    .await;
    assert_eq!(approved["project"]["status"], "executing");
    assert_eq!(
        get_json(addr, "/api/mission-control/projects", 200).await["count"],
        1
    );
    call(
        addr,
        "POST",
        "/api/deep-work/projects/nope/pause",
        json!({}),
        404,
    )
    .await;
    let r = request(
        addr,
        "DELETE",
        &format!("/api/mission-control/projects/{id}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn backend_install_and_restart_answer_as_the_real_backend() {
    let server = Server::fixtures().await;
    let addr = server.addr;
    assert_eq!(
        call(
            addr,
            "POST",
            "/api/backends/install",
            json!({"backend": "google_adk"}),
            200
        )
        .await,
        json!({"status": "ok"})
    );
    assert_eq!(
        call(
            addr,
            "POST",
            "/api/backends/install",
            json!({"backend": "nope"}),
            200
        )
        .await,
        json!({"error": "Unknown backend: nope"})
    );
    assert_eq!(
        call(
            addr,
            "POST",
            "/api/system/restart",
            json!({"confirm": true}),
            200
        )
        .await,
        json!({"restarting": true})
    );
    assert!(call(addr, "POST", "/api/system/restart", json!({}), 400).await["error"].is_string());
}

#[tokio::test]
async fn lists_the_dashboard_adds_to_are_bounded_with_a_clear_refusal() {
    let server = Server::fixtures().await;
    let addr = server.addr;
    // Two canned agents, then up to the limit of 500.
    for i in 0..498 {
        call(
            addr,
            "POST",
            "/api/mission-control/agents",
            json!({"name": format!("a{i}")}),
            200,
        )
        .await;
    }
    let refused = call(
        addr,
        "POST",
        "/api/mission-control/agents",
        json!({"name": "one too many"}),
        400,
    )
    .await;
    assert!(
        refused["detail"].as_str().unwrap().contains("at most 500"),
        "{refused}"
    );
    assert_eq!(
        get_json(addr, "/api/mission-control/agents", 200).await["count"],
        500
    );
}
