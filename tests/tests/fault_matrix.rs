//! Every client against every way a server can fail: the caller is never
//! blocked past its timeout, nothing panics, the loss is counted under the
//! right reason, the next send after the fault delivers, and a 429 is
//! honoured (nothing is sent before its `retry_after`). The metrics
//! clients keep what the server provably did not store (a 429, a server
//! that is down) and deliver it later, once.
//!
//! One test per fault; each runs the five clients: the std metrics flush
//! and the std error report (sync) over the plain-HTTP transport, the same
//! flush through reqwest (the `https://` route), the std error report
//! (async, reqwest) and the Embassy transport.

mod common;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use monlight_core::limits::MAX_METRICS_BODY;
use monlight_core::{Flusher, Metric, MetricBuffer};
use monlight_embassy::{Collector as Address, Monlight, TcpTransport, Uplink};
use monlight_std::{ApiKey, BlockingHttp, ErrorClient, MetricsClient, Stats};
use monlight_tests::{Collector, Fault};

/// Every client's timeout; a send may take it plus this margin (machines
/// in CI are shared and slow).
const TIMEOUT: Duration = Duration::from_secs(1);
const MARGIN: Duration = Duration::from_millis(1500);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Reason {
    Rejected,
    Transport,
}

fn lost(stats: &Stats, reason: Reason) -> u64 {
    match reason {
        Reason::Rejected => stats.dropped_rejected,
        Reason::Transport => stats.dropped_transport,
    }
}

/// A client under test: `send` makes one attempt (a flush, a report).
trait Client {
    fn name(&self) -> &'static str;
    fn send(&mut self);
    fn stats(&self) -> Stats;
}

/// 200 points (about 12 KB: long enough for a slow read to time out).
struct MetricsFlush(MetricsClient);

impl Client for MetricsFlush {
    fn name(&self) -> &'static str {
        "std metrics flush"
    }
    fn send(&mut self) {
        for i in 0..200 {
            self.0
                .gauge("fault_matrix_value", f64::from(i), &[("client", "std")]);
        }
        self.0.flush();
    }
    fn stats(&self) -> Stats {
        self.0.stats()
    }
}

/// 200 points through core's flush engine and the blocking transport's
/// reqwest route (the one `https://` and proxied collectors take; plain
/// `http://` goes over its own socket code, tested by the clients above).
struct ReqwestFlush {
    buffer: RefCell<MetricBuffer<Vec<u8>>>,
    flusher: Flusher<'static>,
    transport: BlockingHttp,
    /// The flusher's monotonic clock starts here.
    started: Instant,
}

impl ReqwestFlush {
    fn new(url: &str, key: &str) -> Self {
        let key = ApiKey::new(key).unwrap();
        let transport = BlockingHttp::through_reqwest(url, &key, TIMEOUT).unwrap();
        assert!(transport.uses_reqwest());
        Self {
            buffer: RefCell::new(MetricBuffer::with_storage(vec![0; 64 * 1024])),
            flusher: Flusher::new(Some("faults")),
            transport,
            started: Instant::now(),
        }
    }
}

impl Client for ReqwestFlush {
    fn name(&self) -> &'static str {
        "std flush through reqwest"
    }
    fn send(&mut self) {
        for i in 0..200 {
            let labels = [("client", "reqwest")];
            let point = Metric::gauge("fault_matrix_value", &labels, f64::from(i));
            self.buffer.get_mut().record(&point).unwrap();
        }
        let mut out = vec![0; MAX_METRICS_BODY];
        let now_ms = self.started.elapsed().as_millis() as u64;
        (self.flusher).flush(
            &self.buffer,
            &mut self.transport,
            &mut out,
            monlight_core::Now::monotonic(now_ms),
        );
    }
    fn stats(&self) -> Stats {
        self.buffer.borrow().stats()
    }
}

/// A report with a 12 KB message.
struct ErrorsSync(ErrorClient, String);

impl Client for ErrorsSync {
    fn name(&self) -> &'static str {
        "std error report (sync)"
    }
    fn send(&mut self) {
        self.0.report_error_sync(self.1.as_str(), None);
    }
    fn stats(&self) -> Stats {
        self.0.stats()
    }
}

