//! Error reports kept across a reset: each queued report is copied into a
//! slot of RAM that the runtime does not clear, and its slot is cleared
//! once the report is settled (stored, or dropped and counted). After the
//! next boot, the slots still holding a valid report are the reports the
//! reset took from the queue; they are sent first, oldest first.
//!
//! Like [`CrashSlot`](crate::CrashSlot), slots are `AtomicU8`s (no
//! `unsafe`), and a slot is believed only if its magic, checksum, lengths
//! and UTF-8 agree. A report sent but not yet settled when the device
//! resets is sent again after the boot: at least once, never lost.

use core::sync::atomic::{AtomicU8, Ordering};

use monlight_core::{Stats, ThrowSite};

use crate::checksum::checksum;
use crate::errors::{ERROR_FILE_BYTES, ERROR_MESSAGE_BYTES, PendingError, ReportFields};
use crate::text::tail;

/// Bytes of the type path kept (its end, which names the type).
const TYPE_BYTES: usize = 64;
const MAGIC: [u8; 4] = *b"MLQ1";
/// Offsets in a slot: magic, checksum, sequence, line, column, the three
/// lengths (and padding), then the texts at fixed places.
const CHECKSUM: usize = 4;
const SEQUENCE: usize = 8;
const LINE: usize = 12;
const COLUMN: usize = 16;
const LENGTHS: usize = 20;
const TYPE: usize = 24;
const MESSAGE: usize = TYPE + TYPE_BYTES;
const FILE: usize = MESSAGE + ERROR_MESSAGE_BYTES;
/// One slot.
const SLOT: usize = FILE + ERROR_FILE_BYTES;

/// RAM that keeps up to `V` queued error reports across a reset (a
/// watchdog, a brown-out, a panic elsewhere), so that they are reported
/// after the next boot instead of lost. 280 bytes a report.
///
/// Put it in `.uninit`, as the [`CrashSlot`](crate::CrashSlot), and hand it
/// to [`Monlight::keep_reports_in`](crate::Monlight::keep_reports_in) once
/// at boot, before anything is reported:
///
/// ```ignore
/// #[unsafe(link_section = ".uninit.monlight_reports")]
/// static REPORTS: ReportVault<4> = ReportVault::new();
///
/// // In main, first thing:
/// MONLIGHT.keep_reports_in(&REPORTS);
/// ```
pub struct ReportVault<const V: usize> {
    slots: [[AtomicU8; SLOT]; V],
}

impl<const V: usize> Default for ReportVault<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const V: usize> ReportVault<V> {
    /// Empty slots. In a section that survives reset, the initial value is
    /// never written; what the RAM holds is checked when it is read.
    pub const fn new() -> Self {
        const { assert!(V >= 1 && V <= 32, "a ReportVault holds 1 to 32 reports") };
        Self {
            slots: [const { [const { AtomicU8::new(0) }; SLOT] }; V],
        }
    }
}

#[cfg(test)]
impl<const V: usize> ReportVault<V> {
    /// RAM noise: one bit of `slot` flipped.
    pub(crate) fn flip_bit_for_test(&self, slot: usize, byte: usize) {
        self.slots[slot][byte].fetch_xor(1, Ordering::Relaxed);
    }
}

/// A copy of one slot, read out of the vault: its report, if valid.
pub(crate) struct SlotCopy([u8; SLOT]);

impl SlotCopy {
    fn len_at(&self, which: usize) -> usize {
        usize::from(self.0[LENGTHS + which])
    }

    fn u32_at(&self, at: usize) -> u32 {
        u32::from_le_bytes([self.0[at], self.0[at + 1], self.0[at + 2], self.0[at + 3]])
    }

    fn text(&self, at: usize, which: usize) -> Option<&str> {
        core::str::from_utf8(&self.0[at..at + self.len_at(which)]).ok()
    }

    /// The order it was queued in.
    pub(crate) fn sequence(&self) -> u32 {
        self.u32_at(SEQUENCE)
    }

    /// Its report, if the slot holds one: magic, lengths, checksum and
    /// UTF-8 all agree.
    pub(crate) fn fields(&self) -> Option<ReportFields<'_>> {
        let lengths_ok = self.len_at(0) <= TYPE_BYTES
            && self.len_at(1) <= ERROR_MESSAGE_BYTES
            && self.len_at(2) <= ERROR_FILE_BYTES;
        if self.0[..4] != MAGIC
            || !lengths_ok
            || self.u32_at(CHECKSUM) != checksum(&self.0[SEQUENCE..])
        {
            return None;
        }
        Some(ReportFields {
            type_path: self.text(TYPE, 0)?,
            text: self.text(MESSAGE, 1)?,
            site: ThrowSite {
                file: self.text(FILE, 2)?,
                line: self.u32_at(LINE),
                column: self.u32_at(COLUMN),
            },
        })
    }
}

/// What [`Monlight`](crate::Monlight) does with a vault, whatever its size
/// (so that its type does not carry the vault's).
pub(crate) trait Vault: Sync {
    fn slots(&self) -> usize;
    fn read(&self, slot: usize) -> SlotCopy;
    /// The sequence number in `slot`, read alone.
    fn sequence(&self, slot: usize) -> u32;
    fn write(&self, slot: usize, sequence: u32, report: &PendingError);
    fn clear(&self, slot: usize);
}

impl<const V: usize> Vault for ReportVault<V> {
    fn slots(&self) -> usize {
        V
    }

    fn read(&self, slot: usize) -> SlotCopy {
        let mut copy = SlotCopy([0; SLOT]);
        for (byte, cell) in copy.0.iter_mut().zip(&self.slots[slot]) {
            *byte = cell.load(Ordering::Relaxed);
        }
        copy
    }

