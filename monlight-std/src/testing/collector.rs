//! The server: one thread, one connection at a time, like the real ones.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::fingerprint::fingerprint;
use super::validate;

/// Largest bodies the real servers accept (limit minus one).
const MAX_ERROR_BODY: usize = 262_143;
const MAX_METRICS_BODY: usize = 524_287;
/// A request head larger than this is refused (the real server has some
/// bound too; it only matters for hostile clients).
const MAX_HEAD: usize = 64 * 1024;

/// How the collector is set up.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    /// The key every `/api/*` request must carry in `X-API-Key`.
    pub api_key: String,
    /// Error tracker window: requests per `rate_window` (real: 100 / 60 s).
    pub error_rate_limit: usize,
    /// Metrics collector window: requests per `rate_window` (real: 200 / 60 s).
    pub metrics_rate_limit: usize,
    /// The sliding window.
    pub rate_window: Duration,
    /// The receive buffer of accepted connections (`None`: the system's).
    /// A small one stands for a slow network: a large body no longer fits
    /// in the two sockets' buffers, so a client's write waits on the
    /// server's reading (see [`Fault::BeforeBody`]).
    pub receive_buffer: Option<usize>,
    /// The port on 127.0.0.1 (0: any free one). A given port lets a test
    /// stop a collector and start it again where its clients look.
    pub port: u16,
    /// When, within each minute, the aggregator wakes. The real one wakes
    /// once a minute, counted from its start, and aggregates the minute
    /// before: a point that arrives after its minute's tick is stored but
    /// never charted (see [`Collector::charted`]).
    pub aggregation_phase: Duration,
    /// What the rate window and the aggregation tick read the time from.
    pub clock: Clock,
}

/// The collector's time: the system's, or one a test sets (to run minutes
/// of a fleet's traffic in seconds).
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The system's wall clock; each request takes the time it really takes.
    #[default]
    System,
    /// A clock the test moves, see [`ManualClock`].
    Manual(ManualClock),
}

/// A wall clock that a test sets. One thread serves every request, so each
/// request occupies the collector for `service_time` on this clock: the
/// requests of a fleet that arrive at the same moment queue up behind each
/// other, as at the real server.
///
/// ```
/// use std::time::Duration;
/// use monlight_std::testing::ManualClock;
///
/// let clock = ManualClock::new(1_700_000_000_000, Duration::from_millis(5));
/// clock.set(1_700_000_010_000); // ten seconds later
/// assert_eq!(clock.now_ms(), 1_700_000_010_000);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now_ms: Arc<AtomicU64>,
    service_ms: u64,
}

impl ManualClock {
    /// Starts at `unix_ms`; each request takes `service_time`.
    pub fn new(unix_ms: u64, service_time: Duration) -> Self {
        Self {
            now_ms: Arc::new(AtomicU64::new(unix_ms)),
            service_ms: u64::try_from(service_time.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Moves the clock to `unix_ms` (it may go back; requests already
    /// queued still finish in order).
    pub fn set(&self, unix_ms: u64) {
        self.now_ms.store(unix_ms, Ordering::SeqCst);
    }

    /// The time now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::SeqCst)
    }
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            api_key: "test-key".into(),
            error_rate_limit: 100,
            metrics_rate_limit: 200,
            rate_window: Duration::from_secs(60),
            receive_buffer: None,
            port: 0,
            aggregation_phase: Duration::from_secs(2),
            clock: Clock::System,
        }
    }
}

/// A way to misbehave on one request (see [`Collector::inject`]) or on all
/// of them (see [`Collector::set_fault`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with `{"detail": <text>}`.
    Status(u16, &'static str),
    /// Answer `429 {"detail": "Rate limit exceeded", "retry_after": n}`.
    RateLimited(u32),
    /// Read the request, then never answer; the connection stays open for
    /// the given time (the real server has no read timeout).
    Stall(Duration),
    /// Read the request body slowly: 1 KiB per given delay.
    SlowRead(Duration),
    /// Read the request, wait the given time, then answer as usual (a
    /// slow tracker).
    SlowAnswer(Duration),
    /// Read the request, start an answer, then reset the connection.
    ResetMidResponse,
    /// Answer bytes that are not HTTP.
    Garbage,
    /// Answer a status line and one header line that never ends (for at
    /// most the given time).
    EndlessHeader(Duration),
    /// Close the connection without answering.
    CloseWithoutAnswer,
    /// Answer the given fault's status (a [`Fault::Status`] or a
    /// [`Fault::RateLimited`]) from the request head alone, then close
    /// without reading the body, as a server may for a 401 or a 429: a
    /// client still writing a large body sees its write fail, and the
    /// unread body turns the close into a reset.
    BeforeBody(Box<Fault>),
}

/// A request as the collector saw it, accepted or not.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// e.g. `POST`.
    pub method: String,
    /// e.g. `/api/metrics`.
    pub path: String,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body as received.
    pub body: Vec<u8>,
    /// The status answered (`None` for faults without an answer).
    pub status: Option<u16>,
    /// When it arrived.
    pub at: Instant,
    /// When the collector handled it, on its [`Clock`], in milliseconds
    /// since the Unix epoch.
    pub at_unix_ms: u64,
}

