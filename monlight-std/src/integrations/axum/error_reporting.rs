//! Reporting what goes wrong in handlers: panics, and errors that handlers
//! answer with a 5xx.

use std::error::Error;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::IntoResponse;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use monlight_core::ThrowSite;
use tower::{Layer, Service};

use crate::error_client::Panic;
use crate::panic_hook::{catching, take_caught_panic};
use crate::{ErrorClient, Reportable, RequestContext};

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
        let snapshot = RequestSnapshot::of(&request);
        // `None`: the service panicked in `call`, before making a future.
        let inner = catching(|| catch_unwind(AssertUnwindSafe(|| self.inner.call(request)))).ok();
        ReportFailures {
            inner,
            errors: self.errors.clone(),
            snapshot: Some(snapshot),
        }
    }
}

/// What a report needs of the request, kept while the handler runs: its
/// method, and its URI and headers copied into one buffer, `uri\n` then
/// `name:value\n` per header (HTTP allows no line feed in either, nor a
/// colon in a name). One allocation and a copy: cloning the `Uri` and
/// each header instead costs an allocation more (hyper's URI bytes are
/// made shareable on their first clone) and two atomic operations per
/// piece, about three times the instructions.
struct RequestSnapshot {
    method: Method,
    text: Vec<u8>,
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
        // Room for typical headers; a long one (a cookie) grows it.
        let mut text = Vec::with_capacity(uri.len() + 1 + 64 * headers.len());
        text.extend_from_slice(uri.as_bytes());
        text.push(b'\n');
        for (name, value) in headers {
            text.extend_from_slice(name.as_str().as_bytes());
            text.push(b':');
            text.extend_from_slice(value.as_bytes());
            text.push(b'\n');
        }
        Self {
            method: request.method().clone(),
            text,
        }
    }

    fn context(&self) -> RequestContext {
        let mut lines = self.text.split(|&b| b == b'\n');
        let uri = lines.next().unwrap_or_default();
        let headers = lines.filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            Some((
                String::from_utf8_lossy(&line[..colon]).into_owned(),
                String::from_utf8_lossy(&line[colon + 1..]).into_owned(),
            ))
        });
        RequestContext::new()
            .url(String::from_utf8_lossy(uri))
            .method(self.method.as_str())
            .headers(headers)
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`ErrorReporting`].
    pub struct ReportFailures<F> {
        #[pin]
        inner: Option<F>,
        errors: ErrorClient,
        snapshot: Option<RequestSnapshot>,
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
        let polled = match this.inner.as_pin_mut() {
            Some(inner) => catching(|| catch_unwind(AssertUnwindSafe(|| inner.poll(cx)))),
            None => Err(Box::new(()) as Box<dyn std::any::Any + Send>),
        };
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(mut response))) => {
                if let (Some(reported), Some(snapshot)) = (
                    response.extensions_mut().remove::<ReportedError>(),
                    this.snapshot.take(),
                ) {
                    let captured = &*reported.0;
                    let context = snapshot.context();
                    spawn(
                        this.errors
                            .report_at(captured, captured.site, Some(&context)),
                    );
                }
                Poll::Ready(Ok(response))
            }
            Ok(Poll::Ready(Err(e))) => Poll::Ready(Err(e)),
            Err(_payload) => {
                if let Some(snapshot) = this.snapshot.take() {
                    let context = snapshot.context();
                    let caught = take_caught_panic();
                    let (message, site) = match &caught {
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
                    };
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

/// An error a handler hands to [`ErrorReportingLayer`] through a response
/// extension, to be reported with its real type, message and source chain.
///
/// Create it where the error happens (it records its caller's location as
/// the throw site, `#[track_caller]`), put it in the extensions of the 5xx
/// response your error type builds, and the layer reports it:
///
/// ```
/// use axum::response::{IntoResponse, Response};
/// use http::StatusCode;
/// use monlight_std::integrations::axum::ReportedError;
///
/// #[derive(Debug)]
/// struct DbError(String);
/// impl std::fmt::Display for DbError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) }
/// }
/// impl std::error::Error for DbError {}
///
/// /// The application's error type: answers 503 and hands the cause to monlight.
/// struct AppError(ReportedError);
///
/// impl From<DbError> for AppError {
///     #[track_caller] // the `?` that produced it becomes the throw site
///     fn from(e: DbError) -> Self {
///         AppError(ReportedError::new(e))
///     }
/// }
///
/// impl IntoResponse for AppError {
///     fn into_response(self) -> Response {
///         let mut response = (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
///         response.extensions_mut().insert(self.0);
///         response
///     }
/// }
/// ```
#[derive(Clone)]
pub struct ReportedError(Arc<Captured>);

impl std::fmt::Debug for ReportedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportedError")
            .field("type", &self.0.type_path)
            .field("error", &self.0.error)
            .field("site", &self.0.site)
            .finish()
    }
}

struct Captured {
    type_path: &'static str,
    error: Box<dyn Error + Send + Sync>,
    site: ThrowSite<'static>,
}

impl ReportedError {
    /// Captures `error`, its type name and the caller's location.
    #[track_caller]
    pub fn new<E: Error + Send + Sync + 'static>(error: E) -> Self {
        Self(Arc::new(Captured {
            type_path: std::any::type_name::<E>(),
            error: Box::new(error),
            site: ThrowSite::caller(),
        }))
    }
}

impl Reportable for Captured {
    fn type_path(&self) -> std::borrow::Cow<'_, str> {
        self.type_path.into()
    }

    fn as_error(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.error)
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
