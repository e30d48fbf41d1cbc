//! What happens to a report between the call and its encoding: sampling,
//! `release` and `server_name` in `extra`, and the application's
//! `before_send` hook, which sees (and may change or drop) an
//! [`ErrorEvent`].

use std::cell::Cell;
use std::hash::{BuildHasher, RandomState};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};

use super::RequestContext;

/// An error report about to be encoded, as a `before_send` hook sees it
/// (see [`ErrorClientBuilder::before_send`](super::ErrorClientBuilder::before_send)).
/// Change any field, or return `None` to drop the report.
///
/// - `traceback` starts with the throw site (`at src/db.rs:42:17`), which
///   the tracker groups by: keep that line to keep the grouping.
/// - `context.headers` are as given: the always-excluded headers
///   (`authorization`, `cookie`, `set-cookie`, `x-api-key`) and the
///   client's own exclusions are stripped when the report is encoded,
///   after the hook.
/// - `context.extra` already holds `release` and `server_name`, if set.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ErrorEvent {
    /// `exception_type`: the error type's short name.
    pub exception_type: String,
    /// `message`: the error's own message.
    pub message: String,
    /// `traceback`: the throw site, the type and message, the causes and
    /// any backtrace.
    pub traceback: String,
    /// The request fields and `extra`.
    pub context: RequestContext,
}

/// The hook's type, shared by clones of a client.
pub(crate) type BeforeSend = Arc<dyn Fn(ErrorEvent) -> Option<ErrorEvent> + Send + Sync>;

/// What the application decides about its reports before they are sent.
#[derive(Clone, Default)]
pub(crate) struct ReportPolicy {
    pub(crate) release: Option<String>,
    pub(crate) server_name: Option<String>,
    /// `None`: every report (a rate of 1).
    pub(crate) sample_rate: Option<f64>,
    pub(crate) before_send: Option<BeforeSend>,
}

impl std::fmt::Debug for ReportPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportPolicy")
            .field("release", &self.release)
            .field("server_name", &self.server_name)
            .field("sample_rate", &self.sample_rate)
            .field("before_send", &self.before_send.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

impl ReportPolicy {
    /// `true` if this report is kept by the sample rate.
    pub(crate) fn sampled_in(&self) -> bool {
        self.sample_rate.is_none_or(|rate| random_unit() < rate)
    }

    /// The event as it will be sent, or `None` if `before_send` dropped it
    /// (or panicked: a hook that scrubs data must not be bypassed).
    /// `suppressed`: reports of its group left out since the last one
    /// sent (see `repeats`), added to `extra` when not zero.
    pub(crate) fn apply(&self, mut event: ErrorEvent, suppressed: u64) -> Option<ErrorEvent> {
        let tags = [
            ("release", self.release.clone().map(Value::String)),
            ("server_name", self.server_name.clone().map(Value::String)),
            (
                "suppressed",
                (suppressed > 0).then(|| Value::from(suppressed)),
            ),
        ];
        if tags.iter().any(|(_, value)| value.is_some()) {
            let extra = match event.context.extra.take() {
                Some(Value::Object(map)) => map,
                None => Map::new(),
                // Kept under its own key: only an object can take tags.
                Some(other) => Map::from_iter([("extra".to_owned(), other)]),
            };
            let mut extra = extra;
            for (key, value) in tags {
                if let Some(value) = value {
                    // The report's own `extra` wins.
                    extra.entry(key).or_insert(value);
                }
            }
            event.context.extra = Some(Value::Object(extra));
        }
        let Some(hook) = &self.before_send else {
            return Some(event);
        };
        // A hook that panics reaches the panic hook, which reports the
        // panic through this hook again: that report is dropped here
        // rather than panic inside the panic hook (an abort).
        if IN_HOOK.get() {
            return None;
        }
        IN_HOOK.set(true);
        let result = catch_unwind(AssertUnwindSafe(|| hook(event)));
        IN_HOOK.set(false);
        result.unwrap_or_else(|_| {
            log::warn!("monlight: before_send panicked; the report is dropped");
            None
        })
    }
}

thread_local! {
    /// Set while this thread runs a `before_send` hook.
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// A number in `[0, 1)`: std's per-instance random hash keys, over a
/// counter (sampling needs no better, and no dependency).
fn random_unit() -> f64 {
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    let bits = RandomState::new().hash_one(DRAWS.fetch_add(1, Ordering::Relaxed));
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(extra: Option<Value>) -> ErrorEvent {
        ErrorEvent {
            exception_type: "E".into(),
            message: "m".into(),
            traceback: "at src/a.rs:1:1\n".into(),
            context: RequestContext {
                extra,
                ..RequestContext::default()
            },
        }
    }

    #[test]
    fn release_and_server_name_join_extra_without_overriding_it() {
        let policy = ReportPolicy {
            release: Some("1.4.2".into()),
            server_name: Some("web-3".into()),
            ..ReportPolicy::default()
        };
        let sent = policy
            .apply(
                event(Some(serde_json::json!({"release": "mine", "order": 7}))),
                0,
            )
            .unwrap();
        assert_eq!(
            sent.context.extra,
            Some(serde_json::json!({"release": "mine", "order": 7, "server_name": "web-3"}))
        );
        let wrapped = policy.apply(event(Some(Value::from(3))), 2).unwrap();
        assert_eq!(wrapped.context.extra.as_ref().unwrap()["suppressed"], 2);
        assert_eq!(wrapped.context.extra.unwrap()["extra"], 3);
    }

    #[test]
    fn a_panicking_hook_drops_the_report() {
        let policy = ReportPolicy {
            before_send: Some(Arc::new(|_| panic!("hook bug"))),
            ..ReportPolicy::default()
        };
        assert_eq!(policy.apply(event(None), 0), None);
    }

    #[test]
    fn the_sample_rate_keeps_about_its_share() {
        let policy = ReportPolicy {
            sample_rate: Some(0.25),
            ..ReportPolicy::default()
        };
        let kept = (0..10_000).filter(|_| policy.sampled_in()).count();
        // 2,500 expected; 6 standard deviations (43 each) either way.
        assert!((2_240..=2_760).contains(&kept), "{kept}");
        let none = ReportPolicy {
            sample_rate: Some(0.0),
            ..ReportPolicy::default()
        };
        assert!(!(0..1_000).any(|_| none.sampled_in()));
    }
}
