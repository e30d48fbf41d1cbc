//! `http_requests_total` and `http_request_duration_seconds` for every
//! request, labelled `method`, `endpoint` (the route template) and `status`.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use http::{Method, Request, Response, StatusCode, Uri};
use tower::{Layer, Service};

use crate::integrations::http_points;
use crate::recent::Recent;
use crate::{Metric, MetricsClient};

/// A tower [`Layer`] that records, for every request, `http_requests_total`
/// (counter, 1) and `http_request_duration_seconds` (histogram, seconds)
/// with the labels `method`, `endpoint` and `status` (`"200"`, `"404"`, ...).
///
/// `endpoint` is the route template (`/users/{id}`) from axum's
/// [`MatchedPath`], which axum sets for layers added with `Router::layer`;
/// without a matched route (a 404, or a plain tower service) it is the raw
/// path, as the reference client does. Beware scanners: every path they
/// try becomes a series of its own, on the dashboard and in the client's
/// series table; [`RequestMetricsLayer::unmatched_endpoint`] gives all
/// unmatched requests one label instead. The response is passed on untouched; recording is two appends to
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
    unmatched: Option<Arc<str>>,
}

impl RequestMetricsLayer {
    /// Records into `metrics`.
    pub fn new(metrics: MetricsClient) -> Self {
        Self {
            metrics,
            unmatched: None,
        }
    }

    /// The `endpoint` label of requests no route matched (404s, most of
    /// them from scanners), instead of their raw path: one series for all
    /// of them, e.g. `"unmatched"`.
    ///
    /// ```no_run
    /// # let metrics = monlight_std::MetricsClient::new("http://localhost:5012", "my-key")?;
    /// use monlight_std::integrations::axum::RequestMetricsLayer;
    /// let layer = RequestMetricsLayer::new(metrics).unmatched_endpoint("unmatched");
    /// # Ok::<(), monlight_std::ConfigError>(())
    /// ```
    #[must_use]
    pub fn unmatched_endpoint(mut self, label: impl Into<Arc<str>>) -> Self {
        self.unmatched = Some(label.into());
        self
    }
}

impl<S> Layer<S> for RequestMetricsLayer {
    type Service = RequestMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMetrics {
            inner,
            metrics: self.metrics.clone(),
            unmatched: self.unmatched.clone(),
        }
    }
}

/// The service made by [`RequestMetricsLayer`].
#[derive(Clone, Debug)]
pub struct RequestMetrics<S> {
    inner: S,
    metrics: MetricsClient,
    unmatched: Option<Arc<str>>,
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
        let endpoint = match (request.extensions().get::<MatchedPath>(), &self.unmatched) {
            (Some(route), _) => Endpoint::Route(route.clone()),
            (None, Some(label)) => Endpoint::Fixed(Arc::clone(label)),
            (None, None) => Endpoint::Raw(request.uri().clone()),
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

/// The route template, or when no route matched the raw path or the
/// layer's fixed label. All are cheap clones.
enum Endpoint {
    Route(MatchedPath),
    Raw(Uri),
    Fixed(Arc<str>),
}

impl Endpoint {
    fn as_str(&self) -> &str {
        match self {
            Endpoint::Route(route) => route.as_str(),
            Endpoint::Raw(uri) => uri.path(),
            Endpoint::Fixed(label) => label,
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
        let labels = http_points::labels(
            self.method.as_str(),
            self.endpoint.as_str(),
            status.as_str(),
        );
        let points = http_points::points(&labels, seconds);
        let ids = match &self.endpoint {
            Endpoint::Route(route) => self.route_ids(route, status, &points),
            // Any path: not worth remembering. A fixed label takes the
            // per-call path too (rare requests, by design).
            Endpoint::Raw(_) | Endpoint::Fixed(_) => None,
        };
        match ids {
            Some(ids) => self.metrics.record_interned(&ids, &points),
            None => self.metrics.record_all(&points),
        }
    }

    /// The ids of `points`' series, remembered per thread for this route,
    /// method and status; `None` if they cannot be staged.
    fn route_ids(
        &self,
        route: &MatchedPath,
        status: StatusCode,
        points: &[Metric<'_>; 2],
    ) -> Option<[u32; 2]> {
        let client = self.metrics.id();
        let same_route = |known: &MatchedPath| {
            // axum hands out the same `Arc<str>` for every request of a
            // route; the text is compared only if it does not.
            std::ptr::eq(known.as_str(), route.as_str()) || known.as_str() == route.as_str()
        };
        ROUTES
            .try_with(|routes| {
                let mut routes = routes.try_borrow_mut().ok()?;
                let known = routes.find(|known| {
                    known.status == status
                        && known.client == client
                        && known.method == self.method
                        && same_route(&known.route)
                });
                if let Some(known) = known {
                    return known.ids;
                }
                let ids = self.metrics.intern_all(points);
                routes.insert(RouteSeries {
                    client,
                    method: self.method.clone(),
                    route: route.clone(),
                    status,
                    ids,
                });
                ids
            })
            .ok()
            .flatten()
    }
}

/// The series ids of a route's two metrics for one method and status, in
/// one client's table.
struct RouteSeries {
    /// [`MetricsClient::id`]: ids of one client mean nothing to another.
    client: u64,
    method: Method,
    /// Holding the route's `Arc` keeps the pointer compared first this
    /// route's.
    route: MatchedPath,
    status: StatusCode,
    /// `None`: not stageable (e.g. a label too long); recorded per call.
    ids: Option<[u32; 2]>,
}

/// How many (client, route, method, status) a thread remembers.
const CACHED_ROUTES: usize = 64;

thread_local! {
    /// A request of a route seen before records its points by series id,
    /// without comparing names and labels (the per-call path compares the
    /// name and all three labels of both points with those it cached).
    static ROUTES: RefCell<Recent<RouteSeries, CACHED_ROUTES>> = const { RefCell::new(Recent::new()) };
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
