//! `ErrorClient`: reports errors to a monlight error tracker, fire and
//! forget, the way the reference Python client does.

use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use monlight_core::limits::MAX_ERROR_BODY;
use monlight_core::{
    Endpoint, ErrorReport, HeaderFilter, Outcome, Pause, ReportError, Stats, ThrowSite, Transport,
    encode_error_report, validate_project, write_traceback,
};

use crate::config::{ApiKey, ConfigError, EndpointUrls, check_duration};
use crate::env;
use crate::reportable::Reportable;
use crate::transport::{AsyncHttp, BlockingHttp};

/// Reports waiting for the sender thread before new ones are dropped.
const QUEUE_DEPTH: usize = 64;

/// Async reports that may be on their way at once, each holding its body
/// and, while it is sent, a connection: beyond, a report is dropped and
/// counted, so a storm of failures against a slow tracker cannot exhaust
/// memory or file descriptors.
const MAX_IN_FLIGHT: usize = 64;

/// The request an error happened in. Only the fields you set are sent.
///
/// ```
/// use monlight_std::RequestContext;
/// use serde_json::json;
///
/// let context = RequestContext::new()
///     .url("/api/users")
///     .method("POST")
///     .header("Content-Type", "application/json")
///     .header("Authorization", "Bearer t") // stripped before sending
///     .user_id(42)
///     .extra(json!({"booking_id": 123}));
/// assert_eq!(context.user_id.as_deref(), Some("42"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestContext {
    /// `request_url`.
    pub url: Option<String>,
    /// `request_method`.
    pub method: Option<String>,
    /// `request_headers`; sensitive ones are stripped when the report is
    /// encoded.
    pub headers: Option<Vec<(String, String)>>,
    /// `user_id`, as a string.
    pub user_id: Option<String>,
    /// `extra`: any JSON.
    pub extra: Option<serde_json::Value>,
}

impl RequestContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the request URL.
    #[must_use]
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets the request method.
    #[must_use]
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Adds one request header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .get_or_insert_with(Vec::new)
            .push((name.into(), value.into()));
        self
    }

    /// Adds request headers.
    #[must_use]
    pub fn headers<K: Into<String>, V: Into<String>>(
        mut self,
        headers: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.headers
            .get_or_insert_with(Vec::new)
            .extend(headers.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Sets the user id; anything displayable, sent as a string.
    #[must_use]
    pub fn user_id(mut self, user_id: impl std::fmt::Display) -> Self {
        self.user_id = Some(user_id.to_string());
        self
    }

    /// Sets `extra`.
    #[must_use]
    pub fn extra(mut self, extra: serde_json::Value) -> Self {
        self.extra = Some(extra);
        self
    }
}

/// Builds an [`ErrorClient`]; the defaults are the reference client's.
#[derive(Debug, Clone)]
#[must_use]
pub struct ErrorClientBuilder {
    base_url: String,
    api_key: String,
    project: String,
    environment: String,
    timeout: Duration,
    excluded_headers: Vec<String>,
}

impl ErrorClientBuilder {
    /// Project name, 1 to 100 characters (default `"default"`).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = project.into();
        self
    }

    /// Environment name (default `"prod"`).
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = environment.into();
        self
    }

    /// Bound on each report's delivery (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Header names to strip besides `authorization`, `cookie`,
    /// `set-cookie` and `x-api-key` (case-insensitive).
    pub fn excluded_headers<S: Into<String>>(
        mut self,
        headers: impl IntoIterator<Item = S>,
    ) -> Self {
        self.excluded_headers
            .extend(headers.into_iter().map(Into::into));
        self
    }

    /// Checks the configuration.
    pub fn build(self) -> Result<ErrorClient, ConfigError> {
        EndpointUrls::new(&self.base_url)?;
        let api_key = ApiKey::new(self.api_key)?;
        validate_project(&self.project).map_err(|_| ConfigError::InvalidProject)?;
        check_duration(self.timeout, "timeout")?;
        let async_http = AsyncHttp::new(&self.base_url, &api_key, self.timeout)?;
        Ok(ErrorClient {
            inner: Arc::new(Inner {
                config: Config {
                    base_url: self.base_url,
                    api_key,
                    project: self.project,
                    environment: self.environment,
                    timeout: self.timeout,
                    excluded_headers: self.excluded_headers,
                },
                async_http,
                state: Mutex::new(State::default()),
                sender: Mutex::new(None),
                in_flight: AtomicUsize::new(0),
                origin: Instant::now(),
            }),
        })
    }
}

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
            .finish()
    }
}

