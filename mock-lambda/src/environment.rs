//! One execution environment: its state machine (init → idle ⇄ busy → ended), the
//! transitions the Runtime API drives (`/next`, `/response`, `/error`, `/init/error`), and
//! the transitions the platform drives (deliver an event, reap, shut down).
//!
//! An environment takes one invocation at a time. It is idle exactly while its runtime
//! holds a `/next` that has no event yet; that is when the platform freezes it (once it
//! has stayed idle for the function's `freeze_after`). The
//! invocation phase ends (and billing stops) when the runtime asks for its next event, or
//! when the environment dies; the caller gets its answer at `/response` or `/error`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

use crate::invocation::{FunctionError, Invocation, Outcome};
use crate::platform::Platform;
use crate::resources::{EnvResources, EnvUsage};

/// Where an environment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Spawned; its runtime has not asked for an event yet.
    Init,
    /// Holding a `/next` with nothing to give it: frozen.
    Idle,
    /// An invocation was delivered and has not ended.
    Busy,
    Ended,
}

/// Why an environment was ended from outside.
#[derive(Debug, Clone, PartialEq)]
pub enum KillReason {
    /// Idle for `keep_warm`.
    Reaped,
    /// The platform is shutting down.
    Shutdown,
    /// The runtime reported an init error.
    InitError(FunctionError),
}

/// The event a held `/next` answers with.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub request_id: String,
    pub trace_id: String,
    pub payload: Bytes,
    /// Epoch milliseconds (`Lambda-Runtime-Deadline-Ms`).
    pub deadline_ms: u64,
}

/// The invocation being run.
#[derive(Debug)]
pub struct Current {
    pub id: String,
    /// Taken when the runtime answers (`/response` or `/error`).
    pub reply: Option<oneshot::Sender<Outcome>>,
    pub delivered_at: Instant,
    pub deadline: Instant,
}

/// The mutable part of an environment.
#[derive(Debug)]
pub struct Core {
    pub phase: Phase,
    /// The held `/next`.
    pub waiter: Option<oneshot::Sender<Delivery>>,
    /// The invocation that started this environment, until its first `/next`.
    pub pending: Option<Invocation>,
    pub current: Option<Current>,
    pub kill: Option<KillReason>,
    pub idle_since: Instant,
}

/// One execution environment.
#[derive(Debug)]
pub struct Environment {
    pub id: u64,
    pub spawned_at: Instant,
    pub timeout: Duration,
    pub platform: Weak<Platform>,
    core: Mutex<Core>,
    /// Wakes the environment's driver when its phase or kill request changes.
    pub changed: Notify,
    pub resources: Mutex<Option<EnvResources>>,
    pub pid: OnceLock<u32>,
    /// Stops its Runtime API server.
    pub stop: CancellationToken,
    /// The platform has decided to end it (it holds no concurrency any more).
    retired: AtomicBool,
    /// Frozen now (changed only with `resources` locked).
    frozen: AtomicBool,
    /// The timer that freezes it after `freeze_after` idle, cancelled when it is used
    /// again first (so a busy environment costs no wake-up for it).
    freeze_timer: Mutex<Option<tokio::task::AbortHandle>>,
}

/// What a runtime's request may not do now: AWS's `InvalidStateTransition`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTransition {
    pub from: &'static str,
    pub to: &'static str,
}

/// Why `/response` or `/error` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerRefused {
    /// Not running an invocation, or it was already answered (403).
    State(BadTransition),
    /// Another invocation's id (400).
    WrongId,
}

/// What a `/next` gets: an event now, or a wait for one.
#[derive(Debug)]
pub enum Next {
    Deliver(Delivery),
    /// Idle: wait on this (and the platform freezes the environment meanwhile).
    Wait(oneshot::Receiver<Delivery>),
}

impl Environment {
    pub fn new(
        id: u64,
        timeout: Duration,
        platform: Weak<Platform>,
        pending: Invocation,
        resources: EnvResources,
    ) -> Self {
        let now = Instant::now();
        Self {
            id,
            spawned_at: now,
            timeout,
            platform,
            core: Mutex::new(Core {
                phase: Phase::Init,
                waiter: None,
                pending: Some(pending),
                current: None,
                kill: None,
                idle_since: now,
            }),
            changed: Notify::new(),
            resources: Mutex::new(Some(resources)),
            pid: OnceLock::new(),
            stop: CancellationToken::new(),
            retired: AtomicBool::new(false),
            frozen: AtomicBool::new(false),
            freeze_timer: Mutex::new(None),
        }
    }

