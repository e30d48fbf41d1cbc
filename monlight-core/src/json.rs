//! A small JSON writer for metric items: the batch is the SDK's hot
//! encoding path, and serde-json-core escapes strings one character at a
//! time (about 5,000 instructions per point, measured with callgrind). This
//! copies runs of plain bytes and writes numbers with ryu, as serde_json
//! does. Escaping follows serde-json-core's, which the error report encoder
//! relies on for its size estimates ([`escaped_len`]).

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

    /// A JSON string: quotes, and escapes for `"`, `\` and control bytes.
    pub(crate) fn string(&mut self, s: &str) -> Option<()> {
        let bytes = s.as_bytes();
        // Names and labels rarely need escaping: check first (a loop the
        // compiler vectorises), then copy in one go.
        if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
            self.raw(b"\"")?;
            self.raw(bytes)?;
            return self.raw(b"\"");
        }
        self.raw(b"\"")?;
        let mut run = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                0x08 => b"\\b",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                0x0c => b"\\f",
                b'\r' => b"\\r",
                0x00..=0x1f => {
                    self.raw(&bytes[run..i])?;
                    self.raw(&[
                        b'\\',
                        b'u',
                        b'0',
                        b'0',
                        HEX[usize::from(b >> 4)],
                        HEX[usize::from(b & 0xf)],
                    ])?;
                    run = i + 1;
                    continue;
                }
                _ => continue,
            };
            self.raw(&bytes[run..i])?;
            self.raw(escape)?;
            run = i + 1;
        }
        self.raw(&bytes[run..])?;
        self.raw(b"\"")
    }

    /// A finite number, formatted as serde_json formats it.
    pub(crate) fn number(&mut self, value: f64) -> Option<()> {
        if !value.is_finite() {
            return self.raw(b"null"); // unreachable: points are validated
        }
        let mut buffer = ryu::Buffer::new();
        self.raw(buffer.format_finite(value).as_bytes())
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Bytes `s` takes inside a JSON string, escaped as serde-json-core and
/// [`JsonWriter::string`] escape it.
pub(crate) fn escaped_len(s: &str) -> usize {
    s.chars().map(escaped_char_len).sum()
}

pub(crate) fn escaped_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\u{8}' | '\t' | '\n' | '\u{c}' | '\r' => 2,
        '\0'..='\u{1f}' => 6,
        _ => c.len_utf8(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            w.string(s).unwrap();
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
        assert!(w.string("abcdef").is_none());
        assert!(JsonWriter::new(&mut out, 0).number(123456.5).is_none());
    }
}
