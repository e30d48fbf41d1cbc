//! The flush engine: drains a [`PointSource`] batch by batch through a
//! transport, keeps what the server did not store, honours 429 pauses,
//! and reports what it did. monlight-std and monlight-embassy both call
//! this; neither writes flush logic of its own.
//!
//! A batch's points stay in their source until its outcome is known. Sent,
//! or lost for good (refused, or written without an answer, which the
//! server may have stored), they leave, counted under their reason. Not
//! stored (a 429, or a request that never reached the server), they stay
//! first in line and the flush stops: after a 429 until its `retry_after`
//! has passed, otherwise until the next flush.

use crate::batch::{Batch, BatchLimits, BatchWriter};
use crate::delivery::{FlushReport, Pause, Run};
use crate::source::PointSource;
use crate::transport::{AsyncTransport, Endpoint, Transport};

/// The clocks a flush reads: a monotonic one for pauses, and the wall
/// clock, if known, for points sent after their minute ended (see
/// [`BatchWriter`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Now {
    /// Milliseconds on a monotonic clock.
    pub monotonic_ms: u64,
    /// Unix seconds, if the wall clock is known.
    pub unix_seconds: Option<u64>,
}

impl Now {
    /// A reading of the monotonic clock alone (no wall clock).
    pub const fn monotonic(ms: u64) -> Self {
        Self {
            monotonic_ms: ms,
            unix_seconds: None,
        }
    }
}

/// Points written into a batch per lock of a shared buffer by default:
/// about 25 us of encoding on a server, so recording threads wait at most
/// that long. On a device whose mutex is a critical section, lower it with
/// [`Flusher::with_points_per_lock`].
pub const POINTS_PER_LOCK: usize = 64;

/// How much of what waits one flush sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Drain {
    /// Everything that waits when the flush begins.
    All,
    /// Whole batches of this many points only; the rest waits for the next
    /// flush (an early flush under load: a batch costs a connection
    /// whatever it holds).
    WholeBatches(usize),
    /// Everything, for the last time (at shutdown): what the server does
    /// not store is given up, counted under its reason, as no later flush
    /// will send it. After the first batch the server did not store (or
    /// during a 429 pause) the rest is not sent but counted the same way.
    Last,
}

