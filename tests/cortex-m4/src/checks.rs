//! The checks, in `core` only: run on the Cortex-M4F under QEMU (32-bit,
//! f64 in software) and on the host, where the expected texts were taken
//! from serde_json (numbers differ on the device: see `numbers`).

use core::cell::RefCell;

use monlight_core::http::{RequestHead, parse_response_head};
use monlight_core::{
    BatchLimits, Endpoint, ErrorReport, Flusher, HeaderFilter, Metric, MetricBuffer, Now, Outcome,
    RecordError, RequestContext, Transport, UtcTimestamp, encode_batch, encode_error_report,
};

/// Where a check failed.
pub(crate) struct Failure {
    pub(crate) line: u32,
    pub(crate) what: &'static str,
}

type Check = fn() -> Result<(), Failure>;

macro_rules! check {
    ($cond:expr) => {
        if !$cond {
            return Err(Failure {
                line: line!(),
                what: stringify!($cond),
            });
        }
    };
}

/// Every check with its name.
pub(crate) const CHECKS: &[(&str, Check)] = &[
    ("buffer_ram_is_storage_plus_104_bytes", buffer_ram),
    (
        "buffer_records_and_reads_back_sorted_labels",
        buffer_round_trip,
    ),
    ("buffer_refuses_when_full_and_counts", buffer_full),
    ("numbers_are_exact_and_parse_back", numbers),
    ("a_batch_item_is_byte_exact", batch_item),
    ("strings_are_escaped", escaping),
    ("timestamps_cross_2038_and_leap_days", timestamps),
    (
        "flush_splits_2500_points_into_batches_of_1000",
        flush_batches,
    ),
    ("a_429_pauses_the_flusher", flush_pause),
    ("error_reports_are_cut_to_fit", error_report),
    ("http_head_and_retry_after", http),
];

fn text(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or("<not utf-8>")
}

fn buffer_ram() -> Result<(), Failure> {
    let overhead = MetricBuffer::<[u8; 4096]>::RAM_BYTES - 4096;
    #[cfg(target_pointer_width = "32")]
    check!(overhead == 112);
    check!(overhead <= 160);
    Ok(())
}

fn buffer_round_trip() -> Result<(), Failure> {
    let mut buffer = MetricBuffer::<[u8; 512]>::new();
    let labels = [
        ("status", "200"),
        ("method", "GET"),
        ("endpoint", "/users/{id}"),
    ];
    check!(
        buffer
            .record(&Metric::counter("http_requests_total", &labels, 1.0).at(7))
            .is_ok()
    );
    let point = buffer.iter().next();
    check!(point.is_some());
    let Some(point) = point else { return Ok(()) };
    check!(point.name == "http_requests_total" && point.timestamp == Some(7));
    let mut keys = point.labels.iter().map(|(k, _)| k);
    check!(keys.next() == Some("endpoint") && keys.next() == Some("method"));
    Ok(())
}

fn buffer_full() -> Result<(), Failure> {
    let mut buffer = MetricBuffer::<[u8; 256]>::new();
    let mut refused = 0;
    for _ in 0..20 {
        if let Err(RecordError::Full) = buffer.record(&Metric::gauge("g", &[("k", "v")], 1.0)) {
            refused += 1;
        }
    }
    let stats = buffer.stats();
    check!(refused > 0 && stats.dropped_full == refused);
    check!(stats.recorded + stats.dropped_full == 20);
    Ok(())
}

/// Encodes one unlabelled gauge of `value` and returns the value's text.
fn encoded_value(value: f64, out: &mut [u8]) -> Option<&str> {
    let buffer = RefCell::new(MetricBuffer::<[u8; 128]>::new());
    buffer
        .borrow_mut()
        .record(&Metric::gauge("v", &[], value))
        .ok()?;
    let batch = encode_batch(&mut buffer.borrow_mut(), None, BatchLimits::default(), out)?;
    let json = text(&out[..batch.bytes]);
    let start = json.find("\"value\":")? + 8;
    let len = json[start..].find('}')?;
    Some(&json[start..start + len])
}

