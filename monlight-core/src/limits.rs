//! The limits of the real monlight servers (see `PROTOCOL.md`), plus the few
//! the SDK adds to keep every buffered point small and bounded.

/// Largest body the metrics collector accepts: its limit is 524,288 bytes and
/// a body of exactly the limit is refused too.
pub const MAX_METRICS_BODY: usize = 524_287;

/// Largest body the error tracker accepts (limit 262,144, exclusive).
pub const MAX_ERROR_BODY: usize = 262_143;

/// Most items the metrics collector accepts in one batch.
pub const MAX_BATCH_ITEMS: usize = 1000;

/// A metric name is 1 to 200 characters.
pub const MAX_NAME_CHARS: usize = 200;

/// A project name is at most 100 characters (error tracker rule).
pub const MAX_PROJECT_CHARS: usize = 100;

/// An `exception_type` is at most 200 characters (error tracker rule).
pub const MAX_EXCEPTION_TYPE_CHARS: usize = 200;

/// SDK limit: labels per point. The server has none; this keeps a point's
/// record below 64 KiB so its length fits the buffer's `u16` header.
pub const MAX_LABELS: usize = 16;

/// SDK limit: characters in a label key (1 to this).
pub const MAX_LABEL_KEY_CHARS: usize = 200;

/// SDK limit: characters in a label value (0 to this).
pub const MAX_LABEL_VALUE_CHARS: usize = 200;
