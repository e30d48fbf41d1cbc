//! MetricsClient against the local collector over real sockets.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use monlight_std::{Metric, MetricsClient};
use monlight_tests::{Collector, CollectorConfig, Fault};
use serde_json::json;

fn client(collector: &Collector) -> MetricsClient {
    MetricsClient::builder(collector.url(), collector.api_key())
        .project("shop")
        .build()
        .unwrap()
}

#[test]
fn every_kind_with_labels_timestamp_and_project() {
    let collector = Collector::start();
    let metrics = client(&collector);
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    metrics.counter("signups_total", &[("plan", "pro")]);
    metrics.counter_by("page_views", &[("page", "/home")], 5.0);
    metrics.histogram(
        "response_time_ms",
        42.5,
        &[("status", "200"), ("endpoint", "/api/users")],
    );
    metrics.gauge("active_connections", 15.0, &[]);
    let report = metrics.flush().unwrap();
    assert_eq!((report.batches, report.sent), (1, 4));

    let items = collector.metrics();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["name"], "signups_total");
    assert_eq!(items[0]["type"], "counter");
    assert_eq!(items[0]["value"], 1.0);
    assert_eq!(items[0]["labels"], json!({"plan": "pro"}));
    assert_eq!(items[0]["project"], "shop");
    assert_eq!(items[1]["value"], 5.0);
    assert_eq!(items[2]["type"], "histogram");
    assert!(items[3].get("labels").is_none(), "empty labels are omitted");
    // Labels go out sorted by key: the server stores the exact JSON text.
    let raw = String::from_utf8(collector.requests()[0].body.clone()).unwrap();
    assert!(
        raw.contains(r#""labels":{"endpoint":"/api/users","status":"200"}"#),
        "{raw}"
    );
    // Stamped with the current UTC second.
    let ts = items[0]["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), 20);
    assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "{ts}");
    let expected = monlight_core::UtcTimestamp::from_unix(before).unwrap();
    assert!(ts >= expected.as_str(), "{ts} vs {expected}");

    let request = &collector.requests()[0];
    assert_eq!(request.path, "/api/metrics");
    assert_eq!(request.header("x-api-key"), Some("test-key"));
    assert_eq!(request.header("connection"), Some("close"));
    assert!(collector.violations().is_empty());
}

#[test]
fn flush_on_empty_buffer_sends_nothing() {
    let collector = Collector::start();
    let metrics = client(&collector);
    let report = metrics.flush().unwrap();
    assert_eq!(report.batches, 0);
    assert!(collector.requests().is_empty());
}

#[test]
fn start_is_idempotent_and_the_periodic_flush_fires() {
    let collector = Collector::start();
    let metrics = MetricsClient::builder(collector.url(), collector.api_key())
        .flush_interval(Duration::from_millis(200))
        .build()
        .unwrap();
    metrics.start();
    metrics.start();
    metrics.counter("ticks_total", &[]);
    assert!(
        collector.wait_for_metrics(1, Duration::from_secs(5)),
        "periodic flush delivered"
    );
    metrics.gauge("later", 1.0, &[]);
    assert!(collector.wait_for_metrics(2, Duration::from_secs(5)));
    // One periodic timer, not two: no duplicate deliveries.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(collector.metrics().len(), 2);
}

#[test]
fn shutdown_flushes_and_is_idempotent() {
    let collector = Collector::start();
    let metrics = client(&collector);
    metrics.start();
    metrics.counter("a", &[]);
    metrics.shutdown();
    assert_eq!(collector.metrics().len(), 1);
    metrics.shutdown();
    assert_eq!(collector.requests().len(), 1);
}

#[test]
fn dropping_the_last_handle_flushes() {
    let collector = Collector::start();
    let metrics = client(&collector);
    let clone = metrics.clone();
    clone.counter("from_clone", &[]);
    drop(clone);
    assert!(collector.metrics().is_empty(), "another handle is alive");
    drop(metrics);
    assert_eq!(collector.metrics().len(), 1);
}

