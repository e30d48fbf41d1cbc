//! monlight-std's test kit used as a user would, from outside the crate:
//! a service's code runs against the local collector, and the test asserts
//! what arrived.

use std::time::Duration;

use monlight_std::testing::{Collector, CollectorConfig, Fault};
use monlight_std::{ErrorClient, MetricsClient, RequestContext};

/// The "service" under test: it counts orders and reports failed ones.
fn place_order(metrics: &MetricsClient, errors: &ErrorClient, quantity: &str) {
    match quantity.parse::<u32>() {
        Ok(_) => metrics.counter("orders_total", &[("plan", "pro"), ("region", "eu")]),
        Err(e) => errors.report_error_sync(&e, Some(RequestContext::new().url("/orders"))),
    }
}

fn clients(collector: &Collector) -> (MetricsClient, ErrorClient) {
    let metrics = MetricsClient::builder(collector.url(), collector.api_key())
        .project("shop")
        .build()
        .unwrap();
    let errors = ErrorClient::builder(collector.url(), collector.api_key())
        .project("shop")
        .build()
        .unwrap();
    (metrics, errors)
}

#[test]
fn a_service_is_checked_for_what_it_sends() {
    let collector = Collector::start();
    let (metrics, errors) = clients(&collector);
    errors.check().unwrap();
    place_order(&metrics, &errors, "2");
    place_order(&metrics, &errors, "two");
    metrics.flush();
    assert_eq!(errors.flush(Duration::from_secs(5)), 0);

    let orders = collector.assert_point("orders_total", &[("plan", "pro")]);
    assert_eq!((orders.len(), &orders[0]["value"]), (1, &1.0.into()));
    assert!(
        collector
            .points("orders_total", &[("plan", "free")])
            .is_empty()
    );
    let failed = collector.assert_report("ParseIntError");
    assert_eq!(failed[0].body["request_url"], "/orders");
    // The check's probe is within the rules; everything else was stored.
    collector.assert_within_rules();
}

#[test]
#[should_panic(
    expected = "no point \"orders_total\" with labels [(\"plan\", \"free\")] arrived; 1 did"
)]
fn a_missing_point_fails_with_what_did_arrive() {
    let collector = Collector::start();
    let (metrics, errors) = clients(&collector);
    place_order(&metrics, &errors, "1");
    metrics.flush();
    collector.assert_point("orders_total", &[("plan", "free")]);
}

#[test]
#[should_panic(expected = "request(s) the real servers would refuse")]
fn a_refused_request_fails_the_rules() {
    let collector = Collector::with_config(CollectorConfig::default());
    collector.inject(Fault::Status(400, "Invalid metric type"));
    let (metrics, errors) = clients(&collector);
    place_order(&metrics, &errors, "1");
    metrics.flush();
    collector.assert_within_rules();
}
