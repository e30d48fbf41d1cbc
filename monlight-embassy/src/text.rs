//! Bounded UTF-8 text: messages and file names kept in fixed arrays, cut at
//! a character boundary when they do not fit.

use core::fmt::{self, Write};

/// Writes into a byte slice; the first fragment that does not fit is cut at
/// a character boundary and everything after it is ignored, so the text
/// stays a prefix of what was written.
pub(crate) struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
    full: bool,
}

impl<'a> SliceWriter<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Self {
            buf,
            len: 0,
            full: false,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.full {
            return Ok(());
        }
        let fits = head(s, self.buf.len() - self.len);
        let end = self.len + fits.len();
        self.buf[self.len..end].copy_from_slice(fits.as_bytes());
        self.len = end;
        self.full = fits.len() < s.len();
        Ok(())
    }
}

/// The first `max` bytes of `text`, ending at a character boundary: what
/// both writers keep of a fragment.
fn head(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// The last `max` bytes of `text`, starting at a character boundary.
pub(crate) fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text.get(start..).unwrap_or_default()
}

/// An error message: plain text (`"no answer"`, written without
/// `core::fmt`, which costs about 1 KB of `.text` on a device that does
/// without it) or formatted (`format_args!("sensor {id} silent")`).
///
/// A value that implements `Display` is given as `format_args!("{value}")`.
pub trait ErrorMessage {
    /// Writes the message.
    fn write_to(&self, out: &mut impl Write) -> fmt::Result;
}

impl ErrorMessage for &str {
    fn write_to(&self, out: &mut impl Write) -> fmt::Result {
        out.write_str(self)
    }
}

impl ErrorMessage for fmt::Arguments<'_> {
    fn write_to(&self, out: &mut impl Write) -> fmt::Result {
        out.write_fmt(*self)
    }
}

/// UTF-8 text of at most `N` bytes, stored inline: a `heapless::String`,
/// so reading it back as `&str` needs no UTF-8 check (core's checker is
/// 368 bytes of code on a device).
#[derive(Clone, Default)]
pub(crate) struct FixedText<const N: usize>(heapless::String<N>);

impl<const N: usize> FixedText<N> {
    /// `message`, cut to `N` bytes as [`SliceWriter`] cuts.
    pub(crate) fn new(message: &impl ErrorMessage) -> Self {
        let mut text = Self::default();
        let _ = message.write_to(&mut text.writer()); // it never fails
        text
    }

    /// The last `N` bytes of `text` (for paths, whose end names the file).
    pub(crate) fn tail_of(text: &str) -> Self {
        Self::new(&tail(text, N))
    }

    /// A writer that appends, cutting as [`SliceWriter`] does.
    pub(crate) fn writer(&mut self) -> impl Write + '_ {
        TextWriter {
            text: &mut self.0,
            full: false,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

struct TextWriter<'a, const N: usize> {
    text: &'a mut heapless::String<N>,
    full: bool,
}

impl<const N: usize> Write for TextWriter<'_, N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.full {
            return Ok(());
        }
        let fits = head(s, N - self.text.len());
        let _ = self.text.push_str(fits); // fits: at most the room left
        self.full = fits.len() < s.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_a_character_boundary_and_stops() {
        let text = FixedText::<6>::new(&format_args!("{}{}", "añb", "cdef"));
        assert_eq!(text.as_str(), "añbcd"); // "ñ" is two bytes
        let cut = FixedText::<4>::new(&format_args!("{}{}", "abc", "ñ"));
        assert_eq!(cut.as_str(), "abc");
        let stopped = FixedText::<5>::new(&format_args!("{}{}{}", "abc", "ñññ", "x"));
        assert_eq!(stopped.as_str(), "abcñ", "nothing after a cut fragment");
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(
            FixedText::<7>::tail_of("/long/path/src/main.rs").as_str(),
            "main.rs"
        );
        assert_eq!(FixedText::<3>::tail_of("añb").as_str(), "ñb");
        assert_eq!(FixedText::<2>::tail_of("añ").as_str(), "ñ");
        assert_eq!(FixedText::<1>::tail_of("ñ").as_str(), "");
    }
}
