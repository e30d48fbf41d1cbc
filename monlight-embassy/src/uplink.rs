//! The flush task: drains [`Monlight`] through a transport every
//! `flush_interval` and whenever the application asks.

use embassy_futures::select::select;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_time::{Duration, Instant, Timer};
use monlight_core::{
    AsyncTransport, FlushReport, Flusher, InvalidProject, Now, Outbox, ReportError, ReportQueue,
    Schedule, Settle, validate_project,
};

use crate::Monlight;
use crate::heartbeat::{Beat, HeartbeatSource, Heartbeats, NoHeartbeat};

/// Flush every 10 s by default (the reference client's `flush_interval`).
pub const DEFAULT_FLUSH_INTERVAL: Duration =
    Duration::from_secs(monlight_core::DEFAULT_FLUSH_INTERVAL_SECS);

/// Everything the flush task owns: the transport, the project settings,
/// the buffer batches and reports are encoded into, and the engines that
/// decide what goes out and when (core's flusher and outbox).
///
/// `out` bounds a request body: a batch holds as many points as fit
/// (2 KiB is about 20 typical points; a point bigger than `out` is dropped
/// and counted). An error report is cut to fit it.
///
/// ```no_run
/// use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
/// use embassy_time::Duration;
/// use monlight_embassy::{AsyncTransport, Monlight, Uplink};
///
/// static MONLIGHT: Monlight<CriticalSectionRawMutex, 4096> = Monlight::new();
///
/// async fn flush_forever(transport: impl AsyncTransport) -> ! {
///     let mut out = [0u8; 2048];
///     let uplink = Uplink::new(transport, "boiler-fw", &mut out)
///         .unwrap()
///         .environment("prod")
///         .flush_interval(Duration::from_secs(30));
///     MONLIGHT.run(uplink).await
/// }
/// ```
pub struct Uplink<'a, T, H = NoHeartbeat> {
    transport: T,
    project: &'a str,
    environment: Option<&'a str>,
    flush_interval: Duration,
    jitter_seed: u32,
    out: &'a mut [u8],
    metrics: Flusher<'a>,
    errors: Outbox,
    heartbeat: H,
}

impl<'a, T: AsyncTransport> Uplink<'a, T> {
    /// Sends through `transport` for `project` (1 to 100 characters),
    /// environment `"prod"`, every [`DEFAULT_FLUSH_INTERVAL`].
    pub fn new(transport: T, project: &'a str, out: &'a mut [u8]) -> Result<Self, InvalidProject> {
        validate_project(project)?;
        Ok(Self {
            transport,
            project,
            environment: Some(monlight_core::DEFAULT_ENVIRONMENT),
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            // Devices boot at different microseconds; a device id is better.
            jitter_seed: Instant::now().as_ticks() as u32,
            out,
            // A critical section per point on a device: recording code and
            // interrupts wait at most one point's encoding (a few us).
            metrics: Flusher::new(Some(project)).with_points_per_lock(1),
            errors: Outbox::new(),
            heartbeat: NoHeartbeat,
        })
    }

    /// Records a heartbeat every `interval` (1 h is a good start; see
    /// [`Heartbeats`] for its gauges), with the gauges `extra` adds:
    ///
    /// ```no_run
    /// # use monlight_embassy::{AsyncTransport, Uplink};
    /// # fn demo<T: AsyncTransport>(uplink: Uplink<'_, T>) {
    /// let uplink = uplink.heartbeat(embassy_time::Duration::from_secs(3600), |beat| {
    ///     beat.gauge("stack_free_bytes", 812.0);
    /// });
    /// # let _ = uplink;
    /// # }
    /// ```
    pub fn heartbeat<F: FnMut(&mut Beat<'_>)>(
        self,
        interval: Duration,
        extra: F,
    ) -> Uplink<'a, T, Heartbeats<F>> {
        Uplink {
            transport: self.transport,
            project: self.project,
            environment: self.environment,
            flush_interval: self.flush_interval,
            jitter_seed: self.jitter_seed,
            out: self.out,
            metrics: self.metrics,
            errors: self.errors,
            heartbeat: Heartbeats::new(interval, extra),
        }
    }
}

impl<'a, T: AsyncTransport, H> Uplink<'a, T, H> {
    /// The `environment` of error reports (default `"prod"`).
    #[must_use]
    pub fn environment(mut self, environment: &'a str) -> Self {
        self.environment = Some(environment);
        self
    }

    /// How often [`Monlight::run`] flushes (default 10 s).
    #[must_use]
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// Seeds the jitter that keeps a fleet's flushes apart: give each
    /// device its own, e.g. from its unique id or MAC address (by default,
    /// the time the uplink was made).
    #[must_use]
    pub fn jitter_seed(mut self, seed: u32) -> Self {
        self.jitter_seed = seed;
        self
    }

