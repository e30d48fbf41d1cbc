//! The metrics client's settings and their defaults.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use monlight_core::{
    DEFAULT_FLUSH_INTERVAL_SECS, DEFAULT_TIMEOUT_SECS, MetricBuffer, validate_project,
};

use super::global_labels::GlobalLabels;
use super::{Inner, MetricsClient, Shared, SharedBuffer, WorkerConfig};
use crate::config::{ApiKey, ConfigError, EndpointUrls, check_duration};
use crate::staging::Staging;

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
    labels: GlobalLabels,
    enabled: bool,
}

impl MetricsClientBuilder {
    /// The reference defaults, for [`MetricsClient::builder`].
    pub(super) fn new(base_url: String, api_key: String) -> Self {
        Self {
            base_url,
            api_key,
            flush_interval: Duration::from_secs(DEFAULT_FLUSH_INTERVAL_SECS),
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            project: None,
            buffer_bytes: DEFAULT_BUFFER_BYTES,
            staging_bytes: DEFAULT_STAGING_BYTES_PER_THREAD,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            labels: GlobalLabels::default(),
            enabled: true,
        }
    }

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
    /// series it remembers (at most 256, a few hundred bytes each); at most
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

    /// Labels added to every point (e.g. service, host, version); a
    /// point's own label of the same key wins. At most 16 labels in all
    /// per point: a point over it is refused and counted.
    ///
    /// ```
    /// let metrics = monlight_std::MetricsClient::builder("http://localhost:5012", "my-key")
    ///     .labels([("service", "checkout"), ("version", env!("CARGO_PKG_VERSION"))])
    ///     .build()?;
    /// # Ok::<(), monlight_std::ConfigError>(())
    /// ```
    pub fn labels<K: Into<Box<str>>, V: Into<Box<str>>>(
        mut self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.labels = GlobalLabels::new(labels);
        self
    }

    /// `false` turns every recording into a no-op: nothing is buffered or
    /// sent (for tests and local runs). Default `true`.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
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
        monlight_core::Metric::gauge("labels", &self.labels.as_pairs(), 0.0)
            .validate()
            .map_err(ConfigError::InvalidLabels)?;
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
            labels: self.labels,
            enabled: self.enabled,
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
