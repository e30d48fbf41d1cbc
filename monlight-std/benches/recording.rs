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
//!
//! After criterion's figures it prints two threads' throughput over one's
//! for every row, measured in pairs of rounds a few milliseconds apart and
//! set beside the machine's own scaling in the same pairs (see
//! [`scaling`]).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
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

/// `threads` long-lived threads (a server's worker pool: their staging
/// rings are set up once, outside any timed round) that record together.
struct Crew {
    threads: u64,
    rounds: Arc<Rounds>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

/// What a crew's threads and its timer share.
struct Rounds {
    /// The points each thread records next; 0 ends the threads.
    chunk: AtomicU64,
    wake: Barrier,
    end: Barrier,
    /// Threads awake, and the round they may start.
    spinning: AtomicU64,
    go: AtomicU64,
    /// (first start, last end) of the round.
    span: Mutex<Option<(Instant, Instant)>>,
}

impl Crew {
    fn new<R: Fn(u64) + Send + Sync + 'static>(threads: u64, record: Arc<R>) -> Self {
        let rounds = Arc::new(Rounds {
            chunk: AtomicU64::new(0),
            wake: Barrier::new(threads as usize + 1),
            end: Barrier::new(threads as usize + 1),
            spinning: AtomicU64::new(0),
            go: AtomicU64::new(0),
            span: Mutex::new(None),
        });
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        let handles = (0..threads as usize)
            .map(|thread| {
                let (rounds, record) = (Arc::clone(&rounds), Arc::clone(&record));
                // From the last core down: the first core takes most of the
                // machine's interrupts.
                let core = cores.iter().rev().nth(thread).copied();
                std::thread::spawn(move || {
                    // A core each: otherwise the scheduler may leave both on
                    // one vCPU for a while, and a round measures time slicing.
                    if let Some(core) = core {
                        core_affinity::set_for_current(core);
                    }
                    rounds.run(threads, &*record);
                })
            })
            .collect();
        Self {
            threads,
            rounds,
            handles,
        }
    }

    /// Every thread records `n` points; returns the time from the first
    /// thread's start to the last one's end.
    fn round(&self, n: u64) -> Duration {
        let rounds = &self.rounds;
        rounds.chunk.store(n, Ordering::Release);
        rounds.spinning.store(0, Ordering::Release);
        rounds.wake.wait();
        rounds.end.wait();
        let (first, last) = rounds.span.lock().unwrap().take().expect("a round ran");
        last - first
    }
}

impl Rounds {
    /// A crew thread's life: a round each time it is woken.
    fn run(&self, threads: u64, record: &impl Fn(u64)) {
        for round in 1.. {
            self.wake.wait();
            let n = self.chunk.load(Ordering::Acquire);
            if n == 0 {
                return;
            }
            // The threads start together: woken threads spin until the last
            // one is running (an idle vCPU takes milliseconds to wake, which
            // would otherwise be measured as recording time).
            if self.spinning.fetch_add(1, Ordering::AcqRel) + 1 == threads {
                self.go.store(round, Ordering::Release);
            }
            while self.go.load(Ordering::Acquire) != round {
                std::hint::spin_loop();
            }
            let began = Instant::now();
            (0..n).for_each(record);
            let ended = Instant::now();
            let mut span = self.span.lock().unwrap();
            *span = Some(match *span {
                Some((first, last)) => (first.min(began), last.max(ended)),
                None => (began, ended),
            });
            drop(span);
            self.end.wait();
        }
    }
}

impl Drop for Crew {
    fn drop(&mut self) {
        self.rounds.chunk.store(0, Ordering::Release);
        self.rounds.wake.wait();
        for handle in self.handles.drain(..) {
            handle.join().unwrap();
        }
    }
}

/// Benchmarks one of `crew`'s rounds of [`CHUNK`] points per thread after
/// another, `client` flushing (untimed) between them. The time per call is
/// the total throughput's inverse.
fn bench_crew(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: BenchmarkId,
    client: &MetricsClient,
    crew: &Crew,
) {
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let per_thread = iters.div_ceil(crew.threads);
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < per_thread {
                let n = CHUNK.min(per_thread - done);
                total += crew.round(n);
                done += n;
                client.flush();
            }
            assert_nothing_dropped(client);
            total
        });
    });
}

/// Every recorded point was delivered: none took a path users do not get.
fn assert_nothing_dropped(client: &MetricsClient) {
    let stats = client.stats();
    assert_eq!(stats.dropped_full + stats.dropped_transport, 0, "{stats:?}");
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

/// A way of recording, with a crew of one thread and one of two.
struct Row {
    name: &'static str,
    client: MetricsClient,
    one: Crew,
    two: Crew,
}

impl Row {
    fn new<R: Fn(u64) + Send + Sync + 'static>(
        name: &'static str,
        client: MetricsClient,
        record: R,
    ) -> Self {
        let record = Arc::new(record);
        Self {
            name,
            client,
            one: Crew::new(1, Arc::clone(&record)),
            two: Crew::new(2, record),
        }
    }
}

