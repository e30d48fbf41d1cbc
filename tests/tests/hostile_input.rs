//! Hostile input through the std clients to the collector: odd text
//! arrives intact, impossible values are refused and counted, huge text is
//! cut to the limits. Nothing panics, nothing is refused by the server.

use monlight_core::limits::MAX_ERROR_BODY;
use monlight_std::{ErrorClient, MetricsClient};
use monlight_tests::Collector;

const ODD: &str = "q\"uote \\back\\slash \n\t\r\u{0}\u{1f} é 😀 </script> {\"json\": 1}";

#[test]
fn odd_text_arrives_intact_and_impossible_points_are_counted() {
    let collector = Collector::start();
    let metrics = MetricsClient::new(&collector.url(), collector.api_key()).unwrap();
    metrics.gauge(ODD, 1.5, &[(ODD, ODD), ("k", "😀")]);
    let huge = "n".repeat(10 << 20);
    let many: Vec<(String, String)> = (0..17).map(|i| (format!("k{i}"), "v".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    metrics.counter(&huge, &[]); // a 10 MB name
    metrics.counter("labels", &many); // 17 labels
    metrics.gauge("nan", f64::NAN, &[]);
    metrics.gauge("inf", f64::INFINITY, &[]);
    metrics.counter("dup", &[("k", "a"), ("k", "b")]);
    metrics.counter("", &[]);
    metrics.flush().unwrap();
    let stats = metrics.stats();
    assert_eq!(
        (stats.recorded, stats.dropped_invalid, stats.sent),
        (1, 6, 1)
    );
    let stored = collector.metrics();
    assert_eq!(stored[0]["name"], ODD);
    assert_eq!(stored[0]["labels"][ODD], ODD);
    assert_eq!(stored[0]["labels"]["k"], "😀");
    assert!(collector.violations().is_empty());
}

#[test]
fn ten_megabyte_messages_are_cut_to_the_limit() {
    let collector = Collector::start();
    let errors = ErrorClient::new(&collector.url(), collector.api_key()).unwrap();
    let message = format!("{ODD}{}", "é".repeat(5 << 20)); // 10 MB
    errors.report_error_sync(message.as_str(), None);
    let stored = collector.errors();
    assert_eq!(stored.len(), 1, "stored, not refused");
    let request = &collector.requests()[0];
    assert!(request.body.len() <= MAX_ERROR_BODY);
    let text = stored[0].body["message"].as_str().unwrap();
    assert!(text.starts_with(ODD) && text.ends_with("[truncated by monlight]"));
}
