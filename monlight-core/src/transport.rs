//! How bytes reach a server: the [`Transport`] trait (blocking), its async
//! twin, and the one place that turns an HTTP answer into an [`Outcome`].

use crate::limits::{MAX_ERROR_BODY, MAX_METRICS_BODY};

/// The two monlight endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Endpoint {
    /// `POST /api/errors` on the error tracker (one report per request).
    Errors,
    /// `POST /api/metrics` on the metrics collector (a batch per request).
    Metrics,
}

impl Endpoint {
    /// The request path.
    pub const fn path(self) -> &'static str {
        match self {
            Endpoint::Errors => "/api/errors",
            Endpoint::Metrics => "/api/metrics",
        }
    }

    /// The largest body this endpoint accepts.
    pub const fn max_body(self) -> usize {
        match self {
            Endpoint::Errors => MAX_ERROR_BODY,
            Endpoint::Metrics => MAX_METRICS_BODY,
        }
    }
}

/// What happened to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Outcome {
    /// 200, 201 or 202: stored.
    Delivered {
        /// The status code.
        status: u16,
    },
    /// 429: not stored; the server asks for a pause.
    RateLimited {
        /// Seconds to wait, from the body's `retry_after` (there is no
        /// `Retry-After` header); [`DEFAULT_RETRY_AFTER_SECS`] if absent.
        retry_after_secs: u32,
    },
    /// Any other status: not stored (bad key, bad payload, server error).
    Rejected {
        /// The status code.
        status: u16,
    },
    /// No usable answer: not stored (or unknown).
    Failed(TransportError),
}

/// The pause after a 429 whose body names none: the servers' window.
pub const DEFAULT_RETRY_AFTER_SECS: u32 = 60;

/// Longest pause the SDK honours, so a garbled body cannot silence a
/// client for days.
pub const MAX_RETRY_AFTER_SECS: u32 = 3600;

impl Outcome {
    /// Classifies a status code and (a prefix of) the response body.
    ///
    /// ```
    /// use monlight_core::Outcome;
    ///
    /// assert_eq!(Outcome::from_response(202, b""), Outcome::Delivered { status: 202 });
    /// assert_eq!(
    ///     Outcome::from_response(429, br#"{"detail": "Rate limit exceeded", "retry_after": 7}"#),
    ///     Outcome::RateLimited { retry_after_secs: 7 }
    /// );
    /// assert_eq!(Outcome::from_response(401, b""), Outcome::Rejected { status: 401 });
    /// ```
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        match status {
            200..=299 => Outcome::Delivered { status },
            429 => Outcome::RateLimited {
                retry_after_secs: parse_retry_after(body).unwrap_or(DEFAULT_RETRY_AFTER_SECS),
            },
            _ => Outcome::Rejected { status },
        }
    }

    /// `true` for [`Outcome::Delivered`].
    pub const fn is_delivered(&self) -> bool {
        matches!(self, Outcome::Delivered { .. })
    }

    /// `true` when the server provably stored nothing and the same body
    /// may go out again: a 429, or a request that never reached the
    /// server ([`TransportError::Connect`], [`TransportError::Unsent`]).
    /// What may have been stored (a timeout or a broken connection after
    /// the whole request was written) is not retried: it could be stored
    /// twice.
    ///
    /// ```
    /// use monlight_core::{Outcome, TransportError};
    ///
    /// assert!(Outcome::RateLimited { retry_after_secs: 5 }.can_retry());
    /// assert!(Outcome::Failed(TransportError::Connect).can_retry());
    /// assert!(!Outcome::Failed(TransportError::Timeout).can_retry());
    /// assert!(!Outcome::Rejected { status: 400 }.can_retry());
    /// ```
    pub const fn can_retry(&self) -> bool {
        matches!(
            self,
            Outcome::RateLimited { .. }
                | Outcome::Failed(TransportError::Connect | TransportError::Unsent)
        )
    }
}

impl core::fmt::Display for Outcome {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Outcome::Delivered { status } => write!(f, "delivered ({status})"),
            Outcome::RateLimited { retry_after_secs } => {
                write!(f, "rate limited (429), retry after {retry_after_secs} s")
            }
            Outcome::Rejected { status } => write!(f, "rejected by the server ({status})"),
            Outcome::Failed(e) => write!(f, "transport failure: {e}"),
        }
    }
}

/// `retry_after` from a 429 body such as
/// `{"detail": "Rate limit exceeded", "retry_after": 42}`; fractions round up.
///
/// A scan rather than a JSON parser: the body may be a truncated prefix, and
/// on a device a float parser costs ~3 KB of `.text` and ~8 KB of tables for
/// one number.
fn parse_retry_after(body: &[u8]) -> Option<u32> {
    const KEY: &[u8] = b"\"retry_after\"";
    let at = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    // One pass: blanks, a colon, blanks, digits, then a fraction or
    // exponent whose first non-zero digit rounds up (wait at least as long
    // as asked).
    let (mut colon, mut secs, mut fraction) = (false, None::<u32>, false);
    for &b in &body[at..] {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' if secs.is_none() => {}
            b':' if !colon => colon = true,
            b'0'..=b'9' if colon && !fraction => {
                let whole = secs.unwrap_or(0).saturating_mul(10);
                secs = Some(whole.saturating_add(u32::from(b - b'0')));
            }
            b'.' | b'e' | b'E' if secs.is_some() && !fraction => fraction = true,
            b'1'..=b'9' if fraction => {
                secs = secs.map(|s| s.saturating_add(1));
                break;
            }
            b'0' | b'+' | b'-' if fraction => {}
            _ => break,
        }
    }
    secs.map(|s| s.min(MAX_RETRY_AFTER_SECS))
}

