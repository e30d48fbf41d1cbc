//! The reference client's defaults, named once for every crate.

/// The `project` a client reports under unless told otherwise.
pub const DEFAULT_PROJECT: &str = "default";

/// The `environment` of error reports unless told otherwise.
pub const DEFAULT_ENVIRONMENT: &str = "prod";

/// Seconds between metric flushes unless told otherwise.
pub const DEFAULT_FLUSH_INTERVAL_SECS: u64 = 10;

/// Seconds one request may take, connecting included, unless told
/// otherwise.
pub const DEFAULT_TIMEOUT_SECS: u64 = 5;
