//! The axum integration on a real server bound to 127.0.0.1, driven over
//! HTTP, with the local collector receiving.

use std::time::Duration;

use axum::Router;
use axum::extract::{Json, Path};
use axum::routing::{get, post};
use monlight_std::integrations::axum::{
    HandlerError, MonlightClients, MonlightOptions, RequestMetricsLayer, setup_monlight,
};
use monlight_std::{ErrorClient, MetricsClient};
use monlight_tests::Collector;
use serde_json::{Value, json};

#[derive(serde::Deserialize, serde::Serialize)]
struct Item {
    name: String,
    quantity: u32,
}

/// Line of the panic in `/boom`, checked against the report's throw site.
const PANIC_LINE: u32 = line!() + 3;

async fn boom() -> &'static str {
    panic!("kaboom")
}

fn app() -> Router {
    let orders = Router::new().route(
        "/orders/{order_id}",
        get(|Path(id): Path<u32>| async move { format!("order {id}") }),
    );
    Router::new()
        .route("/boom", get(boom))
        .route(
            "/users/{id}",
            get(|Path(id): Path<u32>| async move { format!("user {id}") }),
        )
        .route(
            "/items",
            post(|Json(item): Json<Item>| async move { Json(item) }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(150)).await;
                "slow"
            }),
        )
        .route("/quantity/{q}", get(parse_quantity))
        .nest("/api", orders)
}

/// Line of the `?` in `parse_quantity`: the handler error's throw site.
const QUESTION_MARK_LINE: u32 = line!() + 3;

async fn parse_quantity(Path(q): Path<String>) -> Result<String, HandlerError> {
    let quantity: u32 = q.parse()?;
    Ok(format!("{quantity} items"))
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

struct Answer {
    status: u16,
    content_type: Option<String>,
    body: String,
}

async fn call(base: &str, method: &str, path: &str, body: Option<&str>) -> Answer {
    let client = reqwest::Client::new();
    let mut request = client.request(method.parse().unwrap(), format!("{base}{path}"));
    request = request
        .header("Authorization", "Bearer secret-token")
        .header("X-Request-Id", "abc-123")
        .header("Referer", "http://shop.example:8080/cart");
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status().as_u16(),
        content_type: response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: response.text().await.unwrap(),
    }
}

