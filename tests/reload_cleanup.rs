//! Stopping hot reload releases the OS watch. On Linux a user has 128 inotify instances
//! (`fs.inotify.max_user_instances`), so a watcher that outlived its server (or its test)
//! would starve the next ones. One test in its own binary: it counts this process's
//! inotify descriptors, which tests running alongside would change.
#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use pawmock::Reloader;
use pawmock::WatchConfig;
use pawmock::{App, ServeConfig};

/// How many inotify instances this process has open.
fn inotify_instances() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().contains("inotify"))
        .count()
}

#[tokio::test]
async fn dropping_the_watch_handle_releases_the_inotify_instance_and_polling_uses_none() {
    let dir = tempfile::tempdir().unwrap();
    let before = inotify_instances();
    for round in 0..3 {
        let (reloader, loaded) = Reloader::scan(dir.path()).unwrap();
        let app = App::new(loaded.library, ServeConfig::default());
        let handle = pawmock::watch(app, reloader, WatchConfig::default()).unwrap();
        assert_eq!(
            inotify_instances(),
            before + 1,
            "round {round}: one instance while watching"
        );
        handle.stop();
        // notify closes the descriptor on its own thread, shortly after.
        let deadline = Instant::now() + Duration::from_secs(10);
        while inotify_instances() > before {
            assert!(
                Instant::now() < deadline,
                "round {round}: the inotify instance leaked"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    // The poll watcher needs none (which is why it works where inotify is used up).
    let (reloader, loaded) = Reloader::scan(dir.path()).unwrap();
    let app = App::new(loaded.library, ServeConfig::default());
    let polling = WatchConfig {
        poll: Some(Duration::from_millis(100)),
        ..WatchConfig::default()
    };
    let handle = pawmock::watch(app, reloader, polling).unwrap();
    assert_eq!(inotify_instances(), before);
    handle.stop();
}
