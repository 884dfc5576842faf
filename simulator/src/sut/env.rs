//! The SUT environment contract: what every SUT, reference or `kind = "command"`, is told.
//!
//! | variable | value |
//! |---|---|
//! | `TGBENCH_API_URL` | base URL of the emulated Bot API (instead of `https://api.telegram.org`) |
//! | `TGBENCH_TOKENS_FILE` | a file with one bot token a line |
//! | `TGBENCH_LISTEN` | `host:port` a webhook server binds (a free loopback port) |
//! | `TGBENCH_PUBLIC_URL` | the URL base it registers with `setWebhook` |
//!
//! With `[telegram] tls = true` the Bot API URL is `https://…`, the public URL too, and:
//!
//! | variable | value |
//! |---|---|
//! | `TGBENCH_CA_FILE` | the run's test CA certificate (PEM): trust it for the Bot API |
//! | `SSL_CERT_FILE` | the same file, for OpenSSL-based stacks (Python's `ssl`: aiogram, python-telegram-bot) |
//! | `REQUESTS_CA_BUNDLE` | the same file, for Python's `requests` |
//! | `NODE_EXTRA_CA_CERTS` | the same file, for Node.js (grammY, telegraf) |
//! | `TGBENCH_TLS_CERT`, `TGBENCH_TLS_KEY` | a certificate for `127.0.0.1`, `localhost` and `::1` signed by that CA, and its key (PEM): serve the webhook over HTTPS with them |

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use mock_telegram::tls::Issued;

/// What a SUT needs for HTTPS on both sides: the CA to trust, and its own certificate.
#[derive(Debug, Clone)]
pub struct SutTls {
    pub ca_pem: String,
    pub webhook: Issued,
}

/// The files of [`SutTls`], written for the SUT.
struct TlsFiles {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

/// The SUT environment contract, and the temporary folder holding the tokens file.
pub struct SutEnv {
    pub api_url: String,
    pub tokens_file: PathBuf,
    pub listen: SocketAddr,
    pub public_url: String,
    tls: Option<TlsFiles>,
    _dir: tempfile::TempDir,
}

impl SutEnv {
    /// Writes the tokens (one a line) and picks a free loopback port for TGBENCH_LISTEN.
    pub fn prepare(api_url: &str, tokens: &[String]) -> std::io::Result<SutEnv> {
        Self::prepare_with(api_url, tokens, None)
    }

    /// [`SutEnv::prepare`], over HTTPS when `tls` is given: writes the CA and the SUT's
    /// certificate beside the tokens, and the public URL is `https://`.
    pub fn prepare_with(
        api_url: &str,
        tokens: &[String],
        tls: Option<&SutTls>,
    ) -> std::io::Result<SutEnv> {
        let dir = tempfile::Builder::new().prefix("tgbench-sut-").tempdir()?;
        let tokens_file = dir.path().join("tokens.txt");
        write_tokens(&tokens_file, tokens)?;
        let tls = match tls {
            Some(t) => {
                let files = TlsFiles {
                    ca: dir.path().join("tgbench-ca.pem"),
                    cert: dir.path().join("webhook-cert.pem"),
                    key: dir.path().join("webhook-key.pem"),
                };
                std::fs::write(&files.ca, &t.ca_pem)?;
                std::fs::write(&files.cert, &t.webhook.cert_pem)?;
                std::fs::write(&files.key, &t.webhook.key_pem)?;
                Some(files)
            }
            None => None,
        };
        let listen = free_loopback_port()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        Ok(SutEnv {
            api_url: api_url.to_string(),
            tokens_file,
            listen,
            public_url: format!("{scheme}://{listen}"),
            tls,
            _dir: dir,
        })
    }

    /// The TGBENCH_* variables (and, over HTTPS, each stack's CA variable).
    pub fn vars(&self) -> Vec<(String, String)> {
        let path = |p: &PathBuf| p.to_string_lossy().into_owned();
        let mut vars = vec![
            ("TGBENCH_API_URL".into(), self.api_url.clone()),
            ("TGBENCH_TOKENS_FILE".into(), path(&self.tokens_file)),
            ("TGBENCH_LISTEN".into(), self.listen.to_string()),
            ("TGBENCH_PUBLIC_URL".into(), self.public_url.clone()),
        ];
        if let Some(t) = &self.tls {
            for var in [
                "TGBENCH_CA_FILE",
                "SSL_CERT_FILE",
                "REQUESTS_CA_BUNDLE",
                "NODE_EXTRA_CA_CERTS",
            ] {
                vars.push((var.into(), path(&t.ca)));
            }
            vars.push(("TGBENCH_TLS_CERT".into(), path(&t.cert)));
            vars.push(("TGBENCH_TLS_KEY".into(), path(&t.key)));
        }
        vars
    }
}

/// Writes `tokens`, one a line, to `path` (the contract's TGBENCH_TOKENS_FILE format),
/// through a temporary file beside it renamed into place: a SUT watching the path never
/// reads half a file.
pub fn write_tokens(path: &Path, tokens: &[String]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tgbench-tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    for t in tokens {
        writeln!(f, "{t}")?;
    }
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// A loopback port free right now (bound, read, released).
pub fn free_loopback_port() -> std::io::Result<SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    l.local_addr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_https_the_ca_and_the_webhook_certificate_are_handed_over_as_files() {
        let plain = SutEnv::prepare("http://127.0.0.1:9", &[]).unwrap();
        assert_eq!(plain.vars().len(), 4);
        assert!(plain.public_url.starts_with("http://"));

        let ca = mock_telegram::TestCa::new().unwrap();
        let tls = SutTls {
            ca_pem: ca.cert_pem(),
            webhook: ca.issue_loopback().unwrap(),
        };
        let env = SutEnv::prepare_with("https://127.0.0.1:9", &[], Some(&tls)).unwrap();
        assert!(env.public_url.starts_with("https://127.0.0.1:"));
        let vars: std::collections::HashMap<_, _> = env.vars().into_iter().collect();
        let ca_file = &vars["TGBENCH_CA_FILE"];
        for var in ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"] {
            assert_eq!(&vars[var], ca_file, "{var}");
        }
        assert_eq!(std::fs::read_to_string(ca_file).unwrap(), tls.ca_pem);
        let key = std::fs::read_to_string(&vars["TGBENCH_TLS_KEY"]).unwrap();
        assert_eq!(key, tls.webhook.key_pem);
        assert!(
            mock_telegram::tls::server_config(
                &std::fs::read_to_string(&vars["TGBENCH_TLS_CERT"]).unwrap(),
                &key
            )
            .is_ok()
        );
    }
}
