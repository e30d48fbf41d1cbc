//! The flush engine against answers 202, 500, 429 and a transport error,
//! through the real HTTP framing over an in-memory stream.

use std::cell::RefCell;
use std::collections::VecDeque;

use monlight_core::http::{RequestHead, exchange};
use monlight_core::{
    BatchLimits, Drain, Endpoint, Flusher, Metric, MetricBuffer, Now, Outcome, Stats, Transport,
    TransportError,
};

/// A connection that answers with canned bytes and keeps what was written.
struct ScriptedStream<'a> {
    answer: &'a [u8],
    written: Vec<u8>,
}

#[derive(Debug)]
struct Broken;
impl embedded_io::Error for Broken {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::ConnectionReset
    }
}
impl core::fmt::Display for Broken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("broken")
    }
}
impl std::error::Error for Broken {}

impl embedded_io::ErrorType for ScriptedStream<'_> {
    type Error = Broken;
}
impl embedded_io::Read for ScriptedStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
        // Dribble the answer 7 bytes at a time to exercise reassembly.
        let n = buf.len().min(self.answer.len()).min(7);
        buf[..n].copy_from_slice(&self.answer[..n]);
        self.answer = &self.answer[n..];
        Ok(n)
    }
}
impl embedded_io::Write for ScriptedStream<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Broken> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Broken> {
        Ok(())
    }
}

