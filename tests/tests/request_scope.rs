//! A request's context follows its task: a report made deep inside a
//! handler, by code that never saw the request, carries it; so does one
//! from a task the request spawns and joins to it.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use monlight_std::integrations::axum::{MonlightOptions, setup_monlight};
use monlight_std::{ErrorClient, RequestContext};
use monlight_tests::Collector;

/// A repository layer: knows nothing of HTTP.
fn load_order(errors: &ErrorClient) {
    let failure = std::io::Error::other("connection refused");
    errors.report_error_sync(&failure, None);
}

async fn handler(errors: ErrorClient) -> &'static str {
    monlight_std::set_request_user(42);
    tokio::task::yield_now().await; // resumed on any worker thread
    load_order(&errors);
    let child = errors.clone();
    tokio::spawn(monlight_std::in_current_request(async move {
        child.report_error_sync("receipt not sent", None);
    }))
    .await
    .unwrap();
    let detached = errors.clone();
    tokio::spawn(async move {
        detached.report_error_sync("background job failed", None);
    })
    .await
    .unwrap();
    errors.report_error_sync("explicit", Some(RequestContext::new().url("/given")));
    "ok"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_deep_in_a_request_carry_it() {
    let collector = Collector::start();
    let errors = ErrorClient::new(&collector.url(), collector.api_key()).unwrap();
    let in_handler = errors.clone();
    let app = Router::new().route("/orders/{id}", get(move || handler(in_handler.clone())));
    let (app, _clients) = setup_monlight(
        app,
        MonlightOptions::new(collector.api_key()).error_tracker_url(collector.url()),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let response = reqwest::Client::new()
        .get(format!("{base}/orders/7?full=1"))
        .header("Authorization", "Bearer secret")
        .header("X-Request-Id", "r-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    tokio::task::spawn_blocking(move || errors.flush(Duration::from_secs(5)))
        .await
        .unwrap();

    let stored = collector.errors();
    let by_message = |message: &str| {
        stored
            .iter()
            .find(|r| r.body["message"] == message)
            .unwrap_or_else(|| panic!("no report {message:?}"))
            .body
            .clone()
    };
    let deep = by_message("connection refused");
    assert_eq!(deep["request_url"], "/orders/7?full=1");
    assert_eq!(deep["request_method"], "GET");
    assert_eq!(deep["user_id"], "42");
    assert_eq!(deep["request_headers"]["x-request-id"], "r-1");
    assert!(
        deep["request_headers"].get("authorization").is_none(),
        "filtered"
    );
    assert_eq!(
        by_message("receipt not sent")["request_url"],
        "/orders/7?full=1"
    );
    assert!(
        by_message("background job failed")
            .get("request_url")
            .is_none()
    );
    assert_eq!(
        by_message("explicit")["request_url"],
        "/given",
        "explicit wins"
    );
}
