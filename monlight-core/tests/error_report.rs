//! Error report bodies: every field, header filtering, and the size limit.

use monlight_core::limits::MAX_ERROR_BODY;
use monlight_core::{
    ErrorReport, HeaderFilter, ReportError, RequestContext, TRUNCATION_MARKER, encode_error_report,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn encode<E: serde::Serialize>(report: &ErrorReport<'_, E>) -> Value {
    let mut out = vec![0u8; MAX_ERROR_BODY + 1000];
    let len = encode_error_report(report, &mut out).expect("encodes");
    assert!(len <= MAX_ERROR_BODY);
    serde_json::from_slice(&out[..len]).expect("valid JSON")
}

fn report<'a>(message: &'a str, traceback: &'a str) -> ErrorReport<'a, Value> {
    ErrorReport {
        project: "shop",
        environment: Some("prod"),
        exception_type: "ConnectionError",
        message,
        traceback,
        context: RequestContext::default(),
        header_filter: HeaderFilter::default(),
    }
}

#[test]
fn all_fields_with_full_context() {
    let headers = [
        ("Content-Type", "application/json"),
        ("AUTHORIZATION", "Bearer t"),
        ("Cookie", "c"),
        ("set-cookie", "s"),
        ("X-Api-Key", "k"),
        ("X-Session", "private"),
        ("User-Agent", "curl"),
    ];
    let extra = json!({"booking_id": 123, "tags": ["a", "b"]});
    let excluded = ["x-SESSION"];
    let mut r = report("db down", "ConnectionError: db down\n    at src/db.rs:10:5");
    r.context = RequestContext {
        url: Some("/api/users?id=1"),
        method: Some("POST"),
        headers: Some(&headers),
        user_id: Some("42"),
        extra: Some(&extra),
    };
    r.header_filter = HeaderFilter::new(&excluded);
    let body = encode(&r);
    assert_eq!(
        body,
        json!({
            "project": "shop",
            "exception_type": "ConnectionError",
            "message": "db down",
            "traceback": "ConnectionError: db down\n    at src/db.rs:10:5",
            "environment": "prod",
            "request_url": "/api/users?id=1",
            "request_method": "POST",
            "request_headers": {"Content-Type": "application/json", "User-Agent": "curl"},
            "user_id": "42",
            "extra": {"booking_id": 123, "tags": ["a", "b"]},
        })
    );
}

#[test]
fn only_given_context_keys_are_sent() {
    let mut r = report("m", "t");
    r.environment = None;
    r.context.method = Some("GET");
    let body = encode(&r);
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert_eq!(body["request_method"], "GET");
}

#[test]
fn ten_megabyte_message_and_traceback_are_cut_to_the_limit() {
    let message = "é".repeat(5_000_000); // 10 MB, 2-byte characters
    let traceback = format!(
        "at src/main.rs:7:9\n{}",
        "\"quoted\" \\ line\n".repeat(600_000)
    );
    let body = encode(&report(&message, &traceback));
    let m = body["message"].as_str().unwrap();
    let t = body["traceback"].as_str().unwrap();
    assert!(m.ends_with(TRUNCATION_MARKER) && t.ends_with(TRUNCATION_MARKER));
    assert!(
        m.trim_end_matches(TRUNCATION_MARKER)
            .chars()
            .all(|c| c == 'é')
    );
    assert!(
        t.starts_with("at src/main.rs:7:9\n"),
        "the throw site survives"
    );
    // The room is used, not wasted: the body is close to the limit.
    let len = serde_json::to_vec(&body).unwrap().len();
    assert!(len > MAX_ERROR_BODY - 1000, "{len}");
}

#[test]
fn huge_extra_is_left_out_rather_than_losing_the_report() {
    let extra = json!({"blob": "x".repeat(400_000)});
    let mut r = report("m", "t");
    r.context.extra = Some(&extra);
    let body = encode(&r);
    assert!(body.get("extra").is_none());
    assert_eq!(body["message"], "m");
}

#[test]
fn huge_headers_are_left_out_and_extra_kept() {
    let big = "v".repeat(300_000);
    let headers = [("X-Big", big.as_str()), ("Accept", "*/*")];
    let extra = json!({"order": 7});
    let mut r = report("m", "at src/main.rs:1:1");
    r.context.headers = Some(&headers);
    r.context.extra = Some(&extra);
    let body = encode(&r);
    assert!(body.get("request_headers").is_none());
    assert_eq!(body["extra"], json!({"order": 7}));
    assert_eq!(body["traceback"], "at src/main.rs:1:1");
}

#[test]
fn small_output_buffer_truncates_and_too_small_is_an_error() {
    let message = "m".repeat(1000);
    let r = report(&message, "t");
    let mut out = [0u8; 300];
    let len = encode_error_report(&r, &mut out).unwrap();
    let body: Value = serde_json::from_slice(&out[..len]).unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .ends_with(TRUNCATION_MARKER)
    );
    let mut tiny = [0u8; 40];
    assert_eq!(
        encode_error_report(&r, &mut tiny),
        Err(ReportError::TooLarge)
    );
}

#[test]
fn invalid_project_and_long_exception_type() {
    let mut r = report("m", "t");
    r.project = "";
    assert_eq!(
        encode_error_report(&r, &mut [0u8; 512]),
        Err(ReportError::InvalidProject)
    );
    let long_type = "E".repeat(300);
    let mut r = report("m", "t");
    r.exception_type = &long_type;
    assert_eq!(encode(&r)["exception_type"].as_str().unwrap().len(), 200);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_text_encodes_to_valid_json_within_the_buffer(
        message in ".{0,300}",
        traceback in "(\\PC|[\"\\\\\n\u{0}\u{1f}]){0,300}",
        header_value in ".{0,40}",
        out_len in 60usize..1500,
    ) {
        let headers = [("X-Trace", header_value.as_str()), ("Cookie", "secret")];
        let mut r = report(&message, &traceback);
        r.context.headers = Some(&headers);
        let mut out = vec![0u8; out_len];
        match encode_error_report(&r, &mut out) {
            Ok(len) => {
                prop_assert!(len <= out_len);
                let body: Value = serde_json::from_slice(&out[..len]).expect("valid JSON");
                let m = body["message"].as_str().unwrap();
                let t = body["traceback"].as_str().unwrap();
                // Either whole, or a prefix followed by the marker.
                prop_assert!(m == message || (m.ends_with(TRUNCATION_MARKER) && message.starts_with(m.trim_end_matches(TRUNCATION_MARKER))) || message.starts_with(m));
                prop_assert!(t == traceback || (t.ends_with(TRUNCATION_MARKER) && traceback.starts_with(t.trim_end_matches(TRUNCATION_MARKER))) || traceback.starts_with(t));
                prop_assert!(!String::from_utf8_lossy(&out[..len]).contains("secret"));
                if let Some(h) = body.get("request_headers") {
                    prop_assert_eq!(h, &json!({"X-Trace": header_value}));
                }
            }
            Err(e) => prop_assert_eq!(e, ReportError::TooLarge),
        }
    }
}
