//! `tool`: the sidebar's system status (polled every 10 s), the screenshot, `fetch`
//! (a directory listing) and `panic`.

use serde_json::{Map, Value, json};

use super::data::StatusSpec;
use super::{Ctx, error, files, message, shown, text};

pub(crate) fn tool(ctx: &Ctx, frame: &Map<String, Value>) -> Vec<Value> {
    let reply = match text(frame, "tool") {
        Some("status") => {
            json!({"type": "status", "content": status_text(ctx.data.status.as_ref())})
        }
        Some("screenshot") => json!({"type": "screenshot", "image": ctx.data.screenshot}),
        Some("fetch") => message(files::listing(ctx, text(frame, "path").unwrap_or("~"))),
        Some("panic") => message("🛑 PANIC: All agent processes stopped!"),
        _ => error(format!("Unknown tool: {}", shown(frame, "tool"))),
    };
    vec![reply]
}

/// The status text in the real backend's layout. The dashboard fills its widgets with
/// the regexes `CPU: n%`, `RAM: … (n%)`, `Disk: … (n%)` and `Battery: n%`, so the
/// numbers must appear exactly in those forms.
pub(crate) fn status_text(status: Option<&StatusSpec>) -> String {
    let Some(s) = status else {
        return "🟢 **System Status**\n\n(no status in backend.json)\n".to_owned();
    };
    let percent = |used: f64, total: f64| (used / total * 100.0).round();
    let mut text = format!(
        "🟢 **System Status**\n\n💻 **{}**\n\n🧠 CPU: {:.1}% ({} cores)\n💾 RAM: {:.1} / {:.1} GB ({}%)\n💿 Disk: {} / {} GB ({}%)\n",
        s.os,
        s.cpu_percent,
        s.cpu_cores,
        s.ram_used_gb,
        s.ram_total_gb,
        percent(s.ram_used_gb, s.ram_total_gb),
        s.disk_used_gb.round(),
        s.disk_total_gb.round(),
        percent(s.disk_used_gb, s.disk_total_gb),
    );
    if let Some(b) = s.battery_percent {
        let state = match s.battery_charging {
            Some(true) => " (charging)",
            Some(false) => " (on battery)",
            None => "",
        };
        text.push_str(&format!("🔋 Battery: {}%{state}\n", b.round()));
    }
    text.push_str(&format!("⏱️ Uptime: {}\n", s.uptime));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    #[test]
    fn the_status_text_matches_the_dashboards_regexes() {
        let data = super::super::BackendData::builtin();
        let text = status_text(data.status.as_ref());
        let grab = |re: &str| {
            Regex::new(re)
                .unwrap()
                .captures(&text)
                .map(|c| c[1].to_owned())
        };
        assert_eq!(grab(r"CPU: ([\d.]+)%").as_deref(), Some("12.0"));
        assert_eq!(grab(r"RAM: .*\((\d+)%\)").as_deref(), Some("32"));
        assert_eq!(grab(r"Disk: .*\((\d+)%\)").as_deref(), Some("20"));
        assert_eq!(grab(r"Battery: (\d+)%").as_deref(), Some("85"));
        assert!(
            text.starts_with("🟢 **System Status**\n\n💻 **Linux (x86_64)**"),
            "{text}"
        );
        assert!(text.contains("💿 Disk: 100 / 500 GB (20%)"), "{text}");
    }
}
