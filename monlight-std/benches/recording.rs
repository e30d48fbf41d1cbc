//! The hot path: recording one point, next to the `metrics` crate (with
//! the Prometheus exporter's recorder), opentelemetry's SDK counter,
//! cadence and a `Mutex<Vec<owned strings>>`, in one run.
//!
//! ```sh
//! cargo bench -p monlight-std --bench recording
//! ```
//!
//! monlight's client flushes to a local sink on 127.0.0.1 between timed
//! chunks, so its buffer never fills and every timed call takes the
//! recording path users get.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main,
};
use monlight_std::MetricsClient;

const NAME: &str = "http_requests_total";
const LABELS: [(&str, &str); 2] = [("method", "GET"), ("status", "200")];
/// Points recorded per thread between two (untimed) flushes: 1.6 MB of
/// events, a round of 0.7 ms through a handle (shorter rounds measure the
/// end of a round more than recording: an interrupt on one core).
const CHUNK: u64 = 100_000;

/// Answers every request with 202 so flushes succeed: a collector that
/// costs nothing to talk to.
fn sink() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 20];
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut seen = Vec::new();
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                if let Some(end) = find(&seen, b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if seen.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            let _ = stream.write_all(
                b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    url
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Benchmarks `record` on `threads` long-lived threads at once (a
/// server's worker pool: the threads live as long as the benchmark, so
/// their staging rings are set up once), each recording a [`CHUNK`] per
/// timed round; the client flushes (untimed) between rounds. A round lasts
/// from the first thread's start to the last one's end, and the threads
/// start together: woken threads spin until the last one is running (an
/// idle vCPU takes milliseconds to wake, which would otherwise be measured
/// as recording time). The time per call is the total throughput's inverse.
fn bench_threads(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: BenchmarkId,
    client: &MetricsClient,
    threads: u64,
    record: impl Fn(u64) + Sync,
) {
    // The chunk each thread records next; 0 ends the threads.
    let chunk = AtomicU64::new(0);
    let (wake, end) = (
        Barrier::new(threads as usize + 1),
        Barrier::new(threads as usize + 1),
    );
    // Threads awake; the round they may start.
    let (spinning, go) = (AtomicU64::new(0), AtomicU64::new(0));
    // (first start, last end) of the round.
    let span = Mutex::new(None::<(Instant, Instant)>);
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    std::thread::scope(|s| {
        for thread in 0..threads as usize {
            let (wake, end, chunk, spinning, go, span, record) =
                (&wake, &end, &chunk, &spinning, &go, &span, &record);
            // From the last core down: the first core takes most of the
            // machine's interrupts.
            let core = cores.iter().rev().nth(thread).copied();
            s.spawn(move || {
                // A core each: otherwise the scheduler may leave both on
                // one vCPU for a while, and a round measures time slicing.
                if let Some(core) = core {
                    core_affinity::set_for_current(core);
                }
                for round in 1.. {
                    wake.wait();
                    let n = chunk.load(Ordering::Acquire);
                    if n == 0 {
                        return;
                    }
                    // The last one awake starts the round.
                    if spinning.fetch_add(1, Ordering::AcqRel) + 1 == threads {
                        go.store(round, Ordering::Release);
                    }
                    while go.load(Ordering::Acquire) != round {
                        std::hint::spin_loop();
                    }
                    let began = Instant::now();
                    (0..n).for_each(record);
                    let ended = Instant::now();
                    let mut span = span.lock().unwrap();
                    *span = Some(match *span {
                        Some((first, last)) => (first.min(began), last.max(ended)),
                        None => (began, ended),
                    });
                    drop(span);
                    end.wait();
                }
            });
        }
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let per_thread = iters.div_ceil(threads);
                let mut total = Duration::ZERO;
                let mut done = 0;
                while done < per_thread {
                    let n = CHUNK.min(per_thread - done);
                    chunk.store(n, Ordering::Release);
                    spinning.store(0, Ordering::Release);
                    wake.wait();
                    end.wait();
                    let (first, last) = span.lock().unwrap().take().expect("a round ran");
                    total += last - first;
                    done += n;
                    client.flush();
                }
                let stats = client.stats();
                assert_eq!(stats.dropped_full + stats.dropped_transport, 0, "{stats:?}");
                total
            });
        });
        chunk.store(0, Ordering::Release);
        wake.wait(); // ends the threads
    });
}

fn client(url: &str) -> MetricsClient {
    // Room for two threads' chunks between flushes, and each thread's ring
    // sized for the points it records between two flushes (a chunk), as the
    // docs advise for a hot recorder: a chunk (1.6 MB of events) stays
    // under half the ring (4 MiB), so no early flush runs during a timed
    // round (one would take a core from one of two recording threads on
    // two vCPUs: flushing is timed in the encode and delivery benches).
    MetricsClient::builder(url, "bench-key")
        .buffer_bytes(64 << 20)
        .staging_bytes_per_thread(4 << 20)
        .project("bench")
        .build()
        .unwrap()
}

