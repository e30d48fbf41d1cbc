//! Minimal HTTP/1.1 client framing over `embedded-io` (blocking) and
//! `embedded-io-async`, for socket-level transports (Embassy, a modem, your
//! own). One request per connection, `Connection: close`, and a bounded read
//! of the answer: its head, and for a 429 the start of its body (its
//! `retry_after`), read until the server closes.
//!
//! Hand-written rather than `httparse`: we need only the status code, and
//! on a device every kilobyte of `.text` counts.

use crate::decimal::Decimal;
use crate::transport::{Endpoint, Outcome, TransportError};

/// Why an exchange failed. Converts into [`TransportError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HttpError {
    /// `host`, `api_key` or `base_path` contains a control character
    /// (header injection), or the request head does not fit the scratch
    /// buffer.
    InvalidRequest,
    /// The stream failed or timed out before the whole request was
    /// written (and no answer came): nothing was stored.
    Unsent,
    /// The stream failed while reading.
    Io,
    /// The stream timed out.
    Timeout,
    /// The connection closed before a complete status line and headers.
    Truncated,
    /// The answer is not HTTP/1.x with a three-digit status.
    Malformed,
    /// The headers do not fit the receive buffer.
    HeadersTooLarge,
}

impl From<HttpError> for TransportError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::InvalidRequest => TransportError::InvalidRequest,
            HttpError::Unsent => TransportError::Unsent,
            HttpError::Io => TransportError::Io,
            HttpError::Timeout => TransportError::Timeout,
            HttpError::Truncated | HttpError::Malformed | HttpError::HeadersTooLarge => {
                TransportError::InvalidResponse
            }
        }
    }
}

impl core::fmt::Display for HttpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            HttpError::InvalidRequest => "invalid request header",
            HttpError::Unsent => "connection lost while sending the request",
            HttpError::Io => "I/O error",
            HttpError::Timeout => "timed out",
            HttpError::Truncated => "connection closed before the response head",
            HttpError::Malformed => "malformed HTTP response",
            HttpError::HeadersTooLarge => "response headers too large",
        })
    }
}

impl core::error::Error for HttpError {}

fn io_error<E: embedded_io::Error>(e: E) -> HttpError {
    match e.kind() {
        embedded_io::ErrorKind::TimedOut => HttpError::Timeout,
        _ => HttpError::Io,
    }
}

/// The parts of a request head.
#[derive(Clone, Copy)]
pub struct RequestHead<'a> {
    /// The `Host` header: `host` or `host:port`.
    pub host: &'a str,
    /// A path the endpoint's path is appended to, for a server behind a
    /// reverse proxy (`/monlight`); `""` for none. Percent-encoded.
    pub base_path: &'a str,
    /// The `X-API-Key` header.
    pub api_key: &'a str,
    /// Where to POST.
    pub endpoint: Endpoint,
}

impl core::fmt::Debug for RequestHead<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RequestHead")
            .field("host", &self.host)
            .field("base_path", &self.base_path)
            .field("api_key", &"<redacted>")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl RequestHead<'_> {
    /// Writes the head for a body of `body_len` bytes into `out`; returns its
    /// length.
    ///
    /// ```
    /// use monlight_core::{http::RequestHead, Endpoint};
    ///
    /// let head = RequestHead {
    ///     host: "10.0.0.2:5012",
    ///     base_path: "",
    ///     api_key: "k",
    ///     endpoint: Endpoint::Metrics,
    /// };
    /// let mut out = [0u8; 256];
    /// let len = head.encode(42, &mut out).unwrap();
    /// assert_eq!(
    ///     &out[..len],
    ///     b"POST /api/metrics HTTP/1.1\r\nHost: 10.0.0.2:5012\r\nX-API-Key: k\r\n\
    ///       Content-Type: application/json\r\nContent-Length: 42\r\nConnection: close\r\n\r\n"
    /// );
    /// ```
    pub fn encode(&self, body_len: usize, out: &mut [u8]) -> Result<usize, HttpError> {
        let clean = |s: &str| !s.is_empty() && !s.bytes().any(|b| b.is_ascii_control());
        // The base path goes into the request line: no blank either.
        let path_clean = !self
            .base_path
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ');
        if !clean(self.host)
            || !clean(self.api_key)
            || !path_clean
            || body_len > self.endpoint.max_body()
        {
            return Err(HttpError::InvalidRequest);
        }
        let mut w = HeadWriter { out, pos: 0 };
        for part in [
            b"POST ",
            self.base_path.as_bytes(),
            self.endpoint.path().as_bytes(),
            b" HTTP/1.1\r\nHost: ",
            self.host.as_bytes(),
            b"\r\nX-API-Key: ",
            self.api_key.as_bytes(),
            b"\r\nContent-Type: application/json\r\nContent-Length: ",
            Decimal::new(body_len as u64).as_bytes(),
            b"\r\nConnection: close\r\n\r\n",
        ] {
            w.put(part)?;
        }
        Ok(w.pos)
    }
}

