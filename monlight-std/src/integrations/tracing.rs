//! A [`tracing_subscriber::Layer`] that reports `ERROR` events to the
//! error tracker: the event's message as the message, its fields in
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

use monlight_core::ThrowSite;
use serde_json::{Map, Value};
use tracing_core::field::{Field, Visit};
use tracing_core::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::reportable::dyn_type_path;
use crate::{ErrorClient, Reportable, RequestContext};

/// Reports `ERROR` events through an [`ErrorClient`].
#[derive(Clone, Debug)]
pub struct MonlightLayer {
    client: ErrorClient,
    report_error_fields: bool,
}

impl MonlightLayer {
    /// Reports every `ERROR` event: exception type the event's target
    /// (its module path), message the event's message.
    pub fn new(client: ErrorClient) -> Self {
        Self {
            client,
            report_error_fields: false,
        }
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
        if *meta.level() != Level::ERROR || is_monlight(meta.target()) {
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
        let reported = match fields.error {
            Some(error) if self.report_error_fields => {
                if !message.is_empty() {
                    extra.insert("event".into(), message.into());
                }
                error
            }
            _ => Captured {
                type_path: meta.target().to_owned(),
                chain: Chain {
                    message,
                    source: None,
                },
                bare: true,
            },
        };
        let context = RequestContext::new().extra(Value::Object(extra));
        self.client.report_detached(&reported, site, Some(&context));
    }
}

/// Targets and threads of monlight itself: never reported.
fn is_monlight(target: &str) -> bool {
    target.starts_with("monlight")
        || std::thread::current()
            .name()
            .is_some_and(|name| name.starts_with("monlight-"))
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
    /// A message, not an error: no causes to walk.
    bare: bool,
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
            bare: false,
        }
    }
}

impl Reportable for Captured {
    fn type_path(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.type_path)
    }

    fn as_error(&self) -> Option<&(dyn Error + 'static)> {
        (!self.bare).then_some(&self.chain as &(dyn Error + 'static))
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
