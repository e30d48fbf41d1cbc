//! The JSON writer for metric items and error reports. serde-json-core
//! escapes strings one character at a time (about 5,000 instructions per
//! metric point, measured with callgrind); this copies runs of plain bytes
//! and writes numbers with ryu, as serde_json does (on bare metal with the
//! smaller exact formatter in `float`). It escapes exactly as
//! serde-json-core does (a test compares byte for byte), so
//! [`escaped_len`] sizes its strings exactly; serde-json-core still writes
//! a report's `extra`, which is any `Serialize`.

#[cfg(target_pointer_width = "64")]
use crate::decimal::{Decimal, write_padded};

/// Writes into a fixed slice; every method fails (`None`) rather than
/// overflow, leaving the written length unchanged on failure of a whole item
/// (the caller keeps its own start position).
pub(crate) struct JsonWriter<'o> {
    out: &'o mut [u8],
    pub(crate) pos: usize,
}

impl<'o> JsonWriter<'o> {
    pub(crate) fn new(out: &'o mut [u8], pos: usize) -> Self {
        Self { out, pos }
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.pos.checked_add(bytes.len())?;
        self.out.get_mut(self.pos..end)?.copy_from_slice(bytes);
        self.pos = end;
        Some(())
    }

    /// Bytes `start..end` written earlier, again (`None` if they are not
    /// behind the position or do not fit).
    #[cfg(target_pointer_width = "64")]
    pub(crate) fn copy_within(&mut self, start: usize, end: usize) -> Option<()> {
        // Split, not `slice::copy_within`: its panic paths cost 128 bytes
        // of flash.
        let (written, room) = self.out.split_at_mut_checked(self.pos)?;
        let bytes = written.get(start..end)?;
        room.get_mut(..bytes.len())?.copy_from_slice(bytes);
        self.pos += bytes.len();
        Some(())
    }

    /// A JSON string from UTF-8 bytes: quotes, and escapes for `"`, `\\`
    /// and control bytes (multi-byte characters pass through unchanged).
    pub(crate) fn string(&mut self, bytes: &[u8]) -> Option<()> {
        // Names and labels rarely need escaping: check first (a fold
        // without early exit, which the compiler vectorises), then copy
        // quotes and text under one bounds check.
        let plain = !bytes.iter().fold(false, |seen, &b| seen | needs_escape(b));
        if plain {
            let end = self.pos.checked_add(bytes.len() + 2)?;
            let out = self.out.get_mut(self.pos..end)?;
            let (open, rest) = out.split_first_mut()?;
            let (close, text) = rest.split_last_mut()?;
            *open = b'"';
            text.copy_from_slice(bytes);
            *close = b'"';
            self.pos = end;
            return Some(());
        }
        self.raw(b"\"")?;
        self.escaped(bytes)?;
        self.raw(b"\"")
    }

