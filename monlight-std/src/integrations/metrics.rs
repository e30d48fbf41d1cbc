//! monlight as the [`metrics`] crate's recorder: `metrics::counter!`,
//! `gauge!` and `histogram!`, from your code or any library, reach the
//! metrics collector as counter, gauge and histogram points with their
//! labels.
//!
//! ```no_run
//! use monlight_std::MetricsClient;
//! use monlight_std::integrations::metrics::MonlightRecorder;
//!
//! let client = MetricsClient::new("http://localhost:5012", "my-key")?;
//! client.start();
//! MonlightRecorder::new(client).install()?;
//!
//! metrics::counter!("signups_total", "plan" => "pro").increment(1);
//! metrics::gauge!("queue_depth").set(12.0);
//! metrics::histogram!("request_seconds", "route" => "/users/{id}").record(0.042);
//!
//! // A handle registered once records without a lookup per call.
//! let jobs = metrics::counter!("jobs_total", "queue" => "default");
//! jobs.increment(1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! monlight keeps every event as a point (the collector aggregates per
//! minute); `metrics` descriptions and units are not part of the protocol
//! and are ignored.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SetRecorderError, SharedString, Unit,
};
use monlight_core::limits::MAX_LABELS;

use crate::{Label, MetricKind, MetricsClient};

/// A [`metrics::Recorder`] that records into a [`MetricsClient`].
///
/// A key's gauge and counter keep their value across handles: a second
/// `gauge!("q", "queue" => "a")` continues where the first left off, as
/// `metrics` users expect (up to [`MAX_KEPT_KEYS`] keys of each kind;
/// further keys get handles of their own, logged once).
#[derive(Clone, Debug)]
pub struct MonlightRecorder {
    client: MetricsClient,
    kept: Arc<Mutex<Kept>>,
}

/// Keys whose gauge or counter state is shared by every handle.
pub const MAX_KEPT_KEYS: usize = 10_000;

/// The handles made so far, by key.
#[derive(Debug, Default)]
struct Kept {
    gauges: HashMap<Key, Arc<GaugeHandle>>,
    counters: HashMap<Key, Arc<CounterHandle>>,
    warned: bool,
}

impl MonlightRecorder {
    /// A recorder for `client` (start its flush thread with
    /// [`MetricsClient::start`]).
    pub fn new(client: MetricsClient) -> Self {
        Self {
            client,
            kept: Arc::default(),
        }
    }

    /// The handle kept for `key`, made by `make` the first time.
    fn kept<H>(
        &self,
        key: &Key,
        table: impl Fn(&mut Kept) -> &mut HashMap<Key, Arc<H>>,
        make: impl FnOnce() -> H,
    ) -> Arc<H> {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(handle) = table(&mut kept).get(key) {
            return Arc::clone(handle);
        }
        let handle = Arc::new(make());
        if table(&mut kept).len() < MAX_KEPT_KEYS {
            table(&mut kept).insert(key.clone(), Arc::clone(&handle));
        } else if !std::mem::replace(&mut kept.warned, true) {
            log::warn!(
                "monlight: more than {MAX_KEPT_KEYS} metrics keys of one kind; further handles keep no shared value"
            );
        }
        handle
    }

    /// Makes this the process-wide recorder of the `metrics` macros. Fails
    /// if a recorder is already installed.
    pub fn install(self) -> Result<(), SetRecorderError<Self>> {
        metrics::set_global_recorder(self)
    }

    fn series(&self, key: &Key) -> Series {
        Series {
            client: self.client.clone(),
            name: key.name().to_owned(),
            labels: key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect(),
        }
    }
}

impl Recorder for MonlightRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.kept(
            key,
            |kept| &mut kept.counters,
            || CounterHandle {
                series: self.series(key),
                total: AtomicU64::new(0),
            },
        ))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.kept(
            key,
            |kept| &mut kept.gauges,
            || GaugeHandle {
                series: self.series(key),
                bits: AtomicU64::new(0f64.to_bits()),
            },
        ))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(self.series(key)))
    }
}

/// One series: the client, its name and labels, built once per handle.
#[derive(Debug)]
struct Series {
    client: MetricsClient,
    name: String,
    labels: Box<[(String, String)]>,
}

impl Series {
    fn record(&self, kind: MetricKind, value: f64) {
        // Borrowed labels on the stack: no allocation per call. A series
        // with more labels than the collector allows is passed whole, so
        // the client refuses it and counts it as invalid.
        let mut borrowed: [Label<'_>; MAX_LABELS] = [("", ""); MAX_LABELS];
        let labels: Vec<Label<'_>>;
        let labels: &[Label<'_>] = if self.labels.len() <= MAX_LABELS {
            for (slot, (k, v)) in borrowed.iter_mut().zip(self.labels.iter()) {
                *slot = (k, v);
            }
            &borrowed[..self.labels.len()]
        } else {
            labels = self
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            &labels
        };
        self.client
            .record_all(&[crate::Metric::new(kind, &self.name, labels, value)]);
    }
}

impl HistogramFn for Series {
    fn record(&self, value: f64) {
        Series::record(self, MetricKind::Histogram, value);
    }
}

/// A counter: each increment is a point with its value; `absolute` sends
/// the increase since the last known total.
#[derive(Debug)]
struct CounterHandle {
    series: Series,
    total: AtomicU64,
}

impl CounterFn for CounterHandle {
    fn increment(&self, value: u64) {
        self.total.fetch_add(value, Ordering::Relaxed);
        self.series.record(MetricKind::Counter, value as f64);
    }

    fn absolute(&self, value: u64) {
        let before = self.total.fetch_max(value, Ordering::Relaxed);
        if value > before {
            self.series
                .record(MetricKind::Counter, (value - before) as f64);
        }
    }
}

/// A gauge: keeps its current value so increments and decrements are
/// exact, and sends the value after each change.
#[derive(Debug)]
struct GaugeHandle {
    series: Series,
    bits: AtomicU64,
}

impl GaugeHandle {
    fn update(&self, change: impl Fn(f64) -> f64) {
        let mut current = self.bits.load(Ordering::Relaxed);
        loop {
            let next = change(f64::from_bits(current));
            match self.bits.compare_exchange_weak(
                current,
                next.to_bits(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return self.series.record(MetricKind::Gauge, next),
                Err(actual) => current = actual,
            }
        }
    }
}

impl GaugeFn for GaugeHandle {
    fn increment(&self, value: f64) {
        self.update(|current| current + value);
    }

    fn decrement(&self, value: f64) {
        self.update(|current| current - value);
    }

    fn set(&self, value: f64) {
        self.update(|_| value);
    }
}
