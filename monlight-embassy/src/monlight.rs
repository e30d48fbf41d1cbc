//! The state that recording code and the flush task share: the point
//! buffer, the error queue, the wall clock and the flush signal.

use core::cell::RefCell;

use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::signal::Signal;
use embassy_time::Instant;
use monlight_core::{
    BufferAccess, Label, Metric, MetricBuffer, MetricKind, RecordError, ReportError, Settle, Stats,
    ThrowSite, write_decimal,
};

use crate::ResetReason;
use crate::crash::{Boot, Crash};
use crate::errors::{
    CAUSE_SEPARATOR, DETAIL_SEPARATOR, HARD_FAULT_EXCEPTION_TYPE, PANIC_EXCEPTION_TYPE,
    PendingError,
};
use crate::queue::{ErrorQueue, Front};
use crate::text::ErrorMessage;
#[cfg(feature = "persist-reports")]
use crate::vault::ReportVault;

/// Error reports [`Monlight`] queues by default.
pub const DEFAULT_ERROR_QUEUE: usize = 4;

/// monlight on a device: a `static` that any task (or, with
/// `CriticalSectionRawMutex`, an interrupt) records into, and that the
/// flush task ([`Monlight::run`]) drains over the network.
///
/// - `M`: the raw mutex (`CriticalSectionRawMutex` to record from anywhere,
///   `ThreadModeRawMutex` for thread-mode tasks only). It is held for the
///   few microseconds it takes to copy a point, never across the network.
/// - `N`: bytes of point storage. A point takes
///   [`record_len`](monlight_core::record_len) bytes (about 40 plus its
///   name and labels); when full, new points are refused and counted.
/// - `E`: error reports queued until the next flush (default
///   [`DEFAULT_ERROR_QUEUE`]); 216 bytes each on a 32-bit target.
///
/// Its RAM is [`Monlight::RAM_BYTES`], known at compile time.
///
/// ```
/// use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
/// use monlight_embassy::Monlight;
///
/// static MONLIGHT: Monlight<CriticalSectionRawMutex, 4096> = Monlight::new();
///
/// MONLIGHT.counter("boots_total", &[]).unwrap();
/// MONLIGHT.gauge("temperature_celsius", 21.5, &[("sensor", "boiler")]).unwrap();
/// MONLIGHT.report_error("SensorTimeout", format_args!("sensor {} silent", 3));
/// assert_eq!(MONLIGHT.stats().recorded, 2);
/// assert_eq!(MONLIGHT.error_stats().recorded, 1);
/// ```
pub struct Monlight<M: RawMutex, const N: usize, const E: usize = DEFAULT_ERROR_QUEUE> {
    state: Mutex<M, RefCell<State<N, E>>>,
    flush_now: Signal<M, ()>,
}

struct State<const N: usize, const E: usize> {
    points: MetricBuffer<[u8; N]>,
    errors: ErrorQueue<E>,
    /// Unix seconds at `Instant` zero, once the application knows the time.
    unix_at_boot: Option<u64>,
}

impl<M: RawMutex, const N: usize, const E: usize> Default for Monlight<M, N, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: RawMutex, const N: usize, const E: usize> Monlight<M, N, E> {
    /// The RAM this value occupies (point storage, error queue, counters).
    pub const RAM_BYTES: usize = core::mem::size_of::<Self>();