    fn sequence(&self, slot: usize) -> u32 {
        let cells = &self.slots[slot][SEQUENCE..SEQUENCE + 4];
        u32::from_le_bytes(core::array::from_fn(|i| cells[i].load(Ordering::Relaxed)))
    }

    fn write(&self, slot: usize, sequence: u32, report: &PendingError) {
        let fields = report.fields();
        let mut copy = SlotCopy([0; SLOT]);
        let bytes = &mut copy.0;
        bytes[SEQUENCE..SEQUENCE + 4].copy_from_slice(&sequence.to_le_bytes());
        bytes[LINE..LINE + 4].copy_from_slice(&fields.site.line.to_le_bytes());
        bytes[COLUMN..COLUMN + 4].copy_from_slice(&fields.site.column.to_le_bytes());
        let texts = [
            (TYPE, tail(fields.type_path, TYPE_BYTES)),
            // Both already fit: the queue keeps them at most this long.
            (MESSAGE, fields.text),
            (FILE, fields.site.file),
        ];
        for (which, (at, text)) in texts.into_iter().enumerate() {
            bytes[at..at + text.len()].copy_from_slice(text.as_bytes());
            bytes[LENGTHS + which] = text.len() as u8;
        }
        let sum = checksum(&bytes[SEQUENCE..]);
        bytes[CHECKSUM..CHECKSUM + 4].copy_from_slice(&sum.to_le_bytes());
        bytes[..4].copy_from_slice(&MAGIC);
        let cells = &self.slots[slot];
        cells[0].store(0, Ordering::Relaxed); // invalid while half written
        for (cell, byte) in cells.iter().zip(bytes.iter()).skip(1) {
            cell.store(*byte, Ordering::Relaxed);
        }
        cells[0].store(MAGIC[0], Ordering::Relaxed); // valid from here
    }

    fn clear(&self, slot: usize) {
        self.slots[slot][0].store(0, Ordering::Relaxed);
    }
}

/// The queue's side of the vault: which slots hold reports from before the
/// reset (sent first, oldest first) and which hold copies of the queue.
pub(crate) struct Keeper {
    vault: Option<&'static dyn Vault>,
    /// Slots holding reports from before the last reset.
    restored: u32,
    /// Slots holding copies of reports in the queue.
    copies: u32,
    /// The sequence number of the next copy.
    next_sequence: u32,
}

impl Keeper {
    pub(crate) const fn new() -> Self {
        Self {
            vault: None,
            restored: 0,
            copies: 0,
            next_sequence: 0,
        }
    }

    /// Copies into `vault` from now on, and takes the reports it holds
    /// from before the reset (counted as recorded); returns how many.
    pub(crate) fn keep_in(&mut self, vault: &'static dyn Vault, stats: &mut Stats) -> usize {
        *self = Self::new();
        for slot in 0..vault.slots() {
            let copy = vault.read(slot);
            if copy.fields().is_some() {
                self.restored |= 1 << slot;
                self.next_sequence = self.next_sequence.max(copy.sequence().wrapping_add(1));
            } else {
                vault.clear(slot);
            }
        }
        // Reports queued this boot before the vault was given keep no copy.
        self.vault = Some(vault);
        let restored = self.restored.count_ones();
        stats.recorded += u64::from(restored);
        restored as usize
    }

    /// Copies `error`, about to be queued, into a free slot if there is one.
    pub(crate) fn copy(&mut self, error: &mut PendingError) {
        let Some(vault) = self.vault else { return };
        let taken = self.restored | self.copies;
        if let Some(slot) = (0..vault.slots()).find(|slot| taken & (1 << slot) == 0) {
            vault.write(slot, self.next_sequence, error);
            self.next_sequence = self.next_sequence.wrapping_add(1);
            self.copies |= 1 << slot;
            error.vault_slot = Some(slot as u8);
        }
    }

    /// Reports from before the reset still waiting.
    pub(crate) fn restored(&self) -> usize {
        self.restored.count_ones() as usize
    }

    /// The oldest report from before the reset, copied out.
    pub(crate) fn oldest(&mut self, stats: &mut Stats) -> Option<SlotCopy> {
        let vault = self.vault?;
        while let Some(slot) = self.oldest_slot() {
            let copy = vault.read(slot);
            if copy.fields().is_some() {
                return Some(copy);
            }
            // Overwritten since the boot (a stray write): lost, and counted.
            stats.dropped_invalid += 1;
            self.restored &= !(1 << slot);
        }
        None
    }

    /// Removes the oldest report from before the reset; `false` if none
    /// is left (the queue's front is then the oldest).
    pub(crate) fn remove_oldest(&mut self) -> bool {
        let (Some(vault), Some(slot)) = (self.vault, self.oldest_slot()) else {
            return false;
        };
        self.restored &= !(1 << slot);
        vault.clear(slot);
        true
    }

    /// Clears the copy of `error`, which left the queue.
    pub(crate) fn forget(&mut self, error: &PendingError) {
        if let (Some(vault), Some(slot)) = (self.vault, error.vault_slot) {
            self.copies &= !(1 << slot);
            vault.clear(slot.into());
        }
    }

    fn oldest_slot(&self) -> Option<usize> {
        let vault = self.vault?;
        let next = self.next_sequence;
        (0..vault.slots())
            .filter(|slot| self.restored & (1 << slot) != 0)
            // Oldest: the furthest behind the next number, wrapping.
            .max_by_key(|&slot| next.wrapping_sub(vault.sequence(slot)))
    }
}
