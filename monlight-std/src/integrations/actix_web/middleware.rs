//! The middleware: metrics and failure reporting for every request.

use std::future::{Ready, ready};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use monlight_core::ThrowSite;

use crate::error_client::Panic;
use crate::integrations::head_text::HeadText;
use crate::integrations::http_points;
use crate::integrations::reported::ReportedError;
use crate::panic_hook::{catching, panic_report_parts, take_caught_panic};
use crate::reportable::{Message, type_name_from_debug};
use crate::request_scope::{ContextSource, Scope, enter};
use crate::{ErrorClient, MetricsClient, MonlightClients, RequestContext};

/// The body of the 500 a caught panic gets, as in the reference.
const INTERNAL_ERROR_BODY: &str = r#"{"detail": "Internal server error"}"#;

/// The middleware: `App::new().wrap(monlight.clone())`. See the
/// [module docs](super).
#[derive(Clone, Debug)]
pub struct Monlight {
    metrics: Option<MetricsClient>,
    errors: Option<ErrorClient>,
    unmatched: Option<Arc<str>>,
}

impl Monlight {
    /// Records into the metrics client and reports through the error
    /// client, each if present.
    pub fn new(clients: MonlightClients) -> Self {
        Self {
            metrics: clients.metrics_client,
            errors: clients.error_client,
            unmatched: None,
        }
    }

    /// The `endpoint` label of requests no route matched, instead of their
    /// raw path (a scanner's every path would be a series).
    #[must_use]
    pub fn unmatched_endpoint(self, label: impl Into<Arc<str>>) -> Self {
        self.unmatched_endpoint_opt(Some(label.into()))
    }

    pub(super) fn unmatched_endpoint_opt(mut self, label: Option<Arc<str>>) -> Self {
        self.unmatched = label;
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for Monlight
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = MonlightService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(MonlightService {
            service,
            monlight: self.clone(),
        }))
    }
}

/// The service made by [`Monlight`].
#[derive(Debug)]
pub struct MonlightService<S> {
    service: S,
    monlight: Monlight,
}

impl<S, B> Service<ServiceRequest> for MonlightService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Monitored<S::Future>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let start = Instant::now();
        // Not the `HttpRequest` itself: a clone of it breaks actix's
        // routing, which needs it unshared.
        let method = request.method().clone();
        let route = request.match_pattern();
        let raw_path = route.is_none().then(|| request.path().to_owned());
        let scope = self
            .monlight
            .errors
            .as_ref()
            .map(|_| Scope::new(Head::of(&request, route.as_deref())));
        let call = || catching(|| catch_unwind(AssertUnwindSafe(|| self.service.call(request))));
        let inner = match &scope {
            Some(scope) => enter(scope, call),
            None => call(),
        };
        Monitored {
            inner: inner.ok(),
            pending: Some(Pending {
                monlight: self.monlight.clone(),
                method,
                route,
                raw_path,
                scope,
                start,
            }),
        }
    }
}

/// The request's head, copied when it arrived (actix's request is not
/// `Send`), read back only if a report needs it.
struct Head {
    method: Method,
    text: HeadText,
    route: Option<String>,
}

impl Head {
    fn of(request: &ServiceRequest, route: Option<&str>) -> Self {
        let uri = request.uri();
        let url = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        let headers = request.headers();
        let mut text = HeadText::new(url, headers.len());
        for (name, value) in headers {
            text.header(name.as_str(), value.as_bytes());
        }
        Self {
            method: request.method().clone(),
            text,
            route: route.map(str::to_owned),
        }
    }
}

impl ContextSource for Head {
    fn context(&self) -> RequestContext {
        self.text
            .context(self.method.as_str(), self.route.as_deref())
    }
}

/// What is known of a request until its response is ready.
struct Pending {
    monlight: Monlight,
    method: Method,
    route: Option<String>,
    /// The path, when no route matched.
    raw_path: Option<String>,
    scope: Option<Arc<Scope>>,
    start: Instant,
}

impl Pending {
    fn record(&self, status: StatusCode) {
        let Some(metrics) = &self.monlight.metrics else {
            return;
        };
        let endpoint = match (&self.route, &self.monlight.unmatched) {
            (Some(route), _) => route.as_str(),
            (None, Some(label)) => label,
            (None, None) => self.raw_path.as_deref().unwrap_or_default(),
        };
        let labels = http_points::labels(self.method.as_str(), endpoint, status.as_str());
        metrics.record_all(&http_points::points(
            &labels,
            self.start.elapsed().as_secs_f64(),
        ));
    }