/// Values as written: on the host ryu's shortest digits (as serde_json
/// writes them); on the device (bare metal) 17 digits exactly rounded, by
/// monlight-core's own formatter, a third of ryu's code. Either way every
/// value parses back to the same `f64`: checked here over 2,000 bit
/// patterns with core's parser.
fn numbers() -> Result<(), Failure> {
    let mut out = [0u8; 256];
    let cases: [(f64, &str, &str); 10] = [
        (21.5, "21.5", "21.5"),
        (1.0, "1.0", "1.0"),
        (-3.0, "-3.0", "-3.0"),
        (0.1, "0.1", "0.10000000000000001"),
        (1e-7, "1e-7", "9.9999999999999995e-8"),
        (1e21, "1e21", "1e21"),
        (-0.0, "-0.0", "-0.0"),
        (123_456_789.0, "123456789.0", "123456789.0"),
        (5e-324, "5e-324", "4.9406564584124654e-324"),
        (f64::MAX, "1.7976931348623157e308", "1.7976931348623157e308"),
    ];
    for (value, host, device) in cases {
        let expected = if cfg!(target_os = "none") {
            device
        } else {
            host
        };
        check!(encoded_value(value, &mut out) == Some(expected));
    }
    let mut bits = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..2_000 {
        bits ^= bits << 13;
        bits ^= bits >> 7;
        bits ^= bits << 17;
        let value = f64::from_bits(bits);
        if !value.is_finite() {
            continue;
        }
        let parsed = encoded_value(value, &mut out).and_then(|t| t.parse::<f64>().ok());
        check!(parsed.map(f64::to_bits) == Some(bits));
    }
    Ok(())
}

fn batch_item() -> Result<(), Failure> {
    let buffer = RefCell::new(MetricBuffer::<[u8; 256]>::new());
    let labels = [("unit", "celsius"), ("sensor", "boiler")];
    let point = Metric::gauge("temperature", &labels, 21.5).at(1_764_000_000);
    check!(buffer.borrow_mut().record(&point).is_ok());
    let mut out = [0u8; 256];
    let batch = encode_batch(
        &mut buffer.borrow_mut(),
        Some("fw"),
        BatchLimits::default(),
        &mut out,
    );
    check!(batch.is_some_and(|b| b.points == 1));
    let Some(batch) = batch else { return Ok(()) };
    check!(
        text(&out[..batch.bytes])
            == r#"[{"name":"temperature","type":"gauge","value":21.5,"labels":{"sensor":"boiler","unit":"celsius"},"timestamp":"2025-11-24T16:00:00Z","project":"fw"}]"#
    );
    Ok(())
}

