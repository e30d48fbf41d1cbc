//! Quickstart: report an error and send metrics.
//!
//! ```sh
//! cargo run -p monlight-examples --example quickstart
//! ```
//!
//! With `MONLIGHT_ERROR_TRACKER_URL`, `MONLIGHT_METRICS_COLLECTOR_URL` and
//! `MONLIGHT_API_KEY` set it talks to those servers; without them it starts
//! a local collector on 127.0.0.1 and prints what the collector received.

use std::env;
use std::time::Duration;

use monlight_std::{ErrorClient, MetricsClient, RequestContext};
use monlight_tests::Collector;
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Where to send: your servers, or a local stand-in.
    let configured = (
        env::var("MONLIGHT_ERROR_TRACKER_URL"),
        env::var("MONLIGHT_METRICS_COLLECTOR_URL"),
        env::var("MONLIGHT_API_KEY"),
    );
    let (local, errors_url, metrics_url, api_key) = match configured {
        (Ok(errors), Ok(metrics), Ok(key)) => (None, errors, metrics, key),
        _ => {
            let collector = Collector::start();
            println!(
                "No MONLIGHT_* servers configured: started a local collector at {}",
                collector.url()
            );
            let (url, key) = (collector.url(), collector.api_key().to_owned());
            (Some(collector), url.clone(), url, key)
        }
    };

    // 2. The clients, as in the Python reference.
    let errors = ErrorClient::builder(&errors_url, &api_key)
        .project("quickstart")
        .environment("dev")
        .build()?;
    let metrics = MetricsClient::builder(&metrics_url, &api_key)
        .project("quickstart")
        .flush_interval(Duration::from_secs(10))
        .build()?;
    metrics.start();
    monlight_std::install_panic_hook(errors.clone());

    // 3. Record metrics: a counter, a histogram, a gauge.
    for plan in ["free", "pro", "pro"] {
        metrics.counter("signups_total", &[("plan", plan)]);
    }
    metrics.histogram("response_time_ms", 42.5, &[("endpoint", "/api/users")]);
    metrics.gauge("active_connections", 15.0, &[("service", "api")]);

    // 4. Report an error, with the request it happened in.
    if let Err(e) = "12a".parse::<u32>() {
        let context = RequestContext::new()
            .url("/api/users")
            .method("POST")
            .header("Content-Type", "application/json")
            .header("Authorization", "Bearer never-sent")
            .user_id(42)
            .extra(json!({"booking_id": 123}));
        errors.report_error_sync(&e, Some(context));
    }

    // 5. Send what is buffered and stop the flush thread.
    metrics.shutdown();

    println!("\nerror reports: {:?}", errors.stats());
    println!("metric points: {:?}", metrics.stats());

    // 6. What arrived (local collector only).
    if let Some(collector) = local {
        println!(
            "\nThe collector stored {} error report(s):",
            collector.errors().len()
        );
        for error in collector.errors() {
            println!(
                "  [{}] {}",
                error.status,
                serde_json::to_string_pretty(&error.body)?.replace('\n', "\n  ")
            );
        }
        println!("\nand {} metric point(s):", collector.metrics().len());
        for item in collector.metrics() {
            println!("  {item}");
        }
    }
    Ok(())
}
