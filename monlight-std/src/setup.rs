//! One call for a whole program: [`init`] builds both clients from
//! [`MonlightOptions`] (or the environment), installs the panic hook,
//! starts the flush thread, and returns a [`MonlightGuard`] that sends
//! what is left and stops both clients when it is dropped at the end of
//! `main`. The axum integration's `setup_monlight` builds its clients from
//! the same options.

use std::sync::Arc;
use std::time::Duration;

use crate::{ConfigError, ErrorClient, ErrorEvent, MetricsClient};

/// The options of [`init`] and of the axum integration's
/// `setup_monlight`, with the reference's defaults.
#[derive(Clone, Debug)]
#[must_use]
pub struct MonlightOptions {
    error_tracker_url: Option<String>,
    metrics_collector_url: Option<String>,
    api_key: ApiKeyText,
    project: String,
    environment: String,
    flush_interval: Duration,
    release: Option<String>,
    server_name: Option<String>,
    sample_rate: Option<f64>,
    before_send: Option<BeforeSend>,
    labels: Vec<(String, String)>,
    enabled: bool,
    unmatched_endpoint: Option<String>,
    suppress_repeats: Option<Duration>,
    count_errors: bool,
}

/// How long reports of one group are sent once, by default.
const REPEAT_WINDOW: Duration = Duration::from_secs(60);

/// `before_send`, shared; `Debug` names it only.
#[derive(Clone)]
struct BeforeSend(Arc<dyn Fn(ErrorEvent) -> Option<ErrorEvent> + Send + Sync>);

impl std::fmt::Debug for BeforeSend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<fn>")
    }
}

