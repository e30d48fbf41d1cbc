//! Counters that say where every recorded point went.

/// Where every point went, since the buffer was created.
///
/// At any quiet moment (no flush in progress):
/// `recorded == sent + dropped_in_flight() + buffered` where `buffered` is
/// [`MetricBuffer::len`](crate::MetricBuffer::len), and every call to
/// `record` adds one to exactly one of `recorded`, `dropped_full` or
/// `dropped_invalid`.
///
/// ```
/// use monlight_core::{Metric, MetricBuffer};
///
/// let mut buffer = MetricBuffer::<[u8; 256]>::new();
/// buffer.record(&Metric::counter("jobs_total", &[], 1.0)).unwrap();
/// assert!(buffer.record(&Metric::counter("", &[], 1.0)).is_err());
/// let stats = buffer.stats();
/// assert_eq!((stats.recorded, stats.dropped_invalid), (1, 1));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// Points accepted into the buffer.
    pub recorded: u64,
    /// Points the server accepted (2xx).
    pub sent: u64,
    /// Points refused because the buffer was full (for error reports:
    /// because too many were already waiting or on their way).
    pub dropped_full: u64,
    /// Points refused because they broke a rule (name, value, labels).
    pub dropped_invalid: u64,
    /// Points in batches the server refused (4xx/5xx other than 429).
    pub dropped_rejected: u64,
    /// Points in batches answered with 429.
    pub dropped_rate_limited: u64,
    /// Points in batches that never got an answer (connect, I/O, timeout,
    /// unreadable response).
    pub dropped_transport: u64,
    /// Points too large to fit any batch (bigger than the encode buffer).
    pub dropped_oversize: u64,
    /// Batches sent (whatever their outcome).
    pub batches: u64,
}

impl Stats {
    /// Every point refused or lost, whatever the reason.
    pub const fn dropped(&self) -> u64 {
        self.dropped_full + self.dropped_invalid + self.dropped_in_flight()
    }

    /// Points accepted into the buffer and lost afterwards.
    pub const fn dropped_in_flight(&self) -> u64 {
        self.dropped_rejected
            + self.dropped_rate_limited
            + self.dropped_transport
            + self.dropped_oversize
    }
}
