//! The flush task: drains [`Monlight`] through a transport every
//! `flush_interval` and whenever the application asks.

use embassy_futures::select::select;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_time::{Duration, Instant, Ticker};
use monlight_core::{
    AsyncTransport, Endpoint, FlushReport, Flusher, InvalidProject, Outcome, Pause,
    validate_project,
};

use crate::Monlight;

/// Flush every 10 s by default (the reference client's `flush_interval`).
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(10);

/// Everything the flush task owns: the transport, the project settings,
/// the buffer batches are encoded into, and the 429 pauses.
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
pub struct Uplink<'a, T> {
    transport: T,
    project: &'a str,
    environment: Option<&'a str>,
    flush_interval: Duration,
    out: &'a mut [u8],
    metrics: Flusher<'a>,
    errors_pause: Pause,
}

impl<'a, T: AsyncTransport> Uplink<'a, T> {
    /// Sends through `transport` for `project` (1 to 100 characters),
    /// environment `"prod"`, every [`DEFAULT_FLUSH_INTERVAL`].
    pub fn new(transport: T, project: &'a str, out: &'a mut [u8]) -> Result<Self, InvalidProject> {
        validate_project(project)?;
        Ok(Self {
            transport,
            project,
            environment: Some("prod"),
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            out,
            // A critical section per point on a device: recording code and
            // interrupts wait at most one point's encoding (a few us).
            metrics: Flusher::new(Some(project)).with_points_per_lock(1),
            errors_pause: Pause::default(),
        })
    }

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

    /// The transport, e.g. to change its settings between flushes.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Sends queued error reports, oldest first. A report the tracker
    /// refuses is dropped; on a network failure or a 429 the rest wait for
    /// the next flush (a device's link comes and goes; the queue is
    /// bounded, so waiting costs no memory).
    async fn send_errors<M: RawMutex, const N: usize, const E: usize>(
        &mut self,
        monlight: &Monlight<M, N, E>,
    ) {
        if self.errors_pause.is_active(now_ms()) {
            return;
        }
        loop {
            // The report is encoded and gone before the send's `.await`:
            // kept across it, it would be 216 bytes more in the task's
            // future, RAM for the life of the program.
            let encoded = match monlight.next_error() {
                Some(error) => error.encode(self.project, self.environment, self.out),
                None => break,
            };
            let Ok(len) = encoded else {
                crate::log::warning!("monlight: error report does not fit the out buffer, dropped");
                monlight.settle_error(false);
                continue;
            };
            let outcome = self
                .transport
                .send(Endpoint::Errors, &self.out[..len])
                .await;
            match outcome {
                Outcome::Delivered { .. } => monlight.settle_error(true),
                Outcome::Rejected { .. } => {
                    crate::log::warning!("monlight: error report refused: {}", outcome);
                    monlight.settle_error(false);
                }
                Outcome::RateLimited { .. } | Outcome::Failed(_) => {
                    crate::log::warning!(
                        "monlight: error report not sent, will retry: {}",
                        outcome
                    );
                    self.errors_pause.observe(&outcome, now_ms());
                    monlight.count_failed_attempt();
                    return;
                }
            }
        }
    }
}

fn now_ms() -> u64 {
    Instant::now().as_millis()
}

impl<M: RawMutex, const N: usize, const E: usize> Monlight<M, N, E> {
    /// Sends the queued error reports, then the points buffered now, batch
    /// by batch. Points recorded meanwhile wait for the next flush. A
    /// failed batch is dropped and counted in [`Monlight::stats`], as the
    /// reference client does; after a 429 nothing is sent to that server
    /// until its `retry_after` has passed.
    pub async fn flush<T: AsyncTransport>(&self, uplink: &mut Uplink<'_, T>) -> FlushReport {
        uplink.send_errors(self).await;
        let report = uplink
            .metrics
            .flush_async(self, &mut uplink.transport, uplink.out, now_ms())
            .await;
        if let Some(failure) = report.last_failure {
            crate::log::warning!(
                "monlight: {} points lost in this flush: {}",
                report.dropped,
                failure
            );
        }
        report
    }

    /// The flush task: flushes at start, then every `flush_interval` and
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
    pub async fn run<T: AsyncTransport>(&self, mut uplink: Uplink<'_, T>) -> ! {
        let mut ticker = Ticker::every(uplink.flush_interval);
        loop {
            self.flush(&mut uplink).await;
            select(ticker.next(), self.flush_requested()).await;
        }
    }
}
