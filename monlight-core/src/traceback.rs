//! Tracebacks the error tracker groups by throw site.
//!
//! The server fingerprints `project:exception_type:FILE:LINE`, taking FILE
//! and LINE from the *last* Python-style `File "<path>", line <n>` in the
//! traceback, else from the *first* line that contains `at ` and ends in
//! `<file>:<line>[:<col>]`. So the throw site goes on the first line, and
//! text from messages can never produce a Python-style match.

use core::fmt::{self, Display, Write};

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

/// Writes a traceback whose first line is the throw site:
///
/// ```text
/// at src/db.rs:42:17
/// my_app::db::ConnectionError: could not connect
/// Caused by: connection refused
/// ```
///
/// then `detail` (e.g. a trimmed backtrace), if any. Text from the message
/// and causes is written so that it can never look like a Python frame.
///
/// ```
/// use monlight_core::{ThrowSite, write_traceback};
///
/// let site = ThrowSite { file: "src/db.rs", line: 42, column: 17 };
/// let mut text = String::new();
/// write_traceback(&mut text, site, "app::DbError", &"down", ["refused"].iter(), None::<&str>).unwrap();
/// assert_eq!(text, "at src/db.rs:42:17\napp::DbError: down\nCaused by: refused\n");
/// ```
pub fn write_traceback<W, C, D>(
    out: &mut W,
    site: ThrowSite<'_>,
    type_path: &str,
    message: &dyn Display,
    causes: impl Iterator<Item = C>,
    detail: Option<D>,
) -> fmt::Result
where
    W: Write,
    C: Display,
    D: Display,
{
    let mut text = write_head(out, site, type_path)?;
    write!(text, "{message}")?;
    text.write_str("\n")?;
    for cause in causes {
        writeln!(text, "Caused by: {cause}")?;
    }
    if let Some(detail) = detail {
        writeln!(text, "{detail}")?;
    }
    Ok(())
}

/// The traceback of a report whose message is sent on its own and that
/// has no stack to show (firmware): the throw site alone, the line the
/// tracker groups by. Its text comes from the compiler (`file!()`,
/// `Location`), never from a message, so it cannot look like a Python
/// frame.
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
        // Digit by digit: ASCII needs no UTF-8 check (368 bytes of code
        // on a device).
        for &digit in Decimal::new(number.into()).as_bytes() {
            out.write_char(char::from(digit))?;
        }
    }
    out.write_char('\n')
}

/// Writes `at <file>:<line>:<col>` and `<type>: `, and returns the writer
/// for the rest, which keeps text from forming Python frames.
fn write_head<'w, W: Write>(
    out: &'w mut W,
    site: ThrowSite<'_>,
    type_path: &str,
) -> Result<NoPythonFrames<'w, W>, fmt::Error> {
    write_throw_site(out, site)?;
    let mut text = NoPythonFrames { out, tail: [0; 5] };
    text.write_str(type_path)?;
    text.write_str(": ")?;
    Ok(text)
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
    let base = type_path.split('<').next().unwrap_or(type_path);
    let name = base.rsplit("::").next().unwrap_or(base);
    let name = name
        .trim_start_matches(['&', '*', ' '])
        .trim_start_matches("mut ")
        .trim_start_matches("dyn ");
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
        write_traceback(
            &mut text,
            site,
            "T",
            &message,
            core::iter::empty::<&str>(),
            None::<&str>,
        )
        .unwrap();
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
