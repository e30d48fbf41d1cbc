//! monlight-embassy on the host: the real flush task and TCP transport,
//! over `embedded-nal-async` implemented with tokio sockets, against the
//! local test collector. Time is embassy-time's std driver with a generic
//! timer queue, so its timers work under tokio.

mod common;

use std::future::Future;
use std::net::IpAddr;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use common::{BusError, SensorError, TokioTcp, stored_values};
use embassy_futures::select::{Either, select};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_time::Duration;
use embedded_nal_async::{AddrType, Dns};
use monlight_core::ThrowSite;
use monlight_embassy::{
    Collector as Address, CrashSlot, Monlight, ReportVault, ResetReason, TcpTransport, Uplink,
};
use monlight_tests::{Collector, Fault};

type Device = Monlight<CriticalSectionRawMutex, 16384>;

/// DNS through the host's resolver.
struct TokioDns;

impl Dns for TokioDns {
    type Error = std::io::Error;

    async fn get_host_by_name(&self, host: &str, _: AddrType) -> Result<IpAddr, Self::Error> {
        let mut addrs = tokio::net::lookup_host((host, 0)).await?;
        addrs
            .next()
            .map(|a| a.ip())
            .ok_or_else(|| std::io::Error::other("no address"))
    }

    async fn get_host_by_address(&self, _: IpAddr, _: &mut [u8]) -> Result<usize, Self::Error> {
        Err(std::io::Error::other("unsupported"))
    }
}

/// Buffers as a device would size them.
struct Buffers {
    scratch: [u8; 512],
    out: [u8; 2048],
}

impl Buffers {
    fn new() -> Self {
        Self {
            scratch: [0; 512],
            out: [0; 2048],
        }
    }

    fn uplink<'a>(
        &'a mut self,
        collector: &'a str,
        key: &'a str,
    ) -> Uplink<'a, TcpTransport<'a, TokioTcp>> {
        let address = Address::new(collector).unwrap();
        let transport = TcpTransport::new(&TokioTcp, key, &mut self.scratch)
            .metrics_collector(address)
            .error_tracker(address)
            .timeout(Duration::from_millis(500));
        Uplink::new(transport, "boiler-fw", &mut self.out).unwrap()
    }
}

/// A collector, its `host:port`, and a device with nothing recorded.
fn rig() -> (Collector, String, Device) {
    let collector = Collector::start();
    let address = collector.addr().to_string();
    (collector, address, Device::new())
}