struct HeadWriter<'a> {
    out: &'a mut [u8],
    pos: usize,
}

impl HeadWriter<'_> {
    fn put(&mut self, s: &[u8]) -> Result<(), HttpError> {
        let end = self.pos + s.len();
        let dst = self
            .out
            .get_mut(self.pos..end)
            .ok_or(HttpError::InvalidRequest)?;
        dst.copy_from_slice(s);
        self.pos = end;
        Ok(())
    }
}

/// A parsed response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// Bytes up to and including the blank line.
    pub len: usize,
}

/// Parses a response head from the start of `bytes`: `Ok(None)` while
/// incomplete, an error as soon as it cannot be HTTP/1.x. Only the status
/// line is read: nothing in the headers changes what a client does with
/// the answer.
///
/// ```
/// use monlight_core::http::parse_response_head;
///
/// let head = parse_response_head(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}").unwrap().unwrap();
/// assert_eq!((head.status, head.len), (202, 44));
/// assert_eq!(parse_response_head(b"HTTP/1.1 20"), Ok(None));
/// assert!(parse_response_head(b"SSH-2.0-OpenSSH\r\n").is_err());
/// ```
pub fn parse_response_head(bytes: &[u8]) -> Result<Option<ResponseHead>, HttpError> {
    // Reject garbage early, from what is there so far.
    let prefix = b"HTTP/1.";
    let n = bytes.len().min(prefix.len());
    if bytes[..n] != prefix[..n] {
        return Err(HttpError::Malformed);
    }
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    // "HTTP/1.x SSS reason\r\n", the reason optional (`HTTP/1.` was
    // checked above).
    let status = match &bytes[..end] {
        [
            _,
            _,
            _,
            _,
            _,
            _,
            _,
            _,
            b' ',
            hundreds @ (b'1'..=b'9'),
            tens @ (b'0'..=b'9'),
            ones @ (b'0'..=b'9'),
            rest @ ..,
        ] if matches!(rest.first(), None | Some(b' ' | b'\r')) => [hundreds, tens, ones]
            .iter()
            .fold(0, |status, d| status * 10 + u16::from(*d - b'0')),
        _ => return Err(HttpError::Malformed),
    };
    Ok(Some(ResponseHead {
        status,
        len: end + 4,
    }))
}

/// Progress of reading an answer into a fixed buffer.
struct ResponseReader<'b> {
    buf: &'b mut [u8],
    filled: usize,
    head: Option<ResponseHead>,
}

impl<'b> ResponseReader<'b> {
    fn new(buf: &'b mut [u8]) -> Self {
        Self {
            buf,
            filled: 0,
            head: None,
        }
    }

    /// Where the next read goes, or `None` when reading is over: after the
    /// head, unless the status is 429, whose body names the pause; that
    /// body is read until the server closes (it must, after answering a
    /// request with `Connection: close`) or the buffer is full.
    fn space(&mut self) -> Result<Option<&mut [u8]>, HttpError> {
        let done = self.head.is_some_and(|head| head.status != 429);
        if done || self.filled == self.buf.len() {
            return match self.head {
                Some(_) => Ok(None),
                None => Err(HttpError::HeadersTooLarge),
            };
        }
        Ok(Some(&mut self.buf[self.filled..]))
    }

    /// Takes `n` freshly read bytes (0 = the peer closed).
    fn advance(&mut self, n: usize) -> Result<bool, HttpError> {
        if n == 0 {
            return if self.head.is_some() {
                Ok(false)
            } else {
                Err(HttpError::Truncated)
            };
        }
        self.filled += n;
        if self.head.is_none() {
            self.head = parse_response_head(&self.buf[..self.filled])?;
        }
        Ok(true)
    }