impl MonlightOptions {
    /// Options with the shared API key; no URL (nothing is enabled until
    /// one is set), project `"default"`, environment `"prod"`, flush every
    /// 10 s.
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            error_tracker_url: None,
            metrics_collector_url: None,
            api_key: ApiKeyText(api_key.into()),
            project: monlight_core::DEFAULT_PROJECT.into(),
            environment: monlight_core::DEFAULT_ENVIRONMENT.into(),
            flush_interval: Duration::from_secs(monlight_core::DEFAULT_FLUSH_INTERVAL_SECS),
            release: None,
            server_name: None,
            sample_rate: None,
            before_send: None,
            labels: Vec::new(),
            enabled: true,
            unmatched_endpoint: None,
            suppress_repeats: Some(REPEAT_WINDOW),
            count_errors: true,
        }
    }

    /// Options from the environment (see [`crate::env`]): the URLs from
    /// `MONLIGHT_ERROR_TRACKER_URL` and `MONLIGHT_METRICS_COLLECTOR_URL`
    /// (each optional: unset leaves that half off), `MONLIGHT_API_KEY`
    /// (required once a URL is set), `MONLIGHT_PROJECT`,
    /// `MONLIGHT_ENVIRONMENT`, `MONLIGHT_FLUSH_INTERVAL`, `MONLIGHT_RELEASE`,
    /// `MONLIGHT_SERVER_NAME`, `MONLIGHT_SAMPLE_RATE`, `MONLIGHT_ENABLED`.
    ///
    /// ```no_run
    /// let _monlight = monlight_std::init(monlight_std::MonlightOptions::from_env()?)?;
    /// # Ok::<(), monlight_std::ConfigError>(())
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        let settings = crate::env::Settings::from_env()?;
        let enabled =
            settings.error_tracker_url.is_some() || settings.metrics_collector_url.is_some();
        let api_key = match enabled {
            true => settings.required_api_key()?.to_owned(),
            false => String::new(),
        };
        let mut options = Self::new(api_key);
        options.error_tracker_url = settings.error_tracker_url;
        options.metrics_collector_url = settings.metrics_collector_url;
        if let Some(project) = settings.project {
            options.project = project;
        }
        if let Some(environment) = settings.environment {
            options.environment = environment;
        }
        if let Some(interval) = settings.flush_interval {
            options.flush_interval = interval;
        }
        options.release = settings.release;
        options.server_name = settings.server_name;
        options.sample_rate = settings.sample_rate;
        if let Some(enabled) = settings.enabled {
            options.enabled = enabled;
        }
        Ok(options)
    }

    /// Enables error reporting to this error tracker.
    pub fn error_tracker_url(mut self, url: impl Into<String>) -> Self {
        self.error_tracker_url = Some(url.into());
        self
    }

    /// Enables request metrics to this metrics collector.
    pub fn metrics_collector_url(mut self, url: impl Into<String>) -> Self {
        self.metrics_collector_url = Some(url.into());
        self
    }

    /// Project for error reports and metrics (default `"default"`).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = project.into();
        self
    }

    /// Environment for error reports (default `"prod"`).
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = environment.into();
        self
    }

    /// Metrics flush interval (default 10 s).
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// The release error reports name (see
    /// [`ErrorClientBuilder::release`](crate::ErrorClientBuilder::release)).
    pub fn release(mut self, release: impl Into<String>) -> Self {
        self.release = Some(release.into());
        self
    }

    /// The instance error reports name (see
    /// [`ErrorClientBuilder::server_name`](crate::ErrorClientBuilder::server_name)).
    pub fn server_name(mut self, server_name: impl Into<String>) -> Self {
        self.server_name = Some(server_name.into());
        self
    }

    /// The share of error reports sent (see
    /// [`ErrorClientBuilder::sample_rate`](crate::ErrorClientBuilder::sample_rate)).
    pub fn sample_rate(mut self, rate: f64) -> Self {
        self.sample_rate = Some(rate);
        self
    }

    /// Inspects, changes or drops every error report (see
    /// [`ErrorClientBuilder::before_send`](crate::ErrorClientBuilder::before_send)).
    pub fn before_send(
        mut self,
        hook: impl Fn(ErrorEvent) -> Option<ErrorEvent> + Send + Sync + 'static,
    ) -> Self {
        self.before_send = Some(BeforeSend(Arc::new(hook)));
        self
    }

    /// Labels added to every metric point (see
    /// [`MetricsClientBuilder::labels`](crate::MetricsClientBuilder::labels)).
    pub fn labels<K: Into<String>, V: Into<String>>(
        mut self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.labels = labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// `false` makes both clients no-ops (default `true`).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Reports of one group (type and throw site) are sent once per
    /// `window` (default 60 s; `None`: every report is sent). See
    /// [`ErrorClientBuilder::suppress_repeats`](crate::ErrorClientBuilder::suppress_repeats).
    pub fn suppress_repeats(mut self, window: Option<Duration>) -> Self {
        self.suppress_repeats = window;
        self
    }

    /// With both clients set up, every error report also counts into the
    /// metric `errors_total` (default `true`). See
    /// [`ErrorClientBuilder::count_errors`](crate::ErrorClientBuilder::count_errors).
    pub fn count_errors(mut self, count: bool) -> Self {
        self.count_errors = count;
        self
    }

    /// For axum's `setup_monlight`: the `endpoint` label of requests no
    /// route matched, instead of their raw path (see
    /// `RequestMetricsLayer::unmatched_endpoint`; by default the raw path,
    /// as the reference does, so a scanner's every path is a series).
    pub fn unmatched_endpoint(mut self, label: impl Into<String>) -> Self {
        self.unmatched_endpoint = Some(label.into());
        self
    }

    /// The label of unmatched requests, if set.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn unmatched_endpoint_label(&self) -> Option<&str> {
        self.unmatched_endpoint.as_deref()
    }
}

/// The clients [`init`] or `setup_monlight` made: each is `None` when its
/// URL was not given.
#[derive(Clone, Debug, Default)]
pub struct MonlightClients {
    /// Reports errors; also usable directly in handlers.
    pub error_client: Option<ErrorClient>,
    /// Records metrics; already started.
    pub metrics_client: Option<MetricsClient>,
}

impl MonlightClients {
    /// The graceful end, after the server stopped: waits (at most
    /// `timeout`) until the error tracker has every report made so far,
    /// gives up and counts the rest, then sends the buffered points and
    /// stops the metrics client (within its shutdown timeout). Blocks: call
    /// it off the async runtime's threads (`spawn_blocking`).
    pub fn shutdown(&self, timeout: Duration) {
        if let Some(errors) = &self.error_client {
            errors.close(timeout);
        }
        if let Some(metrics) = &self.metrics_client {
            metrics.shutdown();
        }
    }
}