/// The flush engine for the metrics endpoint.
///
/// It sends what waited when the flush began (points recorded meanwhile
/// wait for the next one, so a busy recorder cannot keep a flush going
/// forever). A batch the server did not store stays in its source and is
/// sent again: after a 429 once its `retry_after` has passed, after a
/// request that never reached the server at the next flush. A batch lost
/// for good is counted under its reason.
///
/// ```
/// use core::cell::RefCell;
/// use monlight_core::{Endpoint, Flusher, Metric, MetricBuffer, Now, Outcome, Transport, TransportError};
///
/// struct Link { up: bool }
/// impl Transport for Link {
///     fn send(&mut self, _: Endpoint, _: &[u8]) -> Outcome {
///         if self.up { Outcome::Delivered { status: 202 } } else { Outcome::Failed(TransportError::Connect) }
///     }
/// }
///
/// let buffer = RefCell::new(MetricBuffer::<[u8; 4096]>::new());
/// buffer.borrow_mut().record(&Metric::counter("boots_total", &[], 1.0)).unwrap();
/// let mut flusher = Flusher::new(None);
/// let mut out = [0u8; 1024];
/// // The collector is down: the point stays.
/// let report = flusher.flush(&buffer, &mut Link { up: false }, &mut out, Now::monotonic(0));
/// assert_eq!((report.sent, report.kept), (0, 1));
/// assert_eq!(buffer.borrow().len(), 1);
/// // It is back: the point goes out.
/// let report = flusher.flush(&buffer, &mut Link { up: true }, &mut out, Now::monotonic(10_000));
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

    /// The same flusher holding a shared buffer's lock for at most
    /// `points` points at a time (at least 1).
    #[must_use]
    pub fn with_points_per_lock(mut self, points: usize) -> Self {
        self.points_per_lock = points.max(1);
        self
    }

    /// The current 429 pause.
    pub fn pause(&self) -> Pause {
        self.pause
    }

    /// Points in a full batch: the item limit.
    pub fn batch_items(&self) -> usize {
        self.limits.max_items.min(crate::limits::MAX_BATCH_ITEMS)
    }

    /// Sends what waits in `source` now, batch by batch, through
    /// `transport`, encoding into `out` (give it
    /// [`MAX_METRICS_BODY`](crate::limits::MAX_METRICS_BODY) bytes for
    /// full-size batches; smaller works, with smaller batches).
    pub fn flush<S: PointSource + ?Sized, T: Transport>(
        &mut self,
        source: &S,
        transport: &mut T,
        out: &mut [u8],
        now: Now,
    ) -> FlushReport {
        self.flush_part(source, transport, out, now, Drain::All)
    }

    /// [`Flusher::flush`] of a part of what waits.
    pub fn flush_part<S: PointSource + ?Sized, T: Transport>(
        &mut self,
        source: &S,
        transport: &mut T,
        out: &mut [u8],
        now: Now,
        drain: Drain,
    ) -> FlushReport {
        let waiting = budget(source.waiting(), drain);
        let mut run = Run::start(&self.pause, now.monotonic_ms, waiting, drain == Drain::Last);
        while let Some(batch) = self.next_batch(source, out, now.unix_seconds, &mut run) {
            let outcome = match run.given_up() {
                Some(outcome) => outcome,
                None => transport.send(Endpoint::Metrics, &out[..batch.bytes]),
            };
            let settle = run.settle(&mut self.pause, &outcome, batch.points as u32);
            source.settle(settle);
            if settle.keep {
                break;
            }
        }
        run.report
    }

    /// [`Flusher::flush`] through an [`AsyncTransport`].
    pub async fn flush_async<S: PointSource + ?Sized, T: AsyncTransport>(
        &mut self,
        source: &S,
        transport: &mut T,
        out: &mut [u8],
        now: Now,
    ) -> FlushReport {
        let mut run = Run::start(&self.pause, now.monotonic_ms, source.waiting(), false);
        while let Some(batch) = self.next_batch(source, out, now.unix_seconds, &mut run) {
            let outcome = transport.send(Endpoint::Metrics, &out[..batch.bytes]).await;
            let settle = run.settle(&mut self.pause, &outcome, batch.points as u32);
            source.settle(settle);
            if settle.keep {
                break;
            }
        }
        run.report
    }

    /// Writes the next batch into `out`, unless this flush's share is
    /// sent. Points too large for any batch are dropped on the way, and
    /// counted.
    fn next_batch<S: PointSource + ?Sized>(
        &self,
        source: &S,
        out: &mut [u8],
        unix_seconds: Option<u64>,
        run: &mut Run,
    ) -> Option<Batch> {
        while run.budget > 0 {
            let mut writer = BatchWriter::new(out, self.limits, self.project).at(unix_seconds);
            let mut taken = 0;
            while run.budget > taken && !writer.is_full() {
                let step = (run.budget - taken).min(self.points_per_lock);
                let written = source.write_next(&mut writer, step);
                taken += written.points + written.oversize;
                run.report.dropped += written.oversize as u32;
                if written.points + written.oversize < step {
                    break; // the source is empty or the batch is full
                }
            }
            run.budget -= taken.min(run.budget);
            match writer.finish() {
                Some(batch) => return Some(batch),
                None if taken > 0 => {} // all were oversize: go on
                None => return None,    // the source had less than it said
            }
        }
        None
    }
}

/// Points a flush of `waiting` points sends under `drain`.
fn budget(waiting: usize, drain: Drain) -> usize {
    match drain {
        Drain::All | Drain::Last => waiting,
        Drain::WholeBatches(batch) => {
            let batch = batch.max(1);
            waiting / batch * batch
        }
    }
}
