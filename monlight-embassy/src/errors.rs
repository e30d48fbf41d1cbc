//! Error reports waiting for the flush task: a fixed-size record per report
//! (type, message, throw site), encoded only when sent.

use monlight_core::{
    ErrorReport, HeaderFilter, ReportError, RequestContext, ThrowSite, encode_error_report,
    write_throw_site,
};

use crate::text::{ErrorMessage, FixedText};

/// Bytes of message kept per queued error report; longer messages are cut
/// at a character boundary.
pub const ERROR_MESSAGE_BYTES: usize = 128;

/// Bytes of the throw site's file path kept (its end, which names the
/// file; the server groups by it, so a cut path still groups the same).
pub const ERROR_FILE_BYTES: usize = 64;

/// The traceback as sent: `at <file>:<line>:<col>` (two `u32`s of up to
/// ten digits).
const TRACEBACK_BYTES: usize = ERROR_FILE_BYTES + 32;

/// The `exception_type` of a crash recorded by [`CrashSlot`](crate::CrashSlot).
pub const PANIC_EXCEPTION_TYPE: &str = "panic";

/// An error report waiting in [`Monlight`](crate::Monlight)'s queue.
#[derive(Clone)]
pub(crate) struct PendingError {
    exception_type: &'static str,
    message: FixedText<ERROR_MESSAGE_BYTES>,
    file: FixedText<ERROR_FILE_BYTES>,
    line: u32,
    column: u32,
}

impl PendingError {
    pub(crate) fn new(
        exception_type: &'static str,
        message: &impl ErrorMessage,
        site: ThrowSite<'_>,
    ) -> Self {
        Self {
            exception_type,
            message: FixedText::new(message),
            file: FixedText::tail_of(site.file),
            line: site.line,
            column: site.column,
        }
    }

    /// The report's JSON body, written into `out`.
    pub(crate) fn encode(
        &self,
        project: &str,
        environment: Option<&str>,
        out: &mut [u8],
    ) -> Result<usize, ReportError> {
        let site = ThrowSite {
            file: self.file.as_str(),
            line: self.line,
            column: self.column,
        };
        // The type and message have fields of their own; the site is the
        // line the tracker groups by. It always fits.
        let mut traceback = heapless::String::<TRACEBACK_BYTES>::new();
        let _ = write_throw_site(&mut traceback, site);
        let report = ErrorReport {
            project,
            environment,
            exception_type: self.exception_type,
            message: self.message.as_str(),
            traceback: traceback.as_str(),
            context: RequestContext::<()>::default(),
            header_filter: HeaderFilter::default(),
        };
        encode_error_report(&report, out)
    }
}

/// What became of the error reports given to [`Monlight`](crate::Monlight).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ErrorStats {
    /// Reports accepted into the queue.
    pub queued: u32,
    /// Reports the error tracker accepted.
    pub sent: u32,
    /// Reports refused because the queue was full.
    pub dropped_full: u32,
    /// Reports the error tracker refused (4xx/5xx other than 429), or that
    /// could not be encoded; they are not retried.
    pub dropped_rejected: u32,
    /// Send attempts that failed (network, timeout, 429); the report stays
    /// queued and is retried at the next flush.
    pub failed_attempts: u32,
}
