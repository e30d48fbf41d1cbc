//! monlight-core on a Cortex-M4F without an OS or heap: records points,
//! encodes a batch and an error report, and frames them as HTTP requests
//! over an `embedded-io` stream. The Embassy example (network, flush task)
//! builds on this; this one is also the size reference for the core.
//!
//! Build: `cargo build --release -p monlight-firmware-example --target thumbv7em-none-eabihf`
//! (on the host it compiles to an empty program).

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
mod firmware {
    use cortex_m_rt::entry;
    use panic_halt as _;

    #[entry]
    fn main() -> ! {
        #[cfg(feature = "monlight")]
        monlight_demo::run();
        loop {
            cortex_m::asm::wfi();
        }
    }

    #[cfg(feature = "monlight")]
    mod monlight_demo {
        use core::cell::RefCell;
        use core::hint::black_box;

        use monlight_core::http::{RequestHead, exchange};
        use monlight_core::{
            Endpoint, ErrorReport, Flusher, HeaderFilter, Metric, MetricBuffer, Outcome,
            RequestContext, Transport, TransportError, encode_error_report,
        };

        /// A stand-in link (a UART, a modem) that answers 202.
        struct Link;
        impl embedded_io::ErrorType for Link {
            type Error = core::convert::Infallible;
        }
        impl embedded_io::Read for Link {
            fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
                let answer = black_box(b"HTTP/1.1 202 Accepted\r\n\r\n{}".as_slice());
                let n = buf.len().min(answer.len());
                buf[..n].copy_from_slice(&answer[..n]);
                Ok(n)
            }
        }
        impl embedded_io::Write for Link {
            fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
                black_box(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> Result<(), Self::Error> {
                Ok(())
            }
        }

        struct HttpOverLink;
        impl Transport for HttpOverLink {
            fn send(&mut self, endpoint: Endpoint, body: &[u8]) -> Outcome {
                let head = RequestHead {
                    host: "192.168.1.10:5012",
                    api_key: "device-key",
                    endpoint,
                };
                let mut scratch = [0u8; 256];
                exchange(&mut Link, &head, body, &mut scratch)
                    .unwrap_or_else(|e| Outcome::Failed(TransportError::from(e)))
            }
        }

        /// The point buffer's RAM is known at compile time: its storage plus
        /// 88 bytes of indices and counters on a 32-bit target.
        type PointBuffer = MetricBuffer<[u8; 4096]>;
        const _: () = assert!(PointBuffer::RAM_BYTES == 4096 + 88);

        pub(super) fn run() {
            let buffer = RefCell::new(PointBuffer::new());
            let temperature = black_box(21.5);
            let labels = [("sensor", "boiler"), ("unit", "celsius")];
            let _ = buffer.borrow_mut().record(
                &Metric::gauge("temperature", &labels, temperature).at(black_box(1_764_000_000)),
            );
            let _ = buffer
                .borrow_mut()
                .record(&Metric::counter("boots_total", &[], 1.0));
            let mut out = [0u8; 2048];
            let report =
                Flusher::new(Some("boiler-fw")).flush(&buffer, &mut HttpOverLink, &mut out, 0);
            black_box(report);

            let error = ErrorReport {
                project: "boiler-fw",
                environment: Some("prod"),
                exception_type: "SensorTimeout",
                message: black_box("no answer from sensor 3"),
                traceback: "at src/main.rs:42:9",
                context: RequestContext::<()>::default(),
                header_filter: HeaderFilter::default(),
            };
            if let Ok(len) = encode_error_report(&error, &mut out) {
                black_box(HttpOverLink.send(Endpoint::Errors, &out[..len]));
            }
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {}
