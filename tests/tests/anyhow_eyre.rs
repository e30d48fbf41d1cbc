//! anyhow and eyre errors: their chains, and anyhow's captured backtrace
//! trimmed to the application's frames. The backtrace case runs in a child
//! process with `RUST_LIB_BACKTRACE=1` (capture is decided from the
//! environment when the error is created).

mod common;

use std::process::Command;

use anyhow::Context;
use common::DiskFull;
use monlight_std::ErrorClient;
use monlight_tests::Collector;

fn save() -> anyhow::Result<()> {
    Err(DiskFull).context("saving order 42")
}

fn client(url: &str, key: &str) -> ErrorClient {
    ErrorClient::builder(url, key)
        .project("chains")
        .build()
        .unwrap()
}

#[test]
fn anyhow_errors_keep_their_chain_and_trimmed_backtrace() {
    if let Ok(url) = std::env::var("MONLIGHT_TEST_URL") {
        let errors = client(&url, "test-key");
        let line = line!() + 1;
        errors.report_anyhow_sync(&save().unwrap_err(), None);
        println!("REPORTED_AT_LINE={line}");
        return;
    }
    let collector = Collector::start();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "anyhow_errors_keep_their_chain_and_trimmed_backtrace",
            "--exact",
            "--nocapture",
        ])
        .env("MONLIGHT_TEST_URL", collector.url())
        .env("RUST_LIB_BACKTRACE", "1")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .split("REPORTED_AT_LINE=")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap();
    let errors = collector.errors();
    assert_eq!(errors.len(), 1);
    let report = &errors[0].body;
    assert_eq!(report["message"], "saving order 42");
    assert_eq!(
        report["exception_type"], "DiskFull",
        "typed by its root cause"
    );
    let traceback = report["traceback"].as_str().unwrap();
    assert!(
        traceback.starts_with(&format!("at tests/tests/anyhow_eyre.rs:{line}:")),
        "{traceback}"
    );
    assert!(
        traceback.contains("Caused by: no space left on device"),
        "{traceback}"
    );
    assert!(
        traceback.contains("anyhow_eyre::save"),
        "the application's frame: {traceback}"
    );
    assert!(
        !traceback.contains("anyhow::"),
        "anyhow's own frames are trimmed: {traceback}"
    );
    assert!(
        !traceback.contains(" std::"),
        "std's frames are trimmed: {traceback}"
    );
}

#[test]
fn eyre_reports_go_through_their_error_chain() {
    let collector = Collector::start();
    let errors = client(&collector.url(), collector.api_key());
    let report = eyre::Report::new(DiskFull).wrap_err("saving order 42");
    errors.report_eyre_sync(&report, None);
    let stored = collector.errors();
    let body = &stored[0].body;
    assert_eq!(body["exception_type"], "DiskFull", "the root cause's type");
    assert_eq!(body["message"], "saving order 42");
    assert!(
        body["traceback"]
            .as_str()
            .unwrap()
            .contains("Caused by: no space left on device")
    );
}

#[tokio::test]
async fn anyhow_errors_report_from_async_code() {
    let collector = Collector::start();
    let errors = client(&collector.url(), collector.api_key());
    let error = save().unwrap_err();
    tokio::spawn(errors.report_anyhow(&error, None))
        .await
        .unwrap();
    let stored = collector.errors();
    assert_eq!(stored[0].body["exception_type"], "DiskFull");
    assert_eq!(stored[0].body["message"], "saving order 42");
}
