//! Plain `http://` over a std `TcpStream`, framed by monlight-core's
//! HTTP/1.1 code (the framing the firmware uses).
//!
//! Why not reqwest for these: a batch is up to 512 KiB that reqwest copies
//! into a body of its own and hands to its runtime thread; here the encoded
//! batch is written from where it lies, on the flush thread. That halves the
//! CPU a batch costs (see BENCHMARKS.md), and a client needs no runtime
//! thread of reqwest's. `https://` and proxied requests stay with reqwest.

use std::io::{self, IoSlice, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use monlight_core::http::{RequestHead, exchange};
use monlight_core::{Endpoint, Outcome, TransportError};

use crate::config::{ApiKey, EndpointUrls};

/// Room for the answer's head and the start of its body (a 429's
/// `retry_after`); the servers' heads are about 200 bytes.
const ANSWER_BYTES: usize = 4096;

/// One server reached over plain HTTP, one connection per request.
#[derive(Debug)]
pub(crate) struct PlainHttp {
    server: Server,
    /// `Host` header: the host, and the port if the URL names one.
    authority: String,
    base_path: String,
    api_key: ApiKey,
    timeout: Duration,
}

#[derive(Debug)]
enum Server {
    Address(SocketAddr),
    /// Resolved at each request, as reqwest does.
    Name(String, u16),
}

impl PlainHttp {
    /// `None` unless `urls` are `http://`.
    pub(crate) fn new(urls: &EndpointUrls, api_key: &ApiKey, timeout: Duration) -> Option<Self> {
        if !urls.is_plain_http() {
            return None;
        }
        let (host, port) = (urls.host(), urls.port());
        let server = match host.trim_start_matches('[').trim_end_matches(']').parse() {
            Ok(ip) => Server::Address(SocketAddr::new(ip, port)),
            Err(_) => Server::Name(host.to_owned(), port),
        };
        Some(Self {
            server,
            authority: urls.authority(),
            base_path: urls.base_path().to_owned(),
            api_key: api_key.clone(),
            timeout,
        })
    }

    pub(crate) fn send(&self, endpoint: Endpoint, body: &[u8]) -> Outcome {
        let deadline = Instant::now() + self.timeout;
        let stream = match self.connect(deadline) {
            Ok(stream) => stream,
            Err(e) => return Outcome::Failed(e),
        };
        let head = RequestHead {
            host: &self.authority,
            base_path: &self.base_path,
            api_key: self.api_key.expose(),
            endpoint,
        };
        let mut answer = [0u8; ANSWER_BYTES];
        let mut stream = DeadlineStream::new(stream, deadline);
        exchange(&mut stream, &head, body, &mut answer)
            .unwrap_or_else(|e| Outcome::Failed(e.into()))
    }

    fn connect(&self, deadline: Instant) -> Result<TcpStream, TransportError> {
        let addresses = match &self.server {
            Server::Address(address) => vec![*address],
            Server::Name(name, port) => resolve(name, *port, deadline)?,
        };
        // No connection, whatever the cause (a timeout too): nothing was
        // sent, so the request may go out again.
        for address in addresses {
            let left = time_left(deadline).map_err(|_| TransportError::Connect)?;
            if let Ok(stream) = TcpStream::connect_timeout(&address, left) {
                // The body follows the head at once: no Nagle wait.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
        }
        Err(TransportError::Connect)
    }
}

/// A name's addresses, by the time `deadline` comes. `getaddrinfo` has no
/// timeout of its own, so it runs on a short-lived thread that is left to
/// finish alone if the deadline passes first.
fn resolve(name: &str, port: u16, deadline: Instant) -> Result<Vec<SocketAddr>, TransportError> {
    let (tx, rx) = mpsc::channel();
    let query = (name.to_owned(), port);
    std::thread::Builder::new()
        .name("monlight-dns".into())
        .spawn(move || {
            let _ = tx.send(query.to_socket_addrs().map(Vec::from_iter));
        })
        .map_err(|_| TransportError::Connect)?;
    let left = time_left(deadline).map_err(|_| TransportError::Connect)?;
    match rx.recv_timeout(left) {
        Ok(Ok(addresses)) if !addresses.is_empty() => Ok(addresses),
        _ => Err(TransportError::Connect),
    }
}

fn time_left(deadline: Instant) -> io::Result<Duration> {
    match deadline.saturating_duration_since(Instant::now()) {
        Duration::ZERO => Err(io::ErrorKind::TimedOut.into()),
        left => Ok(left),
    }
}

/// A socket whose every read and write ends by one deadline: the client's
/// timeout bounds the whole request, as reqwest's does.
struct DeadlineStream {
    stream: TcpStream,
    deadline: Instant,
    /// Small writes held back to go out with the next one (the head with
    /// the body, in one `writev`): sent alone, the head is a segment of
    /// its own that the server wakes up for, 15 to 20 us more CPU per
    /// batch on loopback.
    held: Vec<u8>,
}

/// At most this much is held back: a request head is about 150 bytes.
const HOLD_BYTES: usize = 1024;

impl DeadlineStream {
    fn new(stream: TcpStream, deadline: Instant) -> Self {
        Self {
            stream,
            deadline,
            held: Vec::new(),
        }
    }

    /// Runs a read or write with the time left; a socket timeout (which
    /// Linux reports as `WouldBlock`) becomes `TimedOut`.
    fn step<T>(
        stream: &mut TcpStream,
        deadline: Instant,
        set: fn(&TcpStream, Option<Duration>) -> io::Result<()>,
        mut op: impl FnMut(&mut TcpStream) -> io::Result<T>,
    ) -> io::Result<T> {
        loop {
            set(stream, Some(time_left(deadline)?))?;
            match op(stream) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                result => return result,
            }
        }
    }

    /// Writes what is held and then `buf`, as far as one `writev` goes;
    /// returns how much of `buf` went.
    fn write_held_and(&mut self, buf: &[u8]) -> io::Result<usize> {
        let held = &mut self.held;
        let n = Self::step(
            &mut self.stream,
            self.deadline,
            TcpStream::set_write_timeout,
            |s| s.write_vectored(&[IoSlice::new(held), IoSlice::new(buf)]),
        )
        .inspect_err(|_| {
            // The request is over; the answer may still be read, and a
            // read must not try to send this first.
            held.clear();
        })?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let from_held = n.min(held.len());
        held.drain(..from_held);
        Ok(n - from_held)
    }
}

impl embedded_io::ErrorType for DeadlineStream {
    type Error = io::Error;
}

impl embedded_io::Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        embedded_io::Write::flush(self)?;
        Self::step(
            &mut self.stream,
            self.deadline,
            TcpStream::set_read_timeout,
            |s| s.read(buf),
        )
    }
}

impl embedded_io::Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.held.len() + buf.len() <= HOLD_BYTES {
            self.held.extend_from_slice(buf);
            return Ok(buf.len());
        }
        loop {
            // Until some of `buf` went: a write of nothing would be an error.
            match self.write_held_and(buf)? {
                0 => continue,
                n => return Ok(n),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        while !self.held.is_empty() {
            self.write_held_and(&[])?;
        }
        Ok(()) // a TcpStream keeps nothing back
    }
}
