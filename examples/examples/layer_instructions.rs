//! Instructions per request of the axum layers, counted by callgrind (a
//! deterministic count, unlike wall time on a shared machine).
//!
//! ```sh
//! bash examples/layer_instructions.sh   # runs this under valgrind per variant
//! ```
//!
//! Usage: `layer_instructions <variant> <requests> [<evict bytes>]`;
//! variants: bare, noop, floor (`monlight_examples::floor`, keeping events
//! only), floor-labels (the same, reading the labels' sources too),
//! metrics, errors, setup, and the peers (`monlight_examples::peers`):
//! prometheus, sentry, sentry-tx (with transactions), otel. With `evict bytes`, a buffer that large is
//! written between requests (a byte per cache line), as the kernel's TCP
//! work does between two requests of a real server: every request then
//! starts with cold caches, and cachegrind counts the cache lines it needs.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::routing::get;
use monlight_examples::floor::FloorLayer;
use monlight_examples::peers;
use monlight_std::integrations::axum::{
    ErrorReportingLayer, MonlightOptions, RequestMetricsLayer, setup_monlight,
};
use monlight_std::{ErrorClient, MetricsClient};
use tower::ServiceExt;

fn app() -> Router {
    Router::new().route(
        "/users/{id}",
        get(|Path(id): Path<u64>| async move { format!("user {id}") }),
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_else(|| "bare".into());
    let requests: usize = args.next().map_or(Ok(1000), |n| n.parse())?;
    let mut evict = vec![0u8; args.next().map_or(Ok(0), |n| n.parse())?];
    // Nothing listens on port 9: flushes fail fast, and are counted.
    let url = "http://127.0.0.1:9";
    // Started, as `setup_monlight` starts it. Its thread's ring holds every
    // point of the run (22,000 at most, 16 bytes each) under half its size,
    // so the count is the recording path a server's threads take: under
    // callgrind, which runs one thread at a time, the flush thread would
    // drain a default-sized ring too late, and most points would take the
    // shared buffer's path instead.
    let metrics = || {
        let client = MetricsClient::builder(url, "k")
            .flush_interval(Duration::from_secs(3600))
            .buffer_bytes(64 << 20)
            .staging_bytes_per_thread(2 << 20)
            .build()?;
        client.start();
        Ok::<_, monlight_std::ConfigError>(client)
    };
    let router = match variant.as_str() {
        "bare" => app(),
        "noop" => app().layer(tower::util::MapRequestLayer::new(|r: Request| r)),
        "metrics" => app().layer(RequestMetricsLayer::new(metrics()?)),
        "floor" => app().layer(FloorLayer::keep_only()),
        "floor-labels" => app().layer(FloorLayer::keep_only().with_labels()),
        "errors" => app().layer(ErrorReportingLayer::new(ErrorClient::new(url, "k")?)),
        "setup" => {
            let options = MonlightOptions::new("k")
                .error_tracker_url(url)
                .metrics_collector_url(url)
                .flush_interval(Duration::from_secs(3600));
            setup_monlight(app(), options)?.0
        }
        // The layers users would pick instead (`monlight_examples::peers`).
        "prometheus" => peers::prometheus(app()),
        "sentry" => peers::sentry(app(), false),
        "sentry-tx" => peers::sentry(app(), true),
        "otel" => peers::otel(app()),
        other => return Err(format!("unknown variant {other}").into()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    for _ in 0..requests {
        for line in evict.chunks_mut(64) {
            line[0] = line[0].wrapping_add(1);
        }
        std::hint::black_box(&mut evict);
        let request = axum::http::Request::builder()
            .uri("/users/42")
            .header("host", "bench")
            .header("user-agent", "curl/8")
            .header("accept", "*/*")
            .body(Body::empty())?;
        let response = runtime.block_on(router.clone().oneshot(request))?;
        assert_eq!(response.status(), 200);
    }
    Ok(())
}
