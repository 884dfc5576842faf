//! Optional TLS for the webhook server: with `--tls`, a self-signed certificate made at start
//! for the public URL's host (rcgen), served with rustls, and uploaded with setWebhook as
//! `certificate` so Telegram (or the mock) trusts it — Telegram's self-signed mode; with
//! `--tls-cert`/`--tls-key` (`TGBENCH_TLS_CERT`/`TGBENCH_TLS_KEY`), a certificate signed by a
//! CA Telegram trusts (tgbench's per-run test CA), served as given and not uploaded.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        self,
        pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, pem::PemObject},
    },
};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("making a self-signed certificate for {host:?}")]
    Certificate { host: String, source: rcgen::Error },
    #[error("configuring rustls: {0}")]
    Rustls(#[from] rustls::Error),
    #[error(
        "cannot read {path} (from --tls-cert/--tls-key, TGBENCH_TLS_CERT/TGBENCH_TLS_KEY): {reason}"
    )]
    File { path: PathBuf, reason: String },
}

/// A self-signed certificate, its PEM (for setWebhook) and an acceptor serving it.
#[derive(Clone)]
pub struct SelfSigned {
    pub cert_pem: String,
    pub acceptor: TlsAcceptor,
    /// Uploaded with setWebhook (self-signed); a CA-signed certificate is not.
    pub upload: bool,
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
        Ok(Self {
            cert_pem: certified.cert.pem(),
            acceptor: acceptor(vec![certified.cert.der().clone()], key)?,
            upload: true,
        })
    }

    /// A certificate (PEM, its chain after it) and key read from files, e.g. issued by
    /// tgbench's test CA; served as given, not uploaded.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| TlsError::File {
                path: path.to_owned(),
                reason: e.to_string(),
            })
        };
        let (cert_pem, key_pem) = (read(cert)?, read(key)?);
        let pem_error = |path: &Path, e: rustls::pki_types::pem::Error| TlsError::File {
            path: path.to_owned(),
            reason: format!("not PEM: {e}"),
        };
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error(cert, e))?;
        let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| pem_error(key, e))?;
        Ok(Self {
            cert_pem: String::from_utf8_lossy(&cert_pem).into_owned(),
            acceptor: acceptor(chain, private)?,
            upload: false,
        })
    }
}

fn acceptor(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<TlsAcceptor, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
