//! Error storms within the tracker's limit: one group is sent once per
//! window, with the count left out; errors_total stays exact.

use std::time::Duration;

use monlight_std::{ErrorClient, MetricsClient, RequestContext};
use monlight_tests::Collector;

fn clients(collector: &Collector, window: Duration) -> (ErrorClient, MetricsClient) {
    let metrics = MetricsClient::builder(collector.url(), collector.api_key())
        .build()
        .unwrap();
    let errors = ErrorClient::builder(collector.url(), collector.api_key())
        .suppress_repeats(window)
        .count_errors(metrics.clone())
        .build()
        .unwrap();
    (errors, metrics)
}

fn db_down(errors: &ErrorClient, route: &str) {
    let failure = std::io::Error::other("connection refused");
    let context = RequestContext::new().url("/orders/7").route(route);
    drop(errors.report_error(&failure, Some(context)));
}

#[test]
fn a_storm_is_one_report_a_window_and_errors_total_counts_every_one() {
    let collector = Collector::start();
    let (errors, metrics) = clients(&collector, Duration::from_millis(300));
    // A dead database: 10,000 identical failures in well under a second.
    for _ in 0..10_000 {
        db_down(&errors, "/orders/{id}");
    }
    assert_eq!(errors.flush(Duration::from_secs(5)), 0);
    assert_eq!(collector.errors().len(), 1, "one report for the storm");
    assert_eq!(collector.requests().len(), 1, "one request to the tracker");
    assert_eq!(errors.stats().filtered, 9_999);

    std::thread::sleep(Duration::from_millis(350)); // the window closes
    db_down(&errors, "/orders/{id}");
    assert_eq!(errors.flush(Duration::from_secs(5)), 0);
    let stored = collector.errors();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].body["extra"]["suppressed"], 9_999);

    metrics.flush();
    let counted: f64 = collector
        .points(
            "errors_total",
            &[("exception_type", "Error"), ("endpoint", "/orders/{id}")],
        )
        .iter()
        .map(|point| point["value"].as_f64().unwrap())
        .sum();
    assert_eq!(counted, 10_001.0, "every report, sent or suppressed");
    collector.assert_within_rules();
}

#[test]
fn each_throw_site_is_its_own_group() {
    let collector = Collector::start();
    let (errors, _metrics) = clients(&collector, Duration::from_secs(60));
    let failure = std::io::Error::other("connection refused");
    errors.report_error_sync(&failure, None);
    errors.report_error_sync(&failure, None); // another line: another group
    errors.report_error_sync("x", None);
    assert_eq!(collector.errors().len(), 3);
}
