//! An axum service instrumented by monlight in one call.
//!
//! ```sh
//! cargo run -p monlight-examples --example axum_app
//! # then, in another terminal:
//! curl localhost:3000/users/42
//! curl localhost:3000/orders/abc        # a handler error, reported as ParseIntError
//! curl localhost:3000/boom              # a panic: 500 {"detail": "Internal server error"}, reported
//! curl localhost:3000/nope              # a 404, counted with its raw path
//! ```
//!
//! Ctrl-C stops the server gracefully and sends the last error reports and
//! points. With
//! `MONLIGHT_ERROR_TRACKER_URL` and/or `MONLIGHT_METRICS_COLLECTOR_URL` and
//! `MONLIGHT_API_KEY` set (and optionally `MONLIGHT_PROJECT`,
//! `MONLIGHT_ENVIRONMENT`, `MONLIGHT_FLUSH_INTERVAL`) it reports to those
//! servers, configured by `MonlightOptions::from_env`; otherwise to a local
//! collector whose contents it prints at the end. `PORT` changes the port.

use std::env;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use monlight_std::integrations::axum::{HandlerError, setup_monlight};

async fn user(Path(id): Path<u64>) -> String {
    format!("user {id}\n")
}

/// `?` turns any error into a 500 that monlight reports with its real type,
/// message and the line of the `?`.
async fn order(Path(id): Path<String>) -> Result<String, HandlerError> {
    let id: u64 = id.parse()?;
    Ok(format!("order {id}\n"))
}

async fn boom() -> &'static str {
    panic!("something impossible happened")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Your servers from MONLIGHT_* variables, or a local stand-in.
    let (local, options) = monlight_examples::local::options_or_local_collector("axum-example")?;

    let app = Router::new()
        .route("/users/{id}", get(user))
        .route("/orders/{id}", get(order))
        .route("/boom", get(boom));
    let (app, clients) = setup_monlight(app, options)?;

    let port = env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!(
        "Listening on http://{}; Ctrl-C to stop",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;

    // Graceful shutdown: the last requests' error reports and points go out
    // before the process ends (blocking, so off the runtime).
    let ending = clients.clone();
    tokio::task::spawn_blocking(move || ending.shutdown(Duration::from_secs(5))).await?;
    if let Some(collector) = local {
        println!(
            "\nThe collector stored {} error report(s) and {} metric point(s):",
            collector.errors().len(),
            collector.metrics().len()
        );
        for error in collector.errors() {
            println!(
                "  error [{}] {} {}",
                error.status, error.body["exception_type"], error.body["message"]
            );
        }
        for item in collector.metrics() {
            println!("  {item}");
        }
    }
    Ok(())
}