    /// The answer if its head came, whatever happened around it: a server
    /// may answer from the head alone and close, which fails the write of
    /// a large body, and a 429's body ends where the server closed.
    /// Otherwise the first error, the write's or the read's.
    fn settle(
        &self,
        sent: Result<(), HttpError>,
        read: Result<(), HttpError>,
    ) -> Result<Outcome, HttpError> {
        if self.head.is_none() {
            sent.and(read)?;
        }
        Ok(self.outcome())
    }

    fn outcome(&self) -> Outcome {
        match self.head {
            Some(head) => Outcome::from_response(head.status, &self.buf[head.len..self.filled]),
            None => Outcome::Failed(TransportError::InvalidResponse),
        }
    }
}

/// Writes one request on `stream` and reads its answer into `buf`: the
/// head (larger than `buf` is an error) and, for a 429 only, as much of
/// the body as `buf` holds or the server sends before it closes. `buf` also
/// serves to build the head.
///
/// A server may answer from the head alone (a 401, a 429) and close
/// without reading the body, which fails the write of a large one: its
/// answer is still read and counts, if it came.
///
/// The caller opens and closes the connection and bounds the time.
pub fn exchange<S: embedded_io::Read + embedded_io::Write>(
    stream: &mut S,
    head: &RequestHead<'_>,
    body: &[u8],
    buf: &mut [u8],
) -> Result<Outcome, HttpError> {
    let head_len = head.encode(body.len(), buf)?;
    let mut sent = Ok(());
    for part in [&buf[..head_len], body] {
        sent = sent.and_then(|()| stream.write_all(part));
    }
    // Whatever went wrong while writing, the server has not read the
    // whole body, so it stored nothing.
    let sent = sent
        .and_then(|()| stream.flush())
        .map_err(|_| HttpError::Unsent);
    let mut reader = ResponseReader::new(buf);
    let mut read = || {
        while let Some(space) = reader.space()? {
            let n = stream.read(space).map_err(io_error)?;
            if !reader.advance(n)? {
                break;
            }
        }
        Ok(())
    };
    let read = read();
    reader.settle(sent, read)
}

/// [`exchange`] over `embedded-io-async`, except that a failed write ends
/// it. Reading an early answer after it, as [`exchange`] does, costs 160
/// bytes of flash, and a device's batches (a few KB) fit in the server's
/// receive window, so their writes do not wait on the server's reading.
///
/// It is [`write_request_async`] then [`read_response_async`]: a caller
/// that bounds the time calls them apart, because a request cut short
/// while writing was not stored and can be sent again, and one cut short
/// while waiting for its answer may have been.
pub async fn exchange_async<S: embedded_io_async::Read + embedded_io_async::Write>(
    stream: &mut S,
    head: &RequestHead<'_>,
    body: &[u8],
    buf: &mut [u8],
) -> Result<Outcome, HttpError> {
    write_request_async(stream, head, body, buf).await?;
    read_response_async(stream, buf).await
}

/// Writes one request (its head built in `buf`) and flushes it; a failed
/// write is [`HttpError::Unsent`].
pub async fn write_request_async<S: embedded_io_async::Write>(
    stream: &mut S,
    head: &RequestHead<'_>,
    body: &[u8],
    buf: &mut [u8],
) -> Result<(), HttpError> {
    let head_len = head.encode(body.len(), buf)?;
    for part in [&buf[..head_len], body] {
        stream
            .write_all(part)
            .await
            .map_err(|_| HttpError::Unsent)?;
    }
    stream.flush().await.map_err(|_| HttpError::Unsent)
}

/// Reads the answer to a request written with [`write_request_async`]
/// into `buf`, as [`exchange`] does.
pub async fn read_response_async<S: embedded_io_async::Read>(
    stream: &mut S,
    buf: &mut [u8],
) -> Result<Outcome, HttpError> {
    let mut reader = ResponseReader::new(buf);
    while let Some(space) = reader.space()? {
        let n = stream.read(space).await.map_err(io_error)?;
        if !reader.advance(n)? {
            break;
        }
    }
    Ok(reader.outcome())
}
