//! # monlight-embassy
//!
//! Metrics and error reports from Embassy firmware to a monlight server,
//! with no heap: the point buffer and error queue live in a `static`
//! [`Monlight`] that any task records into without waiting on the network;
//! a flush task ([`Monlight::run`]) sends them over TCP (embassy-net, or
//! any `embedded-nal-async` stack; TLS or any other connection through a
//! [`Connect`]) every `flush_interval` and on demand. Crashes (panics and
//! hard faults) survive a reset in a [`CrashSlot`] and are reported after
//! boot, every boot is counted by its [`ResetReason`], and heartbeats
//! ([`Uplink::heartbeat`]) chart a fleet's health.
//!
//! ```
//! use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
//! use monlight_embassy::Monlight;
//!
//! // 4 KiB of points and 4 queued error reports, in RAM known at compile time.
//! static MONLIGHT: Monlight<CriticalSectionRawMutex, 4096> = Monlight::new();
//!
//! // From any task or interrupt; never waits on the network.
//! MONLIGHT.gauge("temperature_celsius", 21.5, &[("sensor", "boiler")]).unwrap();
//! MONLIGHT.report_error("SensorTimeout", "no answer from sensor 3");
//! assert_eq!(MONLIGHT.stats().recorded, 1);
//! assert_eq!(MONLIGHT.error_stats().recorded, 1);
//! ```
//!
//! The flush task, over any `embedded-nal-async` TCP stack (on a device,
//! embassy-net's `TcpClient`; wrap it in an `#[embassy_executor::task]`):
//!
//! ```no_run
//! # use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
//! # use monlight_embassy::Monlight;
//! # static MONLIGHT: Monlight<CriticalSectionRawMutex, 4096> = Monlight::new();
//! use embedded_nal_async::TcpConnect;
//! use monlight_embassy::{Collector, TcpTransport, Uplink};
//!
//! const METRICS: Collector = Collector::from_static("192.168.1.10:5012");
//!
//! async fn monlight_task(tcp: &impl TcpConnect) -> ! {
//!     let mut scratch = [0u8; 512];
//!     let transport = TcpTransport::new(tcp, "device-key", &mut scratch)
//!         .metrics_collector(METRICS)
//!         .error_tracker(Collector::new("192.168.1.10:5010").unwrap());
//!     let mut out = [0u8; 2048];
//!     MONLIGHT.run(Uplink::new(transport, "boiler-fw", &mut out).unwrap()).await
//! }
//! ```
//!
//! `examples/firmware` in the repository is a complete program for a
//! Nucleo-F429ZI board.
//!
//! ## Time
//!
//! Without a wall clock, points carry no `timestamp` and the server stamps
//! their arrival. Once the application knows the time (SNTP, an RTC), it
//! calls [`Monlight::set_unix_time`] and points carry UTC seconds.
//!
//! ## Memory
//!
//! [`Monlight::RAM_BYTES`] is the RAM of the shared state, known at compile
//! time: the point storage you size, 216 bytes per queued error report and
//! about 150 bytes of indices, counters and the flush signal (on a 32-bit
//! target `Monlight<_, 4096>` takes 5,216 bytes). The flush task's future holds the
//! transport's `scratch` and the [`Uplink`]'s `out`, both sized by you.
//!
//! ## Features
//!
//! - `persist-reports`: `ReportVault`, error reports kept across a reset
//!   (a watchdog, a brown-out) in RAM that survives it, and sent after the
//!   boot. Without it the queue carries none of its code.
//! - `embedded-tls`: `TlsConnect`, TLS 1.3 to the collectors over plain TCP
//!   or any other connection.
//! - `defmt`: warnings (lost batches, dropped reports) through defmt and
//!   `defmt::Format` on the public types. Without it nothing is printed.

#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod boot;
mod checksum;
mod collector;
mod crash;
mod errors;
mod heartbeat;
mod log;
mod monlight;
mod queue;
mod tcp;
mod text;
#[cfg(feature = "embedded-tls")]
mod tls;
mod transport;
mod uplink;
#[cfg(feature = "persist-reports")]
mod vault;

pub use boot::{ResetCause, ResetReason, UnknownResetCause};
pub use collector::{Collector, InvalidCollector};
pub use crash::{Boot, Crash, CrashSlot};
pub use errors::{
    ERROR_FILE_BYTES, ERROR_MESSAGE_BYTES, HARD_FAULT_EXCEPTION_TYPE, PANIC_EXCEPTION_TYPE,
};
pub use heartbeat::{Beat, HeartbeatSource, Heartbeats, NoHeartbeat};
pub use monlight::{DEFAULT_ERROR_QUEUE, Monlight};
pub use tcp::{NoDns, NoDnsError, Tcp, TcpTransport};
pub use text::ErrorMessage;
#[cfg(feature = "embedded-tls")]
pub use tls::TlsConnect;
pub use transport::{Connect, DEFAULT_TIMEOUT, HttpTransport};

/// embedded-tls, the version [`TlsConnect`] is built on: its cipher suites
/// and crypto providers.
#[cfg(feature = "embedded-tls")]
pub use embedded_tls;
pub use uplink::{DEFAULT_FLUSH_INTERVAL, Uplink};
#[cfg(feature = "persist-reports")]
pub use vault::ReportVault;

/// The core types users name: metrics, counters, outcomes, and the
/// transport trait for a link of your own.
pub use monlight_core::{
    AsyncTransport, Endpoint, FlushReport, InvalidProject, Label, Metric, MetricKind, Outcome,
    RecordError, Stats, ThrowSite, TransportError,
};
