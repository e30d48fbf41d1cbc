//! `MetricsClient`: the reference client's metrics API over the core's
//! bounded buffer and flush engine, with a background flush thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use monlight_core::limits::MAX_METRICS_BODY;
use monlight_core::{
    BufferAccess, Endpoint, FlushReport, Flusher, Label, Metric, MetricBuffer, MetricError,
    MetricKind, Outcome, RecordError, Stats, Transport, TransportError, validate_project,
};

use crate::clock::unix_now;
use crate::config::{ApiKey, ConfigError, EndpointUrls, check_duration};
use crate::staging::{Drain, Staged, Staging, Unstaged};
use crate::transport::BlockingHttp;

/// Default buffer size: 4 MiB, about 50,000 points of 80 bytes (a name, two
/// labels and a timestamp), i.e. 5,000 points per second between two
/// flushes at the default interval. Allocated once, at construction.
pub const DEFAULT_BUFFER_BYTES: usize = 4 << 20;

/// How long `flush()`, `shutdown()` and drop wait for the flush thread
/// by default. Each batch is bounded by `timeout`; this bounds the whole.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Default bytes of per-thread staging: 64 KiB, 4,096 points of 16 bytes,
/// per thread that records (see
/// [`MetricsClientBuilder::staging_bytes_per_thread`]).
pub const DEFAULT_STAGING_BYTES_PER_THREAD: usize = 64 << 10;

/// At most this many threads get a staging ring per client; more threads
/// record straight into the shared buffer (correct, a little slower).
pub const MAX_STAGING_THREADS: usize = 64;

/// Builds a [`MetricsClient`]; the defaults are the reference client's.
#[derive(Debug, Clone)]
#[must_use]
pub struct MetricsClientBuilder {
    base_url: String,
    api_key: String,
    flush_interval: Duration,
    timeout: Duration,
    project: Option<String>,
    buffer_bytes: usize,
    staging_bytes: usize,
    shutdown_timeout: Duration,
}

impl MetricsClientBuilder {
    /// Seconds between automatic flushes once [`MetricsClient::start`] ran
    /// (default 10 s). Under load the flush thread also flushes as soon as
    /// the buffer is half full, so a busy service sends more often instead
    /// of dropping points.
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// Bound on connecting to and on each request to the collector
    /// (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Project stamped on every point (default: none).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// Bytes of buffer for points waiting to be sent (default
    /// [`DEFAULT_BUFFER_BYTES`]). A point takes 14 bytes plus its name,
    /// labels (4 bytes each plus their text) and 8 bytes of timestamp.
    pub fn buffer_bytes(mut self, bytes: usize) -> Self {
        self.buffer_bytes = bytes;
        self
    }

    /// Bytes of staging per recording thread (default
    /// [`DEFAULT_STAGING_BYTES_PER_THREAD`], at most a sixteenth of the
    /// buffer). Each thread that records appends its points (16 bytes: a
    /// series id, the second, the value) to a ring of its own, without
    /// locks; the flush thread encodes batches straight from the rings, and
    /// flushes early when a ring is half full (whole batches only: the rest
    /// waits for the next flush or the interval). A full ring (the flush is
    /// behind, or paused by a 429) sends the thread's points into the
    /// shared buffer, where they are kept or counted like any other.
    ///
    /// Memory per recording thread, on top of the buffer: this, plus the
    /// series it remembers (at most 32, a few hundred bytes each); at most
    /// [`MAX_STAGING_THREADS`] threads get a ring, and a ring is freed at
    /// the first flush after its thread ended. Each client also keeps every
    /// series it staged, encoded once (~150 bytes each, at most 10,000;
    /// points of further series take the buffer's lock). Under 48 bytes
    /// (e.g. 0) turns staging off: every point takes the buffer's lock.
    pub fn staging_bytes_per_thread(mut self, bytes: usize) -> Self {
        self.staging_bytes = bytes;
        self
    }

