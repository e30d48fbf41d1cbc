//! How the recording cost grows: time per point against the number of
//! distinct series and of labels, total throughput and memory against
//! recording threads, and memory against buffered points while the server
//! is down. One run each; a table per question.
//!
//! ```sh
//! cargo bench -p monlight-tests --bench growth
//! ```
//!
//! Points go to a local sink that answers 202 (`monlight_tests::sink`),
//! flushed between timed chunks, so the buffer never fills and each timed
//! call takes the path users get. Memory is the process's resident set
//! (`VmRSS`), to the page: what the operating system sees the SDK hold.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use monlight_std::MetricsClient;

const NAME: &str = "http_requests_total";
/// Points per timed chunk; the client is flushed between chunks.
const CHUNK: usize = 50_000;

/// A client whose thread rings hold a timed chunk (as the recording
/// bench's do): the points take the staging path. With the default ring
/// (64 KiB), recording flat out outruns the flush thread's deliveries and
/// the points go through the shared buffer's lock instead (see
/// BENCHMARKS.md).
fn client(url: &str) -> MetricsClient {
    let client = MetricsClient::builder(url, "bench")
        .flush_interval(Duration::from_secs(3600))
        .buffer_bytes(64 << 20)
        .staging_bytes_per_thread(4 << 20)
        .build()
        .expect("a client");
    client.start();
    client
}

/// The resident set in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|kib| kib.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Nanoseconds per point of `chunks` chunks of `record(i)` calls, the
/// client flushed (untimed) after each.
fn per_point(client: &MetricsClient, chunks: usize, mut record: impl FnMut(usize)) -> f64 {
    let mut timed = Duration::ZERO;
    let mut i = 0;
    for _ in 0..chunks {
        let start = Instant::now();
        for _ in 0..CHUNK {
            record(i);
            i += 1;
        }
        timed += start.elapsed();
        client.flush();
    }
    timed.as_nanos() as f64 / (chunks * CHUNK) as f64
}

fn by_series(url: &str) {
    println!("time per point against distinct series (labels: method, id; round robin)");
    println!("  {:>8} {:>10}", "series", "ns/point");
    for series in [10, 30, 40, 1_000, 10_000, 20_000] {
        let client = client(url);
        let ids: Vec<String> = (0..series).map(|id| id.to_string()).collect();
        let record =
            |i: usize| client.counter(NAME, &[("method", "GET"), ("id", &ids[i % series])]);
        // Every series seen once before timing: its first point registers it.
        per_point(&client, series.div_ceil(CHUNK), record);
        let ns = per_point(&client, 8, record);
        println!("  {series:>8} {ns:>10.1}");
        client.shutdown();
    }
}

fn by_labels(url: &str) {
    println!("time per point against labels per point (one series)");
    println!("  {:>8} {:>10}", "labels", "ns/point");
    let all: Vec<(String, String)> = (0..8)
        .map(|i| (format!("key{i}"), format!("value{i}")))
        .collect();
    for count in [0, 2, 8] {
        let client = client(url);
        let labels: Vec<(&str, &str)> = all[..count]
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let record = |_| client.counter(NAME, &labels);
        per_point(&client, 1, record);
        let ns = per_point(&client, 8, record);
        println!("  {count:>8} {ns:>10.1}");
        client.shutdown();
    }
}

fn by_threads(url: &str) {
    const PER_THREAD: usize = 200_000;
    println!(
        "total throughput and memory held against recording threads ({PER_THREAD} points each, then one flush)"
    );
    println!("  {:>8} {:>14} {:>14}", "threads", "Mpoints/s", "held MiB");
    for threads in [1, 2, 8, 64] {
        let client = client(url);
        let before = rss_kib();
        let start = Arc::new(Barrier::new(threads + 1));
        let done = Arc::new(Barrier::new(threads + 1));
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (client, start, done) = (client.clone(), start.clone(), done.clone());
                std::thread::spawn(move || {
                    // The thread's ring is set up before the clock starts.
                    client.counter(NAME, &[("method", "GET"), ("status", "200")]);
                    start.wait();
                    for _ in 0..PER_THREAD {
                        client.counter(NAME, &[("method", "GET"), ("status", "200")]);
                    }
                    done.wait();
                    // Held until the count below.
                    std::thread::park();
                })
            })
            .collect();
        start.wait();
        let clock = Instant::now();
        done.wait();
        let elapsed = clock.elapsed();
        let held = rss_kib().saturating_sub(before);
        let rate = (threads * PER_THREAD) as f64 / elapsed.as_secs_f64() / 1e6;
        println!("  {threads:>8} {rate:>14.1} {:>14.1}", held as f64 / 1024.0);
        for worker in &workers {
            worker.thread().unpark();
        }
        for worker in workers {
            let _ = worker.join();
        }
        client.shutdown();
    }
}

fn while_down() {
    println!("memory held against points recorded while the server is down (default buffer)");
    println!(
        "  {:>10} {:>10} {:>12} {:>12}",
        "recorded", "buffered", "dropped full", "held MiB"
    );
    // Nothing listens on port 9: flushes fail and the points wait.
    let client = MetricsClient::builder("http://127.0.0.1:9", "bench")
        .flush_interval(Duration::from_secs(3600))
        .build()
        .expect("a client");
    client.start();
    let before = rss_kib();
    let mut recorded = 0u64;
    for target in [10_000u64, 100_000, 1_000_000, 4_000_000] {
        while recorded < target {
            client.counter(NAME, &[("method", "GET"), ("status", "200")]);
            recorded += 1;
        }
        client.flush();
        let stats = client.stats();
        let held = rss_kib().saturating_sub(before) as f64 / 1024.0;
        println!(
            "  {recorded:>10} {:>10} {:>12} {held:>12.1}",
            client.buffered(),
            stats.dropped_full
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter or `--test` runs nothing
    // long (`cargo test --benches` only checks that it starts).
    if std::env::args().any(|arg| arg == "--test") {
        return;
    }
    // First, while the process holds little: its growth is the buffer's.
    while_down();
    let url = monlight_tests::sink();
    by_series(&url);
    by_labels(&url);
    by_threads(&url);
}
