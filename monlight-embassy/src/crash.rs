//! Crash reports that survive a reset: the panic handler writes the message
//! and location into RAM the runtime does not clear, and after the next
//! boot the record is read once and reported (the `panic-persist` pattern).
//!
//! The slot is made of `AtomicU8`s so a `static` can be written from the
//! panic handler without `unsafe`. Placing it in memory that survives a
//! reset is the firmware's one line of `unsafe` (a linker section), see
//! [`CrashSlot`]. After a power cycle that memory holds noise: a magic
//! number, lengths in bounds, a checksum and valid UTF-8 must all agree
//! before a record is believed.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU8, Ordering};

use monlight_core::ThrowSite;

use crate::text::{SliceWriter, tail};

const MAGIC: [u8; 4] = *b"MLC1";
/// magic, checksum, line, column, file length, message length.
const HEADER: usize = 4 + 4 + 4 + 4 + 2 + 2;

/// RAM for one crash record that survives a soft reset.
///
/// `N` bytes (at least 64, at most 65,555) hold a 20-byte header, the end
/// of the panic's file path (at most half of the rest) and as much of the
/// message as fits. Writing formats the message through an `N`-byte buffer
/// on the panicking stack.
///
/// On a Cortex-M with `cortex-m-rt`, put it in the `.uninit` section, which
/// the runtime neither loads nor zeroes, and record from the panic handler:
///
/// ```ignore
/// #[unsafe(link_section = ".uninit.monlight_crash")]
/// static CRASH: CrashSlot<256> = CrashSlot::new();
///
/// #[panic_handler]
/// fn panic(info: &core::panic::PanicInfo) -> ! {
///     CRASH.record_panic(info);
///     cortex_m::peripheral::SCB::sys_reset()
/// }
///
/// // After boot, once monlight is set up:
/// if let Some(crash) = CRASH.take() {
///     MONLIGHT.report_crash(&crash);
/// }
/// ```
///
/// On the host (or anywhere), the round trip:
///
/// ```
/// use monlight_core::ThrowSite;
/// use monlight_embassy::CrashSlot;
///
/// static CRASH: CrashSlot<128> = CrashSlot::new();
///
/// CRASH.record(ThrowSite { file: "src/main.rs", line: 7, column: 5 }, "index out of bounds");
/// // ... reset ...
/// let crash = CRASH.take().expect("recorded before the reset");
/// assert_eq!(crash.message(), "index out of bounds");
/// assert_eq!(crash.site().line, 7);
/// assert!(CRASH.take().is_none(), "a crash is taken once");
/// ```
pub struct CrashSlot<const N: usize> {
    bytes: [AtomicU8; N],
}

impl<const N: usize> Default for CrashSlot<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> CrashSlot<N> {
    /// An empty slot. In a section that survives reset, the initial value
    /// is never written; what the RAM holds is checked by [`CrashSlot::take`].
    pub const fn new() -> Self {
        const {
            assert!(
                N >= 64 && N <= HEADER + u16::MAX as usize,
                "a CrashSlot holds 64 to 65,555 bytes"
            )
        };
        Self {
            bytes: [const { AtomicU8::new(0) }; N],
        }
    }

    /// Records a crash at `site` with `message`, replacing any record.
    pub fn record(&self, site: ThrowSite<'_>, message: impl fmt::Display) {
        self.write_at(0, &[0; 4]); // invalid while half written
        let mut text = [0u8; N];
        let payload = &mut text[HEADER..];
        let file = tail(site.file, payload.len() / 2);
        payload[..file.len()].copy_from_slice(file.as_bytes());
        let mut writer = SliceWriter::new(&mut payload[file.len()..]);
        let _ = write!(writer, "{message}"); // a SliceWriter never fails
        let message_len = writer.len();
        text[8..12].copy_from_slice(&site.line.to_le_bytes());
        text[12..16].copy_from_slice(&site.column.to_le_bytes());
        text[16..18].copy_from_slice(&(file.len() as u16).to_le_bytes());
        text[18..20].copy_from_slice(&(message_len as u16).to_le_bytes());
        let end = HEADER + file.len() + message_len;
        let sum = checksum(&text[8..end]);
        text[4..8].copy_from_slice(&sum.to_le_bytes());
        self.write_at(4, &text[4..end]);
        self.write_at(0, &MAGIC); // valid from here
    }

    /// Records a panic: its message and location. Call it from the
    /// `#[panic_handler]`, then reset.
    pub fn record_panic(&self, info: &core::panic::PanicInfo<'_>) {
        let site = info.location().map_or(
            ThrowSite {
                file: "<unknown>",
                line: 0,
                column: 0,
            },
            ThrowSite::from,
        );
        self.record(site, info.message());
    }

    /// The crash recorded before the last reset, if the slot holds a valid
    /// record; the slot is cleared, so each crash is taken once.
    pub fn take(&self) -> Option<Crash<N>> {
        let mut bytes = [0u8; N];
        for (byte, cell) in bytes.iter_mut().zip(&self.bytes) {
            *byte = cell.load(Ordering::Relaxed);
        }
        self.write_at(0, &[0; 4]);
        Crash::parse(bytes)
    }

