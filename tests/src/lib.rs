//! # monlight-tests
//!
//! [`Collector`]: a local stand-in for the monlight error tracker and metrics
//! collector. A real HTTP/1.1 server on 127.0.0.1 (ephemeral port) that
//! behaves as `PROTOCOL.md` describes the real servers: one connection at a
//! time, one request per connection, the socket closed after every answer
//! (without `Connection: close`), `X-API-Key` auth, every validation rule
//! and 400 text, the size and item limits, fingerprinting with
//! created/incremented answers, a sliding-window rate limit with
//! `retry_after` in the body. It records what it received for assertions and
//! can be told to misbehave ([`Fault`]).
//!
//! ```
//! use monlight_tests::Collector;
//!
//! let collector = Collector::start();
//! let url = collector.url(); // "http://127.0.0.1:<port>", serves both endpoints
//! # let _ = url;
//! assert!(collector.metrics().is_empty());
//! ```

#![forbid(unsafe_code)]

mod collector;
mod fingerprint;
mod sink;
mod validate;

pub use collector::{Collector, CollectorConfig, Fault, RecordedRequest, StoredError};
pub use fingerprint::fingerprint;
pub use sink::sink;
