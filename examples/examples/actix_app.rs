//! An actix-web service instrumented by monlight in one call.
//!
//! ```sh
//! cargo run -p monlight-examples --example actix_app
//! # then, in another terminal:
//! curl localhost:8080/users/42
//! curl localhost:8080/orders/abc        # a handler error, reported as ParseIntError
//! curl localhost:8080/boom              # a panic: 500 {"detail": "Internal server error"}, reported
//! ```
//!
//! Ctrl-C stops the server gracefully and sends the last error reports and
//! points. With `MONLIGHT_*` variables set it reports to those servers
//! (`MonlightOptions::from_env`); otherwise to a local collector whose
//! contents it prints at the end. `PORT` changes the port.

use std::env;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use monlight_std::integrations::actix_web::{HandlerError, setup_monlight};

async fn user(id: web::Path<u64>) -> String {
    format!("user {id}\n")
}

/// `?` turns any error into a 500 that monlight reports with its real type,
/// message and the line of the `?`.
async fn order(id: web::Path<String>) -> Result<String, HandlerError> {
    let id: u64 = id.parse()?;
    Ok(format!("order {id}\n"))
}

async fn boom() -> HttpResponse {
    panic!("something impossible happened")
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (local, options) = monlight_examples::local::options_or_local_collector("actix-example")?;
    let (monlight, clients) = setup_monlight(options)?;

    let port: u16 = env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(monlight.clone())
            .route("/users/{id}", web::get().to(user))
            .route("/orders/{id}", web::get().to(order))
            .route("/boom", web::get().to(boom))
    })
    .bind(("127.0.0.1", port))?;
    println!("Listening on http://{}; Ctrl-C to stop", server.addrs()[0]);
    server.run().await?; // actix stops gracefully on Ctrl-C

    // The last requests' error reports and points go out before the end.
    let ending = clients.clone();
    actix_web::rt::task::spawn_blocking(move || ending.shutdown(Duration::from_secs(5))).await?;
    if let Some(collector) = local {
        println!(
            "\nThe collector stored {} error report(s) and {} metric point(s).",
            collector.errors().len(),
            collector.metrics().len()
        );
    }
    Ok(())
}
