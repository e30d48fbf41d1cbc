//! A test kit for your own tests (feature `testing`): [`Collector`], a
//! local stand-in for the monlight error tracker and metrics collector,
//! and assertions on what it received.
//!
//! It is a real HTTP/1.1 server on 127.0.0.1 (an ephemeral port) that
//! behaves as the real servers do: one connection at a time, one request
//! per connection, the socket closed after every answer (without
//! `Connection: close`), `X-API-Key` auth, every validation rule and 400
//! text, the size and item limits, grouping by fingerprint with
//! created/incremented answers, the sliding-window rate limit with
//! `retry_after` in the body, and a once-a-minute aggregation tick (see
//! [`Collector::charted`]). It can be told to misbehave ([`Fault`]).
//!
//! Point your clients at it, run your code, flush, and assert:
//!
//! ```
//! use monlight_std::MetricsClient;
//! use monlight_std::testing::Collector;
//!
//! let collector = Collector::start();
//! let metrics = MetricsClient::builder(&collector.url(), collector.api_key())
//!     .project("shop")
//!     .build()?;
//!
//! // The code under test.
//! metrics.counter("orders_total", &[("plan", "pro")]);
//!
//! metrics.flush();
//! let points = collector.assert_point("orders_total", &[("plan", "pro")]);
//! assert_eq!(points[0]["value"], 1.0);
//! collector.assert_within_rules(); // nothing the real servers would refuse
//! # Ok::<(), monlight_std::ConfigError>(())
//! ```

mod assertions;
mod collector;
mod fingerprint;
mod validate;

pub use collector::{
    Clock, Collector, CollectorConfig, Fault, ManualClock, RecordedRequest, StoredError,
};
pub use fingerprint::fingerprint;
