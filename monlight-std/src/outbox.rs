//! Error reports on their way: one bounded queue per [`ErrorClient`]
//! (sync, async, panics and integrations alike), drained oldest first by
//! one sender thread through core's [`Outbox`], which decides what is kept,
//! dropped and tried again. This module only stores the reports, wakes the
//! thread and lets callers wait.
//!
//! A report is queued when it is built, so it no longer depends on the
//! caller's async runtime: a future that is dropped, or a runtime that
//! stops, loses nothing. Callers wait on progress: a report that left the
//! queue (stored or dropped, counted), or a queue held back because the
//! tracker cannot take it now.
//!
//! [`ErrorClient`]: crate::ErrorClient

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use monlight_core::limits::MAX_ERROR_BODY;
use monlight_core::{FlushReport, Outbox, ReportError, ReportQueue, Settle, Stats};

use crate::config::ApiKey;
use crate::transport::{BlockingHttp, Unavailable};

/// Reports a client holds at most, waiting or kept for a retry.
const MAX_REPORTS: usize = 256;

/// Bytes of report bodies a client holds at most (a report takes its own
/// size, up to the tracker's 256 KiB).
const MAX_BYTES: usize = 8 << 20;

/// Where to send, for the sender thread.
pub(crate) struct Destination {
    pub(crate) base_url: String,
    pub(crate) api_key: ApiKey,
    pub(crate) timeout: Duration,
}

/// The queue of one client and its sender thread.
pub(crate) struct Reports {
    queue: Mutex<Queue>,
    /// Signalled on work for the sender and on progress for waiters.
    changed: Condvar,
    destination: Destination,
}

#[derive(Default)]
struct Queue {
    bodies: VecDeque<Vec<u8>>,
    bytes: usize,
    /// The number of the front report; reports are numbered in order.
    front: u64,
    stats: Stats,
    /// The last send ended with reports kept: the tracker cannot take them
    /// now, and waiting for them is pointless until it can.
    held: bool,
    /// The next automatic try of kept reports.
    retry_at: Option<Instant>,
    /// A caller asked to send now (flush, close).
    flush_asked: bool,
    /// Sends completed, for a flush to tell its own from earlier ones.
    sends: u64,
    sender: Sender,
    wakers: Vec<Waker>,
}

#[derive(Default, PartialEq, Eq)]
enum Sender {
    #[default]
    Idle,
    Running,
    /// Asked to send what it can once more, give up the rest and end.
    Stopping,
}

/// A queued report's number, to wait for it.
#[derive(Clone, Copy)]
pub(crate) struct Ticket(u64);