/// Why a request got no usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TransportError {
    /// Could not connect (refused, unreachable, name lookup failed, or no
    /// connection within the timeout): nothing reached the server.
    Connect,
    /// The connection broke or stalled before the whole request was
    /// written, and no answer came: the server, which reads a body to its
    /// `Content-Length` before storing it, stored nothing.
    Unsent,
    /// A step took longer than the configured timeout after the request
    /// was written: the server may have stored it.
    Timeout,
    /// The connection broke after the request was written: the server may
    /// have stored it.
    Io,
    /// The answer was not a readable HTTP response (see [`crate::http`]).
    InvalidResponse,
    /// The request could not be formed (e.g. a header with a line break,
    /// a body larger than the endpoint accepts).
    InvalidRequest,
}

impl core::fmt::Display for TransportError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            TransportError::Connect => "could not connect",
            TransportError::Unsent => "connection lost before the request was sent",
            TransportError::Timeout => "timed out",
            TransportError::Io => "connection broken",
            TransportError::InvalidResponse => "unreadable response",
            TransportError::InvalidRequest => "request could not be formed",
        })
    }
}

impl core::error::Error for TransportError {}

/// Sends one JSON body to one endpoint and says what happened. Blocking.
///
/// Implementations send `X-API-Key`, `Content-Type: application/json`,
/// `Content-Length` and `Connection: close`, bound every step by a timeout,
/// keep no idle connection, and turn the answer into an [`Outcome`] with
/// [`Outcome::from_response`]. They never panic.
///
/// ```
/// use monlight_core::{Endpoint, Outcome, Transport};
///
/// /// A transport that prints instead of sending (e.g. for a serial console).
/// struct Print;
///
/// impl Transport for Print {
///     fn send(&mut self, endpoint: Endpoint, body: &[u8]) -> Outcome {
///         let _ = (endpoint.path(), body.len());
///         Outcome::Delivered { status: 202 }
///     }
/// }
/// ```
pub trait Transport {
    /// POSTs `body` to `endpoint`.
    fn send(&mut self, endpoint: Endpoint, body: &[u8]) -> Outcome;
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn send(&mut self, endpoint: Endpoint, body: &[u8]) -> Outcome {
        (**self).send(endpoint, body)
    }
}

/// The async twin of [`Transport`], for executors such as Embassy or tokio.
#[allow(async_fn_in_trait)] // Embassy executors are single-threaded; no Send bound wanted.
pub trait AsyncTransport {
    /// POSTs `body` to `endpoint`.
    async fn send(&mut self, endpoint: Endpoint, body: &[u8]) -> Outcome;
}

impl<T: AsyncTransport + ?Sized> AsyncTransport for &mut T {
    async fn send(&mut self, endpoint: Endpoint, body: &[u8]) -> Outcome {
        (**self).send(endpoint, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_variants() {
        let ra = |body: &str| match Outcome::from_response(429, body.as_bytes()) {
            Outcome::RateLimited { retry_after_secs } => retry_after_secs,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            ra(r#"{"detail": "Rate limit exceeded", "retry_after": 7}"#),
            7
        );
        assert_eq!(ra(r#"{"retry_after": 2.1, "detail": "x"}"#), 3);
        assert_eq!(ra(r#"{"detail": "with \"escapes\"", "retry_after": 5}"#), 5);
        assert_eq!(ra(r#"{"detail": "no field"}"#), DEFAULT_RETRY_AFTER_SECS);
        assert_eq!(ra("garbage"), DEFAULT_RETRY_AFTER_SECS);
        assert_eq!(ra(r#"{"retry_after": -3}"#), DEFAULT_RETRY_AFTER_SECS);
        assert_eq!(
            ra(r#"{"retry_after": 1e12}"#),
            2,
            "exponents are rare; we wait a little longer"
        );
        assert_eq!(ra(r#"{"retry_after": 99999999999}"#), MAX_RETRY_AFTER_SECS);
        assert_eq!(ra(r#"{"retry_after": 4.0}"#), 4);
        assert_eq!(
            ra(r#"{"retry_after": 5"#),
            5,
            "a truncated body still names the wait"
        );
    }

    #[test]
    fn statuses() {
        for s in [200, 201, 202] {
            assert!(Outcome::from_response(s, b"").is_delivered());
        }
        for s in [400, 401, 404, 413, 500, 503] {
            assert_eq!(
                Outcome::from_response(s, b""),
                Outcome::Rejected { status: s }
            );
        }
    }
}
