//! The error-report outbox: drains a [`ReportQueue`] oldest first, keeps
//! what the tracker did not store, honours 429 pauses and says when to try
//! again. monlight-std and monlight-embassy both send reports through it;
//! each keeps only the queue's storage, its I/O and its timers.
//!
//! The retry policy is the flush engine's: a report the tracker provably
//! did not store (a 429, a request that never reached it) stays first in
//! line and sending stops; one refused, or written without an answer
//! (which the tracker may have stored), leaves, counted under its reason.
//! After a 429 the next try waits for its `retry_after`; after a request
//! that never arrived, for a backoff that doubles from
//! [`FIRST_RETRY_MS`] up to [`MAX_RETRY_MS`] and starts again once a
//! report is stored.

use crate::delivery::{FlushReport, Pause, Run};
use crate::report::ReportError;
use crate::source::Settle;
use crate::transport::{AsyncTransport, Endpoint, Outcome, Transport};

/// The first wait before a report that never reached the tracker is tried
/// again.
pub const FIRST_RETRY_MS: u32 = 1_000;

/// The longest wait between tries while the tracker cannot be reached.
pub const MAX_RETRY_MS: u32 = 60_000;

/// Error reports waiting to be sent, oldest first, as an [`Outbox`] drains
/// them. The queue holds each report until the outbox settles it, and
/// counts it in its own [`Stats`](crate::Stats) through [`Settle::count`]
/// and [`Stats::count_unencodable`](crate::Stats::count_unencodable).
pub trait ReportQueue {
    /// Reports waiting now.
    fn waiting(&self) -> usize;

    /// Writes the body of the oldest report into `out` and returns its
    /// length: `None` if none waits, an error if it cannot be encoded into
    /// `out` (the outbox then drops it with [`ReportQueue::drop_front`]).
    fn write_front(&self, out: &mut [u8]) -> Option<Result<usize, ReportError>>;

    /// Ends the oldest report as `settle` says: it leaves, or stays first
    /// in line if [`Settle::keep`].
    fn settle_front(&self, settle: Settle<'_>);

    /// Removes the oldest report, which could not be encoded, counted
    /// under `error`.
    fn drop_front(&self, error: ReportError);
}

/// Sends error reports from a [`ReportQueue`] and decides when the ones
/// kept are tried again.
///
/// ```
/// use core::cell::RefCell;
/// use monlight_core::{Endpoint, Outbox, Outcome, ReportError, ReportQueue, Settle, Stats, Transport, TransportError};
///
/// // A queue of one pre-encoded report.
/// struct One { body: Option<&'static [u8]>, stats: RefCell<Stats> }
/// impl ReportQueue for One {
///     fn waiting(&self) -> usize { usize::from(self.body.is_some()) }
///     fn write_front(&self, out: &mut [u8]) -> Option<Result<usize, ReportError>> {
///         let body = self.body?;
///         out[..body.len()].copy_from_slice(body);
///         Some(Ok(body.len()))
///     }
///     fn settle_front(&self, settle: Settle<'_>) { settle.count(1, &mut self.stats.borrow_mut()) }
///     fn drop_front(&self, error: ReportError) { self.stats.borrow_mut().count_unencodable(error) }
/// }
/// struct Down;
/// impl Transport for Down {
///     fn send(&mut self, _: Endpoint, _: &[u8]) -> Outcome { Outcome::Failed(TransportError::Connect) }
/// }
///
/// let queue = One { body: Some(b"{}"), stats: RefCell::default() };
/// let mut outbox = Outbox::new();
/// let report = outbox.send(&queue, &mut Down, &mut [0u8; 64], 0);
/// assert_eq!(report.kept, 1);
/// // Tried again after the first backoff.
/// assert_eq!(outbox.retry_at_ms(), Some(1_000));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    pause: Pause,
    /// The next automatic try, once a report was kept.
    retry_at_ms: Option<u64>,
    /// The wait after the next request that does not reach the tracker.
    backoff_ms: u32,
}

impl Outbox {
    /// An outbox with nothing held back.
    pub const fn new() -> Self {
        Self {
            pause: Pause::new(),
            retry_at_ms: None,
            backoff_ms: FIRST_RETRY_MS,
        }
    }