#[test]
fn a_failed_flush_drops_and_counts_then_the_next_one_works() {
    common::capture_logs();
    let collector = Collector::start();
    let metrics = client(&collector);
    metrics.counter("lost", &[]);
    metrics.counter("lost", &[]);
    collector.inject(Fault::Status(500, "boom"));
    let report = metrics.flush().unwrap();
    assert_eq!(report.dropped, 2);
    metrics.counter("kept", &[]);
    metrics.flush();
    let items = collector.metrics();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "kept");
    let stats = metrics.stats();
    assert_eq!(
        (stats.recorded, stats.sent, stats.dropped_rejected),
        (3, 1, 2)
    );
    assert!(
        !common::warnings_containing("2 metric points lost").is_empty(),
        "{:?}",
        common::all_logs()
    );
}

#[test]
fn unreachable_collector_never_raises() {
    common::capture_logs();
    let metrics = MetricsClient::builder(common::dead_url(), "k")
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    metrics.counter("c", &[]);
    metrics.flush();
    let stats = metrics.stats();
    assert_eq!(
        (stats.dropped_transport, stats.retried),
        (0, 1),
        "kept, not lost"
    );
    assert_eq!(metrics.buffered(), 1);
    assert!(!common::warnings_containing("could not connect").is_empty());
}

#[test]
fn wrong_key_is_rejected_and_counted() {
    let collector = Collector::start();
    let metrics = MetricsClient::new(&collector.url(), "wrong").unwrap();
    metrics.counter("c", &[]);
    metrics.flush();
    assert_eq!(metrics.stats().dropped_rejected, 1);
    assert_eq!(collector.requests()[0].status, Some(401));
}

#[test]
fn points_2500_in_one_flush_arrive_in_3_batches() {
    let collector = Collector::start();
    let metrics = client(&collector);
    for i in 0..2500 {
        metrics.counter("jobs_total", &[("job", &i.to_string())]);
    }
    let report = metrics.flush().unwrap();
    assert_eq!((report.batches, report.sent, report.dropped), (3, 2500, 0));
    assert_eq!(collector.metrics().len(), 2500);
    assert_eq!(common::batch_sizes(&collector), [1000, 1000, 500]);
}

#[test]
fn concurrent_recording_loses_nothing() {
    let collector = Collector::start();
    let metrics = client(&collector);
    std::thread::scope(|s| {
        for t in 0..8 {
            let metrics = metrics.clone();
            s.spawn(move || {
                let thread = t.to_string();
                for _ in 0..1000 {
                    metrics.counter("work_total", &[("thread", &thread)]);
                }
                if t % 2 == 0 {
                    metrics.flush();
                }
            });
        }
    });
    metrics.flush();
    let items = collector.metrics();
    assert_eq!(items.len(), 8000);
    for t in 0..8 {
        let thread = t.to_string();
        let per_thread = items
            .iter()
            .filter(|i| i["labels"]["thread"].as_str() == Some(thread.as_str()))
            .count();
        assert_eq!(per_thread, 1000);
    }
    let stats = metrics.stats();
    assert_eq!(
        (stats.recorded, stats.sent, stats.dropped()),
        (8000, 8000, 0)
    );
}

#[test]
fn a_429_pauses_sending_and_keeps_new_points() {
    let collector = Collector::start();
    let metrics = client(&collector);
    metrics.counter("before", &[]);
    collector.inject(Fault::RateLimited(1));
    let report = metrics.flush().unwrap();
    assert_eq!(metrics.stats().retried, 1, "the 429's batch is kept");
    assert!(report.paused && report.rate_limited());
    metrics.counter("during", &[]);
    let report = metrics.flush().unwrap();
    assert!(report.paused);
    assert_eq!(collector.requests().len(), 1, "no request during the pause");
    assert_eq!(metrics.buffered(), 2);
    std::thread::sleep(Duration::from_millis(1100));
    metrics.flush();
    let names: Vec<_> = collector
        .metrics()
        .iter()
        .map(|m| m["name"].clone())
        .collect();
    assert_eq!(names, ["before", "during"], "the kept point first, once");
    assert_eq!(metrics.stats().dropped(), 0);
}

