//! The serverless shape: a function on the emulated AWS Lambda. The deployment's process
//! is the `mock-lambda` binary (the platform), which starts execution environments of the
//! function on demand as its own children; Telegram's webhooks go to its function URL.
//!
//! Why the binary and not the library in tgbench's process: the platform then is a SUT
//! process like any other (its own process group, pinned with the SUT's `cpus`, dying with
//! tgbench, stopped and killed by faults with everything it started), and its CPU is
//! never mixed into the harness's. The environments are sampled as the SUT (the tree below
//! the platform), and the platform's own CPU, which it reports at `/_lambda/stats`, is kept
//! apart as overhead.
//!
//! Registering the webhooks is the deploy step, as it would be on AWS: once the platform
//! answers, tgbench calls `setWebhook` for every bot over the Bot API with the function URL
//! (`/webhook/{bot_id}`) and a secret of its own, which the function reads from its
//! secrets file (`WEBHOOK_SECRETS_FILE`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mock_lambda::Stats;
use mock_telegram::BotInfo;
use mock_telegram::ReplySample;
use rand::Rng;
use rand::distributions::Alphanumeric;
use tgbench_reports::cost::{Prices, serverless_cost};
use tgbench_reports::histogram::new_latency_histogram;
use tgbench_reports::results::{
    Arch, ColdWarm, FrontDoor, InitMs, Latency, Serverless, ServerlessErrors, ServerlessPoint,
};
use tokio::runtime::Handle;

use super::SutError;
use super::env::SutEnv;
use crate::scenario::{Function, ServerlessSpec, Sut};

/// The platform binary, next to the reference servers.
pub const PLATFORM_BINARY: &str = "mock-lambda";

/// A deployed function's platform: where it answers, and what the deploy step registers.
pub struct Platform {
    /// The function URL (`http://TGBENCH_LISTEN`).
    url: String,
    api_url: String,
    /// Each bot and the webhook secret registered for it.
    bots: Vec<(BotInfo, String)>,
    /// The webhooks are set (since the platform last started).
    deployed: AtomicBool,
    rt: Handle,
    /// Holds the secrets file.
    _dir: tempfile::TempDir,
    secrets_file: PathBuf,
}

impl Platform {
    /// Writes one secret per bot to a file the function reads.
    pub fn prepare(
        sut: &Sut,
        api_url: &str,
        contract: &SutEnv,
        bots: Vec<BotInfo>,
        rt: Handle,
    ) -> Result<Platform, SutError> {
        let prepare = |source| SutError::Prepare {
            sut: sut.name.clone(),
            source,
        };
        let dir = tempfile::Builder::new()
            .prefix("tgbench-function-")
            .tempdir()
            .map_err(prepare)?;
        let secrets_file = dir.path().join("webhook-secrets.txt");
        let mut rng = rand::thread_rng();
        let bots: Vec<(BotInfo, String)> = bots
            .into_iter()
            .map(|b| {
                let secret: String = (&mut rng)
                    .sample_iter(Alphanumeric)
                    .take(32)
                    .map(char::from)
                    .collect();
                (b, secret)
            })
            .collect();
        let mut f = std::fs::File::create(&secrets_file).map_err(prepare)?;
        for (bot, secret) in &bots {
            writeln!(f, "{} {secret}", bot.id).map_err(prepare)?;
        }
        f.sync_all().map_err(prepare)?;
        Ok(Platform {
            url: contract.public_url.clone(),
            api_url: api_url.to_string(),
            bots,
            deployed: AtomicBool::new(false),
            rt,
            _dir: dir,
            secrets_file,
        })
    }