fn monlight(c: &mut Criterion) {
    let url = sink();
    let mut group = c.benchmark_group("record");
    group.measurement_time(Duration::from_secs(3));
    // Every sample the same size (about 100,000 calls per thread): with
    // criterion's growing samples, the first ones are rounds of a few
    // hundred calls, where threads waking from the barrier at different
    // times would be measured instead of recording.
    group.sampling_mode(SamplingMode::Flat);
    // One thread and two back to back for each row: the machine's own
    // scaling moves within seconds (the first row), and with all one-thread
    // rows first, a row's two runs were a minute apart.
    for threads in [1, 2] {
        // The machine's own scaling, the ceiling for any code: arithmetic
        // on registers, nothing in memory, nothing shared. Two vCPUs of a
        // shared host do not always give twice one: the same C loop ran
        // 1.02x to 2.1x faster on two threads than on one, run to run.
        let metrics = client(&url);
        let id = BenchmarkId::new("machine: arithmetic, nothing shared", threads);
        bench_threads(&mut group, id, &metrics, threads, |i| {
            let (mut a, mut b, mut c, mut d) = (i, i ^ 1, i ^ 2, i ^ 3);
            for _ in 0..16 {
                (a, b, c, d) = (a.wrapping_add(b), b ^ c, c.wrapping_add(d), d ^ a);
            }
            std::hint::black_box(a ^ b ^ c ^ d);
        });
    }
    for threads in [1, 2] {
        // And what recording writes: 16 bytes a call into a private 1 MiB
        // ring (memory bandwidth is not what limits two threads).
        let metrics = client(&url);
        let id = BenchmarkId::new("machine: 16-byte writes to a private ring", threads);
        bench_threads(&mut group, id, &metrics, threads, |i| {
            thread_local! {
                static RING: std::cell::RefCell<(Vec<[u64; 2]>, usize)> =
                    std::cell::RefCell::new((vec![[0; 2]; 1 << 16], 0));
            }
            RING.with_borrow_mut(|(ring, at)| {
                ring[*at] = [i, i ^ 0x5555];
                *at = (*at + 1) & 0xffff;
            });
        });
    }
    for threads in [1, 2] {
        let metrics = client(&url);
        let id = BenchmarkId::new("monlight counter (name + labels)", threads);
        bench_threads(&mut group, id, &metrics, threads, |_| {
            metrics.counter(NAME, &LABELS)
        });
    }
    for threads in [1, 2] {
        let metrics = client(&url);
        let requests = metrics.register_counter(NAME, &LABELS).unwrap();
        let id = BenchmarkId::new("monlight counter (registered handle)", threads);
        bench_threads(&mut group, id, &metrics, threads, |_| requests.increment());
    }
    for threads in [1, 2] {
        let metrics = client(&url);
        let id = BenchmarkId::new("monlight histogram (name + labels)", threads);
        bench_threads(&mut group, id, &metrics, threads, |i| {
            metrics.histogram("http_request_duration_seconds", i as f64 * 1e-6, &LABELS)
        });
    }
    group.finish();
}

/// The comparisons, each on its own hot path.
fn others(c: &mut Criterion) {
    let mut group = c.benchmark_group("record");
    group.measurement_time(Duration::from_secs(3));

    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).unwrap();
    group.bench_function("metrics macro (static labels)", |b| {
        b.iter(|| metrics::counter!(NAME, "method" => "GET", "status" => "200").increment(1));
    });
    let counter = metrics::counter!(NAME, "method" => "GET", "status" => "200");
    group.bench_function("metrics handle", |b| b.iter(|| counter.increment(1)));
    drop(handle);

    use opentelemetry::metrics::MeterProvider as _;
    let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(opentelemetry_sdk::metrics::ManualReader::builder().build())
        .build();
    let otel = provider.meter("bench").u64_counter(NAME).build();
    group.bench_function("opentelemetry counter", |b| {
        b.iter(|| {
            otel.add(
                1,
                &[
                    opentelemetry::KeyValue::new("method", "GET"),
                    opentelemetry::KeyValue::new("status", "200"),
                ],
            );
        });
    });

    use cadence::prelude::*;
    let statsd = cadence::StatsdClient::from_sink("bench", cadence::NopMetricSink);
    group.bench_function("cadence counter (nop sink)", |b| {
        b.iter(|| {
            statsd
                .count_with_tags(NAME, 1)
                .with_tag("method", "GET")
                .with_tag("status", "200")
                .send();
        });
    });

    type Owned = (String, Vec<(String, String)>, f64);
    let shared: Mutex<Vec<Owned>> = Mutex::new(Vec::new());
    group.bench_function("Mutex<Vec<owned strings>>", |b| {
        b.iter(|| {
            let point = (
                NAME.to_owned(),
                LABELS
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                1.0,
            );
            let mut points = shared.lock().unwrap();
            if points.len() == 100_000 {
                points.clear();
            }
            points.push(point);
        });
    });
    group.finish();
}

criterion_group!(benches, monlight, others);
criterion_main!(benches);
