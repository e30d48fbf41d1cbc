//! Error reports waiting for the flush task: a fixed-size record per report
//! (type, message, throw site), encoded only when sent.

use monlight_core::{
    ErrorReport, HeaderFilter, ReportError, ReportText, RequestContext, ThrowSite,
    encode_error_report,
};

use crate::text::{ErrorMessage, FixedText};

/// Bytes of message kept per queued error report; longer messages are cut
/// at a character boundary.
pub const ERROR_MESSAGE_BYTES: usize = 128;

/// Bytes of the throw site's file path kept (its end, which names the
/// file; the server groups by it, so a cut path still groups the same).
pub const ERROR_FILE_BYTES: usize = 64;

/// Room for the traceback as sent: the throw site (the file and two `u32`s
/// of up to ten digits), the type path, the message and its causes; a
/// longer one is cut, its first line (the site) always kept.
const TRACEBACK_BYTES: usize = ERROR_FILE_BYTES + 32 + 128 + ERROR_MESSAGE_BYTES + 64;

/// Between a message and its causes in a queued report's text (a control
/// character that error messages do not contain).
pub(crate) const CAUSE_SEPARATOR: char = '\u{1f}';

/// After a crash's detail line (its boot and uptime), before its message:
/// a crash report carries them in its text, so that reports that are not
/// crashes pay no RAM and no code for them.
pub(crate) const DETAIL_SEPARATOR: char = '\u{1e}';

/// The text before and after the first `separator`. By byte, not with
/// `str::split`: its pattern searcher costs a device flash.
fn split_once_at(text: &str, separator: char) -> Option<(&str, &str)> {
    let at = text.bytes().position(|b| b == separator as u8)?;
    // The separator is ASCII: both sides are character boundaries.
    Some((
        text.get(..at).unwrap_or_default(),
        text.get(at + 1..).unwrap_or_default(),
    ))
}

/// The message, and the causes after it.
fn split_off_causes(text: &str) -> (&str, &str) {
    split_once_at(text, CAUSE_SEPARATOR).unwrap_or((text, ""))
}

/// The causes of a queued report, one per separated part.
#[derive(Clone, Copy)]
struct Causes<'a>(&'a str);

impl<'a> Iterator for Causes<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.0.is_empty() {
            return None;
        }
        let (cause, rest) = split_off_causes(self.0);
        // An empty last cause ends the iteration: it would say nothing.
        self.0 = rest;
        Some(cause)
    }
}

/// The `exception_type` of a crash recorded by [`CrashSlot`](crate::CrashSlot):
/// monlight-core's [`PANIC_TYPE`](monlight_core::PANIC_TYPE), the one
/// monlight-std gives panics too.
pub const PANIC_EXCEPTION_TYPE: &str = monlight_core::PANIC_TYPE;

/// The `exception_type` of a hard fault recorded by
/// [`CrashSlot::record_hard_fault`](crate::CrashSlot::record_hard_fault).
pub const HARD_FAULT_EXCEPTION_TYPE: &str = "HardFault";

/// An error report waiting in [`Monlight`](crate::Monlight)'s queue.
#[derive(Clone)]
pub(crate) struct PendingError {
    /// The type as `core::any::type_name` gives it, or as the caller named it.
    type_path: &'static str,
    message: FixedText<ERROR_MESSAGE_BYTES>,
    file: FixedText<ERROR_FILE_BYTES>,
    line: u32,
    column: u32,
    /// Its copy in a `ReportVault`, if it has one.
    #[cfg(feature = "persist-reports")]
    pub(crate) vault_slot: Option<u8>,
}

impl PendingError {
    pub(crate) fn new(
        type_path: &'static str,
        message: &impl ErrorMessage,
        site: ThrowSite<'_>,
    ) -> Self {
        Self {
            type_path,
            message: FixedText::new(message),
            file: FixedText::tail_of(site.file),
            line: site.line,
            column: site.column,
            #[cfg(feature = "persist-reports")]
            vault_slot: None,
        }
    }

    pub(crate) fn fields(&self) -> ReportFields<'_> {
        ReportFields {
            type_path: self.type_path,
            text: self.message.as_str(),
            site: ThrowSite {
                file: self.file.as_str(),
                line: self.line,
                column: self.column,
            },
        }
    }
}

/// What a queued report holds, wherever it is kept (the queue in RAM, or a
/// [`ReportVault`](crate::ReportVault) after a reset).
pub(crate) struct ReportFields<'a> {
    pub(crate) type_path: &'a str,
    /// The message, with the detail before it and the causes after it.
    pub(crate) text: &'a str,
    pub(crate) site: ThrowSite<'a>,
}

impl ReportFields<'_> {
    /// No report: what a vault slot that was overwritten reads as.
    pub(crate) const NONE: ReportFields<'static> = ReportFields {
        type_path: "",
        text: "",
        site: ThrowSite {
            file: "",
            line: 0,
            column: 0,
        },
    };

    /// The report's JSON body, written into `out`.
    pub(crate) fn encode(
        &self,
        project: &str,
        environment: Option<&str>,
        out: &mut [u8],
    ) -> Result<usize, ReportError> {
        let (detail, text) = match split_once_at(self.text, DETAIL_SEPARATOR) {
            Some((detail, text)) => (Some(detail), text),
            None => (None, self.text),
        };
        let (message, causes) = split_off_causes(text);
        let text = ReportText {
            type_path: self.type_path,
            message,
            causes: Causes(causes),
            site: self.site,
            detail,
        };
        let mut traceback = FixedText::<TRACEBACK_BYTES>::default();
        // It never fails; a cut traceback still starts with the site.
        let _ = text.write_traceback(&mut traceback.writer());
        let report = ErrorReport {
            project,
            environment,
            exception_type: text.exception_type(),
            message: text.message,
            traceback: traceback.as_str(),
            context: RequestContext::<()>::default(),
            header_filter: HeaderFilter::default(),
        };
        encode_error_report(&report, out)
    }
}
