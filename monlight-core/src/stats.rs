//! Counters that say where every recorded point (or error report) went,
//! and the one place where an outcome becomes a count.

use crate::report::ReportError;
use crate::transport::Outcome;

/// Where every point went, since the buffer was created. Error clients
/// keep the same counters for their reports.
///
/// At any quiet moment (no flush in progress):
/// `recorded == sent + dropped_in_flight() + buffered` where `buffered` is
/// [`MetricBuffer::len`](crate::MetricBuffer::len) (points kept for a retry
/// included), and every call to `record` adds one to exactly one of
/// `recorded`, `dropped_full` or `dropped_invalid`. A point ends as sent or
/// dropped under one reason, never both.
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
    /// because too many were already waiting). Points kept for a retry
    /// count against the buffer, so a long outage ends here.
    pub dropped_full: u64,
    /// Points refused because they broke a rule (name, value, labels).
    pub dropped_invalid: u64,
    /// Points in batches the server refused (4xx/5xx other than 429).
    pub dropped_rejected: u64,
    /// Points in batches answered with 429 that could not be kept for a
    /// retry. A 429's batch is normally kept and sent again: see
    /// `retried`.
    pub dropped_rate_limited: u64,
    /// Points in batches that were written but got no answer (a timeout,
    /// a broken connection, an unreadable response): the server may have
    /// stored them, so they are not sent twice.
    pub dropped_transport: u64,
    /// Points too large to fit any batch (bigger than the encode buffer).
    pub dropped_oversize: u64,
    /// Points whose batch the server provably did not store (a 429, or a
    /// request that never reached it), kept and sent again later. A point
    /// counts here once per failed attempt, and still ends as sent or
    /// dropped.
    pub retried: u64,
    /// Batches sent (whatever their outcome).
    pub batches: u64,
    /// Error reports the application chose not to send (sampled out, or
    /// dropped by its `before_send`): neither recorded nor dropped.
    pub filtered: u64,
}

impl Stats {
    /// All counters at zero (`Default`, usable in a `static`).
    pub const fn new() -> Self {
        Self {
            recorded: 0,
            sent: 0,
            dropped_full: 0,
            dropped_invalid: 0,
            dropped_rejected: 0,
            dropped_rate_limited: 0,
            dropped_transport: 0,
            dropped_oversize: 0,
            retried: 0,
            batches: 0,
            filtered: 0,
        }
    }

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

    /// Counts `items` sent in one request that ended with `outcome`: sent,
    /// kept for a retry ([`Outcome::can_retry`]), or dropped under its
    /// reason. Every delivery path counts through this. The request itself
    /// is counted in `batches` by whoever sent it.
    ///
    /// ```
    /// use monlight_core::{Outcome, Stats, TransportError};
    ///
    /// let mut stats = Stats::default();
    /// stats.count(3, &Outcome::Delivered { status: 202 });
    /// stats.count(2, &Outcome::Failed(TransportError::Connect));
    /// stats.count(1, &Outcome::Failed(TransportError::Timeout));
    /// assert_eq!((stats.sent, stats.retried, stats.dropped_transport), (3, 2, 1));
    /// ```
    pub fn count(&mut self, items: u64, outcome: &Outcome) {
        if outcome.can_retry() {
            self.retried += items;
        } else {
            self.count_final(items, outcome);
        }
    }

    /// Counts `items` whose last attempt ended with `outcome`: sent, or
    /// dropped under its reason, a retryable one included (what is given
    /// up at shutdown).
    pub fn count_final(&mut self, items: u64, outcome: &Outcome) {
        let counter = match outcome {
            Outcome::Delivered { .. } => &mut self.sent,
            Outcome::Rejected { .. } => &mut self.dropped_rejected,
            Outcome::RateLimited { .. } => &mut self.dropped_rate_limited,
            Outcome::Failed(_) => &mut self.dropped_transport,
        };
        *counter += items;
    }

    /// Counts an error report that could not be encoded:
    /// `dropped_oversize` or `dropped_invalid`.
    pub fn count_unencodable(&mut self, error: ReportError) {
        match error {
            ReportError::TooLarge => self.dropped_oversize += 1,
            ReportError::InvalidProject => self.dropped_invalid += 1,
        }
    }

    /// The counters of two sources of one client added up (e.g. a shared
    /// buffer and per-thread staging).
    #[must_use]
    pub const fn plus(self, other: Stats) -> Stats {
        Stats {
            recorded: self.recorded + other.recorded,
            sent: self.sent + other.sent,
            dropped_full: self.dropped_full + other.dropped_full,
            dropped_invalid: self.dropped_invalid + other.dropped_invalid,
            dropped_rejected: self.dropped_rejected + other.dropped_rejected,
            dropped_rate_limited: self.dropped_rate_limited + other.dropped_rate_limited,
            dropped_transport: self.dropped_transport + other.dropped_transport,
            dropped_oversize: self.dropped_oversize + other.dropped_oversize,
            retried: self.retried + other.retried,
            batches: self.batches + other.batches,
            filtered: self.filtered + other.filtered,
        }
    }
}

impl core::fmt::Display for Stats {
    /// One line: `12 recorded, 10 sent, 2 dropped (1 buffer full, 1
    /// rejected), 3 retried`; zero reasons are left out.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} recorded, {} sent, {} dropped",
            self.recorded,
            self.sent,
            self.dropped()
        )?;
        let reasons = [
            (self.dropped_full, "buffer full"),
            (self.dropped_invalid, "invalid"),
            (self.dropped_rejected, "rejected"),
            (self.dropped_rate_limited, "rate limited"),
            (self.dropped_transport, "no answer"),
            (self.dropped_oversize, "too large"),
        ];
        let mut first = true;
        for (count, reason) in reasons.iter().filter(|(count, _)| *count > 0) {
            f.write_str(if first { " (" } else { ", " })?;
            write!(f, "{count} {reason}")?;
            first = false;
        }
        if !first {
            f.write_str(")")?;
        }
        if self.retried > 0 {
            write!(f, ", {} retried", self.retried)?;
        }
        if self.filtered > 0 {
            write!(f, ", {} filtered", self.filtered)?;
        }
        Ok(())
    }
}
