//! A proxy in front of a webhook SUT (`[[sut]] proxy = "nginx"`): Debian's nginx,
//! configured as bot platforms deploy it — the public port (TLS when the run is HTTPS),
//! `location /webhook/` → `proxy_pass` to the app with `proxy_read_timeout 60s` — on
//! loopback ports tgbench picks. The app binds `TGBENCH_LISTEN` as always; what it registers
//! with `setWebhook` (`TGBENCH_PUBLIC_URL`) is nginx's port, so every delivery passes
//! through nginx. nginx runs as a [`SutProcess`] of its own (process group, pinned with the
//! app, dying with tgbench), and its process tree is sampled beside the app's.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::SutError;
use super::env::SutEnv;
use super::process::{Exit, Launch, SutProcess};

/// The certificate and key nginx presents on its public port.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// How long nginx may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running nginx in front of one SUT. Dropping it stops nginx (its whole process group).
pub struct Nginx {
    proc: SutProcess,
    public: SocketAddr,
    /// Its configuration and temporary files; removed after nginx is gone (field order).
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// Where nginx is: `TGBENCH_NGINX`, else `nginx` on PATH, else /usr/sbin/nginx (where
    /// Debian puts it, often not on a user's PATH).
    pub fn binary(sut: &str) -> Result<PathBuf, SutError> {
        if let Some(p) = std::env::var_os("TGBENCH_NGINX") {
            return Ok(PathBuf::from(p));
        }
        on_path("nginx")
            .or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.is_file()))
            .ok_or_else(|| SutError::MissingProxy {
                sut: sut.to_string(),
            })
    }

    /// Starts nginx on a free loopback port, proxying to `contract.listen`, and points the
    /// contract's public URL at it. Returns once nginx accepts connections.
    pub fn start(
        sut: &str,
        contract: &mut SutEnv,
        cpus: Option<&[usize]>,
        log: &Path,
    ) -> Result<Nginx, SutError> {
        // Over HTTPS nginx terminates TLS with the webhook certificate; the app behind it
        // serves plain HTTP.
        let tls = contract
            .webhook_tls_to_proxy()
            .map(|(cert, key)| TlsFiles { cert, key });
        let tls = tls.as_ref();
        let binary = Nginx::binary(sut)?;
        let prepare = |source| SutError::Prepare {
            sut: sut.to_string(),
            source,
        };
        let dir = tempfile::Builder::new()
            .prefix("tgbench-nginx-")
            .tempdir()
            .map_err(prepare)?;
        let public = super::env::free_loopback_port().map_err(prepare)?;
        let workers = cpus.map(<[usize]>::len).unwrap_or(1);
        let conf = dir.path().join("nginx.conf");
        std::fs::write(
            &conf,
            config(dir.path(), public, contract.listen, workers, tls, is_root()),
        )
        .map_err(prepare)?;
        let command = vec![
            binary.to_string_lossy().into_owned(),
            "-p".into(),
            dir.path().to_string_lossy().into_owned(),
            "-c".into(),
            conf.to_string_lossy().into_owned(),
            "-e".into(),
            "stderr".into(),
        ];
        let proc = SutProcess::start(Launch {
            name: &format!("{sut} (nginx)"),
            command,
            env: &Default::default(),
            contract,
            cpus,
            log: Some(log),
            budget: None,
        })?;
        let nginx = Nginx {
            proc,
            public,
            _dir: dir,
        };
        nginx.wait_listening(sut)?;
        contract.public_url = format!(
            "{}://{public}",
            if tls.is_some() { "https" } else { "http" }
        );
        Ok(nginx)
    }

    fn wait_listening(&self, sut: &str) -> Result<(), SutError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(exit) = self.proc.exit() {
                return Err(SutError::ProxyFailed {
                    sut: sut.to_string(),
                    why: format!("nginx exited ({}): {}", exit.status, exit.tail.join(" | ")),
                });
            }
            if std::net::TcpStream::connect_timeout(&self.public, Duration::from_millis(200))
                .is_ok()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(SutError::ProxyFailed {
                    sut: sut.to_string(),
                    why: format!(
                        "nginx did not listen on {} within {} s",
                        self.public,
                        START_TIMEOUT.as_secs()
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// nginx's master process (its workers are below it).
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Where nginx listens for Telegram.
    pub fn public(&self) -> SocketAddr {
        self.public
    }

    /// Whether nginx has exited.
    pub fn exited(&self) -> bool {
        self.proc.exited().is_some()
    }

    /// How nginx ended, if it has (named as nginx in the message).
    pub fn exit(&self) -> Option<Exit> {
        self.proc.exit().map(|e| Exit {
            status: format!("its nginx: {}", e.status),
            tail: e.tail,
        })
    }

    /// SIGTERM to nginx (a fast shutdown), up to `grace`, then SIGKILL to its group.
    pub fn stop(&mut self, grace: Duration) {
        self.proc.stop(grace);
    }
}

/// Where `program` is on PATH, if it is there.
pub fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// nginx's configuration: in the foreground, one master and `workers` workers, everything
/// it writes under `dir`, the public server proxying `/webhook/` (and `/health`) to `app`
/// with the timeouts of a production deployment and keep-alive connections to the app.
pub fn config(
    dir: &Path,
    public: SocketAddr,
    app: SocketAddr,
    workers: usize,
    tls: Option<&TlsFiles>,
    root: bool,
) -> String {
    let d = dir.display();
    // As root, nginx's workers would switch to `nobody`, who cannot write tgbench's
    // private temporary folder; they run as tgbench's user instead (loopback only).
    let user = if root { "user root;\n" } else { "" };
    let (listen, tls_lines) = match tls {
        Some(t) => (
            format!("{public} ssl"),
            format!(
                "        ssl_certificate {};\n        ssl_certificate_key {};\n        \
                 ssl_protocols TLSv1.2 TLSv1.3;\n        ssl_session_cache shared:SSL:10m;\n",
                t.cert.display(),
                t.key.display()
            ),
        ),
        None => (public.to_string(), String::new()),
    };
    format!(
        "# Written by tgbench: nginx in front of a webhook SUT.\n\
         {user}daemon off;\n\
         master_process on;\n\
         worker_processes {workers};\n\
         pid {d}/nginx.pid;\n\
         error_log stderr warn;\n\
         events {{\n    worker_connections 8192;\n}}\n\
         http {{\n\
         \x20   access_log off;\n\
         \x20   client_body_temp_path {d}/client_body;\n\
         \x20   proxy_temp_path {d}/proxy;\n\
         \x20   fastcgi_temp_path {d}/fastcgi;\n\
         \x20   uwsgi_temp_path {d}/uwsgi;\n\
         \x20   scgi_temp_path {d}/scgi;\n\
         \x20   keepalive_timeout 65s;\n\
         \x20   upstream app {{\n        server {app};\n        keepalive 64;\n    }}\n\
         \x20   server {{\n\
         \x20       listen {listen};\n\
         \x20       server_name _;\n\
         {tls_lines}\
         \x20       location /webhook/ {{\n\
         \x20           proxy_pass http://app;\n\
         \x20           proxy_http_version 1.1;\n\
         \x20           proxy_set_header Connection \"\";\n\
         \x20           proxy_set_header Host $host;\n\
         \x20           proxy_set_header X-Real-IP $remote_addr;\n\
         \x20           proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
         \x20           proxy_set_header X-Forwarded-Proto $scheme;\n\
         \x20           proxy_connect_timeout 60s;\n\
         \x20           proxy_send_timeout 60s;\n\
         \x20           proxy_read_timeout 60s;\n\
         \x20       }}\n\
         \x20       location = /health {{\n\
         \x20           proxy_pass http://app;\n\
         \x20       }}\n\
         \x20   }}\n\
         }}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_proxies_webhooks_to_the_app_with_production_timeouts() {
        let c = config(
            Path::new("/tmp/x"),
            "127.0.0.1:9443".parse().unwrap(),
            "127.0.0.1:9000".parse().unwrap(),
            2,
            None,
            false,
        );
        assert!(c.contains("listen 127.0.0.1:9443;"), "{c}");
        assert!(c.contains("server 127.0.0.1:9000;"), "{c}");
        assert!(c.contains("location /webhook/"), "{c}");
        assert!(c.contains("proxy_read_timeout 60s;"), "{c}");
        assert!(c.contains("worker_processes 2;"), "{c}");
        assert!(!c.contains("ssl"), "{c}");
        assert!(!c.contains("user root"), "{c}");
        let tls = TlsFiles {
            cert: "/tmp/x/c.pem".into(),
            key: "/tmp/x/k.pem".into(),
        };
        let c = config(
            Path::new("/tmp/x"),
            "127.0.0.1:9443".parse().unwrap(),
            "127.0.0.1:9000".parse().unwrap(),
            1,
            Some(&tls),
            true,
        );
        assert!(c.contains("listen 127.0.0.1:9443 ssl;"), "{c}");
        assert!(c.contains("ssl_certificate /tmp/x/c.pem;"), "{c}");
        assert!(c.starts_with("# Written by tgbench"), "{c}");
        assert!(c.contains("user root;"), "{c}");
    }

    /// A one-thread HTTP app: answers every request with its own path, closing after each.
    fn app() -> SocketAddr {
        use std::io::{BufRead, BufReader, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut first = String::new();
                let _ = r.read_line(&mut first);
                let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut len = 0;
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                let _ = std::io::Read::read_exact(&mut r, &mut body);
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{path}",
                    path.len()
                );
            }
        });
        addr
    }

    fn post_through(public: SocketAddr, path: &str) -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(public).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn nginx_proxies_webhooks_to_the_app_and_leaves_nothing_running() {
        if Nginx::binary("t").is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set, so nginx must be installed (.ci/setup installs it)"
            );
            eprintln!(
                "SKIPPED nginx proxy test: no nginx (apt-get install nginx; set CI to make this fatal)"
            );
            return;
        }
        let logs = tempfile::tempdir().unwrap();
        let mut contract = SutEnv::prepare("http://127.0.0.1:1", &[]).unwrap();
        contract.listen = app();
        let app_url = contract.public_url.clone();
        let nginx = Nginx::start("t", &mut contract, None, &logs.path().join("nginx.log")).unwrap();
        // The SUT now registers nginx's address, not its own.
        assert_ne!(contract.public_url, app_url);
        assert_eq!(contract.public_url, format!("http://{}", nginx.public()));
        let answer = post_through(nginx.public(), "/webhook/7000000001");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("/webhook/7000000001"), "{answer}");
        // Only /webhook/ (and /health) reach the app.
        let answer = post_through(nginx.public(), "/other");
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
        // A master and its worker, in nginx's process group.
        let pgid = nginx.pid();
        let members = || {
            std::fs::read_dir("/proc")
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .filter(|pid| {
                    std::fs::read_to_string(format!("/proc/{pid}/stat"))
                        .ok()
                        .and_then(|s| {
                            // After the command: state, ppid, pgrp. Zombies are not running.
                            let mut f = s.rsplit_once(')')?.1.split_whitespace();
                            let state = f.next()?;
                            let pgrp = f.nth(1)?.parse::<u32>().ok()?;
                            (state != "Z").then_some(pgrp)
                        })
                        == Some(pgid)
                })
                .count()
        };
        assert!(members() >= 2, "nginx master and worker expected");
        drop(nginx);
        // SIGKILL is delivered at once, but a worker may take a moment to be gone.
        let deadline = Instant::now() + Duration::from_secs(10);
        while members() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(members(), 0, "nginx processes left running");
    }
}
