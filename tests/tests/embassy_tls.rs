//! monlight-embassy over TLS: embedded-tls in front of the TCP transport,
//! against a local TLS terminator (rustls) in front of the local collector,
//! as a collector behind nginx or a load balancer is reached.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::TokioTcp;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_time::Duration;
use monlight_embassy::embedded_tls::{Aes128GcmSha256, UnsecureProvider};
use monlight_embassy::{Collector as Address, Monlight, TcpTransport, TlsConnect, Uplink};
use monlight_tests::Collector;
use rand_core::OsRng;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{ServerConfig, crypto};

type Device = Monlight<CriticalSectionRawMutex, 4096>;

/// Accepts TLS on a local port and forwards the plain bytes to `upstream`.
async fn tls_terminator(upstream: SocketAddr) -> SocketAddr {
    let cert = CertificateDer::from(include_bytes!("../tls/cert.der").to_vec());
    let key = PrivatePkcs8KeyDer::from(include_bytes!("../tls/key.der").to_vec());
    let config = ServerConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], PrivateKeyDer::Pkcs8(key))
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let (Ok(mut tls), Ok(mut plain)) = (
                    acceptor.accept(client).await,
                    TcpStream::connect(upstream).await,
                ) else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    address
}

#[tokio::test]
async fn points_and_reports_reach_the_collector_through_tls() {
    let collector = Collector::start();
    let terminator = tls_terminator(collector.addr()).await.to_string();
    let device = Device::new();
    device
        .gauge("boiler_temperature_celsius", 65.5, &[("sensor", "boiler")])
        .unwrap();
    device.report_error("SensorTimeout", "no answer over TLS");

    let (mut scratch, mut out) = ([0; 512], [0; 2048]);
    let (mut read, mut write) = (vec![0; 16_640], vec![0; 4096]);
    let provider = UnsecureProvider::new::<Aes128GcmSha256>(OsRng);
    let tls = Address::new(&terminator).unwrap();
    let transport = TcpTransport::new(&TokioTcp, collector.api_key(), &mut scratch)
        .map_connector(|tcp| TlsConnect::new(tcp, &mut read, &mut write, provider))
        .metrics_collector(tls)
        .error_tracker(tls);
    let mut uplink = Uplink::new(transport, "boiler-fw", &mut out).unwrap();
    device.flush(&mut uplink).await;

    let points = collector.assert_point("boiler_temperature_celsius", &[("sensor", "boiler")]);
    assert_eq!(points[0]["value"], 65.5);
    let reports = collector.assert_report("SensorTimeout");
    assert_eq!(reports[0].body["message"], "no answer over TLS");
    assert_eq!(device.stats().sent, 1);
    assert_eq!(device.error_stats().sent, 1);
}

#[tokio::test]
async fn a_failed_handshake_keeps_what_it_would_have_sent() {
    // TLS spoken to a plain-HTTP collector: no handshake within the time.
    let collector = Collector::start();
    let plain = collector.addr().to_string();
    let device = Device::new();
    device.counter("boots_total", &[]).unwrap();

    let (mut scratch, mut out) = ([0; 512], [0; 2048]);
    let (mut read, mut write) = (vec![0; 16_640], vec![0; 4096]);
    let provider = UnsecureProvider::new::<Aes128GcmSha256>(OsRng);
    let transport = TcpTransport::new(&TokioTcp, collector.api_key(), &mut scratch)
        .map_connector(|tcp| TlsConnect::new(tcp, &mut read, &mut write, provider))
        .metrics_collector(Address::new(&plain).unwrap())
        .timeout(Duration::from_millis(500));
    let mut uplink = Uplink::new(transport, "boiler-fw", &mut out).unwrap();
    let report = device.flush(&mut uplink).await;

    assert_eq!(report.kept, 1, "not sent: kept for the next flush");
    assert_eq!(device.buffered(), 1);
    assert!(collector.metrics().is_empty());
}
