//! # monlight-embassy
//!
//! The Embassy transport and flush task for monlight are in progress. Until
//! they land, firmware can use `monlight-core` directly: its `MetricBuffer`,
//! `Flusher::flush_async` and `http::exchange_async` over any
//! `embedded-io-async` TCP socket (see `examples/firmware`).

#![no_std]
#![forbid(unsafe_code)]
