//! ErrorClient against the local collector over real sockets.

mod common;

use std::time::{Duration, Instant};

use monlight_std::{ErrorClient, RequestContext};
use monlight_tests::{Collector, CollectorConfig, Fault};
use serde_json::json;

fn client(collector: &Collector) -> ErrorClient {
    ErrorClient::builder(collector.url(), collector.api_key())
        .project("shop")
        .build()
        .unwrap()
}

fn parse_error() -> std::num::ParseIntError {
    "12a".parse::<u32>().unwrap_err()
}

#[test]
fn full_context_payload_and_wire() {
    let collector = Collector::start();
    let client = ErrorClient::builder(collector.url() + "/", collector.api_key())
        .project("shop")
        .environment("staging")
        .excluded_headers(["X-Session-Token"])
        .build()
        .unwrap();
    let context = RequestContext::new()
        .url("/api/users")
        .method("POST")
        .headers([
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer secret-1"),
            ("COOKIE", "secret-2"),
            ("Set-Cookie", "secret-3"),
            ("x-api-key", "secret-4"),
            ("x-session-token", "secret-5"),
            ("Accept", "*/*"),
        ])
        .user_id(42)
        .extra(json!({"booking_id": 123}));
    client.report_error_sync(&parse_error(), Some(context));
    let line = line!() - 1;

    let errors = collector.errors();
    assert_eq!(errors.len(), 1);
    let body = &errors[0].body;
    assert_eq!(body["project"], "shop");
    assert_eq!(body["environment"], "staging");
    assert_eq!(body["exception_type"], "ParseIntError");
    assert_eq!(body["message"], "invalid digit found in string");
    assert_eq!(body["request_url"], "/api/users");
    assert_eq!(body["request_method"], "POST");
    assert_eq!(body["user_id"], "42");
    assert_eq!(body["extra"], json!({"booking_id": 123}));
    assert_eq!(
        body["request_headers"],
        json!({"Content-Type": "application/json", "Accept": "*/*"})
    );
    let traceback = body["traceback"].as_str().unwrap();
    let first = traceback.lines().next().unwrap();
    assert!(
        first.starts_with("at tests/tests/error_client.rs:")
            || first.starts_with("at tests/error_client.rs:"),
        "{first}"
    );
    assert!(
        first.contains(&format!(":{line}:")),
        "{first} (line {line})"
    );
    assert!(
        traceback.contains("core::num::error::ParseIntError: invalid digit"),
        "full path kept: {traceback}"
    );

    let request = &collector.requests()[0];
    assert_eq!(request.path, "/api/errors");
    assert_eq!(request.header("x-api-key"), Some("test-key"));
    assert_eq!(request.header("connection"), Some("close"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.header("content-length"),
        Some(request.body.len().to_string().as_str())
    );
    let raw = String::from_utf8_lossy(&request.body);
    for secret in ["secret-1", "secret-2", "secret-3", "secret-4", "secret-5"] {
        assert!(!raw.contains(secret), "{secret} reached the wire");
    }
    assert_eq!(client.stats().sent, 1);
}

#[test]
fn only_given_context_keys_are_sent() {
    let collector = Collector::start();
    let client = client(&collector);
    client.report_error_sync(&parse_error(), None);
    client.report_error_sync(&parse_error(), Some(RequestContext::new().url("/only-url")));
    let errors = collector.errors();
    let keys = |i: usize| {
        let mut k: Vec<String> = errors[i]
            .body
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(0),
        [
            "environment",
            "exception_type",
            "message",
            "project",
            "traceback"
        ]
    );
    assert_eq!(
        keys(1),
        [
            "environment",
            "exception_type",
            "message",
            "project",
            "request_url",
            "traceback"
        ]
    );
    assert_eq!(errors[1].body["environment"], "prod");
}

#[test]
fn same_type_two_lines_two_groups_one_line_twice_one_group() {
    let collector = Collector::start();
    let client = client(&collector);
    for _ in 0..2 {
        client.report_error_sync(&parse_error(), None); // one line, twice
    }
    client.report_error_sync(&parse_error(), None); // another line
    let errors = collector.errors();
    assert_eq!(errors.len(), 3);
    assert_eq!(errors[0].fingerprint, errors[1].fingerprint);
    assert_eq!(
        (errors[0].status.as_str(), errors[1].status.as_str()),
        ("created", "incremented")
    );
    assert_ne!(errors[0].fingerprint, errors[2].fingerprint);
    let groups = collector.groups();
    assert_eq!(groups[&errors[0].fingerprint], 2);
    assert_eq!(groups[&errors[2].fingerprint], 1);
}

#[test]
fn a_message_naming_an_address_does_not_steal_the_group() {
    #[derive(Debug)]
    struct DbDown;
    impl std::fmt::Display for DbDown {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("connect failed at 10.0.0.1:5432; see File \"db.py\", line 3")
        }
    }
    impl std::error::Error for DbDown {}
    let collector = Collector::start();
    let client = client(&collector);
    client.report_error_sync(&DbDown, None);
    client.report_error_sync(&DbDown, None);
    let errors = collector.errors();
    assert_ne!(
        errors[0].fingerprint, errors[1].fingerprint,
        "grouped by throw site, not by the message"
    );
    assert_eq!(
        errors[0].body["message"],
        "connect failed at 10.0.0.1:5432; see File \"db.py\", line 3"
    );
}