impl Reports {
    pub(crate) fn new(destination: Destination) -> Arc<Self> {
        Arc::new(Self {
            queue: Mutex::new(Queue::default()),
            changed: Condvar::new(),
            destination,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every report's counters.
    pub(crate) fn stats(&self) -> Stats {
        self.lock().stats
    }

    /// Counts a report that could not be built.
    pub(crate) fn count_unencodable(&self, error: ReportError) {
        let mut queue = self.lock();
        queue.stats.recorded += 1;
        queue.stats.count_unencodable(error);
    }

    /// Counts a report the application chose not to send.
    pub(crate) fn count_filtered(&self) {
        self.lock().stats.filtered += 1;
    }

    /// Queues `body` and wakes the sender; `None` (counted, logged) if the
    /// queue is full.
    pub(crate) fn push(self: &Arc<Self>, body: Vec<u8>) -> Option<Ticket> {
        let mut queue = self.lock();
        queue.stats.recorded += 1;
        if queue.bodies.len() >= MAX_REPORTS || queue.bytes + body.len() > MAX_BYTES {
            queue.stats.dropped_full += 1;
            let (waiting, bytes) = (queue.bodies.len(), queue.bytes);
            drop(queue);
            log::warn!(
                "monlight: error report dropped: {waiting} reports ({bytes} bytes) already wait for the tracker"
            );
            return None;
        }
        queue.bytes += body.len();
        queue.bodies.push_back(body);
        let ticket = Ticket(queue.front + queue.bodies.len() as u64 - 1);
        if queue.sender == Sender::Idle {
            queue.sender = Sender::Running;
            let reports = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name("monlight-errors".into())
                .spawn(move || reports.run());
            if let Err(e) = spawned {
                queue.sender = Sender::Idle;
                log::warn!("monlight: could not start the error sender thread: {e}; reports wait");
            }
        }
        drop(queue);
        self.changed.notify_all();
        Some(ticket)
    }

    /// `true` once the report left the queue, or the queue is held back.
    fn answered(queue: &Queue, ticket: Ticket) -> bool {
        ticket.0 < queue.front || queue.held
    }

    /// Waits, at most `timeout`, until the report is answered (see
    /// [`Reports::answered`]); `false` on timeout.
    pub(crate) fn wait(&self, ticket: Ticket, timeout: Duration) -> bool {
        let queue = self.lock();
        let (queue, waited) = self
            .changed
            .wait_timeout_while(queue, timeout, |queue| !Self::answered(queue, ticket))
            .unwrap_or_else(PoisonError::into_inner);
        drop(queue);
        !waited.timed_out()
    }

    /// The future that waits for the report (see [`Reports::answered`]).
    pub(crate) fn answer(self: &Arc<Self>, ticket: Option<Ticket>) -> Answer {
        Answer {
            reports: Arc::clone(self),
            ticket,
        }
    }

    /// Asks for a send now and waits, at most `timeout`, until every
    /// report queued so far has left the queue, or was tried and is kept
    /// with no try due before the timeout ends. Returns how many are still
    /// waiting.
    pub(crate) fn flush(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut queue = self.lock();
        let end = queue.front + queue.bodies.len() as u64;
        let sends = queue.sends;
        queue.flush_asked = true;
        self.changed.notify_all();
        let (queue, _) = self
            .changed
            .wait_timeout_while(queue, timeout, |queue| {
                let held_past_deadline = queue.held
                    && queue.sends > sends
                    && queue.retry_at.is_none_or(|at| at >= deadline);
                queue.front < end && !held_past_deadline
            })
            .unwrap_or_else(PoisonError::into_inner);
        end.saturating_sub(queue.front) as usize
    }

    /// [`Reports::flush`], then the sender sends what it can once more,
    /// gives up the rest (counted) and ends, within `grace`. Returns how
    /// many reports were not stored.
    pub(crate) fn close(&self, timeout: Duration, grace: Duration) -> usize {
        let left = self.flush(timeout);
        let mut queue = self.lock();
        if queue.sender == Sender::Running {
            queue.sender = Sender::Stopping;
            self.changed.notify_all();
            let _stopped = self
                .changed
                .wait_timeout_while(queue, grace, |queue| queue.sender != Sender::Idle)
                .unwrap_or_else(PoisonError::into_inner);
        }
        left
    }

    /// The sender thread: owns the HTTP client (blocking, never on an
    /// async runtime's thread), the encode buffer and the outbox.
    fn run(&self) {
        let destination = &self.destination;
        let mut http = BlockingHttp::new(
            &destination.base_url,
            &destination.api_key,
            destination.timeout,
        );
        if let Err(e) = &http {
            log::warn!("monlight: error transport unavailable: {e}");
        }
        let mut out = vec![0u8; MAX_ERROR_BODY];
        let mut outbox = Outbox::new();
        let origin = Instant::now();
        loop {
            let last = {
                let mut queue = self.wait_for_work(self.lock());
                queue.flush_asked = false;
                queue.sender == Sender::Stopping
            };
            let now_ms = u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX);
            let report = match (&mut http, last) {
                (Ok(http), false) => outbox.send(self, http, &mut out, now_ms),
                (Ok(http), true) => outbox.send_last(self, http, &mut out, now_ms),
                (Err(_), _) => outbox.send_last(self, &mut Unavailable, &mut out, now_ms),
            };
            log_report(&report, &destination.base_url);
            let mut queue = self.lock();
            queue.sends += 1;
            queue.held = report.kept > 0 || report.paused;
            queue.retry_at = outbox
                .retry_at_ms()
                .map(|at| origin + Duration::from_millis(at));
            if last {
                queue.sender = Sender::Idle;
            }
            for waker in queue.wakers.drain(..) {
                waker.wake();
            }
            drop(queue);
            self.changed.notify_all();
            if last {
                return;
            }
        }
    }

    /// Blocks until there is something to send now: reports not held
    /// back, a try that is due, a flush asked for, or the end.
    fn wait_for_work<'q>(&self, mut queue: MutexGuard<'q, Queue>) -> MutexGuard<'q, Queue> {
        loop {
            if queue.sender == Sender::Stopping {
                return queue;
            }
            let now = Instant::now();
            let due = !queue.bodies.is_empty()
                && (queue.flush_asked || queue.retry_at.is_none_or(|at| at <= now));
            if due {
                return queue;
            }
            queue = match queue.retry_at.filter(|_| !queue.bodies.is_empty()) {
                Some(at) => {
                    self.changed
                        .wait_timeout(queue, at.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .changed
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }
}

/// The outbox drains the queue through this.
impl ReportQueue for Reports {
    fn waiting(&self) -> usize {
        self.lock().bodies.len()
    }

    fn write_front(&self, out: &mut [u8]) -> Option<Result<usize, ReportError>> {
        let queue = self.lock();
        let body = queue.bodies.front()?;
        Some(match out.get_mut(..body.len()) {
            Some(to) => {
                to.copy_from_slice(body);
                Ok(body.len())
            }
            None => Err(ReportError::TooLarge),
        })
    }

    fn settle_front(&self, settle: Settle<'_>) {
        let mut queue = self.lock();
        settle.count(1, &mut queue.stats);
        if !settle.keep {
            queue.leave_front();
        }
    }

    fn drop_front(&self, error: ReportError) {
        let mut queue = self.lock();
        queue.stats.count_unencodable(error);
        queue.leave_front();
    }
}

impl Queue {
    fn leave_front(&mut self) {
        if let Some(body) = self.bodies.pop_front() {
            self.bytes -= body.len();
            self.front += 1;
        }
    }
}

/// Waits for a queued report (see [`Reports::answer`]); ready at once if
/// it was never queued.
pub(crate) struct Answer {
    reports: Arc<Reports>,
    ticket: Option<Ticket>,
}

impl Future for Answer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(ticket) = self.ticket else {
            return Poll::Ready(());
        };
        let mut queue = self.reports.lock();
        if Reports::answered(&queue, ticket) {
            return Poll::Ready(());
        }
        if !queue.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            queue.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

fn log_report(report: &FlushReport, base_url: &str) {
    let Some(failure) = &report.last_failure else {
        return;
    };
    if report.kept > 0 {
        log::warn!(
            "monlight: error tracker at {base_url} did not store a report ({failure}); kept, it goes out again later"
        );
    }
    if report.dropped > 0 {
        log::warn!(
            "monlight: {} error reports to {base_url} lost: {failure}",
            report.dropped
        );
    }
}
