//! `monlight_std::init` for programs that are not axum services: its guard
//! loses nothing when dropped at the end of `main`. Its own test binary:
//! `init` installs the process-wide panic hook.

use std::time::Duration;

use monlight_std::{MonlightOptions, init};
use monlight_tests::{Collector, Fault};

#[test]
fn dropping_the_guard_delivers_every_report_and_point() {
    let collector = Collector::start();
    // A slow tracker: each report takes a while to be answered.
    collector.set_fault(Some(Fault::SlowAnswer(Duration::from_millis(50))));
    let monlight = init(
        MonlightOptions::new(collector.api_key())
            .error_tracker_url(collector.url())
            .metrics_collector_url(collector.url())
            .project("batch-job")
            .flush_interval(Duration::from_secs(60))
            // Five failures of one line: all of them, not one per window.
            .suppress_repeats(None),
    )
    .unwrap();
    let (errors, metrics) = (monlight.errors().unwrap(), monlight.metrics().unwrap());
    for job in 0..200 {
        metrics.counter(
            "jobs_total",
            &[("queue", if job % 2 == 0 { "a" } else { "b" })],
        );
    }
    for attempt in 0..5 {
        let failure = format!("attempt {attempt}").parse::<u32>().unwrap_err();
        // Queued, not waited for (as from async code that moves on).
        drop(errors.report_error(&failure, None));
    }
    // The end of `main`: nothing waited on the tracker or the flush thread
    // before this.
    assert!(collector.errors().len() < 5, "still on their way");
    drop(monlight);
    assert_eq!(collector.errors().len(), 5, "every report stored");
    assert_eq!(
        collector.points("jobs_total", &[]).len(),
        200,
        "every point stored"
    );
    let counted = collector.points("errors_total", &[("exception_type", "ParseIntError")]);
    assert_eq!(counted.len(), 5, "and every report counted");
    collector.assert_within_rules();
}

#[test]
fn without_urls_the_guard_holds_no_client() {
    let monlight = init(MonlightOptions::new("unused")).unwrap();
    assert!(monlight.errors().is_none() && monlight.metrics().is_none());
}

#[test]
fn options_carry_the_hooks_to_both_clients() {
    let collector = Collector::start();
    let monlight = init(
        MonlightOptions::new(collector.api_key())
            .error_tracker_url(collector.url())
            .metrics_collector_url(collector.url())
            .release("2.0.0")
            .labels([("service", "worker")])
            .before_send(|mut event| {
                event.message.push_str(" (seen)");
                Some(event)
            }),
    )
    .unwrap();
    monlight
        .errors()
        .unwrap()
        .report_error_sync("queue stalled", None);
    monlight.metrics().unwrap().gauge("queue_depth", 12.0, &[]);
    drop(monlight);
    let report = &collector.errors()[0].body;
    assert_eq!(
        (&report["message"], &report["extra"]["release"]),
        (&"queue stalled (seen)".into(), &"2.0.0".into())
    );
    collector.assert_point("queue_depth", &[("service", "worker")]);
}
