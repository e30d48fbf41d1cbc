//! # monlight-embassy
//!
//! Metrics and error reports from Embassy firmware to a monlight server,
//! with no heap: the point buffer and error queue live in a `static`
//! [`Monlight`] that any task records into without waiting on the network;
//! a flush task ([`Monlight::run`]) sends them over TCP (embassy-net, or
//! any `embedded-nal-async` stack) every `flush_interval` and on demand.
//! Crashes survive a reset in a [`CrashSlot`] and are reported after boot.
//!
//! ```ignore
//! use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
//! use monlight_embassy::{Collector, Monlight, TcpTransport, Uplink};
//!
//! static MONLIGHT: Monlight<CriticalSectionRawMutex, 4096> = Monlight::new();
//!
//! #[embassy_executor::task]
//! async fn monlight_task(stack: embassy_net::Stack<'static>) -> ! {
//!     let state = TCP_STATE.init(TcpClientState::<1, 1024, 1024>::new());
//!     let tcp = TcpClient::new(stack, state);
//!     let mut scratch = [0u8; 512];
//!     let transport = TcpTransport::new(&tcp, "device-key", &mut scratch)
//!         .metrics_collector(Collector::new("192.168.1.10:5012").unwrap())
//!         .error_tracker(Collector::new("192.168.1.10:5010").unwrap());
//!     let mut out = [0u8; 2048];
//!     MONLIGHT.run(Uplink::new(transport, "boiler-fw", &mut out).unwrap()).await
//! }
//!
//! // Anywhere else:
//! MONLIGHT.gauge("temperature_celsius", &[("sensor", "boiler")], 21.5).ok();
//! MONLIGHT.report_error("SensorTimeout", "no answer from sensor 3");
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
//! time: the point storage you size, ~220 bytes per queued error report and
//! ~120 bytes of indices and counters. The flush task's future holds the
//! transport's `scratch` and the [`Uplink`]'s `out`, both sized by you.
//!
//! ## Features
//!
//! - `defmt`: warnings (lost batches, dropped reports) through defmt and
//!   `defmt::Format` on the public types. Without it nothing is printed.

#![no_std]
#![forbid(unsafe_code)]

mod crash;
mod errors;
mod log;
mod monlight;
mod text;
mod transport;
mod uplink;

pub use crash::{Crash, CrashSlot};
pub use errors::{ERROR_FILE_BYTES, ERROR_MESSAGE_BYTES, ErrorStats, PANIC_EXCEPTION_TYPE};
pub use monlight::{DEFAULT_ERROR_QUEUE, Monlight};
pub use text::ErrorMessage;
pub use transport::{
    Collector, DEFAULT_TIMEOUT, InvalidCollector, NoDns, NoDnsError, TcpTransport,
};
pub use uplink::{DEFAULT_FLUSH_INTERVAL, Uplink};

/// The core types users name: metrics, counters, outcomes.
pub use monlight_core::{
    FlushReport, InvalidProject, Label, Metric, MetricKind, RecordError, Stats, ThrowSite,
};
