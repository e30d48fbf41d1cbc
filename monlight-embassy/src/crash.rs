//! Crash reports and boot counts that survive a reset: the panic (or hard
//! fault) handler writes the crash into RAM the runtime does not clear,
//! and after the next boot the record is read once and reported (the
//! `panic-persist` pattern). The same RAM counts boots.
//!
//! The slot is made of `AtomicU8`s so a `static` can be written from the
//! panic handler without `unsafe`. Placing it in memory that survives a
//! reset is the firmware's one line of `unsafe` (a linker section), see
//! [`CrashSlot`]. After a power cycle that memory holds noise: a magic
//! number, lengths in bounds, a checksum and valid UTF-8 must all agree
//! before a record is believed.
//!
//! Layout: a boot record (magic, checksum, boot count), then a crash record (magic, checksum, site, lengths, kind,
//! boot and uptime at the crash, then the file's end and the message).
//! Each has its own checksum, so writing a crash never loses the count.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU8, Ordering};

use embassy_time::Instant;
use monlight_core::ThrowSite;

use crate::boot::{ResetCause, ResetReason};
use crate::checksum::checksum;
use crate::text::{SliceWriter, tail};

const BOOT_MAGIC: [u8; 4] = *b"MLB1";
/// magic, checksum, boot count.
const BOOT_RECORD: usize = 4 + 4 + 4;
const CRASH_MAGIC: [u8; 4] = *b"MLC2";
/// Where the crash record starts.
const CRASH: usize = BOOT_RECORD;
/// Offsets in the crash record: magic, checksum, line, column, file
/// length, message length, kind (and padding), boot, uptime.
const CHECKSUM: usize = CRASH + 4;
const LINE: usize = CRASH + 8;
const COLUMN: usize = CRASH + 12;
const FILE_LEN: usize = CRASH + 16;
const MESSAGE_LEN: usize = CRASH + 18;
const KIND: usize = CRASH + 20;
const BOOT: usize = CRASH + 24;
const UPTIME: usize = CRASH + 28;
/// Both records' fixed parts: the texts follow.
const HEADER: usize = CRASH + 32;

/// Where a panic without a location happened.
const UNKNOWN_SITE: ThrowSite<'static> = ThrowSite {
    file: "<unknown>",
    line: 0,
    column: 0,
};

/// The crash's kind.
const PANIC: u8 = 1;
const HARD_FAULT: u8 = 2;

