//! When a metrics client flushes. The collector aggregates each minute
//! once, at a tick whose second within the next minute nobody knows, and a
//! point that arrives after its minute's tick never reaches a chart. So,
//! with a wall clock, a client also flushes at the end of every minute
//! (at :59.0 plus a jitter of up to [`MINUTE_END_JITTER_MS`]), and the
//! batch writer moves points of a minute's last second to the next
//! minute's first (see [`BatchWriter`](crate::BatchWriter)): each minute's
//! points are at the collector before the minute is over.
//!
//! The collector's rate window is shared by a whole fleet. Interval
//! flushes are jittered per client so clients started together do not
//! flush in lockstep; one that would fall just before a minute-end flush
//! is left out (the minute end sends its points a moment later). After a
//! 429 the interval doubles, up to [`MAX_INTERVAL_MS`] (or the configured
//! interval, if longer), so the client sends fuller, rarer batches; after a
//! minute without 429 it narrows by a tenth, back to the configured one. A
//! fleet above the window's capacity converges to it instead of living on
//! 429s.

use crate::delivery::FlushReport;

/// The widest interval a 429 widens to, unless configured wider.
pub const MAX_INTERVAL_MS: u32 = 60_000;

/// The minute-end flush happens this much after :59.0 at most, per client
/// (a fleet's minute-end requests spread over it).
pub const MINUTE_END_JITTER_MS: u32 = 400;

/// An interval flush this close before a minute-end flush is left out.
const MERGE_MS: u64 = 2_000;

/// Interval flushes vary by this fraction either way, per client.
const JITTER_PERCENT: u32 = 10;

/// Decides when the next flush happens.
///
/// ```
/// use monlight_core::Schedule;
///
/// // Every 10 s, seeded per client (an address, a device id).
/// let mut schedule = Schedule::new(10_000, 0xC0FFEE);
/// // At 12:00:55.000 UTC: the minute-end flush at :59.0 to :59.4 comes
/// // first, the interval flush at about :05 would fall after it.
/// let unix_ms = 1_700_000_000_000 / 60_000 * 60_000 + 55_000;
/// let wait = schedule.next_delay_ms(Some(unix_ms));
/// assert!((4_000..=4_400).contains(&wait));
/// ```
#[derive(Debug, Clone)]
pub struct Schedule {
    base_ms: u32,
    interval_ms: u32,
    /// xorshift32 state: the jitter of this client.
    seed: u32,
    /// When the last 429 was seen, on the monotonic clock.
    last_429_ms: Option<u64>,
    /// When the interval was last narrowed.
    narrowed_ms: u64,
}

impl Schedule {
    /// Flushes every `interval_ms` (at least 1), jittered by `seed`: give
    /// each client its own (any value; 0 is replaced).
    pub const fn new(interval_ms: u32, seed: u32) -> Self {
        let base_ms = if interval_ms == 0 { 1 } else { interval_ms };
        Self {
            base_ms,
            interval_ms: base_ms,
            seed: if seed == 0 { 0x9E37_79B9 } else { seed },
            last_429_ms: None,
            narrowed_ms: 0,
        }
    }

    /// The interval now: the configured one, or wider after 429s.
    pub fn interval_ms(&self) -> u32 {
        self.interval_ms
    }

    /// Milliseconds until the next flush, from now. With the wall clock
    /// (`unix_ms`), the next minute-end flush is never skipped.
    pub fn next_delay_ms(&mut self, unix_ms: Option<u64>) -> u32 {
        // u32 arithmetic (but one remainder): a device divides u64 in
        // software.
        let spread = self.interval_ms / (100 / JITTER_PERCENT);
        let interval = (self.interval_ms - spread).saturating_add(self.random(2 * spread + 1));
        let Some(unix_ms) = unix_ms else {
            return interval;
        };
        let into_minute = (unix_ms % 60_000) as u32;
        let target = 59_000 + self.random(MINUTE_END_JITTER_MS + 1);
        // Within a minute's last second its minute-end flush has happened
        // (this is it, or the point it was planned from): the next one.
        let to_minute_end = if into_minute < 59_000 {
            target - into_minute
        } else {
            60_000 - into_minute + target
        };
        if u64::from(interval) + MERGE_MS >= u64::from(to_minute_end) {
            to_minute_end
        } else {
            interval
        }
    }

    /// Adapts to what a flush at `now_ms` (monotonic) met: wider after a
    /// 429, narrower after a minute without one.
    pub fn observe(&mut self, report: &FlushReport, now_ms: u64) {
        let ceiling = self.base_ms.max(MAX_INTERVAL_MS);
        if report.rate_limited() {
            self.interval_ms = self.interval_ms.saturating_mul(2).min(ceiling);
            self.last_429_ms = Some(now_ms);
            self.narrowed_ms = now_ms;
            return;
        }
        let calm_since = self.last_429_ms.map_or(0, |at| at).max(self.narrowed_ms);
        if self.interval_ms > self.base_ms && now_ms.saturating_sub(calm_since) >= 60_000 {
            self.interval_ms = (self.interval_ms - self.interval_ms / 10).max(self.base_ms);
            self.narrowed_ms = now_ms;
        }
    }

    /// A number in `0..bound` (xorshift32: jitter needs no better).
    fn random(&mut self, bound: u32) -> u32 {
        let mut x = self.seed;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.seed = x;
        x % bound.max(1)
    }
}
