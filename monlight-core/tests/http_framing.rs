//! HTTP/1.1 framing: hostile and broken answers give errors, never panics or
//! unbounded reads.

use monlight_core::http::{HttpError, RequestHead, exchange, parse_response_head};
use monlight_core::{Endpoint, Outcome};
use proptest::prelude::*;

/// Serves `answer` in chunks of the given sizes, then EOF (or endless
/// garbage when `endless`).
struct Peer<'a> {
    answer: &'a [u8],
    chunks: Vec<usize>,
    endless: bool,
    reads: usize,
}

impl embedded_io::ErrorType for Peer<'_> {
    type Error = core::convert::Infallible;
}
impl embedded_io::Read for Peer<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.reads += 1;
        if self.answer.is_empty() && self.endless {
            buf.fill(b'X');
            return Ok(buf.len());
        }
        let chunk = self
            .chunks
            .get(self.reads % self.chunks.len().max(1))
            .copied()
            .unwrap_or(1)
            .max(1);
        let n = buf.len().min(self.answer.len()).min(chunk);
        buf[..n].copy_from_slice(&self.answer[..n]);
        self.answer = &self.answer[n..];
        Ok(n)
    }
}
impl embedded_io::Write for Peer<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A request to the error tracker.
fn errors_request() -> RequestHead<'static> {
    RequestHead {
        host: "h",
        base_path: "",
        api_key: "k",
        endpoint: Endpoint::Errors,
    }
}

fn run(answer: &[u8], endless: bool, buf_len: usize) -> (Result<Outcome, HttpError>, usize) {
    let head = errors_request();
    let mut peer = Peer {
        answer,
        chunks: vec![3, 1, 50],
        endless,
        reads: 0,
    };
    let mut buf = vec![0u8; buf_len];
    let result = exchange(&mut peer, &head, b"{}", &mut buf);
    (result, peer.reads)
}

#[test]
fn answers_are_classified() {
    let ok = run(
        b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}",
        false,
        256,
    )
    .0;
    assert_eq!(ok, Ok(Outcome::Delivered { status: 201 }));
    let limited = run(
        b"HTTP/1.0 429 Too Many\r\n\r\n{\"retry_after\": 12}",
        false,
        256,
    )
    .0;
    assert_eq!(
        limited,
        Ok(Outcome::RateLimited {
            retry_after_secs: 12
        })
    );
    let no_reason = run(b"HTTP/1.1 413\r\n\r\n", false, 256).0;
    assert_eq!(no_reason, Ok(Outcome::Rejected { status: 413 }));
}

#[test]
fn broken_answers_are_errors() {
    assert_eq!(run(b"", false, 256).0, Err(HttpError::Truncated));
    assert_eq!(
        run(b"HTTP/1.1 200 OK\r\nX: y", false, 256).0,
        Err(HttpError::Truncated)
    );
    assert_eq!(
        run(b"garbage\r\n\r\n", false, 256).0,
        Err(HttpError::Malformed)
    );
    assert_eq!(
        run(b"HTTP/1.1 2x0 OK\r\n\r\n", false, 256).0,
        Err(HttpError::Malformed)
    );
    assert_eq!(
        run(b"HTTP/1.1 20 OK\r\n\r\n", false, 256).0,
        Err(HttpError::Malformed)
    );
    for status in ["2000", "099", "2 0"] {
        let answer = format!("HTTP/1.1 {status} OK\r\n\r\n");
        assert_eq!(
            run(answer.as_bytes(), false, 256).0,
            Err(HttpError::Malformed),
            "{status}"
        );
    }
}

