//! The `mock-lambda` binary: options, and serving one function until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;

use crate::config::{Arch, FrontDoor, FunctionConfig, Logs, ResourceMode};

/// An emulated AWS Lambda: runs one function's runtime (any program that speaks the
/// Lambda Runtime API 2018-06-01, e.g. a `provided.al2023` `bootstrap`) in execution
/// environments sized and frozen as AWS does, behind a function URL.
///
///   ANY  /<any path>        the function URL: a payload-format-2.0 event per request
///   GET  /_lambda/stats     invocations, cold starts, init times, throttles, errors,
///                           concurrency over time, environments, billing, overhead
///
/// Example: mock-lambda --memory-mb 512 --env TGBENCH_API_URL=http://127.0.0.1:8081 \
///            -- ./target/release/bootstrap
#[derive(Debug, Clone, Parser)]
#[command(name = "mock-lambda", version, verbatim_doc_comment)]
pub struct Opts {
    /// Address of the function URL and the control API. Loopback only: anyone who can
    /// reach it can run the function and read its stats.
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub listen: SocketAddr,
    /// Function name (AWS_LAMBDA_FUNCTION_NAME).
    #[arg(long, default_value = "tgbench-function")]
    pub name: String,
    /// Memory in MB, 128-10,240: the memory limit, the CPU share (1,769 MB = 1 vCPU), the price.
    #[arg(long, default_value_t = 128)]
    pub memory_mb: u32,
    /// Invocation timeout in seconds, 1-900.
    #[arg(long, default_value_t = 3.0)]
    pub timeout_s: f64,
    /// Reserved concurrency: most environments at once; beyond it requests get 429.
    #[arg(long, default_value_t = 1000)]
    pub concurrency: usize,
    /// Seconds an idle environment is kept before it is shut down.
    #[arg(long, default_value_t = 600.0)]
    pub keep_warm_s: f64,
    /// Milliseconds a reaped environment's runtime gets after SIGTERM before SIGKILL, at
    /// most 2,000 (AWS's shutdown phase with extensions); 0 kills it at once, as AWS does
    /// without extensions.
    #[arg(long, default_value_t = 0)]
    pub shutdown_grace_ms: u64,
    /// Milliseconds an idle environment runs on before it is frozen, at most 1,000; 0
    /// freezes it as soon as its runtime asks for the next event.
    #[arg(long, default_value_t = crate::config::FREEZE_AFTER.as_millis() as u64)]
    pub freeze_after_ms: u64,
    /// Threads serving HTTP and scheduling: 1 (one thread, no hand-offs between threads:
    /// the least CPU per invocation) or more for a platform that must serve more than one
    /// core's worth of requests. Blocking work (freezing, killing) has threads of its own.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: u16,
    /// Instruction set the price is for.
    #[arg(long, value_enum, default_value_t = Arch::X86_64)]
    pub arch: Arch,
    /// What stands in front, for the price.
    #[arg(long, value_enum, default_value_t = FrontDoor::FunctionUrl)]
    pub front_door: FrontDoor,
    /// How environments are limited and frozen (auto: cgroups if available, else signals).
    #[arg(long, value_enum, default_value_t = ResourceMode::Auto)]
    pub resources: ResourceMode,
    /// _HANDLER.
    #[arg(long, default_value = "bootstrap")]
    pub handler: String,
    /// More variables for the function, KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Append the environments' output to this file (default: this process's stderr).
    #[arg(long)]
    pub logs: Option<PathBuf>,
    /// The runtime's command and its arguments.
    #[arg(required = true, last = true, num_args = 1..)]
    pub command: Vec<String>,
}

