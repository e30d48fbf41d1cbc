//! A [`tracing_subscriber::Layer`] that reports `ERROR` events (or, with
//! [`MonlightLayer::level`], `WARN` and above) to the error tracker: the event's message as the message, its fields in
//! `extra`, the names of the spans it happened in, and its source location
//! as the throw site (so each `error!` line is its own group).
//!
//! ```no_run
//! use monlight_std::ErrorClient;
//! use monlight_std::integrations::tracing::MonlightLayer;
//! use tracing_subscriber::prelude::*;
//!
//! let client = ErrorClient::new("http://localhost:5010", "my-key")?;
//! tracing_subscriber::registry()
//!     .with(MonlightLayer::new(client).report_error_fields(true))
//!     .init();
//!
//! # let e = std::io::Error::other("disk full");
//! tracing::error!(order_id = 42, error = &e as &dyn std::error::Error, "could not save the order");
//! # Ok::<(), monlight_std::ConfigError>(())
//! ```
//!
//! Reports are queued for the client's sender thread: the event never
//! waits on the network. Events from monlight's own threads and crates are
//! never reported, so a failing report cannot report itself.

use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::sync::Arc;

use monlight_core::ThrowSite;
use serde_json::{Map, Value};
use tracing_core::field::{Field, Visit};
use tracing_core::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::reportable::{Message, dyn_type_path, is_monlight};
use crate::{ErrorClient, Reportable, RequestContext};

/// Reports `ERROR` events (or those at a level you choose) through an
/// [`ErrorClient`].
#[derive(Clone)]
pub struct MonlightLayer {
    client: ErrorClient,
    report_error_fields: bool,
    level: Level,
    filter: Option<Arc<EventFilter>>,
}

/// Which events a [`MonlightLayer`] reports, besides their level.
type EventFilter = dyn Fn(&Metadata<'_>) -> bool + Send + Sync;

impl std::fmt::Debug for MonlightLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonlightLayer")
            .field("client", &self.client)
            .field("report_error_fields", &self.report_error_fields)
            .field("level", &self.level)
            .field("filter", &self.filter.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

impl MonlightLayer {
    /// Reports every `ERROR` event: exception type the event's target
    /// (its module path), message the event's message.
    pub fn new(client: ErrorClient) -> Self {
        Self {
            client,
            report_error_fields: false,
            level: Level::ERROR,
            filter: None,
        }
    }

    /// Reports events at `level` and more severe: `Level::WARN` reports
    /// warnings and errors.
    #[must_use]
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Reports only the events (at the level) for which `filter` says
    /// `true`, e.g. to leave out a noisy target.
    ///
    /// ```no_run
    /// # let client = monlight_std::ErrorClient::new("http://localhost:5010", "k")?;
    /// use monlight_std::integrations::tracing::MonlightLayer;
    /// let layer = MonlightLayer::new(client)
    ///     .level(tracing::Level::WARN)
    ///     .filter(|metadata| !metadata.target().starts_with("hyper"));
    /// # Ok::<(), monlight_std::ConfigError>(())
    /// ```
    #[must_use]
    pub fn filter(
        mut self,
        filter: impl Fn(&Metadata<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.filter = Some(Arc::new(filter));
        self
    }

    /// With `true`, an event carrying an error as a field
    /// (`error = &e as &dyn Error`) is reported as that error: its type,
    /// its message and its chain of causes (the event's message goes in
    /// `extra`).
    #[must_use]
    pub fn report_error_fields(mut self, on: bool) -> Self {
        self.report_error_fields = on;
        self
    }
}

impl<S> Layer<S> for MonlightLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        // More severe is smaller: ERROR < WARN < INFO.
        if *meta.level() > self.level
            || is_monlight(meta.target())
            || self.filter.as_ref().is_some_and(|keep| !keep(meta))
        {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let spans: Vec<Value> = ctx
            .event_scope(event)
            .map(|scope| scope.from_root().map(|s| s.name().into()).collect())
            .unwrap_or_default();
        let mut extra = fields.extra;
        extra.insert("target".into(), meta.target().into());
        if !spans.is_empty() {
            extra.insert("spans".into(), spans.into());
        }
        let site = ThrowSite {
            file: meta.file().unwrap_or("<unknown>"),
            line: meta.line().unwrap_or(0),
            column: 0,
        };
        let message = fields.message.unwrap_or_default();
        let context = |extra| Some(RequestContext::new().extra(Value::Object(extra)));
        match fields.error {
            Some(error) if self.report_error_fields => {
                if !message.is_empty() {
                    extra.insert("event".into(), message.into());
                }
                self.client
                    .report_detached(&error, site, context(extra).as_ref());
            }
            _ => {
                let reported = Message {
                    type_path: meta.target().to_owned(),
                    text: message,
                };
                self.client
                    .report_detached(&reported, site, context(extra).as_ref());
            }
        }
    }
}

/// The event's fields: its message, the first error, the rest as JSON.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    error: Option<Captured>,
    extra: Map<String, Value>,
}

impl Fields {
    fn insert(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(text) => text,
                other => other.to_string(),
            });
        } else {
            self.extra.insert(field.name().into(), value);
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.insert(field, format!("{value:?}").into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.insert(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.insert(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field, value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn Error + 'static)) {
        if self.error.is_none() {
            self.error = Some(Captured::from_error(value));
        }
        self.insert(field, value.to_string().into());
    }
}

/// An error copied out of the event (the event's borrow ends with it).
struct Captured {
    type_path: String,
    chain: Chain,
}

impl Captured {
    fn from_error(error: &(dyn Error + 'static)) -> Self {
        let mut messages = vec![error.to_string()];
        let mut next = error.source();
        while let Some(cause) = next {
            messages.push(cause.to_string());
            next = cause.source();
        }
        let chain = messages
            .into_iter()
            .rev()
            .fold(None, |source, message| {
                Some(Chain {
                    message,
                    source: source.map(Box::new),
                })
            })
            .unwrap_or_default();
        Self {
            type_path: dyn_type_path(error).into_owned(),
            chain,
        }
    }
}

impl Reportable for Captured {
    fn type_path(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.type_path)
    }

    fn as_error(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.chain)
    }

    fn message(&self) -> String {
        self.chain.message.clone()
    }
}

/// A message and its causes, owned.
#[derive(Debug, Default)]
struct Chain {
    message: String,
    source: Option<Box<Chain>>,
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for Chain {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|c| c as &(dyn Error + 'static))
    }
}