#[test]
fn a_full_buffer_refuses_and_counts() {
    common::capture_logs();
    let collector = Collector::start();
    let metrics = MetricsClient::builder(collector.url(), collector.api_key())
        .buffer_bytes(1000)
        .build()
        .unwrap();
    for _ in 0..100 {
        metrics.counter("c", &[("k", "v")]);
    }
    let stats = metrics.stats();
    assert_eq!(stats.recorded + stats.dropped_full, 100);
    assert!(stats.dropped_full > 0);
    metrics.flush();
    assert_eq!(collector.metrics().len() as u64, stats.recorded);
    assert_eq!(
        common::warnings_containing("buffer full").len(),
        1,
        "one warning per episode"
    );
}

#[test]
fn invalid_points_are_refused_counted_and_logged() {
    common::capture_logs();
    let collector = Collector::start();
    let metrics = client(&collector);
    metrics.gauge("temperature", f64::NAN, &[]);
    metrics.counter("", &[]);
    metrics.counter(&"x".repeat(201), &[]);
    metrics.counter("ok", &[]);
    metrics.flush();
    assert_eq!(metrics.stats().dropped_invalid, 3);
    assert_eq!(
        collector.metrics().len(),
        1,
        "the batch was not refused for the bad points"
    );
    assert!(!common::warnings_containing("must be finite").is_empty());
}

#[test]
fn configuration_errors_are_clear_and_the_key_stays_hidden() {
    let err = MetricsClient::new("localhost:5012", "k").unwrap_err();
    assert!(err.to_string().contains("localhost:5012"), "{err}");
    assert!(
        MetricsClient::builder("http://h", "k")
            .project("p".repeat(101))
            .build()
            .is_err()
    );
    assert!(
        MetricsClient::builder("http://h", "k")
            .flush_interval(Duration::ZERO)
            .build()
            .is_err()
    );
    let metrics = MetricsClient::new("http://metrics.example.com/", "super-secret-key").unwrap();
    assert!(!format!("{metrics:?}").contains("super-secret-key"));
}

#[test]
fn a_stalled_collector_costs_at_most_the_timeout_and_the_next_flush_works() {
    let collector = Collector::start();
    let metrics = MetricsClient::builder(collector.url(), collector.api_key())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    metrics.counter("stalled", &[]);
    collector.inject(monlight_tests::Fault::Stall(Duration::from_secs(5)));
    let started = std::time::Instant::now();
    let report = metrics.flush().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        report.last_failure,
        Some(monlight_core::Outcome::Failed(
            monlight_core::TransportError::Timeout
        ))
    );
    metrics.counter("after", &[]);
    metrics.flush();
    assert_eq!(collector.metrics().len(), 1);
    assert_eq!(metrics.stats().dropped_transport, 1);
}

#[test]
fn the_servers_own_window_is_honoured() {
    let collector = Collector::with_config(monlight_tests::CollectorConfig {
        metrics_rate_limit: 1,
        rate_window: Duration::from_secs(1),
        ..Default::default()
    });
    let metrics = client(&collector);
    metrics.counter("one", &[]);
    metrics.flush();
    metrics.counter("two", &[]);
    metrics.flush(); // 429 from the window
    metrics.counter("three", &[]);
    let report = metrics.flush().unwrap();
    assert!(report.paused, "paused by retry_after");
    assert_eq!(collector.requests().len(), 2);
    std::thread::sleep(Duration::from_millis(1100));
    metrics.flush();
    let names: Vec<String> = collector
        .metrics()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["one", "two", "three"]);
    assert_eq!(metrics.stats().dropped(), 0);
}

