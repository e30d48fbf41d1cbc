//! [`sink`]: a collector stand-in for benchmarks, which reads each request
//! and answers 202 without looking at the body (parsing it as the
//! [`Collector`](crate::Collector) does would take the CPU being measured).

use std::io::{Read, Write};
use std::net::TcpListener;

/// Starts the sink on its own thread, named `sink` (benchmarks leave it out
/// of the CPU they count); returns its base URL, `http://127.0.0.1:<port>`.
///
/// ```
/// let url = monlight_tests::sink();
/// assert!(url.starts_with("http://127.0.0.1:"));
/// ```
pub fn sink() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    let serve = move || {
        let mut buf = vec![0u8; 64 * 1024];
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut body_left = None;
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                match body_left {
                    Some(left) => body_left = Some(usize::saturating_sub(left, n)),
                    None => {
                        head.extend_from_slice(&buf[..n]);
                        body_left = body_after_head(&head);
                    }
                }
                if body_left == Some(0) {
                    break;
                }
            }
            let _ = stream.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}");
        }
    };
    std::thread::Builder::new()
        .name("sink".into())
        .spawn(serve)
        .expect("spawn the sink");
    url
}

/// Once `data` holds the whole head: the body bytes still to come.
fn body_after_head(data: &[u8]) -> Option<usize> {
    let end = data.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap_or(0));
    Some(length.saturating_sub(data.len() - end - 4))
}