fn escaping() -> Result<(), Failure> {
    let buffer = RefCell::new(MetricBuffer::<[u8; 256]>::new());
    let labels = [("path", "C:\\tmp \"q\"\n\u{1}é😀")];
    check!(
        buffer
            .borrow_mut()
            .record(&Metric::counter("c", &labels, 1.0))
            .is_ok()
    );
    let mut out = [0u8; 256];
    let batch = encode_batch(
        &mut buffer.borrow_mut(),
        None,
        BatchLimits::default(),
        &mut out,
    );
    let Some(batch) = batch else {
        check!(false);
        return Ok(());
    };
    check!(text(&out[..batch.bytes]).contains(r#""path":"C:\\tmp \"q\"\n\u0001é😀""#));
    Ok(())
}

fn timestamps() -> Result<(), Failure> {
    let cases: [(u64, &str); 5] = [
        (0, "1970-01-01T00:00:00Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (2_147_483_648, "2038-01-19T03:14:08Z"),
        (4_294_967_296, "2106-02-07T06:28:16Z"),
        (253_402_300_799, "9999-12-31T23:59:59Z"),
    ];
    for (secs, expected) in cases {
        check!(UtcTimestamp::from_unix(secs).is_some_and(|t| t.as_str() == expected));
    }
    check!(UtcTimestamp::from_unix(253_402_300_800).is_none());
    Ok(())
}

/// Accepts every batch and remembers its size and item count.
struct Counting {
    batches: u32,
    largest_items: usize,
    answer: Outcome,
}

impl Transport for Counting {
    fn send(&mut self, endpoint: Endpoint, body: &[u8]) -> Outcome {
        self.batches += 1;
        let items = body.iter().filter(|&&b| b == b'{').count();
        self.largest_items = self.largest_items.max(items);
        if endpoint != Endpoint::Metrics || body.len() > endpoint.max_body() {
            return Outcome::Rejected { status: 400 };
        }
        self.answer
    }
}

fn flush_batches() -> Result<(), Failure> {
    let buffer = RefCell::new(MetricBuffer::<[u8; 65536]>::new());
    for i in 0..2500 {
        check!(
            buffer
                .borrow_mut()
                .record(&Metric::counter("n", &[], f64::from(i)))
                .is_ok()
        );
    }
    let mut link = Counting {
        batches: 0,
        largest_items: 0,
        answer: Outcome::Delivered { status: 202 },
    };
    let mut out = [0u8; 65536];
    let report = Flusher::new(None).flush(&buffer, &mut link, &mut out, Now::monotonic(0));
    check!(report.sent == 2500 && report.batches == 3 && link.batches == 3);
    check!(link.largest_items == 1000);
    check!(buffer.borrow().is_empty() && buffer.borrow().stats().sent == 2500);
    Ok(())
}

fn flush_pause() -> Result<(), Failure> {
    let buffer = RefCell::new(MetricBuffer::<[u8; 1024]>::new());
    check!(
        buffer
            .borrow_mut()
            .record(&Metric::counter("n", &[], 1.0))
            .is_ok()
    );
    let mut link = Counting {
        batches: 0,
        largest_items: 0,
        answer: Outcome::RateLimited {
            retry_after_secs: 30,
        },
    };
    let mut out = [0u8; 1024];
    let mut flusher = Flusher::new(None);
    let first = flusher.flush(&buffer, &mut link, &mut out, Now::monotonic(1_000));
    check!(first.kept == 1 && buffer.borrow().stats().retried == 1);
    check!(
        buffer
            .borrow_mut()
            .record(&Metric::counter("n", &[], 1.0))
            .is_ok()
    );
    let during = flusher.flush(&buffer, &mut link, &mut out, Now::monotonic(30_999));
    check!(during.paused && link.batches == 1 && buffer.borrow().len() == 2);
    link.answer = Outcome::Delivered { status: 202 };
    let after = flusher.flush(&buffer, &mut link, &mut out, Now::monotonic(31_000));
    check!(after.sent == 2 && buffer.borrow().stats().dropped() == 0);
    Ok(())
}

fn error_report() -> Result<(), Failure> {
    let mut bytes = [b'x'; 1000];
    bytes[..25].copy_from_slice(b"sensor 3 did not answer; ");
    let message = text(&bytes);
    let headers = [("Authorization", "secret"), ("Accept", "*/*")];
    let report = ErrorReport {
        project: "fw",
        environment: Some("prod"),
        exception_type: "SensorTimeout",
        message,
        traceback: "at src/main.rs:42:9\nSensorTimeout: sensor 3 did not answer",
        context: RequestContext::<()> {
            headers: Some(&headers),
            ..RequestContext::default()
        },
        header_filter: HeaderFilter::default(),
    };
    let mut out = [0u8; 512];
    let len = encode_error_report(&report, &mut out);
    check!(len.is_ok());
    let Ok(len) = len else { return Ok(()) };
    let body = text(&out[..len]);
    check!(len <= 512 && body.starts_with("{\"project\":\"fw\"") && body.ends_with("\"}"));
    check!(body.contains("[truncated by monlight]") && !body.contains("secret"));
    check!(body.contains("\"traceback\":\"at src/main.rs:42:9\\n"));
    Ok(())
}

fn http() -> Result<(), Failure> {
    let head = RequestHead {
        host: "192.168.1.10:5012",
        base_path: "",
        api_key: "k",
        endpoint: Endpoint::Metrics,
    };
    let mut out = [0u8; 256];
    let len = head.encode(10, &mut out);
    check!(len.is_ok());
    let Ok(len) = len else { return Ok(()) };
    let request = text(&out[..len]);
    check!(request.starts_with("POST /api/metrics HTTP/1.1\r\n"));
    check!(request.contains("Content-Length: 10\r\n") && request.ends_with("\r\n\r\n"));
    let answer = b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 52\r\n\r\n{\"detail\": \"Rate limit exceeded\", \"retry_after\": 7}";
    let parsed = parse_response_head(answer);
    check!(matches!(parsed, Ok(Some(h)) if h.status == 429));
    let Ok(Some(parsed)) = parsed else {
        return Ok(());
    };
    check!(
        Outcome::from_response(parsed.status, &answer[parsed.len..])
            == Outcome::RateLimited {
                retry_after_secs: 7
            }
    );
    Ok(())
}
