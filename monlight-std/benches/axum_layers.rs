//! CPU cost per request of the axum layers, without the network: a request
//! through `Router::oneshot` on one thread, bare and with each layer.
//!
//! ```sh
//! cargo bench -p monlight-std --features axum --bench axum_layers
//! ```

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use monlight_std::integrations::axum::{ErrorReportingLayer, RequestMetricsLayer};
use monlight_std::{ErrorClient, MetricsClient};
use tower::ServiceExt;

fn app() -> Router {
    Router::new().route(
        "/users/{id}",
        get(|Path(id): Path<u64>| async move { format!("user {id}") }),
    )
}

fn request() -> Request<Body> {
    Request::builder()
        .uri("/users/42")
        .header("host", "bench")
        .header("user-agent", "criterion")
        .header("accept", "*/*")
        .body(Body::empty())
        .unwrap()
}

fn layers(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Nothing listens there: nothing is flushed during the run (interval).
    let metrics = MetricsClient::builder("http://127.0.0.1:9", "k")
        .flush_interval(Duration::from_secs(3600))
        .buffer_bytes(64 << 20)
        .build()
        .unwrap();
    let errors = ErrorClient::new("http://127.0.0.1:9", "k").unwrap();
    let variants = [
        ("bare", app()),
        (
            "no-op layer",
            app().layer(tower::util::MapRequestLayer::new(|r: Request<Body>| r)),
        ),
        (
            "RequestMetricsLayer",
            app().layer(RequestMetricsLayer::new(metrics.clone())),
        ),
        (
            "ErrorReportingLayer",
            app().layer(ErrorReportingLayer::new(errors.clone())),
        ),
        (
            "both, two Router::layer calls",
            app()
                .layer(ErrorReportingLayer::new(errors.clone()))
                .layer(RequestMetricsLayer::new(metrics.clone())),
        ),
        (
            "both, one Router::layer call (setup_monlight)",
            app().layer(
                tower::ServiceBuilder::new()
                    .layer(RequestMetricsLayer::new(metrics.clone()))
                    .layer(ErrorReportingLayer::new(errors)),
            ),
        ),
    ];
    let mut group = c.benchmark_group("axum request, no network");
    for (name, router) in variants {
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(router.clone().oneshot(request())).unwrap());
        });
    }
    group.finish();
    // Keep the buffer from filling across long runs.
    drop(metrics);
}

criterion_group!(benches, layers);
criterion_main!(benches);
