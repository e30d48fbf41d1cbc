//! Error reports: the `POST /api/errors` body, with sensitive headers
//! stripped and the size kept under the tracker's limit.

use core::fmt;

use serde::Serialize;

use crate::json::{JsonWriter, escaped_byte_len, escaped_len, starts_char};
use crate::limits::{MAX_ERROR_BODY, MAX_EXCEPTION_TYPE_CHARS};
use crate::metric::validate_project;

/// Headers that never leave the process, whatever the configuration.
pub const ALWAYS_EXCLUDED_HEADERS: [&str; 4] =
    ["authorization", "cookie", "set-cookie", "x-api-key"];

/// Appended to a message or traceback cut to fit the size limit.
pub const TRUNCATION_MARKER: &str = "\n... [truncated by monlight]";

/// Decides which request headers are stripped: the four in
/// [`ALWAYS_EXCLUDED_HEADERS`] plus the user's own, case-insensitively.
///
/// ```
/// use monlight_core::HeaderFilter;
///
/// let filter = HeaderFilter::new(&["X-Session"]);
/// assert!(filter.is_excluded("Authorization"));
/// assert!(filter.is_excluded("x-session"));
/// assert!(!filter.is_excluded("content-type"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct HeaderFilter<'a> {
    extra: &'a [&'a str],
}

impl<'a> HeaderFilter<'a> {
    /// The always-excluded headers plus `extra`.
    pub const fn new(extra: &'a [&'a str]) -> Self {
        Self { extra }
    }

    /// `true` if a header of this name must not be sent.
    pub fn is_excluded(&self, name: &str) -> bool {
        ALWAYS_EXCLUDED_HEADERS
            .iter()
            .chain(self.extra.iter())
            .any(|excluded| excluded.eq_ignore_ascii_case(name.trim()))
    }
}

/// The request an error happened in; only the fields given are sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestContext<'a, E = ()> {
    /// `request_url`.
    pub url: Option<&'a str>,
    /// `request_method`.
    pub method: Option<&'a str>,
    /// `request_headers`, filtered by the report's [`HeaderFilter`].
    pub headers: Option<&'a [(&'a str, &'a str)]>,
    /// `user_id`, sent as a string.
    pub user_id: Option<&'a str>,
    /// `extra`: any value that serializes to JSON.
    pub extra: Option<&'a E>,
}

/// One error report.
///
/// `E` is the type of `extra` (any `Serialize`; `()` when unused).
///
/// ```
/// use monlight_core::{encode_error_report, ErrorReport, HeaderFilter, RequestContext};
///
/// let headers = [("Content-Type", "application/json"), ("Cookie", "secret")];
/// let report = ErrorReport {
///     project: "shop",
///     environment: Some("prod"),
///     exception_type: "TimeoutError",
///     message: "upstream timed out",
///     traceback: "TimeoutError: upstream timed out\n    at src/main.rs:10:5",
///     context: RequestContext::<()> { method: Some("POST"), headers: Some(&headers), ..Default::default() },
///     header_filter: HeaderFilter::default(),
/// };
/// let mut out = [0u8; 1024];
/// let len = encode_error_report(&report, &mut out).unwrap();
/// let body = core::str::from_utf8(&out[..len]).unwrap();
/// assert!(body.contains(r#""request_headers":{"Content-Type":"application/json"}"#));
/// assert!(!body.contains("secret"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ErrorReport<'a, E = ()> {
    /// 1 to 100 characters.
    pub project: &'a str,
    /// e.g. `"prod"`; omitted when `None`.
    pub environment: Option<&'a str>,
    /// The error's type name; cut to 200 characters if longer.
    pub exception_type: &'a str,
    /// The error's message.
    pub message: &'a str,
    /// The text the server groups by: its first `at <file>:<line>` line is
    /// the throw site (see `PROTOCOL.md`).
    pub traceback: &'a str,
    /// The request, if the error happened in one.
    pub context: RequestContext<'a, E>,
    /// Which headers to strip.
    pub header_filter: HeaderFilter<'a>,
}

/// Why a report could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReportError {
    /// The project name is empty or longer than 100 characters.
    InvalidProject,
    /// Even with message and traceback emptied and `extra` and headers left
    /// out, the report does not fit (the output buffer is too small, or the
    /// URL or user id is enormous).
    TooLarge,
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReportError::InvalidProject => "project must be 1 to 100 characters",
            ReportError::TooLarge => "error report does not fit the output buffer",
        })
    }
}

impl core::error::Error for ReportError {}

