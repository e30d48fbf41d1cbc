//! A fleet of metrics clients against the local collector, on a clock the
//! test moves: minutes of traffic in seconds. Each client is the real
//! buffer, flush engine and schedule, sending over HTTP to 127.0.0.1. The
//! collector keeps its real global window (200 requests a minute), serves
//! one request at a time (each takes a few milliseconds of its clock), and
//! ticks its aggregator once a minute at a phase the test sets, after
//! which a late point of that minute never reaches a chart.
//!
//! `cargo test -p monlight-tests --test fleet -- --nocapture` prints, per
//! fleet size and phase: requests a minute, points delivered and charted
//! against recorded, and the largest delay.

use std::cell::RefCell;
use std::time::Duration;

use monlight_core::{Flusher, Metric, MetricBuffer, Now, Schedule};
use monlight_std::{ApiKey, BlockingHttp};
use monlight_tests::{Clock, Collector, CollectorConfig, ManualClock};

const MINUTE: u64 = 60_000;
/// A minute's start (2023-11-14 22:13 UTC).
const START: u64 = 1_700_000_000_000 / MINUTE * MINUTE;
/// Each client records a point this often.
const RECORD_EVERY_MS: u64 = 250;
const STEP_MS: u64 = 10;

struct Client {
    buffer: RefCell<MetricBuffer<Vec<u8>>>,
    flusher: Flusher<'static>,
    schedule: Schedule,
    link: BlockingHttp,
    next_flush: u64,
    next_record: u64,
}

struct Outcomes {
    recorded: u64,
    delivered: usize,
    charted: usize,
    dropped: u64,
    requests_per_minute: f64,
    max_delay_ms: u64,
    max_moved_ms: u64,
}

/// `clients` started together 17 s into a minute, for `minutes`, against a
/// collector ticking `phase_ms` into each minute. `wall_clock: false` is
/// the engine without the schedule's minute ends and without restamping
/// late points (a client that does not know the time when it flushes).
fn run(clients: usize, phase_ms: u64, minutes: u64, wall_clock: bool) -> Outcomes {
    let started = START + 17_000;
    let clock = ManualClock::new(started, Duration::from_millis(5));
    let collector = Collector::with_config(CollectorConfig {
        aggregation_phase: Duration::from_millis(phase_ms),
        clock: Clock::Manual(clock.clone()),
        ..CollectorConfig::default()
    });
    let key = ApiKey::new(collector.api_key()).unwrap();
    let mut fleet: Vec<Client> = (0..clients)
        .map(|i| {
            let mut schedule = Schedule::new(10_000, 0x5EED_0000 + i as u32 * 7919);
            let unix_ms = wall_clock.then_some(started);
            Client {
                buffer: RefCell::new(MetricBuffer::with_storage(vec![0u8; 256 << 10])),
                flusher: Flusher::new(Some("fleet")),
                next_flush: started + u64::from(schedule.next_delay_ms(unix_ms)),
                schedule,
                link: BlockingHttp::new(&collector.url(), &key, Duration::from_secs(5)).unwrap(),
                next_record: started + (i as u64 * 37) % RECORD_EVERY_MS,
            }
        })
        .collect();
    let end = started + minutes * MINUTE;
    let mut out = vec![0u8; 64 << 10];
    let mut now = started;
    while now < end {
        for client in &mut fleet {
            while client.next_record <= now {
                // The value is when it was recorded, to measure delays.
                let point = Metric::gauge("temperature", &[], client.next_record as f64)
                    .at(client.next_record / 1000);
                assert!(client.buffer.borrow_mut().record(&point).is_ok());
                client.next_record += RECORD_EVERY_MS;
            }
            if client.next_flush <= now {
                clock.set(now);
                let at = Now {
                    monotonic_ms: now - started,
                    unix_seconds: wall_clock.then_some(now / 1000),
                };
                let report = client
                    .flusher
                    .flush(&client.buffer, &mut client.link, &mut out, at);
                client.schedule.observe(&report, now - started);
                let unix_ms = wall_clock.then_some(now);
                client.next_flush = now + u64::from(client.schedule.next_delay_ms(unix_ms));
            }
        }
        now += STEP_MS;
    }
    // Points still buffered at the end are neither delivered nor lost.
    let (recorded, dropped) = fleet.iter().fold((0, 0), |(recorded, dropped), client| {
        let buffer = client.buffer.borrow();
        let stats = buffer.stats();
        (
            recorded + stats.recorded - buffer.len() as u64,
            dropped + stats.dropped(),
        )
    });
    let arrived = collector.metrics_arrived();
    let recorded_ms = |item: &serde_json::Value| item["value"].as_f64().unwrap() as u64;
    Outcomes {
        recorded,
        delivered: arrived.len(),
        charted: collector.charted().len(),
        dropped,
        requests_per_minute: collector.requests().len() as f64 / minutes as f64,
        max_delay_ms: arrived
            .iter()
            .map(|(item, at)| at - recorded_ms(item))
            .max()
            .unwrap_or(0),
        max_moved_ms: arrived
            .iter()
            .map(|(item, _)| {
                let stamped = stamp_ms(item["timestamp"].as_str().unwrap());
                stamped.saturating_sub(recorded_ms(item) / 1000 * 1000)
            })
            .max()
            .unwrap_or(0),
    }
}