fn rows(url: &str) -> Vec<Row> {
    let metrics = client(url);
    let counter = metrics.clone();
    let counters = Row::new("monlight counter (name + labels)", metrics, move |_| {
        counter.counter(NAME, &LABELS)
    });
    let metrics = client(url);
    let requests = metrics.register_counter(NAME, &LABELS).unwrap();
    let handles = Row::new("monlight counter (registered handle)", metrics, move |_| {
        requests.increment()
    });
    let metrics = client(url);
    let histogram = metrics.clone();
    let histograms = Row::new("monlight histogram (name + labels)", metrics, move |i| {
        histogram.histogram("http_request_duration_seconds", i as f64 * 1e-6, &LABELS)
    });
    vec![
        // The machine's own scaling, the ceiling for any code: arithmetic
        // on registers, nothing in memory, nothing shared. Two vCPUs of a
        // shared host do not always give twice one: the same C loop ran
        // 1.02x to 2.1x faster on two threads than on one, run to run.
        Row::new("machine: arithmetic, nothing shared", client(url), |i| {
            let (mut a, mut b, mut c, mut d) = (i, i ^ 1, i ^ 2, i ^ 3);
            for _ in 0..16 {
                (a, b, c, d) = (a.wrapping_add(b), b ^ c, c.wrapping_add(d), d ^ a);
            }
            std::hint::black_box(a ^ b ^ c ^ d);
        }),
        // And what recording writes: 16 bytes a call into a private ring
        // of monlight's size (4 MiB), so memory bandwidth shows here too.
        Row::new(
            "machine: 16-byte writes to a private ring",
            client(url),
            |i| {
                const EVENTS: usize = 1 << 18;
                thread_local! {
                    static RING: std::cell::RefCell<(Vec<[u64; 2]>, usize)> =
                        std::cell::RefCell::new((vec![[0; 2]; EVENTS], 0));
                }
                RING.with_borrow_mut(|(ring, at)| {
                    ring[*at] = [i, i ^ 0x5555];
                    *at = (*at + 1) % EVENTS;
                });
            },
        ),
        counters,
        handles,
        histograms,
    ]
}

fn monlight(c: &mut Criterion) {
    let rows = rows(&sink());
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
    for row in &rows {
        for crew in [&row.one, &row.two] {
            let id = BenchmarkId::new(row.name, crew.threads);
            bench_crew(&mut group, id, &row.client, crew);
        }
    }
    group.finish();
    scaling(&rows);
}

/// Two threads' throughput over one's, measured in pairs of rounds a few
/// milliseconds apart, every row in every pair: the host's own scaling
/// moves from second to second, so each row's is read next to the
/// machine's at the same moment.
fn scaling(rows: &[Row]) {
    const PAIRS: usize = 41;
    let mut ratios = vec![Vec::with_capacity(PAIRS); rows.len()];
    for pair in 0..PAIRS {
        for (row, ratios) in rows.iter().zip(&mut ratios) {
            // Which of the two goes first alternates.
            let mut timed = [Duration::ZERO; 2];
            for which in [pair % 2, 1 - pair % 2] {
                let crew = [&row.one, &row.two][which];
                timed[which] = crew.round(CHUNK);
                row.client.flush();
            }
            ratios.push(2.0 * timed[0].as_secs_f64() / timed[1].as_secs_f64());
        }
    }
    rows.iter()
        .for_each(|row| assert_nothing_dropped(&row.client));
    // `rows` puts the machine's arithmetic first.
    let machine = &ratios[0];
    let full_cores: Vec<usize> = (0..PAIRS).filter(|&p| machine[p] >= 1.9).collect();
    println!(
        "\ntwo threads' throughput over one's, {PAIRS} pairs of rounds of {CHUNK} calls a thread"
    );
    println!(
        "  {:<44} {:>7} {:>15} {:>12} {:>16}",
        "row", "median", "middle half", "/ machine's", "machine >= 1.9x"
    );
    for (row, ratios) in rows.iter().zip(&ratios) {
        let relative: Vec<f64> = ratios.iter().zip(machine).map(|(r, m)| r / m).collect();
        let when_full: Vec<f64> = full_cores.iter().map(|&p| ratios[p]).collect();
        let when_full = if when_full.is_empty() {
            "no such pair".to_owned()
        } else {
            format!(
                "{:.2}x ({} pairs)",
                quantile(&when_full, 0.5),
                when_full.len()
            )
        };
        println!(
            "  {:<44} {:>6.2}x {:>6.2}x-{:.2}x {:>11.2}x {:>16}",
            row.name,
            quantile(ratios, 0.5),
            quantile(ratios, 0.25),
            quantile(ratios, 0.75),
            quantile(&relative, 0.5),
            when_full,
        );
    }
    println!("  / machine's: the median of each pair's ratio over the machine row's in that pair");
    println!("  machine >= 1.9x: the median over the pairs where the host gave two cores' worth");
}

fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
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
