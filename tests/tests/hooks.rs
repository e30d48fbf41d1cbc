//! The hooks users of error SDKs expect: before_send, sample_rate,
//! release and server_name, global labels, enabled(false). Against the
//! local collector.

use std::time::Duration;

use monlight_std::{ErrorClient, ErrorEvent, MetricsClient, RequestContext};
use monlight_tests::Collector;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

fn errors(collector: &Collector) -> monlight_std::ErrorClientBuilder {
    ErrorClient::builder(collector.url(), collector.api_key()).project("shop")
}

#[test]
fn before_send_changes_or_drops_a_report_and_the_drop_is_counted() {
    let collector = Collector::start();
    let client = errors(&collector)
        .before_send(|mut event: ErrorEvent| {
            if event.exception_type == "ParseFloatError" {
                return None;
            }
            event.message = event.message.replace("4111-1111", "<card>");
            if let Some(extra) = &mut event.context.extra {
                extra["scrubbed"] = true.into();
            }
            Some(event)
        })
        .build()
        .unwrap();
    let context = RequestContext::new().extra(json!({"order": 7}));
    client.report_error_sync("card 4111-1111 declined", Some(context));
    client.report_error_sync(&"x".parse::<f64>().unwrap_err(), None);
    assert_eq!(client.flush(WAIT), 0);

    let stored = collector.errors();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].body["message"], "card <card> declined");
    assert_eq!(
        stored[0].body["extra"],
        json!({"order": 7, "scrubbed": true})
    );
    let stats = client.stats();
    assert_eq!((stats.recorded, stats.sent, stats.filtered), (1, 1, 1));
}

#[test]
fn release_and_server_name_ride_in_extra() {
    let collector = Collector::start();
    let client = errors(&collector)
        .release("1.4.2")
        .server_name("web-3")
        .build()
        .unwrap();
    client.report_error_sync("cache miss storm", None);
    let stored = collector.errors();
    assert_eq!(
        stored[0].body["extra"],
        json!({"release": "1.4.2", "server_name": "web-3"})
    );
}

#[test]
fn a_sample_rate_of_zero_sends_nothing_and_counts_it() {
    let collector = Collector::start();
    let client = errors(&collector).sample_rate(0.0).build().unwrap();
    for _ in 0..20 {
        client.report_error_sync("noisy", None);
    }
    assert_eq!(client.flush(WAIT), 0);
    assert!(collector.requests().is_empty());
    assert_eq!(client.stats().filtered, 20);
    assert!(errors(&collector).sample_rate(1.5).build().is_err());
}

#[test]
fn global_labels_join_every_point_and_a_points_own_label_wins() {
    let collector = Collector::start();
    let metrics = MetricsClient::builder(collector.url(), collector.api_key())
        .labels([("service", "checkout"), ("region", "eu")])
        .build()
        .unwrap();
    metrics.counter("orders_total", &[("plan", "pro")]);
    metrics.counter("orders_total", &[("region", "us")]);
    let refunds = metrics.register_counter("refunds_total", &[]).unwrap();
    refunds.increment();
    metrics.flush();
    collector.assert_point(
        "orders_total",
        &[("plan", "pro"), ("service", "checkout"), ("region", "eu")],
    );
    collector.assert_point("orders_total", &[("region", "us"), ("service", "checkout")]);
    collector.assert_point(
        "refunds_total",
        &[("service", "checkout"), ("region", "eu")],
    );
    collector.assert_within_rules();
    let bad = MetricsClient::builder(collector.url(), collector.api_key())
        .labels([("", "empty key")])
        .build();
    assert!(bad.is_err());
}

#[test]
fn disabled_clients_send_nothing_at_all() {
    let collector = Collector::start();
    let client = errors(&collector).enabled(false).build().unwrap();
    let metrics = MetricsClient::builder(collector.url(), collector.api_key())
        .enabled(false)
        .build()
        .unwrap();
    metrics.start();
    client.report_error_sync("ignored", None);
    metrics.counter("ignored_total", &[]);
    metrics.register_gauge("ignored", &[]).unwrap().record(1.0);
    metrics.flush();
    assert_eq!(client.flush(WAIT), 0);
    assert!(collector.requests().is_empty());
    assert_eq!(
        (client.stats(), metrics.stats()),
        (Default::default(), Default::default())
    );
}
