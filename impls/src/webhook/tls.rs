//! Optional TLS for the webhook server (`--tls`): a self-signed certificate made at start
//! for the public URL's host (rcgen), served with rustls, and uploaded with setWebhook as
//! `certificate` so Telegram (or the mock) trusts it — Telegram's self-signed mode.

use std::sync::Arc;

use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        self,
        pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer},
    },
};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("making a self-signed certificate for {host:?}")]
    Certificate { host: String, source: rcgen::Error },
    #[error("configuring rustls: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A self-signed certificate, its PEM (for setWebhook) and an acceptor serving it.
#[derive(Clone)]
pub struct SelfSigned {
    pub cert_pem: String,
    pub acceptor: TlsAcceptor,
}

impl std::fmt::Debug for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfSigned").finish_non_exhaustive()
    }
}

impl SelfSigned {
    /// A certificate for `host` (a DNS name or an IP address).
    pub fn generate(host: &str) -> Result<Self, TlsError> {
        let certified =
            rcgen::generate_simple_self_signed(vec![host.to_owned()]).map_err(|source| {
                TlsError::Certificate {
                    host: host.to_owned(),
                    source,
                }
            })?;
        let key =
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            cert_pem: certified.cert.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}
