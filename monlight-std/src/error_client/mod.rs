//! `ErrorClient`: reports errors to a monlight error tracker, fire and
//! forget, the way the reference Python client does.

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use monlight_core::limits::MAX_ERROR_BODY;
use monlight_core::{
    ErrorReport, HeaderFilter, PANIC_TYPE, ReportText, Stats, ThrowSite, encode_error_report,
};

use crate::check::{CheckError, Server, ServerCheck, check};
use crate::config::{ApiKey, ConfigError};
use crate::env;
use crate::outbox::{Reports, Ticket};
use crate::reportable::Reportable;

mod builder;
mod context;
mod event;
mod repeats;

pub use builder::ErrorClientBuilder;
pub use context::RequestContext;
pub use event::ErrorEvent;
use event::ReportPolicy;
use repeats::{Group, Repeats, Verdict};

/// Reports errors to a monlight error tracker.
///
/// Both reporting methods are fire-and-forget: nothing to handle, failures
/// are logged as warnings and counted ([`ErrorClient::stats`]), and neither
/// waits longer than `timeout`. The caller's source location (they are
/// `#[track_caller]`) is the throw site the tracker groups by, so one error
/// type reported from two places makes two groups.
///
/// ```no_run
/// use monlight_std::{ErrorClient, RequestContext};
///
/// let client = ErrorClient::builder("http://localhost:5010", "my-key")
///     .project("my-app")
///     .environment("prod")
///     .build()?;
///
/// if let Err(e) = "12a".parse::<u32>() {
///     client.report_error_sync(&e, Some(RequestContext::new().url("/api/users").method("POST")));
/// }
/// client.report_error_sync("cache warm-up skipped", None);
/// # Ok::<(), monlight_std::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ErrorClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ErrorClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.inner.config;
        f.debug_struct("ErrorClient")
            .field("base_url", &c.base_url)
            .field("api_key", &c.api_key)
            .field("project", &c.project)
            .field("environment", &c.environment)
            .field("timeout", &c.timeout)
            .field("excluded_headers", &c.excluded_headers)
            .field("policy", &c.policy)
            .field("enabled", &c.enabled)
            .field("repeats", &c.repeats)
            .field("errors_total", &c.errors_total.is_some())
            .finish()
    }
}

struct Inner {
    config: Config,
    /// Every report of this client, on its way.
    reports: Arc<Reports>,
}

struct Config {
    base_url: String,
    api_key: ApiKey,
    project: String,
    environment: String,
    timeout: Duration,
    excluded_headers: Vec<String>,
    policy: ReportPolicy,
    /// `false`: every report is a no-op.
    enabled: bool,
    /// Reports of one group sent once per window, if set.
    repeats: Option<Repeats>,
    /// Every report counted into `errors_total` there, if set.
    errors_total: Option<crate::MetricsClient>,
}

impl ErrorClient {
    /// A client with the reference defaults: project `"default"`,
    /// environment `"prod"`, 5 s timeout.
    pub fn new(base_url: &str, api_key: &str) -> Result<Self, ConfigError> {
        Self::builder(base_url, api_key).build()
    }

