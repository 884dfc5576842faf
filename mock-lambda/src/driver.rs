//! An environment's process from spawn to end: the documented environment variables, the
//! Runtime API server it talks to, and the driver that watches it: the init limit, the
//! invocation timeout, memory, exit, kill requests; then the kill, the cleanup (no process
//! and no group left), the failed invocation's AWS error, and the records.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use tokio::net::TcpListener;
use tokio::process::Child;

use crate::config::{FunctionConfig, Logs};
use crate::environment::{Environment, KillReason, Phase};
use crate::invocation::{ErrorKind, FunctionError, Invocation, Outcome};
use crate::platform::Platform;
use crate::procfs;
use crate::resources::{EnvResources, EnvUsage, RSS_SAMPLE};
use crate::runtime_api;

/// Why an environment could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("cannot bind the environment's Runtime API")]
    Bind(#[source] std::io::Error),
    #[error("cannot start {command}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
}

/// Starts environment `id` for `inv` (its first event): binds its Runtime API on
/// loopback, spawns the runtime with the documented variables, and starts its driver.
pub async fn start(
    platform: &Arc<Platform>,
    id: u64,
    resources: EnvResources,
    inv: Invocation,
) -> Result<Arc<Environment>, (Invocation, SpawnError)> {
    let config = platform.config();
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => return Err((inv, SpawnError::Bind(e))),
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => return Err((inv, SpawnError::Bind(e))),
    };
    let mut command = resources.command(&config.command, &config.args);
    let env = Arc::new(Environment::new(
        id,
        config.timeout,
        Arc::downgrade(platform),
        inv,
        resources,
    ));
    tokio::spawn(runtime_api::serve(listener, env.clone()));
    configure(&mut command, config, &addr.to_string(), id);
    let mut command = tokio::process::Command::from(command);
    command.kill_on_drop(true);
    let cgroup = env.with_resources(EnvResources::group_path).flatten();
    platform.recorder().env_started(id, cgroup);
    let child = match command.spawn() {
        Ok(c) => c,
        Err(source) => {
            env.stop.cancel();
            let inv = env.core().pending.take().expect("not yet delivered");
            platform
                .recorder()
                .env_init_failed(env.spawned_at.elapsed());
            platform
                .recorder()
                .env_ended(id, "spawn_error", true, EnvUsage::default());
            let resources = env.resources.lock().expect("resources lock").take();
            drop(resources);
            let error = SpawnError::Spawn {
                command: config.command.display().to_string(),
                source,
            };
            return Err((inv, error));
        }
    };
    if let Some(pid) = child.id() {
        let _ = env.pid.set(pid);
        platform.recorder().env_pid(id, pid);
        env.with_resources(|r| r.started(pid));
    }
    platform.track(drive(env.clone(), child));
    Ok(env)
}

/// The documented variables of a Lambda environment, the function's own, and `PATH`.
fn configure(command: &mut std::process::Command, config: &FunctionConfig, api: &str, id: u64) {
    let task_root = config.task_root();
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("_HANDLER", &config.handler)
        .env("AWS_LAMBDA_FUNCTION_NAME", &config.name)
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        )
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", config.name),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("[$LATEST]env-{id}"))
        .env("AWS_REGION", &config.region)
        .env("AWS_DEFAULT_REGION", &config.region)
        .env("LAMBDA_TASK_ROOT", &task_root)
        .env("LAMBDA_RUNTIME_DIR", &task_root)
        .env("TZ", ":UTC")
        .env("LANG", "en_US.UTF-8")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(config.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&task_root)
        .stdin(Stdio::null())
        .process_group(0);
    let (out, err) = match &config.logs {
        Logs::Inherit => (Stdio::inherit(), Stdio::inherit()),
        Logs::Discard => (Stdio::null(), Stdio::null()),
        Logs::File(path) => {
            let open = || {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
            };
            match (open(), open()) {
                (Ok(a), Ok(b)) => (Stdio::from(a), Stdio::from(b)),
                _ => (Stdio::null(), Stdio::null()),
            }
        }
    };
    command.stdout(out).stderr(err);
}

