//! The flush thread: when the metrics client flushes, and how a flush's
//! outcome is logged. What a flush sends is core's decision.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use monlight_core::limits::MAX_METRICS_BODY;
use monlight_core::{Drain, FlushReport, Flusher, Now, Schedule};

use super::Shared;
use crate::clock::unix_now;
use crate::transport::{BlockingHttp, Unavailable};

pub(super) enum Command {
    StartPeriodic,
    /// The buffer is half full: flush now if flushing periodically.
    FlushSoon,
    Flush(SyncSender<FlushReport>),
    /// The last flush, to be answered by the deadline.
    Shutdown(SyncSender<FlushReport>, Instant),
}

pub(super) struct Worker {
    pub(super) commands: mpsc::Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    pub(super) fn spawn(shared: Arc<Shared>) -> Self {
        let (commands, inbox) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("monlight-metrics".into())
            .spawn(move || run_worker(&shared, &inbox));
        if let Err(e) = &thread {
            // No thread: commands go nowhere; recording still works and the
            // points stay buffered (and counted) until a flush can run.
            log::warn!("monlight: could not start the metrics flush thread: {e}");
        }
        Self {
            commands,
            thread: thread.ok(),
        }
    }

    pub(super) fn stop(self, wait: Duration) {
        let (ack, done) = mpsc::sync_channel(1);
        let deadline = Instant::now() + wait;
        if self.commands.send(Command::Shutdown(ack, deadline)).is_ok() {
            match done.recv_timeout(wait) {
                Ok(_) => {
                    if let Some(thread) = self.thread {
                        let _ = thread.join();
                    }
                }
                Err(_) => log::warn!(
                    "monlight: final metrics flush did not finish within {wait:?}; leaving it"
                ),
            }
        }
    }
}

/// The flush thread: owns the transport (for `https://`, a blocking
/// reqwest client, which must live outside any async runtime), the encode
/// buffer and the flusher.
fn run_worker(shared: &Shared, inbox: &mpsc::Receiver<Command>) {
    let config = &shared.config;
    let mut transport = match BlockingHttp::new(&config.base_url, &config.api_key, config.timeout) {
        Ok(http) => Some(http),
        Err(e) => {
            log::warn!("monlight: metrics transport unavailable: {e}");
            None
        }
    };
    let mut out = vec![0u8; MAX_METRICS_BODY];
    let mut flusher = Flusher::new(config.project.as_deref());
    let origin = Instant::now();
    let whole_batches = Drain::WholeBatches(shared.staging.whole_batch(flusher.batch_items()));
    let mut flush = |drain, deadline: Option<Instant>| {
        if let Some(deadline) = deadline {
            // A 429 pause that ends in time is waited out: what it holds
            // back can still be sent.
            let pause = Duration::from_millis(flusher.pause().remaining_ms(millis_since(origin)));
            if Instant::now() + pause + config.timeout < deadline {
                std::thread::sleep(pause);
            }
        }
        let now = Now {
            monotonic_ms: millis_since(origin),
            unix_seconds: Some(unix_now()),
        };
        // A buffer that fills up again while this flush runs asks for the
        // next one at once.
        shared.flush_soon.store(false, Ordering::Relaxed);
        let report = match transport.as_mut() {
            Some(http) => shared.flush(&mut flusher, http, &mut out, now, drain),
            None => shared.flush(&mut flusher, &mut Unavailable, &mut out, now, drain),
        };
        shared.warned_full.store(false, Ordering::Relaxed);
        log_report(&report);
        report
    };
    let mut schedule = Schedule::new(
        u32::try_from(config.flush_interval.as_millis()).unwrap_or(u32::MAX),
        seed(shared),
    );
    let mut periodic = false;
    // The last flush left points the server did not store: early flushes
    // wait for the next interval rather than knock again at once.
    let mut holding = false;
    let mut next = Instant::now();
    loop {
        let received = if periodic {
            inbox.recv_timeout(next.saturating_duration_since(Instant::now()))
        } else {
            inbox.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        let report = match received {
            Ok(Command::StartPeriodic) => {
                if !periodic {
                    periodic = true;
                    next = next_flush(&mut schedule);
                }
                continue;
            }
            Ok(Command::Flush(ack)) => {
                let report = flush(Drain::All, None);
                let _ = ack.send(report);
                report
            }
            Ok(Command::FlushSoon) => {
                if !periodic || holding {
                    continue;
                }
                flush(whole_batches, None)
            }
            Ok(Command::Shutdown(ack, deadline)) => {
                let _ = ack.send(flush(Drain::Last, Some(deadline)));
                return;
            }
            Err(RecvTimeoutError::Timeout) => {
                let report = flush(Drain::All, None);
                next = next_flush(&mut schedule);
                report
            }
            Err(RecvTimeoutError::Disconnected) => {
                flush(Drain::Last, None);
                return;
            }
        };
        holding = report.kept > 0 || report.paused;
        schedule.observe(&report, millis_since(origin));
    }
}

/// When the next periodic flush is due (see [`Schedule`]: every interval,
/// and at each minute's end).
fn next_flush(schedule: &mut Schedule) -> Instant {
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| u64::try_from(since.as_millis()).ok());
    Instant::now() + Duration::from_millis(schedule.next_delay_ms(unix_ms).into())
}

/// A jitter seed of this client: the process, the time, the client's
/// address.
fn seed(shared: &Shared) -> u32 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    let address = std::ptr::from_ref(shared) as usize as u32;
    std::process::id().rotate_left(16) ^ nanos ^ address
}

fn millis_since(origin: Instant) -> u64 {
    u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn log_report(report: &FlushReport) {
    if let (Some(failure), true) = (&report.last_failure, report.kept > 0) {
        log::warn!(
            "monlight: {} metric points not stored ({failure}); kept, they go out again later",
            report.kept
        );
    }
    if let (Some(failure), true) = (&report.last_failure, report.dropped > 0) {
        log::warn!(
            "monlight: {} metric points lost in this flush: {failure}",
            report.dropped
        );
    } else if report.dropped > 0 {
        log::warn!(
            "monlight: {} metric points too large to send were dropped",
            report.dropped
        );
    }
    if report.paused {
        log::debug!("monlight: metrics collector asked to wait (429); points stay buffered");
    }
}