    /// An empty buffer and queue, without wall clock.
    pub const fn new() -> Self {
        Self {
            state: Mutex::new(RefCell::new(State {
                points: MetricBuffer::new(),
                errors: ErrorQueue::new(),
                unix_at_boot: None,
            })),
            flush_now: Signal::new(),
        }
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut State<N, E>) -> R) -> R {
        self.state.lock(|state| f(&mut state.borrow_mut()))
    }

    /// Counts one occurrence (a counter point of value 1). The argument
    /// order is monlight-std's (the reference client's).
    pub fn counter(&self, name: &str, labels: &[Label<'_>]) -> Result<(), RecordError> {
        self.counter_by(name, labels, 1.0)
    }

    /// Counts `value` occurrences in one point.
    pub fn counter_by(
        &self,
        name: &str,
        labels: &[Label<'_>],
        value: f64,
    ) -> Result<(), RecordError> {
        self.record(Metric::new(MetricKind::Counter, name, labels, value))
    }

    /// Records one observation of a distribution (a duration, a size).
    pub fn histogram(
        &self,
        name: &str,
        value: f64,
        labels: &[Label<'_>],
    ) -> Result<(), RecordError> {
        self.record(Metric::new(MetricKind::Histogram, name, labels, value))
    }

    /// Records the current value of something.
    pub fn gauge(&self, name: &str, value: f64, labels: &[Label<'_>]) -> Result<(), RecordError> {
        self.record(Metric::new(MetricKind::Gauge, name, labels, value))
    }

    /// Buffers `metric`, stamped with the wall clock if one was set with
    /// [`Monlight::set_unix_time`] and the point has no timestamp of its
    /// own. A refused point (invalid, or buffer full) is counted in
    /// [`Monlight::stats`]; it never blocks.
    pub fn record(&self, metric: Metric<'_>) -> Result<(), RecordError> {
        self.with_state(|state| {
            // The clock is read only when there is a wall clock to stamp with.
            let metric = match (metric.timestamp, state.unix_at_boot) {
                (None, Some(at_boot)) => metric.at(at_boot + Instant::now().as_secs()),
                _ => metric,
            };
            state.points.record(&metric)
        })
    }

    /// Tells monlight the current Unix time (from SNTP, an RTC, a GNSS
    /// fix): from now on points carry UTC timestamps. Without it they carry
    /// none and the server stamps their arrival.
    pub fn set_unix_time(&self, unix_seconds: u64) {
        let since_boot = Instant::now().as_secs();
        self.with_state(|state| state.unix_at_boot = Some(unix_seconds.saturating_sub(since_boot)));
    }

    /// The current Unix time, if [`Monlight::set_unix_time`] was called.
    pub fn unix_time(&self) -> Option<u64> {
        let since_boot = Instant::now().as_secs();
        self.with_state(|state| state.unix_at_boot.map(|at_boot| at_boot + since_boot))
    }

    /// The current Unix time in milliseconds, if known (to the second it
    /// was set with), for the flush schedule.
    pub(crate) fn unix_time_ms(&self) -> Option<u64> {
        let since_boot = Instant::now().as_millis();
        self.with_state(|state| {
            state
                .unix_at_boot
                .map(|at_boot| at_boot * 1000 + since_boot)
        })
    }

    /// Queues an error report with the caller's location as its throw site
    /// (the tracker groups by type and site). The message, plain text or
    /// `format_args!` (see [`ErrorMessage`]), is kept up to
    /// [`ERROR_MESSAGE_BYTES`](crate::ERROR_MESSAGE_BYTES). Returns `false`
    /// if the queue is full (the report is dropped and counted).
    ///
    /// ```
    /// # use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
    /// # use monlight_embassy::Monlight;
    /// # static MONLIGHT: Monlight<CriticalSectionRawMutex, 1024> = Monlight::new();
    /// MONLIGHT.report_error("SensorTimeout", "no answer from the boiler sensor");
    /// let sensor = 3;
    /// MONLIGHT.report_error("SensorTimeout", format_args!("no answer from sensor {sensor}"));
    /// ```
    #[track_caller]
    pub fn report_error(&self, exception_type: &'static str, message: impl ErrorMessage) -> bool {
        let error = PendingError::new(exception_type, &message, ThrowSite::caller());
        self.queue_error(error)
    }

    /// [`Monlight::report_error`] for a value implementing
    /// `core::error::Error`, reported as monlight-std reports it: its type
    /// name (without module path) is the exception type, its message the
    /// message, and its causes go into the traceback, one `Caused by:`
    /// line each. Message and causes share
    /// [`ERROR_MESSAGE_BYTES`](crate::ERROR_MESSAGE_BYTES).
    #[track_caller]
    pub fn report<Failure: core::error::Error>(&self, error: &Failure) -> bool {
        let type_path = core::any::type_name::<Failure>();
        let message = format_args!("{}", WithCauses(error));
        self.queue_error(PendingError::new(type_path, &message, ThrowSite::caller()))
    }

    /// Counts this boot in `boots_total` with its `reason` label
    /// ([`ResetReason::as_str`]), and queues the report of the crash that
    /// caused the reset, if any (see [`Monlight::report_crash`]). Returns
    /// `false` if the point or the report was refused (and counted).
    ///
    /// ```
    /// # use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
    /// use monlight_embassy::{CrashSlot, Monlight, ResetReason};
    /// # static MONLIGHT: Monlight<CriticalSectionRawMutex, 1024> = Monlight::new();
    /// static CRASH: CrashSlot<256> = CrashSlot::new(); // in `.uninit` on a device
    ///
    /// // Early in `main`, with the chip's reset flags read by your `ResetCause`:
    /// assert!(MONLIGHT.report_boot(&CRASH.boot(&mut || ResetReason::PowerOn)));
    /// assert_eq!(MONLIGHT.stats().recorded, 1);
    /// ```
    pub fn report_boot<const C: usize>(&self, boot: &Boot<C>) -> bool {
        let counted = self
            .counter("boots_total", &[("reason", boot.reason().as_str())])
            .is_ok();
        let reported = boot.crash().is_none_or(|crash| self.report_crash(crash));
        counted && reported
    }

    /// Queues the report of a crash persisted before the last reset (see
    /// [`CrashSlot`](crate::CrashSlot)): a panic with
    /// [`PANIC_EXCEPTION_TYPE`](crate::PANIC_EXCEPTION_TYPE) as its type,
    /// as monlight-std reports a panic, a hard fault with
    /// [`HARD_FAULT_EXCEPTION_TYPE`](crate::HARD_FAULT_EXCEPTION_TYPE).
    /// Its traceback ends with the boot it happened in and the uptime:
    /// `boot 3, uptime 7 s`.
    pub fn report_crash<const C: usize>(&self, crash: &Crash<C>) -> bool {
        let exception_type = match crash.reason() {
            ResetReason::HardFault => HARD_FAULT_EXCEPTION_TYPE,
            _ => PANIC_EXCEPTION_TYPE,
        };
        let text = CrashText {
            boot: crash.boot(),
            uptime_seconds: crash.uptime_seconds(),
            message: crash.message(),
        };
        self.queue_error(PendingError::new(exception_type, &text, crash.site()))
    }

    /// Keeps every error report queued from now on also in `vault`, RAM
    /// that survives a reset (see [`ReportVault`]), and queues the reports
    /// it holds from before the last reset, to be sent first. Returns how
    /// many there were. Call it once at boot, before anything is reported
    /// and before the flush task starts.
    ///
    /// ```
    /// # use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
    /// use monlight_embassy::{Monlight, ReportVault};
    /// # static MONLIGHT: Monlight<CriticalSectionRawMutex, 1024> = Monlight::new();
    /// static REPORTS: ReportVault<4> = ReportVault::new(); // in `.uninit` on a device
    ///
    /// assert_eq!(MONLIGHT.keep_reports_in(&REPORTS), 0, "a first boot: nothing kept");
    /// MONLIGHT.report_error("SensorTimeout", "no answer");
    /// // ... a watchdog reset before the flush task sent it: after the boot,
    /// // the next `keep_reports_in(&REPORTS)` queues it again.
    /// ```
    #[cfg(feature = "persist-reports")]
    pub fn keep_reports_in<const V: usize>(&self, vault: &'static ReportVault<V>) -> usize {
        self.with_state(|state| state.errors.keep_in(vault))
    }

    fn queue_error(&self, error: PendingError) -> bool {
        let queued = self.with_state(|state| state.errors.push(error));
        if !queued {
            crate::log::warning!("monlight: error queue full, report dropped");
        }
        queued
    }

    /// Asks the flush task to flush now (e.g. before deep sleep, or after
    /// an error) instead of at its next tick.
    pub fn flush_now(&self) {
        self.flush_now.signal(());
    }

    pub(crate) async fn flush_requested(&self) {
        self.flush_now.wait().await;
    }

    /// The metric counters: recorded, sent, dropped by reason.
    pub fn stats(&self) -> Stats {
        self.with_state(|state| state.points.stats())
    }

    /// The error report counters: of the `recorded` reports given, `sent`
    /// were stored and the rest dropped under their reason
    /// (`dropped_full`: the queue was full) or still queued; `retried`
    /// counts tries the tracker did not store.
    pub fn error_stats(&self) -> Stats {
        self.with_state(|state| state.errors.stats())
    }

    /// Points waiting to be sent.
    pub fn buffered(&self) -> usize {
        self.with_state(|state| state.points.len())
    }

    /// The oldest queued error report, copied (it is encoded unlocked).
    pub(crate) fn next_error(&self) -> Option<Front> {
        self.with_state(|state| state.errors.front())
    }

    /// Error reports waiting to be sent.
    pub(crate) fn queued_errors(&self) -> usize {
        self.with_state(|state| state.errors.len())
    }

    /// Ends the oldest queued report: it leaves unless kept, counted.
    pub(crate) fn settle_error(&self, settle: Settle<'_>) {
        self.with_state(|state| state.errors.settle_front(settle));
    }

    /// Drops the oldest queued report, which could not be encoded.
    pub(crate) fn drop_error(&self, error: ReportError) {
        self.with_state(|state| state.errors.drop_front(error));
    }
}

/// The flush engine drains the point buffer through this.
impl<M: RawMutex, const N: usize, const E: usize> BufferAccess for Monlight<M, N, E> {
    type Storage = [u8; N];

    fn with_buffer<R>(&self, f: impl FnOnce(&mut MetricBuffer<[u8; N]>) -> R) -> R {
        self.with_state(|state| f(&mut state.points))
    }
}

/// A crash's detail line, then its message: the detail first, so that a
/// long message is cut and not the detail. Written without `core::fmt`,
/// which a firmware with location-only crash reports does without.
struct CrashText<'c> {
    boot: u32,
    uptime_seconds: u32,
    message: &'c str,
}

impl ErrorMessage for CrashText<'_> {
    fn write_to(&self, out: &mut impl core::fmt::Write) -> core::fmt::Result {
        out.write_str("boot ")?;
        write_decimal(out, self.boot.into())?;
        out.write_str(", uptime ")?;
        write_decimal(out, self.uptime_seconds.into())?;
        out.write_str(" s")?;
        out.write_char(DETAIL_SEPARATOR)?;
        out.write_str(self.message)
    }
}

/// The message, then each cause after a [`CAUSE_SEPARATOR`], split again
/// when the report is encoded.
struct WithCauses<'e>(&'e dyn core::error::Error);

impl core::fmt::Display for WithCauses<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, "{CAUSE_SEPARATOR}{cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
