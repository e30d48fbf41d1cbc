//! Encoding one 1000-point batch, next to `serde_json::to_vec` of the same
//! points held as owned structs (what a client that keeps `String`s and
//! a label map per point would serialise), in one run: from the buffer
//! (`encode_batch`, firmware and overflow), and from series encoded once
//! (`BatchWriter::push_series_point`, what monlight-std's flush thread does
//! with the points its recording threads staged).
//!
//! ```sh
//! cargo bench -p monlight-core --bench encode
//! ```

use std::collections::BTreeMap;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use monlight_core::limits::MAX_METRICS_BODY;
use monlight_core::{
    BatchLimits, BatchWriter, Metric, MetricBuffer, MetricKind, Pushed, SeriesJson, UtcTimestamp,
    encode_batch, encode_series,
};

const POINTS: usize = 1000;
const START: u64 = 1_764_000_000;

const ENDPOINTS: [&str; 5] = [
    "/api/users/{id}",
    "/api/orders",
    "/api/orders/{order_id}/items",
    "/health",
    "/api/search",
];
const METHODS: [&str; 3] = ["GET", "POST", "DELETE"];
const STATUSES: [&str; 4] = ["200", "201", "404", "500"];

/// The `i`th realistic point: a request counter, a latency histogram or a
/// pool gauge, with method, endpoint and status labels.
fn point<'a>(i: usize, labels: &'a [(&'static str, &'static str); 3]) -> Metric<'a> {
    let (kind, name, value) = match i % 3 {
        0 => (MetricKind::Counter, "http_requests_total", 1.0),
        1 => (
            MetricKind::Histogram,
            "http_request_duration_seconds",
            0.000_137 * (i as f64 + 1.0),
        ),
        _ => (
            MetricKind::Gauge,
            "db_pool_connections_in_use",
            (i % 17) as f64,
        ),
    };
    Metric::new(kind, name, labels, value).at(START + i as u64 / 100)
}

fn labels(i: usize) -> [(&'static str, &'static str); 3] {
    [
        ("method", METHODS[i % 3]),
        ("endpoint", ENDPOINTS[i % 5]),
        ("status", STATUSES[i % 4]),
    ]
}

/// The same point as owned data, serialised with serde_json.
#[derive(serde::Serialize)]
struct Item {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    value: f64,
    labels: BTreeMap<String, String>,
    timestamp: String,
    project: String,
}

fn encode(c: &mut Criterion) {
    let mut buffer = MetricBuffer::with_storage(vec![0u8; 1 << 20].into_boxed_slice());
    let mut items = Vec::new();
    for i in 0..POINTS {
        let labels = labels(i);
        let point = point(i, &labels);
        buffer.record(&point).unwrap();
        items.push(Item {
            name: point.name.to_owned(),
            kind: point.kind.as_str(),
            value: point.value,
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            timestamp: UtcTimestamp::from_unix(point.timestamp.unwrap())
                .unwrap()
                .as_str()
                .to_owned(),
            project: "shop".to_owned(),
        });
    }
    let mut out = vec![0u8; MAX_METRICS_BODY];
    let bytes = {
        let batch = encode_batch(
            &mut buffer.clone(),
            Some("shop"),
            BatchLimits::default(),
            &mut out,
        )
        .unwrap();
        assert_eq!(batch.points, POINTS, "one batch holds all 1000 points");
        // Same JSON values as serde_json's.
        let ours: serde_json::Value = serde_json::from_slice(&out[..batch.bytes]).unwrap();
        let theirs = serde_json::to_value(&items).unwrap();
        assert_eq!(ours, theirs);
        batch.bytes
    };

    // The same points as monlight-std stages them: each series' JSON
    // encoded once, a point its value and second.
    let series: Vec<(Vec<u8>, SeriesJson, f64, u64)> = (0..POINTS)
        .map(|i| {
            let labels = labels(i);
            let point = point(i, &labels);
            let mut json = vec![0u8; 512];
            let shape = encode_series(&point, &mut json).unwrap();
            (json, shape, point.value, point.timestamp.unwrap())
        })
        .collect();
    let write_series = |out: &mut [u8]| {
        let mut writer = BatchWriter::new(out, BatchLimits::default(), Some("shop"));
        for (json, shape, value, secs) in &series {
            let pushed = writer.push_series_point(json, *shape, *value, Some(*secs));
            assert_eq!(pushed, Pushed::Written);
        }
        writer.finish().unwrap()
    };
    let mut series_out = vec![0u8; MAX_METRICS_BODY];
    let written = write_series(&mut series_out);
    assert_eq!(
        series_out[..written.bytes],
        out[..bytes],
        "series points encode byte for byte as buffered ones"
    );

    let mut group = c.benchmark_group("encode 1000 points");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("monlight encode_batch", |b| {
        b.iter_batched_ref(
            || buffer.clone(),
            |points| encode_batch(points, Some("shop"), BatchLimits::default(), &mut out),
            BatchSize::LargeInput,
        );
    });
    group.bench_function("monlight series points (push_series_point)", |b| {
        b.iter(|| write_series(&mut series_out));
    });
    group.bench_function("serde_json::to_vec (owned structs)", |b| {
        b.iter(|| serde_json::to_vec(&items).unwrap());
    });
    group.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
