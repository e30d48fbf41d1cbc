//! Reporting panics.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::{Cell, RefCell};
use std::panic::PanicHookInfo;
use std::sync::Once;

use monlight_core::ThrowSite;

use crate::ErrorClient;

thread_local! {
    /// Set while this thread reports a panic, so a panic inside reporting
    /// is not reported again.
    static REPORTING: Cell<bool> = const { Cell::new(false) };
    /// Set while an integration polls a request handler it will catch
    /// panics of: the panic is then reported by the integration, with the
    /// request, not by the global hook.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// The last panic caught in such a scope on this thread.
    static CAUGHT: RefCell<Option<CaughtPanic>> = const { RefCell::new(None) };
}

#[cfg_attr(not(any(feature = "axum", feature = "actix-web")), allow(dead_code))] // read by the integrations only
/// A panic's message and location, kept for the integration that catches it
/// (a caught payload carries no location).
#[derive(Debug, Clone)]
pub(crate) struct CaughtPanic {
    pub(crate) message: String,
    pub(crate) file: String,
    pub(crate) line: u32,
    pub(crate) column: u32,
}

#[cfg_attr(not(any(feature = "axum", feature = "actix-web")), allow(dead_code))] // read by the integrations only
/// Runs `f` (one poll of a handler) so that a panic inside it is recorded
/// for [`take_caught_panic`] instead of being reported by the global hook.
pub(crate) fn catching<R>(f: impl FnOnce() -> R) -> R {
    ensure_capture_hook();
    let outer = CATCHING.with(|c| c.replace(true));
    let result = f();
    CATCHING.with(|c| c.set(outer));
    result
}

#[cfg_attr(not(any(feature = "axum", feature = "actix-web")), allow(dead_code))] // read by the integrations only
/// The panic recorded by the last [`catching`] scope on this thread.
pub(crate) fn take_caught_panic() -> Option<CaughtPanic> {
    CAUGHT.with(|c| c.borrow_mut().take())
}

#[cfg_attr(not(any(feature = "axum", feature = "actix-web")), allow(dead_code))] // read by the integrations only
/// A caught panic's message and throw site, for its report (placeholders
/// if none was recorded).
pub(crate) fn panic_report_parts(caught: Option<&CaughtPanic>) -> (&str, ThrowSite<'_>) {
    match caught {
        Some(p) => (
            p.message.as_str(),
            ThrowSite {
                file: &p.file,
                line: p.line,
                column: p.column,
            },
        ),
        None => (
            "handler panicked",
            ThrowSite {
                file: "<unknown>",
                line: 0,
                column: 0,
            },
        ),
    }
}

/// Records the panic if the thread is in a [`catching`] scope; `true` then.
fn record_if_caught(info: &PanicHookInfo<'_>) -> bool {
    if !CATCHING.with(Cell::get) {
        return false;
    }
    let location = info.location();
    let caught = CaughtPanic {
        message: panic_message(info),
        file: location.map_or_else(|| "<unknown>".to_owned(), |l| l.file().to_owned()),
        line: location.map_or(0, |l| l.line()),
        column: location.map_or(0, |l| l.column()),
    };
    CAUGHT.with(|c| {
        if let Ok(mut slot) = c.try_borrow_mut() {
            *slot = Some(caught);
        }
    });
    true
}

#[cfg_attr(not(any(feature = "axum", feature = "actix-web")), allow(dead_code))] // read by the integrations only
/// Installs, once per process, a hook that records panics in [`catching`]
/// scopes and otherwise defers to the hook that was there before.
fn ensure_capture_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            record_if_caught(info);
            previous(info);
        }));
    });
}

/// Installs a panic hook that reports every panic to the error tracker, with
/// its message and its location as the throw site, then runs the hook that
/// was installed before (by default: printing the panic).
///
/// The hook never panics and delays the panicking thread by at most the
/// client's `timeout` (default 5 s). Panics caught by the axum integration
/// are reported there, once, with their request. With `RUST_BACKTRACE=1` the report also
/// carries the backtrace, with std, runtime and monlight frames left out.
///
/// ```no_run
/// let client = monlight_std::ErrorClient::new("http://localhost:5010", "my-key")?;
/// monlight_std::install_panic_hook(client);
/// # Ok::<(), monlight_std::ConfigError>(())
/// ```
pub fn install_panic_hook(client: ErrorClient) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A panic an integration catches is reported there, with its request.
        let caught = record_if_caught(info);
        previous(info);
        if caught || REPORTING.with(|r| r.replace(true)) {
            return;
        }
        let backtrace = Backtrace::capture();
        let mut detail = format!(
            "thread '{}'",
            std::thread::current().name().unwrap_or("<unnamed>")
        );
        if backtrace.status() == BacktraceStatus::Captured {
            let frames = application_frames(&backtrace.to_string());
            if !frames.is_empty() {
                detail.push('\n');
                detail.push_str(&frames);
            }
        }
        client.report_panic(&panic_message(info), info.location(), Some(&detail));
        REPORTING.with(|r| r.set(false));
    }));
}

/// The panic's message: the payload when it is a string. As on a device,
/// it is the message alone: the thread goes into the traceback.
pub(crate) fn panic_message(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>")
        .to_owned()
}

/// Frames that are not std, core, alloc, the backtrace machinery, async
/// runtimes or monlight itself, from `Backtrace`'s `Display` text.
pub(crate) fn application_frames(backtrace: &str) -> String {
    const NOT_APPLICATION: [&str; 14] = [
        "std::",
        "core::",
        "alloc::",
        "backtrace::",
        "rust_begin_unwind",
        "__rust",
        "monlight_std::",
        "monlight_core::",
        "tokio::",
        "futures",
        "anyhow::",
        "test::",
        "__libc",
        "_start",
    ];
    let mut out = String::new();
    let mut keep = false;
    for line in backtrace.lines() {
        let trimmed = line.trim_start();
        // "12: symbol" starts a frame; "at file:line:col" lines belong to it.
        if let Some((index, symbol)) = trimmed.split_once(": ")
            && index.chars().all(|c| c.is_ascii_digit())
        {
            let foreign = |path: &str| NOT_APPLICATION.iter().any(|p| path.starts_with(p));
            keep = match symbol.strip_prefix('<').and_then(|s| s.split_once(" as ")) {
                // `<Type as Trait>::method`: the type decides when it is a
                // path of its own (`<my_app::Order as Display>` is yours);
                // a generic `E` or an `fn()` is judged by the trait.
                Some((ty, _)) if ty.contains("::") && !ty.starts_with("fn") => !foreign(ty),
                Some((_, trait_path)) => !foreign(trait_path),
                None => !foreign(symbol.trim_start_matches('<')),
            };
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_application_frames() {
        let bt = "   0: std::backtrace_rs::backtrace::libunwind::trace
             at /rustc/x/library/std/src/../../backtrace/src/backtrace/libunwind.rs:116:5
   1: monlight_std::panic_hook::install_panic_hook::{{closure}}
             at ./monlight-std/src/panic_hook.rs:30:9
   2: my_app::handlers::checkout
             at ./src/handlers.rs:42:17
   3: <tokio::runtime::task::Task as core::future::Future>::poll
             at /cargo/tokio/src/task.rs:1:1
   4: my_app::main
             at ./src/main.rs:7:5
";
        let kept = application_frames(bt);
        assert_eq!(
            kept,
            "   2: my_app::handlers::checkout\n             at ./src/handlers.rs:42:17\n   4: my_app::main\n             at ./src/main.rs:7:5\n"
        );
    }
}
