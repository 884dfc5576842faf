//! The SUT environment contract: what every SUT, reference or `kind = "command"`, is told.
//!
//! | variable | value |
//! |---|---|
//! | `TGBENCH_API_URL` | base URL of the emulated Bot API (instead of `https://api.telegram.org`) |
//! | `TGBENCH_TOKENS_FILE` | a file with one bot token a line |
//! | `TGBENCH_LISTEN` | `host:port` a webhook server binds (a free loopback port) |
//! | `TGBENCH_PUBLIC_URL` | the URL base it registers with `setWebhook` |

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The SUT environment contract, and the temporary folder holding the tokens file.
pub struct SutEnv {
    pub api_url: String,
    pub tokens_file: PathBuf,
    pub listen: SocketAddr,
    pub public_url: String,
    _dir: tempfile::TempDir,
}

impl SutEnv {
    /// Writes the tokens (one a line) and picks a free loopback port for TGBENCH_LISTEN.
    pub fn prepare(api_url: &str, tokens: &[String]) -> std::io::Result<SutEnv> {
        let dir = tempfile::Builder::new().prefix("tgbench-sut-").tempdir()?;
        let tokens_file = dir.path().join("tokens.txt");
        write_tokens(&tokens_file, tokens)?;
        let listen = free_loopback_port()?;
        Ok(SutEnv {
            api_url: api_url.to_string(),
            tokens_file,
            listen,
            public_url: format!("http://{listen}"),
            _dir: dir,
        })
    }

    /// The four TGBENCH_* variables.
    pub fn vars(&self) -> Vec<(String, String)> {
        vec![
            ("TGBENCH_API_URL".into(), self.api_url.clone()),
            (
                "TGBENCH_TOKENS_FILE".into(),
                self.tokens_file.to_string_lossy().into_owned(),
            ),
            ("TGBENCH_LISTEN".into(), self.listen.to_string()),
            ("TGBENCH_PUBLIC_URL".into(), self.public_url.clone()),
        ]
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
