//! `get_settings`, `settings`, `save_api_key` and `toggle_agent`.
//!
//! Saved settings and keys are kept for the rest of the run, so the settings modal shows
//! what was saved when it is opened again, as with the real backend.

use serde_json::{Map, Value, json};

use super::{Ctx, error, message, notification, text};

pub(crate) fn get(ctx: &Ctx) -> Vec<Value> {
    vec![json!({"type": "settings", "content": ctx.state.settings(ctx.data)})]
}

/// The dashboard sends snake_case fields; the `settings` frame reports camelCase ones.
/// `web_host` and `web_port` are sent too and ignored, as the real backend does.
pub(crate) fn save(ctx: &Ctx, frame: &Map<String, Value>) -> Vec<Value> {
    let changes = frame
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "action" | "web_host" | "web_port"))
        .map(|(k, v)| (camel_case(k), v.clone()))
        .collect();
    ctx.state.save_settings(changes);
    // A `message`, so the dashboard shows it as a chat bubble, as with the real backend.
    vec![message("⚙️ Settings updated")]
}

/// Providers `save_api_key` accepts: (provider, name shown, settings flag).
const KEYS: &[(&str, &str, &str)] = &[
    ("anthropic", "Anthropic API key", "hasAnthropicKey"),
    ("openai", "OpenAI API key", "hasOpenaiKey"),
    ("google", "Google API key", "hasGoogleApiKey"),
    ("tavily", "Tavily API key", "hasTavilyKey"),
    ("brave", "Brave API key", "hasBraveKey"),
    ("parallel", "Parallel API key", "hasParallelKey"),
    ("elevenlabs", "ElevenLabs API key", "hasElevenlabsKey"),
    (
        "google_oauth_id",
        "Google OAuth client ID",
        "hasGoogleOAuthId",
    ),
    (
        "google_oauth_secret",
        "Google OAuth client secret",
        "hasGoogleOAuthSecret",
    ),
    (
        "spotify_client_id",
        "Spotify client ID",
        "hasSpotifyClientId",
    ),
    (
        "spotify_client_secret",
        "Spotify client secret",
        "hasSpotifyClientSecret",
    ),
    ("sarvam", "Sarvam API key", "hasSarvamKey"),
];

pub(crate) fn save_api_key(ctx: &Ctx, frame: &Map<String, Value>) -> Vec<Value> {
    let provider = text(frame, "provider").unwrap_or("");
    let key = text(frame, "key").unwrap_or("").trim();
    match KEYS.iter().find(|(p, ..)| *p == provider) {
        Some((_, shown, flag)) if !key.is_empty() => {
            let mut change = Map::new();
            change.insert((*flag).to_owned(), Value::Bool(true));
            ctx.state.save_settings(change);
            vec![message(format!("✅ {shown} saved!"))]
        }
        _ => vec![error("Invalid API key or provider")],
    }
}

/// Purely cosmetic in the real backend too: the message bus is always on.
pub(crate) fn toggle_agent(frame: &Map<String, Value>) -> Vec<Value> {
    let on = frame.get("active") == Some(&Value::Bool(true));
    vec![notification(format!(
        "Legacy Mode: {} (Bus is always active)",
        if on { "ON" } else { "OFF" }
    ))]
}

/// `claude_sdk_max_turns` → `claudeSdkMaxTurns`.
fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_fields_become_the_settings_frames_camel_case_keys() {
        assert_eq!(camel_case("agent_backend"), "agentBackend");
        assert_eq!(camel_case("claude_sdk_max_turns"), "claudeSdkMaxTurns");
        assert_eq!(camel_case("mem0_llm_provider"), "mem0LlmProvider");
        assert_eq!(camel_case("plan_mode"), "planMode");
        assert_eq!(camel_case("_x"), "x");
    }
}
