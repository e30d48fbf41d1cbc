//! The error tracker's grouping rule (PROTOCOL.md, "How the server groups
//! errors").

use md5::{Digest, Md5};

/// fingerprint = md5(`project:exception_type:FILE:LINE`), FILE and LINE from
/// the traceback: the last Python-style `File "<path>", line <n>`; else the
/// first line containing `at ` (or `@`) that ends in `<file>:<line>` or
/// `<file>:<line>:<col>`; else the whole traceback.
pub fn fingerprint(project: &str, exception_type: &str, traceback: &str) -> String {
    let key = match throw_site(traceback) {
        Some((file, line)) => format!("{project}:{exception_type}:{file}:{line}"),
        None => format!("{project}:{exception_type}:{traceback}"),
    };
    Md5::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// FILE and LINE the server would pick.
pub(crate) fn throw_site(traceback: &str) -> Option<(String, String)> {
    python_frame(traceback).or_else(|| traceback.lines().find_map(at_line))
}

fn python_frame(traceback: &str) -> Option<(String, String)> {
    let mut last = None;
    let mut rest = traceback;
    while let Some(start) = rest.find("File \"") {
        let after = &rest[start + 6..];
        if let Some(close) = after.find("\", line ") {
            let digits: String = after[close + 8..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if !digits.is_empty() {
                last = Some((after[..close].to_owned(), digits));
            }
        }
        rest = after;
    }
    last
}

fn at_line(line: &str) -> Option<(String, String)> {
    let start = line
        .find("at ")
        .map(|i| i + 3)
        .or_else(|| line.find('@').map(|i| i + 1))?;
    let text = line[start..].trim();
    // <file>:<line>[:<col>] at the end.
    let (head, last) = text.rsplit_once(':')?;
    if last.is_empty() || !last.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match head.rsplit_once(':') {
        Some((file, line_no))
            if !line_no.is_empty()
                && line_no.chars().all(|c| c.is_ascii_digit())
                && !file.is_empty() =>
        {
            Some((file.to_owned(), line_no.to_owned()))
        }
        _ if !head.is_empty() => Some((head.to_owned(), last.to_owned())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_in_order() {
        let py = "Traceback:\n  File \"a.py\", line 3, in f\n  File \"b.py\", line 9, in g\n";
        assert_eq!(throw_site(py), Some(("b.py".into(), "9".into())));
        let rust = "at src/main.rs:10:5\nError: failed at 10.0.0.1:5432";
        assert_eq!(throw_site(rust), Some(("src/main.rs".into(), "10".into())));
        let message_first = "Error: failed at 10.0.0.1:5432\nat src/main.rs:10:5";
        assert_eq!(
            throw_site(message_first),
            Some(("10.0.0.1".into(), "5432".into()))
        );
        assert_eq!(throw_site("no location here"), None);
        assert_ne!(
            fingerprint("p", "E", "at a.rs:1:1"),
            fingerprint("p", "E", "at a.rs:2:1")
        );
        assert_eq!(
            fingerprint("p", "E", "at a.rs:1:1\nx"),
            fingerprint("p", "E", "at a.rs:1:9\ny")
        );
    }
}