struct ErrorsAsync(ErrorClient, String, tokio::runtime::Runtime);

impl Client for ErrorsAsync {
    fn name(&self) -> &'static str {
        "std error report (async)"
    }
    fn send(&mut self) {
        let send = self.0.report_error(self.1.as_str(), None);
        self.2.block_on(send);
    }
    fn stats(&self) -> Stats {
        self.0.stats()
    }
}

/// 150 points flushed through monlight-embassy's TCP transport in 8 KB
/// batches. The uplink lives as long as the client, as in a flush task
/// (it holds the 429 pause).
struct Embassy {
    device: &'static EmbassyDevice,
    uplink: Uplink<'static, TcpTransport<'static, common::TokioTcp>>,
    runtime: tokio::runtime::Runtime,
}

type EmbassyDevice = Monlight<CriticalSectionRawMutex, 16384>;

impl Embassy {
    fn new(url: &str, key: &str) -> Self {
        let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
        let scratch: &'static mut [u8] = Box::leak(vec![0u8; 512].into_boxed_slice());
        let out: &'static mut [u8] = Box::leak(vec![0u8; 8192].into_boxed_slice());
        let address = Address::new(leak(url.trim_start_matches("http://"))).unwrap();
        let transport = TcpTransport::new(&common::TokioTcp, leak(key), scratch)
            .metrics_collector(address)
            .timeout(embassy_time::Duration::from_millis(
                TIMEOUT.as_millis() as u64
            ));
        Self {
            device: Box::leak(Box::new(Monlight::new())),
            uplink: Uplink::new(transport, "faults", out).unwrap(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }
}

impl Client for Embassy {
    fn name(&self) -> &'static str {
        "embassy transport"
    }
    fn send(&mut self) {
        for i in 0..150 {
            let _ = self
                .device
                .gauge("fault_matrix_value", f64::from(i), &[("client", "embassy")]);
        }
        let (device, uplink) = (self.device, &mut self.uplink);
        self.runtime.block_on(device.flush(uplink));
    }
    fn stats(&self) -> Stats {
        self.device.stats()
    }
}

/// The five clients, all pointed at `url`.
fn clients(url: &str, key: &str) -> Vec<Box<dyn Client>> {
    let message = "m".repeat(12_000);
    let errors = || {
        ErrorClient::builder(url, key)
            .project("faults")
            .timeout(TIMEOUT)
            .build()
            .unwrap()
    };
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    vec![
        Box::new(MetricsFlush(
            MetricsClient::builder(url, key)
                .project("faults")
                .timeout(TIMEOUT)
                .build()
                .unwrap(),
        )),
        Box::new(ReqwestFlush::new(url, key)),
        Box::new(ErrorsSync(errors(), message.clone())),
        Box::new(ErrorsAsync(errors(), message, runtime())),
        Box::new(Embassy::new(url, key)),
    ]
}

/// Sends once through each client while the collector answers `fault`,
/// checks the bound and the count, then sends again and checks delivery.
fn under_fault(fault: Fault, reason: Reason) {
    let collector = Collector::start();
    for mut client in clients(&collector.url(), collector.api_key()) {
        let name = client.name();
        collector.inject(fault.clone());
        let requests_before = collector.requests().len();
        let started = Instant::now();
        client.send();
        let took = started.elapsed();
        let stats = client.stats();
        assert!(
            took <= TIMEOUT + MARGIN,
            "{name} under {fault:?}: blocked {took:?}"
        );
        assert!(
            lost(&stats, reason) > 0,
            "{name} under {fault:?}: not counted as {reason:?}: {stats:?}"
        );
        assert_eq!(
            stats.recorded,
            stats.sent + stats.dropped(),
            "{name}: every point accounted for"
        );
        // The fault clears once the server is done with that request (it
        // serves one connection at a time, as the real one does).
        assert!(collector.wait_for_requests(requests_before + 1, Duration::from_secs(15)));
        let sent_before = stats.sent;
        client.send();
        assert!(
            client.stats().sent > sent_before,
            "{name}: the next send after {fault:?} delivers"
        );
    }
}

#[test]
fn server_error_500() {
    under_fault(
        Fault::Status(500, "Internal server error"),
        Reason::Rejected,
    );
}

#[test]
fn wrong_key_401() {
    under_fault(Fault::Status(401, "Invalid API key"), Reason::Rejected);
}

/// A server may answer from the head and close with the body unread,
/// which turns its close into a reset: the answer still counts. (A write
/// that fails on a large body is `metrics_client`'s test.)
#[test]
fn wrong_key_401_before_the_body_is_read() {
    let fault = Fault::Status(401, "Invalid API key");
    under_fault(Fault::BeforeBody(Box::new(fault)), Reason::Rejected);
}

#[test]
fn too_large_413() {
    under_fault(Fault::Status(413, "Payload too large"), Reason::Rejected);
}

#[test]
fn stalls_after_accepting() {
    under_fault(Fault::Stall(Duration::from_secs(30)), Reason::Transport);
}

#[test]
fn reads_slowly() {
    under_fault(
        Fault::SlowRead(Duration::from_millis(300)),
        Reason::Transport,
    );
}

#[test]
fn resets_mid_response() {
    under_fault(Fault::ResetMidResponse, Reason::Transport);
}

#[test]
fn answers_garbage() {
    under_fault(Fault::Garbage, Reason::Transport);
}

#[test]
fn answers_an_endless_header() {
    under_fault(
        Fault::EndlessHeader(Duration::from_secs(30)),
        Reason::Transport,
    );
}

#[test]
fn closes_without_answering() {
    under_fault(Fault::CloseWithoutAnswer, Reason::Transport);
}

#[test]
fn nothing_listens() {
    let dead = common::dead_url();
    for mut client in clients(&dead, "key") {
        let name = client.name();
        let started = Instant::now();
        client.send();
        assert!(started.elapsed() <= TIMEOUT + MARGIN, "{name} blocked");
        let stats = client.stats();
        assert!(
            stats.retried > 0 && stats.dropped_in_flight() == 0,
            "{name}: nothing reached the server, so nothing may be dropped: {stats:?}"
        );
    }
}

#[test]
fn a_429_is_honoured_until_retry_after() {
    honours_a_429(Fault::RateLimited(1));
}

#[test]
fn a_429_before_the_body_is_read_is_honoured() {
    honours_a_429(Fault::BeforeBody(Box::new(Fault::RateLimited(1))));
}

/// `fault` answers a 429 with `retry_after` 1 s.
fn honours_a_429(fault: Fault) {
    let collector = Collector::start();
    let mut points_sent = 0;
    for mut client in clients(&collector.url(), collector.api_key()) {
        let name = client.name();
        collector.inject(fault.clone());
        let limited_at = Instant::now();
        client.send();
        let stats = client.stats();
        assert!(
            stats.retried > 0 && stats.dropped_in_flight() == 0,
            "{name}: a 429's batch is kept: {stats:?}"
        );
        let requests = collector.requests().len();
        client.send(); // within retry_after: nothing may reach the server
        if limited_at.elapsed() < Duration::from_secs(1) {
            assert_eq!(
                collector.requests().len(),
                requests,
                "{name} sent during the pause"
            );
        }
        std::thread::sleep(Duration::from_millis(1100).saturating_sub(limited_at.elapsed()));
        let sent_before = client.stats().sent;
        client.send();
        let stats = client.stats();
        assert!(
            stats.sent > sent_before,
            "{name}: delivers after retry_after"
        );
        assert_eq!(
            (stats.sent, stats.dropped_in_flight()),
            (stats.recorded, 0),
            "{name}: the kept batch went out once, after retry_after"
        );
        points_sent += stats.sent;
    }
    // Nothing was stored twice: the collector holds each point and each
    // report once.
    let stored = (collector.metrics().len() + collector.errors().len()) as u64;
    assert_eq!(stored, points_sent, "every point and report stored once");
}
