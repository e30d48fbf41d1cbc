//! The error client's settings and their defaults.

use std::sync::Arc;
use std::time::Duration;

use monlight_core::{DEFAULT_ENVIRONMENT, DEFAULT_PROJECT, DEFAULT_TIMEOUT_SECS, validate_project};

use super::event::ReportPolicy;
use super::repeats::Repeats;
use super::{Config, ErrorClient, ErrorEvent, Inner};
use crate::MetricsClient;
use crate::config::{ApiKey, ConfigError, EndpointUrls, check_duration, check_rate};
use crate::outbox::{Destination, Reports};

/// Builds an [`ErrorClient`]; the defaults are the reference client's.
#[derive(Clone, Debug)]
#[must_use]
pub struct ErrorClientBuilder {
    base_url: String,
    api_key: String,
    project: String,
    environment: String,
    timeout: Duration,
    excluded_headers: Vec<String>,
    policy: ReportPolicy,
    enabled: bool,
    suppress_repeats: Option<Duration>,
    errors_total: Option<MetricsClient>,
}

impl ErrorClientBuilder {
    /// The reference defaults, for [`ErrorClient::builder`].
    pub(super) fn new(base_url: String, api_key: String) -> Self {
        Self {
            base_url,
            api_key,
            project: DEFAULT_PROJECT.into(),
            environment: DEFAULT_ENVIRONMENT.into(),
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            excluded_headers: Vec::new(),
            policy: ReportPolicy::default(),
            enabled: true,
            suppress_repeats: None,
            errors_total: None,
        }
    }

    /// Project name, 1 to 100 characters (default `"default"`).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = project.into();
        self
    }

    /// Environment name (default `"prod"`).
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = environment.into();
        self
    }

    /// Bound on each report's delivery (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Header names to strip besides `authorization`, `cookie`,
    /// `set-cookie` and `x-api-key` (case-insensitive).
    pub fn excluded_headers<S: Into<String>>(
        mut self,
        headers: impl IntoIterator<Item = S>,
    ) -> Self {
        self.excluded_headers
            .extend(headers.into_iter().map(Into::into));
        self
    }

    /// The release every report names, in `extra.release` (the tracker
    /// keeps no top-level field for it), e.g. a version or a commit.
    pub fn release(mut self, release: impl Into<String>) -> Self {
        self.policy.release = Some(release.into());
        self
    }

    /// The machine or instance every report names, in `extra.server_name`.
    pub fn server_name(mut self, server_name: impl Into<String>) -> Self {
        self.policy.server_name = Some(server_name.into());
        self
    }

    /// The share of reports sent, from 0.0 (none) to 1.0 (all, the
    /// default), each report drawn at random. The others are counted in
    /// `stats().filtered`.
    pub fn sample_rate(mut self, rate: f64) -> Self {
        self.policy.sample_rate = Some(rate);
        self
    }

    /// Inspects, changes or drops every report before it is encoded:
    /// return the event (changed or not) to send it, `None` to drop it
    /// (counted in `stats().filtered`). It runs on the reporting thread,
    /// and must not block. A hook that panics drops the report.
    ///
    /// ```
    /// use monlight_std::{ErrorClient, ErrorEvent};
    ///
    /// let errors = ErrorClient::builder("http://localhost:5010", "my-key")
    ///     .before_send(|mut event: ErrorEvent| {
    ///         if event.exception_type == "ClientDisconnected" {
    ///             return None; // not worth a report
    ///         }
    ///         // Scrub an e-mail address the message may carry.
    ///         if let Some(at) = event.message.find('@') {
    ///             event.message.replace_range(..at, "<redacted>");
    ///         }
    ///         Some(event)
    ///     })
    ///     .build()?;
    /// # Ok::<(), monlight_std::ConfigError>(())
    /// ```
    pub fn before_send(
        mut self,
        hook: impl Fn(ErrorEvent) -> Option<ErrorEvent> + Send + Sync + 'static,
    ) -> Self {
        self.policy.before_send = Some(Arc::new(hook));
        self
    }

    /// `false` turns every report into a no-op: nothing is built, queued
    /// or sent, and no thread starts (for tests and local runs). Default
    /// `true`.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Sends reports of one group (the tracker's fingerprint: exception
    /// type and throw site) once per `window`: an error storm (a dead
    /// database failing thousands of times a second) costs one request a
    /// window instead of the tracker's whole rate limit, which every
    /// client of the project shares. The first report sent after the
    /// window carries in `extra.suppressed` how many were left out; they
    /// are counted in `stats().filtered`. Off on a bare client; on (60 s)
    /// with `init` and axum's `setup_monlight`.
    pub fn suppress_repeats(mut self, window: Duration) -> Self {
        self.suppress_repeats = Some(window);
        self
    }

    /// Counts every report, sent or not, into a counter `errors_total` of
    /// `metrics`, labelled `exception_type` and, where the route is known
    /// ([`RequestContext::route`](crate::RequestContext::route)),
    /// `endpoint`: error rates on the dashboard stay exact whatever
    /// sampling and storm suppression leave out. On with `init` and
    /// axum's `setup_monlight` when both clients are set up.
    pub fn count_errors(mut self, metrics: MetricsClient) -> Self {
        self.errors_total = Some(metrics);
        self
    }

    /// Checks the configuration.
    pub fn build(self) -> Result<ErrorClient, ConfigError> {
        EndpointUrls::new(&self.base_url)?;
        let api_key = ApiKey::new(self.api_key)?;
        validate_project(&self.project).map_err(|_| ConfigError::InvalidProject)?;
        check_duration(self.timeout, "timeout")?;
        if let Some(window) = self.suppress_repeats {
            check_duration(window, "suppress_repeats")?;
        }
        if let Some(rate) = self.policy.sample_rate {
            check_rate(rate)?;
        }
        let reports = Reports::new(Destination {
            base_url: self.base_url.clone(),
            api_key: api_key.clone(),
            timeout: self.timeout,
        });
        Ok(ErrorClient {
            inner: Arc::new(Inner {
                config: Config {
                    base_url: self.base_url,
                    api_key,
                    project: self.project,
                    environment: self.environment,
                    timeout: self.timeout,
                    excluded_headers: self.excluded_headers,
                    policy: self.policy,
                    enabled: self.enabled,
                    repeats: self.suppress_repeats.map(Repeats::new),
                    errors_total: self.errors_total,
                },
                reports,
            }),
        })
    }
}
