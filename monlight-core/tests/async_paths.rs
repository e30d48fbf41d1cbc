//! The async twins (HTTP framing over embedded-io-async, the async flush)
//! behave like the blocking ones.

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use monlight_core::http::{HttpError, RequestHead, exchange_async};
use monlight_core::{
    AsyncTransport, Endpoint, Flusher, Metric, MetricBuffer, Outcome, TransportError,
};

/// Polls a future whose I/O is always ready (in-memory streams).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

struct Peer {
    answer: Vec<u8>,
    written: Vec<u8>,
}

impl embedded_io_async::ErrorType for Peer {
    type Error = core::convert::Infallible;
}
impl embedded_io_async::Read for Peer {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.answer.len()).min(5);
        buf[..n].copy_from_slice(&self.answer[..n]);
        self.answer.drain(..n);
        Ok(n)
    }
}
impl embedded_io_async::Write for Peer {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

fn exchange(answer: &[u8]) -> (Result<Outcome, HttpError>, Vec<u8>) {
    let mut peer = Peer {
        answer: answer.to_vec(),
        written: Vec::new(),
    };
    let head = RequestHead {
        host: "10.0.0.2:5012",
        base_path: "",
        api_key: "k",
        endpoint: Endpoint::Metrics,
    };
    let mut buf = [0u8; 256];
    let result = block_on(exchange_async(&mut peer, &head, b"[1]", &mut buf));
    (result, peer.written)
}

#[test]
fn async_exchange_frames_and_parses() {
    let (result, written) =
        exchange(b"HTTP/1.1 429 Too Many\r\nContent-Length: 17\r\n\r\n{\"retry_after\":3}");
    assert_eq!(
        result,
        Ok(Outcome::RateLimited {
            retry_after_secs: 3
        })
    );
    let text = String::from_utf8(written).unwrap();
    assert!(text.starts_with("POST /api/metrics HTTP/1.1\r\n"));
    assert!(text.ends_with("Content-Length: 3\r\nConnection: close\r\n\r\n[1]"));
    assert_eq!(exchange(b"").0, Err(HttpError::Truncated));
    assert_eq!(exchange(b"HTTP/2 200\r\n\r\n").0, Err(HttpError::Malformed));
}

struct Scripted(Vec<Outcome>, usize);

impl AsyncTransport for Scripted {
    async fn send(&mut self, _: Endpoint, body: &[u8]) -> Outcome {
        assert!(body.starts_with(b"[{"));
        self.1 += 1;
        self.0.remove(0)
    }
}

#[test]
fn async_flush_counts_like_the_blocking_one() {
    let buffer = RefCell::new(MetricBuffer::<[u8; 4096]>::new());
    for _ in 0..3 {
        buffer
            .borrow_mut()
            .record(&Metric::counter("c", &[], 1.0))
            .unwrap();
    }
    let limits = monlight_core::BatchLimits {
        max_items: 1,
        ..Default::default()
    };
    let mut flusher = Flusher::new(None).with_limits(limits);
    let mut transport = Scripted(
        vec![
            Outcome::Delivered { status: 202 },
            Outcome::Failed(TransportError::Timeout),
            Outcome::RateLimited {
                retry_after_secs: 2,
            },
        ],
        0,
    );
    let report = block_on(flusher.flush_async(
        &buffer,
        &mut transport,
        &mut [0u8; 512],
        monlight_core::Now::monotonic(0),
    ));
    assert_eq!(
        (report.batches, report.sent, report.dropped, report.kept),
        (3, 1, 1, 1)
    );
    let stats = buffer.borrow().stats();
    assert_eq!(
        (stats.sent, stats.dropped_transport, stats.retried),
        (1, 1, 1)
    );
    assert_eq!(buffer.borrow().len(), 1, "the 429's point is kept");
    assert_eq!(flusher.pause().remaining_ms(500), 1500);
}