/// Encodes `report` into `out` and returns the body's length.
///
/// The body never exceeds [`MAX_ERROR_BODY`] (nor `out`): when the whole
/// report does not fit, the message and traceback are cut at a UTF-8
/// boundary with [`TRUNCATION_MARKER`] (the start of the traceback, which
/// holds the throw site, is kept), and headers and `extra` that do not fit
/// at all are left out. The JSON stays valid.
///
/// One pass: the fields of known size first, then headers and `extra` if
/// they fit, then message and traceback sharing exactly the room left (so
/// they come last in the object; JSON objects are unordered).
pub fn encode_error_report<E: Serialize>(
    report: &ErrorReport<'_, E>,
    out: &mut [u8],
) -> Result<usize, ReportError> {
    validate_project(report.project).map_err(|_| ReportError::InvalidProject)?;
    let limit = out.len().min(MAX_ERROR_BODY);
    let mut w = JsonWriter::new(&mut out[..limit], 0);
    let context = &report.context;
    let strings = [
        ("{\"project\":", Some(report.project)),
        (
            ",\"exception_type\":",
            Some(exception_type(report.exception_type)),
        ),
        (",\"environment\":", report.environment),
        (",\"request_url\":", context.url),
        (",\"request_method\":", context.method),
        (",\"user_id\":", context.user_id),
    ];
    for (key, value) in strings {
        if let Some(value) = value {
            w.raw(key.as_bytes()).ok_or(ReportError::TooLarge)?;
            w.string(value.as_bytes()).ok_or(ReportError::TooLarge)?;
        }
    }
    // Room kept for message and traceback, empty at worst.
    let keep = EMPTY_TEXTS;
    if let Some(headers) = context.headers {
        let mark = w.pos;
        if write_headers(&mut w, headers, report.header_filter, keep).is_none() {
            w.pos = mark; // left out: they do not fit
        }
    }
    if let Some(extra) = context.extra {
        let mark = w.pos;
        let written = w.raw(b",\"extra\":").and_then(|()| w.value(extra, keep));
        if written.is_none() {
            w.pos = mark;
        }
    }
    let room = limit
        .checked_sub(w.pos + keep)
        .ok_or(ReportError::TooLarge)?;
    let lengths = [escaped_len(report.message), escaped_len(report.traceback)];
    let rooms = share(room, lengths[0], lengths[1]);
    let texts = [
        (",\"message\":", report.message, lengths[0], rooms.0),
        (",\"traceback\":", report.traceback, lengths[1], rooms.1),
    ];
    for (key, text, escaped, room) in texts {
        w.raw(key.as_bytes()).ok_or(ReportError::TooLarge)?;
        let text = Text::fit(text, escaped, room);
        text.write(&mut w).ok_or(ReportError::TooLarge)?;
    }
    w.raw(b"}").ok_or(ReportError::TooLarge)?;
    Ok(w.pos)
}

/// What an empty message and traceback and the closing brace take.
const EMPTY_TEXTS: usize = r#","message":"","traceback":""}"#.len();

/// `,"request_headers":{..}` without the excluded headers, leaving `keep`
/// bytes free; `None` if it does not fit.
fn write_headers(
    w: &mut JsonWriter<'_>,
    headers: &[(&str, &str)],
    filter: HeaderFilter<'_>,
    keep: usize,
) -> Option<()> {
    w.raw(b",\"request_headers\":{")?;
    let kept = headers.iter().filter(|(name, _)| !filter.is_excluded(name));
    for (i, (name, value)) in kept.enumerate() {
        if i > 0 {
            w.raw(b",")?;
        }
        w.string(name.as_bytes())?;
        w.raw(b":")?;
        w.string(value.as_bytes())?;
    }
    w.raw(b"}")?;
    w.has_room(keep)
}

/// Splits `room` bytes between message and traceback: each keeps all it
/// needs if it can; otherwise the traceback (which carries the throw site)
/// gets at least half.
fn share(room: usize, message: usize, traceback: usize) -> (usize, usize) {
    if message + traceback <= room {
        return (message, traceback);
    }
    let message_room = message.min(room / 2).max(room.saturating_sub(traceback));
    (message_room, room - message_room)
}

/// A string, whole or cut to fit a number of escaped bytes with a marker.
#[derive(Clone, Copy)]
struct Text<'a> {
    head: &'a str,
    truncated: bool,
}

impl<'a> Text<'a> {
    /// The longest prefix that, quoted and with the marker, escapes to at
    /// most `room` bytes beyond its empty quotes (`escaped`: `s`'s escaped
    /// length).
    fn fit(s: &'a str, escaped: usize, room: usize) -> Self {
        if escaped <= room {
            return Self {
                head: s,
                truncated: false,
            };
        }
        let budget = room.saturating_sub(escaped_len(TRUNCATION_MARKER));
        // The longest prefix within budget that ends where a character
        // ends (a cut before a byte that starts one, or at the end).
        let bytes = s.as_bytes();
        let mut used = 0;
        let mut cut = 0;
        for (i, &b) in bytes.iter().enumerate() {
            used += escaped_byte_len(b);
            if used > budget {
                break;
            }
            if bytes.get(i + 1).is_none_or(|&next| starts_char(next)) {
                cut = i + 1;
            }
        }
        let truncated = room >= escaped_len(TRUNCATION_MARKER);
        Self {
            head: s.get(..cut).unwrap_or_default(),
            truncated,
        }
    }

    fn write(&self, w: &mut JsonWriter<'_>) -> Option<()> {
        w.raw(b"\"")?;
        w.escaped(self.head.as_bytes())?;
        if self.truncated {
            w.escaped(TRUNCATION_MARKER.as_bytes())?;
        }
        w.raw(b"\"")
    }
}

/// The exception type, cut at 200 characters (the server's limit).
fn exception_type(s: &str) -> &str {
    let mut chars = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if starts_char(b) {
            if chars == MAX_EXCEPTION_TYPE_CHARS {
                return s.get(..i).unwrap_or(s);
            }
            chars += 1;
        }
    }
    s
}
