//! The checksum of records kept in RAM across a reset.

/// FNV-1a: a few instructions per byte, enough to tell a record from RAM
/// noise after a power cycle.
pub(crate) fn checksum(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}
