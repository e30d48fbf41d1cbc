//! Assertions on what a [`Collector`] received, for users' tests: each
//! failure says what was expected and lists what arrived.

use monlight_core::Endpoint;
use monlight_core::probe_body;
use serde_json::Value;

use super::{Collector, StoredError};

impl Collector {
    /// The metric points named `name` whose labels include every pair in
    /// `labels` (other labels may be there too), in arrival order.
    pub fn points(&self, name: &str, labels: &[(&str, &str)]) -> Vec<Value> {
        self.metrics()
            .into_iter()
            .filter(|point| {
                point["name"] == name
                    && labels
                        .iter()
                        .all(|(key, value)| point["labels"][*key] == *value)
            })
            .collect()
    }

    /// The error reports stored with this `exception_type`.
    pub fn reports_of(&self, exception_type: &str) -> Vec<StoredError> {
        self.errors()
            .into_iter()
            .filter(|report| report.body["exception_type"] == exception_type)
            .collect()
    }

    /// The points [`Collector::points`] finds; panics, listing every point
    /// that arrived, if there is none.
    #[track_caller]
    #[allow(clippy::panic)] // an assertion
    pub fn assert_point(&self, name: &str, labels: &[(&str, &str)]) -> Vec<Value> {
        let found = self.points(name, labels);
        if found.is_empty() {
            let arrived: Vec<String> = self.metrics().iter().map(Value::to_string).collect();
            panic!(
                "no point {name:?} with labels {labels:?} arrived; {} did:\n  {}",
                arrived.len(),
                arrived.join("\n  ")
            );
        }
        found
    }

    /// The reports [`Collector::reports_of`] finds; panics, listing the
    /// types and messages stored, if there is none.
    #[track_caller]
    #[allow(clippy::panic)] // an assertion
    pub fn assert_report(&self, exception_type: &str) -> Vec<StoredError> {
        let found = self.reports_of(exception_type);
        if found.is_empty() {
            let stored: Vec<String> = self
                .errors()
                .iter()
                .map(|report| {
                    format!(
                        "{}: {}",
                        report.body["exception_type"], report.body["message"]
                    )
                })
                .collect();
            panic!(
                "no {exception_type:?} report was stored; {} were:\n  {}",
                stored.len(),
                stored.join("\n  ")
            );
        }
        found
    }

    /// Panics if a request broke the real servers' rules: one they would
    /// refuse (400, 411, 413; the empty probes of `check()` aside) or one
    /// that would hurt them (e.g. a POST without `Content-Length`).
    #[track_caller]
    #[allow(clippy::panic)] // an assertion
    pub fn assert_within_rules(&self) {
        let probes = [probe_body(Endpoint::Metrics), probe_body(Endpoint::Errors)];
        let refused: Vec<String> = self
            .requests()
            .iter()
            .filter(|request| matches!(request.status, Some(400 | 411 | 413)))
            .filter(|request| !probes.contains(&request.body.as_slice()))
            .map(|request| {
                format!(
                    "{} {} answered {:?}: {}",
                    request.method,
                    request.path,
                    request.status,
                    String::from_utf8_lossy(&request.body[..request.body.len().min(200)])
                )
            })
            .chain(self.violations())
            .collect();
        if !refused.is_empty() {
            panic!(
                "{} request(s) the real servers would refuse or suffer:\n  {}",
                refused.len(),
                refused.join("\n  ")
            );
        }
    }
}