enum Answer {
    Http(&'static str),
    Reset,
}

/// A transport that opens one scripted connection per request.
struct ScriptedTransport {
    answers: VecDeque<Answer>,
    requests: Vec<Vec<u8>>,
}

impl Transport for ScriptedTransport {
    fn send(&mut self, endpoint: Endpoint, body: &[u8]) -> Outcome {
        let head = RequestHead {
            host: "127.0.0.1:5012",
            base_path: "",
            api_key: "secret-key",
            endpoint,
        };
        let mut buf = [0u8; 512];
        match self.answers.pop_front() {
            Some(Answer::Http(answer)) => {
                let mut stream = ScriptedStream {
                    answer: answer.as_bytes(),
                    written: Vec::new(),
                };
                let outcome = exchange(&mut stream, &head, body, &mut buf)
                    .unwrap_or_else(|e| Outcome::Failed(e.into()));
                self.requests.push(stream.written);
                outcome
            }
            Some(Answer::Reset) | None => Outcome::Failed(TransportError::Io),
        }
    }
}

#[test]
fn counters_and_pause_say_exactly_what_happened() {
    let buffer = RefCell::new(MetricBuffer::<[u8; 8192]>::new());
    for i in 0..40 {
        buffer
            .borrow_mut()
            .record(&Metric::counter("ticks_total", &[], f64::from(i)))
            .unwrap();
    }
    let mut transport = ScriptedTransport {
        answers: VecDeque::from([
            Answer::Http(
                "HTTP/1.1 202 Accepted\r\nContent-Length: 35\r\n\r\n{\"status\": \"accepted\", \"count\": 10}",
            ),
            Answer::Http("HTTP/1.1 500 Internal Server Error\r\n\r\n{\"detail\": \"boom\"}"),
            Answer::Reset,
            Answer::Http(
                "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n\r\n{\"detail\": \"Rate limit exceeded\", \"retry_after\": 7}",
            ),
            Answer::Http("HTTP/1.1 202 Accepted\r\n\r\n{}"),
            Answer::Http("HTTP/1.1 202 Accepted\r\n\r\n{}"),
        ]),
        requests: Vec::new(),
    };
    // Batches of 10 so that each answer above meets one batch.
    let mut flusher = Flusher::new(Some("fw")).with_limits(BatchLimits {
        max_items: 10,
        ..BatchLimits::default()
    });
    let mut out = [0u8; 4096];

    let report = flusher.flush(&buffer, &mut transport, &mut out, Now::monotonic(1_000));
    // 202 -> sent; 500 -> rejected; reset after the request was written ->
    // lost (it may have been stored); 429 -> kept, pause, the flush stops.
    assert_eq!(
        (report.batches, report.sent, report.dropped, report.kept),
        (4, 10, 20, 10)
    );
    assert!(report.paused && report.rate_limited());
    assert_eq!(
        buffer.borrow().stats(),
        Stats {
            recorded: 40,
            sent: 10,
            dropped_rejected: 10,
            dropped_transport: 10,
            retried: 10,
            batches: 4,
            ..Stats::default()
        }
    );
    assert_eq!(buffer.borrow().len(), 10, "the 429's batch is kept");
    assert!(flusher.pause().is_active(1_000));
    assert_eq!(flusher.pause().remaining_ms(1_000), 7_000);

    // New points during the pause wait behind it; nothing is sent.
    buffer
        .borrow_mut()
        .record(&Metric::gauge("queue_depth", &[], 3.0))
        .unwrap();
    let report = flusher.flush(&buffer, &mut transport, &mut out, Now::monotonic(7_999));
    assert!(report.paused);
    assert_eq!(report.batches, 0);
    assert_eq!(buffer.borrow().len(), 11);
    assert_eq!(transport.requests.len(), 3, "no request during the pause");

    // After retry_after, the kept batch goes out first, once, then the rest.
    let report = flusher.flush(&buffer, &mut transport, &mut out, Now::monotonic(8_000));
    assert_eq!((report.batches, report.sent, report.paused), (2, 11, false));
    let retried = String::from_utf8(transport.requests[3].clone()).unwrap();
    let (_, body) = retried.split_once("\r\n\r\n").unwrap();
    let values: Vec<f64> = serde_json::from_str::<Vec<serde_json::Value>>(body)
        .unwrap()
        .iter()
        .map(|item| item["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, (30..40).map(f64::from).collect::<Vec<_>>());
    let stats = buffer.borrow().stats();
    assert_eq!(stats.recorded, stats.sent + stats.dropped_in_flight());
    assert_eq!(stats.sent, 21);
    assert!(buffer.borrow().is_empty());

    // What went on the wire: HTTP/1.1 with every required header.
    let first = String::from_utf8(transport.requests[0].clone()).unwrap();
    assert!(first.starts_with(
        "POST /api/metrics HTTP/1.1\r\nHost: 127.0.0.1:5012\r\nX-API-Key: secret-key\r\n"
    ));
    assert!(first.contains("\r\nConnection: close\r\n"));
    let (head, body) = first.split_once("\r\n\r\n").unwrap();
    assert!(head.contains(&format!("\r\nContent-Length: {}", body.len())));
    let items: Vec<serde_json::Value> = serde_json::from_str(body).unwrap();
    assert_eq!(items.len(), 10);
    assert_eq!(items[0]["project"], "fw");
}

#[test]
fn empty_buffer_sends_nothing() {
    let buffer = RefCell::new(MetricBuffer::<[u8; 256]>::new());
    let mut transport = ScriptedTransport {
        answers: VecDeque::new(),
        requests: Vec::new(),
    };
    let report =
        Flusher::new(None).flush(&buffer, &mut transport, &mut [0u8; 256], Now::monotonic(0));
    assert_eq!(report.batches, 0);
    assert!(transport.requests.is_empty());
}

#[test]
fn a_flush_sends_only_what_was_buffered_when_it_began() {
    // A transport that records a new point for every batch it sends, like a
    // busy application would: the flush must still end.
    struct Busy<'a>(&'a RefCell<MetricBuffer<[u8; 4096]>>, u32);
    impl Transport for Busy<'_> {
        fn send(&mut self, _: Endpoint, _: &[u8]) -> Outcome {
            self.0
                .borrow_mut()
                .record(&Metric::counter("late", &[], 1.0))
                .unwrap();
            self.1 += 1;
            Outcome::Delivered { status: 202 }
        }
    }
    let buffer = RefCell::new(MetricBuffer::<[u8; 4096]>::new());
    for _ in 0..5 {
        buffer
            .borrow_mut()
            .record(&Metric::counter("early", &[], 1.0))
            .unwrap();
    }
    let mut busy = Busy(&buffer, 0);
    let limits = BatchLimits {
        max_items: 1,
        ..BatchLimits::default()
    };
    let report = Flusher::new(None).with_limits(limits).flush(
        &buffer,
        &mut busy,
        &mut [0u8; 512],
        Now::monotonic(0),
    );
    assert_eq!(report.sent, 5);
    assert_eq!(busy.1, 5);
    assert_eq!(
        buffer.borrow().len(),
        5,
        "late points wait for the next flush"
    );
}

/// A connection that breaks while the request is written.
struct BreaksWhileWriting;
impl embedded_io::ErrorType for BreaksWhileWriting {
    type Error = Broken;
}
impl embedded_io::Read for BreaksWhileWriting {
    fn read(&mut self, _: &mut [u8]) -> Result<usize, Broken> {
        Err(Broken)
    }
}
impl embedded_io::Write for BreaksWhileWriting {
    fn write(&mut self, _: &[u8]) -> Result<usize, Broken> {
        Err(Broken)
    }
    fn flush(&mut self) -> Result<(), Broken> {
        Ok(())
    }
}

#[test]
fn what_never_reached_the_server_goes_out_at_the_next_flush() {
    let head = RequestHead {
        host: "h",
        base_path: "",
        api_key: "k",
        endpoint: Endpoint::Metrics,
    };
    let broken = exchange(&mut BreaksWhileWriting, &head, b"[]", &mut [0u8; 256])
        .unwrap_or_else(|e| Outcome::Failed(e.into()));
    assert_eq!(broken, Outcome::Failed(TransportError::Unsent));

    struct Link(Vec<Outcome>, usize);
    impl Transport for Link {
        fn send(&mut self, _: Endpoint, body: &[u8]) -> Outcome {
            self.1 += serde_json::from_slice::<Vec<serde_json::Value>>(body)
                .unwrap()
                .len();
            self.0.remove(0)
        }
    }
    let buffer = RefCell::new(MetricBuffer::<[u8; 4096]>::new());
    for i in 0..5 {
        buffer
            .borrow_mut()
            .record(&Metric::counter("c", &[], f64::from(i)))
            .unwrap();
    }
    let mut link = Link(
        vec![
            Outcome::Failed(TransportError::Connect),
            broken,
            Outcome::Delivered { status: 202 },
        ],
        0,
    );
    let mut flusher = Flusher::new(None);
    let mut out = [0u8; 1024];
    for attempt in 0..2 {
        let report = flusher.flush(&buffer, &mut link, &mut out, Now::monotonic(attempt));
        assert_eq!((report.kept, report.paused), (5, false));
    }
    let report = flusher.flush(&buffer, &mut link, &mut out, Now::monotonic(2));
    assert_eq!(report.sent, 5);
    let stats = buffer.borrow().stats();
    assert_eq!((stats.sent, stats.retried, stats.dropped()), (5, 10, 0));
    assert_eq!(link.1, 15, "three attempts of the same five points");
}

#[test]
fn the_last_flush_gives_up_what_the_server_will_not_store_and_counts_it() {
    struct Link(Vec<Outcome>, usize);
    impl Transport for Link {
        fn send(&mut self, _: Endpoint, _: &[u8]) -> Outcome {
            self.1 += 1;
            self.0.remove(0)
        }
    }
    let record = |buffer: &RefCell<MetricBuffer<[u8; 8192]>>, n: u32| {
        for i in 0..n {
            let point = Metric::counter("c", &[], f64::from(i));
            buffer.borrow_mut().record(&point).unwrap();
        }
    };
    let two_per_batch = BatchLimits {
        max_items: 2,
        ..BatchLimits::default()
    };
    let mut out = [0u8; 1024];

    // The first batch is stored, the second never reaches the server: the
    // rest is not sent (it would fail the same way) but counted with it.
    let buffer = RefCell::new(MetricBuffer::new());
    record(&buffer, 7);
    let mut link = Link(
        vec![
            Outcome::Delivered { status: 202 },
            Outcome::Failed(TransportError::Connect),
        ],
        0,
    );
    let mut flusher = Flusher::new(None).with_limits(two_per_batch);
    let report = flusher.flush_part(&buffer, &mut link, &mut out, Now::monotonic(0), Drain::Last);
    assert_eq!((report.sent, report.dropped, report.kept), (2, 5, 0));
    assert_eq!((report.batches, link.1), (2, 2));
    let stats = buffer.borrow().stats();
    assert_eq!(
        (stats.sent, stats.dropped_transport, stats.retried),
        (2, 5, 0)
    );
    assert_eq!(stats.batches, 2, "only requests sent are counted");
    assert!(buffer.borrow().is_empty());

    // During a 429 pause nothing is sent; all is counted as rate limited.
    let buffer = RefCell::new(MetricBuffer::new());
    record(&buffer, 3);
    let mut link = Link(
        vec![Outcome::RateLimited {
            retry_after_secs: 30,
        }],
        0,
    );
    let mut flusher = Flusher::new(None).with_limits(two_per_batch);
    let report = flusher.flush(&buffer, &mut link, &mut out, Now::monotonic(0));
    assert_eq!((report.kept, report.paused), (2, true));
    let report = flusher.flush_part(
        &buffer,
        &mut link,
        &mut out,
        Now::monotonic(1_000),
        Drain::Last,
    );
    assert_eq!((report.dropped, report.batches, link.1), (3, 0, 1));
    let stats = buffer.borrow().stats();
    assert_eq!((stats.dropped_rate_limited, stats.retried), (3, 2));
    assert_eq!(stats.recorded, stats.sent + stats.dropped());
}