    /// The current 429 pause.
    pub fn pause(&self) -> Pause {
        self.pause
    }

    /// When a report kept by the last send should be tried again, on the
    /// monotonic clock `send` was given; `None` if nothing is held back.
    pub fn retry_at_ms(&self) -> Option<u64> {
        self.retry_at_ms
    }

    /// Sends the reports that wait when it begins, oldest first, through
    /// `transport`, each written into `out` (give it
    /// [`MAX_ERROR_BODY`](crate::limits::MAX_ERROR_BODY) bytes for reports
    /// of any size). Stops at the first report the tracker did not store,
    /// and sends nothing during a 429 pause. `now_ms` is a monotonic clock.
    pub fn send<Q: ReportQueue + ?Sized, T: Transport>(
        &mut self,
        queue: &Q,
        transport: &mut T,
        out: &mut [u8],
        now_ms: u64,
    ) -> FlushReport {
        self.send_part(queue, transport, out, now_ms, false)
    }

    /// [`Outbox::send`] for the last time (at shutdown): a report the
    /// tracker does not store is given up, counted under its reason, and
    /// so are the rest, unsent, after it or during a 429 pause.
    pub fn send_last<Q: ReportQueue + ?Sized, T: Transport>(
        &mut self,
        queue: &Q,
        transport: &mut T,
        out: &mut [u8],
        now_ms: u64,
    ) -> FlushReport {
        self.send_part(queue, transport, out, now_ms, true)
    }

    /// [`Outbox::send`] through an [`AsyncTransport`].
    pub async fn send_async<Q: ReportQueue + ?Sized, T: AsyncTransport>(
        &mut self,
        queue: &Q,
        transport: &mut T,
        out: &mut [u8],
        now_ms: u64,
    ) -> FlushReport {
        let mut run = Run::start(&self.pause, now_ms, queue.waiting(), false);
        while let Some(len) = next_report(queue, out, &mut run) {
            let outcome = transport.send(Endpoint::Errors, &out[..len]).await;
            if !self.settle(queue, &outcome, &mut run) {
                break;
            }
        }
        run.report
    }

    fn send_part<Q: ReportQueue + ?Sized, T: Transport>(
        &mut self,
        queue: &Q,
        transport: &mut T,
        out: &mut [u8],
        now_ms: u64,
        last: bool,
    ) -> FlushReport {
        let mut run = Run::start(&self.pause, now_ms, queue.waiting(), last);
        while let Some(len) = next_report(queue, out, &mut run) {
            let outcome = match run.given_up() {
                Some(outcome) => outcome,
                None => transport.send(Endpoint::Errors, &out[..len]),
            };
            if !self.settle(queue, &outcome, &mut run) {
                break;
            }
        }
        run.report
    }

    /// Settles the oldest report and plans the next try. Returns whether
    /// sending goes on.
    fn settle<Q: ReportQueue + ?Sized>(
        &mut self,
        queue: &Q,
        outcome: &Outcome,
        run: &mut Run,
    ) -> bool {
        let settle = run.settle(&mut self.pause, outcome, 1);
        queue.settle_front(settle);
        if outcome.is_delivered() {
            self.retry_at_ms = None;
            self.backoff_ms = FIRST_RETRY_MS;
        } else if settle.keep {
            let wait = match self.pause.remaining_ms(run.now_ms) {
                0 => {
                    let wait = self.backoff_ms;
                    self.backoff_ms = wait.saturating_mul(2).min(MAX_RETRY_MS);
                    u64::from(wait)
                }
                pause => pause,
            };
            self.retry_at_ms = Some(run.now_ms + wait);
        }
        !settle.keep
    }
}

/// Writes the next report into `out`; reports that cannot be encoded are
/// dropped on the way, and counted.
fn next_report<Q: ReportQueue + ?Sized>(queue: &Q, out: &mut [u8], run: &mut Run) -> Option<usize> {
    while run.budget > 0 {
        run.budget -= 1;
        match queue.write_front(out)? {
            Ok(len) => return Some(len),
            Err(error) => {
                queue.drop_front(error);
                run.report.dropped += 1;
            }
        }
    }
    None
}