struct Inner {
    config: Config,
    async_http: AsyncHttp,
    state: Mutex<State>,
    /// The sender thread for synchronous reports, started on first use.
    sender: Mutex<Option<SyncSender<Job>>>,
    /// Async reports built and not yet settled (see [`MAX_IN_FLIGHT`]).
    in_flight: AtomicUsize,
    origin: Instant,
}

struct Config {
    base_url: String,
    api_key: ApiKey,
    project: String,
    environment: String,
    timeout: Duration,
    excluded_headers: Vec<String>,
}

#[derive(Default)]
struct State {
    stats: Stats,
    pause: Pause,
}

struct Job {
    body: Vec<u8>,
    done: SyncSender<()>,
}

impl ErrorClient {
    /// A client with the reference defaults: project `"default"`,
    /// environment `"prod"`, 5 s timeout.
    pub fn new(base_url: &str, api_key: &str) -> Result<Self, ConfigError> {
        Self::builder(base_url, api_key).build()
    }

    /// A client configured from the environment:
    /// `MONLIGHT_ERROR_TRACKER_URL` and `MONLIGHT_API_KEY` (required),
    /// `MONLIGHT_PROJECT` and `MONLIGHT_ENVIRONMENT` (see [`crate::env`]).
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
        builder.build()
    }

    /// A builder to change the defaults.
    pub fn builder(base_url: impl Into<String>, api_key: impl Into<String>) -> ErrorClientBuilder {
        ErrorClientBuilder {
            base_url: base_url.into(),
            api_key: api_key.into(),
            project: "default".into(),
            environment: "prod".into(),
            timeout: Duration::from_secs(5),
            excluded_headers: Vec::new(),
        }
    }

    /// Reports `error` and waits (at most `timeout`) for the tracker's
    /// answer. Never panics, never returns an error. Safe to call anywhere,
    /// including inside an async runtime (the request runs on the client's
    /// own thread).
    #[track_caller]
    pub fn report_error_sync<R: Reportable + ?Sized>(
        &self,
        error: &R,
        context: Option<RequestContext>,
    ) {
        let site = ThrowSite::caller();
        if let Some(body) = self.inner.encode(error, context.as_ref(), site, None) {
            self.inner.send_blocking(body);
        }
    }

    /// Reports `error` from async code. The report is built when this is
    /// called; the returned future only sends it, so it is `'static` and
    /// can be spawned to not wait at all:
    /// `tokio::spawn(client.report_error(&e, None));`. Needs a tokio runtime.
    /// At most 64 such reports are on their way at once (a storm of
    /// failures against a slow tracker); beyond, a report is dropped and
    /// counted in [`Stats::dropped_full`].
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
        if let Some(body) =
            self.inner
                .encode(&Anyhow(error), context.as_ref(), site, backtrace.as_deref())
        {
            self.inner.send_blocking(body);
        }
    }

    /// [`ErrorClient::report_anyhow_sync`] from async code, like
    /// [`ErrorClient::report_error`]: built now, sent by the returned
    /// `'static` future (spawn it to not wait).
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
        let body = self
            .inner
            .encode(&Anyhow(error), context.as_ref(), site, backtrace.as_deref());
        self.send_later(body)
    }

    /// Where every report went so far: `recorded` reports were attempted,
    /// `sent` accepted, the rest dropped under their reason.
    pub fn stats(&self) -> Stats {
        self.inner.lock_state().stats
    }

    /// Builds a report now and returns the future that sends it (for the
    /// integrations, which know the throw site themselves).
    pub(crate) fn report_at<R: Reportable + ?Sized>(
        &self,
        error: &R,
        site: ThrowSite<'_>,
        context: Option<&RequestContext>,
    ) -> impl Future<Output = ()> + Send + 'static + use<R> {
        self.send_later(self.inner.encode(error, context, site, None))
    }

    /// The future that sends an encoded report (nothing if encoding failed).
    fn send_later(
        &self,
        body: Option<Vec<u8>>,
    ) -> impl Future<Output = ()> + Send + 'static + use<> {
        // Counted from now: the future holds the body until it is done or
        // dropped, spawned or not.
        let report = body.and_then(|body| match InFlight::enter(&self.inner) {
            Some(in_flight) => Some((in_flight, body)),
            None => {
                self.inner.drop_full(MAX_IN_FLIGHT, "on their way");
                None
            }
        });
        async move {
            let Some((in_flight, body)) = report else {
                return;
            };
            let inner = &in_flight.0;
            if inner.paused() {
                return;
            }
            let outcome = inner.async_http.send_owned(Endpoint::Errors, body).await;
            inner.settle(outcome);
        }
    }

    /// Builds a report now and queues it for the sender thread without
    /// waiting (for integrations called on hot or sensitive paths, such as
    /// a `tracing` layer).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn report_detached<R: Reportable + ?Sized>(
        &self,
        error: &R,
        site: ThrowSite<'_>,
        context: Option<&RequestContext>,
    ) {
        if let Some(body) = self.inner.encode(error, context, site, None) {
            self.inner.send_queued(body, false);
        }
    }

    /// Reports a panic (used by [`install_panic_hook`](crate::install_panic_hook)).
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
        let panic = Panic(message);
        if let Some(body) = self.inner.encode(&panic, None, site, backtrace) {
            self.inner.send_blocking(body);
        }
    }
}