    /// A client configured from the environment:
    /// `MONLIGHT_ERROR_TRACKER_URL` and `MONLIGHT_API_KEY` (required),
    /// `MONLIGHT_PROJECT`, `MONLIGHT_ENVIRONMENT`, `MONLIGHT_RELEASE`,
    /// `MONLIGHT_SERVER_NAME`, `MONLIGHT_SAMPLE_RATE` and
    /// `MONLIGHT_ENABLED` (see [`crate::env`]).
    /// A missing or malformed variable is named in the error.
    ///
    /// ```no_run
    /// let errors = monlight_std::ErrorClient::from_env()?;
    /// # Ok::<(), monlight_std::ConfigError>(())
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        let settings = env::Settings::from_env()?;
        let url = env::required(env::ERROR_TRACKER_URL, &settings.error_tracker_url)?;
        let mut builder = Self::builder(url, settings.required_api_key()?);
        if let Some(project) = settings.project {
            builder = builder.project(project);
        }
        if let Some(environment) = settings.environment {
            builder = builder.environment(environment);
        }
        if let Some(release) = settings.release {
            builder = builder.release(release);
        }
        if let Some(server_name) = settings.server_name {
            builder = builder.server_name(server_name);
        }
        if let Some(rate) = settings.sample_rate {
            builder = builder.sample_rate(rate);
        }
        if let Some(enabled) = settings.enabled {
            builder = builder.enabled(enabled);
        }
        builder.build()
    }

    /// A builder to change the defaults.
    pub fn builder(base_url: impl Into<String>, api_key: impl Into<String>) -> ErrorClientBuilder {
        ErrorClientBuilder::new(base_url.into(), api_key.into())
    }

    /// Reports `error` and waits (at most `timeout`) for the tracker's
    /// answer. Never panics, never returns an error. Safe to call anywhere,
    /// including inside an async runtime (the request runs on the client's
    /// own thread). If the tracker cannot take it now (a 429, unreachable),
    /// the report waits in the client's queue and goes out later; this
    /// returns at once.
    #[track_caller]
    pub fn report_error_sync<R: Reportable + ?Sized>(
        &self,
        error: &R,
        context: Option<RequestContext>,
    ) {
        let site = ThrowSite::caller();
        let ticket = self.inner.queue(error, context.as_ref(), site, None);
        self.inner.wait(ticket);
    }

    /// Reports `error` from async code. The report is built and queued
    /// when this is called, and sent by the client's own thread; the
    /// returned future only waits for the tracker's answer, like
    /// [`ErrorClient::report_error_sync`]. Await it, or drop it to not
    /// wait at all: the report goes out either way, even if the runtime
    /// stops (see [`ErrorClient::flush`] for a graceful shutdown). Works on
    /// any executor.
    #[track_caller]
    pub fn report_error<R: Reportable + ?Sized>(
        &self,
        error: &R,
        context: Option<RequestContext>,
    ) -> impl Future<Output = ()> + Send + 'static + use<R> {
        self.report_at(error, ThrowSite::caller(), context.as_ref())
    }

    /// Reports an `anyhow::Error`: its type and message, its chain of
    /// contexts and causes, and, if it captured a backtrace
    /// (`RUST_BACKTRACE=1` or `RUST_LIB_BACKTRACE=1`), the frames of your
    /// code from it. Waits like [`ErrorClient::report_error_sync`].
    ///
    /// ```no_run
    /// use anyhow::Context;
    /// # let errors = monlight_std::ErrorClient::new("http://localhost:5010", "k")?;
    /// let result = std::fs::read("settings.toml").context("loading settings");
    /// if let Err(e) = result {
    ///     errors.report_anyhow_sync(&e, None);
    /// }
    /// # Ok::<(), monlight_std::ConfigError>(())
    /// ```
    #[cfg(feature = "anyhow")]
    #[cfg_attr(docsrs, doc(cfg(feature = "anyhow")))]
    #[track_caller]
    pub fn report_anyhow_sync(&self, error: &anyhow::Error, context: Option<RequestContext>) {
        let site = ThrowSite::caller();
        let backtrace = anyhow_frames(error);
        let error = RootCaused::new(error.as_ref());
        let ticket = self
            .inner
            .queue(&error, context.as_ref(), site, backtrace.as_deref());
        self.inner.wait(ticket);
    }

    /// [`ErrorClient::report_anyhow_sync`] from async code, like
    /// [`ErrorClient::report_error`]: built and queued now; the returned
    /// future waits for the answer.
    #[cfg(feature = "anyhow")]
    #[cfg_attr(docsrs, doc(cfg(feature = "anyhow")))]
    #[track_caller]
    pub fn report_anyhow(
        &self,
        error: &anyhow::Error,
        context: Option<RequestContext>,
    ) -> impl Future<Output = ()> + Send + 'static + use<> {
        let site = ThrowSite::caller();
        let backtrace = anyhow_frames(error);
        let error = RootCaused::new(error.as_ref());
        let ticket = self
            .inner
            .queue(&error, context.as_ref(), site, backtrace.as_deref());
        self.inner.reports.answer(ticket)
    }

    /// Reports an `eyre::Report` as [`ErrorClient::report_anyhow_sync`]
    /// reports an `anyhow::Error`: typed by its root cause (the outer
    /// layers are `wrap_err` contexts), with its chain of contexts and
    /// causes. (`report_error_sync(&*report, ..)` sees only the outer
    /// layer, whose type is eyre's.) Waits like
    /// [`ErrorClient::report_error_sync`].
    #[cfg(feature = "eyre")]
    #[cfg_attr(docsrs, doc(cfg(feature = "eyre")))]
    #[track_caller]
    pub fn report_eyre_sync(&self, report: &eyre::Report, context: Option<RequestContext>) {
        let error = RootCaused::new(report.as_ref());
        let ticket = self
            .inner
            .queue(&error, context.as_ref(), ThrowSite::caller(), None);
        self.inner.wait(ticket);
    }

    /// [`ErrorClient::report_eyre_sync`] from async code, like
    /// [`ErrorClient::report_error`]: built and queued now; the returned
    /// future waits for the answer.
    #[cfg(feature = "eyre")]
    #[cfg_attr(docsrs, doc(cfg(feature = "eyre")))]
    #[track_caller]
    pub fn report_eyre(
        &self,
        report: &eyre::Report,
        context: Option<RequestContext>,
    ) -> impl Future<Output = ()> + Send + 'static + use<> {
        let error = RootCaused::new(report.as_ref());
        let ticket = self
            .inner
            .queue(&error, context.as_ref(), ThrowSite::caller(), None);
        self.inner.reports.answer(ticket)
    }

    /// Asks the tracker, with one request that stores nothing, whether it
    /// is reachable and accepts the API key. Blocks for at most the
    /// client's timeout (from async code, call it in `spawn_blocking`).
    /// Both results print as a sentence.
    ///
    /// ```
    /// use monlight_std::ErrorClient;
    ///
    /// let errors = ErrorClient::builder("http://127.0.0.1:9", "my-key").build()?;
    /// match errors.check() {
    ///     Ok(ready) => println!("{ready}"),
    ///     // "the error tracker at http://127.0.0.1:9 could not be reached (could not connect)"
    ///     Err(problem) => eprintln!("{problem}"),
    /// }
    /// # Ok::<(), monlight_std::ConfigError>(())
    /// ```
    pub fn check(&self) -> Result<ServerCheck, CheckError> {
        let config = &self.inner.config;
        check(
            Server::ErrorTracker,
            &config.base_url,
            &config.api_key,
            config.timeout,
        )
    }

    /// Where every report went so far: of the `recorded` reports, `sent`
    /// were stored, the rest dropped under their reason or still waiting
    /// (`retried` counts tries the tracker did not store).
    pub fn stats(&self) -> Stats {
        self.inner.reports.stats()
    }

    /// Sends every report built so far, sync or async, and waits until
    /// each has its answer or `timeout` ends. Returns how many still wait
    /// (kept for a tracker that did not store them yet, or on their way).
    /// Call it before a graceful shutdown; the client stays usable.
    ///
    /// ```no_run
    /// # let errors = monlight_std::ErrorClient::new("http://localhost:5010", "k")?;
    /// let waiting = errors.flush(std::time::Duration::from_secs(5));
    /// if waiting > 0 {
    ///     eprintln!("{waiting} error reports not stored yet");
    /// }
    /// # Ok::<(), monlight_std::ConfigError>(())
    /// ```
    pub fn flush(&self, timeout: Duration) -> usize {
        self.inner.reports.flush(timeout)
    }

    /// [`ErrorClient::flush`], then stops the client's sender thread: what
    /// the tracker still has not stored is given up and counted in
    /// [`ErrorClient::stats`]. Returns how many reports were given up. A
    /// report after `close` starts the thread again.
    pub fn close(&self, timeout: Duration) -> usize {
        self.inner.reports.close(timeout, self.inner.config.timeout)
    }

    /// Builds and queues a report now and returns the future that waits
    /// for its answer (for the integrations, which know the throw site
    /// themselves).
    pub(crate) fn report_at<R: Reportable + ?Sized>(
        &self,
        error: &R,
        site: ThrowSite<'_>,
        context: Option<&RequestContext>,
    ) -> impl Future<Output = ()> + Send + 'static + use<R> {
        let ticket = self.inner.queue(error, context, site, None);
        self.inner.reports.answer(ticket)
    }

    /// Builds and queues a report without waiting (for integrations called
    /// on hot or sensitive paths, such as a `tracing` layer).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn report_detached<R: Reportable + ?Sized>(
        &self,
        error: &R,
        site: ThrowSite<'_>,
        context: Option<&RequestContext>,
    ) {
        self.inner.queue(error, context, site, None);
    }

    /// Reports a panic (used by [`install_panic_hook`](crate::install_panic_hook))
    /// and waits for the answer, as the process may end right after.
    pub(crate) fn report_panic(
        &self,
        message: &str,
        location: Option<&Location<'_>>,
        backtrace: Option<&str>,
    ) {
        let site = location.map_or(
            ThrowSite {
                file: "<unknown>",
                line: 0,
                column: 0,
            },
            ThrowSite::from,
        );
        let ticket = self.inner.queue(&Panic(message), None, site, backtrace);
        self.inner.wait(ticket);
    }
}

