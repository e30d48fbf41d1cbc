//! An error captured where it happened, for a web integration to report
//! with its real type, message, causes and throw site.

use std::error::Error;
use std::sync::Arc;

use monlight_core::ThrowSite;

use crate::Reportable;

/// An error a handler hands to the error-reporting layer or middleware, to
/// be reported with its real type, message and source chain (axum: in a
/// response extension; actix-web: inside a `HandlerError`).
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
pub struct ReportedError(pub(crate) Arc<Captured>);

impl std::fmt::Debug for ReportedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportedError")
            .field("type", &self.0.type_path)
            .field("error", &self.0.error)
            .field("site", &self.0.site)
            .finish()
    }
}

pub(crate) struct Captured {
    pub(crate) type_path: &'static str,
    pub(crate) error: Box<dyn Error + Send + Sync>,
    pub(crate) site: ThrowSite<'static>,
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