/// An `anyhow::Error` as reported: typed by its root cause (the outer
/// layers are anyhow's context wrappers), its chain the contexts and causes.
#[cfg(feature = "anyhow")]
struct Anyhow<'e>(&'e anyhow::Error);

#[cfg(feature = "anyhow")]
impl Reportable for Anyhow<'_> {
    fn type_path(&self) -> std::borrow::Cow<'_, str> {
        crate::reportable::dyn_type_path(self.0.root_cause())
    }

    fn as_error(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// The application frames of an `anyhow::Error`'s backtrace, if captured.
#[cfg(feature = "anyhow")]
fn anyhow_frames(error: &anyhow::Error) -> Option<String> {
    let backtrace = error.backtrace();
    (backtrace.status() == std::backtrace::BacktraceStatus::Captured)
        .then(|| crate::panic_hook::application_frames(&backtrace.to_string()))
}

/// A panic, reported with exception type `Panic`.
pub(crate) struct Panic<'a>(pub(crate) &'a str);

impl Reportable for Panic<'_> {
    fn type_path(&self) -> std::borrow::Cow<'_, str> {
        "Panic".into()
    }
    fn as_error(&self) -> Option<&(dyn std::error::Error + 'static)> {
        None
    }
    fn message(&self) -> String {
        self.0.to_owned()
    }
}

