//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};

/// Captures `log` records so tests can assert on warnings.
struct CaptureLogger;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

impl log::Log for CaptureLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}", record.level(), record.args());
        LINES.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }
    fn flush(&self) {}
}

/// Installs the capturing logger (once per test binary).
pub(crate) fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = log::set_logger(&CaptureLogger);
        log::set_max_level(log::LevelFilter::Debug);
    });
}

/// Warnings logged so far that contain `needle`.
pub(crate) fn warnings_containing(needle: &str) -> Vec<String> {
    LINES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|l| l.starts_with("WARN") && l.contains(needle))
        .cloned()
        .collect()
}

/// Every captured log line.
pub(crate) fn all_logs() -> Vec<String> {
    LINES.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The values of every metric point the collector stored, sorted.
pub(crate) fn stored_values(collector: &monlight_tests::Collector) -> Vec<f64> {
    let mut values: Vec<f64> = collector
        .metrics()
        .iter()
        .map(|m| m["value"].as_f64().unwrap())
        .collect();
    values.sort_by(f64::total_cmp);
    values
}

/// The number of items in each request the collector received.
pub(crate) fn batch_sizes(collector: &monlight_tests::Collector) -> Vec<usize> {
    collector
        .requests()
        .iter()
        .map(|r| {
            serde_json::from_slice::<Vec<serde_json::Value>>(&r.body)
                .unwrap()
                .len()
        })
        .collect()
}

/// A base URL where nothing listens.
pub(crate) fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// `embedded_nal_async::TcpConnect` over tokio: what embassy-net's
/// `TcpClient` is on a device.
pub(crate) struct TokioTcp;

impl embedded_nal_async::TcpConnect for TokioTcp {
    type Error = std::io::Error;
    type Connection<'a> = embedded_io_adapters::tokio_1::FromTokio<tokio::net::TcpStream>;

    async fn connect<'a>(
        &'a self,
        remote: std::net::SocketAddr,
    ) -> Result<Self::Connection<'a>, Self::Error> {
        Ok(embedded_io_adapters::tokio_1::FromTokio::new(
            tokio::net::TcpStream::connect(remote).await?,
        ))
    }
}

/// A test error without a cause.
#[derive(Debug)]
pub(crate) struct DiskFull;

impl std::fmt::Display for DiskFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no space left on device")
    }
}

impl std::error::Error for DiskFull {}

/// A test error caused by [`DiskFull`].
#[derive(Debug)]
pub(crate) struct SaveFailed(pub(crate) DiskFull);

impl std::fmt::Display for SaveFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("could not save order")
    }
}

impl std::error::Error for SaveFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// An error with a cause, as a device driver would return it.
#[derive(Debug)]
pub(crate) struct BusError;
impl std::fmt::Display for BusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("i2c bus stuck low")
    }
}
impl std::error::Error for BusError {}

#[derive(Debug)]
pub(crate) struct SensorError(pub(crate) BusError);
impl std::fmt::Display for SensorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sensor 3 unreadable")
    }
}
impl std::error::Error for SensorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// A listener that never accepts, its accept queue filled: connecting to
/// it hangs, as it does to a host that drops the SYN. Keep the value
/// alive while it is used.
pub(crate) struct Unanswered {
    _listener: socket2::Socket,
    _queued: Vec<std::net::TcpStream>,
    /// Its `host:port`.
    pub(crate) address: String,
}

pub(crate) fn unanswered() -> Unanswered {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let any = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    listener.bind(&any.into()).unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut queued = Vec::new();
    let wait = std::time::Duration::from_millis(200);
    // Connect until a connection no longer completes: the queue is full.
    while let Ok(stream) = std::net::TcpStream::connect_timeout(&addr, wait) {
        queued.push(stream);
        assert!(queued.len() < 16, "the accept queue never filled");
    }
    Unanswered {
        _listener: listener,
        _queued: queued,
        address: addr.to_string(),
    }
}
