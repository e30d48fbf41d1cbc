//! # monlight-std
//!
//! monlight clients for Rust programs with `std`: report errors to a
//! monlight error tracker and send metrics to a monlight metrics collector,
//! with the API and defaults of the reference Python client and without its
//! pitfalls (unbounded buffer, oversized batches, pooled dead connections,
//! no answer to 429).
//!
//! - [`ErrorClient`]: `report_error_sync` / `report_error`, fire and forget,
//!   grouped by the caller's source location;
//! - [`MetricsClient`]: `counter`, `histogram`, `gauge`, a bounded buffer and
//!   a background flush thread;
//! - [`install_panic_hook`]: panics reported as errors;
//! - [`BlockingHttp`] / [`AsyncHttp`]: the transports (plain `http://`
//!   over std sockets with `monlight-core`'s framing, `https://` and
//!   proxies through reqwest), also usable with `monlight-core`'s flush
//!   engine directly.
//!
//! ```
//! use monlight_std::{ErrorClient, MetricsClient, RequestContext};
//!
//! // Nothing listens on this port: every failure is counted, none is raised.
//! let url = "http://127.0.0.1:9";
//! let errors = ErrorClient::builder(url, "my-key").project("shop").build()?;
//! let metrics = MetricsClient::builder(url, "my-key").project("shop").build()?;
//! metrics.start();
//! monlight_std::install_panic_hook(errors.clone());
//!
//! metrics.counter("orders_total", &[("plan", "pro")]);
//! if let Err(e) = std::fs::read("/missing") {
//!     errors.report_error_sync(&e, Some(RequestContext::new().url("/checkout").user_id(7)));
//! }
//! metrics.shutdown();
//! assert_eq!(metrics.stats().dropped_transport, 1);
//! assert_eq!(errors.stats().dropped_transport, 1);
//! # Ok::<(), monlight_std::ConfigError>(())
//! ```
//!
//! Warnings (lost reports, full buffer) go through the `log` crate.
//!
//! ## Features
//!
//! - `axum`: [`integrations::axum`], with `setup_monlight` and the
//!   request-metrics and error-reporting tower layers.
//! - `metrics`: [`integrations::metrics`], monlight as the `metrics`
//!   crate's recorder (`metrics::counter!(..)` reaches the collector).
//! - `tracing`: [`integrations::tracing`], a `tracing_subscriber` layer
//!   that reports `ERROR` events with their fields, spans and location.
//! - `anyhow`: [`ErrorClient::report_anyhow_sync`], an `anyhow::Error`
//!   typed by its root cause, with its contexts and its captured backtrace
//!   trimmed to your frames. (`eyre::Report` and `anyhow::Error` also work
//!   with `report_error_sync(&*error, ..)`, without the backtrace.)

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod clock;
mod config;
pub mod env;
mod error_client;
pub mod integrations;
mod metrics_client;
mod panic_hook;
mod recent;
mod reportable;
mod staging;
mod transport;

pub use config::{ApiKey, ConfigError};
pub use error_client::{ErrorClient, ErrorClientBuilder, RequestContext};
pub use metrics_client::{
    DEFAULT_BUFFER_BYTES, DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_STAGING_BYTES_PER_THREAD,
    MAX_STAGING_THREADS, MetricsClient, MetricsClientBuilder, Series,
};
pub use monlight_core::{FlushReport, Label, Metric, MetricError, MetricKind, Stats};
pub use panic_hook::install_panic_hook;
pub use reportable::Reportable;
pub use transport::{AsyncHttp, BlockingHttp};

/// An API key as given in options, before it is checked; `Debug` hides it.
#[derive(Clone)]
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) struct ApiKeyText(pub(crate) String);

impl std::fmt::Debug for ApiKeyText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The README's examples, compiled and run as doc tests (its axum section
/// needs the `axum` feature, which `cargo test --workspace` enables).
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
