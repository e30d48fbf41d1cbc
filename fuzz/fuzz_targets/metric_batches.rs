//! Any names, labels (including too many, duplicates, empty keys), values
//! (NaN, infinities) and timestamps, recorded and encoded into output
//! buffers of any size: every batch is valid JSON within the collector's
//! limits, and every recorded point is sent or counted as oversize.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use monlight_core::limits::{MAX_BATCH_ITEMS, MAX_METRICS_BODY};
use monlight_core::{BatchLimits, Metric, MetricBuffer, MetricKind, RecordError, encode_batch};

#[derive(Arbitrary, Debug)]
struct Point {
    kind: u8,
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
    timestamp: Option<u64>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    points: Vec<Point>,
    project: Option<String>,
    out_len: u16,
    max_items: u16,
}

fuzz_target!(|input: Input| {
    let mut buffer = MetricBuffer::<[u8; 8192]>::new();
    for point in &input.points {
        let labels: Vec<(&str, &str)> = point
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let kind = match point.kind % 3 {
            0 => MetricKind::Counter,
            1 => MetricKind::Histogram,
            _ => MetricKind::Gauge,
        };
        let mut metric = Metric::new(kind, &point.name, &labels, point.value);
        metric.timestamp = point.timestamp;
        let valid = metric.validate().is_ok();
        match buffer.record(&metric) {
            Ok(()) | Err(RecordError::Full) => assert!(valid),
            Err(RecordError::Invalid(_)) => assert!(!valid),
        }
    }
    let project = input
        .project
        .as_deref()
        .filter(|p| monlight_core::validate_project(p).is_ok());
    let limits = BatchLimits {
        max_items: usize::from(input.max_items).clamp(1, MAX_BATCH_ITEMS),
        max_bytes: MAX_METRICS_BODY,
    };
    let mut out = vec![0u8; usize::from(input.out_len)];
    let buffered = buffer.len() as u64;
    let mut sent = 0u64;
    while !buffer.is_empty() {
        let before = buffer.len();
        match encode_batch(&mut buffer, project, limits, &mut out) {
            Some(batch) => {
                assert!(batch.points <= limits.max_items && batch.bytes <= out.len());
                let items: Vec<serde_json::Value> =
                    serde_json::from_slice(&out[..batch.bytes]).expect("valid JSON");
                assert_eq!(items.len(), batch.points);
                for item in &items {
                    assert!(item["name"].is_string() && item["value"].is_number());
                }
                sent += batch.points as u64;
            }
            None => assert!(buffer.len() < before, "no progress without a batch"),
        }
    }
    assert_eq!(buffered, sent + buffer.stats().dropped_oversize);
});