    /// Longest wait in `flush()`, `shutdown()` and drop (default
    /// [`DEFAULT_SHUTDOWN_TIMEOUT`]).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Checks the configuration and allocates the buffer. Nothing runs until
    /// [`MetricsClient::start`] or [`MetricsClient::flush`].
    pub fn build(self) -> Result<MetricsClient, ConfigError> {
        EndpointUrls::new(&self.base_url)?;
        let api_key = ApiKey::new(self.api_key)?;
        if let Some(project) = &self.project {
            validate_project(project).map_err(|_| ConfigError::InvalidProject)?;
        }
        check_duration(self.flush_interval, "flush_interval")?;
        check_duration(self.timeout, "timeout")?;
        let buffer = MetricBuffer::with_storage(vec![0u8; self.buffer_bytes].into_boxed_slice());
        crate::clock::start();
        let shared = Arc::new(Shared {
            buffer: SharedBuffer(Mutex::new(buffer)),
            // A ring never holds more than a sixteenth of the buffer, so
            // the buffer's half-full mark still triggers early flushes.
            staging: Staging::new(
                self.staging_bytes.min(self.buffer_bytes / 16),
                MAX_STAGING_THREADS,
            ),
            warned_full: AtomicBool::new(false),
            flush_soon: AtomicBool::new(false),
            config: WorkerConfig {
                base_url: self.base_url,
                api_key,
                project: self.project,
                flush_interval: self.flush_interval,
                timeout: self.timeout,
            },
        });
        Ok(MetricsClient {
            inner: Arc::new(Inner {
                shared,
                worker: Mutex::new(None),
                shutdown_timeout: self.shutdown_timeout,
            }),
        })
    }
}

/// Buffers metric points and sends them to a monlight metrics collector in
/// batches: periodically from a background thread once [`start`] ran, on
/// [`flush`], and at [`shutdown`] or when the last clone is dropped.
///
/// Recording never waits on the network and takes no lock: it stamps the
/// point with the current UTC second (read from memory, kept by a clock
/// thread) and appends the series' id, the second and the value to the
/// calling thread's staging ring; a series is validated and its JSON
/// encoded once, the first time the client sees it. The flush thread
/// encodes batches from the rings; a full ring spills into the bounded
/// buffer. What does not fit is refused, logged and counted ([`stats`]);
/// points from one thread arrive in the order recorded. For the hottest
/// series, [`register_counter`] returns a handle that skips the lookup.
/// Batches respect the collector's limits (1000 items, 524,287 bytes); a
/// 429 pauses sending for the `retry_after` it names.
///
/// ```no_run
/// use monlight_std::MetricsClient;
///
/// let metrics = MetricsClient::new("http://localhost:5012", "my-key")?;
/// metrics.start();
/// metrics.counter("signups_total", &[("plan", "pro")]);
/// metrics.counter_by("page_views", &[("page", "/home")], 5.0);
/// metrics.histogram("response_time_ms", 42.5, &[("endpoint", "/api/users")]);
/// metrics.gauge("active_connections", 15.0, &[("service", "api")]);
/// metrics.shutdown();
/// # Ok::<(), monlight_std::ConfigError>(())
/// ```
///
/// [`start`]: MetricsClient::start
/// [`flush`]: MetricsClient::flush
/// [`shutdown`]: MetricsClient::shutdown
/// [`stats`]: MetricsClient::stats
/// [`register_counter`]: MetricsClient::register_counter
#[derive(Clone)]
pub struct MetricsClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MetricsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let config = &self.inner.shared.config;
        f.debug_struct("MetricsClient")
            .field("base_url", &config.base_url)
            .field("api_key", &config.api_key)
            .field("project", &config.project)
            .field("flush_interval", &config.flush_interval)
            .field("timeout", &config.timeout)
            .finish_non_exhaustive()
    }
}

struct Inner {
    shared: Arc<Shared>,
    worker: Mutex<Option<Worker>>,
    shutdown_timeout: Duration,
}

struct Shared {
    buffer: SharedBuffer,
    /// Per-thread rings in front of `buffer` (the recording fast path).
    staging: Staging,
    /// One warning per episode of a full buffer, not one per point.
    warned_full: AtomicBool,
    /// An early flush was asked for (buffer half full) and has not run yet.
    flush_soon: AtomicBool,
    config: WorkerConfig,
}

struct WorkerConfig {
    base_url: String,
    api_key: ApiKey,
    project: Option<String>,
    flush_interval: Duration,
    timeout: Duration,
}

/// The buffer behind a mutex; a poisoned lock is still a good buffer (its
/// state is consistent after every call), so poisoning is ignored.
pub(crate) struct SharedBuffer(Mutex<MetricBuffer<Box<[u8]>>>);

impl SharedBuffer {
    pub(crate) fn lock(&self) -> MutexGuard<'_, MetricBuffer<Box<[u8]>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl BufferAccess for SharedBuffer {
    type Storage = Box<[u8]>;

    fn with_buffer<R>(&self, f: impl FnOnce(&mut MetricBuffer<Box<[u8]>>) -> R) -> R {
        f(&mut self.lock())
    }
}