/// How the watch ended.
#[derive(Debug)]
enum End {
    /// The runtime exited (its status, when it was already reaped).
    Exited(Option<ExitStatus>),
    Deadline,
    OutOfMemory,
    Killed(KillReason),
}

/// Watches `env` until it ends, then cleans up and records.
///
/// Without control groups the environment is killed by its process group, so its runtime
/// is not reaped before that: its exit is seen as a zombie on the sampling tick, which
/// keeps its pid, and so its group's id, from being reused by another process meanwhile.
async fn drive(env: Arc<Environment>, mut child: Child) {
    let by_group = env
        .with_resources(|r| matches!(r, EnvResources::Signals { .. }))
        .unwrap_or(false);
    let pid = env.pid().map(|p| p as i32);
    let mut tick = tokio::time::interval(RSS_SAMPLE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let init_deadline = env.spawned_at
        + env
            .platform
            .upgrade()
            .map_or(crate::config::INIT_TIMEOUT, |p| p.config().init_timeout);
    let mut was_watching = false;
    let end = loop {
        let (deadline, watching) = {
            let core = env.core();
            if let Some(reason) = core.kill.clone() {
                break End::Killed(reason);
            }
            match core.phase {
                Phase::Init => (Some(init_deadline), true),
                Phase::Busy => (core.current.as_ref().map(|c| c.deadline), true),
                Phase::Idle | Phase::Ended => (None, false),
            }
        };
        // Sampling starts a period after an invocation (or init) starts, not at once: an
        // invocation shorter than that is checked by the kernel's limit alone.
        if watching && !was_watching && !by_group {
            tick.reset();
        }
        was_watching = watching;
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            status = child.wait(), if !by_group => break End::Exited(status.ok()),
            _ = sleep => break End::Deadline,
            _ = tick.tick(), if watching || by_group => {
                if by_group && pid.is_none_or(procfs::exited) {
                    break End::Exited(None);
                }
                if watching && env.with_resources(EnvResources::out_of_memory).unwrap_or(false) {
                    break End::OutOfMemory;
                }
            }
            _ = env.changed.notified() => {}
        }
    };
    finish(env, child, end).await;
}

