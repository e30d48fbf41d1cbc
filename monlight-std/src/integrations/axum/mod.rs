//! axum / tower integration (feature `axum`): the Rust counterpart of the
//! reference client's FastAPI integration.
//!
//! - [`setup_monlight`]: one call instruments a whole `Router`;
//! - [`RequestMetricsLayer`]: request counts and durations by route template,
//!   a tower layer usable on any tower HTTP service;
//! - [`ErrorReportingLayer`]: catches handler panics (answered with
//!   `500 {"detail": "Internal server error"}`) and reports them, and
//!   reports errors handlers hand over through [`ReportedError`] /
//!   [`HandlerError`];
//!
//! the two layers are usable separately, as the reference's middleware and
//! exception handler are.
//!
//! ## Shutting down
//!
//! The metrics client flushes on `shutdown()` (and when its last handle is
//! dropped). With axum's graceful shutdown, call it after `serve` returns;
//! it blocks for at most its shutdown timeout, so run it off the runtime's
//! worker threads:
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use monlight_std::integrations::axum::{MonlightOptions, setup_monlight};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let app = Router::new().route("/users/{id}", get(|| async { "hello" }));
//! let (app, clients) = setup_monlight(
//!     app,
//!     MonlightOptions::new("my-key")
//!         .error_tracker_url("http://localhost:5010")
//!         .metrics_collector_url("http://localhost:5012")
//!         .project("my-app"),
//! )?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app)
//!     .with_graceful_shutdown(async { let _ = tokio::signal::ctrl_c().await; })
//!     .await?;
//! if let Some(metrics) = clients.metrics_client {
//!     tokio::task::spawn_blocking(move || metrics.shutdown()).await?;
//! }
//! # Ok(())
//! # }
//! ```

mod error_reporting;
mod request_metrics;

use std::time::Duration;

use axum::Router;

pub use error_reporting::{
    ErrorReporting, ErrorReportingLayer, HandlerError, INTERNAL_ERROR_BODY, ReportFailures,
    ReportedError,
};
pub use request_metrics::{RecordWhenDone, RequestMetrics, RequestMetricsLayer};

use crate::{ConfigError, ErrorClient, MetricsClient};

/// The options of [`setup_monlight`], with the reference's defaults.
#[derive(Clone, Debug)]
#[must_use]
pub struct MonlightOptions {
    error_tracker_url: Option<String>,
    metrics_collector_url: Option<String>,
    api_key: crate::ApiKeyText,
    project: String,
    environment: String,
    flush_interval: Duration,
}

impl MonlightOptions {
    /// Options with the shared API key; no URL (nothing is enabled until
    /// one is set), project `"default"`, environment `"prod"`, flush every
    /// 10 s.
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            error_tracker_url: None,
            metrics_collector_url: None,
            api_key: crate::ApiKeyText(api_key.into()),
            project: "default".into(),
            environment: "prod".into(),
            flush_interval: Duration::from_secs(10),
        }
    }

    /// Options from the environment (see [`crate::env`]): the URLs from
    /// `MONLIGHT_ERROR_TRACKER_URL` and `MONLIGHT_METRICS_COLLECTOR_URL`
    /// (each optional: unset leaves that half off), `MONLIGHT_API_KEY`
    /// (required once a URL is set), `MONLIGHT_PROJECT`,
    /// `MONLIGHT_ENVIRONMENT`, `MONLIGHT_FLUSH_INTERVAL`.
    ///
    /// ```no_run
    /// use axum::{Router, routing::get};
    /// use monlight_std::integrations::axum::{MonlightOptions, setup_monlight};
    ///
    /// let app: Router = Router::new().route("/", get(|| async { "ok" }));
    /// let (app, clients) = setup_monlight(app, MonlightOptions::from_env()?)?;
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
}

/// The clients [`setup_monlight`] made: each is `None` when its URL was not
/// given.
#[derive(Clone, Debug, Default)]
pub struct MonlightClients {
    /// Reports errors; also usable directly in handlers.
    pub error_client: Option<ErrorClient>,
    /// Records metrics; already started. Call `shutdown()` when the server
    /// stops (see the module docs).
    pub metrics_client: Option<MetricsClient>,
}

/// Instruments `app` in one call, as the reference's `setup_monlight`:
/// with an error tracker URL, handler panics are answered
/// `500 {"detail": "Internal server error"}` and reported, and errors handed
/// over through [`ReportedError`] are reported; with a metrics collector
/// URL, every request records `http_requests_total` and
/// `http_request_duration_seconds` by method, route template and status.
/// With neither, `app` is returned as it was.
///
/// Add routes (and any fallback) before calling it: axum applies layers to
/// the routes that exist. Needs a tokio runtime to send reports.
pub fn setup_monlight<S>(
    app: Router<S>,
    options: MonlightOptions,
) -> Result<(Router<S>, MonlightClients), ConfigError>
where
    S: Clone + Send + Sync + 'static,
{
    let error_client = match &options.error_tracker_url {
        Some(url) => Some(
            ErrorClient::builder(url, &options.api_key.0)
                .project(&options.project)
                .environment(&options.environment)
                .build()?,
        ),
        None => None,
    };
    let metrics_client = match &options.metrics_collector_url {
        Some(url) => Some(
            MetricsClient::builder(url, &options.api_key.0)
                .project(&options.project)
                .flush_interval(options.flush_interval)
                .build()?,
        ),
        None => None,
    };
    let clients = MonlightClients {
        error_client,
        metrics_client,
    };
    if let Some(metrics) = &clients.metrics_client {
        metrics.start();
    }
    let metrics = clients.metrics_client.clone().map(RequestMetricsLayer::new);
    let errors = clients.error_client.clone().map(ErrorReportingLayer::new);
    // One `Router::layer` call for both: axum boxes each layer it applies,
    // so stacking them first saves a box and a dynamic call per request.
    // Metrics outside, errors inside: a panic is a 500 before it is counted.
    // A match rather than `option_layer`, whose `Either` services and
    // futures add code to every request.
    let app = match (metrics, errors) {
        (Some(metrics), Some(errors)) => app.layer((metrics, errors)),
        (Some(metrics), None) => app.layer(metrics),
        (None, Some(errors)) => app.layer(errors),
        (None, None) => app,
    };
    Ok((app, clients))
}
