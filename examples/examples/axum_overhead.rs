//! Throughput and p99 latency of a minimal axum app with and without
//! monlight's `setup_monlight` (both layers) and the layers users would pick
//! instead (`monlight_examples::peers`), same process, same run, with a
//! keep-alive HTTP/1.1 load generator on loopback.
//!
//! ```sh
//! cargo run --profile bench -p monlight-examples --example axum_overhead
//! ```
//!
//! An argument runs only the variants whose name contains it, and the bare
//! app (to profile one, e.g. `-- setup` under `perf record`).
//!
//! The server runs on one tokio worker thread and the load generator on
//! another, so each has one core of a two-core machine. The metrics client
//! flushes every second, as in production, to a sink that reads each batch
//! and answers 202 (a real collector runs elsewhere; parsing its JSON here
//! would take CPU from the app being measured).
//!
//! Requests per second on a shared two-core machine drift by more than the
//! layer costs, so the bare app runs between every two variants, and each
//! variant's run is compared with the bare runs just before and after it
//! (the order of the variants rotates from round to round); the median of
//! those ratios is reported. Every run starts a fresh server, so that where
//! its thread and memory land changes from run to run instead of favouring
//! one variant throughout (two long-lived bare servers differed by up to
//! 9 %). A second bare variant, the control, shows what is left of the
//! noise. The harness also counts the CPU time the server side spends per
//! request (its worker thread, and monlight's threads apart, from
//! `/proc/self/task/*/schedstat`, in ns; the load generator and the sink
//! excluded). A CPU-bound server's capacity is the inverse of that figure,
//! and it does not move when another process takes the core away.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use monlight_examples::floor::FloorLayer;
use monlight_examples::peers;
use monlight_std::integrations::axum::{
    ErrorReportingLayer, MonlightOptions, RequestMetricsLayer, setup_monlight,
};
use monlight_std::{ErrorClient, MetricsClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CONNECTIONS: usize = 32;
const RUN: Duration = Duration::from_millis(500);
const ROUNDS: usize = 20;
const WARM_UP: Duration = Duration::from_millis(100);

fn app() -> Router {
    Router::new().route(
        "/users/{id}",
        get(|Path(id): Path<u64>| async move { format!("user {id}") }),
    )
}

/// `app` served on its own single-worker runtime until dropped.
struct Server {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(app: Router) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("server")
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Self {
            addr: rx.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One keep-alive connection sending GETs back to back; returns latencies.
async fn connection(addr: std::net::SocketAddr, until: Instant) -> Vec<Duration> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let request = b"GET /users/42 HTTP/1.1\r\nHost: bench\r\n\r\n";
    let mut buf = vec![0u8; 4096];
    let mut latencies = Vec::with_capacity(100_000);
    while Instant::now() < until {
        let start = Instant::now();
        stream.write_all(request).await.unwrap();
        let mut filled = 0;
        loop {
            let n = stream.read(&mut buf[filled..]).await.unwrap();
            assert!(n > 0, "server closed");
            filled += n;
            let text = &buf[..filled];
            if let Some(end) = text.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&text[..end])
                    .unwrap()
                    .to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if filled >= end + 4 + length {
                    assert!(head.starts_with("http/1.1 200"), "{head}");
                    break;
                }
            }
        }
        latencies.push(start.elapsed());
    }
    latencies
}

/// Requests per second and all latencies of one round of `length` against
/// `addr`.
fn round(
    load: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    length: Duration,
) -> (f64, Vec<Duration>) {
    load.block_on(async {
        let until = Instant::now() + length;
        let tasks: Vec<_> = (0..CONNECTIONS)
            .map(|_| tokio::spawn(connection(addr, until)))
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        (all.len() as f64 / length.as_secs_f64(), all)
    })
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn p99(latencies: &mut [Duration]) -> Duration {
    latencies.sort_unstable();
    latencies[latencies.len() * 99 / 100]
}

/// CPU time in nanoseconds (the scheduler's own count, exact, unlike the
/// 10 ms ticks of `stat`) of this process's threads on the server side:
/// all but the load generator (the main thread) and the sink. Only the
/// variant under load runs, so its round's difference is its cost (the
/// others' idle threads add nothing).
fn server_cpu_ns() -> Cpu {
    let main = std::process::id().to_string();
    let mut cpu = Cpu::default();
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        if task.file_name().to_str() == Some(main.as_str()) {
            continue;
        }
        let read = |file| std::fs::read_to_string(task.path().join(file));
        // A thread that ended meanwhile has no files left.
        let (Ok(name), Ok(schedstat)) = (read("comm"), read("schedstat")) else {
            continue;
        };
        if name.trim_end() == "sink" {
            continue;
        }
        // "<ns on CPU> <ns waiting> <time slices>"
        let on_cpu = schedstat.split(' ').next().and_then(|f| f.parse().ok());
        let on_cpu = on_cpu.unwrap_or(0);
        if name.starts_with("monlight") {
            cpu.monlight_ns += on_cpu;
        } else {
            cpu.server_ns += on_cpu;
        }
    }
    cpu
}

/// CPU time of the server's worker thread (and tokio's other threads) and
/// of monlight's own threads (the flush thread, the clock).
#[derive(Clone, Copy, Default)]
struct Cpu {
    server_ns: u64,
    monlight_ns: u64,
}

impl Cpu {
    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            server_ns: self.server_ns - before.server_ns,
            monlight_ns: self.monlight_ns - before.monlight_ns,
        }
    }

    fn total_ns(self) -> u64 {
        self.server_ns + self.monlight_ns
    }
}

