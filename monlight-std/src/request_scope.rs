//! The request a task is handling, for reports made deep inside it: code
//! that never saw the request (a repository layer, a helper) reports an
//! error with no context, and the report still carries the request's URL,
//! method, headers and user id.
//!
//! A web integration runs each request's future inside a scope: while the
//! future is polled, on whatever thread the runtime polls it, the scope is
//! the thread's current one (a thread-local set around each poll, so it
//! works on any executor, tokio's multi-thread one included). A task
//! spawned from a request joins it with [`in_current_request`]. The fields
//! of a `RequestContext` given explicitly to a report win; the scope fills
//! the others (the `log` and `tracing` integrations give only `extra`).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use crate::RequestContext;

/// Where a request's context comes from: built only when a report needs
/// it (a web integration keeps a copy of the request's head).
pub(crate) trait ContextSource: Send + Sync {
    /// The request's context.
    fn context(&self) -> RequestContext;
}

/// One request's scope: its context source and the user id set in it.
/// `Scope<S>` for a concrete source coerces to `Scope` (one allocation
/// per request for both).
pub(crate) struct Scope<S: ?Sized = dyn ContextSource> {
    user_id: Mutex<Option<String>>,
    source: S,
}

impl<S: ContextSource + 'static> Scope<S> {
    #[cfg_attr(not(any(feature = "axum", feature = "actix-web")), allow(dead_code))]
    pub(crate) fn new(source: S) -> Arc<Scope> {
        Arc::new(Scope {
            user_id: Mutex::new(None),
            source,
        })
    }
}

impl Scope {
    /// The request's context, with the user id if one was set.
    pub(crate) fn context(&self) -> RequestContext {
        let mut context = self.source.context();
        let user_id = self.user_id.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(user_id) = &*user_id {
            context.user_id = Some(user_id.clone());
        }
        context
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Scope>>> = const { RefCell::new(None) };
}

/// Runs `f` with `scope` as the thread's current one, then restores the
/// one before (scopes nest).
#[cfg_attr(not(any(feature = "axum", feature = "actix-web")), allow(dead_code))]
pub(crate) fn enter<R>(scope: &Arc<Scope>, f: impl FnOnce() -> R) -> R {
    let before = CURRENT.replace(Some(Arc::clone(scope)));
    // Restored even if `f` unwinds (the layer catches handler panics).
    struct Restore(Option<Arc<Scope>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.set(self.0.take());
        }
    }
    let _restore = Restore(before);
    f()
}

/// The context of the request this thread is handling now, if any.
pub(crate) fn current_context() -> Option<RequestContext> {
    CURRENT.with_borrow(|scope| scope.as_ref().map(|scope| scope.context()))
}

/// Sets the user id of the request being handled, for every report made
/// in it from now on (e.g. from an authentication middleware or extractor,
/// once the user is known). Outside a request, does nothing.
///
/// ```
/// // In a handler, after authenticating:
/// monlight_std::set_request_user(42);
/// ```
pub fn set_request_user(user_id: impl std::fmt::Display) {
    CURRENT.with_borrow(|scope| {
        if let Some(scope) = scope {
            *scope.user_id.lock().unwrap_or_else(PoisonError::into_inner) =
                Some(user_id.to_string());
        }
    });
}

/// `future` joined to the request being handled now (if any): reports
/// made while it runs carry that request's context. For tasks a request
/// spawns:
///
/// ```no_run
/// # async fn send_receipt() {}
/// # fn demo() {
/// tokio::spawn(monlight_std::in_current_request(async {
///     send_receipt().await; // an error reported here names the request
/// }));
/// # }
/// ```
pub fn in_current_request<F: Future>(future: F) -> InRequest<F> {
    InRequest {
        scope: CURRENT.with_borrow(Clone::clone),
        inner: future,
    }
}

pin_project_lite::pin_project! {
    /// A future run inside a request's scope (see [`in_current_request`]).
    pub struct InRequest<F> {
        scope: Option<Arc<Scope>>,
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for InRequest<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        match this.scope {
            Some(scope) => enter(scope, || this.inner.poll(cx)),
            None => this.inner.poll(cx),
        }
    }
}

impl<F> std::fmt::Debug for InRequest<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InRequest")
            .field("in_a_request", &self.scope.is_some())
            .finish_non_exhaustive()
    }
}
