//! CLI behaviour of the dashboard features: `check`'s note on plans in the dashboard
//! dialect, and a `--state` that cannot be used.

use std::path::Path;

#[test]
fn check_warns_about_a_plan_without_dashboard_plan_but_passes() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let out = assert_cmd::cargo::cargo_bin_cmd!("pawmock")
        .arg("check")
        .arg(&fixtures)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains(
            "plan.json: turns[0].reply[1]: in the dashboard dialect this plan does not wait"
        ) && out.contains("set \"dashboard_plan\" to approve, reject or timeout"),
        "{out}"
    );
    // The bundled plan says which branch it plays, so the bundled library is quiet.
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings");
    let out = assert_cmd::cargo::cargo_bin_cmd!("pawmock")
        .arg("check")
        .arg(&bundled)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(!String::from_utf8(out).unwrap().contains("warning"));
}

#[test]
fn a_state_path_that_is_a_file_is_a_clear_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let out = assert_cmd::cargo::cargo_bin_cmd!("pawmock")
        .args(["--port", "0", "--no-watch", "--state"])
        .arg(file.path())
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert!(
        err.contains("--state") && err.contains("pass a folder pawmock may create and write"),
        "{err}"
    );
}
