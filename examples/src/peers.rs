//! The layers users would pick instead of monlight's, set up as their
//! documentation says, for the overhead harnesses to measure beside ours
//! (`axum_overhead`, `layer_instructions`). Each reports where it would in
//! production, minus the network:
//!
//! - axum-prometheus: its layer records into a Prometheus recorder, and a
//!   thread renders the exposition text every second, standing in for a
//!   scrape;
//! - sentry-tower with sentry's axum support (`NewSentryLayer` +
//!   `SentryHttpLayer`), with or without transactions, to a transport that
//!   serialises each envelope and discards it;
//! - axum-otel-metrics, into an OpenTelemetry meter provider whose reader
//!   exports every second to memory.
//!
//! Each installs process-wide state (a recorder, a hub, a meter provider)
//! once; the layers can then be made any number of times.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum_prometheus::PrometheusMetricLayer;
use axum_prometheus::metrics_exporter_prometheus::PrometheusHandle;
use sentry::integrations::tower::{NewSentryLayer, SentryHttpLayer};

/// `app` behind axum-prometheus's layer.
pub fn prometheus(app: Router) -> Router {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    let mut layer = None;
    HANDLE.get_or_init(|| {
        // Its recorder's upkeep is a tokio task: it gets a runtime of its
        // own, which also renders every second.
        let (made, pair) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("prometheus scrape".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async move {
                    let (first, handle) = PrometheusMetricLayer::pair();
                    let _ = made.send((first, handle.clone()));
                    loop {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        std::hint::black_box(handle.render());
                    }
                })
            })
            .expect("a thread");
        let (first, handle) = pair.recv().expect("the recorder installed");
        layer = Some(first);
        handle
    });
    app.layer(layer.unwrap_or_default())
}

/// A sentry transport that serialises each envelope, as one that sends
/// does, and discards it.
struct Discard;

impl sentry::Transport for Discard {
    fn send_envelope(&self, envelope: sentry::Envelope) {
        let mut body = Vec::new();
        let _ = envelope.to_writer(&mut body);
        std::hint::black_box(body);
    }
}

struct DiscardFactory;

impl sentry::TransportFactory for DiscardFactory {
    fn create_transport_with_options(
        &self,
        _: sentry::TransportOptions,
    ) -> Arc<dyn sentry::Transport> {
        Arc::new(Discard)
    }
}

/// `app` behind sentry's tower layers; with `transactions`, one per
/// request (sample rate 1.0), as sentry's performance monitoring does.
pub fn sentry(app: Router, transactions: bool) -> Router {
    static CLIENT: OnceLock<sentry::ClientInitGuard> = OnceLock::new();
    CLIENT.get_or_init(|| {
        sentry::init(
            sentry::ClientOptions::new()
                .dsn("https://public@sentry.invalid/1")
                .transport(DiscardFactory)
                .traces_sample_rate(1.0),
        )
    });
    let http = if transactions {
        SentryHttpLayer::new().enable_transaction()
    } else {
        SentryHttpLayer::new()
    };
    app.layer(http).layer(NewSentryLayer::new_from_top())
}

/// `app` behind axum-otel-metrics's layer.
pub fn otel(app: Router) -> Router {
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
    static PROVIDER: OnceLock<SdkMeterProvider> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        let reader = PeriodicReader::builder(InMemoryMetricExporter::default())
            .with_interval(Duration::from_secs(1))
            .build();
        let provider = SdkMeterProvider::builder().with_reader(reader).build();
        opentelemetry::global::set_meter_provider(provider.clone());
        provider
    });
    app.layer(axum_otel_metrics::HttpMetricsLayerBuilder::new().build())
}