#[test]
fn source_chain_anyhow_and_bare_messages() {
    let collector = Collector::start();
    let client = client(&collector);
    let io = std::io::Error::new(std::io::ErrorKind::NotFound, "config.toml missing");
    let err = anyhow::Error::new(io).context("loading settings");
    client.report_error_sync(&*err, None);
    client.report_error_sync("cache warm-up skipped", None);
    let errors = collector.errors();
    let anyhow_body = &errors[0].body;
    assert_eq!(anyhow_body["message"], "loading settings");
    assert!(
        anyhow_body["traceback"]
            .as_str()
            .unwrap()
            .contains("Caused by: config.toml missing")
    );
    assert_eq!(errors[1].body["exception_type"], "Message");
    assert_eq!(errors[1].body["message"], "cache warm-up skipped");
}

#[test]
fn async_report_error_arrives() {
    let collector = Collector::start();
    let client = client(&collector);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        client
            .report_error(&parse_error(), Some(RequestContext::new().method("GET")))
            .await;
        // Fire and forget: spawned, never awaited by the caller.
        let handle = tokio::spawn(client.report_error("spawned", None));
        handle.await.unwrap();
        // The sync variant is safe inside a runtime too.
        client.report_error_sync("from inside the runtime", None);
    });
    let errors = collector.errors();
    assert_eq!(errors.len(), 3);
    assert_eq!(errors[0].body["request_method"], "GET");
    assert_eq!(client.stats().sent, 3);
}

#[test]
fn hundred_sequential_reports_all_arrive() {
    let collector = Collector::start();
    let client = client(&collector);
    for i in 0..100 {
        client.report_error_sync(&format!("report {i}")[..], None);
    }
    assert_eq!(collector.errors().len(), 100);
    let stats = client.stats();
    assert_eq!((stats.recorded, stats.sent, stats.dropped()), (100, 100, 0));
}

#[test]
fn failures_never_raise_are_logged_and_counted() {
    common::capture_logs();
    // Connection refused.
    let refused = ErrorClient::builder(common::dead_url(), "k")
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    refused.report_error_sync("refused", None);
    let stats = refused.stats();
    // Nothing reached the tracker: kept for a later try, not dropped.
    assert_eq!((stats.retried, stats.dropped()), (1, 0), "{stats:?}");

    let collector = Collector::start();
    // 500.
    let client = client(&collector);
    collector.inject(Fault::Status(500, "boom"));
    client.report_error_sync("server error", None);
    assert_eq!(client.stats().dropped_rejected, 1);
    // 401.
    let wrong_key = ErrorClient::new(&collector.url(), "wrong-key").unwrap();
    wrong_key.report_error_sync("unauthorised", None);
    assert_eq!(wrong_key.stats().dropped_rejected, 1);
    // A stalled server costs at most the timeout.
    let quick = ErrorClient::builder(collector.url(), collector.api_key())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    collector.inject(Fault::Stall(Duration::from_secs(5)));
    let started = Instant::now();
    quick.report_error_sync("stalled", None);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(quick.stats().dropped_transport, 1);
    // And the next report goes through.
    quick.report_error_sync("after the stall", None);
    assert_eq!(quick.stats().sent, 1);

    assert!(
        !common::warnings_containing("kept, it goes out again later").is_empty(),
        "{:?}",
        common::all_logs()
    );
    assert!(!common::warnings_containing("(500)").is_empty());
    assert!(!common::warnings_containing("(401)").is_empty());
    assert!(!common::warnings_containing("timed out").is_empty());
    assert!(
        common::all_logs()
            .iter()
            .all(|l| !l.contains("test-key") && !l.contains("wrong-key")),
        "no key in logs"
    );
}

