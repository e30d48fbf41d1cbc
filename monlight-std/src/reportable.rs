//! What can be reported: any `std::error::Error`, a `dyn Error` (e.g. the
//! inside of an `anyhow::Error`), or a bare message.

use std::borrow::Cow;
use std::error::Error;

/// Something the [`ErrorClient`](crate::ErrorClient) can report: its type,
/// its message and its chain of causes.
///
/// Implemented for every `E: Error + 'static` (the type name comes from the
/// static type), for `dyn Error` trait objects (so `&*anyhow_error` works;
/// the type name is read from the error's `Debug` form), and for `str`
/// (a bare message, type `"Message"`).
pub trait Reportable {
    /// The full type path, e.g. `my_app::db::ConnectionError`.
    fn type_path(&self) -> Cow<'_, str>;

    /// The error itself, whose `Display` is the message and whose
    /// `source()` chain the causes; `None` for a bare message.
    fn as_error(&self) -> Option<&(dyn Error + 'static)>;

    /// The message: the error's `Display`.
    fn message(&self) -> String {
        self.as_error().map(ToString::to_string).unwrap_or_default()
    }
}

impl<E: Error + 'static> Reportable for E {
    fn type_path(&self) -> Cow<'_, str> {
        Cow::Borrowed(std::any::type_name::<E>())
    }

    fn as_error(&self) -> Option<&(dyn Error + 'static)> {
        Some(self)
    }
}

impl Reportable for dyn Error + 'static {
    fn type_path(&self) -> Cow<'_, str> {
        dyn_type_path(self)
    }

    fn as_error(&self) -> Option<&(dyn Error + 'static)> {
        Some(self)
    }
}

impl Reportable for dyn Error + Send + Sync + 'static {
    fn type_path(&self) -> Cow<'_, str> {
        dyn_type_path(self)
    }

    fn as_error(&self) -> Option<&(dyn Error + 'static)> {
        Some(self)
    }
}

impl Reportable for str {
    fn type_path(&self) -> Cow<'_, str> {
        Cow::Borrowed("Message")
    }

    fn as_error(&self) -> Option<&(dyn Error + 'static)> {
        None
    }

    fn message(&self) -> String {
        self.to_owned()
    }
}

/// A log line or event reported as an error: a message under a type name
/// (its target), without causes.
#[cfg_attr(not(any(feature = "tracing", feature = "log")), allow(dead_code))]
pub(crate) struct Message {
    pub(crate) type_path: String,
    pub(crate) text: String,
}

impl Reportable for Message {
    fn type_path(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.type_path)
    }

    fn as_error(&self) -> Option<&(dyn Error + 'static)> {
        None
    }

    fn message(&self) -> String {
        self.text.clone()
    }
}

/// Targets and threads of monlight itself, whose log lines and events are
/// never reported (a failing report cannot report itself).
#[cfg_attr(not(any(feature = "tracing", feature = "log")), allow(dead_code))]
pub(crate) fn is_monlight(target: &str) -> bool {
    target.starts_with("monlight")
        || std::thread::current()
            .name()
            .is_some_and(|name| name.starts_with("monlight-"))
}

/// A trait object hides its type; a derived `Debug` starts with the type's
/// name (`ParseIntError { kind: InvalidDigit }`), which is the best guess
/// left. `io::Error` is recognised by downcast (its `Debug` names a variant).
pub(crate) fn dyn_type_path(error: &(dyn Error + 'static)) -> Cow<'static, str> {
    if error.is::<std::io::Error>() {
        return Cow::Borrowed("std::io::Error");
    }
    type_name_from_debug(error).map_or(Cow::Borrowed("Error"), Cow::Owned)
}

/// The type name a derived `Debug` starts with (`ParseIntError { .. }`,
/// `Timeout(5)`, `Closed`), if it looks like one.
pub(crate) fn type_name_from_debug(value: &dyn std::fmt::Debug) -> Option<String> {
    let debug = format!("{value:?}");
    let name: String = debug
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let rest = &debug[name.len()..];
    let looks_like_type = name.starts_with(|c: char| c.is_ascii_uppercase())
        && (rest.is_empty() || rest.starts_with([' ', '(', '{']));
    looks_like_type.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::num::ParseIntError);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("bad config")
        }
    }
    impl Error for Outer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn static_and_dynamic_type_names() {
        let Err(parse) = "x".parse::<u8>() else {
            unreachable!()
        };
        assert_eq!(parse.type_path(), "core::num::error::ParseIntError");
        let boxed: Box<dyn Error + Send + Sync> = Box::new(Outer(parse.clone()));
        assert_eq!((*boxed).type_path(), "Outer");
        assert_eq!((*boxed).message(), "bad config");
        let io: Box<dyn Error + Send + Sync> = Box::new(std::io::Error::other("x"));
        assert_eq!((*io).type_path(), "std::io::Error");
        let adhoc: Box<dyn Error + Send + Sync> = "just text".into();
        assert_eq!((*adhoc).type_path(), "Error");
        assert_eq!("disk full".type_path(), "Message");
        assert_eq!("disk full".message(), "disk full");
    }
}
