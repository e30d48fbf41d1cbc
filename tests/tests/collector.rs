//! The test collector itself behaves as PROTOCOL.md says the servers do
//! (raw HTTP over TCP, no SDK involved).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use monlight_tests::{Collector, CollectorConfig};
use serde_json::{Value, json};

/// Sends raw bytes, returns (status, JSON body, whether a `Connection`
/// header was sent).
fn raw(collector: &Collector, request: &[u8]) -> (u16, Value, bool) {
    let mut stream = TcpStream::connect(collector.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap(); // the server closes after answering
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    (
        status,
        serde_json::from_str(body).unwrap_or(Value::Null),
        head.to_ascii_lowercase().contains("connection:"),
    )
}

fn post(collector: &Collector, path: &str, key: &str, body: &str) -> (u16, Value) {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, body, _) = raw(collector, request.as_bytes());
    (status, body)
}

#[test]
fn auth_health_and_closing() {
    let collector = Collector::start();
    let (status, body, connection_header) =
        raw(&collector, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((status, connection_header), (200, false));
    assert_eq!(body, json!({"status": "ok"}));
    assert_eq!(
        post(&collector, "/api/metrics", "wrong", "[]"),
        (401, json!({"detail": "Invalid API key"}))
    );
}

#[test]
fn validation_texts() {
    let collector = Collector::start();
    let m = |body: &str| post(&collector, "/api/metrics", "test-key", body);
    assert_eq!(m("[]").1["detail"], "Metrics array must not be empty");
    let many = format!(
        "[{}]",
        vec![r#"{"name":"a","type":"counter","value":1}"#; 1001].join(",")
    );
    assert_eq!(
        m(&many).1["detail"],
        "Metrics batch exceeds maximum of 1000 items"
    );
    assert_eq!(m("not json").1["detail"], "Invalid JSON");
    assert_eq!(
        m(r#"[{"name":"a","type":"counter","value":1},{"name":"","type":"counter","value":1}]"#).0,
        400
    );
    assert_eq!(m(r#"[{"name":"a","type":"summary","value":1}]"#).0, 400);
    assert_eq!(m(r#"[{"name":"a","type":"gauge","value":"1"}]"#).0, 400);
    assert_eq!(
        m(r#"[{"name":"a","type":"gauge","value":1,"labels":{"k":1}}]"#).0,
        400
    );
    assert_eq!(
        m(r#"[{"name":"a","type":"gauge","value":1.5,"labels":{"k":"v"}}]"#),
        (202, json!({"status": "accepted", "count": 1}))
    );
    assert_eq!(
        collector.metrics().len(),
        1,
        "a bad item rejects its whole batch"
    );

    let e = |body: &str| post(&collector, "/api/errors", "test-key", body);
    assert_eq!(e("[1]").1["detail"], "Request body must be a JSON object");
    assert_eq!(
        e(r#"{"project":"p","exception_type":"E","message":1,"traceback":"t"}"#).1["detail"],
        "Missing required field: message"
    );
    let long_project = format!(
        r#"{{"project":"{}","exception_type":"E","message":"m","traceback":"t"}}"#,
        "p".repeat(101)
    );
    assert_eq!(
        e(&long_project).1["detail"],
        "Field 'project' exceeds maximum length of 100 characters"
    );
    let ok = r#"{"project":"p","exception_type":"E","message":"m","traceback":"at src/a.rs:3:1"}"#;
    let (status, first) = e(ok);
    assert_eq!((status, first["status"].as_str()), (201, Some("created")));
    assert_eq!(first["fingerprint"].as_str().map(str::len), Some(32));
    assert_eq!(
        e(ok),
        (200, json!({"status": "incremented", "id": 1, "count": 2}))
    );
}

#[test]
fn size_limits_are_decided_from_content_length() {
    let collector = Collector::start();
    let head = |len: usize| {
        format!("POST /api/errors HTTP/1.1\r\nX-API-Key: test-key\r\nContent-Length: {len}\r\n\r\n")
    };
    let mut over = head(262_145).into_bytes();
    over.extend(vec![b' '; 262_145]);
    assert_eq!(raw(&collector, &over).0, 413);
    let mut exact = head(262_144).into_bytes();
    exact.extend(vec![b' '; 262_144]);
    assert_eq!(
        raw(&collector, &exact).0,
        400,
        "exactly the limit is refused too"
    );
}

#[test]
fn a_post_without_content_length_is_refused_and_recorded() {
    let collector = Collector::start();
    let (status, _, _) = raw(
        &collector,
        b"POST /api/metrics HTTP/1.1\r\nX-API-Key: test-key\r\n\r\n",
    );
    assert_eq!(status, 411);
    assert_eq!(collector.violations().len(), 1);
}

#[test]
fn sliding_window_rate_limit_with_retry_after_in_the_body() {
    let collector = Collector::with_config(CollectorConfig {
        metrics_rate_limit: 2,
        rate_window: Duration::from_secs(2),
        ..CollectorConfig::default()
    });
    let one = r#"[{"name":"a","type":"counter","value":1}]"#;
    assert_eq!(post(&collector, "/api/metrics", "test-key", one).0, 202);
    assert_eq!(
        post(&collector, "/api/metrics", "wrong", one).0,
        401,
        "401s do not count"
    );
    assert_eq!(post(&collector, "/api/metrics", "test-key", one).0, 202);
    let (status, body) = post(&collector, "/api/metrics", "test-key", one);
    assert_eq!(status, 429);
    assert_eq!(body["detail"], "Rate limit exceeded");
    assert!(
        (1..=2).contains(&body["retry_after"].as_u64().unwrap()),
        "{body}"
    );
    assert_eq!(
        post(
            &collector,
            "/api/errors",
            "test-key",
            r#"{"project":"p","exception_type":"E","message":"m","traceback":"t"}"#
        )
        .0,
        201,
        "windows are per service"
    );
}