impl Opts {
    /// The function's configuration, checked.
    pub fn config(&self) -> anyhow::Result<FunctionConfig> {
        if !self.listen.ip().is_loopback() {
            bail!(
                "refusing to listen on {}: use a loopback address",
                self.listen
            );
        }
        let seconds = |name: &str, v: f64| -> anyhow::Result<Duration> {
            if !v.is_finite() || v < 0.0 {
                bail!("--{name} must be a non-negative number of seconds, got {v}");
            }
            Ok(Duration::from_secs_f64(v))
        };
        let env = self
            .env
            .iter()
            .map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .with_context(|| format!("--env {kv:?} is not KEY=VALUE"))
            })
            .collect::<anyhow::Result<_>>()?;
        let (command, args) = self
            .command
            .split_first()
            .context("a command is required")?;
        let config = FunctionConfig {
            name: self.name.clone(),
            args: args.to_vec(),
            handler: self.handler.clone(),
            memory_mb: self.memory_mb,
            timeout: seconds("timeout-s", self.timeout_s)?,
            concurrency: self.concurrency,
            keep_warm: seconds("keep-warm-s", self.keep_warm_s)?,
            shutdown_grace: Duration::from_millis(self.shutdown_grace_ms),
            freeze_after: Duration::from_millis(self.freeze_after_ms),
            arch: self.arch,
            front_door: self.front_door,
            resources: self.resources,
            env,
            logs: self.logs.clone().map_or(Logs::Inherit, Logs::File),
            ..FunctionConfig::new(command)
        };
        config.validate()?;
        Ok(config)
    }
}

/// Runs the binary: binds, starts the platform, prints `listening on http://ADDR`, serves
/// until SIGINT or SIGTERM, then ends every environment and prints the final stats.
pub fn main(opts: Opts) -> anyhow::Result<()> {
    let config = opts.config()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "mock_lambda=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match opts.threads {
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n.into())
            .enable_all()
            .build(),
    }
    .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .with_context(|| format!("binding {}", opts.listen))?;
        let addr = listener.local_addr()?;
        let platform = crate::Platform::start(config)?;
        let enforcement = platform.enforcement().clone();
        println!("listening on http://{addr}");
        eprintln!(
            "mock-lambda: resources by {} ({}); stats at http://{addr}/_lambda/stats",
            enforcement.mechanism,
            enforcement
                .fallback_reason
                .as_deref()
                .unwrap_or("memory, CPU and freezing enforced by the kernel")
        );
        let stats = crate::run(platform, listener, shutdown_signal()).await;
        eprintln!("{}", serde_json::to_string(&stats)?);
        Ok(())
    })
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_map_onto_the_config() {
        let opts = Opts::parse_from([
            "mock-lambda",
            "--memory-mb",
            "512",
            "--timeout-s",
            "5",
            "--concurrency",
            "3",
            "--keep-warm-s",
            "1.5",
            "--shutdown-grace-ms",
            "300",
            "--freeze-after-ms",
            "0",
            "--threads",
            "2",
            "--arch",
            "arm64",
            "--front-door",
            "api-gateway-http",
            "--env",
            "TGBENCH_API_URL=http://127.0.0.1:1",
            "--",
            "/opt/bootstrap",
            "--flag",
        ]);
        let c = opts.config().unwrap();
        assert_eq!((c.memory_mb, c.concurrency), (512, 3));
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert_eq!(c.keep_warm, Duration::from_millis(1500));
        assert_eq!(c.shutdown_grace, Duration::from_millis(300));
        assert_eq!(c.freeze_after, Duration::ZERO);
        assert_eq!(opts.threads, 2);
        assert_eq!(
            (c.arch, c.front_door),
            (Arch::Arm64, FrontDoor::ApiGatewayHttp)
        );
        assert_eq!(c.command, PathBuf::from("/opt/bootstrap"));
        assert_eq!(c.args, ["--flag"]);
        assert_eq!(
            c.env,
            [(
                "TGBENCH_API_URL".to_owned(),
                "http://127.0.0.1:1".to_owned()
            )]
        );
    }

    #[test]
    fn bad_options_are_refused() {
        let parse = |extra: &[&str]| {
            let mut args = vec!["mock-lambda"];
            args.extend_from_slice(extra);
            args.extend_from_slice(&["--", "/bin/true"]);
            Opts::parse_from(args).config()
        };
        assert!(parse(&["--listen", "0.0.0.0:9000"]).is_err());
        assert!(parse(&["--memory-mb", "64"]).is_err());
        assert!(parse(&["--env", "NOEQUALS"]).is_err());
        assert!(parse(&["--shutdown-grace-ms", "2001"]).is_err());
        assert!(parse(&["--freeze-after-ms", "1001"]).is_err());
        assert!(
            Opts::try_parse_from(["mock-lambda", "--threads", "0", "--", "/bin/true"]).is_err()
        );
        assert!(parse(&["--env", "AWS_REGION=x"]).is_err());
    }
}