/// An `anyhow::Error` or `eyre::Report` as reported: typed by its root
/// cause (the outer layers are context wrappers), its chain the contexts
/// and causes.
#[cfg(any(feature = "anyhow", feature = "eyre"))]
struct RootCaused<'e>(&'e (dyn std::error::Error + 'static));

#[cfg(any(feature = "anyhow", feature = "eyre"))]
impl<'e> RootCaused<'e> {
    fn new(error: &'e (dyn std::error::Error + Send + Sync + 'static)) -> Self {
        Self(error)
    }
}

#[cfg(any(feature = "anyhow", feature = "eyre"))]
impl Reportable for RootCaused<'_> {
    fn type_path(&self) -> std::borrow::Cow<'_, str> {
        let root = std::iter::successors(Some(self.0), |e| e.source()).last();
        crate::reportable::dyn_type_path(root.unwrap_or(self.0))
    }

    fn as_error(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0)
    }
}

/// The application frames of an `anyhow::Error`'s backtrace, if captured.
#[cfg(feature = "anyhow")]
fn anyhow_frames(error: &anyhow::Error) -> Option<String> {
    let backtrace = error.backtrace();
    (backtrace.status() == std::backtrace::BacktraceStatus::Captured)
        .then(|| crate::panic_hook::application_frames(&backtrace.to_string()))
}

