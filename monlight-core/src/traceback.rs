//! Tracebacks the error tracker groups by throw site.
//!
//! The server fingerprints `project:exception_type:FILE:LINE`, taking FILE
//! and LINE from the *last* Python-style `File "<path>", line <n>` in the
//! traceback, else from the *first* line that contains `at ` and ends in
//! `<file>:<line>[:<col>]`. So the throw site goes on the first line, and
//! text from messages can never produce a Python-style match.

use core::fmt::{self, Write};

use crate::decimal::Decimal;

/// Where an error was raised: a source file, line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ThrowSite<'a> {
    /// Source file as the compiler names it, e.g. `src/main.rs`.
    pub file: &'a str,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl ThrowSite<'static> {
    /// The location of the caller of a `#[track_caller]` function.
    ///
    /// ```
    /// use monlight_core::ThrowSite;
    ///
    /// #[track_caller]
    /// fn here() -> ThrowSite<'static> {
    ///     ThrowSite::caller()
    /// }
    /// let site = here();
    /// assert_eq!(site.line, line!() - 1);
    /// ```
    #[track_caller]
    pub fn caller() -> Self {
        core::panic::Location::caller().into()
    }
}

impl<'a> From<&'a core::panic::Location<'a>> for ThrowSite<'a> {
    fn from(location: &'a core::panic::Location<'a>) -> Self {
        Self {
            file: location.file(),
            line: location.line(),
            column: location.column(),
        }
    }
}

/// The `exception_type` of a panic, on every platform: a panic at one line
/// of a crate shared by firmware and server makes one group.
pub const PANIC_TYPE: &str = "Panic";

/// The text fields of an error report, built from its parts the same way
/// on a device and on a server, so that one failure gives the same
/// `exception_type`, `message` and `traceback` (and lands in the same
/// group) wherever it is reported:
///
/// - `exception_type`: the short name of the type ([`short_type_name`]);
/// - `message`: the error's own message, without its causes;
/// - `traceback`: the throw site (the line the tracker groups by), then
///   `<type path>: <message>`, one `Caused by: <cause>` per cause and the
///   detail (e.g. a trimmed backtrace), if any.
///
/// It writes with `write_str` alone (no `core::fmt` machinery, which a
/// device may do without), and so that no text from a message or cause
/// can look like a Python frame, which the tracker would prefer over the
/// throw site.
///
/// ```
/// use monlight_core::{ReportText, ThrowSite};
///
/// let text = ReportText {
///     type_path: "app::db::DbError",
///     message: "down",
///     causes: ["connection refused"],
///     site: ThrowSite { file: "src/db.rs", line: 42, column: 17 },
///     detail: None,
/// };
/// assert_eq!(text.exception_type(), "DbError");
/// let mut traceback = String::new();
/// text.write_traceback(&mut traceback).unwrap();
/// assert_eq!(
///     traceback,
///     "at src/db.rs:42:17\napp::db::DbError: down\nCaused by: connection refused\n"
/// );
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ReportText<'a, C> {
    /// The error's type, with its module path (`core::any::type_name`).
    pub type_path: &'a str,
    /// The error's own message.
    pub message: &'a str,
    /// Its causes, outermost first: anything iterable over `&str` (an
    /// array, `slice.iter().copied()`, a `split`).
    pub causes: C,
    /// Where it was raised.
    pub site: ThrowSite<'a>,
    /// More lines for the traceback, e.g. a backtrace.
    pub detail: Option<&'a str>,
}

impl<'a, C> ReportText<'a, C> {
    /// The `exception_type` field.
    pub fn exception_type(&self) -> &'a str {
        short_type_name(self.type_path)
    }
}

impl<'a, C> ReportText<'a, C>
where
    C: IntoIterator<Item = &'a str> + Clone,
{
    /// Writes the `traceback` field.
    pub fn write_traceback<W: Write>(&self, out: &mut W) -> fmt::Result {
        write_throw_site(out, self.site)?;
        let mut text = NoPythonFrames { out, tail: [0; 5] };
        text.write_str(self.type_path)?;
        text.write_str(": ")?;
        text.write_str(self.message)?;
        text.write_str("\n")?;
        for cause in self.causes.clone() {
            text.write_str("Caused by: ")?;
            text.write_str(cause)?;
            text.write_str("\n")?;
        }
        if let Some(detail) = self.detail {
            text.write_str(detail)?;
            text.write_str("\n")?;
        }
        Ok(())
    }
}

