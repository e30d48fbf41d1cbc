//! The error queue of [`Monlight`](crate::Monlight): reports in RAM, in the
//! order given, and their counters. With the `persist-reports` feature and
//! a [`ReportVault`](crate::ReportVault), each report is also copied into
//! RAM that survives a reset, and the reports found there at boot go out
//! first (see `vault.rs`); without it, [`Keeper`] does nothing and
//! compiles to nothing.

use heapless::Deque;
use monlight_core::{ReportError, Settle, Stats};

use crate::errors::{PendingError, ReportFields};
#[cfg(feature = "persist-reports")]
pub(crate) use crate::vault::{Keeper, SlotCopy};
#[cfg(not(feature = "persist-reports"))]
pub(crate) use without_vault::{Keeper, SlotCopy};

pub(crate) struct ErrorQueue<const E: usize> {
    queued: Deque<PendingError, E>,
    stats: Stats,
    kept: Keeper,
}

/// The oldest report, copied out of the queue or the vault (it is encoded
/// without holding the lock).
#[allow(clippy::large_enum_variant)] // one on the flush task's stack; no heap to box into
pub(crate) enum Front {
    Queued(PendingError),
    Restored(SlotCopy),
}

impl Front {
    pub(crate) fn fields(&self) -> ReportFields<'_> {
        match self {
            Front::Queued(error) => error.fields(),
            // Checked when it was taken from the vault.
            Front::Restored(copy) => copy.fields().unwrap_or(ReportFields::NONE),
        }
    }
}

impl<const E: usize> ErrorQueue<E> {
    pub(crate) const fn new() -> Self {
        Self {
            queued: Deque::new(),
            stats: Stats::new(),
            kept: Keeper::new(),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        self.stats
    }

    /// Copies every report into `vault` from now on, and takes the reports
    /// it holds from before the reset; returns how many.
    #[cfg(feature = "persist-reports")]
    pub(crate) fn keep_in(&mut self, vault: &'static dyn crate::vault::Vault) -> usize {
        self.kept.keep_in(vault, &mut self.stats)
    }

    /// Queues `error`; `false` if the queue is full (dropped, counted).
    pub(crate) fn push(&mut self, mut error: PendingError) -> bool {
        self.stats.recorded += 1;
        if self.queued.is_full() {
            self.stats.dropped_full += 1;
            return false;
        }
        self.kept.copy(&mut error);
        // It is not full: checked above.
        self.queued.push_back(error).is_ok()
    }

    /// Reports waiting.
    pub(crate) fn len(&self) -> usize {
        self.queued.len() + self.kept.restored()
    }

    pub(crate) fn front(&mut self) -> Option<Front> {
        if let Some(copy) = self.kept.oldest(&mut self.stats) {
            return Some(Front::Restored(copy));
        }
        self.queued.front().cloned().map(Front::Queued)
    }

    /// Ends the oldest report: it leaves unless kept, counted.
    pub(crate) fn settle_front(&mut self, settle: Settle<'_>) {
        settle.count(1, &mut self.stats);
        if !settle.keep {
            self.remove_front();
        }
    }

    /// Drops the oldest report, which could not be encoded.
    pub(crate) fn drop_front(&mut self, error: ReportError) {
        self.stats.count_unencodable(error);
        self.remove_front();
    }

    fn remove_front(&mut self) {
        if !self.kept.remove_oldest()
            && let Some(error) = self.queued.pop_front()
        {
            self.kept.forget(&error);
        }
    }
}

/// Without the `persist-reports` feature: no vault, nothing kept.
#[cfg(not(feature = "persist-reports"))]
mod without_vault {
    use monlight_core::Stats;

    use crate::errors::{PendingError, ReportFields};

    pub(crate) struct Keeper;

    /// Never made: there is no vault to copy from.
    pub(crate) enum SlotCopy {}

    impl SlotCopy {
        pub(crate) fn fields(&self) -> Option<ReportFields<'_>> {
            match *self {}
        }
    }