#[test]
fn only_a_429_waits_for_its_body() {
    // A 202 is done with its head: its body is neither needed nor awaited.
    let body = [b'x'; 300];
    let answer = [&b"HTTP/1.1 202 Accepted\r\n\r\n"[..], &body].concat();
    let mut peer = Peer {
        answer: &answer,
        chunks: vec![10],
        endless: false,
        reads: 0,
    };
    let accepted = exchange(&mut peer, &errors_request(), b"{}", &mut [0u8; 512]);
    assert_eq!(accepted, Ok(Outcome::Delivered { status: 202 }));
    assert!(peer.answer.len() >= 290, "the body was left unread");
    // A 429's body is read until the server closes, whatever its headers
    // claim, for the `retry_after` it names.
    let limited = run(
        b"HTTP/1.1 429 Too Many\r\nContent-Length: 1\r\n\r\n{\"retry_after\": 9}",
        false,
        256,
    );
    assert_eq!(
        limited.0,
        Ok(Outcome::RateLimited {
            retry_after_secs: 9
        })
    );
    let head = parse_response_head(b"HTTP/1.1 202\r\nno colon\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!((head.status, head.len), (202, 26), "headers are not read");
}

#[test]
fn endless_header_stops_at_the_buffer() {
    let (result, reads) = run(b"HTTP/1.1 200 OK\r\nX-Long: ", true, 512);
    assert_eq!(result, Err(HttpError::HeadersTooLarge));
    assert!(reads < 600, "bounded read ({reads} reads)");
}

#[test]
fn endless_body_stops_at_the_buffer() {
    let (result, _) = run(b"HTTP/1.1 500 Oops\r\n\r\n", true, 512);
    assert_eq!(result, Ok(Outcome::Rejected { status: 500 }));
}

#[test]
fn header_injection_is_refused() {
    let head = RequestHead {
        host: "h",
        base_path: "",
        api_key: "k\r\nX-Evil: 1",
        endpoint: Endpoint::Metrics,
    };
    assert_eq!(
        head.encode(2, &mut [0u8; 256]),
        Err(HttpError::InvalidRequest)
    );
    let head = RequestHead {
        host: "h",
        base_path: "",
        api_key: "k",
        endpoint: Endpoint::Errors,
    };
    assert_eq!(
        head.encode(300_000, &mut [0u8; 256]),
        Err(HttpError::InvalidRequest),
        "over the tracker's limit"
    );
    assert_eq!(
        head.encode(2, &mut [0u8; 20]),
        Err(HttpError::InvalidRequest),
        "scratch too small"
    );
    for bad_path in ["/a b", "/a\r\nX-Evil: 1"] {
        let head = RequestHead {
            base_path: bad_path,
            ..head
        };
        assert_eq!(
            head.encode(2, &mut [0u8; 256]),
            Err(HttpError::InvalidRequest),
            "{bad_path:?}"
        );
    }
    let mut out = [0u8; 256];
    let behind_a_proxy = RequestHead {
        base_path: "/monlight",
        ..head
    };
    let len = behind_a_proxy.encode(2, &mut out).unwrap();
    assert!(out[..len].starts_with(b"POST /monlight/api/errors HTTP/1.1\r\n"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_response_head(&bytes);
    }

    #[test]
    fn plausible_heads_never_panic(
        status in 0u16..1000,
        headers in proptest::collection::vec(("[A-Za-z-]{0,12}", "[ -~]{0,20}"), 0..6),
        body in proptest::collection::vec(any::<u8>(), 0..64),
        buf_len in 1usize..300,
        chunks in proptest::collection::vec(1usize..20, 1..4),
    ) {
        let mut answer = format!("HTTP/1.1 {status} X\r\n").into_bytes();
        for (k, v) in &headers {
            answer.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        answer.extend_from_slice(b"\r\n");
        answer.extend_from_slice(&body);
        let head = RequestHead { host: "h", base_path: "", api_key: "k", endpoint: Endpoint::Metrics };
        let mut peer = Peer { answer: &answer, chunks, endless: false, reads: 0 };
        let mut buf = vec![0u8; buf_len.max(120)];
        let result = exchange(&mut peer, &head, b"[]", &mut buf);
        prop_assert!(peer.reads <= answer.len() + 1);
        if let Ok(outcome) = result {
            match outcome {
                Outcome::Delivered { status: s } | Outcome::Rejected { status: s } => prop_assert_eq!(s, status),
                Outcome::RateLimited { .. } => prop_assert_eq!(status, 429),
                Outcome::Failed(_) => prop_assert!(false),
            }
        }
    }
}
