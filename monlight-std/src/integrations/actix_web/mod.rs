//! actix-web integration (feature `actix-web`), in the style of the axum
//! one:
//!
//! - [`setup_monlight`]: one call makes the [`Monlight`] middleware and
//!   the clients from [`MonlightOptions`];
//! - [`Monlight`]: wrap an `App` (or a scope) with it. Every request
//!   records `http_requests_total` and `http_request_duration_seconds`
//!   with the tower layer's names, labels and status strings, `endpoint`
//!   being the route pattern (`/users/{id}`, scopes included, from
//!   actix's `match_pattern`). A panicking handler is answered
//!   `500 {"detail": "Internal server error"}` and reported with its
//!   request; a handler's error that becomes a 5xx is reported, with its
//!   real type, message and causes when it is a [`HandlerError`];
//! - reports made anywhere while a request is handled carry it (see
//!   [`set_request_user`](crate::set_request_user)).
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use monlight_std::MonlightOptions;
//! use monlight_std::integrations::actix_web::setup_monlight;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let (monlight, clients) = setup_monlight(MonlightOptions::from_env()?)?;
//! HttpServer::new(move || {
//!     App::new()
//!         .wrap(monlight.clone())
//!         .route("/users/{id}", web::get().to(|| async { "hello" }))
//! })
//! .bind(("127.0.0.1", 8080))?
//! .run()
//! .await?;
//! // After the server stopped: the last reports and points go out.
//! clients.shutdown(std::time::Duration::from_secs(5));
//! # Ok(())
//! # }
//! ```

mod middleware;

pub use super::reported::ReportedError;
pub use middleware::{HandlerError, Monitored, Monlight, MonlightService};

use crate::{ConfigError, MonlightClients, MonlightOptions};

/// Builds the clients `options` name, starts the metrics client, and
/// returns the middleware that uses them (clone it into each worker's
/// `App`) with the clients, for [`MonlightClients::shutdown`] at the end.
/// Storm suppression and `errors_total` are on, as `MonlightOptions` sets
/// them by default.
pub fn setup_monlight(
    options: MonlightOptions,
) -> Result<(Monlight, MonlightClients), ConfigError> {
    let clients = options.build_clients()?;
    if let Some(metrics) = &clients.metrics_client {
        metrics.start();
    }
    let monlight = Monlight::new(clients.clone())
        .unmatched_endpoint_opt(options.unmatched_endpoint_label().map(Into::into));
    Ok((monlight, clients))
}