#[test]
fn a_429_keeps_reports_and_sends_them_once_after_retry_after() {
    let collector = Collector::start();
    let client = client(&collector);
    collector.inject(Fault::RateLimited(1));
    let limited_at = Instant::now();
    client.report_error_sync("first", None); // answered 429: kept
    client.report_error_sync("second", None); // queued behind it
    assert_eq!(collector.requests().len(), 1, "no request during the pause");
    let stats = client.stats();
    assert_eq!((stats.retried, stats.dropped()), (1, 0), "{stats:?}");
    // The sender tries again once the pause is over.
    assert_eq!(client.flush(Duration::from_secs(3)), 0);
    let messages: Vec<_> = collector
        .errors()
        .iter()
        .map(|e| e.body["message"].clone())
        .collect();
    assert_eq!(messages, ["first", "second"], "each stored once, in order");
    let requests = collector.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests[1].at.duration_since(limited_at) >= Duration::from_secs(1));
    assert_eq!(client.stats().sent, 2);
}

#[test]
fn a_tracker_that_comes_back_gets_the_reports_made_while_it_was_down() {
    let collector = Collector::start();
    let url = collector.url();
    let port = collector.addr().port();
    drop(collector);
    let client = ErrorClient::builder(&url, "test-key").build().unwrap();
    client.report_error_sync("while down", None);
    assert_eq!(client.stats().retried, 1);
    let collector = Collector::with_config(CollectorConfig {
        port,
        ..CollectorConfig::default()
    });
    assert_eq!(client.flush(Duration::from_secs(5)), 0);
    assert_eq!(collector.errors().len(), 1);
    assert_eq!(collector.errors()[0].body["message"], "while down");
}

#[test]
fn async_reports_made_just_before_shutdown_are_stored_after_flush() {
    let collector = Collector::start();
    // A slow tracker: each answer takes 100 ms.
    collector.set_fault(Some(Fault::SlowAnswer(Duration::from_millis(100))));
    let errors = client(&collector);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for i in 0..5 {
            // A failing handler reports without waiting for the answer.
            tokio::spawn(errors.report_error(format!("failure {i}").as_str(), None));
        }
    });
    // The runtime stops at once, its tasks cancelled, as at the end of a
    // graceful shutdown.
    runtime.shutdown_background();
    assert!(collector.errors().len() < 5, "the tracker is slow");
    assert_eq!(errors.close(Duration::from_secs(5)), 0);
    assert_eq!(collector.errors().len(), 5);
    assert_eq!(errors.stats().sent, 5);
}

#[test]
fn debug_never_shows_the_key() {
    let client = ErrorClient::new("http://localhost:5010", "super-secret-key").unwrap();
    assert!(!format!("{client:?}").contains("super-secret-key"));
    assert!(ErrorClient::new("localhost:5010", "k").is_err());
    assert!(
        ErrorClient::builder("http://h", "k")
            .project("")
            .build()
            .is_err()
    );
}

/// A storm of failures against a tracker that stalls (the real one has no
/// read timeout): one report is on its way at a time, at most 256 wait,
/// and the rest are dropped and counted at once; nobody waits.
#[test]
fn a_storm_of_reports_against_a_stalled_tracker_is_bounded() {
    let collector = Collector::start();
    collector.set_fault(Some(Fault::Stall(Duration::from_secs(30))));
    let errors = ErrorClient::builder(collector.url(), collector.api_key())
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    for i in 0..300 {
        runtime.spawn(errors.report_error(format!("storm {i}").as_str(), None));
    }
    let stats = errors.stats();
    assert_eq!(stats.recorded, 300, "{stats:?}");
    assert_eq!(stats.dropped_full, 44, "beyond 256 waiting: {stats:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the storm never waits"
    );
    assert!(collector.requests().len() <= 1, "one at a time");
    drop(runtime);
}