    fn write_at(&self, offset: usize, bytes: &[u8]) {
        for (cell, byte) in self.bytes[offset..].iter().zip(bytes) {
            cell.store(*byte, Ordering::Relaxed);
        }
    }
}

/// A crash read back from a [`CrashSlot`]: report it with
/// [`Monlight::report_crash`](crate::Monlight::report_crash).
#[derive(Clone)]
pub struct Crash<const N: usize> {
    bytes: [u8; N],
    file_len: usize,
    message_len: usize,
}

impl<const N: usize> Crash<N> {
    fn parse(bytes: [u8; N]) -> Option<Self> {
        let u16_at = |at: usize| usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
        if bytes[..4] != MAGIC {
            return None;
        }
        let (file_len, message_len) = (u16_at(16), u16_at(18));
        let end = HEADER + file_len + message_len;
        if end > N || u32::from_le_bytes(bytes[4..8].try_into().ok()?) != checksum(&bytes[8..end]) {
            return None;
        }
        let crash = Self {
            bytes,
            file_len,
            message_len,
        };
        let text_ok = core::str::from_utf8(crash.file_bytes()).is_ok()
            && core::str::from_utf8(crash.message_bytes()).is_ok();
        text_ok.then_some(crash)
    }

    fn file_bytes(&self) -> &[u8] {
        &self.bytes[HEADER..HEADER + self.file_len]
    }

    fn message_bytes(&self) -> &[u8] {
        let start = HEADER + self.file_len;
        &self.bytes[start..start + self.message_len]
    }

    /// The panic message (cut to fit the slot).
    pub fn message(&self) -> &str {
        core::str::from_utf8(self.message_bytes()).unwrap_or_default()
    }

    /// Where it panicked (the file path's end if it was cut).
    pub fn site(&self) -> ThrowSite<'_> {
        let u32_at = |at: usize| {
            u32::from_le_bytes([
                self.bytes[at],
                self.bytes[at + 1],
                self.bytes[at + 2],
                self.bytes[at + 3],
            ])
        };
        ThrowSite {
            file: core::str::from_utf8(self.file_bytes()).unwrap_or_default(),
            line: u32_at(8),
            column: u32_at(12),
        }
    }
}

impl<const N: usize> fmt::Debug for Crash<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crash")
            .field("site", &self.site())
            .field("message", &self.message())
            .finish()
    }
}

/// FNV-1a: a few instructions per byte, enough to tell a record from RAM
/// noise after a power cycle.
fn checksum(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: ThrowSite<'static> = ThrowSite {
        file: "src/sensors/boiler.rs",
        line: 42,
        column: 9,
    };

    #[test]
    fn round_trip_once() {
        let slot = CrashSlot::<128>::new();
        assert!(slot.take().is_none(), "a zeroed slot holds no crash");
        slot.record(SITE, format_args!("sensor {} failed", 3));
        let crash = slot.take().unwrap();
        assert_eq!(crash.message(), "sensor 3 failed");
        assert_eq!(crash.site(), SITE);
        assert!(slot.take().is_none());
    }

    #[test]
    fn long_texts_are_cut_to_fit() {
        let slot = CrashSlot::<64>::new();
        let long_path = "/home/dev/.cargo/registry/src/some-crate-1.0.0/src/very/deep/module.rs";
        slot.record(
            ThrowSite {
                file: long_path,
                ..SITE
            },
            "ü".repeat(100),
        );
        let crash = slot.take().unwrap();
        let site = crash.site();
        assert!(long_path.ends_with(site.file) && site.file.len() <= 22);
        assert!(site.file.ends_with("module.rs"));
        assert!(!crash.message().is_empty());
        assert!(crash.message().chars().all(|c| c == 'ü'));
        assert!(HEADER + site.file.len() + crash.message().len() <= 64);
    }

    #[test]
    fn noise_is_not_a_crash() {
        let slot = CrashSlot::<96>::new();
        slot.record(SITE, "real");
        // Any single byte changed: the record is refused.
        for at in 0..HEADER + SITE.file.len() + 4 {
            let original = slot.bytes[at].load(Ordering::Relaxed);
            let copy = CrashSlot::<96>::new();
            for (a, b) in copy.bytes.iter().zip(&slot.bytes) {
                a.store(b.load(Ordering::Relaxed), Ordering::Relaxed);
            }
            copy.bytes[at].store(original ^ 0x20, Ordering::Relaxed);
            assert!(copy.take().is_none(), "corrupted byte {at} accepted");
        }
        // Pseudo-random RAM with a valid magic but nothing else.
        let mut state = 0x1234_5678u32;
        for _ in 0..1000 {
            let noise = CrashSlot::<96>::new();
            for cell in &noise.bytes {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                cell.store(state as u8, Ordering::Relaxed);
            }
            noise.write_at(0, &MAGIC);
            assert!(noise.take().is_none());
        }
    }
}
