//! Readiness: when a started SUT counts as ready, as its `ready` says — every bot polling
//! (a `getUpdates` held by the mock), every webhook set, either, a health URL answering
//! 2xx, or at once — and waiting for it: until ready, the SUT exits, `ready_timeout_s`
//! passes or the run is interrupted. After a restart (a fault), ready again also needs a
//! fresh call per bot, so the dead process's state in the mock does not count.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mock_telegram::{Mock, Stats};
use tokio::runtime::Handle;

use super::SutError;
use super::process::SutProcess;
use crate::scenario::Ready;

/// Readiness as the probe sees it right now.
pub enum Probe {
    Ready,
    /// Not yet: what is missing, e.g. "37 of 100 bots polling".
    Waiting(String),
}

/// A SUT's readiness condition, checked against the mock it talks to.
pub struct Readiness {
    ready: Ready,
    bots: usize,
    mock: Arc<Mock>,
    /// Where `{listen}` in a health URL points (the SUT's `TGBENCH_LISTEN`).
    listen: SocketAddr,
    /// Runs the health URL's request.
    rt: Handle,
}

impl Readiness {
    pub fn new(
        ready: Ready,
        bots: usize,
        mock: Arc<Mock>,
        listen: SocketAddr,
        rt: Handle,
    ) -> Readiness {
        Readiness {
            ready,
            bots,
            mock,
            listen,
            rt,
        }
    }

    /// The condition, as `ready` is written in a scenario.
    pub fn condition(&self) -> &Ready {
        &self.ready
    }

    /// The mock's counters now (the base of [`Readiness::ready_since`]).
    pub fn mock_stats(&self) -> Stats {
        self.mock.stats()
    }

    /// Whether the SUT is ready now.
    pub fn probe(&self) -> Probe {
        let bots = self.bots;
        let r = self.mock.readiness();
        match &self.ready {
            Ready::None => Probe::Ready,
            Ready::Polling if r.polling >= bots => Probe::Ready,
            Ready::Polling => Probe::Waiting(format!("{} of {bots} bots polling", r.polling)),
            Ready::Webhook if r.webhooks_set >= bots => Probe::Ready,
            Ready::Webhook => Probe::Waiting(format!("{} of {bots} webhooks set", r.webhooks_set)),
            Ready::Any if r.polling + r.webhooks_set >= bots => Probe::Ready,
            Ready::Any => Probe::Waiting(format!(
                "{} of {bots} bots polling or with a webhook set",
                r.polling + r.webhooks_set
            )),
            Ready::Url(u) => {
                let url = u.replace("{listen}", &self.listen.to_string());
                let answer = self.rt.block_on(async {
                    let client = reqwest::Client::builder()
                        .timeout(Duration::from_secs(1))
                        .build()
                        .ok()?;
                    client.get(&url).send().await.ok().map(|r| r.status())
                });
                match answer {
                    Some(st) if st.is_success() => Probe::Ready,
                    Some(st) => Probe::Waiting(format!("{url} answered {st}")),
                    None => Probe::Waiting(format!("{url} does not answer")),
                }
            }
        }
    }

    /// Ready as [`Readiness::probe`] says and, for the mock-based conditions, with a fresh
    /// call per bot since `base` (the mock's counters at a restart): getUpdates answered
    /// since or held now (the mock drops the polls of a dead process with their
    /// connections), setWebhook answered since.
    pub fn ready_since(&self, base: &Stats) -> bool {
        let now = self.mock.stats();
        let since = |m: &str| {
            now.requests
                .get(m)
                .copied()
                .unwrap_or(0)
                .saturating_sub(base.requests.get(m).copied().unwrap_or(0)) as usize
        };
        // A long poll is counted when it is answered: a held one is in flight.
        let polls = since("getUpdates") + now.get_updates.in_flight as usize;
        let fresh = match self.ready {
            Ready::Polling => polls,
            Ready::Webhook => since("setWebhook"),
            Ready::Any => polls + since("setWebhook"),
            Ready::None | Ready::Url(_) => usize::MAX,
        };
        fresh >= self.bots && matches!(self.probe(), Probe::Ready)
    }
}

/// Waits until `probe` says ready, one of the SUT's processes (`procs`: its replicas; none
/// for a SUT tgbench did not start) exits, `timeout` passes or `cancel` is set. Returns how
/// long it took.
pub fn wait_ready(
    name: &str,
    procs: &[SutProcess],
    ready: &str,
    timeout: Duration,
    cancel: &AtomicBool,
    mut probe: impl FnMut() -> Probe,
    mut progress: impl FnMut(&str),
) -> Result<Duration, SutError> {
    let start = Instant::now();
    loop {
        if let Some((p, exit)) = procs.iter().find_map(|p| Some((p, p.exit()?))) {
            return Err(SutError::ExitedEarly {
                sut: p.name().to_string(),
                status: exit.status,
                tail: exit.tail,
            });
        }
        if cancel.load(Ordering::SeqCst) {
            return Err(SutError::Interrupted {
                sut: name.to_string(),
            });
        }
        let state = match probe() {
            Probe::Ready => return Ok(start.elapsed()),
            Probe::Waiting(s) => {
                progress(&s);
                s
            }
        };
        if start.elapsed() >= timeout {
            return Err(SutError::NotReady {
                sut: name.to_string(),
                ready: ready.to_string(),
                waited_s: start.elapsed().as_secs_f64(),
                state,
                tail: procs.iter().flat_map(SutProcess::tail).collect(),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::sut::env::SutEnv;
    use crate::sut::process::Launch;

    fn start_sh(script: &str) -> SutProcess {
        let contract = SutEnv::prepare("http://127.0.0.1:9", &[]).unwrap();
        let env = BTreeMap::new();
        SutProcess::start(Launch {
            name: "sh",
            command: vec!["sh".into(), "-c".into(), script.into()],
            env: &env,
            contract: &contract,
            cpus: None,
            log: None,
            budget: None,
        })
        .unwrap()
    }

    #[test]
    fn exit_before_ready_reports_stderr_tail() {
        let p = start_sh("for i in $(seq 1 30); do echo line $i >&2; done; exit 3");
        let cancel = AtomicBool::new(false);
        let e = wait_ready(
            "sh",
            std::slice::from_ref(&p),
            "polling",
            Duration::from_secs(5),
            &cancel,
            || Probe::Waiting("0 of 1 bots polling".into()),
            |_| {},
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("SUT sh exited (exit code 3) before it was ready"),
            "{msg}"
        );
        assert!(
            msg.contains("line 11\n") && msg.ends_with("line 30"),
            "{msg}"
        );
        assert!(!msg.contains("line 10\n"), "{msg}");
    }

    #[test]
    fn not_ready_in_time_says_what_was_missing() {
        let mut p = start_sh("echo starting >&2; sleep 60");
        let cancel = AtomicBool::new(false);
        let e = wait_ready(
            "sh",
            std::slice::from_ref(&p),
            "webhook",
            Duration::from_millis(300),
            &cancel,
            || Probe::Waiting("3 of 10 webhooks set".into()),
            |_| {},
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("not ready after 0.3 s (ready = \"webhook\": 3 of 10 webhooks set)"),
            "{msg}"
        );
        assert!(msg.ends_with("starting"), "{msg}");
        p.stop(Duration::from_secs(1));
    }
}
