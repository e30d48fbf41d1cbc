//! `check()` tells a new user, in one sentence, whether each server is
//! reachable and takes the key, and stores nothing.

mod common;

use monlight_std::{ErrorClient, MetricsClient, Probe, Server};
use monlight_tests::Collector;

fn clients(url: &str, key: &str) -> (ErrorClient, MetricsClient) {
    let errors = ErrorClient::builder(url, key).build().unwrap();
    let metrics = MetricsClient::builder(url, key).build().unwrap();
    (errors, metrics)
}

#[test]
fn the_right_key_is_accepted_and_nothing_is_stored() {
    let collector = Collector::start();
    let (errors, metrics) = clients(&collector.url(), collector.api_key());
    let tracker = errors.check().unwrap();
    assert_eq!(
        (tracker.server, tracker.probe),
        (Server::ErrorTracker, Probe::KeyAccepted)
    );
    let collector_check = metrics.check().unwrap();
    assert_eq!(
        collector_check.to_string(),
        format!(
            "the metrics collector at {} is reachable and accepted the API key",
            collector.url()
        )
    );
    assert!(collector.errors().is_empty() && collector.metrics().is_empty());
    assert_eq!(collector.requests().len(), 2);
    assert!(collector.violations().is_empty());
}

#[test]
fn a_wrong_key_is_named_as_such() {
    let collector = Collector::start();
    let (errors, metrics) = clients(&collector.url(), "not-the-key");
    let refused = errors.check().unwrap_err();
    assert_eq!(refused.0.probe, Probe::KeyRefused);
    assert_eq!(
        metrics.check().unwrap_err().to_string(),
        format!(
            "the metrics collector at {} refused the API key (401)",
            collector.url()
        )
    );
}

#[test]
fn an_unreachable_server_and_a_wrong_url_are_told_apart() {
    let dead = common::dead_url();
    let (errors, metrics) = clients(&dead, "k");
    for problem in [errors.check().unwrap_err(), metrics.check().unwrap_err()] {
        assert!(
            matches!(problem.0.probe, Probe::Unreachable(_)),
            "{problem}"
        );
        assert!(
            problem
                .to_string()
                .ends_with("could not be reached (could not connect)"),
            "{problem}"
        );
    }
    // A server answering 404: not where monlight listens.
    let collector = Collector::start();
    let wrong = format!("{}/not-here", collector.url());
    let (errors, _) = clients(&wrong, collector.api_key());
    let problem = errors.check().unwrap_err();
    assert_eq!(problem.0.probe, Probe::Unexpected { status: 404 });
    assert!(
        problem.to_string().contains("is the URL right?"),
        "{problem}"
    );
}
