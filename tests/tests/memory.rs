//! Memory under pressure, counted by dhat's allocator: recording a seen
//! series (per call or through a registered handle) allocates nothing,
//! a collector that is down cannot make the process grow however much is
//! recorded (nor make the flush thread spin), and error reports on their way hold their own size.

use std::time::Duration;

use monlight_std::{ErrorClient, MetricsClient};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

#[test]
fn recording_allocates_nothing_and_memory_stays_flat_while_the_collector_is_down() {
    let _profiler = dhat::Profiler::builder().testing().build();

    // Recording: no heap allocation per call once the client exists.
    let metrics = MetricsClient::new(&dead_url(), "key").unwrap();
    let labels = [
        ("method", "GET"),
        ("endpoint", "/users/{id}"),
        ("status", "200"),
    ];
    // Each series seen once (each thread encodes a series once).
    metrics.counter("http_requests_total", &labels);
    metrics.histogram("http_request_duration_seconds", 0.0, &labels);
    // The process's clock thread (started with the first client) has
    // allocated what it needs once running.
    std::thread::sleep(Duration::from_millis(100));
    let requests = metrics
        .register_counter("http_requests_total", &labels)
        .unwrap();
    let before = dhat::HeapStats::get();
    for i in 0..10_000 {
        metrics.counter("http_requests_total", &labels);
        requests.increment();
        metrics.histogram(
            "http_request_duration_seconds",
            f64::from(i) * 1e-4,
            &labels,
        );
    }
    let after = dhat::HeapStats::get();
    assert_eq!(
        after.total_blocks, before.total_blocks,
        "allocations while recording"
    );

    // A dead collector, a 64 KiB buffer, a million points and a flush every
    // 50 ms that fails: the live heap does not grow with what is recorded.
    let metrics = MetricsClient::builder(dead_url(), "key")
        .buffer_bytes(64 << 10)
        .flush_interval(Duration::from_millis(50))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    metrics.start();
    std::thread::sleep(Duration::from_millis(200)); // first failed flushes done
    let baseline = dhat::HeapStats::get().curr_bytes;
    for i in 0..1_000_000u32 {
        metrics.gauge("queue_depth", f64::from(i % 100), &[("queue", "default")]);
    }
    std::thread::sleep(Duration::from_millis(200));
    let grown = dhat::HeapStats::get().curr_bytes.saturating_sub(baseline);
    let stats = metrics.stats();
    // Far beyond what the client holds (a 64 KiB buffer and a 64 KiB ring,
    // under 4,000 points): the rest is refused as the buffer is full, and
    // counted; what it holds is kept for the collector's return.
    assert_eq!(stats.recorded + stats.dropped_full, 1_000_000);
    assert!(
        stats.dropped_full > 990_000,
        "far beyond capacity: {stats:?}"
    );
    assert_eq!(stats.dropped_in_flight(), 0, "{stats:?}");
    assert!(grown < 256 << 10, "the heap grew by {grown} bytes");
    // Failed flushes are not repeated at once because the buffer is full:
    // a few per 50 ms interval at most.
    assert!(stats.batches < 100, "{stats:?}");
    // Shutdown gives up what never reached the collector, counted.
    metrics.shutdown();
    let stats = metrics.stats();
    assert_eq!(stats.sent, 0);
    assert!(stats.recorded > 0);
    assert_eq!(stats.recorded, stats.dropped_transport, "{stats:?}");

    // Error reports waiting to be sent hold their own size, not the 256 KiB
    // a report may take (64 of them once held 16 MiB). The first report
    // starts the client's sender thread and its one encode buffer.
    let errors = ErrorClient::new(&dead_url(), "key").unwrap();
    errors.report_error_sync("starts the sender", None);
    let before = dhat::HeapStats::get().curr_bytes;
    let waiting: Vec<_> = (0..64)
        .map(|i| errors.report_error(format!("report {i}").as_str(), None))
        .collect();
    let held = dhat::HeapStats::get().curr_bytes.saturating_sub(before);
    assert!(held < 64 * 2048, "64 waiting reports hold {held} bytes");
    assert_eq!(errors.stats().dropped(), 0, "they wait for the tracker");
    drop(waiting);
}
