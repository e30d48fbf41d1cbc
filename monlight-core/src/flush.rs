//! The flush engine: drains a shared buffer batch by batch through a
//! transport, honours 429 pauses, and keeps the counters. monlight-std and
//! monlight-embassy both call this; neither writes flush logic of its own.

use core::cell::RefCell;

use crate::batch::{Batch, BatchLimits, BatchWriter};
use crate::buffer::MetricBuffer;
use crate::transport::{AsyncTransport, Endpoint, Outcome, Transport};

/// A pause ordered by a 429, on a monotonic millisecond clock the caller
/// provides (`Instant` on std, embassy-time on a device).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Pause {
    until_ms: Option<u64>,
}

impl Pause {
    /// `true` while sending must wait.
    pub fn is_active(&self, now_ms: u64) -> bool {
        self.until_ms.is_some_and(|until| now_ms < until)
    }

    /// Milliseconds left, 0 when not paused.
    pub fn remaining_ms(&self, now_ms: u64) -> u64 {
        self.until_ms
            .map_or(0, |until| until.saturating_sub(now_ms))
    }

    /// Starts a pause if `outcome` is a 429.
    pub fn observe(&mut self, outcome: &Outcome, now_ms: u64) {
        if let Outcome::RateLimited { retry_after_secs } = outcome {
            self.until_ms = Some(now_ms.saturating_add(u64::from(*retry_after_secs) * 1000));
        }
    }
}

/// Access to a buffer that recording code shares with the flusher, e.g.
/// behind a mutex. The flusher holds it only to take a batch and to count an
/// outcome, never while a request is in flight, so recording never waits on
/// the network.
pub trait BufferAccess {
    /// The buffer's storage type.
    type Storage: AsRef<[u8]> + AsMut<[u8]>;

    /// Runs `f` with exclusive access to the buffer.
    fn with_buffer<R>(&self, f: impl FnOnce(&mut MetricBuffer<Self::Storage>) -> R) -> R;
}

/// A buffer owned by one thread of control (a single task, a test).
impl<S: AsRef<[u8]> + AsMut<[u8]>> BufferAccess for RefCell<MetricBuffer<S>> {
    type Storage = S;

    fn with_buffer<R>(&self, f: impl FnOnce(&mut MetricBuffer<S>) -> R) -> R {
        f(&mut self.borrow_mut())
    }
}

/// What one [`Flusher::flush`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FlushReport {
    /// Batches sent.
    pub batches: u32,
    /// Points the server accepted.
    pub sent: u32,
    /// Points lost in this flush (rejected, rate limited, transport failure,
    /// oversize).
    pub dropped: u32,
    /// `true` if the flush stopped early because of a 429 pause; the points
    /// not yet sent stay buffered.
    pub paused: bool,
    /// The last outcome that was not a delivery, for logging.
    pub last_failure: Option<Outcome>,
}

/// Points moved into a batch per lock of the shared buffer by default:
/// about 25 us of encoding on a server, so recording threads wait at most
/// that long. On a device whose mutex is a critical section, lower it with
/// [`Flusher::with_points_per_lock`].
pub const POINTS_PER_LOCK: usize = 64;

/// The flush engine for the metrics endpoint.
///
/// It sends only what was buffered when the flush began (points recorded
/// meanwhile wait for the next one, so a busy recorder cannot keep a flush
/// going forever), drops a failed batch as the reference client does and
/// counts it under its reason, and stops while a 429 pause lasts.
///
/// ```
/// use core::cell::RefCell;
/// use monlight_core::{Endpoint, Flusher, Metric, MetricBuffer, Outcome, Transport};
///
/// struct Accept;
/// impl Transport for Accept {
///     fn send(&mut self, _: Endpoint, _: &[u8]) -> Outcome {
///         Outcome::Delivered { status: 202 }
///     }
/// }
///
/// let buffer = RefCell::new(MetricBuffer::<[u8; 4096]>::new());
/// buffer.borrow_mut().record(&Metric::counter("boots_total", &[], 1.0)).unwrap();
/// let mut flusher = Flusher::new(None);
/// let mut out = [0u8; 1024];
/// let report = flusher.flush(&buffer, &mut Accept, &mut out, 0);
/// assert_eq!(report.sent, 1);
/// assert_eq!(buffer.borrow().stats().sent, 1);
/// ```
#[derive(Debug, Clone)]
pub struct Flusher<'p> {
    project: Option<&'p str>,
    limits: BatchLimits,
    points_per_lock: usize,
    pause: Pause,
}

impl<'p> Flusher<'p> {
    /// A flusher that stamps `project` on every item (if given).
    pub fn new(project: Option<&'p str>) -> Self {
        Self {
            project,
            limits: BatchLimits::default(),
            points_per_lock: POINTS_PER_LOCK,
            pause: Pause::default(),
        }
    }

