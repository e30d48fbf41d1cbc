//! # monlight-tests
//!
//! The cross-crate integration tests and benchmarks. The local collector
//! they run against is monlight-std's test kit
//! ([`monlight_std::testing`]), re-exported here; [`sink`] is a
//! collector stand-in for benchmarks.

#![forbid(unsafe_code)]

mod sink;

pub use monlight_std::testing::*;
pub use sink::sink;
