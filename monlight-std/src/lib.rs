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
//! - [`BlockingHttp`] / [`AsyncHttp`][async-http]: the transports (plain `http://`
//!   over std sockets with `monlight-core`'s framing, `https://` (feature
//!   `tls`) and proxies through reqwest), also usable with
//!   `monlight-core`'s flush engine directly.
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
//! // At shutdown: what the servers did not store is given up, counted.
//! metrics.shutdown();
//! errors.close(std::time::Duration::from_secs(1));
//! assert_eq!(metrics.stats().dropped_transport, 1);
//! assert_eq!(errors.stats().dropped_transport, 1);
//! # Ok::<(), monlight_std::ConfigError>(())
//! ```
//!
//! Warnings (lost reports, full buffer) go through the `log` crate.
//!
//! ## Features
//!
//! None is on by default. (Items of a feature are linked from here in
//! docs built with it, such as docs.rs's; otherwise the links lead here.)
//!
//! - `reqwest`: [`AsyncHttp`][async-http], and plain HTTP through a proxy
//!   set in `http_proxy`/`all_proxy`. Without it the clients connect
//!   directly (a proxy set in the environment is logged, once), and the
//!   build has no tokio, hyper or reqwest.
//! - `testing`: [`testing`][testing], a local collector (a real HTTP
//!   server on 127.0.0.1 that enforces the servers' rules and can
//!   misbehave) and assertions on what it received, for your own tests.
//! - `tls`: `https://` URLs, through reqwest, rustls (the *ring* provider)
//!   and the platform's certificate verifier. Without it an `https://` URL is a
//!   [`ConfigError::TlsFeatureOff`], and the build compiles no C crypto
//!   library.
//! - `actix-web`: [`integrations::actix_web`][actix], with
//!   `setup_monlight` and the `Monlight` middleware (request metrics,
//!   panics and 5xx errors reported).
//! - `axum`: [`integrations::axum`][axum], with `setup_monlight` and the
//!   request-metrics and error-reporting tower layers.
//! - `metrics`: [`integrations::metrics`][metrics], monlight as the `metrics`
//!   crate's recorder (`metrics::counter!(..)` reaches the collector).
//! - `tracing`: [`integrations::tracing`][tracing], a `tracing_subscriber` layer
//!   that reports `ERROR` events (or from the level you choose) with their
//!   fields, spans and location.
//! - `log`: [`integrations::log`][log], a `log::Log` that reports records
//!   at or above a level (default `Error`) as error reports, beside your
//!   own logger.
//! - `anyhow`: [`ErrorClient::report_anyhow_sync`][anyhow], an `anyhow::Error`
//!   typed by its root cause, with its contexts and its captured backtrace
//!   trimmed to your frames.
//! - `eyre`: [`ErrorClient::report_eyre_sync`][eyre], an `eyre::Report`
//!   typed by its root cause, with its contexts. (`report_error_sync(&*e,
//!   ..)` also works for both, typed by the outer layer, without the
//!   backtrace.)

// The features' items, linked where they exist (after a blank line: a
// link definition cannot interrupt a paragraph).
#![doc = ""]
#![cfg_attr(feature = "reqwest", doc = "[async-http]: AsyncHttp")]
#![cfg_attr(not(feature = "reqwest"), doc = "[async-http]: #features")]
#![cfg_attr(feature = "testing", doc = "[testing]: testing")]
#![cfg_attr(not(feature = "testing"), doc = "[testing]: #features")]
#![cfg_attr(feature = "actix-web", doc = "[actix]: integrations::actix_web")]
#![cfg_attr(not(feature = "actix-web"), doc = "[actix]: #features")]
#![cfg_attr(feature = "axum", doc = "[axum]: integrations::axum")]
#![cfg_attr(not(feature = "axum"), doc = "[axum]: #features")]
#![cfg_attr(feature = "metrics", doc = "[metrics]: integrations::metrics")]
#![cfg_attr(not(feature = "metrics"), doc = "[metrics]: #features")]
#![cfg_attr(feature = "log", doc = "[log]: integrations::log")]
#![cfg_attr(not(feature = "log"), doc = "[log]: #features")]
#![cfg_attr(feature = "tracing", doc = "[tracing]: integrations::tracing")]
#![cfg_attr(not(feature = "tracing"), doc = "[tracing]: #features")]
#![cfg_attr(feature = "eyre", doc = "[eyre]: ErrorClient::report_eyre_sync")]
#![cfg_attr(not(feature = "eyre"), doc = "[eyre]: #features")]
#![cfg_attr(feature = "anyhow", doc = "[anyhow]: ErrorClient::report_anyhow_sync")]
#![cfg_attr(not(feature = "anyhow"), doc = "[anyhow]: #features")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod check;
mod clock;
mod config;
pub mod env;
mod error_client;
mod hashed_recent;
pub mod integrations;
mod metrics_client;
mod outbox;
mod panic_hook;
#[cfg(feature = "axum")]
mod recent;
mod reportable;
mod request_scope;
mod setup;
mod staging;
#[cfg(feature = "testing")]
pub mod testing;
mod transport;

pub use check::{CheckError, Server, ServerCheck};
pub use config::{ApiKey, ConfigError};
pub use error_client::{ErrorClient, ErrorClientBuilder, ErrorEvent, RequestContext};
pub use metrics_client::{
    DEFAULT_BUFFER_BYTES, DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_STAGING_BYTES_PER_THREAD,
    MAX_STAGING_THREADS, MetricsClient, MetricsClientBuilder, Series,
};
pub use monlight_core::{FlushReport, Label, Metric, MetricError, MetricKind, Probe, Stats};
pub use panic_hook::install_panic_hook;
pub use reportable::Reportable;
pub use request_scope::{InRequest, in_current_request, set_request_user};
pub use setup::{MonlightClients, MonlightGuard, MonlightOptions, init};
#[cfg(feature = "reqwest")]
pub use transport::AsyncHttp;
pub use transport::BlockingHttp;

/// The README's examples, compiled and run as doc tests (its sections need
/// the `axum`, `actix-web` and `testing` features, which `cargo test --workspace`
/// enables).
#[cfg(all(doctest, feature = "axum", feature = "actix-web", feature = "testing"))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
