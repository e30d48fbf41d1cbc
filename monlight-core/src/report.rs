//! Error reports: the `POST /api/errors` body, with sensitive headers
//! stripped and the size kept under the tracker's limit.

use core::fmt;

use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};

use crate::json::{escaped_char_len, escaped_len};
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
/// holds the throw site, is kept), and if that is not enough `extra` and
/// then the headers are left out. The JSON stays valid.
pub fn encode_error_report<E: Serialize>(
    report: &ErrorReport<'_, E>,
    out: &mut [u8],
) -> Result<usize, ReportError> {
    validate_project(report.project).map_err(|_| ReportError::InvalidProject)?;
    let limit = out.len().min(MAX_ERROR_BODY);
    let out = &mut out[..limit];
    let full = Body {
        report,
        message: Text::whole(report.message),
        traceback: Text::whole(report.traceback),
        extra: true,
        headers: true,
    };
    if let Ok(len) = serde_json_core::to_slice(&full, out) {
        return Ok(len);
    }
    // Too big: find the smallest set of omissions whose fixed part fits,
    // then share the remaining room between message and traceback.
    for (extra, headers) in [(true, true), (false, true), (false, false)] {
        let skeleton = Body {
            message: Text::whole(""),
            traceback: Text::whole(""),
            extra,
            headers,
            ..full
        };
        let Ok(fixed) = serde_json_core::to_slice(&skeleton, out) else {
            continue;
        };
        let mut room = limit - fixed;
        // Escaping estimates are exact for serde-json-core; the loop only
        // guards against a future mismatch.
        for _ in 0..8 {
            let (message_room, traceback_room) = share(
                room,
                escaped_len(report.message),
                escaped_len(report.traceback),
            );
            let body = Body {
                message: Text::fit(report.message, message_room),
                traceback: Text::fit(report.traceback, traceback_room),
                ..skeleton
            };
            if let Ok(len) = serde_json_core::to_slice(&body, out) {
                return Ok(len);
            }
            room /= 2;
        }
    }
    Err(ReportError::TooLarge)
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
    const fn whole(s: &'a str) -> Self {
        Self {
            head: s,
            truncated: false,
        }
    }

    /// The longest prefix that, with the marker, escapes to at most `room`.
    fn fit(s: &'a str, room: usize) -> Self {
        if escaped_len(s) <= room {
            return Self::whole(s);
        }
        let budget = room.saturating_sub(escaped_len(TRUNCATION_MARKER));
        let mut used = 0;
        let mut cut = 0;
        for (i, c) in s.char_indices() {
            used += escaped_char_len(c);
            if used > budget {
                break;
            }
            cut = i + c.len_utf8();
        }
        let truncated = room >= escaped_len(TRUNCATION_MARKER);
        Self {
            head: &s[..cut],
            truncated,
        }
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.head)?;
        if self.truncated {
            f.write_str(TRUNCATION_MARKER)?;
        }
        Ok(())
    }
}

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.truncated {
            serializer.collect_str(self)
        } else {
            serializer.serialize_str(self.head)
        }
    }
}

/// The exception type, cut at 200 characters (the server's limit).
fn exception_type(s: &str) -> &str {
    match s.char_indices().nth(MAX_EXCEPTION_TYPE_CHARS) {
        Some((cut, _)) => &s[..cut],
        None => s,
    }
}

struct Body<'r, 'a, E> {
    report: &'r ErrorReport<'a, E>,
    message: Text<'a>,
    traceback: Text<'a>,
    extra: bool,
    headers: bool,
}

impl<E> Clone for Body<'_, '_, E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E> Copy for Body<'_, '_, E> {}

impl<E: Serialize> Serialize for Body<'_, '_, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let r = self.report;
        let c = &r.context;
        let mut s = serializer.serialize_struct("ErrorReport", 11)?;
        s.serialize_field("project", r.project)?;
        s.serialize_field("exception_type", exception_type(r.exception_type))?;
        s.serialize_field("message", &self.message)?;
        s.serialize_field("traceback", &self.traceback)?;
        if let Some(environment) = r.environment {
            s.serialize_field("environment", environment)?;
        }
        if let Some(url) = c.url {
            s.serialize_field("request_url", url)?;
        }
        if let Some(method) = c.method {
            s.serialize_field("request_method", method)?;
        }
        if let (Some(headers), true) = (c.headers, self.headers) {
            s.serialize_field(
                "request_headers",
                &FilteredHeaders {
                    headers,
                    filter: r.header_filter,
                },
            )?;
        }
        if let Some(user_id) = c.user_id {
            s.serialize_field("user_id", user_id)?;
        }
        if let (Some(extra), true) = (c.extra, self.extra) {
            s.serialize_field("extra", extra)?;
        }
        s.end()
    }
}

struct FilteredHeaders<'a> {
    headers: &'a [(&'a str, &'a str)],
    filter: HeaderFilter<'a>,
}

impl Serialize for FilteredHeaders<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in self
            .headers
            .iter()
            .filter(|(name, _)| !self.filter.is_excluded(name))
        {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}