/// Polls `done` until it holds or `timeout` passes.
async fn eventually(timeout: StdDuration, done: impl Fn() -> bool) -> bool {
    let deadline = StdInstant::now() + timeout;
    while !done() {
        if StdInstant::now() > deadline {
            return false;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    true
}

/// Runs `test` next to the flush task (which never ends).
async fn alongside<R>(
    monlight: &Device,
    uplink: Uplink<'_, TcpTransport<'_, TokioTcp>>,
    test: impl Future<Output = R>,
) -> R {
    match select(monlight.run(uplink), test).await {
        Either::Second(result) => result,
    }
}

fn record_gauges(monlight: &Device, count: usize) {
    for i in 0..count {
        let sensor = format!("s{}", i % 7);
        monlight
            .gauge(
                "temperature_celsius",
                i as f64 + 0.5,
                &[("sensor", &sensor)],
            )
            .unwrap();
    }
}

#[tokio::test]
async fn periodic_flush_delivers_every_point_in_batches() {
    let (collector, address, monlight) = rig();
    let mut buffers = Buffers::new();
    let uplink = buffers
        .uplink(&address, collector.api_key())
        .flush_interval(Duration::from_millis(100));
    record_gauges(&monlight, 300);
    // Until the task has also read the last answer (and counted it):
    // stopping it mid-exchange would leave that batch unaccounted.
    let arrived = alongside(&monlight, uplink, async {
        eventually(StdDuration::from_secs(10), || {
            collector.metrics().len() >= 300 && monlight.stats().sent >= 300
        })
        .await
    })
    .await;
    assert!(
        arrived,
        "only {} of 300 points arrived",
        collector.metrics().len()
    );
    let expected: Vec<f64> = (0..300).map(|i| i as f64 + 0.5).collect();
    assert_eq!(stored_values(&collector), expected);
    let requests = collector.requests();
    assert!(
        requests.len() > 1,
        "a 2 KiB out buffer takes several batches"
    );
    assert!(requests.iter().all(|r| r.status == Some(202)));
    assert!(
        requests
            .iter()
            .all(|r| r.header("connection") == Some("close"))
    );
    let first = &collector.metrics()[0];
    assert_eq!(first["project"], "boiler-fw");
    assert_eq!(first["type"], "gauge");
    assert!(
        first.get("timestamp").is_none(),
        "no wall clock, no timestamp"
    );
    let stats = monlight.stats();
    assert_eq!((stats.recorded, stats.sent, stats.dropped()), (300, 300, 0));
    assert_eq!(monlight.buffered(), 0);
    assert!(
        collector.violations().is_empty(),
        "{:?}",
        collector.violations()
    );
}

#[tokio::test]
async fn flush_now_delivers_without_waiting_for_the_tick() {
    let (collector, address, monlight) = rig();
    let mut buffers = Buffers::new();
    let uplink = buffers
        .uplink(&address, collector.api_key())
        .flush_interval(Duration::from_secs(3600));
    let arrived = alongside(&monlight, uplink, async {
        // Let the flush at start pass with nothing to send.
        tokio::time::sleep(StdDuration::from_millis(100)).await;
        record_gauges(&monlight, 25);
        monlight.flush_now();
        eventually(StdDuration::from_secs(5), || {
            collector.metrics().len() >= 25
        })
        .await
    })
    .await;
    assert!(arrived, "the signal did not flush");
    assert_eq!(stored_values(&collector).len(), 25);
}

#[tokio::test]
async fn points_carry_utc_seconds_once_the_time_is_known() {
    let (collector, address, monlight) = rig();
    monlight.counter("boots_total", &[]).unwrap();
    monlight.set_unix_time(1_764_000_000); // 2025-11-24T16:00:00Z
    monlight.counter_by("boots_total", &[], 2.0).unwrap();
    let mut buffers = Buffers::new();
    let mut uplink = buffers.uplink(&address, collector.api_key());
    let report = monlight.flush(&mut uplink).await;
    assert_eq!(report.sent, 2);
    let metrics = collector.metrics();
    assert!(
        metrics[0].get("timestamp").is_none(),
        "recorded before the clock was set"
    );
    let stamped = metrics[1]["timestamp"].as_str().unwrap();
    assert!(
        ["2025-11-24T16:00:00Z", "2025-11-24T16:00:01Z"].contains(&stamped),
        "{stamped}"
    );
    let now = monlight.unix_time().unwrap();
    assert!((1_764_000_000..1_764_000_010).contains(&now));
}

#[tokio::test]
async fn error_reports_carry_type_message_and_the_callers_location() {
    let (collector, address, monlight) = rig();
    let mut line = 0;
    for _ in 0..2 {
        let sensor = 3;
        line = line!() + 1;
        let queued = monlight.report_error(
            "SensorTimeout",
            format_args!("no answer from sensor {sensor}"),
        );
        assert!(queued);
    }
    assert!(monlight.report(&SensorError(BusError)));
    let mut buffers = Buffers::new();
    let mut uplink = buffers
        .uplink(&address, collector.api_key())
        .environment("lab");
    monlight.flush(&mut uplink).await;
    let errors = collector.errors();
    assert_eq!(errors.len(), 3);
    let first = &errors[0].body;
    assert_eq!(first["project"], "boiler-fw");
    assert_eq!(first["environment"], "lab");
    assert_eq!(first["exception_type"], "SensorTimeout");
    assert_eq!(first["message"], "no answer from sensor 3");
    // The throw site first (the line the tracker groups by), then the
    // type and message, as monlight-std writes them.
    let traceback = first["traceback"].as_str().unwrap();
    let lines: Vec<&str> = traceback.lines().collect();
    assert!(
        lines.len() == 2
            && lines[0].starts_with(&format!("at tests/tests/embassy.rs:{line}:"))
            && lines[1] == "SensorTimeout: no answer from sensor 3",
        "{traceback}"
    );
    let mut occurrences: Vec<u64> = collector.groups().into_values().collect();
    occurrences.sort();
    assert_eq!(occurrences, [1, 2], "one call site, one group");
    let second = &errors[2].body;
    assert_eq!(second["exception_type"], "SensorError");
    assert_eq!(second["message"], "sensor 3 unreadable");
    let traceback = second["traceback"].as_str().unwrap();
    assert!(
        traceback.ends_with("SensorError: sensor 3 unreadable\nCaused by: i2c bus stuck low\n"),
        "{traceback}"
    );
    assert_eq!(
        monlight.error_stats(),
        monlight_core::Stats {
            recorded: 3,
            sent: 3,
            batches: 3,
            ..Default::default()
        }
    );
}

#[tokio::test]
async fn a_full_error_queue_drops_and_counts() {
    let monlight = Device::new();
    for _ in 0..monlight_embassy::DEFAULT_ERROR_QUEUE {
        assert!(monlight.report_error("E", "queued"));
    }
    assert!(!monlight.report_error("E", "one too many"));
    let stats = monlight.error_stats();
    assert_eq!((stats.recorded, stats.dropped_full), (5, 1));
}

#[tokio::test]
async fn a_stalled_collector_costs_at_most_the_timeout_and_is_counted() {
    let (collector, address, monlight) = rig();
    let mut buffers = Buffers::new();
    let mut uplink = buffers.uplink(&address, collector.api_key()); // timeout 500 ms
    collector.set_fault(Some(Fault::Stall(StdDuration::from_secs(30))));
    record_gauges(&monlight, 5);
    let started = StdInstant::now();
    let (report, recorded_during_stall) =
        embassy_futures::join::join(monlight.flush(&mut uplink), async {
            // Another task records while the flush waits on the network.
            tokio::time::sleep(StdDuration::from_millis(100)).await;
            let at = StdInstant::now();
            monlight.counter("ticks_total", &[]).unwrap();
            (at.elapsed(), monlight.buffered())
        })
        .await;
    let took = started.elapsed();
    assert!(recorded_during_stall.0 < StdDuration::from_millis(100));
    assert_eq!(
        recorded_during_stall.1, 6,
        "the stalled batch stays in the buffer until its outcome is known"
    );
    assert!(
        took >= StdDuration::from_millis(450),
        "gave up early: {took:?}"
    );
    assert!(
        took < StdDuration::from_secs(3),
        "blocked {took:?} with a 500 ms timeout"
    );
    assert_eq!((report.sent, report.dropped), (0, 5));
    assert_eq!(
        report.last_failure,
        Some(monlight_core::Outcome::Failed(
            monlight_core::TransportError::Timeout
        ))
    );
    assert_eq!(monlight.stats().dropped_transport, 5);

    collector.set_fault(None);
    record_gauges(&monlight, 3);
    let report = monlight.flush(&mut uplink).await;
    assert_eq!(report.sent, 4, "the next flush after the fault delivers");
}

#[tokio::test]
async fn refusing_and_absent_collectors_are_counted() {
    let (collector, address, monlight) = rig();
    let mut buffers = Buffers::new();
    let mut uplink = buffers.uplink(&address, collector.api_key());
    collector.inject(Fault::Status(500, "Internal server error"));
    record_gauges(&monlight, 4);
    let report = monlight.flush(&mut uplink).await;
    assert_eq!(report.dropped, 4);
    assert_eq!(monlight.stats().dropped_rejected, 4);

    let dead = common::dead_url();
    let dead = dead.trim_start_matches("http://").to_owned();
    let mut dead_buffers = Buffers::new();
    let mut dead_uplink = dead_buffers.uplink(&dead, "k");
    record_gauges(&monlight, 2);
    let started = StdInstant::now();
    let report = monlight.flush(&mut dead_uplink).await;
    assert!(started.elapsed() < StdDuration::from_secs(3));
    assert_eq!(
        report.last_failure,
        Some(monlight_core::Outcome::Failed(
            monlight_core::TransportError::Connect
        ))
    );
    // Nothing reached the server: the points are kept, not dropped.
    assert_eq!(report.kept, 2);
    let stats = monlight.stats();
    assert_eq!((stats.dropped_transport, stats.retried), (0, 2));
    assert_eq!(monlight.buffered(), 2);
    assert_eq!(
        stats.recorded,
        stats.sent + stats.dropped() + monlight.buffered() as u64
    );
    // Once the collector is reachable, they are delivered.
    assert_eq!(monlight.flush(&mut uplink).await.sent, 2);
}

#[tokio::test]
async fn time_that_runs_out_before_the_request_is_written_keeps_the_points() {
    let (collector, address, monlight) = rig();
    let unanswered = common::unanswered();
    let mut buffers = Buffers::new();
    let mut uplink = buffers.uplink(&unanswered.address, "k"); // timeout 500 ms
    record_gauges(&monlight, 3);
    let report = monlight.flush(&mut uplink).await;
    // The connection never opened: nothing reached a server.
    assert_eq!((report.kept, report.dropped), (3, 0));
    assert_eq!(
        report.last_failure,
        Some(monlight_core::Outcome::Failed(
            monlight_core::TransportError::Unsent
        ))
    );
    assert_eq!(monlight.stats().dropped_transport, 0);
    let mut buffers = Buffers::new();
    let mut uplink = buffers.uplink(&address, collector.api_key());
    assert_eq!(monlight.flush(&mut uplink).await.sent, 3);
    assert_eq!(stored_values(&collector), [0.5, 1.5, 2.5]);
}

#[tokio::test]
async fn error_reports_wait_out_a_network_failure_and_are_sent_later() {
    let (collector, address, monlight) = rig();
    monlight.report_error("WatchdogReset", "main loop stalled");
    // The link is down: nothing reached the tracker, the report stays.
    let dead = common::dead_url();
    let mut dead_buffers = Buffers::new();
    let mut dead_uplink = dead_buffers.uplink(dead.trim_start_matches("http://"), "k");
    monlight.flush(&mut dead_uplink).await;
    let stats = monlight.error_stats();
    assert_eq!((stats.retried, stats.dropped()), (1, 0));
    let mut buffers = Buffers::new();
    let mut uplink = buffers.uplink(&address, collector.api_key());
    monlight.flush(&mut uplink).await;
    assert_eq!(collector.errors().len(), 1, "sent once the link is back");
    monlight.flush(&mut uplink).await;
    assert_eq!(collector.errors().len(), 1, "and only once");
    assert_eq!(monlight.error_stats().sent, 1);
}

#[tokio::test]
async fn an_error_report_the_tracker_may_have_stored_is_not_sent_twice() {
    let (collector, address, monlight) = rig();
    monlight.report_error("WatchdogReset", "main loop stalled");
    // The request went out whole and the connection closed unanswered:
    // the tracker may have stored it, so it is counted lost, not resent.
    collector.inject(Fault::CloseWithoutAnswer);
    let mut buffers = Buffers::new();
    let mut uplink = buffers.uplink(&address, collector.api_key());
    monlight.flush(&mut uplink).await;
    monlight.flush(&mut uplink).await;
    let stats = monlight.error_stats();
    assert_eq!(
        (stats.dropped_transport, stats.retried, stats.sent),
        (1, 0, 0)
    );
    assert_eq!(collector.requests().len(), 1, "one request, never a second");
}

#[tokio::test]
async fn a_429_pauses_sending_until_retry_after() {
    let (collector, address, monlight) = rig();
    let mut buffers = Buffers::new();
    let mut uplink = buffers.uplink(&address, collector.api_key());
    collector.inject(Fault::RateLimited(1));
    record_gauges(&monlight, 3);
    let report = monlight.flush(&mut uplink).await;
    assert_eq!((report.kept, report.dropped), (3, 0));
    assert_eq!(monlight.stats().retried, 3);
    let limited_at = StdInstant::now();

    record_gauges(&monlight, 2);
    let report = monlight.flush(&mut uplink).await;
    assert!(report.paused && report.batches == 0, "{report:?}");
    assert_eq!(
        collector.requests().len(),
        1,
        "nothing sent during the pause"
    );
    assert_eq!(
        monlight.buffered(),
        5,
        "points wait in the buffer, the kept ones first"
    );

    tokio::time::sleep(StdDuration::from_millis(1100).saturating_sub(limited_at.elapsed())).await;
    let report = monlight.flush(&mut uplink).await;
    assert_eq!(report.sent, 5);
    assert_eq!(collector.metrics().len(), 5, "each point stored once");
    let requests = collector.requests();
    assert!(requests[1].at.duration_since(requests[0].at) >= StdDuration::from_secs(1));
}

#[tokio::test]
async fn collectors_by_host_name_resolve_through_dns() {
    let collector = Collector::start();
    let address = format!("localhost:{}", collector.addr().port());
    let monlight = Device::new();
    let mut scratch = [0u8; 512];
    let mut out = [0u8; 1024];
    let transport = TcpTransport::new(&TokioTcp, collector.api_key(), &mut scratch)
        .with_dns(TokioDns)
        .metrics_collector(Address::new(&address).unwrap());
    let mut uplink = Uplink::new(transport, "boiler-fw", &mut out).unwrap();
    monlight.counter("boots_total", &[]).unwrap();
    assert_eq!(monlight.flush(&mut uplink).await.sent, 1);
    let request = &collector.requests()[0];
    assert_eq!(request.header("host"), Some(address.as_str()));

    // Without DNS, a name cannot be reached, and that is counted.
    let mut scratch = [0u8; 512];
    let mut out = [0u8; 1024];
    let transport = TcpTransport::new(&TokioTcp, collector.api_key(), &mut scratch)
        .metrics_collector(Address::new(&address).unwrap());
    let mut uplink = Uplink::new(transport, "boiler-fw", &mut out).unwrap();
    monlight.counter("boots_total", &[]).unwrap();
    let report = monlight.flush(&mut uplink).await;
    assert_eq!(
        report.last_failure,
        Some(monlight_core::Outcome::Failed(
            monlight_core::TransportError::Connect
        ))
    );
    assert_eq!(report.kept, 1, "it never reached a server: kept");
}

/// Survives the "reset": a static, as in `.uninit` RAM on a device.
static CRASH: CrashSlot<256> = CrashSlot::new();

#[tokio::test]
async fn after_a_panic_the_next_boot_reports_it_with_its_boot_and_counts_the_reason() {
    let first = CRASH.boot(&mut || ResetReason::PowerOn);
    // Before the reset: the panic handler records the crash.
    let site = ThrowSite::caller();
    CRASH.record(
        site,
        format_args!("attempt to divide by zero in {}", "pid loop"),
    );

    // After the reset (the chip says software: the panic handler's reset),
    // a fresh Monlight, the boot reported.
    let (collector, address, monlight) = rig();
    let boot = CRASH.boot(&mut || ResetReason::Software);
    assert_eq!(boot.count(), first.count() + 1);
    assert!(monlight.report_boot(&boot));
    assert!(CRASH.take().is_none(), "taken once");
    let mut buffers = Buffers::new();
    let mut uplink = buffers.uplink(&address, collector.api_key());
    monlight.flush(&mut uplink).await;
    monlight.flush(&mut uplink).await;
    let boots = collector.assert_point("boots_total", &[("reason", "panic")]);
    assert_eq!(boots.len(), 1);
    assert_eq!(boots[0]["type"], "counter");
    let reports = collector.assert_report(monlight_core::PANIC_TYPE);
    let body = &reports[0].body;
    assert_eq!(body["message"], "attempt to divide by zero in pid loop");
    assert!(
        body["traceback"]
            .as_str()
            .unwrap()
            .starts_with(&format!("at {}:{}:{}", site.file, site.line, site.column))
    );
    let traceback = body["traceback"].as_str().unwrap();
    let detail = format!("\nboot {}, uptime ", first.count());
    assert!(traceback.contains(&detail), "{traceback}");
}

#[tokio::test]
async fn hard_faults_at_one_instruction_are_one_group_and_boots_without_a_crash_count_the_chips_reason()
 {
    static SLOT: CrashSlot<128> = CrashSlot::new();
    let (collector, address, monlight) = rig();
    SLOT.boot(&mut || ResetReason::PowerOn);
    for (pc, lr) in [
        (0x0800_1234, 0x0800_0101),
        (0x0800_1234, 0x0800_0202),
        (0x0800_5678, 0x0800_0101),
    ] {
        SLOT.record_hard_fault(pc, lr);
        assert!(monlight.report_boot(&SLOT.boot(&mut || ResetReason::Software)));
    }
    assert!(monlight.report_boot(&SLOT.boot(&mut || ResetReason::Watchdog)));
    let mut buffers = Buffers::new();
    let mut uplink = buffers.uplink(&address, collector.api_key());
    for _ in 0..4 {
        monlight.flush(&mut uplink).await;
    }
    let faults = collector.assert_report(monlight_embassy::HARD_FAULT_EXCEPTION_TYPE);
    assert_eq!(faults.len(), 3);
    assert_eq!(
        faults[0].body["message"],
        "hard fault at pc 0x08001234, lr 0x08000101"
    );
    assert_eq!(
        faults[0].fingerprint, faults[1].fingerprint,
        "one instruction"
    );
    assert_ne!(faults[0].fingerprint, faults[2].fingerprint);
    let counted = |reason| {
        collector
            .points("boots_total", &[("reason", reason)])
            .iter()
            .map(|point| point["value"].as_f64().unwrap())
            .sum::<f64>()
    };
    assert_eq!(counted("hard_fault"), 3.0);
    assert_eq!(counted("watchdog"), 1.0);
}

#[tokio::test]
async fn reports_a_reset_took_from_the_queue_reach_the_tracker_after_the_boot() {
    /// Survives the "reset", as in `.uninit` RAM on a device.
    static REPORTS: ReportVault<4> = ReportVault::new();
    let (collector, address, before) = rig();
    assert_eq!(before.keep_reports_in(&REPORTS), 0);
    before.report_error("SensorTimeout", "sent before the reset");
    let mut buffers = Buffers::new();
    before
        .flush(&mut buffers.uplink(&address, collector.api_key()))
        .await;
    // The link goes down; two more failures wait in the queue.
    before.report_error("SensorTimeout", "queued during the outage");
    before.report_error("BusError", "queued last");
    let mut down = Buffers::new();
    before.flush(&mut down.uplink("127.0.0.1:9", "key")).await;
    let stats = before.error_stats();
    assert!(stats.retried >= 1 && stats.dropped() == 0, "kept, not lost");

    // A watchdog reset: a new Monlight, the same RAM.
    let after = Device::new();
    assert_eq!(after.keep_reports_in(&REPORTS), 2);
    after.report_error("SensorTimeout", "after the boot");
    let mut uplink = buffers.uplink(&address, collector.api_key());
    for _ in 0..3 {
        after.flush(&mut uplink).await;
    }
    let messages: Vec<_> = collector
        .errors()
        .iter()
        .map(|error| error.body["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        messages,
        [
            "sent before the reset",
            "queued during the outage",
            "queued last",
            "after the boot"
        ]
    );
    assert_eq!(collector.reports_of("BusError").len(), 1, "its type kept");
    assert_eq!(after.error_stats().sent, 3);
    assert_eq!(Device::new().keep_reports_in(&REPORTS), 0, "each sent once");
}

#[tokio::test]
async fn heartbeats_carry_uptime_the_exact_counters_and_the_applications_gauges() {
    let (collector, address, monlight) = rig();
    record_gauges(&monlight, 5);
    assert!(
        monlight.gauge("", 1.0, &[]).is_err(),
        "an invalid point, counted"
    );
    let mut buffers = Buffers::new();
    let uplink = buffers
        .uplink(&address, collector.api_key())
        .flush_interval(Duration::from_millis(100))
        .heartbeat(Duration::from_millis(300), |beat| {
            beat.gauge("stack_free_bytes", 812.0);
        });
    let test = async {
        eventually(StdDuration::from_secs(5), || {
            !collector.points("stack_free_bytes", &[]).is_empty()
        })
        .await
    };
    let Either::Second(arrived) = select(monlight.run(uplink), test).await;
    assert!(arrived, "a heartbeat within the interval");
    let value = |name: &str, labels: &[(&str, &str)]| {
        collector.assert_point(name, labels)[0]["value"]
            .as_f64()
            .unwrap()
    };
    // Since boot: the five points, sent by the first flush; the invalid one.
    assert_eq!(value("monlight_points_recorded", &[]), 5.0);
    assert_eq!(value("monlight_points_sent", &[]), 5.0);
    assert_eq!(
        value("monlight_points_dropped", &[("reason", "invalid")]),
        1.0
    );
    assert!(
        collector
            .points("monlight_points_dropped", &[("reason", "full")])
            .is_empty()
    );
    assert_eq!(value("monlight_reports_dropped", &[]), 0.0);
    assert_eq!(value("stack_free_bytes", &[]), 812.0);
    let uptime = value("uptime_seconds", &[]);
    assert!(
        uptime.fract() == 0.0 && uptime < 300.0,
        "whole seconds, not ms: {uptime}"
    );
}
