//! Quickstart: report an error and send metrics.
//!
//! ```sh
//! cargo run -p monlight-quickstart
//! ```
//!
//! With `MONLIGHT_ERROR_TRACKER_URL`, `MONLIGHT_METRICS_COLLECTOR_URL` and
//! `MONLIGHT_API_KEY` set it talks to those servers; with none of them it
//! starts a local collector on 127.0.0.1 and prints what the collector
//! received. It checks both servers first and says what it found; the
//! SDK's warnings show through `env_logger` (`RUST_LOG=debug` for more).

use std::env;
use std::time::Duration;

use monlight_std::env::{API_KEY, ERROR_TRACKER_URL, METRICS_COLLECTOR_URL};
use monlight_std::testing::Collector;
use monlight_std::{ErrorClient, MetricsClient, RequestContext};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The SDK's warnings (a lost batch, a full buffer) go through `log`:
    // shown here from WARN, or as RUST_LOG says.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();

    // 1. Where to send: your servers, or a local stand-in.
    let names = [ERROR_TRACKER_URL, METRICS_COLLECTOR_URL, API_KEY];
    let values = names.map(|name| env::var(name).ok().filter(|value| !value.is_empty()));
    let (local, errors_url, metrics_url, api_key) = match values {
        [Some(errors), Some(metrics), Some(key)] => (None, errors, metrics, key),
        [None, None, None] => {
            let collector = Collector::start();
            println!(
                "No MONLIGHT_* variables set: started a local collector at {}",
                collector.url()
            );
            let (url, key) = (collector.url(), collector.api_key().to_owned());
            (Some(collector), url.clone(), url, key)
        }
        _ => {
            let missing: Vec<&str> = names
                .iter()
                .zip(&values)
                .filter(|(_, value)| value.is_none())
                .map(|(name, _)| *name)
                .collect();
            let verb = if missing.len() == 1 { "is" } else { "are" };
            eprintln!(
                "{} {verb} not set. Set all three of {} to use your servers, or none to use a local collector.",
                missing.join(" and "),
                names.join(", ")
            );
            std::process::exit(2);
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

    // Before anything is sent: can both servers be reached, and do they
    // take the key? (One request each; nothing is stored.)
    let checks = [errors.check(), metrics.check()];
    for check in &checks {
        match check {
            Ok(ready) => println!("ok: {ready}"),
            Err(problem) => eprintln!("problem: {problem}"),
        }
    }
    if checks.iter().any(Result::is_err) {
        eprintln!("Fix the above (URL, API key, is the server running?) and run again.");
        std::process::exit(1);
    }
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

    // 5. At exit: wait until the tracker has every report, send the
    //    buffered points, and stop both clients' threads.
    errors.close(std::time::Duration::from_secs(5));
    metrics.shutdown();

    println!("\nerror reports: {}", errors.stats());
    println!("metric points: {}", metrics.stats());

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
