//! `check()` of both clients: one probe that stores nothing (see
//! [`monlight_core::Probe`]), sent the way the client sends, and what it
//! found as a sentence.

use std::fmt;
use std::time::Duration;

use monlight_core::{Endpoint, Probe, Transport, TransportError, probe_body};

use crate::config::ApiKey;
use crate::transport::BlockingHttp;

/// The server a check was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// The error tracker (`/api/errors`).
    ErrorTracker,
    /// The metrics collector (`/api/metrics`).
    MetricsCollector,
}

impl Server {
    fn endpoint(self) -> Endpoint {
        match self {
            Server::ErrorTracker => Endpoint::Errors,
            Server::MetricsCollector => Endpoint::Metrics,
        }
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Server::ErrorTracker => "the error tracker",
            Server::MetricsCollector => "the metrics collector",
        })
    }
}

/// What [`ErrorClient::check`](crate::ErrorClient::check) or
/// [`MetricsClient::check`](crate::MetricsClient::check) found. Its
/// `Display` is a sentence: "the metrics collector at
/// http://localhost:5012 refused the API key (401)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCheck {
    /// Which server.
    pub server: Server,
    /// Its base URL, as configured.
    pub url: String,
    /// What the probe found.
    pub probe: Probe,
}

impl fmt::Display for ServerCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {} {}", self.server, self.url, self.probe)
    }
}

/// A check that found the server unreachable, refusing the key, or not a
/// monlight server: the [`ServerCheck`] says which, in a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError(pub ServerCheck);

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for CheckError {}

/// Sends one probe to `server` at `base_url`, bounded by `timeout`.
pub(crate) fn check(
    server: Server,
    base_url: &str,
    api_key: &ApiKey,
    timeout: Duration,
) -> Result<ServerCheck, CheckError> {
    let endpoint = server.endpoint();
    let probe = match BlockingHttp::new(base_url, api_key, timeout) {
        Ok(mut http) => Probe::from_outcome(&http.send(endpoint, probe_body(endpoint))),
        // The builder checked the URL; only a TLS set-up can fail here.
        Err(_) => Probe::Unreachable(TransportError::InvalidRequest),
    };
    let check = ServerCheck {
        server,
        url: base_url.trim().to_owned(),
        probe,
    };
    if probe.is_ready() {
        Ok(check)
    } else {
        Err(CheckError(check))
    }
}