impl RecordedRequest {
    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An error report the tracker stored.
#[derive(Debug, Clone)]
pub struct StoredError {
    /// The report as sent.
    pub body: Value,
    /// Its group.
    pub fingerprint: String,
    /// `"created"` or `"incremented"`.
    pub status: String,
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    metrics: Vec<Value>,
    /// When each of `metrics` arrived (unix ms).
    metrics_arrived: Vec<u64>,
    /// A manual clock's request queue: when the thread is free again.
    busy_until_ms: u64,
    errors: Vec<StoredError>,
    /// fingerprint -> (group id, occurrences)
    groups: HashMap<String, (usize, u64)>,
    /// Requests that broke the protocol in a way the real server punishes
    /// (e.g. a POST without Content-Length crashes it).
    violations: Vec<String>,
    next_faults: VecDeque<Fault>,
    fault: Option<Fault>,
    window_errors: VecDeque<u64>,
    window_metrics: VecDeque<u64>,
}

struct Shared {
    config: CollectorConfig,
    state: Mutex<State>,
    changed: Condvar,
    stopping: AtomicBool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The time this request is handled at, in unix ms.
    fn handled_at_ms(&self) -> u64 {
        match &self.config.clock {
            Clock::System => system_ms(),
            Clock::Manual(clock) => {
                let mut state = self.state();
                let at = clock.now_ms().max(state.busy_until_ms) + clock.service_ms;
                state.busy_until_ms = at;
                at
            }
        }
    }
}

fn system_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A local monlight server for tests and the quickstart. Stops when dropped.
pub struct Collector {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Collector {
    /// Starts a collector with the default configuration (key `test-key`,
    /// the real servers' rate limits).
    ///
    /// # Panics
    ///
    /// If no port on 127.0.0.1 can be bound (a test cannot go on then).
    pub fn start() -> Self {
        Self::with_config(CollectorConfig::default())
    }