impl Inner {
    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Builds the JSON body; `None` (counted, logged) if it cannot be.
    fn encode<R: Reportable + ?Sized>(
        &self,
        error: &R,
        context: Option<&RequestContext>,
        site: ThrowSite<'_>,
        detail: Option<&str>,
    ) -> Option<Vec<u8>> {
        self.lock_state().stats.recorded += 1;
        let type_path = error.type_path();
        let message = error.message();
        let causes =
            std::iter::successors(error.as_error().and_then(|e| e.source()), |e| e.source());
        let mut traceback = String::new();
        // Writing to a String cannot fail.
        let _ = write_traceback(&mut traceback, site, &type_path, &message, causes, detail);

        let headers: Option<Vec<(&str, &str)>> = context
            .and_then(|c| c.headers.as_ref())
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
            exception_type: monlight_core::short_type_name(&type_path),
            message: &message,
            traceback: &traceback,
            context: monlight_core::RequestContext {
                url: context.and_then(|c| c.url.as_deref()),
                method: context.and_then(|c| c.method.as_deref()),
                headers: headers.as_deref(),
                user_id: context.and_then(|c| c.user_id.as_deref()),
                extra: context.and_then(|c| c.extra.as_ref()),
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
                let mut state = self.lock_state();
                match e {
                    ReportError::TooLarge => state.stats.dropped_oversize += 1,
                    ReportError::InvalidProject => state.stats.dropped_invalid += 1,
                }
                log::warn!("monlight: error report dropped: {e}");
                None
            }
        }
    }

    /// `true` (and the report counted as rate limited) while a 429 pause lasts.
    fn paused(&self) -> bool {
        let now = self.now_ms();
        let mut state = self.lock_state();
        let paused = state.pause.is_active(now);
        if paused {
            state.stats.dropped_rate_limited += 1;
            log::warn!(
                "monlight: error report dropped: the tracker asked to wait {} ms more (429)",
                state.pause.remaining_ms(now)
            );
        }
        paused
    }

    fn settle(&self, outcome: Outcome) {
        let now = self.now_ms();
        let mut state = self.lock_state();
        state.stats.batches += 1;
        match outcome {
            Outcome::Delivered { .. } => state.stats.sent += 1,
            Outcome::Rejected { .. } => state.stats.dropped_rejected += 1,
            Outcome::RateLimited { .. } => state.stats.dropped_rate_limited += 1,
            Outcome::Failed(_) => state.stats.dropped_transport += 1,
        }
        state.pause.observe(&outcome, now);
        drop(state);
        if !outcome.is_delivered() {
            log::warn!(
                "monlight: error report to {} not stored: {outcome}",
                self.config.base_url
            );
        }
    }

    /// Hands the body to the sender thread and waits for it, at most
    /// `timeout` (plus a little for the hand-over).
    fn send_blocking(self: &Arc<Self>, body: Vec<u8>) {
        self.send_queued(body, true);
    }

    /// Queues `body` for the sender thread and, if `wait`, waits (at most
    /// the timeout) for its answer. A full queue drops and counts.
    fn send_queued(self: &Arc<Self>, body: Vec<u8>, wait: bool) {
        if self.paused() {
            return;
        }
        let (done, finished) = mpsc::sync_channel(1);
        let job = Job { body, done };
        let queued = {
            let mut sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
            let sender = match sender.as_ref() {
                Some(sender) => sender.clone(),
                None => match spawn_sender(Arc::downgrade(self)) {
                    Some(new) => sender.insert(new).clone(),
                    None => {
                        drop(sender);
                        self.settle(Outcome::Failed(monlight_core::TransportError::Io));
                        return;
                    }
                },
            };
            sender.try_send(job)
        };
        match queued {
            Ok(()) => {
                if wait
                    && finished
                        .recv_timeout(self.config.timeout + Duration::from_millis(500))
                        .is_err()
                {
                    log::warn!(
                        "monlight: error report still in flight after {:?}; not waiting",
                        self.config.timeout
                    );
                }
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.drop_full(QUEUE_DEPTH, "waiting");
            }
        }
    }

    /// Counts and logs a report dropped because `limit` others are
    /// already `doing` so.
    fn drop_full(&self, limit: usize, doing: &str) {
        self.lock_state().stats.dropped_full += 1;
        log::warn!("monlight: error report dropped: {limit} reports already {doing}");
    }
}

/// One async report on its way (see [`MAX_IN_FLIGHT`]), until dropped.
struct InFlight(Arc<Inner>);

impl InFlight {
    fn enter(inner: &Arc<Inner>) -> Option<Self> {
        inner
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_IN_FLIGHT).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(Arc::clone(inner)))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The sender thread: owns a blocking HTTP client (never on an async
/// runtime's thread) and ends when the client is dropped.
fn spawn_sender(inner: std::sync::Weak<Inner>) -> Option<SyncSender<Job>> {
    let (jobs, inbox) = mpsc::sync_channel::<Job>(QUEUE_DEPTH);
    let (base_url, api_key, timeout) = {
        let inner = inner.upgrade()?;
        (
            inner.config.base_url.clone(),
            inner.config.api_key.clone(),
            inner.config.timeout,
        )
    };
    let spawned = std::thread::Builder::new()
        .name("monlight-errors".into())
        .spawn(move || {
            let mut http = BlockingHttp::new(&base_url, &api_key, timeout);
            for job in inbox {
                let outcome = match &mut http {
                    Ok(http) => http.send(Endpoint::Errors, &job.body),
                    Err(_) => Outcome::Failed(monlight_core::TransportError::InvalidRequest),
                };
                if let Some(inner) = inner.upgrade() {
                    inner.settle(outcome);
                }
                let _ = job.done.send(());
            }
        });
    match spawned {
        Ok(_) => Some(jobs),
        Err(e) => {
            log::warn!("monlight: could not start the error sender thread: {e}");
            None
        }
    }
}