/// A panic, reported with exception type [`PANIC_TYPE`], as on a device.
pub(crate) struct Panic<'a>(pub(crate) &'a str);

impl Reportable for Panic<'_> {
    fn type_path(&self) -> std::borrow::Cow<'_, str> {
        PANIC_TYPE.into()
    }
    fn as_error(&self) -> Option<&(dyn std::error::Error + 'static)> {
        None
    }
    fn message(&self) -> String {
        self.0.to_owned()
    }
}

impl Inner {
    /// Builds a report and queues it; `None` if it could not be built or
    /// queued (counted, logged).
    fn queue<R: Reportable + ?Sized>(
        &self,
        error: &R,
        context: Option<&RequestContext>,
        site: ThrowSite<'_>,
        detail: Option<&str>,
    ) -> Option<Ticket> {
        if !self.config.enabled {
            return None;
        }
        // The request being handled fills what the caller left out (an
        // integration gives only `extra`); what the caller set wins.
        let merged = crate::request_scope::current_context().map(|scoped| match context {
            Some(given) => given.clone().or(scoped),
            None => scoped,
        });
        let context = merged.as_ref().or(context);
        let type_path = error.type_path();
        let exception_type = monlight_core::short_type_name(&type_path);
        if let Some(metrics) = &self.config.errors_total {
            let route = context.and_then(|c| c.route.as_deref());
            let labels = [
                ("exception_type", exception_type),
                ("endpoint", route.unwrap_or("")),
            ];
            let labels = if route.is_some() {
                &labels[..]
            } else {
                &labels[..1]
            };
            metrics.counter("errors_total", labels);
        }
        if !self.config.policy.sampled_in() {
            self.reports.count_filtered();
            return None;
        }
        let suppressed = match &self.config.repeats {
            None => 0,
            Some(repeats) => {
                let group = Group {
                    exception_type: exception_type.to_owned(),
                    file: site.file.to_owned(),
                    line: site.line,
                };
                match repeats.judge(group, std::time::Instant::now()) {
                    Verdict::Send { suppressed } => suppressed,
                    Verdict::Suppress => {
                        self.reports.count_filtered();
                        return None;
                    }
                }
            }
        };
        let body = self.encode(error, context, site, detail, suppressed)?;
        self.reports.push(body)
    }

