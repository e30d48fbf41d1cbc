//! Batches respect every limit and carry each point exactly once.

use monlight_core::limits::{MAX_BATCH_ITEMS, MAX_METRICS_BODY};
use monlight_core::{BatchLimits, Metric, MetricBuffer, encode_batch};
use proptest::prelude::*;
use serde_json::Value;

fn boxed_buffer(bytes: usize) -> MetricBuffer<Box<[u8]>> {
    MetricBuffer::with_storage(vec![0u8; bytes].into_boxed_slice())
}

/// Drains the buffer into parsed batches.
fn drain(
    buffer: &mut MetricBuffer<Box<[u8]>>,
    project: Option<&str>,
    out: &mut [u8],
) -> Vec<Vec<Value>> {
    let mut batches = Vec::new();
    while let Some(batch) = encode_batch(buffer, project, BatchLimits::default(), out) {
        assert!(batch.bytes <= MAX_METRICS_BODY);
        assert!(batch.points <= MAX_BATCH_ITEMS);
        let items: Vec<Value> = serde_json::from_slice(&out[..batch.bytes]).expect("valid JSON");
        assert_eq!(items.len(), batch.points);
        batches.push(items);
    }
    batches
}

#[test]
fn points_2500_split_into_3_batches_each_point_once() {
    let mut buffer = boxed_buffer(1 << 20);
    for i in 0..2500 {
        let id = i.to_string();
        let labels = [("job", id.as_str()), ("queue", "default")];
        buffer
            .record(&Metric::counter("jobs_total", &labels, 1.0).at(1_700_000_000))
            .unwrap();
    }
    let mut out = vec![0u8; MAX_METRICS_BODY];
    let batches = drain(&mut buffer, Some("shop"), &mut out);
    assert_eq!(
        batches.iter().map(Vec::len).collect::<Vec<_>>(),
        [1000, 1000, 500]
    );
    let ids: Vec<u64> = batches
        .iter()
        .flatten()
        .map(|item| item["labels"]["job"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        ids,
        (0..2500).collect::<Vec<_>>(),
        "every point once, in order"
    );
    let first = &batches[0][0];
    assert_eq!(first["timestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(first["project"], "shop");
    assert_eq!(first["type"], "counter");
    assert!(buffer.is_empty());
}

#[test]
fn byte_limit_splits_big_points() {
    // 3000 points of ~1.4 KB: 1000 of them would be ~1.4 MB, over 512 KiB.
    let mut buffer = boxed_buffer(8 << 20);
    let long = "v".repeat(200);
    let labels: Vec<(String, String)> = (0..6).map(|i| (format!("key{i}"), long.clone())).collect();
    let label_refs: Vec<(&str, &str)> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for i in 0..3000 {
        buffer
            .record(&Metric::histogram(
                "payload_bytes",
                &label_refs,
                f64::from(i),
            ))
            .unwrap();
    }
    let mut out = vec![0u8; MAX_METRICS_BODY];
    let batches = drain(&mut buffer, None, &mut out);
    assert!(batches.len() > 3, "{} batches", batches.len());
    assert!(
        batches.iter().all(|b| b.len() < MAX_BATCH_ITEMS),
        "split by bytes, not items"
    );
    let values: Vec<f64> = batches
        .iter()
        .flatten()
        .map(|v| v["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, (0..3000).map(f64::from).collect::<Vec<_>>());
}

#[test]
fn small_output_buffer_makes_small_batches_and_drops_only_oversize() {
    let mut buffer = boxed_buffer(64 << 10);
    buffer.record(&Metric::gauge("a", &[], 1.0)).unwrap();
    let huge = "x".repeat(200);
    buffer
        .record(&Metric::gauge("b", &[("k", &huge)], 2.0))
        .unwrap(); // does not fit 128 bytes
    buffer.record(&Metric::gauge("c", &[], 3.0)).unwrap();
    let mut out = [0u8; 128];
    let mut names = Vec::new();
    while let Some(batch) = encode_batch(&mut buffer, None, BatchLimits::default(), &mut out) {
        let items: Vec<Value> = serde_json::from_slice(&out[..batch.bytes]).unwrap();
        names.extend(items.iter().map(|i| i["name"].as_str().unwrap().to_owned()));
    }
    assert_eq!(names, ["a", "c"]);
    assert_eq!(buffer.stats().dropped_oversize, 1);
}

#[test]
fn item_limit_is_configurable_below_the_servers() {
    let mut buffer = boxed_buffer(4096);
    for _ in 0..10 {
        buffer.record(&Metric::counter("c", &[], 1.0)).unwrap();
    }
    let mut out = [0u8; 4096];
    let limits = BatchLimits {
        max_items: 4,
        ..BatchLimits::default()
    };
    let sizes: Vec<usize> =
        std::iter::from_fn(|| encode_batch(&mut buffer, None, limits, &mut out).map(|b| b.points))
            .collect();
    assert_eq!(sizes, [4, 4, 2]);
}

fn arb_text() -> impl Strategy<Value = String> {
    // Quotes, backslashes, control characters, non-ASCII and emoji.
    proptest::collection::vec(
        prop_oneof![
            Just('"'),
            Just('\\'),
            Just('\n'),
            Just('\u{0}'),
            Just('\u{1f}'),
            Just('\u{7f}'),
            Just('é'),
            Just('😀'),
            Just('/'),
            proptest::char::any(),
            proptest::char::range('a', 'z'),
        ],
        0..40,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

#[derive(Debug, Clone)]
struct Input {
    kind: u8,
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
    timestamp: Option<u64>,
}

fn arb_input() -> impl Strategy<Value = Input> {
    (
        0u8..3,
        arb_text(),
        proptest::collection::vec((arb_text(), arb_text()), 0..5),
        prop_oneof![
            any::<f64>(),
            -1e6f64..1e6,
            Just(f64::NAN),
            Just(f64::INFINITY)
        ],
        // Any second, or one of two (neighbours then share theirs, and
        // an item's tail is copied from the one before).
        prop_oneof![
            proptest::option::of(0u64..=300_000_000_000),
            proptest::option::of(1_700_000_000u64..1_700_000_002)
        ],
    )
        .prop_map(|(kind, name, labels, value, timestamp)| Input {
            kind,
            name,
            labels,
            value,
            timestamp,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// serde_json is the oracle: whatever the buffer accepts comes back as
    /// the same values, labels sorted, within every limit.
    #[test]
    fn accepted_points_round_trip(inputs in proptest::collection::vec(arb_input(), 1..60), out_len in 64usize..4096) {
        let mut buffer = boxed_buffer(1 << 16);
        let mut accepted = Vec::new();
        for input in &inputs {
            let labels: Vec<(&str, &str)> = input.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let kind = [monlight_core::MetricKind::Counter, monlight_core::MetricKind::Histogram, monlight_core::MetricKind::Gauge][input.kind as usize];
            let mut m = Metric::new(kind, &input.name, &labels, input.value);
            m.timestamp = input.timestamp;
            match buffer.record(&m) {
                Ok(()) => accepted.push(input.clone()),
                Err(_) => prop_assert!(m.validate().is_err() || m.record_len() > buffer.capacity_bytes() - buffer.used_bytes()),
            }
        }
        let mut out = vec![0u8; out_len];
        let mut got = Vec::new();
        while let Some(batch) = encode_batch(&mut buffer, Some("p\"roj"), BatchLimits::default(), &mut out) {
            prop_assert!(batch.bytes <= out_len);
            let items: Vec<Value> = serde_json::from_slice(&out[..batch.bytes]).expect("valid JSON");
            got.extend(items);
        }
        let oversize = buffer.stats().dropped_oversize as usize;
        prop_assert_eq!(got.len() + oversize, accepted.len());
        // Items come in recording order; oversize points are skipped (so an
        // item is matched by name and value, not by position alone).
        let mut expected = accepted.iter();
        for item in &got {
            let input = expected
                .find(|input| item["name"].as_str() == Some(input.name.as_str()) && item["value"].as_f64() == Some(input.value))
                .expect("each item matches an accepted point, in order");
            prop_assert_eq!(item["name"].as_str(), Some(input.name.as_str()));
            prop_assert_eq!(item["value"].as_f64(), Some(input.value));
            prop_assert_eq!(item["project"].as_str(), Some("p\"roj"));
            let mut labels = input.labels.clone();
            labels.sort();
            match item.get("labels") {
                None => prop_assert!(labels.is_empty()),
                Some(Value::Object(map)) => {
                    let got_labels: Vec<(String, String)> = map.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())).collect();
                    prop_assert_eq!(got_labels, labels);
                }
                Some(other) => prop_assert!(false, "labels not an object: {other}"),
            }
            // A minute's last second is sent as the next minute's first.
            let sent_second = input.timestamp.map(|t| t + u64::from(t % 60 == 59));
            match sent_second.and_then(monlight_core::UtcTimestamp::from_unix) {
                Some(ts) => prop_assert_eq!(item["timestamp"].as_str(), Some(ts.as_str())),
                None => prop_assert!(item.get("timestamp").is_none()),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A point written from its series' encoded JSON is byte for byte the
    /// point the buffer writes (escaping, label order, value, timestamp,
    /// project), so either path sends the same item.
    #[test]
    fn series_points_equal_buffered_points(input in arb_input()) {
        let labels: Vec<(&str, &str)> = input.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let kind = [monlight_core::MetricKind::Counter, monlight_core::MetricKind::Histogram, monlight_core::MetricKind::Gauge][input.kind as usize];
        let mut m = Metric::new(kind, &input.name, &labels, input.value);
        m.timestamp = input.timestamp;
        let mut buffer = boxed_buffer(1 << 16);
        if buffer.record(&m).is_err() {
            return Ok(()); // invalid: never encoded as a series either
        }
        let mut expected = vec![0u8; 1 << 16];
        let batch = encode_batch(&mut buffer, Some("shop"), BatchLimits::default(), &mut expected).unwrap();
        let mut series = vec![0u8; 6 * m.record_len()];
        let shape = monlight_core::encode_series(&m, &mut series).unwrap();
        let mut out = vec![0u8; 1 << 16];
        let mut writer = monlight_core::BatchWriter::new(&mut out, BatchLimits::default(), Some("shop"));
        prop_assert_eq!(
            writer.push_series_point(&series, shape, m.value, m.timestamp),
            monlight_core::Pushed::Written
        );
        let got = writer.finish().unwrap();
        prop_assert_eq!(&out[..got.bytes], &expected[..batch.bytes]);
    }
}