/// RAM that survives a soft reset: the last crash (a panic or a hard
/// fault) and the boot count.
///
/// `N` bytes (at least 96, at most 65,579) hold 44 bytes of headers, the
/// end of the crash's file path (at most half of the rest) and as much of
/// its message as fits. Writing formats the message through an `N`-byte
/// buffer on the crashing stack.
///
/// On a Cortex-M with `cortex-m-rt`, put it in the `.uninit` section, which
/// the runtime neither loads nor zeroes, record from the panic handler (and
/// the hard fault handler), and read it once after boot:
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
/// // After boot, once monlight is set up: `boots_total{reason}`, and the
/// // crash report if the last reset was a crash.
/// MONLIGHT.report_boot(&CRASH.boot(&mut MyChipResetCause));
/// ```
///
/// On the host (or anywhere), the round trip:
///
/// ```
/// use monlight_core::ThrowSite;
/// use monlight_embassy::{CrashSlot, ResetReason, UnknownResetCause};
///
/// static CRASH: CrashSlot<128> = CrashSlot::new();
///
/// CRASH.boot(&mut UnknownResetCause);
/// CRASH.record(ThrowSite { file: "src/main.rs", line: 7, column: 5 }, "index out of bounds");
/// // ... reset ...
/// let boot = CRASH.boot(&mut || ResetReason::Software);
/// assert_eq!((boot.count(), boot.reason()), (2, ResetReason::Panic));
/// let crash = boot.crash().expect("recorded before the reset");
/// assert_eq!(crash.message(), "index out of bounds");
/// assert_eq!((crash.site().line, crash.boot()), (7, 1));
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
    /// is never written; what the RAM holds is checked when it is read.
    pub const fn new() -> Self {
        const {
            assert!(
                N >= 96 && N <= HEADER + u16::MAX as usize,
                "a CrashSlot holds 96 to 65,579 bytes"
            )
        };
        Self {
            bytes: [const { AtomicU8::new(0) }; N],
        }
    }

    /// Counts this boot and reads why the last reset happened: the crash
    /// monlight recorded before it (a panic, a hard fault), taken with it,
    /// or else what `cause` reads from the chip. Call it once per boot,
    /// early.
    ///
    /// The count goes on for as long as the RAM keeps its content: it
    /// starts again at 1 after a power cut, or if the record was corrupt.
    pub fn boot(&self, cause: &mut impl ResetCause) -> Boot<N> {
        // Read (and cleared) whether or not a crash explains the reset.
        let hardware = cause.take_reset_reason();
        let count = self.boot_count().unwrap_or(0).saturating_add(1);
        self.write_boot_count(count);
        let crash = self.take();
        Boot {
            count,
            reason: crash.as_ref().map_or(hardware, Crash::reason),
            crash,
        }
    }

    /// Records a crash at `site` with `message`, as a panic, replacing any
    /// record: after the reset, the boot's reason is
    /// [`ResetReason::Panic`].
    pub fn record(&self, site: ThrowSite<'_>, message: impl fmt::Display) {
        self.record_crash(PANIC, site, |out| {
            let _ = write!(out, "{message}"); // a SliceWriter never fails
        });
    }

    /// Records a panic: its message and location. Call it from the
    /// `#[panic_handler]`, then reset.
    pub fn record_panic(&self, info: &core::panic::PanicInfo<'_>) {
        let site = info.location().map_or(UNKNOWN_SITE, ThrowSite::from);
        self.record(site, info.message());
    }

    /// Records that a panic happened, and nothing of it: for a panic
    /// handler that reads nothing from its `PanicInfo`, so that the linker
    /// drops the program's panic messages, locations and formatting code,
    /// which [`CrashSlot::record_panic`] keeps. The boot after it counts as
    /// [`ResetReason::Panic`] and one report says a panic happened (all
    /// such panics are one group on the tracker).
    ///
    /// ```
    /// use monlight_embassy::{CrashSlot, ResetReason, UnknownResetCause};
    ///
    /// static CRASH: CrashSlot<128> = CrashSlot::new();
    /// CRASH.record_panic_only();
    /// let boot = CRASH.boot(&mut UnknownResetCause);
    /// assert_eq!(boot.reason(), ResetReason::Panic);
    /// assert_eq!(boot.crash().unwrap().site().file, "<unknown>");
    /// ```
    pub fn record_panic_only(&self) {
        self.record_crash(PANIC, UNKNOWN_SITE, |out| {
            let _ = out.write_str("panic (its message and location are not kept)");
        });
    }

    /// Records a hard fault at the faulting instruction `pc`, called from
    /// `lr`: call it from the `HardFault` handler with the exception
    /// frame's values, then reset. It formats nothing.
    ///
    /// The report's throw site is the PC in hex (`at 0x08001234:0:0`), so
    /// faults at one instruction are one group on the tracker; the message
    /// names both addresses, for `addr2line -e firmware.elf`.
    ///
    /// ```
    /// use monlight_embassy::{CrashSlot, ResetReason, UnknownResetCause};
    ///
    /// static CRASH: CrashSlot<128> = CrashSlot::new();
    /// CRASH.record_hard_fault(0x0800_1234, 0x0800_04f1);
    /// let boot = CRASH.boot(&mut UnknownResetCause);
    /// assert_eq!(boot.reason(), ResetReason::HardFault);
    /// let crash = boot.crash().unwrap();
    /// assert_eq!(crash.site().file, "0x08001234");
    /// assert_eq!(crash.message(), "hard fault at pc 0x08001234, lr 0x080004f1");
    /// ```
    pub fn record_hard_fault(&self, pc: u32, lr: u32) {
        let pc_hex = Hex::new(pc);
        let site = ThrowSite {
            file: pc_hex.as_str(),
            line: 0,
            column: 0,
        };
        self.record_crash(HARD_FAULT, site, |out| {
            for part in [
                "hard fault at pc ",
                pc_hex.as_str(),
                ", lr ",
                Hex::new(lr).as_str(),
            ] {
                let _ = out.write_str(part);
            }
        });
    }

    fn record_crash(
        &self,
        kind: u8,
        site: ThrowSite<'_>,
        message: impl FnOnce(&mut SliceWriter<'_>),
    ) {
        self.write_at(CRASH, &[0; 4]); // invalid while half written
        let boot = self.boot_count().unwrap_or(0);
        let mut text = [0u8; N];
        let payload = &mut text[HEADER..];
        let file = tail(site.file, payload.len() / 2);
        payload[..file.len()].copy_from_slice(file.as_bytes());
        let mut writer = SliceWriter::new(&mut payload[file.len()..]);
        message(&mut writer);
        let message_len = writer.len();
        let uptime = u32::try_from(Instant::now().as_secs()).unwrap_or(u32::MAX);
        text[LINE..LINE + 4].copy_from_slice(&site.line.to_le_bytes());
        text[COLUMN..COLUMN + 4].copy_from_slice(&site.column.to_le_bytes());
        text[FILE_LEN..FILE_LEN + 2].copy_from_slice(&(file.len() as u16).to_le_bytes());
        text[MESSAGE_LEN..MESSAGE_LEN + 2].copy_from_slice(&(message_len as u16).to_le_bytes());
        text[KIND] = kind;
        text[BOOT..BOOT + 4].copy_from_slice(&boot.to_le_bytes());
        text[UPTIME..UPTIME + 4].copy_from_slice(&uptime.to_le_bytes());
        let end = HEADER + file.len() + message_len;
        let sum = checksum(&text[LINE..end]);
        text[CHECKSUM..CHECKSUM + 4].copy_from_slice(&sum.to_le_bytes());
        self.write_at(CHECKSUM, &text[CHECKSUM..end]);
        self.write_at(CRASH, &CRASH_MAGIC); // valid from here
    }

    /// The crash recorded before the last reset, if the slot holds a valid
    /// record; the crash is cleared, so each is taken once.
    /// [`CrashSlot::boot`] takes it too: use this only without boot counts.
    pub fn take(&self) -> Option<Crash<N>> {
        let mut bytes = [0u8; N];
        for (byte, cell) in bytes.iter_mut().zip(&self.bytes) {
            *byte = cell.load(Ordering::Relaxed);
        }
        self.write_at(CRASH, &[0; 4]);
        Crash::parse(bytes)
    }

    /// The boot count, if the record is valid.
    fn boot_count(&self) -> Option<u32> {
        let mut record = [0u8; BOOT_RECORD];
        for (byte, cell) in record.iter_mut().zip(&self.bytes) {
            *byte = cell.load(Ordering::Relaxed);
        }
        let sum = u32::from_le_bytes([record[4], record[5], record[6], record[7]]);
        let valid = record[..4] == BOOT_MAGIC && sum == checksum(&record[8..]);
        let boots = u32::from_le_bytes([record[8], record[9], record[10], record[11]]);
        valid.then_some(boots)
    }

    fn write_boot_count(&self, boots: u32) {
        let mut record = [0u8; BOOT_RECORD];
        record[..4].copy_from_slice(&BOOT_MAGIC);
        record[8..12].copy_from_slice(&boots.to_le_bytes());
        let sum = checksum(&record[8..]);
        record[4..8].copy_from_slice(&sum.to_le_bytes());
        self.write_at(0, &[0; 4]); // invalid while half written
        self.write_at(4, &record[4..]);
        self.write_at(0, &BOOT_MAGIC);
    }

    fn write_at(&self, offset: usize, bytes: &[u8]) {
        for (cell, byte) in self.bytes[offset..].iter().zip(bytes) {
            cell.store(*byte, Ordering::Relaxed);
        }
    }
}