#[test]
fn a_half_full_buffer_is_flushed_before_the_interval() {
    let collector = Collector::start();
    // Room for about 1,000 points; the interval never comes in this test.
    let metrics = MetricsClient::builder(collector.url(), collector.api_key())
        .buffer_bytes(64 * 1024)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    metrics.start();
    // 20 bursts of 600 points: each fills the buffer past half, twelve
    // times its capacity in all.
    for burst in 0..20 {
        for i in 0..600 {
            metrics.counter_by(
                "jobs_total",
                &[("queue", "default")],
                f64::from(burst * 600 + i),
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // All but what sits below the half-full mark and in this thread's
    // staging ring went out early.
    let point = Metric::counter("jobs_total", &[("queue", "default")], 0.0)
        .at(0)
        .record_len();
    let below_half = 32 * 1024 / point;
    let staged = (64 * 1024 / 16) / point.next_multiple_of(8);
    assert!(collector.wait_for_metrics(12_000 - below_half - staged, Duration::from_secs(10)));
    let stats = metrics.stats();
    assert_eq!((stats.recorded, stats.dropped_full), (12_000, 0));
    assert!(collector.requests().len() >= 10, "flushed in many rounds");
    metrics.shutdown();
    assert_eq!(collector.metrics().len(), 12_000);
    assert_eq!(metrics.stats().sent, 12_000);
}

#[test]
fn an_early_flush_sends_whole_batches_and_the_interval_the_rest() {
    let collector = Collector::start();
    // A ring of 10,240 points (16 bytes each) asks for a flush when half
    // full; the interval never comes until `flush()`.
    let metrics = MetricsClient::builder(collector.url(), collector.api_key())
        .flush_interval(Duration::from_secs(3600))
        .staging_bytes_per_thread(160 << 10)
        .build()
        .unwrap();
    metrics.start();
    let recorded: u32 = 6_500;
    for i in 0..recorded {
        metrics.histogram("latency_seconds", f64::from(i), &[("route", "/")]);
    }
    assert!(
        collector.wait_for_metrics(5_000, Duration::from_secs(10)),
        "no early flush"
    );
    // What is left is less than a batch: it waits for the interval.
    assert!(!collector.wait_for_metrics(recorded as usize, Duration::from_millis(500)));
    let early = common::batch_sizes(&collector);
    assert!(
        early.iter().all(|&n| n == 1_000),
        "early batches: {early:?}"
    );
    metrics.flush().expect("flushed");
    assert_eq!(metrics.stats().sent, u64::from(recorded));
    let values: Vec<f64> = collector
        .metrics()
        .iter()
        .map(|m| m["value"].as_f64().unwrap())
        .collect();
    let expected: Vec<f64> = (0..recorded).map(f64::from).collect();
    assert_eq!(values, expected, "all, in order, none twice");
}

#[test]
fn a_flush_fills_batches_from_the_buffer_and_the_rings_alike() {
    let collector = Collector::start();
    // Never started: the thread's default ring (4,096 points) fills, and
    // the rest goes to the shared buffer.
    let metrics = client(&collector);
    let recorded: u32 = 10_000;
    for i in 0..recorded {
        metrics.histogram("latency_seconds", f64::from(i), &[("route", "/")]);
    }
    let report = metrics.flush().expect("flushed");
    assert_eq!((report.sent, report.batches), (recorded, 10), "{report:?}");
    assert_eq!(
        common::batch_sizes(&collector),
        [1_000; 10],
        "no short batch where the buffer ends"
    );
    let expected: Vec<f64> = (0..recorded).map(f64::from).collect();
    assert_eq!(
        common::stored_values(&collector),
        expected,
        "all, none twice"
    );
}

#[test]
fn registered_series_record_what_the_per_call_api_records() {
    let collector = Collector::start();
    let metrics = client(&collector);
    let labels = [("status", "200"), ("method", "GET")];
    let requests = metrics
        .register_counter("http_requests_total", &labels)
        .unwrap();
    let latency = metrics
        .register_histogram("http_request_duration_seconds", &labels)
        .unwrap();
    let depth = metrics.register_gauge("queue_depth", &[]).unwrap();
    requests.increment();
    requests.record(3.0);
    latency.record(0.25);
    depth.record(7.0);
    metrics.counter("http_requests_total", &labels);
    metrics.flush().unwrap();

    let items = collector.metrics();
    assert_eq!(items.len(), 5, "{items:?}");
    let values: Vec<(&str, &str, f64)> = items
        .iter()
        .map(|i| {
            let name = i["name"].as_str().unwrap();
            (
                name,
                i["type"].as_str().unwrap(),
                i["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        values,
        [
            ("http_requests_total", "counter", 1.0),
            ("http_requests_total", "counter", 3.0),
            ("http_request_duration_seconds", "histogram", 0.25),
            ("queue_depth", "gauge", 7.0),
            ("http_requests_total", "counter", 1.0),
        ]
    );
    // A handle's point is the per-call point, byte for byte but the value.
    assert_eq!(items[0], items[4]);
    assert_eq!(
        items[0]["labels"],
        json!({"method": "GET", "status": "200"})
    );
    assert!(items[3].get("labels").is_none());
    for item in &items {
        assert!(item["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(item["project"], "shop");
    }
}

#[test]
fn a_bad_series_is_refused_at_registration_and_a_bad_value_is_counted() {
    let collector = Collector::start();
    let metrics = client(&collector);
    assert_eq!(
        metrics.register_counter("", &[]).unwrap_err(),
        monlight_std::MetricError::InvalidName
    );
    assert_eq!(
        metrics
            .register_gauge("g", &[("k", "a"), ("k", "b")])
            .unwrap_err(),
        monlight_std::MetricError::DuplicateLabelKey
    );
    let gauge = metrics.register_gauge("temperature", &[]).unwrap();
    common::capture_logs();
    gauge.record(f64::NAN);
    gauge.record(f64::INFINITY);
    gauge.record(21.5);
    let warnings = common::warnings_containing("\"temperature\" dropped");
    assert!(warnings.len() >= 2, "{warnings:?}");
    metrics.flush().unwrap();
    let stats = metrics.stats();
    assert_eq!(
        (stats.recorded, stats.dropped_invalid, stats.sent),
        (1, 2, 1)
    );
    assert_eq!(collector.metrics()[0]["value"], 21.5);
}

#[test]
fn points_from_many_short_lived_threads_all_arrive() {
    // More threads than get a staging ring, each recording then ending
    // before the flush: nothing staged is lost with its thread.
    let collector = Collector::start();
    let metrics = client(&collector);
    let threads = monlight_std::MAX_STAGING_THREADS + 36;
    std::thread::scope(|s| {
        for t in 0..threads {
            let metrics = &metrics;
            s.spawn(move || {
                let series = metrics.register_counter("by_handle", &[]).unwrap();
                for _ in 0..25 {
                    metrics.counter_by("per_call", &[("thread", "any")], t as f64);
                    series.increment();
                }
            });
        }
    });
    assert_eq!(metrics.buffered(), threads * 50);
    metrics.flush().unwrap();
    let items = collector.metrics();
    assert_eq!(items.len(), threads * 50);
    let sum: f64 = items
        .iter()
        .filter(|i| i["name"] == "per_call")
        .map(|i| i["value"].as_f64().unwrap())
        .sum();
    assert_eq!(sum, 25.0 * (0..threads).sum::<usize>() as f64);
    let stats = metrics.stats();
    assert_eq!(
        (stats.recorded, stats.sent),
        (threads as u64 * 50, threads as u64 * 50)
    );
}

#[test]
fn without_staging_every_point_still_arrives() {
    let collector = Collector::start();
    let metrics = MetricsClient::builder(collector.url(), collector.api_key())
        .staging_bytes_per_thread(0)
        .build()
        .unwrap();
    let series = metrics.register_histogram("h", &[("k", "v")]).unwrap();
    for i in 0..100 {
        series.record(f64::from(i));
        metrics.histogram("h", f64::from(i), &[("k", "v")]);
    }
    metrics.flush().unwrap();
    assert_eq!(collector.metrics().len(), 200);
}

#[test]
fn more_series_than_a_thread_caches_keep_their_own_labels_and_values() {
    let collector = Collector::start();
    let metrics = client(&collector);
    // 600 series in rotation, three rounds: each thread caches 256.
    let users: Vec<String> = (0..600).map(|i| format!("user-{i}")).collect();
    for round in 0..3 {
        for (i, user) in users.iter().enumerate() {
            metrics.counter_by("logins_total", &[("user", user)], (i * 10 + round) as f64);
        }
    }
    metrics.flush().unwrap();
    let items = collector.metrics();
    assert_eq!(items.len(), 1800);
    for item in &items {
        let user = item["labels"]["user"].as_str().unwrap();
        let i: usize = user.strip_prefix("user-").unwrap().parse().unwrap();
        let value = item["value"].as_f64().unwrap() as usize;
        assert_eq!(value / 10, i, "{item}");
    }
}

#[test]
fn series_beyond_what_a_client_interns_still_arrive_with_their_values() {
    let collector = Collector::start();
    let metrics = client(&collector);
    // A client encodes at most 10,000 series once; the points of further
    // series take the buffer's path. Twice 10,050 series, then a handle of
    // a series registered past the cap.
    let ids: Vec<String> = (0..10_050).map(|i| i.to_string()).collect();
    for round in 0..2 {
        for (i, id) in ids.iter().enumerate() {
            metrics.counter_by("jobs_total", &[("job", id)], (i * 2 + round) as f64);
        }
    }
    let late = metrics.register_gauge("late", &[("k", "v")]).unwrap();
    late.record(7.5);
    metrics.flush().unwrap();
    let stats = metrics.stats();
    assert_eq!((stats.recorded, stats.sent), (20_101, 20_101), "{stats:?}");
    let items = collector.metrics();
    assert_eq!(items.len(), 20_101);
    let mut seen = vec![0u32; ids.len()];
    for item in items.iter().filter(|item| item["name"] == "jobs_total") {
        let i: usize = item["labels"]["job"].as_str().unwrap().parse().unwrap();
        let value = item["value"].as_f64().unwrap() as usize;
        assert_eq!(value / 2, i, "{item}");
        seen[i] += 1;
    }
    assert!(seen.iter().all(|&n| n == 2), "every series twice");
    let late = items.iter().find(|item| item["name"] == "late").unwrap();
    assert_eq!(
        (late["value"].as_f64(), late["labels"]["k"].as_str()),
        (Some(7.5), Some("v"))
    );
}

/// A server that answers 429 from the head and closes without reading a
/// 500 KB batch, over a slow network (a small receive window): the write
/// fails, yet the 429 is what counts, and its pause holds the rest back.
#[test]
fn a_429_answered_before_a_large_body_is_read_is_honoured() {
    let collector = Collector::with_config(CollectorConfig {
        receive_buffer: Some(4096),
        ..CollectorConfig::default()
    });
    let metrics = client(&collector);
    let pad = "x".repeat(100);
    let labels = [("a", pad.as_str()), ("b", &pad), ("c", &pad), ("d", &pad)];
    for i in 0..1000 {
        metrics.gauge("large", f64::from(i), &labels);
    }
    collector.inject(Fault::BeforeBody(Box::new(Fault::RateLimited(30))));
    let report = metrics.flush().unwrap();
    let stats = metrics.stats();
    assert!(stats.retried > 900, "{stats:?}");
    assert_eq!(stats.dropped(), 0, "{stats:?}");
    assert!(report.paused, "{report:?}");
    assert_eq!(
        collector.requests().len(),
        1,
        "nothing sent during the pause"
    );
    assert!(
        metrics.buffered() > 0,
        "the second batch waits out the pause"
    );
}

#[test]
fn a_collector_down_for_three_intervals_loses_nothing_recorded_meanwhile() {
    let collector = Collector::start();
    let port = collector.addr().port();
    let metrics = MetricsClient::builder(collector.url(), collector.api_key())
        .flush_interval(Duration::from_millis(200))
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    metrics.start();
    metrics.counter("before_total", &[]);
    assert!(collector.wait_for_metrics(1, Duration::from_secs(5)));

    drop(collector); // down: connections are refused
    for i in 0..30 {
        metrics.gauge("during_outage", f64::from(i), &[]);
        std::thread::sleep(Duration::from_millis(20)); // three intervals in all
    }
    let during = metrics.stats();
    assert!(
        during.retried > 0,
        "flushes were tried and kept: {during:?}"
    );
    assert_eq!(during.dropped(), 0, "{during:?}");

    let collector = Collector::with_config(CollectorConfig {
        port,
        ..CollectorConfig::default()
    });
    assert!(collector.wait_for_metrics(30, Duration::from_secs(5)));
    metrics.shutdown();
    let values = common::stored_values(&collector);
    assert_eq!(values, (0..30).map(f64::from).collect::<Vec<_>>());
    let stats = metrics.stats();
    assert_eq!((stats.sent, stats.dropped()), (31, 0), "{stats:?}");
}
