//! What a request's outcome does, for points and error reports alike: the
//! 429 pause, whether its items are kept or leave, what a last flush gives
//! up, and the tally. The flush engine and the outbox both settle through
//! [`Run`], so the policy exists once.

use crate::source::Settle;
use crate::transport::Outcome;

/// A pause ordered by a 429, on a monotonic millisecond clock the caller
/// provides (`Instant` on std, embassy-time on a device).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Pause {
    until_ms: Option<u64>,
}

impl Pause {
    /// No pause.
    pub const fn new() -> Self {
        Self { until_ms: None }
    }

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

/// What one [`Flusher::flush`](crate::Flusher::flush) or
/// [`Outbox::send`](crate::Outbox::send) did: counts of points, or of
/// error reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FlushReport {
    /// Requests sent.
    pub batches: u32,
    /// Items the server accepted.
    pub sent: u32,
    /// Items lost (rejected, written without an answer, oversize; at the
    /// last flush, not stored).
    pub dropped: u32,
    /// Items of a request the server did not store, kept to be sent again.
    pub kept: u32,
    /// `true` if a 429 pause stopped sending; what was not sent stays
    /// buffered.
    pub paused: bool,
    /// The last outcome that was not a delivery, for logging.
    pub last_failure: Option<Outcome>,
}

impl FlushReport {
    /// Adds `items` of one request that ended with `outcome`: sent, kept
    /// (if `keep`) or dropped.
    fn tally(&mut self, items: u32, outcome: Outcome, keep: bool) {
        if outcome.is_delivered() {
            self.sent += items;
            return;
        }
        self.last_failure = Some(outcome);
        if keep {
            self.kept += items;
        } else {
            self.dropped += items;
        }
    }

    /// `true` if a request was answered with 429.
    pub fn rate_limited(&self) -> bool {
        matches!(self.last_failure, Some(Outcome::RateLimited { .. }))
    }
}

/// One flush (or send of error reports) under way.
pub(crate) struct Run {
    pub(crate) now_ms: u64,
    /// At shutdown: nothing is kept, as no later flush will send it.
    last: bool,
    /// Items this run may still take from its source.
    pub(crate) budget: usize,
    /// In a last run, the answer the remaining requests are settled with,
    /// unsent: the server gave it (or a pause says it would).
    given_up: Option<Outcome>,
    pub(crate) report: FlushReport,
}

impl Run {
    /// A run over `budget` waiting items. During a pause nothing is sent:
    /// a run stops at once, a last one gives everything up as rate
    /// limited.
    #[inline(never)] // one copy for both engines: flash on a device
    pub(crate) fn start(pause: &Pause, now_ms: u64, budget: usize, last: bool) -> Self {
        let mut run = Run {
            now_ms,
            last,
            budget,
            given_up: None,
            report: FlushReport::default(),
        };
        if pause.is_active(now_ms) {
            if last {
                let secs = pause.remaining_ms(now_ms).div_ceil(1000);
                run.given_up = Some(Outcome::RateLimited {
                    retry_after_secs: u32::try_from(secs).unwrap_or(u32::MAX),
                });
            } else {
                run.report.paused = true;
                run.budget = 0;
            }
        }
        run
    }

    /// The outcome to settle the next request with without sending it, in
    /// a last run that gave up.
    pub(crate) fn given_up(&self) -> Option<Outcome> {
        self.given_up
    }

    /// Settles the `items` of a request that ended with `outcome`: starts
    /// a pause on 429, tallies, and says what the source does with them.
    /// The run stops when they are kept.
    #[inline(never)] // one copy for both engines: flash on a device
    pub(crate) fn settle<'o>(
        &mut self,
        pause: &mut Pause,
        outcome: &'o Outcome,
        items: u32,
    ) -> Settle<'o> {
        let sent = self.given_up.is_none();
        let keep = outcome.can_retry() && !self.last;
        if sent {
            pause.observe(outcome, self.now_ms);
            self.report.batches += 1;
        }
        self.report.tally(items, *outcome, keep);
        if keep {
            self.report.paused |= pause.is_active(self.now_ms);
            #[cfg(feature = "defmt")]
            defmt::warn!("monlight: {} items not stored, kept: {}", items, outcome);
        } else if self.last && outcome.can_retry() {
            // The rest would meet the same answer: given up unsent.
            self.given_up = Some(*outcome);
        }
        #[cfg(feature = "defmt")]
        if !keep && !outcome.is_delivered() {
            defmt::warn!("monlight: {} items lost: {}", items, outcome);
        }
        Settle {
            outcome,
            keep,
            count_batch: sent,
        }
    }
}