    /// Waits (at most the timeout, plus a little for the hand-over) for a
    /// queued report's answer.
    fn wait(&self, ticket: Option<Ticket>) {
        let Some(ticket) = ticket else { return };
        let timeout = self.config.timeout + Duration::from_millis(500);
        if !self.reports.wait(ticket, timeout) {
            log::warn!(
                "monlight: error report still in flight after {:?}; not waiting",
                self.config.timeout
            );
        }
    }

    /// Builds the JSON body; `None` (counted, logged) if it cannot be.
    fn encode<R: Reportable + ?Sized>(
        &self,
        error: &R,
        context: Option<&RequestContext>,
        site: ThrowSite<'_>,
        detail: Option<&str>,
        suppressed: u64,
    ) -> Option<Vec<u8>> {
        let type_path = error.type_path();
        let message = error.message();
        let causes: Vec<String> =
            std::iter::successors(error.as_error().and_then(|e| e.source()), |e| e.source())
                .map(ToString::to_string)
                .collect();
        let causes: Vec<&str> = causes.iter().map(String::as_str).collect();
        let text = ReportText {
            type_path: &type_path,
            message: &message,
            causes: causes.as_slice().iter().copied(),
            site,
            detail,
        };
        let mut traceback = String::new();
        // Writing to a String cannot fail.
        let _ = text.write_traceback(&mut traceback);
        let event = ErrorEvent {
            exception_type: text.exception_type().to_owned(),
            message,
            traceback,
            context: context.cloned().unwrap_or_default(),
        };
        let Some(event) = self.config.policy.apply(event, suppressed) else {
            self.reports.count_filtered();
            return None;
        };
        let context = &event.context;
        let headers: Option<Vec<(&str, &str)>> = context
            .headers
            .as_ref()
            .map(|h| h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect());
        let excluded: Vec<&str> = self
            .config
            .excluded_headers
            .iter()
            .map(String::as_str)
            .collect();
        let report = ErrorReport {
            project: &self.config.project,
            environment: Some(&self.config.environment),
            exception_type: &event.exception_type,
            message: &event.message,
            traceback: &event.traceback,
            context: monlight_core::RequestContext {
                url: context.url.as_deref(),
                method: context.method.as_deref(),
                headers: headers.as_deref(),
                user_id: context.user_id.as_deref(),
                extra: context.extra.as_ref(),
            },
            header_filter: HeaderFilter::new(&excluded),
        };
        let mut body = vec![0u8; MAX_ERROR_BODY];
        match encode_error_report(&report, &mut body) {
            Ok(len) => {
                // Held until sent: its size, not the limit's 256 KiB.
                body.truncate(len);
                body.shrink_to_fit();
                Some(body)
            }
            Err(e) => {
                self.reports.count_unencodable(e);
                log::warn!("monlight: error report dropped: {e}");
                None
            }
        }
    }
}

impl Drop for Inner {
    /// The last handle tries what is queued once more, within the timeout,
    /// and gives up (counted) what the tracker does not store: call
    /// [`ErrorClient::flush`] or [`ErrorClient::close`] to give retries
    /// time.
    fn drop(&mut self) {
        self.reports.close(Duration::ZERO, self.config.timeout);
    }
}
