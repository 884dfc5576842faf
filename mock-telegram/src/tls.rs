//! TLS on both sides of the emulated Telegram, as in production: the Bot API over HTTPS and
//! webhooks to HTTPS endpoints.
//!
//! - [`TestCa`]: a certificate authority made per run (rcgen), whose certificate the SUT is
//!   told to trust (its PEM in a file), and which issues certificates for the loopback
//!   names (`localhost`, `127.0.0.1`, `::1`): the mock's Bot API certificate, and the one a
//!   webhook SUT presents.
//! - [`server_config`]: the rustls server configuration the mock serves HTTPS with
//!   ([`crate::server::run_tls`]).
//! - [`check_webhook_port`]: Telegram's allowed webhook ports (443, 80, 88, 8443), enforced
//!   by setWebhook when [`MockConfig::enforce_webhook_ports`](crate::MockConfig) is set.
//!
//! Handshakes are counted on both sides (`Stats::tls`): each TLS connection the Bot API
//! server accepted, and each TLS connection the webhook client opened (keep-alive reuses
//! them, up to a bot's `max_connections` in flight). The webhook client checks endpoints'
//! certificates against `MockConfig::webhook_ca_pem` when it is set
//! ([`crate::webhook_client`]).

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::ApiError;

/// The names a loopback certificate is valid for.
pub const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The ports Telegram delivers webhooks to.
pub const WEBHOOK_PORTS: [u16; 4] = [443, 80, 88, 8443];

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("making a test certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("reading a PEM {what}: {source}")]
    Pem {
        what: &'static str,
        source: rustls::pki_types::pem::Error,
    },
    #[error("configuring rustls: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A certificate and its private key, PEM.
#[derive(Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").finish_non_exhaustive()
    }
}

/// A test certificate authority, made per run; never trusted beyond it.
pub struct TestCa {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

impl TestCa {
    /// A new CA with a fresh key ("tgbench test CA").
    pub fn new() -> Result<TestCa, TlsError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "tgbench test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(TestCa { cert, key })
    }

    /// The CA's certificate, PEM: what the SUT trusts.
    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// A server certificate for the loopback names, signed by this CA.
    pub fn issue_loopback(&self) -> Result<Issued, TlsError> {
        let mut params = CertificateParams::new(LOOPBACK_NAMES.map(str::to_owned).to_vec())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.cert, &self.key)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// The rustls server configuration for a certificate (PEM, its chain after it) and key:
/// HTTP/1.1, ring.
pub fn server_config(cert_pem: &str, key_pem: &str) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            what: "certificate",
            source,
        })?;
    let key =
        PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|source| TlsError::Pem {
            what: "private key",
            source,
        })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Telegram's rule for a webhook URL's port, with its wording.
pub fn check_webhook_port(url: &reqwest::Url) -> Result<(), ApiError> {
    match url.port_or_known_default() {
        Some(port) if WEBHOOK_PORTS.contains(&port) => Ok(()),
        _ => Err(ApiError::bad(
            "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_issues_a_loopback_certificate_rustls_serves() {
        let ca = TestCa::new().unwrap();
        let issued = ca.issue_loopback().unwrap();
        assert!(ca.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(server_config(&issued.cert_pem, &issued.key_pem).is_ok());
        assert!(server_config(&issued.cert_pem, "not a key").is_err());
    }

    #[test]
    fn only_telegrams_webhook_ports_pass() {
        for ok in [
            "https://localhost/x",
            "https://localhost:8443/x",
            "http://127.0.0.1/x",
        ] {
            assert!(check_webhook_port(&ok.parse().unwrap()).is_ok(), "{ok}");
        }
        let refused = check_webhook_port(&"https://127.0.0.1:8444/x".parse().unwrap());
        assert_eq!(
            refused.unwrap_err().to_string(),
            "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
        );
    }
}
