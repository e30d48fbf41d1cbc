//! The two points every web integration records per request, named and
//! labelled once for all of them (the reference's names and labels).

use crate::Metric;

/// Requests, by method, endpoint and status.
pub(crate) const REQUESTS_TOTAL: &str = "http_requests_total";
/// Request durations in seconds, by method, endpoint and status.
pub(crate) const REQUEST_DURATION: &str = "http_request_duration_seconds";

/// The labels of a request's points: `method`, `endpoint` (the route
/// template, or the raw path), `status` (`"200"`).
pub(crate) fn labels<'a>(
    method: &'a str,
    endpoint: &'a str,
    status: &'a str,
) -> [(&'a str, &'a str); 3] {
    [
        ("method", method),
        ("endpoint", endpoint),
        ("status", status),
    ]
}

/// The counter and the histogram of one request.
pub(crate) fn points<'a>(labels: &'a [(&'a str, &'a str); 3], seconds: f64) -> [Metric<'a>; 2] {
    [
        Metric::counter(REQUESTS_TOTAL, labels, 1.0),
        Metric::histogram(REQUEST_DURATION, labels, seconds),
    ]
}
