//! The machine the figures were measured on, and how busy others kept it meanwhile.
//!
//! Figures from a shared 2-core box mean little without the load they were measured
//! under, so every row carries the share of CPU time that went to processes other than
//! the benchmark's own (read from `/proc`, Linux only; elsewhere it is left out).

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub memory_gib: f64,
    pub kernel: String,
    /// 1-, 5- and 15-minute load averages when the run started and when it ended.
    pub load_before: [f64; 3],
    pub load_after: [f64; 3],
}

impl Machine {
    /// Describes the machine now; call [`Machine::finished`] at the end of the run.
    pub fn now() -> Machine {
        let cpu = read("/proc/cpuinfo")
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let memory_gib = read("/proc/meminfo")
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kib| kib.parse::<f64>().ok())
            })
            .map_or(0.0, |kib| kib / (1024.0 * 1024.0));
        let load = load_average();
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            memory_gib,
            kernel: read("/proc/sys/kernel/osrelease")
                .map(|k| k.trim().to_owned())
                .unwrap_or_default(),
            load_before: load,
            load_after: load,
        }
    }

    pub fn finished(mut self) -> Machine {
        self.load_after = load_average();
        self
    }

    pub fn summary(&self) -> String {
        format!(
            "{} · {} cores ({}) · {:.1} GiB · Linux {} · load average {:.2} at the start, {:.2} at the end",
            utc_now(),
            self.cores,
            self.cpu,
            self.memory_gib,
            self.kernel,
            self.load_before[0],
            self.load_after[0],
        )
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn load_average() -> [f64; 3] {
    let mut out = [0.0; 3];
    if let Some(t) = read("/proc/loadavg") {
        for (o, v) in out.iter_mut().zip(t.split_whitespace()) {
            *o = v.parse().unwrap_or(0.0);
        }
    }
    out
}

/// Total and busy CPU time of the whole machine, in clock ticks.
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = read("/proc/stat")?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = cpu
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user)
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4).unwrap_or(&0);
    Some((total, total - idle))
}

/// CPU time (user + system, all threads) of one process, in clock ticks; with
/// `children`, also that of its children that have ended and been waited for.
fn process_ticks(pid: u32, children: bool) -> Option<u64> {
    let stat = read(&format!("/proc/{pid}/stat"))?;
    // The command name may contain spaces; fields after it are plain.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime, stime, cutime, cstime are fields 14–17 of the whole line.
    let fields = if children { 11..15 } else { 11..13 };
    fields
        .map(|i| f.get(i)?.parse::<u64>().ok())
        .sum::<Option<u64>>()
}

/// Measures, over an interval, the share of all cores used by anything but this
/// process, the servers it runs, and the children it has already waited for.
pub struct Meter {
    start: Option<(u64, u64)>,
    own_start: u64,
    servers: Vec<u32>,
}

impl Meter {
    pub fn start(servers: &[u32]) -> Meter {
        let servers = servers.to_vec();
        Meter {
            start: machine_ticks(),
            own_start: own_ticks(&servers),
            servers,
        }
    }

    /// Others' share in percent, up to now. Call it while the servers still run.
    pub fn others_share(&self) -> Option<f64> {
        let (t0, b0) = self.start?;
        let (t1, b1) = machine_ticks()?;
        let own = own_ticks(&self.servers);
        let total = t1.saturating_sub(t0);
        if total == 0 {
            return None;
        }
        let others = (b1 - b0).saturating_sub(own.saturating_sub(self.own_start));
        Some(100.0 * others as f64 / total as f64)
    }
}

fn own_ticks(servers: &[u32]) -> u64 {
    process_ticks(std::process::id(), true).unwrap_or(0)
        + servers
            .iter()
            .filter_map(|p| process_ticks(*p, false))
            .sum::<u64>()
}

/// Now as `YYYY-MM-DD HH:MM UTC` (no date crate needed for one line).
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil-from-days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}
