//! The tracing layer: ERROR events become error reports at the local
//! collector, with their fields, spans and source location.

mod common;

use std::time::{Duration, Instant};

use common::{DiskFull, SaveFailed};
use monlight_std::ErrorClient;
use monlight_std::integrations::tracing::MonlightLayer;
use monlight_tests::Collector;
use tracing_subscriber::prelude::*;

fn client(collector: &Collector) -> ErrorClient {
    ErrorClient::builder(collector.url(), collector.api_key())
        .project("traced")
        .build()
        .unwrap()
}

/// Waits until `n` reports are stored (reports are sent in the background).
fn wait_for_errors(collector: &Collector, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while collector.errors().len() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    collector.errors().into_iter().map(|e| e.body).collect()
}

#[test]
fn error_events_are_reported_with_fields_spans_and_location() {
    let collector = Collector::start();
    let subscriber = tracing_subscriber::registry().with(MonlightLayer::new(client(&collector)));
    let line = tracing::subscriber::with_default(subscriber, || {
        let request = tracing::error_span!("request", path = "/orders");
        let _in_request = request.enter();
        let _in_save = tracing::info_span!("save_order").entered();
        tracing::warn!("a warning is not an error");
        tracing::info!("nor is this");
        let line = line!() + 1;
        tracing::error!(order_id = 42, retry = false, "order {} not saved", 42);
        line
    });
    let errors = wait_for_errors(&collector, 1);
    assert_eq!(errors.len(), 1, "only the ERROR event");
    let report = &errors[0];
    assert_eq!(report["project"], "traced");
    assert_eq!(report["exception_type"], "tracing_layer");
    assert_eq!(report["message"], "order 42 not saved");
    assert_eq!(report["extra"]["order_id"], 42);
    assert_eq!(report["extra"]["retry"], false);
    assert_eq!(
        report["extra"]["spans"],
        serde_json::json!(["request", "save_order"])
    );
    let traceback = report["traceback"].as_str().unwrap();
    assert!(
        traceback.starts_with(&format!("at tests/tests/tracing_layer.rs:{line}")),
        "{traceback}"
    );
}

#[test]
fn error_fields_are_reported_as_the_error_when_asked() {
    let collector = Collector::start();
    let layer = MonlightLayer::new(client(&collector)).report_error_fields(true);
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        let e = SaveFailed(DiskFull);
        tracing::error!(error = &e as &dyn std::error::Error, "checkout failed");
    });
    let errors = wait_for_errors(&collector, 1);
    let report = &errors[0];
    assert_eq!(report["exception_type"], "SaveFailed");
    assert_eq!(report["message"], "could not save order");
    assert!(
        report["traceback"]
            .as_str()
            .unwrap()
            .contains("Caused by: no space left on device")
    );
    assert_eq!(report["extra"]["event"], "checkout failed");
}

#[test]
fn monlight_never_reports_its_own_events() {
    let collector = Collector::start();
    let subscriber = tracing_subscriber::registry().with(MonlightLayer::new(client(&collector)));
    tracing::subscriber::with_default(subscriber, || {
        tracing::error!(target: "monlight_std::error_client", "report failed");
        let same_client = client(&collector);
        std::thread::Builder::new()
            .name("monlight-errors".into())
            .spawn(move || {
                // e.g. the HTTP stack logging an error inside the sender thread
                let inner = tracing_subscriber::registry().with(MonlightLayer::new(same_client));
                tracing::subscriber::with_default(inner, || tracing::error!("connection refused"));
            })
            .unwrap()
            .join()
            .unwrap();
        tracing::error!("a real one");
    });
    let errors = wait_for_errors(&collector, 1);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(collector.errors().len(), 1);
    assert_eq!(errors[0]["message"], "a real one");
}

#[test]
fn the_level_and_a_filter_choose_what_is_reported() {
    let collector = Collector::start();
    let layer = MonlightLayer::new(client(&collector))
        .level(tracing::Level::WARN)
        .filter(|metadata| !metadata.target().ends_with("noisy"));
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("not reported: below WARN");
        tracing::warn!("disk 91 % full");
        tracing::warn!(target: "pool::noisy", "filtered out");
        tracing::error!("disk full");
    });
    let reports = wait_for_errors(&collector, 2);
    std::thread::sleep(Duration::from_millis(100)); // nothing more comes
    let mut messages: Vec<&str> = collector_messages(&reports);
    messages.sort_unstable();
    assert_eq!(messages, ["disk 91 % full", "disk full"]);
    assert_eq!(collector.errors().len(), 2);
}

fn collector_messages(reports: &[serde_json::Value]) -> Vec<&str> {
    reports
        .iter()
        .map(|r| r["message"].as_str().unwrap())
        .collect()
}