    /// Reports a handler's error that became a 5xx: with its real type,
    /// causes and throw site if it is a [`HandlerError`].
    fn report_error(&self, error: &actix_web::Error) {
        let (Some(errors), Some(scope)) = (&self.monlight.errors, &self.scope) else {
            return;
        };
        let context = scope.context();
        if let Some(handler) = error.as_error::<HandlerError>() {
            let captured = &*handler.0.0;
            drop(errors.report_at(captured, captured.site, Some(&context)));
            return;
        }
        let reported = Message {
            // Its type is hidden behind actix's `Error`: its `Debug` names it.
            type_path: type_name_from_debug(error.as_response_error())
                .unwrap_or_else(|| "Error".into()),
            text: error.to_string(),
        };
        let site = ThrowSite {
            file: "<actix-web>",
            line: 0,
            column: 0,
        };
        drop(errors.report_at(&reported, site, Some(&context)));
    }

    fn report_panic(&self) {
        let (Some(errors), Some(scope)) = (&self.monlight.errors, &self.scope) else {
            return;
        };
        let caught = take_caught_panic();
        let (message, site) = panic_report_parts(caught.as_ref());
        drop(errors.report_at(&Panic(message), site, Some(&scope.context())));
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`MonlightService`].
    pub struct Monitored<F> {
        #[pin]
        inner: Option<F>,
        pending: Option<Pending>,
    }
}

impl<F, B> std::future::Future for Monitored<F>
where
    F: std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
    B: MessageBody,
{
    type Output = Result<ServiceResponse<B>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let scope = this.pending.as_ref().and_then(|p| p.scope.clone());
        let polled = match this.inner.as_pin_mut() {
            Some(inner) => {
                let poll = || catching(|| catch_unwind(AssertUnwindSafe(|| inner.poll(cx))));
                match &scope {
                    Some(scope) => enter(scope, poll),
                    None => poll(),
                }
            }
            None => Err(Box::new(()) as Box<dyn std::any::Any + Send>),
        };
        let output = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => output,
            Err(_panic) => {
                let Some(pending) = this.pending.take() else {
                    return Poll::Ready(Err(actix_web::error::ErrorInternalServerError("")));
                };
                pending.record(StatusCode::INTERNAL_SERVER_ERROR);
                pending.report_panic();
                // An error carrying the answer: actix sends its response.
                let answer = actix_web::error::InternalError::from_response(
                    "handler panicked",
                    internal_error(),
                );
                return Poll::Ready(Err(answer.into()));
            }
        };
        if let Some(pending) = this.pending.take() {
            let (status, error) = match &output {
                Ok(response) => (response.status(), response.response().error()),
                Err(error) => (error.as_response_error().status_code(), Some(error)),
            };
            pending.record(status);
            if let Some(error) = error.filter(|_| status.is_server_error()) {
                pending.report_error(error);
            }
        }
        Poll::Ready(output)
    }
}

/// A ready-made handler error: any `std::error::Error` converts into it
/// with `?` (the `?` is the throw site); it answers
/// `500 {"detail": "Internal server error"}` and the middleware reports it
/// with the error's real type, message and causes.
///
/// ```
/// use monlight_std::integrations::actix_web::HandlerError;
///
/// async fn parse_quantity(body: String) -> Result<String, HandlerError> {
///     let quantity: u32 = body.trim().parse()?; // reported as ParseIntError
///     Ok(format!("{quantity} items"))
/// }
/// ```
#[derive(Debug)]
pub struct HandlerError(ReportedError);

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HandlerError {
    #[track_caller]
    fn from(error: E) -> Self {
        Self(ReportedError::new(error))
    }
}

impl std::fmt::Display for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.0.error.fmt(f)
    }
}

impl ResponseError for HandlerError {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        internal_error()
    }
}

/// `500 {"detail": "Internal server error"}`.
fn internal_error() -> HttpResponse {
    HttpResponse::InternalServerError()
        .content_type("application/json")
        .body(INTERNAL_ERROR_BODY)
}
