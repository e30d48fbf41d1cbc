//! Reporting what goes wrong in handlers: panics, and errors that handlers
//! answer with a 5xx.

use std::error::Error;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::MatchedPath;
use axum::response::IntoResponse;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use tower::{Layer, Service};

use crate::error_client::Panic;
use crate::integrations::head_text::HeadText;
use crate::integrations::reported::ReportedError;
use crate::panic_hook::{catching, panic_report_parts, take_caught_panic};
use crate::request_scope::{ContextSource, Scope, enter};
use crate::{ErrorClient, RequestContext};

/// The body of the 500 a caught panic gets, as in the reference.
pub const INTERNAL_ERROR_BODY: &str = r#"{"detail": "Internal server error"}"#;

/// A tower [`Layer`] that reports what goes wrong in handlers, fire and
/// forget (the report is spawned; the response never waits for it):
///
/// - a panic is caught, answered `500 {"detail": "Internal server error"}`
///   and reported with the request's URL, method and headers (sensitive ones
///   stripped) and the panic's location as the throw site;
/// - a response carrying a [`ReportedError`] extension (see
///   [`HandlerError`]) is reported with that error's type, message and
///   source chain, then passed on unchanged.
///
/// It keeps a copy of the request's method, URI and headers while the
/// handler runs, for the report.
#[derive(Clone, Debug)]
pub struct ErrorReportingLayer {
    errors: ErrorClient,
}

impl ErrorReportingLayer {
    /// Reports through `errors`.
    pub fn new(errors: ErrorClient) -> Self {
        Self { errors }
    }
}

impl<S> Layer<S> for ErrorReportingLayer {
    type Service = ErrorReporting<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ErrorReporting {
            inner,
            errors: self.errors.clone(),
        }
    }
}

/// The service made by [`ErrorReportingLayer`].
#[derive(Clone, Debug)]
pub struct ErrorReporting<S> {
    inner: S,
    errors: ErrorClient,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ErrorReporting<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<&'static str>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ReportFailures<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // Reports made anywhere in the handler carry the request (see
        // `request_scope`); its context is built only if one is made.
        let scope = Scope::new(RequestSnapshot::of(&request));
        // `None`: the service panicked in `call`, before making a future.
        let inner = enter(&scope, || {
            catching(|| catch_unwind(AssertUnwindSafe(|| self.inner.call(request)))).ok()
        });
        ReportFailures {
            inner,
            errors: self.errors.clone(),
            reported: false,
            scope,
        }
    }
}

/// What a report needs of the request, kept while the handler runs: its
/// method and route, and its URI and headers in a [`HeadText`] (cloning
/// hyper's `Uri` and headers instead costs about three times the
/// instructions: its URI bytes are made shareable on their first clone).
struct RequestSnapshot {
    method: Method,
    text: HeadText,
    /// The route template, for `errors_total`'s `endpoint`.
    route: Option<MatchedPath>,
}

impl ContextSource for RequestSnapshot {
    fn context(&self) -> RequestContext {
        RequestSnapshot::context(self)
    }
}

impl RequestSnapshot {
    fn of<B>(request: &Request<B>) -> Self {
        let uri = request.uri();
        // A server's request URI is its path and query (an absolute form,
        // from a proxy, is written in full).
        let uri = match (uri.scheme(), uri.path_and_query()) {
            (None, Some(path)) => std::borrow::Cow::Borrowed(path.as_str()),
            _ => std::borrow::Cow::Owned(uri.to_string()),
        };
        let headers = request.headers();
        let mut text = HeadText::new(&uri, headers.len());
        for (name, value) in headers {
            text.header(name.as_str(), value.as_bytes());
        }
        Self {
            route: request.extensions().get::<MatchedPath>().cloned(),
            method: request.method().clone(),
            text,
        }
    }

    fn context(&self) -> RequestContext {
        let route = self.route.as_ref().map(MatchedPath::as_str);
        self.text.context(self.method.as_str(), route)
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`ErrorReporting`].
    pub struct ReportFailures<F> {
        #[pin]
        inner: Option<F>,
        errors: ErrorClient,
        // A request is reported once.
        reported: bool,
        scope: Arc<Scope>,
    }
}

impl<F, ResBody, E> Future for ReportFailures<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: From<&'static str>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let scope = &*this.scope;
        let polled = match this.inner.as_pin_mut() {
            Some(inner) => enter(scope, || {
                catching(|| catch_unwind(AssertUnwindSafe(|| inner.poll(cx))))
            }),
            None => Err(Box::new(()) as Box<dyn std::any::Any + Send>),
        };
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(mut response))) => {
                if let (Some(reported), false) = (
                    response.extensions_mut().remove::<ReportedError>(),
                    std::mem::replace(this.reported, true),
                ) {
                    let captured = &*reported.0;
                    // With the user id, if the handler set one.
                    let context = this.scope.context();
                    spawn(
                        this.errors
                            .report_at(captured, captured.site, Some(&context)),
                    );
                }
                Poll::Ready(Ok(response))
            }
            Ok(Poll::Ready(Err(e))) => Poll::Ready(Err(e)),
            Err(_payload) => {
                if !std::mem::replace(this.reported, true) {
                    let context = this.scope.context();
                    let caught = take_caught_panic();
                    let (message, site) = panic_report_parts(caught.as_ref());
                    spawn(this.errors.report_at(&Panic(message), site, Some(&context)));
                }
                Poll::Ready(Ok(internal_error()))
            }
        }
    }
}

fn internal_error<B: From<&'static str>>() -> Response<B> {
    let mut response = Response::new(B::from(INTERNAL_ERROR_BODY));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Sends a report in the background: a response never waits for it.
fn spawn(report: impl Future<Output = ()> + Send + 'static) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(report);
        }
        Err(_) => log::warn!("monlight: no tokio runtime to send an error report from; dropped"),
    }
}

/// A ready-made handler error: any `std::error::Error` converts into it with
/// `?` (the `?` is the throw site), and it answers
/// `500 {"detail": "Internal server error"}` and is reported by
/// [`ErrorReportingLayer`] with the error's real type, message and chain.
///
/// ```
/// use monlight_std::integrations::axum::HandlerError;
///
/// async fn parse_quantity(body: String) -> Result<String, HandlerError> {
///     let quantity: u32 = body.trim().parse()?; // reported as ParseIntError
///     Ok(format!("{quantity} items"))
/// }
/// ```
#[derive(Debug)]
pub struct HandlerError(ReportedError);

impl<E: Error + Send + Sync + 'static> From<E> for HandlerError {
    #[track_caller]
    fn from(error: E) -> Self {
        Self(ReportedError::new(error))
    }
}

impl IntoResponse for HandlerError {
    fn into_response(self) -> axum::response::Response {
        let mut response = internal_error::<axum::body::Body>();
        response.extensions_mut().insert(self.0);
        response
    }
}
