//! Series registered once, recorded without validating or encoding again.

use monlight_core::{Label, Metric, MetricError, MetricKind};

use super::MetricsClient;
use crate::clock::unix_now;

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

impl Series {
    /// Validates and registers the series with `client`.
    pub(super) fn register(
        client: &MetricsClient,
        kind: MetricKind,
        name: &str,
        labels: &[Label<'_>],
    ) -> Result<Self, MetricError> {
        let shared = &client.inner.shared;
        let mut merged = [("", ""); 2 * monlight_core::limits::MAX_LABELS];
        let labels = shared.labels.merge(labels, &mut merged);
        let series = Metric::new(kind, name, labels, 0.0);
        series.validate()?;
        Ok(Series {
            client: client.clone(),
            // `None` when staging is off or the client's series table is
            // full: its points take the per-call path.
            id: shared.staging.intern(&series),
            kind,
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        })
    }
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
        let inner = &self.client.inner;
        if !inner.shared.enabled {
            return;
        }
        let now = unix_now();
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
