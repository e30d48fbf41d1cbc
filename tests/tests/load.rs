//! No loss under load: threads recording at full speed while others flush,
//! against the local collector, and every point accounted for.

use std::collections::HashMap;
use std::time::Duration;

use monlight_std::MetricsClient;
use monlight_tests::{Collector, CollectorConfig};

const THREADS: usize = 4;
const POINTS: usize = 100_000;

/// A collector that takes this many batches without a 429.
fn collector() -> Collector {
    Collector::with_config(CollectorConfig {
        metrics_rate_limit: 10_000,
        ..CollectorConfig::default()
    })
}

/// Records `POINTS` points per thread (value k % 10 on series
/// `thread=<n>`), while another thread calls `flush()` every few
/// milliseconds; returns the attempts per series' expected sum.
fn hammer(metrics: &MetricsClient) -> f64 {
    std::thread::scope(|s| {
        let flusher = s.spawn(|| {
            for _ in 0..20 {
                metrics.flush();
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        for thread in 0..THREADS {
            s.spawn(move || {
                let label = thread.to_string();
                for k in 0..POINTS {
                    metrics.counter_by("load_total", &[("thread", &label)], (k % 10) as f64);
                }
            });
        }
        flusher.join().unwrap();
    });
    (POINTS / 10 * 45) as f64
}

/// Sum of stored values per `thread` label.
fn sums(collector: &Collector) -> HashMap<String, f64> {
    let mut sums = HashMap::new();
    for item in collector.metrics() {
        let thread = item["labels"]["thread"].as_str().unwrap().to_owned();
        *sums.entry(thread).or_insert(0.0) += item["value"].as_f64().unwrap();
    }
    sums
}

#[test]
fn four_threads_lose_nothing_with_room_for_everything() {
    let collector = collector();
    let metrics = MetricsClient::builder(collector.url(), collector.api_key())
        .buffer_bytes(64 << 20)
        .build()
        .unwrap();
    metrics.start();
    let expected = hammer(&metrics);
    metrics.shutdown();
    let stats = metrics.stats();
    let total = (THREADS * POINTS) as u64;
    assert_eq!(
        (stats.recorded, stats.sent, stats.dropped()),
        (total, total, 0)
    );
    let sums = sums(&collector);
    assert_eq!(sums.len(), THREADS);
    for (thread, sum) in sums {
        assert_eq!(sum, expected, "series thread={thread}");
    }
    assert!(collector.violations().is_empty());
}

#[test]
fn a_small_buffer_drops_only_what_it_counts() {
    let collector = collector();
    let metrics = MetricsClient::builder(collector.url(), collector.api_key())
        .buffer_bytes(256 << 10)
        .build()
        .unwrap();
    metrics.start();
    hammer(&metrics);
    metrics.shutdown();
    let stats = metrics.stats();
    let attempts = (THREADS * POINTS) as u64;
    assert!(stats.dropped_full > 0, "the load exceeds the buffer");
    assert_eq!(stats.recorded + stats.dropped_full, attempts);
    assert_eq!(
        stats.sent, stats.recorded,
        "everything recorded was delivered"
    );
    assert_eq!(collector.metrics().len() as u64, stats.sent);
}
