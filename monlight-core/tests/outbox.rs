//! The error-report outbox: what it keeps, drops and counts, and when it
//! tries again.

use std::cell::RefCell;
use std::collections::VecDeque;

use monlight_core::{
    Endpoint, FIRST_RETRY_MS, MAX_RETRY_MS, Outbox, Outcome, ReportError, ReportQueue, Settle,
    Stats, Transport, TransportError,
};

/// Reports as bodies; `None` stands for one that cannot be encoded.
#[derive(Default)]
struct Queue {
    reports: RefCell<VecDeque<Option<&'static str>>>,
    stats: RefCell<Stats>,
}

impl Queue {
    fn of(reports: &[Option<&'static str>]) -> Self {
        let queue = Queue::default();
        queue.reports.borrow_mut().extend(reports);
        queue.stats.borrow_mut().recorded = reports.len() as u64;
        queue
    }
}

impl ReportQueue for Queue {
    fn waiting(&self) -> usize {
        self.reports.borrow().len()
    }
    fn write_front(&self, out: &mut [u8]) -> Option<Result<usize, ReportError>> {
        let front = *self.reports.borrow().front()?;
        Some(front.ok_or(ReportError::TooLarge).map(|body| {
            out[..body.len()].copy_from_slice(body.as_bytes());
            body.len()
        }))
    }
    fn settle_front(&self, settle: Settle<'_>) {
        settle.count(1, &mut self.stats.borrow_mut());
        if !settle.keep {
            self.reports.borrow_mut().pop_front();
        }
    }
    fn drop_front(&self, error: ReportError) {
        self.stats.borrow_mut().count_unencodable(error);
        self.reports.borrow_mut().pop_front();
    }
}

/// Answers in order, and keeps the bodies it was sent.
struct Tracker(VecDeque<Outcome>, Vec<String>);

impl Tracker {
    fn answering(outcomes: &[Outcome]) -> Self {
        Tracker(outcomes.iter().copied().collect(), Vec::new())
    }
}

impl Transport for Tracker {
    fn send(&mut self, endpoint: Endpoint, body: &[u8]) -> Outcome {
        assert_eq!(endpoint, Endpoint::Errors);
        self.1.push(String::from_utf8(body.to_vec()).unwrap());
        self.0.pop_front().expect("no request beyond the script")
    }
}

const STORED: Outcome = Outcome::Delivered { status: 201 };
const REFUSED: Outcome = Outcome::Failed(TransportError::Connect);

#[test]
fn a_report_answered_429_is_sent_again_once_the_pause_is_over_and_stored_once() {
    let queue = Queue::of(&[Some("a"), Some("b")]);
    let mut tracker = Tracker::answering(&[
        Outcome::RateLimited {
            retry_after_secs: 7,
        },
        STORED,
        STORED,
    ]);
    let mut outbox = Outbox::new();
    let mut out = [0u8; 16];
    let report = outbox.send(&queue, &mut tracker, &mut out, 1_000);
    assert_eq!((report.kept, report.paused, report.sent), (1, true, 0));
    assert_eq!(outbox.retry_at_ms(), Some(8_000));
    // Before the pause ends nothing goes out.
    let report = outbox.send(&queue, &mut tracker, &mut out, 7_999);
    assert_eq!((report.batches, report.paused), (0, true));
    let report = outbox.send(&queue, &mut tracker, &mut out, 8_000);
    assert_eq!(report.sent, 2);
    assert_eq!(tracker.1, ["a", "a", "b"]);
    assert_eq!(outbox.retry_at_ms(), None);
    let stats = *queue.stats.borrow();
    assert_eq!((stats.sent, stats.retried, stats.dropped()), (2, 1, 0));
    assert_eq!(stats.batches, 3);
}

#[test]
fn a_tracker_out_of_reach_is_tried_again_later_and_later_until_it_answers() {
    let queue = Queue::of(&[Some("a")]);
    let mut tracker = Tracker::answering(&[REFUSED; 8]);
    let mut outbox = Outbox::new();
    let mut out = [0u8; 16];
    let mut now = 0;
    let mut waits = Vec::new();
    for _ in 0..8 {
        let report = outbox.send(&queue, &mut tracker, &mut out, now);
        assert_eq!(report.kept, 1);
        let next = outbox.retry_at_ms().unwrap();
        waits.push(next - now);
        now = next;
    }
    let first = u64::from(FIRST_RETRY_MS);
    assert_eq!(&waits[..4], [first, 2 * first, 4 * first, 8 * first]);
    assert_eq!(*waits.last().unwrap(), u64::from(MAX_RETRY_MS));
    // Once a report is stored the backoff starts again.
    tracker.0.extend([STORED, REFUSED]);
    queue.reports.borrow_mut().push_back(Some("b"));
    let report = outbox.send(&queue, &mut tracker, &mut out, now);
    assert_eq!((report.sent, report.kept), (1, 1));
    assert_eq!(outbox.retry_at_ms(), Some(now + first));
}

#[test]
fn what_may_have_been_stored_or_cannot_be_sent_is_dropped_and_counted() {
    let queue = Queue::of(&[Some("a"), None, Some("c"), Some("d")]);
    let mut tracker = Tracker::answering(&[
        Outcome::Failed(TransportError::Timeout),
        Outcome::Rejected { status: 400 },
        STORED,
    ]);
    let report = Outbox::new().send(&queue, &mut tracker, &mut [0u8; 16], 0);
    assert_eq!((report.sent, report.dropped, report.kept), (1, 3, 0));
    let stats = *queue.stats.borrow();
    assert_eq!(
        (
            stats.dropped_transport,
            stats.dropped_oversize,
            stats.dropped_rejected
        ),
        (1, 1, 1)
    );
    assert_eq!(stats.recorded, stats.sent + stats.dropped());
}

#[test]
fn the_last_send_gives_up_what_the_tracker_will_not_store_and_counts_it() {
    let queue = Queue::of(&[Some("a"), Some("b"), Some("c")]);
    let mut tracker = Tracker::answering(&[STORED, REFUSED]);
    let mut outbox = Outbox::new();
    let report = outbox.send_last(&queue, &mut tracker, &mut [0u8; 16], 0);
    assert_eq!((report.sent, report.dropped, report.batches), (1, 2, 2));
    assert_eq!(tracker.1, ["a", "b"], "c is not sent after b failed");
    let stats = *queue.stats.borrow();
    assert_eq!((stats.dropped_transport, stats.retried), (2, 0));
    assert_eq!(queue.waiting(), 0);
}
