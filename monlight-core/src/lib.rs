//! # monlight-core
//!
//! The `#![no_std]`, allocation-free heart of the monlight SDK. It decides
//! *what* is sent to a monlight error tracker and metrics collector, on every
//! platform; `monlight-std` and `monlight-embassy` decide only how bytes
//! travel and when.
//!
//! - [`Metric`] and its validation against the server's rules;
//! - [`MetricBuffer`]: a fixed-capacity FIFO of points in a byte arena
//!   (a `static` on a device, a boxed slice on a server);
//! - [`encode_batch`]: buffered points to JSON batches within 1000 items and
//!   524,287 bytes;
//! - [`ErrorReport`] and [`encode_error_report`]: error bodies with sensitive
//!   headers stripped, truncated to fit 262,143 bytes;
//! - [`Transport`] / [`AsyncTransport`] and [`Outcome`]: how a request went;
//! - [`Flusher`]: the one flush engine over any [`PointSource`]: keeps what
//!   the server did not store, honours 429 pauses, and counts every point
//!   in [`Stats`];
//! - [`ReportText`]: a report's type, message and traceback, the same on
//!   every platform, grouped by throw site;
//! - [`http`]: HTTP/1.1 framing over `embedded-io` for socket transports.
//!
//! ```
//! use core::cell::RefCell;
//! use monlight_core::{Endpoint, Flusher, Metric, MetricBuffer, Now, Outcome, Transport};
//!
//! // 4 KiB of RAM for points, usable in a `static`.
//! let buffer = RefCell::new(MetricBuffer::<[u8; 4096]>::new());
//! let labels = [("sensor", "boiler"), ("unit", "celsius")];
//! buffer.borrow_mut().record(&Metric::gauge("temperature", &labels, 71.5)).unwrap();
//!
//! struct Serial; // your transport: a socket, a modem, a queue
//! impl Transport for Serial {
//!     fn send(&mut self, _: Endpoint, body: &[u8]) -> Outcome {
//!         assert!(body.starts_with(br#"[{"name":"temperature""#));
//!         Outcome::Delivered { status: 202 }
//!     }
//! }
//!
//! let mut out = [0u8; 2048];
//! let report = Flusher::new(Some("boiler-fw")).flush(&buffer, &mut Serial, &mut out, Now::monotonic(0));
//! assert_eq!(report.sent, 1);
//! ```
//!
//! ## Features
//!
//! - `defmt`: derives `defmt::Format` on public types and logs lost batches
//!   as warnings through defmt. Off by default; nothing is printed without it.

#![cfg_attr(not(test), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Panics are bugs in an SDK that runs inside other people's programs.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod batch;
mod buffer;
mod decimal;
mod defaults;
mod delivery;
// Used on bare metal, where ryu does not fit; tested everywhere.
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
mod float;
mod flush;
pub mod http;
mod json;
pub mod limits;
mod metric;
mod outbox;
mod probe;
mod report;
mod schedule;
mod source;
mod stats;
mod timestamp;
mod traceback;
mod transport;

pub use batch::{
    Batch, BatchLimits, BatchWriter, Pushed, SeriesJson, Written, encode_batch, encode_series,
};
pub use buffer::{LabelsRef, MetricBuffer, PointRef, Points, RecordError, record_len};
pub use defaults::{
    DEFAULT_ENVIRONMENT, DEFAULT_FLUSH_INTERVAL_SECS, DEFAULT_PROJECT, DEFAULT_TIMEOUT_SECS,
};
pub use delivery::{FlushReport, Pause};
pub use flush::{Drain, Flusher, Now, POINTS_PER_LOCK};
pub use metric::{InvalidProject, Label, Metric, MetricError, MetricKind, validate_project};
pub use outbox::{FIRST_RETRY_MS, MAX_RETRY_MS, Outbox, ReportQueue};
pub use probe::{Probe, probe_body};
pub use report::{
    ALWAYS_EXCLUDED_HEADERS, ErrorReport, HeaderFilter, ReportError, RequestContext,
    TRUNCATION_MARKER, encode_error_report,
};
pub use schedule::{MAX_INTERVAL_MS, MINUTE_END_JITTER_MS, Schedule};
pub use source::{BufferAccess, PointSource, Settle};
pub use stats::Stats;
pub use timestamp::{MAX_UNIX_SECONDS, UtcTimestamp};
pub use traceback::{
    PANIC_TYPE, ReportText, ThrowSite, short_type_name, write_decimal, write_throw_site,
};
pub use transport::{
    AsyncTransport, DEFAULT_RETRY_AFTER_SECS, Endpoint, MAX_RETRY_AFTER_SECS, Outcome, Transport,
    TransportError,
};