/// The requests every test makes, with the status each must get.
const REQUESTS: [(&str, &str, Option<&str>, u16); 9] = [
    ("GET", "/users/1", None, 200),
    ("GET", "/users/2", None, 200),
    (
        "POST",
        "/items",
        Some(r#"{"name":"pen","quantity":2}"#),
        200,
    ),
    ("POST", "/items", Some(r#"{"name":"pen"}"#), 422),
    ("GET", "/nope/42", None, 404),
    ("GET", "/api/orders/7", None, 200),
    ("GET", "/slow", None, 200),
    ("GET", "/quantity/12", None, 200),
    ("GET", "/quantity/twelve", None, 500),
];

fn series<'a>(items: &'a [Value], name: &str) -> Vec<&'a Value> {
    items.iter().filter(|i| i["name"] == name).collect()
}

/// Reports are spawned, never awaited by the response: wait (at most 2 s)
/// until `count` of them were delivered.
async fn wait_for_sent_reports(client: &ErrorClient, count: u64) {
    for _ in 0..100 {
        if client.stats().sent >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn shutdown(clients: &MonlightClients) {
    if let Some(metrics) = &clients.metrics_client {
        metrics.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_instruments_the_whole_app() {
    let collector = Collector::start();
    let (router, clients) = setup_monlight(
        app(),
        MonlightOptions::new(collector.api_key())
            .error_tracker_url(collector.url())
            .metrics_collector_url(collector.url())
            .project("shop"),
    )
    .unwrap();
    let instrumented = serve(router).await;
    let bare = serve(app()).await;

    for (method, path, body, status) in REQUESTS {
        let with = call(&instrumented, method, path, body).await;
        assert_eq!(with.status, status, "{method} {path}");
        // The response is untouched, error responses included.
        let without = call(&bare, method, path, body).await;
        assert_eq!(
            (with.status, &with.content_type, &with.body),
            (without.status, &without.content_type, &without.body),
            "{method} {path}"
        );
    }
    let boom = call(&instrumented, "GET", "/boom?since=1", None).await;
    assert_eq!(boom.status, 500);
    assert_eq!(
        serde_json::from_str::<Value>(&boom.body).unwrap(),
        json!({"detail": "Internal server error"})
    );
    assert_eq!(boom.content_type.as_deref(), Some("application/json"));

    // Reports are spawned; give them a moment, then flush the metrics.
    let errors_client = clients.error_client.clone().unwrap();
    wait_for_sent_reports(&errors_client, 2).await;
    let clients2 = clients.clone();
    tokio::task::spawn_blocking(move || shutdown(&clients2))
        .await
        .unwrap();

    let items = collector.metrics();
    let counters = series(&items, "http_requests_total");
    let histograms = series(&items, "http_request_duration_seconds");
    assert_eq!(counters.len(), REQUESTS.len() + 1);
    assert_eq!(histograms.len(), counters.len());
    for (counter, histogram) in counters.iter().zip(&histograms) {
        assert_eq!(
            counter["labels"], histogram["labels"],
            "same labels for both"
        );
        assert_eq!(counter["value"], 1.0);
        assert_eq!(counter["type"], "counter");
        assert_eq!(histogram["type"], "histogram");
        assert!(histogram["value"].as_f64().unwrap() > 0.0);
        assert_eq!(counter["project"], "shop");
    }
    // Requests ran on several runtime threads: points arrive in order per
    // thread, not across threads.
    let mut labels: Vec<(String, String, String)> = counters
        .iter()
        .map(|c| {
            let l = &c["labels"];
            (
                l["method"].as_str().unwrap().into(),
                l["endpoint"].as_str().unwrap().into(),
                l["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    labels.sort();
    let expect = |m: &str, e: &str, s: &str| (m.to_owned(), e.to_owned(), s.to_owned());
    let mut expected = vec![
        expect("GET", "/users/{id}", "200"),
        expect("GET", "/users/{id}", "200"),
        expect("POST", "/items", "200"),
        expect("POST", "/items", "422"),
        expect("GET", "/nope/42", "404"),
        expect("GET", "/api/orders/{order_id}", "200"),
        expect("GET", "/slow", "200"),
        expect("GET", "/quantity/{q}", "200"),
        expect("GET", "/quantity/{q}", "500"),
        expect("GET", "/boom", "500"),
    ];
    expected.sort();
    assert_eq!(labels, expected);
    let slow = histograms
        .iter()
        .find(|h| h["labels"]["endpoint"] == "/slow")
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    let fast = histograms[0]["value"].as_f64().unwrap();
    assert!(slow >= 0.15 && slow > fast, "slow {slow} vs fast {fast}");

    // Exactly one report per failure, with the request and its throw site.
    let errors = collector.errors();
    assert_eq!(errors.len(), 2, "{errors:?}");
    let panic = errors
        .iter()
        .find(|e| e.body["exception_type"] == "Panic")
        .unwrap();
    assert_eq!(panic.body["message"], "kaboom");
    assert_eq!(panic.body["request_method"], "GET");
    assert!(
        panic.body["request_url"]
            .as_str()
            .unwrap()
            .ends_with("/boom?since=1")
    );
    let headers = panic.body["request_headers"].as_object().unwrap();
    assert_eq!(headers["x-request-id"], "abc-123");
    assert_eq!(headers["referer"], "http://shop.example:8080/cart");
    assert!(!headers.contains_key("authorization"));
    let first = panic.body["traceback"]
        .as_str()
        .unwrap()
        .lines()
        .next()
        .unwrap();
    assert!(
        first.contains(&format!("axum_integration.rs:{PANIC_LINE}:")),
        "{first}"
    );

    let handler = errors
        .iter()
        .find(|e| e.body["exception_type"] == "ParseIntError")
        .unwrap();
    assert_eq!(handler.body["message"], "invalid digit found in string");
    assert!(
        handler.body["request_url"]
            .as_str()
            .unwrap()
            .ends_with("/quantity/twelve")
    );
    let first = handler.body["traceback"]
        .as_str()
        .unwrap()
        .lines()
        .next()
        .unwrap();
    assert!(
        first.contains(&format!("axum_integration.rs:{QUESTION_MARK_LINE}:")),
        "the `?` in the handler is the throw site: {first}"
    );

    // Each report also counted into errors_total, by route.
    let counted: Vec<(String, String)> = series(&collector.metrics(), "errors_total")
        .iter()
        .map(|point| {
            let labels = &point["labels"];
            (
                labels["exception_type"].to_string(),
                labels["endpoint"].to_string(),
            )
        })
        .collect();
    assert_eq!(counted.len(), 2, "{counted:?}");
    assert!(
        counted.contains(&("\"Panic\"".into(), "\"/boom\"".into())),
        "{counted:?}"
    );

    // The returned clients are the ones in use.
    let stats = clients.metrics_client.as_ref().unwrap().stats();
    assert_eq!(stats.sent, 2 * (REQUESTS.len() as u64 + 1) + 2);
    assert_eq!(errors_client.stats().sent, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_metrics_only_errors_or_nothing() {
    let collector = Collector::start();
    let (router, clients) = setup_monlight(
        app(),
        MonlightOptions::new(collector.api_key()).metrics_collector_url(collector.url()),
    )
    .unwrap();
    assert!(clients.error_client.is_none());
    let base = serve(router).await;
    assert_eq!(call(&base, "GET", "/users/5", None).await.status, 200);
    let c = clients.clone();
    tokio::task::spawn_blocking(move || shutdown(&c))
        .await
        .unwrap();
    assert_eq!(series(&collector.metrics(), "http_requests_total").len(), 1);

    let collector = Collector::start();
    let (router, clients) = setup_monlight(
        app(),
        MonlightOptions::new(collector.api_key()).error_tracker_url(collector.url()),
    )
    .unwrap();
    assert!(clients.metrics_client.is_none());
    let base = serve(router).await;
    assert_eq!(call(&base, "GET", "/boom", None).await.status, 500);
    assert_eq!(call(&base, "GET", "/users/5", None).await.status, 200);
    let errors = clients.error_client.clone().unwrap();
    wait_for_sent_reports(&errors, 1).await;
    assert_eq!(collector.errors().len(), 1);
    assert!(collector.metrics().is_empty());

    let (router, clients) = setup_monlight(app(), MonlightOptions::new("unused")).unwrap();
    assert!(clients.error_client.is_none() && clients.metrics_client.is_none());
    let base = serve(router).await;
    assert_eq!(call(&base, "GET", "/users/9", None).await.body, "user 9");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_layer_works_on_any_tower_service() {
    use tower::{Layer, ServiceExt};
    let collector = Collector::start();
    let metrics = MetricsClient::new(&collector.url(), collector.api_key()).unwrap();
    let service = RequestMetricsLayer::new(metrics.clone()).layer(tower::service_fn(
        |_req: http::Request<String>| async {
            Ok::<_, std::convert::Infallible>(
                http::Response::builder()
                    .status(204)
                    .body(String::new())
                    .unwrap(),
            )
        },
    ));
    let response = service
        .oneshot(
            http::Request::builder()
                .method("DELETE")
                .uri("/raw/7?x=1")
                .body(String::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    tokio::task::spawn_blocking(move || metrics.flush())
        .await
        .unwrap();
    let items = collector.metrics();
    let counter = &series(&items, "http_requests_total")[0]["labels"];
    assert_eq!(
        counter,
        &json!({"endpoint": "/raw/7", "method": "DELETE", "status": "204"})
    );
}

/// Counts of `http_requests_total` per (endpoint, status) at `collector`.
fn requests_by_route(collector: &Collector) -> std::collections::BTreeMap<(String, String), u32> {
    let mut counts = std::collections::BTreeMap::new();
    for counter in series(&collector.metrics(), "http_requests_total") {
        let labels = &counter["labels"];
        let key = (
            labels["endpoint"].as_str().unwrap().to_owned(),
            labels["status"].as_str().unwrap().to_owned(),
        );
        *counts.entry(key).or_default() += 1;
    }
    counts
}

/// One runtime thread serves everything, so both apps share its cache of
/// the routes seen: each client still gets its own series, and more
/// (route, method, status) than the cache holds keep their labels.
#[tokio::test(flavor = "current_thread")]
async fn routes_seen_before_keep_their_labels_per_client_and_beyond_the_cache() {
    let app = |metrics: &MetricsClient| {
        Router::new()
            .route("/users/{id}", get(|| async { "user" }))
            .route(
                "/status/{code}",
                get(|Path(code): Path<u16>| async move {
                    http::StatusCode::from_u16(code).unwrap()
                }),
            )
            .layer(RequestMetricsLayer::new(metrics.clone()))
    };
    let (a, b) = (Collector::start(), Collector::start());
    let metrics_a = MetricsClient::new(&a.url(), a.api_key()).unwrap();
    let metrics_b = MetricsClient::new(&b.url(), b.api_key()).unwrap();
    let (base_a, base_b) = (serve(app(&metrics_a)).await, serve(app(&metrics_b)).await);

    // B's first series is another route than A's: ids of A's series in
    // B's table would be the wrong series.
    assert_eq!(call(&base_a, "GET", "/users/1", None).await.status, 200);
    assert_eq!(call(&base_b, "GET", "/status/418", None).await.status, 418);
    assert_eq!(call(&base_b, "GET", "/users/1", None).await.status, 200);
    // 70 statuses, twice: more than a thread remembers.
    for _ in 0..2 {
        for code in 200..270 {
            let path = format!("/status/{code}");
            assert_eq!(call(&base_a, "GET", &path, None).await.status, code);
        }
    }
    tokio::task::spawn_blocking(move || (metrics_a.flush(), metrics_b.flush()))
        .await
        .unwrap();

    let mut expected_a = std::collections::BTreeMap::new();
    expected_a.insert(("/users/{id}".to_owned(), "200".to_owned()), 1);
    for code in 200..270 {
        expected_a.insert(("/status/{code}".to_owned(), code.to_string()), 2);
    }
    assert_eq!(requests_by_route(&a), expected_a);
    let expected_b = [
        (("/status/{code}".to_owned(), "418".to_owned()), 1),
        (("/users/{id}".to_owned(), "200".to_owned()), 1),
    ];
    assert_eq!(requests_by_route(&b), expected_b.into_iter().collect());
}

/// A request fails just before a graceful shutdown, against a slow
/// tracker: after `MonlightClients::shutdown` its report is stored, though
/// the runtime that handled it is gone.
#[test]
fn the_last_failure_before_a_graceful_shutdown_is_stored() {
    let collector = Collector::start();
    // It takes 300 ms to answer.
    collector.set_fault(Some(monlight_tests::Fault::SlowAnswer(
        Duration::from_millis(300),
    )));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let clients = runtime.block_on(async {
        let (app, clients) = setup_monlight(
            app(),
            MonlightOptions::new(collector.api_key())
                .error_tracker_url(collector.url())
                .project("shop"),
        )
        .unwrap();
        let base = serve(app).await;
        let answer = call(&base, "GET", "/quantity/twelve", None).await;
        assert_eq!(answer.status, 500);
        clients
    });
    // The server and its runtime end; the report is still on its way.
    runtime.shutdown_background();
    assert!(collector.errors().is_empty(), "the tracker is slow");
    clients.shutdown(Duration::from_secs(5));
    let errors = collector.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].body["exception_type"], "ParseIntError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmatched_paths_can_share_one_endpoint_label() {
    let collector = Collector::start();
    let (app, clients) = setup_monlight(
        app(),
        MonlightOptions::new(collector.api_key())
            .metrics_collector_url(collector.url())
            .unmatched_endpoint("unmatched"),
    )
    .unwrap();
    let base = serve(app).await;
    for path in ["/wp-login.php", "/.env", "/users/1"] {
        call(&base, "GET", path, None).await;
    }
    let metrics = clients.metrics_client.clone().unwrap();
    tokio::task::spawn_blocking(move || metrics.flush())
        .await
        .unwrap();
    let mut endpoints: Vec<String> = collector
        .points("http_requests_total", &[])
        .iter()
        .map(|point| point["labels"]["endpoint"].as_str().unwrap().to_owned())
        .collect();
    // Points from the server's worker threads arrive in any order.
    endpoints.sort();
    assert_eq!(endpoints, ["/users/{id}", "unmatched", "unmatched"]);
}