/// The first line of a traceback: the throw site, the line the tracker
/// groups by. Its text comes from the compiler (`file!()`, `Location`),
/// never from a message, so it cannot look like a Python frame.
///
/// ```
/// use monlight_core::{ThrowSite, write_throw_site};
///
/// let site = ThrowSite { file: "src/main.rs", line: 7, column: 5 };
/// let mut text = String::new();
/// write_throw_site(&mut text, site).unwrap();
/// assert_eq!(text, "at src/main.rs:7:5\n");
/// ```
pub fn write_throw_site<W: Write>(out: &mut W, site: ThrowSite<'_>) -> fmt::Result {
    out.write_str("at ")?;
    out.write_str(site.file)?;
    for number in [site.line, site.column] {
        out.write_char(':')?;
        write_decimal(out, number.into())?;
    }
    out.write_char('\n')
}

/// Writes `value` in decimal without `core::fmt`, whose integer machinery
/// a device that formats nothing else would carry for it.
///
/// ```
/// let mut text = String::new();
/// monlight_core::write_decimal(&mut text, 4_294_967_296).unwrap();
/// assert_eq!(text, "4294967296");
/// ```
pub fn write_decimal<W: Write>(out: &mut W, value: u64) -> fmt::Result {
    // Digit by digit: ASCII needs no UTF-8 check (368 bytes of code on a
    // device).
    for &digit in Decimal::new(value).as_bytes() {
        out.write_char(char::from(digit))?;
    }
    Ok(())
}

/// Replaces the quote in `File "` by an apostrophe, so no text from a
/// message forms `File "<path>", line <n>`, which the server would prefer
/// over the throw site. The last five bytes written are kept across calls.
struct NoPythonFrames<'w, W> {
    out: &'w mut W,
    tail: [u8; 5],
}

impl<W: Write> Write for NoPythonFrames<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut start = 0;
        for (i, byte) in s.bytes().enumerate() {
            if byte == b'"' && &self.tail == b"File " {
                // `get`: `i` is at a `"`, a boundary; slicing would link
                // the panic path for the case that cannot happen.
                self.out.write_str(s.get(start..i).unwrap_or_default())?;
                self.out.write_char('\'')?;
                start = i + 1;
            }
            self.tail.copy_within(1.., 0);
            self.tail[4] = byte;
        }
        self.out.write_str(s.get(start..).unwrap_or_default())
    }
}

/// The short name of a type, as Python's `__qualname__` of a class: no
/// module path, no generic arguments.
///
/// ```
/// use monlight_core::short_type_name;
///
/// assert_eq!(short_type_name("my_app::db::ConnectionError"), "ConnectionError");
/// assert_eq!(short_type_name("my_app::Wrapper<std::io::Error>"), "Wrapper");
/// assert_eq!(short_type_name("&str"), "str");
/// ```
pub fn short_type_name(type_path: &str) -> &str {
    // Byte by byte: `str`'s pattern searchers cost a device 2 KB of flash.
    // Every byte looked for is ASCII, so each cut is a character boundary.
    let bytes = type_path.as_bytes();
    let base = bytes.iter().position(|&b| b == b'<').unwrap_or(bytes.len());
    let start = (1..base)
        .rev()
        .find(|&i| bytes[i] == b':' && bytes[i - 1] == b':')
        .map_or(0, |i| i + 1);
    let mut name = type_path.get(start..base).unwrap_or(type_path);
    loop {
        let trimmed = match name.as_bytes() {
            [b'&' | b'*' | b' ', ..] => name.get(1..),
            [b'm', b'u', b't', b' ', ..] | [b'd', b'y', b'n', b' ', ..] => name.get(4..),
            _ => None,
        };
        match trimmed {
            Some(rest) => name = rest,
            None => break,
        }
    }
    if name.is_empty() { type_path } else { name }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    #[test]
    fn python_frames_in_messages_are_defused() {
        let site = ThrowSite {
            file: "src/a.rs",
            line: 1,
            column: 2,
        };
        let mut text = String::new();
        let message = "bad File \"x.py\", line 3 and File \"y.py\", line 4";
        let report = ReportText {
            type_path: "T",
            message,
            causes: [],
            site,
            detail: None,
        };
        report.write_traceback(&mut text).unwrap();
        assert!(!text.contains("File \""), "{text}");
        assert!(text.starts_with("at src/a.rs:1:2\n"));
        assert!(text.contains("bad File 'x.py\", line 3"));
    }

    #[test]
    fn split_writes_are_defused_too() {
        let mut text = String::new();
        let mut w = NoPythonFrames {
            out: &mut text,
            tail: [0; 5],
        };
        w.write_str("Fi").unwrap();
        w.write_str("le ").unwrap();
        w.write_str("\"z.py\", line 9").unwrap();
        assert_eq!(text, "File 'z.py\", line 9");
    }

    #[test]
    fn short_names() {
        assert_eq!(
            short_type_name("core::num::error::ParseIntError"),
            "ParseIntError"
        );
        assert_eq!(short_type_name("Plain"), "Plain");
        assert_eq!(short_type_name("a::B<c::D<e::F>>"), "B");
        assert_eq!(short_type_name("dyn core::error::Error"), "Error");
    }
}