/// Kills what is left (after the shutdown phase, for a reaped environment), removes the
/// resources, fails what was running, records the end. The environment holds no
/// concurrency from the first line on.
async fn finish(env: Arc<Environment>, mut child: Child, end: End) {
    let platform = env.platform.upgrade();
    if let Some(p) = &platform {
        p.retire(&env);
    }
    let before = env.usage();
    let mut status = match &end {
        End::Exited(Some(s)) => Some(*s),
        _ => None,
    };
    let grace = platform
        .as_ref()
        .map_or(Duration::ZERO, |p| p.config().shutdown_grace);
    if matches!(end, End::Killed(KillReason::Reaped | KillReason::Shutdown)) && !grace.is_zero() {
        status = shut_down(&env, &mut child, grace).await;
    }
    let killer = env.clone();
    let _ = tokio::task::spawn_blocking(move || {
        killer.with_resources(EnvResources::kill);
    })
    .await;
    if status.is_none() {
        status = child.wait().await.ok();
    }
    let oom = matches!(end, End::OutOfMemory)
        || matches!(
            env.with_resources(|r| matches!(r, EnvResources::Cgroup(_)) && r.out_of_memory()),
            Some(true)
        );
    let after = env.usage();
    let usage = EnvUsage {
        cpu: before.cpu.max(after.cpu),
        memory_bytes: after.memory_bytes,
        peak_bytes: before.peak_bytes.max(after.peak_bytes),
    };
    let resources = env.resources.lock().expect("resources lock").take();
    let _ = tokio::task::spawn_blocking(move || drop(resources)).await;
    env.stop.cancel();

    let mut core = env.core();
    let was_active = matches!(core.phase, Phase::Init | Phase::Busy);
    core.phase = Phase::Ended;
    core.waiter = None;
    let how = status.map_or_else(|| "unknown".to_owned(), describe);
    let mut reason = match &end {
        End::Exited(_) if oom => "oom",
        End::Exited(_) => "exited",
        End::Deadline => "timeout",
        End::OutOfMemory => "oom",
        End::Killed(KillReason::Reaped) => "reaped",
        End::Killed(KillReason::Shutdown) => "shutdown",
        End::Killed(KillReason::InitError(_)) => "init_error",
    };
    if let Some(inv) = core.pending.take() {
        let error = match &end {
            End::Killed(KillReason::InitError(e)) => FunctionError {
                kind: ErrorKind::Init,
                ..e.clone()
            },
            End::Deadline => {
                reason = "init_timeout";
                let limit = env.spawned_at.elapsed().as_secs_f64();
                FunctionError::init(
                    "Sandbox.Timedout",
                    &format!(
                        "RequestId: {} Error: init timed out after {limit:.2} seconds",
                        inv.id
                    ),
                )
            }
            _ if oom => FunctionError {
                kind: ErrorKind::Init,
                ..FunctionError::out_of_memory(&inv.id)
            },
            End::Exited(_) => FunctionError::init(
                "Runtime.ExitError",
                &format!(
                    "RequestId: {} Error: Runtime exited with error: {how}",
                    inv.id
                ),
            ),
            _ => FunctionError::init("Runtime.Unknown", "the platform shut down"),
        };
        if let Some(p) = &platform {
            p.recorder().env_init_failed(env.spawned_at.elapsed());
        }
        let _ = inv.reply.send(Outcome::Error(error));
    }
    if let Some(mut current) = core.current.take() {
        if let Some(reply) = current.reply.take() {
            let error = match &end {
                End::Deadline => FunctionError::timeout(&current.id, env.timeout),
                _ if oom => FunctionError::out_of_memory(&current.id),
                End::Exited(_) => {
                    reason = "crash";
                    FunctionError::exited(&current.id, &how)
                }
                _ => FunctionError::platform(
                    ErrorKind::Crash,
                    "Runtime.Unknown",
                    &format!("RequestId: {} Error: the platform shut down", current.id),
                ),
            };
            if let Some(p) = &platform {
                p.recorder().invocation_failed(error.kind);
            }
            let _ = reply.send(Outcome::Error(error));
        }
        if let Some(p) = &platform {
            let ran = current.delivered_at.elapsed().min(env.timeout);
            p.recorder().invocation_ended(ran);
        }
    }
    drop(core);
    if let Some(p) = &platform {
        p.recorder().env_ended(env.id, reason, was_active, usage);
        p.remove(env.id);
    }
    tracing::debug!(env = env.id, reason, "environment ended ({how})");
}

/// AWS's shutdown phase with extensions: the runtime, thawed, gets SIGTERM and `grace` to
/// exit. Its exit status, if it exited (without control groups it is seen, not reaped, so
/// its process group's id stays its own until the kill).
async fn shut_down(
    env: &Arc<Environment>,
    child: &mut Child,
    grace: Duration,
) -> Option<ExitStatus> {
    let pid = env.pid()? as i32;
    let thawer = env.clone();
    let _ = tokio::task::spawn_blocking(move || thawer.with_resources(EnvResources::thaw)).await;
    // ESRCH: it has already gone.
    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    let by_group = env
        .with_resources(|r| matches!(r, EnvResources::Signals { .. }))
        .unwrap_or(false);
    if !by_group {
        return tokio::time::timeout(grace, child.wait()).await.ok()?.ok();
    }
    let deadline = tokio::time::Instant::now() + grace;
    while !procfs::exited(pid) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// `exit status 1` or `signal: killed`, as AWS (Go) writes a process's end.
fn describe(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    match status.signal() {
        Some(9) => "signal: killed".into(),
        Some(11) => "signal: segmentation fault".into(),
        Some(6) => "signal: aborted".into(),
        Some(15) => "signal: terminated".into(),
        Some(n) => format!("signal: {n}"),
        None => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_read_as_aws_writes_them() {
        assert_eq!(describe(ExitStatus::from_raw(1 << 8)), "exit status 1");
        assert_eq!(describe(ExitStatus::from_raw(9)), "signal: killed");
    }
}
