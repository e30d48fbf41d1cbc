//! `MetricsClient`: the reference client's metrics API over the core's
//! bounded buffer and flush engine, with a background flush thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use monlight_core::{
    BufferAccess, Drain, FlushReport, Flusher, Label, Metric, MetricBuffer, MetricError,
    MetricKind, Now, RecordError, Stats, Transport,
};

use crate::check::{CheckError, Server, ServerCheck, check};
use crate::clock::unix_now;
use crate::config::{ApiKey, ConfigError};
use crate::staging::{Staged, Staging, Unstaged};

mod builder;
mod global_labels;
mod series;
mod worker;

pub use builder::{
    DEFAULT_BUFFER_BYTES, DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_STAGING_BYTES_PER_THREAD,
    MAX_STAGING_THREADS, MetricsClientBuilder,
};
use global_labels::GlobalLabels;
use monlight_core::limits::MAX_LABELS;
pub use series::Series;
use worker::{Command, Worker};

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
    /// Added to every point.
    labels: GlobalLabels,
    /// `false`: every recording is a no-op.
    enabled: bool,
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
    /// `MONLIGHT_PROJECT`, `MONLIGHT_FLUSH_INTERVAL` and `MONLIGHT_ENABLED`
    /// (see [`crate::env`]).
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
        if let Some(enabled) = settings.enabled {
            builder = builder.enabled(enabled);
        }
        builder.build()
    }

    /// A builder to change the defaults.
    pub fn builder(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
    ) -> MetricsClientBuilder {
        MetricsClientBuilder::new(base_url.into(), api_key.into())
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
        let shared = &self.inner.shared;
        if !shared.enabled {
            return;
        }
        let now = unix_now();
        for point in points {
            let mut merged = [("", ""); 2 * MAX_LABELS];
            let point = match shared.labels.is_empty() {
                true => point.at(now),
                false => Metric {
                    labels: shared.labels.merge(point.labels, &mut merged),
                    ..*point
                }
                .at(now),
            };
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
        let shared = &self.inner.shared;
        let mut ids = [0; N];
        for (id, series) in ids.iter_mut().zip(series) {
            let mut merged = [("", ""); 2 * MAX_LABELS];
            let labels = shared.labels.merge(series.labels, &mut merged);
            *id = shared.staging.intern(&Metric { labels, ..*series })?;
        }
        Some(ids)
    }

    /// Records `points` as [`MetricsClient::record_all`] does, their series
    /// known by the ids [`MetricsClient::intern_all`] gave: no comparing
    /// of names and labels.
    #[cfg(feature = "axum")] // for the request metrics' route cache
    pub(crate) fn record_interned(&self, ids: &[u32], points: &[Metric<'_>]) {
        let shared = &self.inner.shared;
        if !shared.enabled {
            return;
        }
        let now = unix_now();
        for (&id, point) in ids.iter().zip(points) {
            if !self.inner.stage_interned(Some(id), point.value, now) {
                let mut merged = [("", ""); 2 * MAX_LABELS];
                let labels = shared.labels.merge(point.labels, &mut merged);
                self.inner
                    .record_direct(&Metric { labels, ..*point }.at(now));
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
        Series::register(self, kind, name, labels)
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

    /// Asks the collector, with one request that stores nothing, whether
    /// it is reachable and accepts the API key. Blocks for at most the
    /// client's timeout (from async code, call it in `spawn_blocking`).
    /// Both results print as a sentence, see
    /// [`ErrorClient::check`](crate::ErrorClient::check).
    pub fn check(&self) -> Result<ServerCheck, CheckError> {
        let config = &self.inner.shared.config;
        check(
            Server::MetricsCollector,
            &config.base_url,
            &config.api_key,
            config.timeout,
        )
    }

    /// Where every point went so far (points still in recording threads'
    /// rings count as recorded).
    pub fn stats(&self) -> Stats {
        let staging = &self.inner.shared.staging;
        let staged = staging.pending();
        let mut stats = self
            .inner
            .shared
            .buffer
            .lock()
            .stats()
            .plus(staging.stats());
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
    /// it): each batch filled from the shared buffer first, then from the
    /// rings.
    fn flush<T: Transport>(
        &self,
        flusher: &mut Flusher<'_>,
        transport: &mut T,
        out: &mut [u8],
        now: Now,
        drain: Drain,
    ) -> FlushReport {
        let source = (&self.buffer, &self.staging);
        let report = flusher.flush_part(&source, transport, out, now, drain);
        self.staging.forget_ended_threads();
        report
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

fn is_half_full(buffer: &MetricBuffer<Box<[u8]>>) -> bool {
    buffer.used_bytes() * 2 >= buffer.capacity_bytes()
}

/// At most `max` characters of `s`, for log lines.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(i, _)| &s[..i])
}