    impl Keeper {
        pub(crate) const fn new() -> Self {
            Self
        }
        #[inline(always)]
        pub(crate) fn copy(&mut self, _: &mut PendingError) {}
        #[inline(always)]
        pub(crate) fn restored(&self) -> usize {
            0
        }
        #[inline(always)]
        pub(crate) fn oldest(&mut self, _: &mut Stats) -> Option<SlotCopy> {
            None
        }
        #[inline(always)]
        pub(crate) fn remove_oldest(&mut self) -> bool {
            false
        }
        #[inline(always)]
        pub(crate) fn forget(&mut self, _: &PendingError) {}
    }
}

#[cfg(all(test, feature = "persist-reports"))]
mod tests {
    extern crate std;

    use monlight_core::{Outcome, ThrowSite};

    use super::*;
    use crate::vault::ReportVault;

    fn report(message: &'static str) -> PendingError {
        let site = ThrowSite {
            file: "src/boiler.rs",
            line: 7,
            column: 3,
        };
        PendingError::new("boiler::SensorTimeout", &message, site)
    }

    fn settle(outcome: &Outcome, keep: bool) -> Settle<'_> {
        Settle {
            outcome,
            keep,
            count_batch: true,
        }
    }

    fn messages<const E: usize>(queue: &mut ErrorQueue<E>) -> std::vec::Vec<std::string::String> {
        let mut sent = std::vec::Vec::new();
        while let Some(front) = queue.front() {
            sent.push(front.fields().text.into());
            queue.settle_front(settle(&Outcome::Delivered { status: 201 }, false));
        }
        sent
    }

    #[test]
    fn what_a_reset_took_from_the_queue_goes_out_first_once() {
        static VAULT: ReportVault<4> = ReportVault::new();
        let mut before = ErrorQueue::<4>::new();
        assert_eq!(before.keep_in(&VAULT), 0);
        for message in ["one", "two", "three"] {
            assert!(before.push(report(message)));
        }
        // "one" is stored before the reset.
        let front = before.front().unwrap();
        assert_eq!(front.fields().text, "one");
        before.settle_front(settle(&Outcome::Delivered { status: 201 }, false));

        // The reset: a new queue, the same RAM.
        let mut after = ErrorQueue::<4>::new();
        assert_eq!(after.keep_in(&VAULT), 2);
        assert!(after.push(report("four")));
        assert_eq!(after.len(), 3);
        assert_eq!(messages(&mut after), ["two", "three", "four"]);
        let fields_survive = {
            let mut again = ErrorQueue::<4>::new();
            again.keep_in(&VAULT)
        };
        assert_eq!(fields_survive, 0, "each is sent once");
        assert_eq!(after.stats().recorded, 3);
        assert_eq!(after.stats().sent, 3);
    }

    #[test]
    fn a_report_kept_for_a_retry_stays_in_the_vault() {
        static VAULT: ReportVault<2> = ReportVault::new();
        let mut before = ErrorQueue::<2>::new();
        before.keep_in(&VAULT);
        before.push(report("rate limited"));
        let rate_limited = Outcome::RateLimited {
            retry_after_secs: 5,
        };
        before.front().unwrap();
        before.settle_front(settle(&rate_limited, true));
        let mut after = ErrorQueue::<2>::new();
        assert_eq!(after.keep_in(&VAULT), 1);
        let front = after.front().unwrap();
        let fields = front.fields();
        assert_eq!(
            (
                fields.type_path,
                fields.text,
                fields.site.file,
                fields.site.line
            ),
            ("boiler::SensorTimeout", "rate limited", "src/boiler.rs", 7)
        );
    }

    #[test]
    fn a_corrupt_slot_is_discarded_whole() {
        static VAULT: ReportVault<3> = ReportVault::new();
        let mut before = ErrorQueue::<3>::new();
        before.keep_in(&VAULT);
        for message in ["a", "b", "c"] {
            before.push(report(message));
        }
        // Noise in the second slot's message.
        VAULT.flip_bit_for_test(1, 100);
        let mut after = ErrorQueue::<3>::new();
        assert_eq!(after.keep_in(&VAULT), 2);
        assert_eq!(messages(&mut after), ["a", "c"]);
    }

    #[test]
    fn without_a_vault_the_queue_is_plain() {
        let mut queue = ErrorQueue::<1>::new();
        assert!(queue.push(report("kept")));
        assert!(!queue.push(report("no room")));
        assert_eq!(queue.stats().dropped_full, 1);
        assert_eq!(messages(&mut queue), ["kept"]);
    }
}