    /// Starts a collector with `config`.
    ///
    /// # Panics
    ///
    /// If no port on 127.0.0.1 can be bound.
    #[allow(clippy::expect_used)]
    pub fn with_config(config: CollectorConfig) -> Self {
        let listener = listen(config.receive_buffer, config.port).expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            stopping: AtomicBool::new(false),
        });
        let server = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("monlight-test-collector".into())
            .spawn(move || serve(&listener, &server))
            .expect("spawn collector thread");
        Self {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`: the base URL for both clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API key it accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    /// Misbehave on the next `/api/*` request (queued: call again for the
    /// following ones).
    pub fn inject(&self, fault: Fault) {
        self.shared.state().next_faults.push_back(fault);
    }

    /// Misbehave on every `/api/*` request until cleared with `None`.
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.shared.state().fault = fault;
    }

    /// Metric items accepted so far, in arrival order.
    pub fn metrics(&self) -> Vec<Value> {
        self.shared.state().metrics.clone()
    }

    /// Metric items accepted so far, in arrival order, each with the time
    /// it arrived (unix ms, on the collector's [`Clock`]).
    pub fn metrics_arrived(&self) -> Vec<(Value, u64)> {
        let state = self.shared.state();
        state
            .metrics
            .iter()
            .cloned()
            .zip(state.metrics_arrived.iter().copied())
            .collect()
    }

    /// The accepted items that reach a chart: those that arrived before the
    /// aggregation tick of their minute (the minute of their `timestamp`,
    /// or of their arrival without one), at
    /// [`CollectorConfig::aggregation_phase`] into the next minute.
    pub fn charted(&self) -> Vec<Value> {
        let phase_ms =
            u64::try_from(self.shared.config.aggregation_phase.as_millis()).unwrap_or(u64::MAX);
        self.metrics_arrived()
            .into_iter()
            .filter(|(item, arrived)| {
                let stamped = item["timestamp"]
                    .as_str()
                    .and_then(parse_unix_ms)
                    .unwrap_or(*arrived);
                let tick = stamped / 60_000 * 60_000 + 60_000 + phase_ms;
                *arrived <= tick
            })
            .map(|(item, _)| item)
            .collect()
    }

    /// Error reports stored so far.
    pub fn errors(&self) -> Vec<StoredError> {
        self.shared.state().errors.clone()
    }

    /// Occurrences per fingerprint.
    pub fn groups(&self) -> HashMap<String, u64> {
        self.shared
            .state()
            .groups
            .iter()
            .map(|(fp, (_, count))| (fp.clone(), *count))
            .collect()
    }

    /// Every request received, accepted or not.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// Protocol violations seen (each would have hurt a real server).
    pub fn violations(&self) -> Vec<String> {
        self.shared.state().violations.clone()
    }

    /// Waits until at least `count` metric items arrived; `false` on timeout.
    pub fn wait_for_metrics(&self, count: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| s.metrics.len() >= count)
    }

    /// Waits until at least `count` requests arrived; `false` on timeout.
    pub fn wait_for_requests(&self, count: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| s.requests.len() >= count)
    }

    fn wait_until(&self, timeout: Duration, done: impl Fn(&State) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state();
        loop {
            if done(&state) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        if let Ok(stream) = stream {
            // One connection at a time, as the real server.
            handle(stream, shared);
            shared.changed.notify_all();
        }
    }
}

/// A listener on a free port of 127.0.0.1; accepted connections inherit
/// its receive buffer.
fn listen(receive_buffer: Option<usize>, port: u16) -> std::io::Result<TcpListener> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    // A restarted collector binds its port again at once.
    socket.set_reuse_address(true)?;
    if let Some(bytes) = receive_buffer {
        socket.set_recv_buffer_size(bytes)?;
    }
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    content_length: Option<usize>,
    chunked: bool,
    leftover: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn handle(mut stream: TcpStream, shared: &Arc<Shared>) {
    // Our own bound so a broken client cannot wedge the test suite (the real
    // server has none).
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(request) = read_head(&mut stream) else {
        return;
    };
    let fault = if request.path.starts_with("/api/") {
        let mut state = shared.state();
        state
            .next_faults
            .pop_front()
            .or_else(|| state.fault.clone())
    } else {
        None
    };
    let limit = match request.path.as_str() {
        "/api/errors" => MAX_ERROR_BODY,
        _ => MAX_METRICS_BODY,
    };

    let mut record = RecordedRequest {
        method: request.method.clone(),
        path: request.path.clone(),
        headers: request.headers.clone(),
        body: Vec::new(),
        status: None,
        at: Instant::now(),
        at_unix_ms: 0,
    };
    if request.path.starts_with("/api/") {
        record.at_unix_ms = shared.handled_at_ms();
    }

    // Decide what can be decided from the head alone, as the real server.
    let early = early_answer(&request, shared, limit, record.at_unix_ms);
    // Drain even refused bodies (up to a bound) so the client reads our
    // answer instead of a reset, unless told not to.
    let (fault, drain) = match fault {
        Some(Fault::BeforeBody(fault)) => (Some(*fault), false),
        fault => (fault, true),
    };
    if drain
        && request
            .content_length
            .is_some_and(|len| len <= 4 * MAX_METRICS_BODY)
    {
        let slow = match &fault {
            Some(Fault::SlowRead(delay)) => Some(*delay),
            _ => None,
        };
        record.body = read_body(&mut stream, &request, slow);
    }

    let answer = match fault {
        Some(Fault::Status(status, detail)) => Some((status, json!({ "detail": detail }))),
        Some(Fault::RateLimited(secs)) => Some((
            429,
            json!({"detail": "Rate limit exceeded", "retry_after": secs}),
        )),
        Some(Fault::Stall(duration)) => {
            store(shared, record);
            park(stream, duration, shared);
            return;
        }
        Some(Fault::ResetMidResponse) => {
            let _ = stream.write_all(b"HTTP/1.1 202 Acc");
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
            store(shared, record);
            return; // dropping with linger 0 sends RST
        }
        Some(Fault::Garbage) => {
            let _ = stream.write_all(b"\x00\x17garbage, not HTTP\r\n\r\n");
            store(shared, record);
            return;
        }
        Some(Fault::EndlessHeader(duration)) => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nX-Endless: ");
            let deadline = Instant::now() + duration;
            let chunk = [b'a'; 1024];
            let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
            while Instant::now() < deadline && !shared.stopping.load(Ordering::SeqCst) {
                if stream.write_all(&chunk).is_err() {
                    break;
                }
            }
            store(shared, record);
            return;
        }
        Some(Fault::CloseWithoutAnswer) => {
            store(shared, record);
            return;
        }
        Some(Fault::SlowAnswer(delay)) => {
            std::thread::sleep(delay);
            None
        }
        Some(Fault::SlowRead(_) | Fault::BeforeBody(_)) | None => None,
    };
    let (status, body) = answer
        .or(early)
        .unwrap_or_else(|| process(&request, &record.body, shared, record.at_unix_ms));
    record.status = Some(status);
    store(shared, record);
    respond(&mut stream, status, &body);
}

/// Parks a stalled connection on a thread of its own until `duration`
/// passes or the collector stops.
fn park(stream: TcpStream, duration: Duration, shared: &Arc<Shared>) {
    let shared = Arc::clone(shared);
    std::thread::spawn(move || {
        let deadline = Instant::now() + duration;
        while Instant::now() < deadline && !shared.stopping.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(stream);
    });
}

fn store(shared: &Shared, record: RecordedRequest) {
    shared.state().requests.push(record);
}

fn read_head(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let content_length = find("content-length").and_then(|v| v.parse().ok());
    let chunked = find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    Some(Request {
        method,
        path,
        headers,
        content_length,
        chunked,
        leftover: buf[end + 4..].to_vec(),
    })
}

fn read_body(stream: &mut TcpStream, request: &Request, slow: Option<Duration>) -> Vec<u8> {
    let Some(length) = request.content_length else {
        // Chunked bodies are not needed by our clients; read what is there.
        return request.leftover.clone();
    };
    let mut body = request.leftover.clone();
    let mut chunk = vec![0u8; if slow.is_some() { 1024 } else { 64 * 1024 }];
    while body.len() < length {
        if let Some(delay) = slow {
            std::thread::sleep(delay);
        }
        let want = (length - body.len()).min(chunk.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    body
}

/// Answers decided from the head: auth, rate limit, size, missing length.
fn early_answer(
    request: &Request,
    shared: &Shared,
    limit: usize,
    now: u64,
) -> Option<(u16, Value)> {
    if request.method == "GET" && request.path == "/health" {
        return Some((200, json!({"status": "ok"})));
    }
    let is_api = request.path == "/api/errors" || request.path == "/api/metrics";
    if !is_api {
        return Some((404, json!({"detail": "Not found"})));
    }
    if request.method != "POST" {
        return Some((405, json!({"detail": "Method not allowed"})));
    }
    if request.content_length.is_none() && !request.chunked {
        shared
            .state()
            .violations
            .push(format!("POST {} without Content-Length", request.path));
        return Some((411, json!({"detail": "Content-Length required"})));
    }
    if request.header("x-api-key") != Some(shared.config.api_key.as_str()) {
        return Some((401, json!({"detail": "Invalid API key"})));
    }
    // 401s and 429s do not count against the window.
    let (window, max) = {
        let config = &shared.config;
        if request.path == "/api/errors" {
            (true, config.error_rate_limit)
        } else {
            (false, config.metrics_rate_limit)
        }
    };
    let mut state = shared.state();
    let window_len = u64::try_from(shared.config.rate_window.as_millis()).unwrap_or(u64::MAX);
    let queue = if window {
        &mut state.window_errors
    } else {
        &mut state.window_metrics
    };
    while queue
        .front()
        .is_some_and(|t| now.saturating_sub(*t) >= window_len)
    {
        queue.pop_front();
    }
    if queue.len() >= max {
        let oldest = queue.front().copied().unwrap_or(now);
        let wait_ms = window_len.saturating_sub(now.saturating_sub(oldest));
        let retry_after = wait_ms.div_ceil(1000);
        return Some((
            429,
            json!({"detail": "Rate limit exceeded", "retry_after": retry_after.max(1)}),
        ));
    }
    queue.push_back(now);
    drop(state);
    match request.content_length {
        Some(len) if len > limit + 1 => {
            Some((413, json!({"detail": "Request body exceeds maximum size"})))
        }
        Some(len) if len == limit + 1 => {
            Some((400, json!({"detail": "Request body exceeds maximum size"})))
        }
        _ => None,
    }
}

fn process(request: &Request, body: &[u8], shared: &Shared, now: u64) -> (u16, Value) {
    if request.path == "/api/errors" {
        match validate::error_report(body) {
            Err(detail) => (400, json!({ "detail": detail })),
            Ok(report) => {
                let text = |f: &str| report[f].as_str().unwrap_or_default().to_owned();
                let fp = fingerprint(
                    &text("project"),
                    &text("exception_type"),
                    &text("traceback"),
                );
                let mut state = shared.state();
                let next_id = state.groups.len() + 1;
                let (id, count) = {
                    let group = state.groups.entry(fp.clone()).or_insert((next_id, 0));
                    group.1 += 1;
                    *group
                };
                let status = if count == 1 { "created" } else { "incremented" };
                state.errors.push(StoredError {
                    body: report,
                    fingerprint: fp.clone(),
                    status: status.into(),
                });
                if count == 1 {
                    (
                        201,
                        json!({"status": "created", "id": id, "fingerprint": fp}),
                    )
                } else {
                    (
                        200,
                        json!({"status": "incremented", "id": id, "count": count}),
                    )
                }
            }
        }
    } else {
        match validate::metrics_batch(body) {
            Err(detail) => (400, json!({ "detail": detail })),
            Ok(items) => {
                let count = items.len();
                let mut state = shared.state();
                state.metrics.extend(items);
                let stored = state.metrics.len();
                state.metrics_arrived.resize(stored, now);
                (202, json!({"status": "accepted", "count": count}))
            }
        }
    }
}

/// Answers and closes, without `Connection: close`, as the real server.
fn respond(stream: &mut TcpStream, status: u16, body: &Value) {
    let body = body.to_string();
    let reason = match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        411 => "Length Required",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let answer = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes());
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
}

/// `YYYY-MM-DDTHH:MM:SS…` (UTC) in unix milliseconds.
fn parse_unix_ms(text: &str) -> Option<u64> {
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    u64::try_from(seconds).ok().map(|s| s * 1000)
}
