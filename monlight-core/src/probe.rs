//! A request that stores nothing and tells whether a server is reachable
//! and takes the API key. The servers check the key before anything else
//! (a wrong one is a 401, which does not count against the rate window),
//! then refuse an empty body as invalid: `[]` to the metrics collector,
//! `{}` to the error tracker, each answered 400 and stored nowhere (it
//! does count against the window, like any request with a good key).

use core::fmt;

use crate::transport::{Endpoint, Outcome, TransportError};

/// What a server learnt from a probe.
///
/// ```
/// use monlight_core::{Endpoint, Outcome, Probe, TransportError, probe_body};
///
/// assert_eq!(probe_body(Endpoint::Metrics), b"[]");
/// // The collector refused the empty batch: it took the key.
/// assert_eq!(Probe::from_outcome(&Outcome::Rejected { status: 400 }), Probe::KeyAccepted);
/// assert_eq!(Probe::from_outcome(&Outcome::Rejected { status: 401 }), Probe::KeyRefused);
/// let down = Probe::from_outcome(&Outcome::Failed(TransportError::Connect));
/// assert!(!down.is_ready());
/// assert_eq!(down.to_string(), "could not be reached (could not connect)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Probe {
    /// Reachable, and the API key accepted.
    KeyAccepted,
    /// Reachable and the key accepted (the key is checked first), but the
    /// window is full now: sending waits this long.
    RateLimited {
        /// Seconds until the window has room.
        retry_after_secs: u32,
    },
    /// Reachable, but the API key was refused (401).
    KeyRefused,
    /// No answer: nothing listens there, or the network is in the way.
    Unreachable(TransportError),
    /// An answer no monlight server gives to this request (e.g. a 404: a
    /// wrong URL or another service).
    Unexpected {
        /// The status code.
        status: u16,
    },
}

/// The body of a probe to `endpoint`: one the server refuses after
/// checking the key.
pub const fn probe_body(endpoint: Endpoint) -> &'static [u8] {
    match endpoint {
        Endpoint::Metrics => b"[]",
        Endpoint::Errors => b"{}",
    }
}

impl Probe {
    /// Reads the outcome of sending [`probe_body`].
    pub const fn from_outcome(outcome: &Outcome) -> Self {
        match *outcome {
            // 400: the empty body refused after the key passed; a 2xx (a
            // server that takes an empty batch) stored nothing either.
            Outcome::Delivered { .. } | Outcome::Rejected { status: 400 } => Probe::KeyAccepted,
            Outcome::RateLimited { retry_after_secs } => Probe::RateLimited { retry_after_secs },
            Outcome::Rejected { status: 401 } => Probe::KeyRefused,
            Outcome::Rejected { status } => Probe::Unexpected { status },
            Outcome::Failed(error) => Probe::Unreachable(error),
        }
    }

    /// `true` if reports or points sent now would be stored or, once the
    /// rate window has room, will be.
    pub const fn is_ready(&self) -> bool {
        matches!(self, Probe::KeyAccepted | Probe::RateLimited { .. })
    }
}

/// The end of a sentence about a server: "is reachable and accepted the
/// API key", "refused the API key (401)".
impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::KeyAccepted => f.write_str("is reachable and accepted the API key"),
            Probe::RateLimited { retry_after_secs } => write!(
                f,
                "is reachable and accepted the API key, but its rate window is full for {retry_after_secs} s"
            ),
            Probe::KeyRefused => f.write_str("refused the API key (401)"),
            Probe::Unreachable(error) => write!(f, "could not be reached ({error})"),
            Probe::Unexpected { status } => write!(
                f,
                "answered {status}, which a monlight server does not: is the URL right?"
            ),
        }
    }
}
