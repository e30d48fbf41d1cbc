//! Heartbeats: how a device is doing, as gauges the flush task records
//! every interval, so a fleet's health is a chart on the collector. Opt-in
//! ([`Uplink::heartbeat`](crate::Uplink::heartbeat)): the flush task of a
//! firmware without it carries none of this code ([`NoHeartbeat`] does
//! nothing and compiles to nothing).

use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_time::Duration;
use monlight_core::Stats;

use crate::Monlight;

/// One heartbeat, as the application's callback sees it: add gauges of
/// your own (stack high-water mark, free heap, battery).
pub struct Beat<'m> {
    record: &'m mut dyn FnMut(&str, f64),
}

impl Beat<'_> {
    /// Records a gauge `name` with `value` in this heartbeat.
    pub fn gauge(&mut self, name: &str, value: f64) {
        (self.record)(name, value);
    }
}

/// What the flush task does about heartbeats (see [`Heartbeats`]).
pub trait HeartbeatSource {
    /// Records a heartbeat into `monlight` if one is due at `now_ms`
    /// (milliseconds since boot).
    fn beat<M: RawMutex, const N: usize, const E: usize>(
        &mut self,
        monlight: &Monlight<M, N, E>,
        now_ms: u64,
    );
}

/// No heartbeats (the default): nothing is recorded, nothing is linked.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHeartbeat;

impl HeartbeatSource for NoHeartbeat {
    #[inline(always)]
    fn beat<M: RawMutex, const N: usize, const E: usize>(&mut self, _: &Monlight<M, N, E>, _: u64) {
    }
}

/// Heartbeats every interval, with the application's gauges from `extra`.
/// Each records, as gauges:
///
/// - `uptime_seconds`;
/// - since the last heartbeat: `monlight_points_recorded`,
///   `monlight_points_sent`, `monlight_points_retried`,
///   `monlight_points_dropped` by `reason` (`full`, `invalid`, `rejected`,
///   `rate_limited`, `transport`, `oversize`; only the reasons that
///   occurred), `monlight_reports_sent` and `monlight_reports_dropped`;
/// - what `extra` adds.
///
/// A heartbeat's own points count in the next one's `recorded`.
pub struct Heartbeats<F> {
    interval_ms: u64,
    /// `None` until the flush task starts: the first heartbeat comes an
    /// interval after it (its counters are those since boot).
    next_ms: Option<u64>,
    points: Stats,
    reports: Stats,
    extra: F,
}

impl<F: FnMut(&mut Beat<'_>)> Heartbeats<F> {
    pub(crate) fn new(interval: Duration, extra: F) -> Self {
        Self {
            interval_ms: interval.as_millis().max(1),
            next_ms: None,
            points: Stats::new(),
            reports: Stats::new(),
            extra,
        }
    }
}

impl<F: FnMut(&mut Beat<'_>)> HeartbeatSource for Heartbeats<F> {
    fn beat<M: RawMutex, const N: usize, const E: usize>(
        &mut self,
        monlight: &Monlight<M, N, E>,
        now_ms: u64,
    ) {
        let due = *self.next_ms.get_or_insert(now_ms + self.interval_ms);
        if now_ms < due {
            return;
        }
        // The next one an interval after this one was due (no drift), or
        // after now if the flush task was away longer.
        self.next_ms = Some((due + self.interval_ms).max(now_ms + 1));
        let (points, reports) = (monlight.stats(), monlight.error_stats());
        let (was, was_reports) = (self.points, self.reports);
        self.points = points;
        self.reports = reports;
        let record = |name: &str, labels: &[(&str, &str)], value: u64| {
            // A full buffer refuses it, counted like any point.
            let _ = monlight.gauge(name, value as f64, labels);
        };
        record("uptime_seconds", &[], now_ms / 1000);
        record(
            "monlight_points_recorded",
            &[],
            points.recorded - was.recorded,
        );
        record("monlight_points_sent", &[], points.sent - was.sent);
        record("monlight_points_retried", &[], points.retried - was.retried);
        let dropped = [
            ("full", points.dropped_full - was.dropped_full),
            ("invalid", points.dropped_invalid - was.dropped_invalid),
            ("rejected", points.dropped_rejected - was.dropped_rejected),
            (
                "rate_limited",
                points.dropped_rate_limited - was.dropped_rate_limited,
            ),
            (
                "transport",
                points.dropped_transport - was.dropped_transport,
            ),
            ("oversize", points.dropped_oversize - was.dropped_oversize),
        ];
        for (reason, count) in dropped.into_iter().filter(|(_, count)| *count > 0) {
            record("monlight_points_dropped", &[("reason", reason)], count);
        }
        record(
            "monlight_reports_sent",
            &[],
            reports.sent - was_reports.sent,
        );
        record(
            "monlight_reports_dropped",
            &[],
            reports.dropped() - was_reports.dropped(),
        );
        let mut gauge = |name: &str, value: f64| {
            let _ = monlight.gauge(name, value, &[]);
        };
        (self.extra)(&mut Beat { record: &mut gauge });
    }
}