    /// The transport, e.g. to change its settings between flushes.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Sends queued error reports, oldest first, through core's outbox.
    /// A report the tracker did not store (a 429, a link that never
    /// reached it) stays queued and goes out again at a later flush, once
    /// the outbox's pause or backoff allows (a device's link comes and
    /// goes; the queue is bounded, so waiting costs no memory). A report
    /// refused, or left without an answer, is dropped and counted.
    async fn send_errors<M: RawMutex, const N: usize, const E: usize>(
        &mut self,
        monlight: &Monlight<M, N, E>,
    ) {
        let now = now_ms();
        if self.errors.retry_at_ms().is_some_and(|at| now < at) {
            return;
        }
        let queue = Queue {
            monlight,
            project: self.project,
            environment: self.environment,
        };
        let report = self
            .errors
            .send_async(&queue, &mut self.transport, self.out, now)
            .await;
        if let Some(failure) = report.last_failure {
            crate::log::warning!(
                "monlight: {} error reports lost, {} kept to send again: {}",
                report.dropped,
                report.kept,
                failure
            );
        }
    }
}

/// The queue of [`Monlight`] as the outbox drains it: reports are encoded
/// for this uplink's project when sent.
struct Queue<'q, M: RawMutex, const N: usize, const E: usize> {
    monlight: &'q Monlight<M, N, E>,
    project: &'q str,
    environment: Option<&'q str>,
}

impl<M: RawMutex, const N: usize, const E: usize> ReportQueue for Queue<'_, M, N, E> {
    fn waiting(&self) -> usize {
        self.monlight.queued_errors()
    }

    fn write_front(&self, out: &mut [u8]) -> Option<Result<usize, ReportError>> {
        // Copied out, then encoded without holding the lock.
        let front = self.monlight.next_error()?;
        Some(front.fields().encode(self.project, self.environment, out))
    }

    fn settle_front(&self, settle: Settle<'_>) {
        self.monlight.settle_error(settle);
    }

    fn drop_front(&self, error: ReportError) {
        crate::log::warning!("monlight: error report dropped: {}", error);
        self.monlight.drop_error(error);
    }
}

fn now_ms() -> u64 {
    Instant::now().as_millis()
}

impl<M: RawMutex, const N: usize, const E: usize> Monlight<M, N, E> {
    /// Both clocks, for the flush engine.
    fn now(&self) -> Now {
        Now {
            monotonic_ms: now_ms(),
            unix_seconds: self.unix_time(),
        }
    }
}

impl<M: RawMutex, const N: usize, const E: usize> Monlight<M, N, E> {
    /// Sends the queued error reports, then the points buffered now, batch
    /// by batch. Points recorded meanwhile wait for the next flush. A batch
    /// the server did not store (a 429, a connection that never reached
    /// it) stays buffered and goes out again: after a 429 once its
    /// `retry_after` has passed, otherwise at the next flush. A batch lost
    /// for good is counted in [`Monlight::stats`].
    pub async fn flush<T: AsyncTransport, H>(&self, uplink: &mut Uplink<'_, T, H>) -> FlushReport {
        uplink.send_errors(self).await;
        let report = uplink
            .metrics
            .flush_async(self, &mut uplink.transport, uplink.out, self.now())
            .await;
        if let Some(failure) = report.last_failure {
            crate::log::warning!(
                "monlight: {} points lost, {} kept to send again: {}",
                report.dropped,
                report.kept,
                failure
            );
        }
        report
    }

    /// The flush task: flushes at start, then on core's [`Schedule`]
    /// (every `flush_interval`, jittered per device, wider after a 429;
    /// with the wall clock set, also at the end of every minute, so each
    /// minute's points reach the collector before it aggregates them) and
    /// whenever [`Monlight::flush_now`] is called. Spawn it from a task of
    /// your own (Embassy tasks cannot be generic):
    ///
    /// ```text
    /// #[embassy_executor::task]
    /// async fn monlight_task(stack: embassy_net::Stack<'static>) -> ! {
    ///     // build the transport and the Uplink (see the crate's example), then:
    ///     MONLIGHT.run(uplink).await
    /// }
    /// ```
    pub async fn run<T: AsyncTransport, H: HeartbeatSource>(
        &self,
        mut uplink: Uplink<'_, T, H>,
    ) -> ! {
        let interval = u32::try_from(uplink.flush_interval.as_millis()).unwrap_or(u32::MAX);
        let mut schedule = Schedule::new(interval, uplink.jitter_seed);
        loop {
            // A heartbeat due now goes out with this flush.
            uplink.heartbeat.beat(self, now_ms());
            let report = self.flush(&mut uplink).await;
            schedule.observe(&report, now_ms());
            let wait = schedule.next_delay_ms(self.unix_time_ms());
            select(Timer::after_millis(wait.into()), self.flush_requested()).await;
        }
    }
}