    /// The inside of a JSON string: `bytes` escaped, without quotes.
    pub(crate) fn escaped(&mut self, bytes: &[u8]) -> Option<()> {
        let mut run = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if !needs_escape(b) {
                continue;
            }
            self.raw(bytes.get(run..i)?)?;
            let short = match b {
                b'"' | b'\\' => b,
                0x08 => b'b',
                b'\t' => b't',
                b'\n' => b'n',
                0x0c => b'f',
                b'\r' => b'r',
                _ => 0,
            };
            match short {
                0 => self.raw(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ])?,
                _ => self.raw(&[b'\\', short])?,
            }
            run = i + 1;
        }
        self.raw(bytes.get(run..)?)
    }

    /// Any serializable value (a report's `extra`), leaving `keep` bytes
    /// free after it.
    pub(crate) fn value<T: serde::Serialize>(&mut self, value: &T, keep: usize) -> Option<()> {
        let end = self.out.len().checked_sub(keep)?;
        let room = self.out.get_mut(self.pos..end)?;
        self.pos += serde_json_core::to_slice(value, room).ok()?;
        Some(())
    }

    /// `Some` if `keep` bytes are still free.
    pub(crate) fn has_room(&self, keep: usize) -> Option<()> {
        (self.out.len() - self.pos >= keep).then_some(())
    }

    /// A finite number, formatted as serde_json formats it (on bare metal:
    /// 17 exactly rounded digits, see `float`).
    pub(crate) fn number(&mut self, value: f64) -> Option<()> {
        if !value.is_finite() {
            return self.raw(b"null"); // unreachable: points are validated
        }
        // Whole numbers (counter increments, most points) as ryu writes
        // them, `-3.0`, without its ~600 instructions. ryu switches to
        // exponents from 1e16; -0.0 keeps its sign through ryu. Only on
        // 64-bit targets: where f64 is emulated (Cortex-M), the comparisons
        // and conversions would add ~1 KB of code to save little.
        #[cfg(target_pointer_width = "64")]
        if value.abs() < 1e15
            && value == (value as i64) as f64
            && value.to_bits() != (-0.0f64).to_bits()
        {
            if value < 0.0 {
                self.raw(b"-")?;
            }
            self.raw(Decimal::new(value.abs() as u64).as_bytes())?;
            return self.raw(b".0");
        }
        // Durations (a `Duration`'s whole nanoseconds in seconds: request
        // latencies, most histogram points) as ryu writes them,
        // `0.000123456`, without its ~480 instructions. Below 2^23 s a
        // double's spacing is under a nanosecond, so the nanosecond text is
        // the shortest that parses back, as ryu's is; below 1e-5 ryu
        // switches to exponents.
        #[cfg(target_pointer_width = "64")]
        if (1e-5..8_388_608.0).contains(&value) {
            let nanos = (value * 1e9 + 0.5) as u64;
            if nanos as f64 / 1e9 == value {
                let mut fraction = [0u8; 9];
                write_padded(&mut fraction, (nanos % 1_000_000_000) as u32);
                let digits = fraction
                    .iter()
                    .rposition(|&d| d != b'0')
                    .map_or(1, |last| last + 1);
                self.raw(Decimal::new(nanos / 1_000_000_000).as_bytes())?;
                self.raw(b".")?;
                return self.raw(&fraction[..digits]);
            }
        }
        #[cfg(not(target_os = "none"))]
        {
            let mut buffer = ryu::Buffer::new();
            self.raw(buffer.format_finite(value).as_bytes())
        }
        // On bare metal (a microcontroller's flash), about 1 KB of exact
        // arithmetic instead of ryu's 3.3 KB and its tables (see `float`).
        #[cfg(target_os = "none")]
        {
            let mut text = [0u8; crate::float::MAX_LEN];
            let len = crate::float::write_exact(value, &mut text);
            self.raw(&text[..len])
        }
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// `"`, `\\` and control bytes are escaped in JSON strings.
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Bytes `s` takes inside a JSON string, escaped as serde-json-core and
/// [`JsonWriter::string`] escape it.
pub(crate) fn escaped_len(s: &str) -> usize {
    s.bytes().map(escaped_byte_len).sum()
}

/// Bytes one byte of a UTF-8 string takes escaped: only ASCII bytes are
/// ever escaped, so a multi-byte character counts its own bytes. (Byte by
/// byte rather than `char` by `char`: decoding characters costs code on a
/// device and changes nothing here.)
pub(crate) fn escaped_byte_len(b: u8) -> usize {
    match b {
        b'"' | b'\\' | 0x08 | b'\t' | b'\n' | 0x0c | b'\r' => 2,
        0..=0x1f => 6,
        _ => 1,
    }
}

/// Whether `b` begins a character in UTF-8 (it is not a continuation
/// byte, `0b10xx_xxxx`).
pub(crate) fn starts_char(b: u8) -> bool {
    (b & 0xc0) != 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_ryu_writes_them() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut values = std::vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            1e15 - 1.0,
            -(1e15 - 1.0),
            1e15,
            1e16,
            123.25
        ];
        for _ in 0..20_000 {
            let r = next();
            values.push((r % 2_000_000_000_000_000) as f64 - 1e15); // whole numbers around the cut
            values.push(f64::from_bits(r)); // anything
            values.push((r % 1000) as f64 / 8.0);
            // Durations of every scale, from a nanosecond to four months,
            // as `Duration` converts them and as whole nanoseconds / 1e9.
            let nanos = r % 10u64.pow(1 + (r % 16) as u32);
            values.push(core::time::Duration::from_nanos(nanos).as_secs_f64());
            values.push(nanos as f64 / 1e9);
        }
        for value in values.into_iter().filter(|v| v.is_finite()) {
            let mut out = [0u8; 32];
            let mut w = JsonWriter::new(&mut out, 0);
            w.number(value).unwrap();
            let len = w.pos;
            let ours = core::str::from_utf8(&out[..len]).unwrap();
            assert_eq!(ours, ryu::Buffer::new().format_finite(value), "{value:?}");
        }
    }

    #[test]
    fn strings_escape_like_serde_json_core() {
        for s in [
            "plain",
            "q\"b\\s",
            "ctl\u{0}\u{1f}\n\t\r\u{8}\u{c}",
            "é😀/",
            "",
        ] {
            let mut ours = [0u8; 128];
            let mut w = JsonWriter::new(&mut ours, 0);
            w.string(s.as_bytes()).unwrap();
            let len = w.pos;
            let mut theirs = [0u8; 128];
            let n = serde_json_core::to_slice(s, &mut theirs).unwrap();
            assert_eq!(&ours[..len], &theirs[..n], "{s:?}");
            assert_eq!(len, escaped_len(s) + 2);
        }
    }

    #[test]
    fn overflow_is_refused() {
        let mut out = [0u8; 4];
        let mut w = JsonWriter::new(&mut out, 0);
        assert!(w.string(b"abcdef").is_none());
        assert!(JsonWriter::new(&mut out, 0).number(123456.5).is_none());
    }
}