struct Variant {
    name: &'static str,
    app: Router,
    rps: Vec<f64>,
    latencies: Vec<Duration>,
    requests: usize,
    cpu: Cpu,
    /// req/s over the mean of the bare runs before and after each run.
    ratios: Vec<f64>,
}

impl Variant {
    /// Runs the load against a fresh server of this variant; counts its
    /// requests, latencies and CPU and returns its req/s.
    fn run(&mut self, load: &tokio::runtime::Runtime) -> f64 {
        let server = Server::start(self.app.clone());
        round(load, server.addr, WARM_UP);
        let cpu_before = server_cpu_ns();
        let (rps, latencies) = round(load, server.addr, RUN);
        let cpu = server_cpu_ns().since(cpu_before);
        drop(server);
        self.cpu.server_ns += cpu.server_ns;
        self.cpu.monlight_ns += cpu.monlight_ns;
        self.requests += latencies.len();
        self.rps.push(rps);
        self.latencies.extend(latencies);
        rps
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = monlight_tests::sink();
    let metrics = MetricsClient::builder(&url, "bench")
        .flush_interval(Duration::from_secs(1))
        .build()?;
    metrics.start();
    let errors = ErrorClient::new(&url, "bench")?;
    let options = MonlightOptions::new("bench")
        .error_tracker_url(&url)
        .metrics_collector_url(&url)
        .flush_interval(Duration::from_secs(1));
    let (instrumented, clients) = setup_monlight(app(), options)?;

    let variant = |name, app| Variant {
        name,
        app,
        rps: Vec::new(),
        latencies: Vec::new(),
        requests: 0,
        cpu: Cpu::default(),
        ratios: Vec::new(),
    };
    let mut variants = vec![
        variant("bare", app()),
        variant("setup_monlight (both)", instrumented),
        variant(
            "RequestMetricsLayer",
            app().layer(RequestMetricsLayer::new(metrics.clone())),
        ),
        variant(
            "ErrorReportingLayer",
            app().layer(ErrorReportingLayer::new(errors)),
        ),
        // What any layer added with Router::layer costs (axum boxes it).
        variant(
            "no-op layer",
            app().layer(tower::util::MapRequestLayer::new(
                |r: axum::extract::Request| r,
            )),
        ),
        // The floor: what any request-metrics layer costs here, before
        // monlight's own work (see `monlight_examples::floor`).
        variant(
            "floor: time, 2 events",
            app().layer(FloorLayer::keep_only()),
        ),
        variant(
            "floor: + labels",
            app().layer(FloorLayer::keep_only().with_labels()),
        ),
        variant(
            "floor: + labels, delivery",
            app().layer(FloorLayer::deliver_to(&url).with_labels()),
        ),
        // The layers users would pick instead (`monlight_examples::peers`).
        variant("axum-prometheus", peers::prometheus(app())),
        variant("sentry-tower", peers::sentry(app(), false)),
        variant("sentry-tower + transactions", peers::sentry(app(), true)),
        variant("axum-otel-metrics", peers::otel(app())),
        // A second bare server: the spread between the two is the noise.
        variant("bare (control)", app()),
    ];
    if let Some(only) = std::env::args().nth(1) {
        variants.retain(|v| v.name == "bare" || v.name.contains(only.as_str()));
    }
    let load = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (bare, others) = variants.split_first_mut().expect("the bare app");
    for r in 0..ROUNDS {
        let mut before = bare.run(&load);
        for i in 0..others.len() {
            // Rotate the order each round so no variant always goes first.
            let v = &mut others[(i + r) % others.len()];
            let rps = v.run(&load);
            let after = bare.run(&load);
            v.ratios.push(rps / ((before + after) / 2.0));
            before = after;
        }
    }

    println!(
        "minimal axum app, {CONNECTIONS} keep-alive connections, {ROUNDS} runs of {RUN:?} per variant"
    );
    println!(
        "  {:<28} {:>12} {:>8} {:>9} {:>14} {:>10} {:>9}",
        "variant", "median req/s", "of bare", "p99", "server CPU/req", "+ monlight", "capacity"
    );
    let per_request = |v: &Variant| {
        let requests = v.requests.max(1) as u64;
        (
            Duration::from_nanos(v.cpu.server_ns / requests),
            Duration::from_nanos(v.cpu.monlight_ns / requests),
            Duration::from_nanos(v.cpu.total_ns() / requests),
        )
    };
    let bare_cpu = variants
        .iter()
        .find(|v| v.name == "bare")
        .map_or(Duration::ZERO, |v| per_request(v).2);
    for v in &mut variants {
        let of_bare = if v.ratios.is_empty() {
            1.0
        } else {
            median(&v.ratios)
        };
        let (server, monlight, total) = per_request(v);
        println!(
            "  {:<28} {:>12.0} {:>7.1}% {:>9.1?} {:>14.2?} {:>10.2?} {:>8.1}%",
            v.name,
            median(&v.rps),
            100.0 * of_bare,
            p99(&mut v.latencies),
            server,
            monlight,
            100.0 * bare_cpu.as_secs_f64() / total.as_secs_f64(),
        );
    }
    println!("  of bare: median over runs of req/s / the mean of the bare runs before and after");
    println!(
        "  capacity: the bare server's CPU per request / this variant's, monlight's threads included"
    );
    for client in [clients.metrics_client.expect("enabled"), metrics] {
        client.shutdown();
        let stats = client.stats();
        println!(
            "  metric points: recorded {}, delivered {} in {} batches, dropped {} (full {})",
            stats.recorded,
            stats.sent,
            stats.batches,
            stats.dropped(),
            stats.dropped_full
        );
    }
    Ok(())
}