    /// The platform's command line: `mock-lambda` with the function's configuration and
    /// the function's variables (the contract, the secrets file, the SUT's `env`), then
    /// the function's command and the SUT's `args`.
    pub fn command_line(
        &self,
        sut: &Sut,
        spec: &ServerlessSpec,
        impls: &Path,
        contract: &SutEnv,
        function_log: &Path,
    ) -> Result<Vec<String>, SutError> {
        let binary = |name: &str| {
            let path = impls.join(name);
            if path.is_file() {
                Ok(path.to_string_lossy().into_owned())
            } else {
                Err(SutError::MissingPlatform {
                    sut: sut.name.clone(),
                    path,
                })
            }
        };
        let mut cmd = vec![
            binary(PLATFORM_BINARY)?,
            "--listen".into(),
            contract.listen.to_string(),
            "--name".into(),
            sut.name.clone(),
            "--memory-mb".into(),
            spec.memory_mb.to_string(),
            "--timeout-s".into(),
            spec.timeout_s.to_string(),
            "--concurrency".into(),
            spec.concurrency.to_string(),
            "--keep-warm-s".into(),
            spec.keep_warm_s.to_string(),
            "--arch".into(),
            value_name(&spec.arch),
            "--front-door".into(),
            value_name(&spec.front_door),
            "--logs".into(),
            function_log.to_string_lossy().into_owned(),
        ];
        let mut vars = contract.vars();
        vars.push((
            "WEBHOOK_SECRETS_FILE".into(),
            self.secrets_file.to_string_lossy().into_owned(),
        ));
        vars.extend(sut.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        for (k, v) in vars {
            cmd.push("--env".into());
            cmd.push(format!("{k}={v}"));
        }
        cmd.push("--".into());
        match &spec.function {
            Function::Reference(name) => cmd.push(binary(name)?),
            Function::Command(c) => cmd.extend(c.iter().cloned()),
        }
        cmd.extend(sut.args.iter().cloned());
        Ok(cmd)
    }

    /// The deploy step, once per platform start: when the platform answers, every bot's
    /// webhook is set to the function URL with its secret. Returns what is still missing
    /// (None when deployed).
    pub fn deploy(&self) -> Option<String> {
        if self.deployed.load(Ordering::SeqCst) {
            return None;
        }
        if self.stats().is_none() {
            return Some(format!("the platform at {} does not answer yet", self.url));
        }
        let (url, api_url, bots) = (&self.url, &self.api_url, &self.bots);
        let failed = self.rt.block_on(async {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .ok()?;
            for (bot, secret) in bots {
                let set = client
                    .post(format!("{api_url}/bot{}/setWebhook", bot.token))
                    .json(&serde_json::json!({
                        "url": format!("{url}/webhook/{}", bot.id),
                        "secret_token": secret,
                    }))
                    .send()
                    .await;
                match set {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => {
                        return Some(format!("setWebhook for bot {} got {}", bot.id, r.status()));
                    }
                    Err(e) => return Some(format!("setWebhook for bot {}: {e}", bot.id)),
                }
            }
            None
        });
        if failed.is_none() {
            self.deployed.store(true, Ordering::SeqCst);
        }
        failed
    }

    /// After a restart the deploy step runs again (a new platform, the same function).
    pub fn restarted(&self) {
        self.deployed.store(false, Ordering::SeqCst);
    }

    /// The platform's figures now (`/_lambda/stats`), None when it does not answer.
    pub fn stats(&self) -> Option<Stats> {
        let url = format!("{}/_lambda/stats", self.url);
        self.rt.block_on(async {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .ok()?;
            let r = client.get(&url).send().await.ok()?;
            r.error_for_status().ok()?.json::<Stats>().await.ok()
        })
    }
}

impl Drop for Platform {
    /// The platform process is gone by now (the deployment stops or kills it first): if it
    /// was killed (a fault, SIGKILL), its environments' control groups are left, frozen
    /// ones included; they are removed here with what runs in them.
    fn drop(&mut self) {
        mock_lambda::resources::remove_stale_groups();
    }
}

/// A clap value name as the platform's command line spells it (`x86_64`, `api-gateway-http`).
fn value_name<T: clap::ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// A window's figures: what the platform counted between two snapshots of the same
/// platform (`start` None: since it started, e.g. after a restart in the window), its cost
/// at `prices`.
pub fn window(start: Option<&Stats>, end: &Stats, prices: &Prices) -> Serverless {
    // A platform restarted in the window counts from its start.
    let start = start.filter(|s| s.elapsed_s <= end.elapsed_s);
    let zero = |f: fn(&Stats) -> u64| f(end).saturating_sub(start.map_or(0, f));
    let from_s = start.map_or(0.0, |s| s.elapsed_s);
    let marks = start.map_or(0, |s| s.cold_start_marks.len());
    let mut inits: Vec<f64> = end
        .cold_start_marks
        .iter()
        .skip(marks)
        .filter_map(|m| m.init_ms)
        .collect();
    inits.sort_by(f64::total_cmp);
    let pct = |q: f64| crate::sampler::percentile(&inits, q);
    let errors = &end.errors;
    let before = start.map(|s| &s.errors);
    let since = |now: u64, then: Option<u64>| now.saturating_sub(then.unwrap_or(0));
    let function_errors = |e: &mock_lambda::stats::Errors| {
        e.function + e.crash + e.init + e.response_too_large + e.invalid_response
    };
    let peak = end
        .concurrency_series
        .points
        .iter()
        .filter(|p| p.t_s + end.concurrency_series.period_ms as f64 / 1000.0 > from_s)
        .map(|p| p.peak as u64)
        .max()
        .unwrap_or(0);
    let bill = |s: &Stats| {
        (
            s.billing.billed_ms + s.billing.init_billed_ms,
            s.billing.init_billed_ms,
            s.billing.gb_s,
        )
    };
    let (ms, init_ms, gb_s) = bill(end);
    let (ms0, init_ms0, gb_s0) = start.map_or((0, 0, 0.0), bill);
    let mut window = Serverless {
        invocations: zero(|s| s.invocations),
        cold_starts: zero(|s| s.cold_starts),
        init_ms: InitMs {
            p50: pct(0.50),
            p99: pct(0.99),
            max: inits.last().copied().unwrap_or(0.0),
        },
        throttled: zero(|s| s.throttled),
        errors: ServerlessErrors {
            timeout: since(errors.timeout, before.map(|b| b.timeout)),
            oom: since(errors.oom, before.map(|b| b.oom)),
            function: since(function_errors(errors), before.map(function_errors)),
        },
        concurrency_peak: peak,
        environments_started: zero(|s| s.environments_started),
        billed_ms: ms.saturating_sub(ms0),
        init_billed_ms: init_ms.saturating_sub(init_ms0),
        billed_gb_s: (gb_s - gb_s0).max(0.0),
        requests: zero(|s| s.requests),
        memory_mb: end.function.memory_mb,
        concurrency_limit: end.function.concurrency as u64,
        keep_warm_s: end.function.keep_warm_s,
        arch: match end.function.arch {
            mock_lambda::Arch::X86_64 => Arch::X86_64,
            mock_lambda::Arch::Arm64 => Arch::Arm64,
        },
        front_door: match end.function.front_door {
            mock_lambda::FrontDoor::FunctionUrl => FrontDoor::FunctionUrl,
            mock_lambda::FrontDoor::ApiGatewayHttp => FrontDoor::ApiGatewayHttp,
        },
        cost: 0.0,
        environments_cpu_s: (end.environments_cpu_s - start.map_or(0.0, |s| s.environments_cpu_s))
            .max(0.0),
        platform_cpu_s: (end.overhead.cpu_s - start.map_or(0.0, |s| s.overhead.cpu_s)).max(0.0),
        resources: end.resources.mechanism.clone(),
        ..Serverless::default()
    };
    let (floor, marginal) = platform_split(start, end, window.platform_cpu_s, window.invocations);
    window.platform_idle_cpu_ms_per_s = floor;
    window.platform_marginal_cpu_ms = marginal;
    window.cost = serverless_cost(&window, prices).total;
    window.timeline = timeline(from_s, end);
    window
}

/// The platform's CPU split: its idle floor (CPU ms per second over quiet stretches, the
/// window's own, else every one since the platform started: a scenario with an idle phase
/// before its busy one measures the floor there) and what an invocation costs it above that
/// floor (CPU ms: `cpu_s` less the floor over the whole window, per invocation). None
/// without a quiet stretch (or an invocation).
fn platform_split(
    start: Option<&Stats>,
    end: &Stats,
    cpu_s: f64,
    invocations: u64,
) -> (Option<f64>, Option<f64>) {
    let since = |f: fn(&Stats) -> f64| f(end) - start.map_or(0.0, f);
    let (idle_s, idle_cpu_s) = match since(|s| s.overhead.idle_s) {
        in_window if in_window > 0.0 => (in_window, since(|s| s.overhead.idle_cpu_s)),
        _ => (end.overhead.idle_s, end.overhead.idle_cpu_s),
    };
    if idle_s <= 0.0 {
        return (None, None);
    }
    let floor = idle_cpu_s.max(0.0) / idle_s;
    let window_s = since(|s| s.elapsed_s).max(0.0);
    let marginal =
        (invocations > 0).then(|| (cpu_s - floor * window_s) / invocations as f64 * 1000.0);
    (Some(floor * 1000.0), marginal)
}

/// The platform's series from the window's start (`from_s`, platform time) on, its times
/// made seconds since the window started (a period that began before it is negative).
fn timeline(from_s: f64, end: &Stats) -> Vec<ServerlessPoint> {
    let period_s = end.concurrency_series.period_ms as f64 / 1000.0;
    end.concurrency_series
        .points
        .iter()
        .filter(|p| p.t_s + period_s > from_s)
        .map(|p| ServerlessPoint {
            t_s: p.t_s - from_s,
            busy: p.peak as u64,
            alive: p.alive as u64,
            cold_starts: p.cold_starts,
            invocations: p.invocations,
            throttled: p.throttled,
        })
        .collect()
}

/// The window's replies split into those whose update met a cold start (a delivery of it
/// was the first event of a new environment, per the platform's `cold_requests` of every
/// snapshot given) and the rest: each reply lands in exactly one.
pub fn cold_warm<'a>(
    replies: &[ReplySample],
    snapshots: impl IntoIterator<Item = &'a Stats>,
) -> ColdWarm {
    let cold: std::collections::HashSet<(i64, i64)> = snapshots
        .into_iter()
        .flat_map(|s| &s.cold_requests)
        .filter_map(|c| {
            let bot = c.path.strip_prefix("/webhook/")?.parse().ok()?;
            Some((bot, c.update_id?))
        })
        .collect();
    let (mut hot, mut warm) = (new_latency_histogram(), new_latency_histogram());
    for r in replies {
        let h = if cold.contains(&(r.bot_id, r.update_id)) {
            &mut hot
        } else {
            &mut warm
        };
        let _ = h.record(r.latency_us);
    }
    ColdWarm {
        cold: Latency::from_histogram(&hot),
        warm: Latency::from_histogram(&warm),
    }
}
