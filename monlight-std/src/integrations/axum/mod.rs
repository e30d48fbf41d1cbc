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
//! Once `serve` returns from axum's graceful shutdown, the last requests
//! may have failed and their reports, and the last points, may still be on
//! their way: [`MonlightClients::shutdown`] sends them (the error reports
//! first: it waits until the tracker has each, within its timeout) and
//! stops both clients. It blocks, so run it off the runtime's worker
//! threads:
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
//! let timeout = std::time::Duration::from_secs(5);
//! tokio::task::spawn_blocking(move || clients.shutdown(timeout)).await?;
//! # Ok(())
//! # }
//! ```

mod error_reporting;
mod request_metrics;

use axum::Router;

pub use super::reported::ReportedError;
pub use error_reporting::{
    ErrorReporting, ErrorReportingLayer, HandlerError, INTERNAL_ERROR_BODY, ReportFailures,
};
pub use request_metrics::{RecordWhenDone, RequestMetrics, RequestMetricsLayer};

use crate::ConfigError;
pub use crate::setup::{MonlightClients, MonlightOptions};

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
    let clients = options.build_clients()?;
    if let Some(metrics) = &clients.metrics_client {
        metrics.start();
    }
    let metrics = clients.metrics_client.clone().map(|metrics| {
        let layer = RequestMetricsLayer::new(metrics);
        match options.unmatched_endpoint_label() {
            Some(label) => layer.unmatched_endpoint(label),
            None => layer,
        }
    });
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