    /// Marks it as being ended (set under the platform's pool lock).
    pub fn mark_retired(&self) {
        self.retired.store(true, Ordering::Relaxed);
    }

    /// Whether the platform has decided to end it.
    pub fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Relaxed)
    }

    pub fn core(&self) -> MutexGuard<'_, Core> {
        self.core.lock().expect("environment lock poisoned")
    }

    /// Runs `f` on the resources, if the environment still has them.
    pub fn with_resources<T>(&self, f: impl FnOnce(&EnvResources) -> T) -> Option<T> {
        let resources = self.resources.lock().expect("resources lock poisoned");
        resources.as_ref().map(f)
    }

    pub fn usage(&self) -> EnvUsage {
        self.with_resources(EnvResources::usage).unwrap_or_default()
    }

    /// AWS's name for the runtime's state, for `InvalidStateTransition` messages.
    fn state_name(core: &Core) -> &'static str {
        match (core.phase, &core.current) {
            (Phase::Init, _) => "Started",
            (Phase::Idle, _) => "Ready",
            (Phase::Busy, Some(c)) if c.reply.is_none() => "RuntimeResponseSentState",
            (Phase::Busy, _) => "Running",
            (Phase::Ended, _) => "Ended",
        }
    }

    /// `/next`: ends the init phase or the invocation phase, then delivers the pending
    /// event or waits for one.
    pub fn next(&self) -> Result<Next, BadTransition> {
        let platform = self.platform.upgrade();
        let recorder = platform.as_ref().map(|p| p.recorder());
        let mut core = self.core();
        let refused = BadTransition {
            from: Self::state_name(&core),
            to: "Ready",
        };
        match core.phase {
            Phase::Init => {
                if let Some(r) = recorder {
                    r.env_initialized(self.id, self.spawned_at.elapsed());
                }
            }
            Phase::Busy => {
                if core.current.as_ref().is_some_and(|c| c.reply.is_some()) {
                    return Err(refused);
                }
                if let (Some(c), Some(r)) = (core.current.take(), recorder) {
                    r.invocation_ended(c.delivered_at.elapsed());
                }
            }
            Phase::Idle | Phase::Ended => return Err(refused),
        }
        if let Some(inv) = core.pending.take() {
            let delivery = self.start(&mut core, inv);
            if let Some(r) = recorder {
                r.invocation_started(self.id, true);
            }
            return Ok(Next::Deliver(delivery));
        }
        let (tx, rx) = oneshot::channel();
        core.phase = Phase::Idle;
        core.idle_since = Instant::now();
        core.waiter = Some(tx);
        if let Some(r) = recorder {
            r.env_idle(self.id);
        }
        drop(core);
        self.changed.notify_one();
        Ok(Next::Wait(rx))
    }

    /// Makes `inv` the current invocation; its delivery.
    fn start(&self, core: &mut Core, inv: Invocation) -> Delivery {
        let now = Instant::now();
        let deadline_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| (d + self.timeout).as_millis() as u64);
        core.phase = Phase::Busy;
        core.current = Some(Current {
            id: inv.id.clone(),
            reply: Some(inv.reply),
            delivered_at: now,
            deadline: now + self.timeout,
        });
        self.changed.notify_one();
        Delivery {
            request_id: inv.id,
            trace_id: inv.trace_id,
            payload: inv.payload,
            deadline_ms,
        }
    }

    /// Thaws this idle environment (if it was frozen) and gives it `inv`; hands `inv` back
    /// when the environment cannot take it (not idle, or its `/next` is gone). Holding the
    /// resources through both, a freeze under way finishes first and a late one sees it
    /// busy.
    pub fn dispatch(&self, inv: Invocation) -> Result<(), Invocation> {
        self.cancel_freeze_timer();
        let resources = self.resources.lock().expect("resources lock poisoned");
        if self.frozen.swap(false, Ordering::Relaxed)
            && let Some(Err(e)) = resources.as_ref().map(EnvResources::thaw)
        {
            tracing::warn!(env = self.id, "thawing: {e}");
        }
        let delivered = self.deliver(inv);
        drop(resources);
        delivered
    }

    /// Cancels the pending freeze timer, if any.
    fn cancel_freeze_timer(&self) {
        let timer = self
            .freeze_timer
            .lock()
            .expect("timer lock poisoned")
            .take();
        if let Some(timer) = timer {
            timer.abort();
        }
    }

    /// Makes `timer` the freeze timer of the idle period that began at `since` (replacing
    /// and cancelling any other), or cancels it when that period is already over.
    pub fn arm_freeze_timer(&self, since: Instant, timer: tokio::task::AbortHandle) {
        let mut slot = self.freeze_timer.lock().expect("timer lock poisoned");
        if self.idle_since() != Some(since) {
            timer.abort();
            return;
        }
        if let Some(old) = slot.replace(timer) {
            old.abort();
        }
    }

    /// When its current idle period began, if it is idle and not asked to end.
    pub fn idle_since(&self) -> Option<Instant> {
        let core = self.core();
        let idle = core.phase == Phase::Idle && core.waiter.is_some() && core.kill.is_none();
        idle.then_some(core.idle_since)
    }

    /// Freezes this environment if it is still in the idle period that began at `since`
    /// and not frozen yet (blocking: run it off the async threads). `Some(Ok(()))` when it
    /// froze it.
    pub fn freeze_if_idle(
        &self,
        since: Instant,
    ) -> Option<Result<(), tgbench_cgroup::CgroupError>> {
        let resources = self.resources.lock().expect("resources lock poisoned");
        let resources = resources.as_ref()?;
        if self.idle_since() != Some(since) || self.frozen.load(Ordering::Relaxed) {
            return None;
        }
        let frozen = resources.freeze();
        self.frozen.store(frozen.is_ok(), Ordering::Relaxed);
        Some(frozen)
    }

    /// Gives `inv` to this idle environment; see [`Environment::dispatch`].
    fn deliver(&self, inv: Invocation) -> Result<(), Invocation> {
        let mut core = self.core();
        if core.phase != Phase::Idle || core.kill.is_some() {
            return Err(inv);
        }
        let Some(waiter) = core.waiter.take() else {
            return Err(inv);
        };
        let delivery = self.start(&mut core, inv);
        match waiter.send(delivery) {
            Ok(()) => {
                if let Some(p) = self.platform.upgrade() {
                    p.recorder().invocation_started(self.id, false);
                }
                Ok(())
            }
            Err(delivery) => {
                // The runtime's `/next` is gone (it died while idle): take the event back.
                let current = core.current.take().expect("just started");
                core.phase = Phase::Idle;
                Err(Invocation {
                    id: delivery.request_id,
                    trace_id: delivery.trace_id,
                    payload: delivery.payload,
                    reply: current.reply.expect("not answered"),
                })
            }
        }
    }

    /// `/response` or `/error` for `request_id`: answers the caller with `outcome`.
    pub fn answer(&self, request_id: &str, outcome: Outcome) -> Result<(), AnswerRefused> {
        let mut core = self.core();
        let name = Self::state_name(&core);
        let to = match outcome {
            Outcome::Error(_) => "InvocationErrorResponse",
            _ => "InvocationResponse",
        };
        let refused = AnswerRefused::State(BadTransition { from: name, to });
        if core.phase != Phase::Busy {
            return Err(refused);
        }
        let Some(current) = core.current.as_mut() else {
            return Err(refused);
        };
        if current.reply.is_none() {
            return Err(refused);
        }
        if current.id != request_id {
            return Err(AnswerRefused::WrongId);
        }
        if let (Outcome::Error(e), Some(p)) = (&outcome, self.platform.upgrade()) {
            p.recorder().invocation_failed(e.kind);
        }
        let reply = current.reply.take().expect("checked above");
        // The caller may have gone (its connection closed): nothing to do then.
        let _ = reply.send(outcome);
        Ok(())
    }

    /// `/init/error`: allowed only during init; the environment is then ended.
    pub fn init_error(&self, error: FunctionError) -> Result<(), BadTransition> {
        let mut core = self.core();
        if core.phase != Phase::Init {
            return Err(BadTransition {
                from: Self::state_name(&core),
                to: "InitError",
            });
        }
        core.kill = Some(KillReason::InitError(error));
        drop(core);
        self.changed.notify_one();
        Ok(())
    }

    /// Asks the driver to end the environment.
    pub fn kill(&self, reason: KillReason) {
        let mut core = self.core();
        if core.kill.is_none() && core.phase != Phase::Ended {
            core.kill = Some(reason);
        }
        drop(core);
        self.changed.notify_one();
    }

    /// The pid of the runtime process.
    pub fn pid(&self) -> Option<u32> {
        self.pid.get().copied()
    }
}