/// This boot, as [`CrashSlot::boot`] found it: report it with
/// [`Monlight::report_boot`](crate::Monlight::report_boot).
#[derive(Debug, Clone)]
pub struct Boot<const N: usize> {
    count: u32,
    reason: ResetReason,
    crash: Option<Crash<N>>,
}

impl<const N: usize> Boot<N> {
    /// Boots counted while the RAM kept its content, this one included.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Why the last reset happened.
    pub fn reason(&self) -> ResetReason {
        self.reason
    }

    /// The crash that caused the last reset, if monlight recorded one.
    pub fn crash(&self) -> Option<&Crash<N>> {
        self.crash.as_ref()
    }
}

/// A crash read back from a [`CrashSlot`]: report it with
/// [`Monlight::report_boot`](crate::Monlight::report_boot) or
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
        if bytes[CRASH..CRASH + 4] != CRASH_MAGIC {
            return None;
        }
        let (file_len, message_len) = (u16_at(FILE_LEN), u16_at(MESSAGE_LEN));
        let end = HEADER + file_len + message_len;
        let sum = u32::from_le_bytes(bytes[CHECKSUM..CHECKSUM + 4].try_into().ok()?);
        if end > N || sum != checksum(&bytes[LINE..end]) {
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

    fn u32_at(&self, at: usize) -> u32 {
        u32::from_le_bytes([
            self.bytes[at],
            self.bytes[at + 1],
            self.bytes[at + 2],
            self.bytes[at + 3],
        ])
    }

    /// The panic message (cut to fit the slot), or for a hard fault the
    /// faulting PC and LR.
    pub fn message(&self) -> &str {
        core::str::from_utf8(self.message_bytes()).unwrap_or_default()
    }

    /// Where it panicked (the file path's end if it was cut); for a hard
    /// fault, the PC in hex as the file, line and column 0.
    pub fn site(&self) -> ThrowSite<'_> {
        ThrowSite {
            file: core::str::from_utf8(self.file_bytes()).unwrap_or_default(),
            line: self.u32_at(LINE),
            column: self.u32_at(COLUMN),
        }
    }

    /// [`ResetReason::Panic`] or [`ResetReason::HardFault`].
    pub fn reason(&self) -> ResetReason {
        if self.bytes[KIND] == HARD_FAULT {
            ResetReason::HardFault
        } else {
            ResetReason::Panic
        }
    }

    /// The boot it happened in (see [`Boot::count`]; 0 if
    /// [`CrashSlot::boot`] was never called).
    pub fn boot(&self) -> u32 {
        self.u32_at(BOOT)
    }

    /// Seconds from that boot to the crash.
    pub fn uptime_seconds(&self) -> u32 {
        self.u32_at(UPTIME)
    }
}

