//! End to end: one `flush()` of 10,000 buffered points to the local test
//! collector on 127.0.0.1 (which enforces the real server's limits), wall
//! time per flush, every point checked on arrival.
//!
//! ```sh
//! cargo bench -p monlight-tests --bench delivery
//! ```
//!
//! The reference Python client sends such a flush as one POST, which the
//! server refuses (over 1000 items): all 10,000 points are lost.
//!
//! A second group times one 1,000-point batch sent to a sink that answers
//! at once, through each route of the blocking transport.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use monlight_core::{Endpoint, Outcome, Transport};
use monlight_std::{ApiKey, BlockingHttp, MetricsClient};
use monlight_tests::Collector;

const POINTS: u32 = 10_000;

/// What the reference client does with the same points: one POST of all
/// of them. Returns the status line and how many points were stored.
fn one_post_of_everything() -> (String, usize) {
    let collector = Collector::start();
    let items: Vec<serde_json::Value> = (0..POINTS)
        .map(|i| {
            serde_json::json!({
                "name": "http_request_duration_seconds",
                "type": "histogram",
                "value": 0.0001 * f64::from(i),
                "labels": {"endpoint": "/api/orders/{order_id}", "status": "200"},
                "project": "shop",
            })
        })
        .collect();
    let body = serde_json::to_vec(&items).unwrap();
    let mut stream = TcpStream::connect(collector.addr()).unwrap();
    let head = format!(
        "POST /api/metrics HTTP/1.1\r\nHost: localhost\r\nX-API-Key: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        collector.api_key(),
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let _ = stream.write_all(&body);
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer.lines().next().unwrap_or_default().to_owned();
    (status, collector.metrics().len())
}

fn flush_10k(c: &mut Criterion) {
    let (status, stored) = one_post_of_everything();
    println!("reference behaviour, one POST of {POINTS} points: {status:?}, {stored} stored");
    assert_eq!(stored, 0);
    let mut group = c.benchmark_group("deliver 10,000 points");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("monlight flush() to the local collector", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // A fresh collector each time: it keeps what it receives.
                let collector = Collector::start();
                // Never started, so nothing is sent before `flush()`: the
                // thread's ring takes 4,096 points, the buffer the rest.
                let metrics = MetricsClient::builder(collector.url(), collector.api_key())
                    .project("shop")
                    .build()
                    .unwrap();
                for i in 0..POINTS {
                    let status = if i % 10 == 0 { "500" } else { "200" };
                    metrics.histogram(
                        "http_request_duration_seconds",
                        0.0001 * f64::from(i),
                        &[("endpoint", "/api/orders/{order_id}"), ("status", status)],
                    );
                }
                let start = Instant::now();
                let report = metrics.flush().expect("flush finished");
                total += start.elapsed();
                assert_eq!((report.sent, report.dropped), (POINTS, 0), "{report:?}");
                assert_eq!(report.batches, POINTS.div_ceil(1000));
                let stored = collector.metrics();
                assert_eq!(stored.len(), POINTS as usize, "all points arrived");
                let sum: f64 = stored.iter().map(|m| m["value"].as_f64().unwrap()).sum();
                let expected: f64 = (0..POINTS).map(|i| 0.0001 * f64::from(i)).sum();
                assert!((sum - expected).abs() < 1e-6, "{sum} vs {expected}");
            }
            total
        });
    });
    group.finish();
}

/// One batch of 1,000 points as the flush thread sends it, to a sink that
/// answers at once: the CPU a batch costs the sender, by route.
fn send_one_batch(c: &mut Criterion) {
    let url = monlight_tests::sink();
    let key = ApiKey::new("bench").unwrap();
    let points: Vec<serde_json::Value> = (0..1000)
        .map(|i| {
            serde_json::json!({
                "name": "http_request_duration_seconds",
                "type": "histogram",
                "value": 0.0001 * f64::from(i),
                "labels": {"endpoint": "/users/{id}", "method": "GET", "status": "200"},
                "timestamp": "2026-11-26T06:00:00Z",
                "project": "shop",
            })
        })
        .collect();
    let batch = serde_json::to_vec(&points).unwrap();
    let timeout = Duration::from_secs(5);
    let mut group = c.benchmark_group(format!(
        "send a 1,000-point batch ({} KB)",
        batch.len() / 1000
    ));
    let routes = [
        (
            "plain sockets (http://)",
            BlockingHttp::new(&url, &key, timeout).unwrap(),
        ),
        (
            "reqwest (https://, proxies)",
            BlockingHttp::through_reqwest(&url, &key, timeout).unwrap(),
        ),
    ];
    for (name, mut transport) in routes {
        group.bench_function(name, |b| {
            b.iter(|| {
                let outcome = transport.send(Endpoint::Metrics, &batch);
                assert_eq!(outcome, Outcome::Delivered { status: 202 });
            })
        });
    }
    group.finish();
}

criterion_group!(benches, flush_10k, send_one_batch);
criterion_main!(benches);
