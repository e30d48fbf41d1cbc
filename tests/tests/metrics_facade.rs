//! The `metrics` facade's macros, recorded by monlight, arriving at the
//! local collector.

use std::time::Duration;

use monlight_std::MetricsClient;
use monlight_std::integrations::metrics::MonlightRecorder;
use monlight_tests::Collector;
use serde_json::{Value, json};

fn client(collector: &Collector) -> MetricsClient {
    MetricsClient::builder(collector.url(), collector.api_key())
        .project("facade")
        .build()
        .unwrap()
}

fn points(collector: &Collector, name: &str) -> Vec<Value> {
    collector
        .metrics()
        .into_iter()
        .filter(|m| m["name"] == name)
        .collect()
}

#[test]
fn counters_gauges_and_histograms_arrive_with_their_labels() {
    let collector = Collector::start();
    let metrics = client(&collector);
    let recorder = MonlightRecorder::new(metrics.clone());
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("signups_total", "plan" => "pro").increment(1);
        metrics::counter!("signups_total", "plan" => "pro").increment(2);
        metrics::histogram!("request_seconds", "route" => "/users/{id}", "method" => "GET")
            .record(0.25);
        metrics::gauge!("queue_depth").set(10.0);
    });
    metrics.flush().unwrap();

    let signups = points(&collector, "signups_total");
    assert_eq!(signups.len(), 2, "every increment is a point");
    assert_eq!(signups[0]["type"], "counter");
    assert_eq!(signups[0]["labels"], json!({"plan": "pro"}));
    assert_eq!(
        (signups[0]["value"].as_f64(), signups[1]["value"].as_f64()),
        (Some(1.0), Some(2.0))
    );
    let latency = &points(&collector, "request_seconds")[0];
    assert_eq!(latency["type"], "histogram");
    assert_eq!(latency["value"], 0.25);
    assert_eq!(
        latency["labels"],
        json!({"route": "/users/{id}", "method": "GET"})
    );
    assert_eq!(latency["project"], "facade");
    let depth = &points(&collector, "queue_depth")[0];
    assert_eq!(
        (depth["type"].as_str(), depth["value"].as_f64()),
        (Some("gauge"), Some(10.0))
    );
    assert!(depth.get("labels").is_none());
}

#[test]
fn gauge_increments_and_decrements_keep_the_current_value() {
    let collector = Collector::start();
    let metrics = client(&collector);
    let recorder = MonlightRecorder::new(metrics.clone());
    metrics::with_local_recorder(&recorder, || {
        let connections = metrics::gauge!("active_connections", "service" => "api");
        connections.increment(3.0);
        connections.decrement(1.0);
        connections.increment(0.5);
        connections.set(7.0);
        connections.decrement(2.0);
        // absolute counters send what was added since the last total
        let bytes = metrics::counter!("bytes_total");
        bytes.absolute(100);
        bytes.absolute(150);
        bytes.absolute(120); // never goes back
    });
    metrics.flush().unwrap();
    let values: Vec<f64> = points(&collector, "active_connections")
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [3.0, 2.0, 2.5, 7.0, 5.0]);
    let bytes: Vec<f64> = points(&collector, "bytes_total")
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(bytes, [100.0, 50.0]);
}

#[test]
fn a_registered_handle_is_shared_across_threads() {
    let collector = Collector::start();
    let metrics = client(&collector);
    let recorder = MonlightRecorder::new(metrics.clone());
    let jobs = metrics::with_local_recorder(
        &recorder,
        || metrics::counter!("jobs_total", "queue" => "default"),
    );
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..1000 {
                    jobs.increment(1);
                }
            });
        }
    });
    metrics.flush().unwrap();
    let total: f64 = points(&collector, "jobs_total")
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .sum();
    assert_eq!(total, 4000.0);
}

#[test]
fn installed_globally_it_records_from_anywhere() {
    let collector = Collector::start();
    let metrics = client(&collector);
    MonlightRecorder::new(metrics.clone()).install().unwrap();
    assert!(
        MonlightRecorder::new(metrics.clone()).install().is_err(),
        "one global recorder"
    );
    std::thread::spawn(|| metrics::counter!("from_a_thread_total").increment(1))
        .join()
        .unwrap();
    metrics.flush().unwrap();
    assert!(collector.wait_for_metrics(1, Duration::from_secs(5)));
    assert_eq!(points(&collector, "from_a_thread_total").len(), 1);
}

#[test]
fn a_keys_gauge_and_counter_keep_their_value_across_macro_calls() {
    let collector = Collector::start();
    let metrics = client(&collector);
    let recorder = MonlightRecorder::new(metrics.clone());
    metrics::with_local_recorder(&recorder, || {
        metrics::gauge!("q", "queue" => "a").set(12.0);
        metrics::gauge!("q", "queue" => "a").increment(3.0);
        metrics::gauge!("q", "queue" => "b").increment(1.0);
        metrics::counter!("bytes_total").absolute(100);
        metrics::counter!("bytes_total").absolute(150);
    });
    metrics.flush().unwrap();
    let gauge_a: Vec<f64> = collector
        .points("q", &[("queue", "a")])
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(gauge_a, [12.0, 15.0]);
    assert_eq!(
        collector.assert_point("q", &[("queue", "b")])[0]["value"],
        1.0
    );
    let bytes: Vec<f64> = points(&collector, "bytes_total")
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(bytes, [100.0, 50.0], "the increase since the last total");
}
