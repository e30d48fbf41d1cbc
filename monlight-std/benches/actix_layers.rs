//! CPU cost per request of the actix-web middleware, without the network:
//! a request through `actix_web::test::call_service` on one thread, bare,
//! with a no-op middleware, with monlight's middleware (metrics, errors,
//! both), and with actix-web-prom, the peer users would pick instead (its
//! registry rendered every second, standing in for a scrape).
//!
//! ```sh
//! cargo bench -p monlight-std --features actix-web --bench actix_layers
//! ```

use std::time::Duration;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::rt::SystemRunner;
use actix_web::{App, Error, test, web};
use criterion::{Criterion, criterion_group, criterion_main};
use monlight_std::integrations::actix_web::Monlight;
use monlight_std::{ErrorClient, MetricsClient, MonlightClients};

async fn user(id: web::Path<u64>) -> String {
    format!("user {id}")
}

fn request() -> actix_http::Request {
    test::TestRequest::get()
        .uri("/users/42")
        .insert_header(("user-agent", "criterion"))
        .insert_header(("accept", "*/*"))
        .to_request()
}

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// Benchmarks requests through `service`, on actix's runtime.
fn run<S, B>(group: &mut Group<'_>, name: &str, system: &SystemRunner, service: S)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = Error>,
{
    group.bench_function(name, |b| {
        b.iter(|| system.block_on(test::call_service(&service, request())));
    });
}

fn layers(c: &mut Criterion) {
    // Nothing listens there: nothing is flushed during the run (interval).
    let metrics = MetricsClient::builder("http://127.0.0.1:9", "k")
        .flush_interval(Duration::from_secs(3600))
        .buffer_bytes(64 << 20)
        .build()
        .unwrap();
    let errors = ErrorClient::new("http://127.0.0.1:9", "k").unwrap();
    let clients = |metrics: Option<&MetricsClient>, errors: Option<&ErrorClient>| MonlightClients {
        metrics_client: metrics.cloned(),
        error_client: errors.cloned(),
    };
    let system = actix_web::rt::System::new();
    let runtime = &system;
    let mut group = c.benchmark_group("actix request, no network");
    let bare = runtime.block_on(test::init_service(
        App::new().route("/users/{id}", web::get().to(user)),
    ));
    run(&mut group, "bare", &system, bare);
    let no_op = runtime.block_on(test::init_service(
        App::new()
            .wrap(from_fn(
                |req, next: Next<_>| async move { next.call(req).await },
            ))
            .route("/users/{id}", web::get().to(user)),
    ));
    run(&mut group, "no-op middleware", &system, no_op);
    for (name, chosen) in [
        ("Monlight, metrics", clients(Some(&metrics), None)),
        ("Monlight, errors", clients(None, Some(&errors))),
        (
            "Monlight, both (setup_monlight)",
            clients(Some(&metrics), Some(&errors)),
        ),
    ] {
        let service = runtime.block_on(test::init_service(
            App::new()
                .wrap(Monlight::new(chosen))
                .route("/users/{id}", web::get().to(user)),
        ));
        run(&mut group, name, &system, service);
    }
    let prometheus = actix_web_prom::PrometheusMetricsBuilder::new("api")
        .endpoint("/metrics")
        .build()
        .unwrap();
    let registry = prometheus.registry.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let families = registry.gather();
            std::hint::black_box(prometheus::TextEncoder::new().encode_to_string(&families)).ok();
        }
    });
    let service = runtime.block_on(test::init_service(
        App::new()
            .wrap(prometheus)
            .route("/users/{id}", web::get().to(user)),
    ));
    run(&mut group, "actix-web-prom", &system, service);
    group.finish();
    drop(metrics);
}

criterion_group!(benches, layers);
criterion_main!(benches);