impl MonlightOptions {
    /// The clients these options name (not started).
    pub(crate) fn build_clients(&self) -> Result<MonlightClients, ConfigError> {
        let metrics_client = match &self.metrics_collector_url {
            Some(url) => Some(
                MetricsClient::builder(url, &self.api_key.0)
                    .project(&self.project)
                    .flush_interval(self.flush_interval)
                    .labels(self.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .enabled(self.enabled)
                    .build()?,
            ),
            None => None,
        };
        let error_client = match &self.error_tracker_url {
            Some(url) => {
                let mut builder = ErrorClient::builder(url, &self.api_key.0)
                    .project(&self.project)
                    .environment(&self.environment)
                    .enabled(self.enabled);
                if let Some(release) = &self.release {
                    builder = builder.release(release);
                }
                if let Some(server_name) = &self.server_name {
                    builder = builder.server_name(server_name);
                }
                if let Some(rate) = self.sample_rate {
                    builder = builder.sample_rate(rate);
                }
                if let Some(BeforeSend(hook)) = &self.before_send {
                    let hook = Arc::clone(hook);
                    builder = builder.before_send(move |event| hook(event));
                }
                if let Some(window) = self.suppress_repeats {
                    builder = builder.suppress_repeats(window);
                }
                if let (true, Some(metrics)) = (self.count_errors, &metrics_client) {
                    builder = builder.count_errors(metrics.clone());
                }
                Some(builder.build()?)
            }
            None => None,
        };
        Ok(MonlightClients {
            error_client,
            metrics_client,
        })
    }
}

/// monlight for a whole program, in one call: builds the clients that
/// `options` name, reports panics through the error client
/// ([`install_panic_hook`](crate::install_panic_hook)), starts the metrics
/// flush thread, and returns the guard that ends them.
///
/// ```no_run
/// use monlight_std::{MonlightOptions, init};
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     // MONLIGHT_ERROR_TRACKER_URL, MONLIGHT_METRICS_COLLECTOR_URL,
///     // MONLIGHT_API_KEY, ...; a URL left unset leaves that half off.
///     let monlight = init(MonlightOptions::from_env()?)?;
///     if let Some(metrics) = monlight.metrics() {
///         metrics.counter("jobs_total", &[("queue", "emails")]);
///     }
///     // ... the program ...
///     Ok(())
/// } // `monlight` dropped: reports and points sent, within the timeout
/// ```
pub fn init(options: MonlightOptions) -> Result<MonlightGuard, ConfigError> {
    let clients = options.build_clients()?;
    if let Some(errors) = &clients.error_client {
        crate::install_panic_hook(errors.clone());
    }
    if let Some(metrics) = &clients.metrics_client {
        metrics.start();
    }
    Ok(MonlightGuard {
        clients,
        // The reference client's timeout, as for one report.
        timeout: Duration::from_secs(monlight_core::DEFAULT_TIMEOUT_SECS),
    })
}

/// What [`init`] returns: the clients, ended when it is dropped. Dropping
/// it waits (at most its timeout, default 5 s)
/// until the tracker has every report made so far, then sends the buffered
/// points and stops the flush thread ([`MonlightClients::shutdown`]). Keep
/// it alive in `main` (`let _monlight = ...`, not `let _ = ...`, which
/// drops it at once).
#[derive(Debug)]
#[must_use = "dropping the guard shuts monlight down"]
pub struct MonlightGuard {
    clients: MonlightClients,
    timeout: Duration,
}

impl MonlightGuard {
    /// The error client, if an error tracker URL was given.
    pub fn errors(&self) -> Option<&ErrorClient> {
        self.clients.error_client.as_ref()
    }

    /// The metrics client, if a metrics collector URL was given.
    pub fn metrics(&self) -> Option<&MetricsClient> {
        self.clients.metrics_client.as_ref()
    }

    /// Both clients (clone them into the parts of the program that
    /// report).
    pub fn clients(&self) -> &MonlightClients {
        &self.clients
    }

    /// How long dropping the guard waits for the error tracker.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Drop for MonlightGuard {
    fn drop(&mut self) {
        self.clients.shutdown(self.timeout);
    }
}

/// An API key as given in options, before it is checked; `Debug` hides it.
#[derive(Clone)]
pub(crate) struct ApiKeyText(pub(crate) String);

impl std::fmt::Debug for ApiKeyText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}
