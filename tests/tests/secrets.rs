//! The API key never shows: not in `Debug`, not in a log line, not in an
//! error message, not in a request body; sensitive headers never reach the
//! wire.

mod common;

use monlight_std::integrations::axum::{MonlightOptions, setup_monlight};
use monlight_std::{ApiKey, ErrorClient, MetricsClient, RequestContext};
use monlight_tests::{Collector, CollectorConfig, Fault};

const KEY: &str = "sk-SECRET-7f3a9c";

fn assert_hidden(text: &str, what: &str) {
    assert!(!text.contains(KEY), "the key shows in {what}: {text}");
}

#[test]
fn the_key_never_shows_in_debug_logs_or_errors() {
    common::capture_logs();
    let collector = Collector::with_config(CollectorConfig {
        api_key: KEY.into(),
        ..CollectorConfig::default()
    });
    let errors = ErrorClient::builder(collector.url(), KEY).build().unwrap();
    let metrics = MetricsClient::builder(collector.url(), KEY)
        .build()
        .unwrap();
    assert_hidden(&format!("{errors:?}"), "ErrorClient's Debug");
    assert_hidden(&format!("{metrics:?}"), "MetricsClient's Debug");
    assert_hidden(
        &format!("{:?}", ApiKey::new(KEY).unwrap()),
        "ApiKey's Debug",
    );
    let options = MonlightOptions::new(KEY).metrics_collector_url(collector.url());
    assert_hidden(&format!("{options:?}"), "MonlightOptions' Debug");
    let (_, clients) = setup_monlight(axum::Router::<()>::new(), options).unwrap();
    assert_hidden(&format!("{clients:?}"), "MonlightClients' Debug");

    // Failures of every kind, each logged.
    for fault in [
        Fault::Status(401, "Invalid API key"),
        Fault::RateLimited(0),
        Fault::Garbage,
        Fault::CloseWithoutAnswer,
    ] {
        collector.inject(fault.clone());
        errors.report_error_sync("boom", None);
        collector.inject(fault);
        metrics.counter("c", &[]);
        metrics.flush();
    }
    let dead = ErrorClient::builder(common::dead_url(), KEY)
        .build()
        .unwrap();
    dead.report_error_sync("boom", None);
    for line in common::all_logs() {
        assert_hidden(&line, "a log line");
    }
    assert!(!common::all_logs().is_empty(), "the failures were logged");

    // Configuration errors.
    for error in [
        ErrorClient::builder("not a url", KEY).build().unwrap_err(),
        ErrorClient::builder("ftp://host", KEY).build().unwrap_err(),
        MetricsClient::builder("http://h", format!("{KEY}\n"))
            .build()
            .unwrap_err(),
    ] {
        assert_hidden(&error.to_string(), "an error message");
        assert_hidden(&format!("{error:?}"), "an error's Debug");
    }

    // The key travels in its header only.
    for request in collector.requests() {
        assert_eq!(request.header("x-api-key"), Some(KEY));
        assert_hidden(&String::from_utf8_lossy(&request.body), "a request body");
    }
}

#[test]
fn sensitive_headers_never_reach_the_wire() {
    let collector = Collector::start();
    let errors = ErrorClient::builder(collector.url(), collector.api_key())
        .excluded_headers(["X-Session"])
        .build()
        .unwrap();
    let context = RequestContext::new()
        .header("Authorization", "Bearer tok-1")
        .header("cookie", "session=tok-2")
        .header("Set-Cookie", "tok-3")
        .header("X-API-Key", "tok-4")
        .header("x-session", "tok-5")
        .header("Accept", "text/html");
    errors.report_error_sync("boom", Some(context));
    let request = &collector.requests()[0];
    let body = String::from_utf8_lossy(&request.body);
    for token in ["tok-1", "tok-2", "tok-3", "tok-4", "tok-5"] {
        assert!(!body.contains(token), "{token} reached the wire: {body}");
    }
    assert!(body.contains("text/html"), "other headers are kept");
}