/// A `…THH:MM:SSZ` stamp of the test's hour, in unix ms.
fn stamp_ms(stamp: &str) -> u64 {
    let field = |at: usize| stamp[at..at + 2].parse::<u64>().unwrap();
    let hour_start = START / 3_600_000 * 3_600_000;
    let start_hour = START / 3_600_000 % 24;
    let hours = (field(11) + 24 - start_hour) % 24;
    hour_start + hours * 3_600_000 + field(14) * MINUTE + field(17) * 1000
}

#[test]
fn every_point_reaches_the_charts_whatever_the_collectors_phase() {
    for phase_ms in [0, 500, 2_000, 30_000, 59_500] {
        let without = run(5, phase_ms, 6, false);
        if phase_ms < 8_000 {
            // The reference client's loss, which the schedule removes.
            assert!(without.charted < without.delivered, "phase {phase_ms} ms");
        }
        // A small fleet, and one near the window, whose minute-end
        // requests queue up at the single-threaded collector.
        for clients in [5, 40] {
            let result = run(clients, phase_ms, 6, true);
            println!(
                "N={clients:>2} phase {phase_ms:>5} ms: {:.0} requests/min, {} recorded, {} delivered, {} charted (without the schedule, N=5: {:.1} %), moved at most {} ms, max delay {} ms",
                result.requests_per_minute,
                result.recorded,
                result.delivered,
                result.charted,
                100.0 * without.charted as f64 / without.recorded as f64,
                result.max_moved_ms,
                result.max_delay_ms
            );
            assert_eq!(result.dropped, 0);
            assert_eq!(result.delivered as u64, result.recorded);
            assert_eq!(
                result.charted, result.delivered,
                "N={clients}, phase {phase_ms} ms"
            );
            assert!(result.max_moved_ms <= 1_000, "{} ms", result.max_moved_ms);
        }
    }
}

#[test]
fn a_fleet_larger_than_the_window_converges_to_it_and_loses_nothing() {
    for clients in [5, 10, 20, 40, 60] {
        let result = run(clients, 2_000, 10, true);
        println!(
            "N={clients:>2}: {:.0} requests/min, {} recorded, {} delivered ({:.2} %), {} charted ({:.2} %), moved at most {} ms, max delay {} ms",
            result.requests_per_minute,
            result.recorded,
            result.delivered,
            100.0 * result.delivered as f64 / result.recorded as f64,
            result.charted,
            100.0 * result.charted as f64 / result.recorded as f64,
            result.max_moved_ms,
            result.max_delay_ms
        );
        assert_eq!(result.dropped, 0, "N={clients}");
        assert_eq!(result.delivered as u64, result.recorded, "N={clients}");
        assert_eq!(result.charted, result.delivered, "N={clients}");
        assert!(
            result.requests_per_minute <= 210.0,
            "N={clients}: {:.0} requests a minute",
            result.requests_per_minute
        );
    }
}