impl MetricsClient {
    /// A client with the reference defaults: flush every 10 s, 5 s timeout,
    /// no project.
    pub fn new(base_url: &str, api_key: &str) -> Result<Self, ConfigError> {
        Self::builder(base_url, api_key).build()
    }

    /// A client configured from the environment:
    /// `MONLIGHT_METRICS_COLLECTOR_URL` and `MONLIGHT_API_KEY` (required),
    /// `MONLIGHT_PROJECT` and `MONLIGHT_FLUSH_INTERVAL` (see [`crate::env`]).
    /// Not started: call [`MetricsClient::start`].
    ///
    /// ```no_run
    /// let metrics = monlight_std::MetricsClient::from_env()?;
    /// metrics.start();
    /// # Ok::<(), monlight_std::ConfigError>(())
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        let settings = crate::env::Settings::from_env()?;
        let url = crate::env::required(
            crate::env::METRICS_COLLECTOR_URL,
            &settings.metrics_collector_url,
        )?;
        let mut builder = Self::builder(url, settings.required_api_key()?);
        if let Some(project) = settings.project {
            builder = builder.project(project);
        }
        if let Some(interval) = settings.flush_interval {
            builder = builder.flush_interval(interval);
        }
        builder.build()
    }

    /// A builder to change the defaults.
    pub fn builder(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
    ) -> MetricsClientBuilder {
        MetricsClientBuilder {
            base_url: base_url.into(),
            api_key: api_key.into(),
            flush_interval: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            project: None,
            buffer_bytes: DEFAULT_BUFFER_BYTES,
            staging_bytes: DEFAULT_STAGING_BYTES_PER_THREAD,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }

    /// Counts one occurrence (`value` 1).
    pub fn counter(&self, name: &str, labels: &[Label<'_>]) {
        self.record(MetricKind::Counter, name, 1.0, labels);
    }

    /// Counts `value` occurrences in one point.
    pub fn counter_by(&self, name: &str, labels: &[Label<'_>], value: f64) {
        self.record(MetricKind::Counter, name, value, labels);
    }

    /// Records one observation of a distribution (a duration, a size).
    pub fn histogram(&self, name: &str, value: f64, labels: &[Label<'_>]) {
        self.record(MetricKind::Histogram, name, value, labels);
    }

    /// Records the current value of something.
    pub fn gauge(&self, name: &str, value: f64, labels: &[Label<'_>]) {
        self.record(MetricKind::Gauge, name, value, labels);
    }

    fn record(&self, kind: MetricKind, name: &str, value: f64, labels: &[Label<'_>]) {
        self.record_all(&[Metric::new(kind, name, labels, value)]);
    }

    /// Records several points with one clock reading, each stamped with
    /// the current UTC second (e.g. a request's counter and histogram).
    /// Every refusal is counted and logged (a full buffer once per
    /// episode, not once per point).
    ///
    /// ```no_run
    /// use monlight_std::{Metric, MetricsClient};
    ///
    /// let metrics = MetricsClient::new("http://localhost:5012", "my-key")?;
    /// let labels = [("route", "/checkout")];
    /// metrics.record_all(&[Metric::counter("orders_total", &labels, 1.0), Metric::histogram("order_eur", &labels, 42.0)]);
    /// # Ok::<(), monlight_std::ConfigError>(())
    /// ```
    pub fn record_all(&self, points: &[Metric<'_>]) {
        let now = unix_now();
        for point in points {
            let point = point.at(now);
            if self.inner.stage(|s| s.push(&point)).is_err() {
                self.inner.record_direct(&point);
            }
        }
    }

    /// The ids of `series` in this client's table (interned now if new),
    /// for a caller that keeps them and records through
    /// [`MetricsClient::record_interned`]; `None` if one cannot be staged
    /// (invalid, staging off, the table full).
    #[cfg(feature = "axum")] // for the request metrics' route cache
    pub(crate) fn intern_all<const N: usize>(&self, series: &[Metric<'_>; N]) -> Option<[u32; N]> {
        let mut ids = [0; N];
        for (id, series) in ids.iter_mut().zip(series) {
            *id = self.inner.shared.staging.intern(series)?;
        }
        Some(ids)
    }

    /// Records `points` as [`MetricsClient::record_all`] does, their series
    /// known by the ids [`MetricsClient::intern_all`] gave: no comparing
    /// of names and labels.
    #[cfg(feature = "axum")] // for the request metrics' route cache
    pub(crate) fn record_interned(&self, ids: &[u32], points: &[Metric<'_>]) {
        let now = unix_now();
        for (&id, point) in ids.iter().zip(points) {
            if !self.inner.stage_interned(Some(id), point.value, now) {
                self.inner.record_direct(&point.at(now));
            }
        }
    }

    /// This client among all others, living or dropped: never reused.
    #[cfg(feature = "axum")] // for the request metrics' route cache
    pub(crate) fn id(&self) -> u64 {
        self.inner.shared.staging.id()
    }

    /// Registers a counter series once (name and labels validated and
    /// encoded now) and returns a handle that records it cheaply: no
    /// validation, no lookup per call, 16 bytes into this thread's ring.
    /// Use it for a series recorded on a hot path; it records exactly what
    /// [`MetricsClient::counter_by`] would. The handle keeps the client
    /// alive like a clone.
    ///
    /// ```no_run
    /// use monlight_std::MetricsClient;
    ///
    /// let metrics = MetricsClient::new("http://localhost:5012", "my-key")?;
    /// let jobs = metrics.register_counter("jobs_total", &[("queue", "mail")])?;
    /// jobs.increment();
    /// jobs.record(3.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn register_counter(
        &self,
        name: &str,
        labels: &[Label<'_>],
    ) -> Result<Series, MetricError> {
        self.register(MetricKind::Counter, name, labels)
    }

    /// Registers a histogram series; see [`MetricsClient::register_counter`].
    pub fn register_histogram(
        &self,
        name: &str,
        labels: &[Label<'_>],
    ) -> Result<Series, MetricError> {
        self.register(MetricKind::Histogram, name, labels)
    }

    /// Registers a gauge series; see [`MetricsClient::register_counter`].
    pub fn register_gauge(&self, name: &str, labels: &[Label<'_>]) -> Result<Series, MetricError> {
        self.register(MetricKind::Gauge, name, labels)
    }

    fn register(
        &self,
        kind: MetricKind,
        name: &str,
        labels: &[Label<'_>],
    ) -> Result<Series, MetricError> {
        let series = Metric::new(kind, name, labels, 0.0);
        series.validate()?;
        Ok(Series {
            client: self.clone(),
            // `None` when staging is off or the client's series table is
            // full: its points take the per-call path.
            id: self.inner.shared.staging.intern(&series),
            kind,
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        })
    }

    /// Starts the periodic flush thread. Idempotent. The thread never keeps
    /// the process alive.
    pub fn start(&self) {
        self.command(Command::StartPeriodic);
    }

    /// Sends everything buffered now and waits (at most the shutdown
    /// timeout) until it is done. Returns what the flush did, or `None` if
    /// the wait timed out (the flush goes on in the background).
    pub fn flush(&self) -> Option<FlushReport> {
        let (ack, done) = mpsc::sync_channel(1);
        self.command(Command::Flush(ack));
        done.recv_timeout(self.inner.shutdown_timeout).ok()
    }

    /// Stops the flush thread after a last flush. Idempotent; waits at most
    /// the shutdown timeout. Points recorded afterwards stay buffered until
    /// the next `flush()` or `start()`.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }

    /// Where every point went so far (points still in recording threads'
    /// rings count as recorded).
    pub fn stats(&self) -> Stats {
        let staged = self.inner.shared.staging.pending();
        let mut stats = self.inner.shared.buffer.lock().stats();
        stats.recorded += staged as u64;
        stats
    }

    /// Points waiting to be sent.
    pub fn buffered(&self) -> usize {
        self.inner.shared.buffered()
    }

    fn command(&self, command: Command) {
        let mut worker = self
            .inner
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let worker = worker.get_or_insert_with(|| Worker::spawn(Arc::clone(&self.inner.shared)));
        if let Err(mpsc::SendError(command)) = worker.commands.send(command) {
            // The thread is gone (it cannot panic by design, but be sure).
            log::warn!("monlight: metrics flush thread stopped unexpectedly; restarting");
            *worker = Worker::spawn(Arc::clone(&self.inner.shared));
            let _ = worker.commands.send(command);
        }
    }
}

impl Shared {
    /// Points in the buffer and in the recording threads' rings.
    fn buffered(&self) -> usize {
        let staged = self.staging.pending();
        self.buffer.lock().len() + staged
    }

    /// Sends what is buffered and staged (all of it, or whole batches of
    /// it).
    fn flush<T: Transport>(
        &self,
        flusher: &mut Flusher<'_>,
        transport: &mut T,
        out: &mut [u8],
        now_ms: u64,
        drain: Drain,
    ) -> FlushReport {
        let at = (now_ms, drain);
        self.staging
            .flush(flusher, &self.buffer, transport, out, at)
    }

    fn warn_refused(&self, error: RecordError, name: &str) {
        match error {
            RecordError::Full => {
                if !self.warned_full.swap(true, Ordering::Relaxed) {
                    log::warn!(
                        "monlight: metrics buffer full, dropping points until the next flush (counted in stats)"
                    );
                }
            }
            RecordError::Invalid(e) => {
                log::warn!("monlight: metric {:?} dropped: {e}", truncate(name, 64));
            }
        }
    }
}

impl Inner {
    /// Stages a point in this thread's ring (the fast path), asking for an
    /// early flush when the ring is half full. `Err` if the point must go
    /// to the buffer directly (no ring, or the ring is full).
    fn stage(&self, push: impl FnOnce(&Staging) -> Result<Staged, Unstaged>) -> Result<(), ()> {
        match push(&self.shared.staging) {
            Ok(Staged::Done) => Ok(()),
            Ok(Staged::HalfFull) => {
                self.flush_early_if(true);
                Ok(())
            }
            Err(Unstaged::Direct) => Err(()),
            Err(Unstaged::Full) => {
                self.flush_early_if(true);
                Err(())
            }
        }
    }

    /// Stages a point of the interned series `id`; `false` if it must go
    /// to the buffer directly (no id, no ring, a full one, a non-finite
    /// value), where it is validated, counted and logged per call.
    fn stage_interned(&self, id: Option<u32>, value: f64, unix_seconds: u64) -> bool {
        id.is_some_and(|id| {
            self.stage(|s| s.push_series(id, value, unix_seconds))
                .is_ok()
        })
    }

    /// Records `point` in the buffer directly: validated, counted and
    /// logged as always.
    fn record_direct(&self, point: &Metric<'_>) {
        let (result, half_full) = {
            let mut buffer = self.shared.buffer.lock();
            (buffer.record(point), is_half_full(&buffer))
        };
        if let Err(error) = result {
            self.shared.warn_refused(error, point.name);
        }
        self.flush_early_if(half_full);
    }

    /// Under load, flush before the interval rather than drop points: once
    /// per episode, and only if the flush thread runs.
    fn flush_early_if(&self, half_full: bool) {
        if half_full && !self.shared.flush_soon.swap(true, Ordering::Relaxed) {
            let worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(worker) = worker.as_ref() {
                let _ = worker.commands.send(Command::FlushSoon);
            }
        }
    }

    fn shutdown(&self) {
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(worker) = worker else {
            if self.shared.buffered() > 0 {
                // Never started: flush what is there on a short-lived thread.
                let worker = Worker::spawn(Arc::clone(&self.shared));
                worker.stop(self.shutdown_timeout);
            }
            return;
        };
        worker.stop(self.shutdown_timeout);
    }
}

impl Drop for Inner {
    /// The last handle flushes what is left, within the shutdown timeout.
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A series registered once with [`MetricsClient::register_counter`] (or
/// `register_histogram`, `register_gauge`): records points of that name,
/// labels and kind without validating or encoding them again. Keeps its
/// client alive like a clone of it.
#[derive(Clone)]
pub struct Series {
    client: MetricsClient,
    /// The series' id in the client's table, its JSON encoded once
    /// (`None`: staging off or the table full; points take the buffer's
    /// path).
    id: Option<u32>,
    kind: MetricKind,
    name: Box<str>,
    labels: Box<[(Box<str>, Box<str>)]>,
}

impl std::fmt::Debug for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Series")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Series {
    /// Records one point with this value, stamped with the current UTC
    /// second. A non-finite value is refused, logged and counted.
    pub fn record(&self, value: f64) {
        let now = unix_now();
        let inner = &self.client.inner;
        if !inner.stage_interned(self.id, value, now) {
            // Not staged (no ring, too long, a non-finite value): the
            // buffer validates, counts and logs it as a per-call point.
            let mut labels = [("", ""); monlight_core::limits::MAX_LABELS];
            for (slot, (key, value)) in labels.iter_mut().zip(self.labels.iter()) {
                *slot = (&**key, &**value);
            }
            let labels = &labels[..self.labels.len()];
            inner.record_direct(&Metric::new(self.kind, &self.name, labels, value).at(now));
        }
    }

    /// Records the value 1 (a counter's one occurrence).
    pub fn increment(&self) {
        self.record(1.0);
    }
}

enum Command {
    StartPeriodic,
    /// The buffer is half full: flush now if flushing periodically.
    FlushSoon,
    Flush(SyncSender<FlushReport>),
    Shutdown(SyncSender<FlushReport>),
}

struct Worker {
    commands: mpsc::Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    fn spawn(shared: Arc<Shared>) -> Self {
        let (commands, inbox) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("monlight-metrics".into())
            .spawn(move || run_worker(&shared, &inbox));
        if let Err(e) = &thread {
            // No thread: commands go nowhere; recording still works and the
            // points stay buffered (and counted) until a flush can run.
            log::warn!("monlight: could not start the metrics flush thread: {e}");
        }
        Self {
            commands,
            thread: thread.ok(),
        }
    }

    fn stop(self, wait: Duration) {
        let (ack, done) = mpsc::sync_channel(1);
        if self.commands.send(Command::Shutdown(ack)).is_ok() {
            match done.recv_timeout(wait) {
                Ok(_) => {
                    if let Some(thread) = self.thread {
                        let _ = thread.join();
                    }
                }
                Err(_) => log::warn!(
                    "monlight: final metrics flush did not finish within {wait:?}; leaving it"
                ),
            }
        }
    }
}

/// The flush thread: owns the transport (for `https://`, a blocking
/// reqwest client, which must live outside any async runtime), the encode
/// buffer and the flusher.
fn run_worker(shared: &Shared, inbox: &mpsc::Receiver<Command>) {
    let config = &shared.config;
    let mut transport = match BlockingHttp::new(&config.base_url, &config.api_key, config.timeout) {
        Ok(http) => Some(http),
        Err(e) => {
            log::warn!("monlight: metrics transport unavailable: {e}");
            None
        }
    };
    let mut out = vec![0u8; MAX_METRICS_BODY];
    let mut flusher = Flusher::new(config.project.as_deref());
    let origin = Instant::now();
    let mut flush = |drain| {
        let now_ms = u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        // A buffer that fills up again while this flush runs asks for the
        // next one at once.
        shared.flush_soon.store(false, Ordering::Relaxed);
        let report = match transport.as_mut() {
            Some(http) => shared.flush(&mut flusher, http, &mut out, now_ms, drain),
            None => shared.flush(&mut flusher, &mut Unavailable, &mut out, now_ms, drain),
        };
        shared.warned_full.store(false, Ordering::Relaxed);
        log_report(&report);
        report
    };
    let mut periodic = false;
    let mut next = Instant::now();
    loop {
        let received = if periodic {
            inbox.recv_timeout(next.saturating_duration_since(Instant::now()))
        } else {
            inbox.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        match received {
            Ok(Command::StartPeriodic) => {
                if !periodic {
                    periodic = true;
                    next = Instant::now() + config.flush_interval;
                }
            }
            Ok(Command::Flush(ack)) => {
                let _ = ack.send(flush(Drain::All));
            }
            Ok(Command::FlushSoon) => {
                if periodic {
                    flush(Drain::FullBatches);
                }
            }
            Ok(Command::Shutdown(ack)) => {
                let _ = ack.send(flush(Drain::All));
                return;
            }
            Err(RecvTimeoutError::Timeout) => {
                flush(Drain::All);
                next = Instant::now() + config.flush_interval;
            }
            Err(RecvTimeoutError::Disconnected) => {
                flush(Drain::All);
                return;
            }
        }
    }
}

/// Stands in when the HTTP client could not be built: every batch fails and
/// is counted.
struct Unavailable;

impl Transport for Unavailable {
    fn send(&mut self, _: Endpoint, _: &[u8]) -> Outcome {
        Outcome::Failed(TransportError::InvalidRequest)
    }
}

fn log_report(report: &FlushReport) {
    if let Some(failure) = &report.last_failure {
        log::warn!(
            "monlight: {} metric points lost in this flush: {failure}",
            report.dropped
        );
    } else if report.dropped > 0 {
        log::warn!(
            "monlight: {} metric points too large to send were dropped",
            report.dropped
        );
    }
    if report.paused {
        log::debug!("monlight: metrics collector asked to wait (429); points stay buffered");
    }
}

fn is_half_full(buffer: &MetricBuffer<Box<[u8]>>) -> bool {
    buffer.used_bytes() * 2 >= buffer.capacity_bytes()
}

/// At most `max` characters of `s`, for log lines.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(i, _)| &s[..i])
}
