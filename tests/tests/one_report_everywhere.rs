//! One failure reported from a server (monlight-std) and from a device
//! (monlight-embassy, on the host) gives the same report fields and lands
//! in the same group: core builds them once for both. Its own test binary:
//! the panic hook is process-global.

mod common;

use std::time::Duration;

use common::{BusError, SensorError, TokioTcp};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use monlight_core::ThrowSite;
use monlight_embassy::{Collector as Address, CrashSlot, Monlight, TcpTransport, Uplink};
use monlight_std::{ErrorClient, install_panic_hook};
use monlight_tests::Collector;
use serde_json::Value;

type Device = Monlight<CriticalSectionRawMutex, 4096>;

/// Both clients report from the caller's line, as a crate shared by
/// firmware and server would.
#[track_caller]
fn report_on_both(server: &ErrorClient, device: &Device, error: &SensorError) {
    server.report_error_sync(error, None);
    assert!(device.report(error));
}

/// Sends the device's queue to `collector` for project `shop`.
async fn flush_device(device: &Device, collector: &Collector) {
    let address = collector.addr().to_string();
    let (mut scratch, mut out) = ([0u8; 512], [0u8; 2048]);
    let transport = TcpTransport::new(&TokioTcp, collector.api_key(), &mut scratch)
        .error_tracker(Address::new(&address).unwrap());
    let mut uplink = Uplink::new(transport, "shop", &mut out).unwrap();
    device.flush(&mut uplink).await;
}

fn fields(report: &Value) -> (String, String, String) {
    let text = |key: &str| report[key].as_str().unwrap().to_owned();
    (text("exception_type"), text("message"), text("traceback"))
}

fn server(collector: &Collector) -> ErrorClient {
    ErrorClient::builder(collector.url(), collector.api_key())
        .project("shop")
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_with_causes_gives_the_same_fields_on_server_and_device() {
    let collector = Collector::start();
    let device = Device::new();
    let server = server(&collector);
    let error = SensorError(BusError);
    tokio::task::block_in_place(|| report_on_both(&server, &device, &error));
    flush_device(&device, &collector).await;

    let errors = collector.errors();
    assert_eq!(errors.len(), 2);
    let (on_server, on_device) = (fields(&errors[0].body), fields(&errors[1].body));
    assert_eq!(on_server, on_device);
    assert_eq!(on_server.0, "SensorError");
    assert_eq!(on_server.1, "sensor 3 unreadable");
    assert!(
        on_server
            .2
            .ends_with("SensorError: sensor 3 unreadable\nCaused by: i2c bus stuck low\n"),
        "{}",
        on_server.2
    );
    assert_eq!(collector.groups().len(), 1, "one failure, one group");
}

static CRASH: CrashSlot<256> = CrashSlot::new();

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_gives_the_same_type_message_and_traceback_shape_on_server_and_device() {
    let collector = Collector::start();
    let server = server(&collector);
    install_panic_hook(server.clone());

    // On the server: a thread panics.
    let panicked = std::thread::Builder::new()
        .spawn(|| panic!("attempt to divide by zero in pid loop"))
        .unwrap()
        .join();
    assert!(panicked.is_err());
    // On the device: the same panic, at the same place, persisted by the
    // panic handler and reported after the reset.
    let server_report = collector.errors().remove(0).body;
    let traceback = server_report["traceback"].as_str().unwrap();
    let site = traceback.lines().next().unwrap().rsplit(':');
    let numbers: Vec<u32> = site.take(2).map(|n| n.parse().unwrap()).collect();
    let (line, column) = (numbers[1], numbers[0]);
    assert!(traceback.starts_with(&format!("at {}:{line}:", file!())));
    CRASH.record(
        ThrowSite {
            file: file!(),
            line,
            column,
        },
        "attempt to divide by zero in pid loop",
    );
    let device = Device::new();
    assert!(device.report_crash(&CRASH.take().unwrap()));
    flush_device(&device, &collector).await;

    let device_report = collector.errors().remove(1).body;
    let (server_type, server_message, server_traceback) = fields(&server_report);
    let (device_type, device_message, device_traceback) = fields(&device_report);
    assert_eq!(server_type, "Panic");
    assert_eq!(device_type, server_type);
    assert_eq!(device_message, server_message);
    // The site and the `Panic: <message>` line; the server adds its
    // backtrace when RUST_BACKTRACE asks for one.
    let head = |traceback: &str| traceback.lines().take(2).collect::<Vec<_>>().join("\n");
    assert_eq!(head(&device_traceback), head(&server_traceback));
    assert_eq!(
        head(&device_traceback),
        format!(
            "at {}:{line}:{column}\nPanic: attempt to divide by zero in pid loop",
            file!()
        )
    );
    assert_eq!(collector.groups().len(), 1, "one panic, one group");
}
