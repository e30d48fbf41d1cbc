//! Where the flush engine takes points from: the [`PointSource`] trait,
//! implemented for a shared [`MetricBuffer`] (through [`BufferAccess`]) and
//! for a pair of sources drained one after the other.
//!
//! A source keeps the points of a batch until the batch's outcome is
//! known: the points leave when the server stored them or when they are
//! lost for good, and stay (to go into the next batch first) when the
//! server provably stored nothing ([`Outcome::can_retry`]).

use core::cell::RefCell;

use crate::batch::{BatchWriter, Written};
use crate::buffer::MetricBuffer;
use crate::stats::Stats;
use crate::transport::Outcome;

/// Points waiting to be sent, as the [`Flusher`](crate::Flusher) drains
/// them. Implemented for every [`BufferAccess`] (a shared
/// [`MetricBuffer`]) and for a pair of sources, drained first to second.
/// Implement it for points kept elsewhere (monlight-std's per-thread
/// rings); each source counts its own points in its own [`Stats`].
pub trait PointSource {
    /// Points waiting now, those of the batch being built or sent included.
    fn waiting(&self) -> usize;

    /// Writes up to `max` of the oldest points that are not in `batch` yet
    /// into it (fewer when the batch fills or the source runs out). They
    /// stay in the source until [`PointSource::settle`]. A point that fits
    /// no batch even alone is removed and counted as oversize; it can only
    /// be the first of a batch.
    fn write_next(&self, batch: &mut BatchWriter<'_>, max: usize) -> Written;

    /// Ends the batch that [`PointSource::write_next`] filled, as
    /// `settle` says (count its points with [`Settle::count`]). Returns
    /// whether the source had points in the batch.
    fn settle(&self, settle: Settle<'_>) -> bool;
}

/// How a batch ended, for the sources whose points were in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settle<'a> {
    /// What the transport answered.
    pub outcome: &'a Outcome,
    /// The points stay, first in line, to be sent again: the server
    /// stored nothing and a later flush can still send them. Otherwise
    /// they leave.
    pub keep: bool,
    /// This source counts the request in its `batches` (the first source
    /// with points in it does).
    pub count_batch: bool,
}

impl Settle<'_> {
    /// Counts `points` of this batch in `stats`: sent, retried (kept) or
    /// dropped under the outcome's reason.
    pub fn count(&self, points: u64, stats: &mut Stats) {
        stats.batches += u64::from(self.count_batch);
        if self.keep {
            stats.retried += points;
        } else {
            stats.count_final(points, self.outcome);
        }
    }
}

/// Access to a buffer that recording code shares with the flusher, e.g.
/// behind a mutex. The flusher holds it only to write a few points into a
/// batch and to settle a batch, never while a request is in flight, so
/// recording never waits on the network.
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

impl<B: BufferAccess> PointSource for B {
    fn waiting(&self) -> usize {
        self.with_buffer(|buffer| buffer.len())
    }

    fn write_next(&self, batch: &mut BatchWriter<'_>, max: usize) -> Written {
        self.with_buffer(|buffer| batch.write_from(buffer, max))
    }

    fn settle(&self, settle: Settle<'_>) -> bool {
        self.with_buffer(|buffer| buffer.settle_batch(settle))
    }
}

/// Two sources, drained first to second: a batch is filled from the first
/// and topped up from the second, so no short batch goes out where one
/// ends. A request is counted by the first that had points in it.
impl<A: PointSource + ?Sized, B: PointSource + ?Sized> PointSource for (&A, &B) {
    fn waiting(&self) -> usize {
        self.0.waiting() + self.1.waiting()
    }

    fn write_next(&self, batch: &mut BatchWriter<'_>, max: usize) -> Written {
        let first = self.0.write_next(batch, max);
        let done = first.points + first.oversize;
        if done == max || batch.is_full() {
            return first;
        }
        let second = self.1.write_next(batch, max - done);
        Written {
            points: first.points + second.points,
            oversize: first.oversize + second.oversize,
        }
    }

    fn settle(&self, settle: Settle<'_>) -> bool {
        let first = self.0.settle(settle);
        let second = self.1.settle(Settle {
            count_batch: settle.count_batch && !first,
            ..settle
        });
        first || second
    }
}
