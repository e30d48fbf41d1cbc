//! The least any request-metrics layer can do under the monlight protocol,
//! as a yardstick for the benchmarks (not for use: it records nothing a
//! server could read).
//!
//! [`FloorLayer`] times each request and keeps two 16-byte events (the
//! counter's and the histogram's) in a buffer of its thread. With a
//! collector's address, a thread delivers every 1,000 of them as 1,000
//! items of 200 bytes of ready-made JSON in one POST on a connection of its
//! own, which is what the servers require (at most 1,000 items a request,
//! one event an item, a connection closed after every answer). With
//! [`FloorLayer::with_labels`], it also reads what the labels need (the
//! route template, the method, the status) and keeps the route's address
//! in the events. Nothing is validated, interned, looked up, formatted or
//! counted.

use std::cell::RefCell;
use std::future::Future;
use std::io::{Read, Write};
use std::pin::Pin;
use std::sync::mpsc::{Sender, channel};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;

/// Events handed to the sending thread at once: the servers' item limit.
const BATCH: usize = 1000;

/// A request's two items as monlight sends them for the benchmarks' app.
const ITEMS: [&[u8]; 2] = [
    br#"{"name":"http_requests_total","type":"counter","value":1,"labels":{"method":"GET","endpoint":"/users/{id}","status":"200"},"timestamp":"2026-11-26T11:12:08Z","project":"bench"}"#,
    br#"{"name":"http_request_duration_seconds","type":"histogram","value":0.000123,"labels":{"method":"GET","endpoint":"/users/{id}","status":"200"},"timestamp":"2026-11-26T11:12:08Z","project":"bench"}"#,
];

type Events = Vec<[u64; 2]>;

thread_local! {
    static EVENTS: RefCell<Events> = RefCell::new(Vec::with_capacity(BATCH));
}

/// A tower layer that does the floor's work for every request.
#[derive(Clone)]
pub struct FloorLayer {
    sender: Option<Sender<Events>>,
    labels: bool,
}

impl FloorLayer {
    /// Keeps events only (a full buffer is emptied).
    pub fn keep_only() -> Self {
        Self {
            sender: None,
            labels: false,
        }
    }

    /// Also reads the labels' sources: the route template (axum's
    /// `MatchedPath`, an `Arc` cloned into the future), the method and the
    /// status, as any request-metrics layer must.
    pub fn with_labels(self) -> Self {
        Self {
            labels: true,
            ..self
        }
    }

    /// Also delivers them to `http://host:port` (a sink that answers).
    pub fn deliver_to(url: &str) -> Self {
        let address = url.trim_start_matches("http://").to_owned();
        let (sender, batches) = channel::<Events>();
        std::thread::Builder::new()
            .name("monlight-floor".into())
            .spawn(move || {
                let (mut body, mut request) = (Vec::new(), Vec::new());
                let mut answer = [0u8; 256];
                for events in batches {
                    body.clear();
                    for i in 0..events.len() {
                        body.push(if i == 0 { b'[' } else { b',' });
                        body.extend_from_slice(ITEMS[i % 2]);
                    }
                    body.push(b']');
                    request.clear();
                    let length = body.len();
                    let head = format!(
                        "POST /api/metrics HTTP/1.1\r\nHost: sink\r\nContent-Length: {length}\r\n\r\n"
                    );
                    request.extend_from_slice(head.as_bytes());
                    request.extend_from_slice(&body);
                    let Ok(mut stream) = std::net::TcpStream::connect(&address) else {
                        continue;
                    };
                    if stream.write_all(&request).is_ok() {
                        while stream.read(&mut answer).unwrap_or(0) > 0 {}
                    }
                }
            })
            .expect("spawn the floor's sender");
        Self {
            sender: Some(sender),
            labels: false,
        }
    }
}

impl<S> tower::Layer<S> for FloorLayer {
    type Service = Floor<S>;

    fn layer(&self, inner: S) -> Floor<S> {
        Floor {
            inner,
            sender: self.sender.clone(),
            labels: self.labels,
        }
    }
}

/// The service of [`FloorLayer`].
#[derive(Clone)]
pub struct Floor<S> {
    inner: S,
    sender: Option<Sender<Events>>,
    labels: bool,
}

impl<S> tower::Service<Request> for Floor<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Timed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let labels = self.labels.then(|| {
            let route = request.extensions().get::<MatchedPath>().cloned();
            (route, request.method().clone())
        });
        Timed {
            inner: self.inner.call(request),
            start: Instant::now(),
            sender: self.sender.clone(),
            labels,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Floor`].
    pub struct Timed<F> {
        #[pin]
        inner: F,
        start: Instant,
        sender: Option<Sender<Events>>,
        labels: Option<(Option<MatchedPath>, Method)>,
    }
}

impl<F, E> Future for Timed<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = std::task::ready!(this.inner.poll(cx));
        let nanos = this.start.elapsed().as_nanos() as u64;
        let status = output.as_ref().map_or(500, |r| r.status().as_u16());
        // The route's address stands for its series (as a series id would).
        let series = match this.labels.take() {
            Some((route, method)) => {
                let route = route.as_ref().map_or(0, |r| r.as_str().as_ptr() as u64);
                route ^ (u64::from(status) << 48) ^ (method.as_str().len() as u64)
            }
            None => u64::from(status),
        };
        EVENTS.with_borrow_mut(|events| {
            events.push([series, 1]);
            events.push([series, nanos]);
            if events.len() >= BATCH {
                let full = std::mem::replace(events, Vec::with_capacity(BATCH));
                if let Some(sender) = this.sender {
                    let _ = sender.send(full);
                }
            }
        });
        Poll::Ready(output)
    }
}
