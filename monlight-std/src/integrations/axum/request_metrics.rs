//! `http_requests_total` and `http_request_duration_seconds` for every
//! request, labelled `method`, `endpoint` (the route template) and `status`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use http::{Method, Request, Response, StatusCode, Uri};
use tower::{Layer, Service};

use crate::{Metric, MetricsClient};

/// A tower [`Layer`] that records, for every request, `http_requests_total`
/// (counter, 1) and `http_request_duration_seconds` (histogram, seconds)
/// with the labels `method`, `endpoint` and `status` (`"200"`, `"404"`, ...).
///
/// `endpoint` is the route template (`/users/{id}`) from axum's
/// [`MatchedPath`], which axum sets for layers added with `Router::layer`;
/// without a matched route (a 404, or a plain tower service) it is the raw
/// path. The response is passed on untouched; recording is two appends to
/// the client's buffer, never a network wait, and allocates nothing per
/// request (the labels borrow the route, method and status; both points
/// go in under one lock).
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use monlight_std::MetricsClient;
/// use monlight_std::integrations::axum::RequestMetricsLayer;
///
/// let metrics = MetricsClient::new("http://localhost:5012", "my-key")?;
/// metrics.start();
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "hello" }))
///     .layer(RequestMetricsLayer::new(metrics));
/// # Ok::<(), monlight_std::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct RequestMetricsLayer {
    metrics: MetricsClient,
}

impl RequestMetricsLayer {
    /// Records into `metrics`.
    pub fn new(metrics: MetricsClient) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for RequestMetricsLayer {
    type Service = RequestMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMetrics {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service made by [`RequestMetricsLayer`].
#[derive(Clone, Debug)]
pub struct RequestMetrics<S> {
    inner: S,
    metrics: MetricsClient,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestMetrics<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RecordWhenDone<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let endpoint = match request.extensions().get::<MatchedPath>() {
            Some(route) => Endpoint::Route(route.clone()),
            None => Endpoint::Raw(request.uri().clone()),
        };
        let pending = Pending {
            metrics: self.metrics.clone(),
            method: request.method().clone(),
            endpoint,
            start: Instant::now(),
        };
        RecordWhenDone {
            inner: self.inner.call(request),
            pending: Some(pending),
        }
    }
}

/// The route template, or the raw path when no route matched. Both are
/// cheap clones of what the request already holds.
enum Endpoint {
    Route(MatchedPath),
    Raw(Uri),
}

impl Endpoint {
    fn as_str(&self) -> &str {
        match self {
            Endpoint::Route(route) => route.as_str(),
            Endpoint::Raw(uri) => uri.path(),
        }
    }
}

/// What is known of a request until its response is ready.
struct Pending {
    metrics: MetricsClient,
    method: Method,
    endpoint: Endpoint,
    start: Instant,
}

impl Pending {
    fn record(&self, status: StatusCode) {
        let seconds = self.start.elapsed().as_secs_f64();
        let labels = [
            ("method", self.method.as_str()),
            ("endpoint", self.endpoint.as_str()),
            ("status", status.as_str()),
        ];
        self.metrics.record_all(&[
            Metric::counter("http_requests_total", &labels, 1.0),
            Metric::histogram("http_request_duration_seconds", &labels, seconds),
        ]);
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // A request that ends without a response while a panic unwinds
        // through the handler is a 500 (a request dropped because the
        // client went away is not counted, as in the reference).
        if std::thread::panicking() {
            self.record(StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RequestMetrics`].
    pub struct RecordWhenDone<F> {
        #[pin]
        inner: F,
        pending: Option<Pending>,
    }
}

impl<F, ResBody, E> Future for RecordWhenDone<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = std::task::ready!(this.inner.poll(cx));
        if let Some(pending) = this.pending.take() {
            let status = match &output {
                Ok(response) => response.status(),
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            pending.record(status);
        }
        Poll::Ready(output)
    }
}
