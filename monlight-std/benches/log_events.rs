//! What the `log` and `tracing` integrations cost per event: one below the
//! reporting level (the common case: it only reaches your own logger), and
//! one reported (a storm's repeats, suppressed after the first; a report
//! sent costs its encoding, a few microseconds, off the hot path's lock).
//!
//! ```sh
//! cargo bench -p monlight-std --features log,tracing --bench log_events
//! ```

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use log::{Level, LevelFilter, Log, Metadata, Record};
use monlight_std::ErrorClient;
use monlight_std::integrations::log::MonlightLogger;
use monlight_std::integrations::tracing::MonlightLayer;
use tracing_subscriber::prelude::*;

/// Your own logger, doing nothing (so the integration's cost shows).
struct Quiet;

impl Log for Quiet {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= Level::Info
    }
    fn log(&self, record: &Record<'_>) {
        std::hint::black_box(record);
    }
    fn flush(&self) {}
}

fn client() -> ErrorClient {
    // Nothing listens there; a storm's repeats are suppressed.
    ErrorClient::builder("http://127.0.0.1:9", "k")
        .suppress_repeats(Duration::from_secs(3600))
        .build()
        .unwrap()
}

/// One record at `level` through `logger`, as `log::log!` makes it.
fn logged(logger: &dyn Log, level: Level) {
    logger.log(
        &Record::builder()
            .level(level)
            .target("shop::orders")
            .file(Some("src/orders.rs"))
            .line(Some(42))
            .args(format_args!("order {} not saved", 42))
            .build(),
    );
}

fn log_events(c: &mut Criterion) {
    let monlight = MonlightLogger::new(client()).wrap(Quiet, LevelFilter::Info);
    let mut group = c.benchmark_group("log event");
    group.bench_function("your logger alone, info", |b| {
        b.iter(|| logged(&Quiet, Level::Info))
    });
    group.bench_function("through MonlightLogger, info (not reported)", |b| {
        b.iter(|| logged(&monlight, Level::Info))
    });
    group.bench_function(
        "through MonlightLogger, error (reported, suppressed repeat)",
        |b| b.iter(|| logged(&monlight, Level::Error)),
    );
    group.finish();
}

fn tracing_events(c: &mut Criterion) {
    let mut group = c.benchmark_group("tracing event");
    let bare = tracing_subscriber::registry();
    tracing::subscriber::with_default(bare, || {
        group.bench_function("registry alone, info", |b| {
            b.iter(|| tracing::info!(order = 42, "saved"))
        });
    });
    let layered = tracing_subscriber::registry().with(MonlightLayer::new(client()));
    tracing::subscriber::with_default(layered, || {
        group.bench_function("with MonlightLayer, info (not reported)", |b| {
            b.iter(|| tracing::info!(order = 42, "saved"))
        });
        group.bench_function(
            "with MonlightLayer, error (reported, suppressed repeat)",
            |b| b.iter(|| tracing::error!(order = 42, "not saved")),
        );
    });
    group.finish();
}

criterion_group!(benches, log_events, tracing_events);
criterion_main!(benches);