impl<const N: usize> fmt::Debug for Crash<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crash")
            .field("reason", &self.reason())
            .field("site", &self.site())
            .field("message", &self.message())
            .field("boot", &self.boot())
            .field("uptime_seconds", &self.uptime_seconds())
            .finish()
    }
}

/// A `u32` as `0x` and eight hex digits, written without `core::fmt` (a
/// hard fault handler should not need the formatting machinery).
struct Hex([u8; 10]);

impl Hex {
    fn new(value: u32) -> Self {
        let mut text = *b"0x00000000";
        for (i, digit) in text[2..].iter_mut().enumerate() {
            let nibble = (value >> (28 - 4 * i)) & 0xf;
            *digit = b"0123456789abcdef"[nibble as usize];
        }
        Self(text)
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: ThrowSite<'static> = ThrowSite {
        file: "src/sensors/boiler.rs",
        line: 42,
        column: 9,
    };

    /// A copy of `slot`'s RAM with byte `at` flipped.
    fn corrupted<const N: usize>(slot: &CrashSlot<N>, at: usize) -> CrashSlot<N> {
        let copy = CrashSlot::<N>::new();
        for (a, b) in copy.bytes.iter().zip(&slot.bytes) {
            a.store(b.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        copy.bytes[at].store(
            copy.bytes[at].load(Ordering::Relaxed) ^ 0x20,
            Ordering::Relaxed,
        );
        copy
    }

    #[test]
    fn round_trip_once() {
        let slot = CrashSlot::<128>::new();
        assert!(slot.take().is_none(), "a zeroed slot holds no crash");
        slot.record(SITE, format_args!("sensor {} failed", 3));
        let crash = slot.take().unwrap();
        assert_eq!(crash.message(), "sensor 3 failed");
        assert_eq!(crash.site(), SITE);
        assert_eq!(crash.reason(), ResetReason::Panic);
        assert!(slot.take().is_none());
    }

    #[test]
    fn long_texts_are_cut_to_fit() {
        let slot = CrashSlot::<96>::new();
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
        assert!(long_path.ends_with(site.file) && site.file.len() <= (96 - HEADER) / 2);
        assert!(site.file.ends_with("module.rs"));
        assert!(!crash.message().is_empty());
        assert!(crash.message().chars().all(|c| c == 'ü'));
        assert!(HEADER + site.file.len() + crash.message().len() <= 96);
    }

    #[test]
    fn noise_is_not_a_crash() {
        let slot = CrashSlot::<96>::new();
        slot.record(SITE, "real");
        // Any single byte of the crash record changed: it is refused.
        for at in CRASH..HEADER + SITE.file.len() + 4 {
            assert!(
                corrupted(&slot, at).take().is_none(),
                "corrupted byte {at} accepted"
            );
        }
        // Pseudo-random RAM with valid magics but nothing else.
        let mut state = 0x1234_5678u32;
        for _ in 0..1000 {
            let noise = CrashSlot::<96>::new();
            for cell in &noise.bytes {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                cell.store(state as u8, Ordering::Relaxed);
            }
            noise.write_at(0, &BOOT_MAGIC);
            noise.write_at(CRASH, &CRASH_MAGIC);
            assert!(noise.boot_count().is_none());
            assert!(noise.take().is_none());
        }
    }

    #[test]
    fn boots_are_counted_across_resets_with_their_reason() {
        let slot = CrashSlot::<128>::new();
        let mut chip = ResetReason::PowerOn;
        let mut cause = || chip;
        let first = slot.boot(&mut cause);
        assert_eq!((first.count(), first.reason()), (1, ResetReason::PowerOn));
        assert!(first.crash().is_none());
        for (count, reason) in [(2, ResetReason::Watchdog), (3, ResetReason::BrownOut)] {
            chip = reason;
            let boot = slot.boot(&mut || chip);
            assert_eq!((boot.count(), boot.reason()), (count, reason));
        }
        // A crash recorded before the reset explains it, once.
        slot.record(SITE, "boom");
        let after_panic = slot.boot(&mut || ResetReason::Software);
        assert_eq!(after_panic.reason(), ResetReason::Panic);
        let crash = after_panic.crash().unwrap();
        assert_eq!((crash.boot(), crash.message()), (3, "boom"));
        let next = slot.boot(&mut || ResetReason::Software);
        assert_eq!((next.count(), next.reason()), (5, ResetReason::Software));
        assert!(next.crash().is_none());
    }

    #[test]
    fn a_hard_fault_names_its_addresses_and_counts_as_one() {
        let slot = CrashSlot::<128>::new();
        slot.boot(&mut || ResetReason::PowerOn);
        slot.record_hard_fault(0xdead_beef, 0x0800_0001);
        let boot = slot.boot(&mut || ResetReason::Software);
        assert_eq!(boot.reason(), ResetReason::HardFault);
        let crash = boot.crash().unwrap();
        assert_eq!(crash.reason(), ResetReason::HardFault);
        assert_eq!(
            crash.site(),
            ThrowSite {
                file: "0xdeadbeef",
                line: 0,
                column: 0
            }
        );
        assert_eq!(
            crash.message(),
            "hard fault at pc 0xdeadbeef, lr 0x08000001"
        );
        assert_eq!(crash.boot(), 1);
    }

    #[test]
    fn a_corrupt_boot_record_starts_the_count_again_and_keeps_the_crash() {
        let slot = CrashSlot::<128>::new();
        for _ in 0..3 {
            slot.boot(&mut || ResetReason::Pin);
        }
        slot.record(SITE, "boom");
        for at in 0..BOOT_RECORD {
            let copy = corrupted(&slot, at);
            let boot = copy.boot(&mut || ResetReason::Software);
            assert_eq!(boot.count(), 1, "corrupted byte {at} accepted");
            // The crash has its own checksum.
            assert_eq!(boot.reason(), ResetReason::Panic);
            assert_eq!(boot.crash().map(Crash::message), Some("boom"));
        }
    }
}