    /// The same flusher with tighter batch limits (they never exceed the
    /// server's).
    #[must_use]
    pub fn with_limits(mut self, limits: BatchLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The same flusher holding the buffer's lock for at most `points`
    /// points at a time (at least 1).
    #[must_use]
    pub fn with_points_per_lock(mut self, points: usize) -> Self {
        self.points_per_lock = points.max(1);
        self
    }

    /// The current 429 pause.
    pub fn pause(&self) -> Pause {
        self.pause
    }

    /// Sends what is buffered now, batch by batch, through `transport`,
    /// encoding into `out` (give it [`MAX_METRICS_BODY`](crate::limits::MAX_METRICS_BODY)
    /// bytes for full-size batches; smaller works, with smaller batches).
    /// `now_ms` is a monotonic clock reading in milliseconds.
    pub fn flush<B: BufferAccess, T: Transport>(
        &mut self,
        buffer: &B,
        transport: &mut T,
        out: &mut [u8],
        now_ms: u64,
    ) -> FlushReport {
        let mut report = FlushReport::default();
        let mut budget = buffer.with_buffer(|b| b.len());
        while let Some(batch) = self.next_batch(buffer, out, now_ms, &mut budget, &mut report) {
            let outcome = transport.send(Endpoint::Metrics, &out[..batch.bytes]);
            self.settle(buffer, batch, outcome, now_ms, &mut report);
        }
        report
    }

    /// [`Flusher::flush`] through an [`AsyncTransport`].
    pub async fn flush_async<B: BufferAccess, T: AsyncTransport>(
        &mut self,
        buffer: &B,
        transport: &mut T,
        out: &mut [u8],
        now_ms: u64,
    ) -> FlushReport {
        let mut report = FlushReport::default();
        let mut budget = buffer.with_buffer(|b| b.len());
        while let Some(batch) = self.next_batch(buffer, out, now_ms, &mut budget, &mut report) {
            let outcome = transport.send(Endpoint::Metrics, &out[..batch.bytes]).await;
            self.settle(buffer, batch, outcome, now_ms, &mut report);
        }
        report
    }

    /// The batch limits this flusher encodes within.
    pub fn limits(&self) -> BatchLimits {
        self.limits
    }

    /// Sends a batch encoded elsewhere (e.g. with
    /// [`BatchWriter::push_series_point`]) and settles it as a buffered
    /// one: counted in `buffer`'s stats and `report`, a 429 pausing this
    /// flusher. Check [`Flusher::pause`] before encoding it.
    pub fn send_batch<B: BufferAccess, T: Transport>(
        &mut self,
        buffer: &B,
        transport: &mut T,
        body: &[u8],
        batch: Batch,
        now_ms: u64,
        report: &mut FlushReport,
    ) {
        let outcome = transport.send(Endpoint::Metrics, body);
        self.settle(buffer, batch, outcome, now_ms, report);
    }

    /// Takes the next batch unless paused or this flush's share is sent.
    fn next_batch<B: BufferAccess>(
        &self,
        buffer: &B,
        out: &mut [u8],
        now_ms: u64,
        budget: &mut usize,
        report: &mut FlushReport,
    ) -> Option<Batch> {
        if *budget == 0 {
            return None;
        }
        if self.pause.is_active(now_ms) {
            report.paused = true;
            return None;
        }
        let mut writer = self.batch_writer(out);
        self.fill_batch(buffer, &mut writer, budget, report);
        writer.finish()
    }

    /// An empty batch in `out`, within this flusher's limits, its points
    /// stamped with its project: for [`Flusher::fill_batch`] and points
    /// from elsewhere.
    pub fn batch_writer<'o>(&self, out: &'o mut [u8]) -> BatchWriter<'o>
    where
        'p: 'o,
    {
        BatchWriter::new(out, self.limits, self.project)
    }

    /// Moves up to `budget` of `buffer`'s oldest points into `writer`
    /// (fewer if the batch fills), taking them off `budget`. The buffer is
    /// locked for a few points at a time (`points_per_lock`), so recording
    /// never waits for a whole batch to be encoded. Points too large for
    /// any batch are dropped and counted, in `report` too. With
    /// [`Flusher::send_batch`], this builds batches that also hold points
    /// from elsewhere (monlight-std's per-thread rings).
    pub fn fill_batch<B: BufferAccess>(
        &self,
        buffer: &B,
        writer: &mut BatchWriter<'_>,
        budget: &mut usize,
        report: &mut FlushReport,
    ) {
        while *budget > 0 && !writer.is_full() {
            let step = (*budget).min(self.points_per_lock);
            let (taken, oversize) = buffer.with_buffer(|b| {
                let before = b.stats().dropped_oversize;
                let taken = writer.take_from(b, step);
                (taken, b.stats().dropped_oversize - before)
            });
            report.dropped += oversize as u32;
            *budget -= taken;
            if taken < step {
                break; // the buffer is empty or the batch is full
            }
        }
    }

    /// Counts a batch's outcome and starts a pause on 429.
    fn settle<B: BufferAccess>(
        &mut self,
        buffer: &B,
        batch: Batch,
        outcome: Outcome,
        now_ms: u64,
        report: &mut FlushReport,
    ) {
        let points = batch.points as u64;
        buffer.with_buffer(|b| {
            let stats = b.stats_mut();
            stats.batches += 1;
            match outcome {
                Outcome::Delivered { .. } => stats.sent += points,
                Outcome::Rejected { .. } => stats.dropped_rejected += points,
                Outcome::RateLimited { .. } => stats.dropped_rate_limited += points,
                Outcome::Failed(_) => stats.dropped_transport += points,
            }
        });
        report.batches += 1;
        if outcome.is_delivered() {
            report.sent += batch.points as u32;
        } else {
            report.dropped += batch.points as u32;
            report.last_failure = Some(outcome);
            #[cfg(feature = "defmt")]
            defmt::warn!(
                "monlight: batch of {} points lost: {}",
                batch.points,
                outcome
            );
        }
        self.pause.observe(&outcome, now_ms);
    }
}
