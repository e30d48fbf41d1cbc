//! The actix-web middleware against a real actix server on 127.0.0.1,
//! the local collector receiving: the same points as the tower layer,
//! panics answered 500 and reported, handler errors reported with their
//! real type.

use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use monlight_std::MonlightOptions;
use monlight_std::integrations::actix_web::{HandlerError, setup_monlight};
use monlight_tests::Collector;

const BOOM_LINE: u32 = line!() + 2;
async fn boom() -> HttpResponse {
    panic!("kaboom")
}

const QUESTION_MARK_LINE: u32 = line!() + 2;
async fn quantity(q: web::Path<String>) -> Result<String, HandlerError> {
    let quantity: u32 = q.parse()?;
    Ok(format!("{quantity} items"))
}

#[actix_web::test]
async fn one_call_instruments_an_actix_app() {
    let collector = Collector::start();
    let (monlight, clients) = setup_monlight(
        MonlightOptions::new(collector.api_key())
            .error_tracker_url(collector.url())
            .metrics_collector_url(collector.url())
            .project("actix"),
    )
    .unwrap();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(monlight.clone())
            .route("/users/{id}", web::get().to(|| async { "hello" }))
            .service(
                web::scope("/api").route("/orders/{order_id}", web::get().to(|| async { "order" })),
            )
            .route("/boom", web::get().to(boom))
            .route("/quantity/{q}", web::get().to(quantity))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let base = format!("http://{}", server.addrs()[0]);
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);

    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    for path in [
        "/users/1",
        "/api/orders/7",
        "/boom",
        "/quantity/12",
        "/quantity/twelve",
        "/nope",
    ] {
        let response = client
            .get(format!("{base}{path}"))
            .header("Authorization", "Bearer never-sent")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        answers.push((path, status, response.text().await.unwrap()));
    }
    assert_eq!(
        answers
            .iter()
            .map(|(path, status, _)| (*path, *status))
            .collect::<Vec<_>>(),
        [
            ("/users/1", 200),
            ("/api/orders/7", 200),
            ("/boom", 500),
            ("/quantity/12", 200),
            ("/quantity/twelve", 500),
            ("/nope", 404)
        ]
    );
    assert_eq!(answers[2].2, r#"{"detail": "Internal server error"}"#);
    assert_eq!(answers[4].2, r#"{"detail": "Internal server error"}"#);

    let clients_done = clients.clone();
    actix_web::rt::task::spawn_blocking(move || clients_done.shutdown(Duration::from_secs(5)))
        .await
        .unwrap();
    handle.stop(true).await;

    let mut endpoints: Vec<(String, String, String)> = collector
        .points("http_requests_total", &[])
        .iter()
        .map(|point| {
            let label = |key: &str| point["labels"][key].as_str().unwrap().to_owned();
            (label("method"), label("endpoint"), label("status"))
        })
        .collect();
    endpoints.sort();
    let expect = |e: &str, s: &str| ("GET".to_owned(), e.to_owned(), s.to_owned());
    let mut expected = vec![
        expect("/users/{id}", "200"),
        expect("/api/orders/{order_id}", "200"),
        expect("/boom", "500"),
        expect("/quantity/{q}", "200"),
        expect("/quantity/{q}", "500"),
        expect("/nope", "404"),
    ];
    expected.sort();
    assert_eq!(endpoints, expected);
    assert_eq!(
        collector.points("http_request_duration_seconds", &[]).len(),
        6
    );

    let panic = &collector.assert_report("Panic")[0].body;
    assert_eq!(panic["message"], "kaboom");
    assert_eq!(panic["request_url"], "/boom");
    assert_eq!(panic["request_method"], "GET");
    assert!(panic["request_headers"].get("authorization").is_none());
    let traceback = panic["traceback"].as_str().unwrap();
    assert!(
        traceback.starts_with(&format!("at tests/tests/actix_integration.rs:{BOOM_LINE}:")),
        "{traceback}"
    );
    let parse = &collector.assert_report("ParseIntError")[0].body;
    assert_eq!(parse["request_url"], "/quantity/twelve");
    let traceback = parse["traceback"].as_str().unwrap();
    assert!(
        traceback.starts_with(&format!(
            "at tests/tests/actix_integration.rs:{QUESTION_MARK_LINE}:"
        )),
        "the `?` is the throw site: {traceback}"
    );
    collector.assert_point(
        "errors_total",
        &[("exception_type", "Panic"), ("endpoint", "/boom")],
    );
    collector.assert_within_rules();
}

/// What a metric item says, but for its value and second (a duration, a
/// clock).
fn shape(item: &serde_json::Value) -> String {
    let mut item = item.clone();
    let object = item.as_object_mut().unwrap();
    object.remove("timestamp");
    if object["type"] == "histogram" {
        object.remove("value");
    }
    item.to_string()
}

async fn request_both(axum_base: &str, actix_base: &str, path: &str) {
    for base in [axum_base, actix_base] {
        reqwest::get(format!("{base}{path}")).await.unwrap();
    }
}

#[actix_web::test]
async fn the_same_requests_through_axum_and_actix_give_the_same_items() {
    let (axum_collector, actix_collector) = (Collector::start(), Collector::start());
    let options = |collector: &Collector| {
        MonlightOptions::new(collector.api_key())
            .metrics_collector_url(collector.url())
            .project("same")
    };
    // axum, on a tokio runtime of its own.
    let (axum_app, axum_clients) = monlight_std::integrations::axum::setup_monlight(
        axum::Router::new()
            .route("/users/{id}", axum::routing::get(|| async { "hello" }))
            .route("/quantity/{q}", axum::routing::get(axum_quantity)),
        options(&axum_collector),
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let axum_base = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        axum::serve(listener, axum_app).await
    });
    // actix.
    let (monlight, actix_clients) = setup_monlight(options(&actix_collector)).unwrap();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(monlight.clone())
            .route("/users/{id}", web::get().to(|| async { "hello" }))
            .route("/quantity/{q}", web::get().to(quantity))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let actix_base = format!("http://{}", server.addrs()[0]);
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);

    for path in ["/users/1", "/users/2", "/quantity/x", "/nope"] {
        request_both(&axum_base, &actix_base, path).await;
    }
    let (axum_metrics, actix_metrics) = (
        axum_clients.metrics_client.clone().unwrap(),
        actix_clients.metrics_client.clone().unwrap(),
    );
    actix_web::rt::task::spawn_blocking(move || {
        axum_metrics.flush();
        actix_metrics.flush();
    })
    .await
    .unwrap();
    handle.stop(true).await;
    let shapes = |collector: &Collector| {
        let mut shapes: Vec<String> = collector.metrics().iter().map(shape).collect();
        shapes.sort();
        shapes
    };
    let through_axum = shapes(&axum_collector);
    assert_eq!(through_axum.len(), 8, "{through_axum:#?}");
    assert_eq!(through_axum, shapes(&actix_collector));
    runtime.shutdown_background();
}

async fn axum_quantity(
    axum::extract::Path(q): axum::extract::Path<String>,
) -> Result<String, monlight_std::integrations::axum::HandlerError> {
    let quantity: u32 = q.parse()?;
    Ok(format!("{quantity} items"))
}
