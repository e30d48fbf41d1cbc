//! The TLS settings of every reqwest client: rustls with the *ring*
//! provider and the platform's certificate verifier, given to reqwest
//! ready-made, so that no process-wide crypto provider is needed (nor
//! installed behind the application's back).

use std::sync::Arc;

use rustls_platform_verifier::BuilderVerifierExt;

use crate::config::ConfigError;

/// A client configuration: TLS 1.2 and 1.3, certificates checked as the
/// operating system checks them.
pub(super) fn client_config() -> Result<rustls::ClientConfig, ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_platform_verifier())
        .map_err(|e| ConfigError::Http(format!("TLS: {e}")))?
        .with_no_client_auth();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;
    use std::time::Duration;

    use monlight_core::{Endpoint, Outcome, Transport};

    use crate::{ApiKey, BlockingHttp};

    #[test]
    fn an_https_client_builds_and_a_failed_handshake_is_an_outcome() {
        // A server that reads the ClientHello and answers in plain text.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut hello = [0u8; 5];
            stream.read_exact(&mut hello).unwrap();
            std::io::Write::write_all(&mut stream, b"HTTP/1.1 400 Bad Request\r\n\r\n").unwrap();
            hello
        });
        let key = ApiKey::new("k").unwrap();
        let mut https = BlockingHttp::new(&url, &key, Duration::from_secs(5)).unwrap();
        assert!(https.uses_reqwest());
        let outcome = https.send(Endpoint::Metrics, b"[]");
        assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");
        // 0x16: a TLS handshake record, so TLS was spoken.
        assert_eq!(server.join().unwrap()[0], 0x16);
    }
}
