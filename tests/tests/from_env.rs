//! The `from_env` constructors read the process environment. Each case runs
//! in a child process (this test binary again, told which case by
//! `MONLIGHT_TEST_CASE`) with the variables set, so no test changes the
//! environment of the others.

use std::process::Command;
use std::time::Duration;

use monlight_std::integrations::axum::{MonlightOptions, setup_monlight};
use monlight_std::{ErrorClient, MetricsClient, env};
use monlight_tests::Collector;

const CASE: &str = "MONLIGHT_TEST_CASE";
const ALL: [&str; 6] = [
    env::ERROR_TRACKER_URL,
    env::METRICS_COLLECTOR_URL,
    env::API_KEY,
    env::PROJECT,
    env::ENVIRONMENT,
    env::FLUSH_INTERVAL,
];

/// Runs `case` in a child with exactly `vars` among the `MONLIGHT_*` ones.
fn run_case(test: &str, case: &str, vars: &[(&str, &str)]) {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child.args([test, "--exact", "--nocapture", "--test-threads=1"]);
    for name in ALL {
        child.env_remove(name);
    }
    let status = child
        .env(CASE, case)
        .envs(vars.iter().copied())
        .status()
        .unwrap();
    assert!(status.success(), "case {case} failed in the child");
}

/// The case this process runs, if it is a child.
fn case() -> Option<String> {
    std::env::var(CASE).ok()
}

#[test]
fn clients_configured_from_the_environment_reach_the_servers() {
    if let Some(case) = case() {
        assert_eq!(case, "clients");
        let errors = ErrorClient::from_env().unwrap();
        errors.report_error_sync("disk full", None);
        let metrics = MetricsClient::from_env().unwrap();
        metrics.start();
        metrics.counter("env_total", &[]);
        // MONLIGHT_FLUSH_INTERVAL=0.2: delivered long before the default 10 s.
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(metrics.stats().sent, 1);
        return;
    }
    let collector = Collector::start();
    let url = collector.url();
    run_case(
        "clients_configured_from_the_environment_reach_the_servers",
        "clients",
        &[
            (env::ERROR_TRACKER_URL, &url),
            (env::METRICS_COLLECTOR_URL, &url),
            (env::API_KEY, collector.api_key()),
            (env::PROJECT, "env-shop"),
            (env::ENVIRONMENT, "staging"),
            (env::FLUSH_INTERVAL, "0.2"),
        ],
    );
    let errors = collector.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].body["project"], "env-shop");
    assert_eq!(errors[0].body["environment"], "staging");
    assert_eq!(errors[0].body["message"], "disk full");
    let metrics = collector.metrics();
    assert_eq!(metrics.len(), 1);
    assert_eq!(metrics[0]["project"], "env-shop");
}

#[test]
fn missing_and_malformed_variables_are_named() {
    if let Some(case) = case() {
        let error = match case.as_str() {
            "no-url" => ErrorClient::from_env().unwrap_err(),
            "bad-interval" => MetricsClient::from_env().unwrap_err(),
            "url-without-key" => MonlightOptions::from_env().unwrap_err(),
            other => panic!("unknown case {other}"),
        };
        let expected = match case.as_str() {
            "no-url" => "MONLIGHT_ERROR_TRACKER_URL is not set",
            "bad-interval" => "MONLIGHT_FLUSH_INTERVAL must be a positive number of seconds",
            _ => "MONLIGHT_API_KEY is not set",
        };
        assert!(error.to_string().starts_with(expected), "{error}");
        return;
    }
    let test = "missing_and_malformed_variables_are_named";
    run_case(test, "no-url", &[(env::API_KEY, "k")]);
    run_case(
        test,
        "bad-interval",
        &[
            (env::METRICS_COLLECTOR_URL, "http://localhost:5012"),
            (env::API_KEY, "k"),
            (env::FLUSH_INTERVAL, "10s"),
        ],
    );
    run_case(
        test,
        "url-without-key",
        &[(env::METRICS_COLLECTOR_URL, "http://localhost:5012")],
    );
}

#[test]
fn without_urls_the_axum_app_is_left_alone() {
    if case().is_some() {
        let app = axum::Router::<()>::new();
        let (_, clients) = setup_monlight(app, MonlightOptions::from_env().unwrap()).unwrap();
        assert!(clients.error_client.is_none() && clients.metrics_client.is_none());
        return;
    }
    run_case("without_urls_the_axum_app_is_left_alone", "none", &[]);
}
