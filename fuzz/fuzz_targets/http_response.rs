//! Any bytes a server (or an attacker in the middle) answers: the parser
//! and the whole exchange must return an outcome or an error, never panic,
//! never read past the buffer, and classify a 2xx only from a valid head.
#![no_main]

use libfuzzer_sys::fuzz_target;
use monlight_core::http::{RequestHead, exchange, parse_response_head};
use monlight_core::{Endpoint, Outcome};

/// Answers `data`, a few bytes per read.
struct Answer<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl embedded_io::ErrorType for Answer<'_> {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Answer<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.data.len()).min(self.chunk);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl embedded_io::Write for Answer<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let parsed = parse_response_head(data);
    if let Ok(Some(head)) = parsed {
        assert!(head.len <= data.len());
        assert!((100..=999).contains(&head.status));
        let _ = Outcome::from_response(head.status, &data[head.len..]);
    }
    let head = RequestHead {
        host: "192.168.1.10:5012",
        base_path: "",
        api_key: "key",
        endpoint: Endpoint::Metrics,
    };
    for (chunk, scratch) in [(1, 64), (7, 256), (4096, 1024)] {
        let mut stream = Answer { data, chunk };
        let mut buf = vec![0u8; scratch];
        if let Ok(Outcome::Delivered { status }) = exchange(&mut stream, &head, b"[]", &mut buf) {
            assert!((200..=299).contains(&status));
            assert!(matches!(parsed, Ok(Some(_))) || data.len() > scratch);
        }
    }
});
