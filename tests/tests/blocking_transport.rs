//! `BlockingHttp`'s two routes, plain sockets for `http://` and reqwest for
//! `https://` and proxies, send the same request and read the same answer.

use std::time::Duration;

use monlight_core::{Endpoint, Outcome, Transport};
use monlight_std::{ApiKey, BlockingHttp};
use monlight_tests::{Collector, Fault};

const BODY: &[u8] = br#"[{"name":"up","type":"gauge","value":1}]"#;

fn transports(url: &str, key: &str) -> [BlockingHttp; 2] {
    let key = ApiKey::new(key).unwrap();
    let timeout = Duration::from_secs(5);
    let plain = BlockingHttp::new(url, &key, timeout).unwrap();
    // A proxy set in the environment is honoured through reqwest.
    let proxy = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    assert_eq!(
        plain.uses_reqwest(),
        proxy,
        "http:// without a proxy: plain sockets"
    );
    let reqwest = BlockingHttp::through_reqwest(url, &key, timeout).unwrap();
    [plain, reqwest]
}

#[test]
fn both_routes_send_the_same_request() {
    let collector = Collector::start();
    let [mut plain, mut reqwest] = transports(&collector.url(), collector.api_key());
    for transport in [&mut plain, &mut reqwest] {
        let outcome = transport.send(Endpoint::Metrics, BODY);
        assert_eq!(outcome, Outcome::Delivered { status: 202 });
    }
    let requests = collector.requests();
    let [sent_plain, sent_reqwest] = [&requests[0], &requests[1]];
    for name in [
        "host",
        "x-api-key",
        "content-type",
        "content-length",
        "connection",
    ] {
        assert!(sent_plain.header(name).is_some(), "{name} missing");
        assert_eq!(sent_plain.header(name), sent_reqwest.header(name), "{name}");
    }
    assert_eq!(sent_plain.header("connection"), Some("close"));
    assert_eq!(
        (sent_plain.method.as_str(), sent_plain.path.as_str()),
        ("POST", "/api/metrics")
    );
    assert_eq!(sent_plain.body, BODY);
    assert_eq!(sent_plain.body, sent_reqwest.body);
    assert_eq!(collector.metrics().len(), 2);
    assert!(
        collector.violations().is_empty(),
        "{:?}",
        collector.violations()
    );
}

#[test]
fn both_routes_keep_a_base_path() {
    let collector = Collector::start();
    let url = format!("{}/monlight/", collector.url());
    for mut transport in transports(&url, collector.api_key()) {
        transport.send(Endpoint::Errors, b"{}");
    }
    let paths: Vec<String> = collector.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/monlight/api/errors", "/monlight/api/errors"]);
}

#[test]
fn both_routes_read_a_429s_retry_after() {
    let collector = Collector::start();
    for mut transport in transports(&collector.url(), collector.api_key()) {
        collector.inject(Fault::RateLimited(7));
        assert_eq!(
            transport.send(Endpoint::Metrics, BODY),
            Outcome::RateLimited {
                retry_after_secs: 7
            }
        );
    }
}

#[test]
fn a_name_is_resolved_and_an_unresolvable_one_fails_to_connect() {
    let collector = Collector::start();
    let url = format!("http://localhost:{}", collector.addr().port());
    let [mut plain, _] = transports(&url, collector.api_key());
    assert_eq!(
        plain.send(Endpoint::Metrics, BODY),
        Outcome::Delivered { status: 202 }
    );
    assert_eq!(
        collector.requests()[0].header("host"),
        Some(format!("localhost:{}", collector.addr().port()).as_str())
    );
    let [mut nowhere, _] = transports("http://monlight.invalid:5012", "key");
    assert_eq!(
        nowhere.send(Endpoint::Metrics, BODY),
        Outcome::Failed(monlight_core::TransportError::Connect)
    );
}
