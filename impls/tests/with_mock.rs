//! The three servers against mock-telegram over real HTTP (the mock in-process on its own
//! socket): 1,000 bots, one message each, exactly 1,000 replies; clean stops that finish
//! in-flight updates and confirm offsets; TLS delivery; and the binaries' signal handling.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use mock_telegram::{Mock, MockConfig, MockServer, NewUpdate, Stats};
use tgbench_impls::{
    client::{Attempts, GetUpdates},
    hybrid::{self, HybridOpts},
    platform::{Platform, PlatformOpts},
    polling::{self, Handle, PollingOpts},
    token::BotToken,
    webhook::{self, WebhookOpts},
};
use tokio::net::TcpListener;

use crate::support::{fast_platform_opts, sigterm_and_wait, spawn_until_ready};

pub(crate) struct Telegram {
    pub server: MockServer,
    pub tokens: Vec<BotToken>,
}

impl Telegram {
    pub(crate) async fn start(bots: usize) -> Self {
        let mock = Mock::new(MockConfig {
            bots,
            ..MockConfig::default()
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = MockServer::start(mock.clone(), listener);
        let tokens = mock
            .bots()
            .iter()
            .map(|b| BotToken::parse(&b.token).unwrap())
            .collect();
        Self { server, tokens }
    }

    /// Every bot's token, one a line, in `<dir>/tokens.txt` (the SUT contract's file).
    pub(crate) fn tokens_file(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("tokens.txt");
        let text: String = self
            .tokens
            .iter()
            .map(|t| format!("{}\n", t.expose()))
            .collect();
        std::fs::write(&path, text).unwrap();
        path
    }

    pub(crate) fn mock(&self) -> &Arc<Mock> {
        self.server.mock()
    }

    pub(crate) fn platform(&self, opts: &PlatformOpts) -> Arc<Platform> {
        Platform::new(&self.server.base_url(), self.tokens.clone(), opts).unwrap()
    }

    /// webhook-bot for every bot, in-process on 127.0.0.1:0.
    async fn webhook(&self, platform: &PlatformOpts, opts: WebhookOpts) -> webhook::Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = webhook::start(
            self.platform(platform),
            listener,
            None,
            self.tokens.clone(),
            &opts,
        )
        .await
        .unwrap();
        assert!(server.failed().is_empty(), "{:?}", server.failed().first());
        server
    }

    /// One message to every bot, each from its own chat: bot i gets "msg i" from chat 10_000 + i.
    pub(crate) fn message_every_bot(&self) {
        for (i, t) in self.tokens.iter().enumerate() {
            self.mock()
                .inject(NewUpdate::message(
                    t.id(),
                    10_000 + i as i64,
                    format!("msg {i}"),
                ))
                .unwrap();
        }
    }

    pub(crate) async fn until(
        &self,
        what: &str,
        within: Duration,
        done: impl Fn(&Stats) -> bool,
    ) -> Stats {
        let deadline = Instant::now() + within;
        loop {
            let s = self.mock().stats();
            if done(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{what} not reached within {within:?}: {:?}",
                s.updates
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) async fn until_polling(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.mock().readiness().polling < n {
            assert!(
                Instant::now() < deadline,
                "only {:?} polling",
                self.mock().readiness()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every bot got exactly one reply, the echo of its message, replying to it.
    pub(crate) fn assert_each_bot_echoed_once(&self) {
        let s = self.mock().stats();
        let n = self.tokens.len() as u64;
        assert_eq!(
            (s.updates.injected, s.updates.replied, s.updates.duplicated),
            (n, n, 0),
            "{:?}",
            s.updates
        );
        assert_eq!(
            s.requests.get("sendMessage").copied(),
            Some(n),
            "{:?}",
            s.requests
        );
        for (i, t) in self.tokens.iter().enumerate() {
            let sent = self.mock().sent(t.id());
            assert_eq!(sent.len(), 1, "bot {}", t.id());
            assert_eq!(
                (sent[0].chat_id, sent[0].text.as_str()),
                (10_000 + i as i64, format!("msg {i}").as_str())
            );
            assert!(sent[0].update_id.is_some(), "the reply closed its update");
        }
    }

    /// A fresh getUpdates(offset 0) of every bot finds nothing: all offsets were confirmed.
    async fn assert_nothing_pending(&self) {
        assert_eq!(self.mock().stats().updates.pending, 0);
        let platform = self.platform(&fast_platform_opts());
        let allowed = platform.allowed_updates.clone();
        let params = GetUpdates {
            offset: 0,
            limit: 100,
            timeout: 0,
            allowed_updates: &allowed,
        };
        let left: Vec<_> = futures::future::join_all(self.tokens.iter().map(|t| {
            let platform = &platform;
            let params = &params;
            async move {
                platform
                    .api
                    .get_updates(t, params, Attempts::AtMost(3))
                    .await
                    .unwrap()
                    .len()
            }
        }))
        .await;
        assert_eq!(left.iter().sum::<usize>(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_1000_bots_one_message_each_exactly_1000_replies() {
    let tg = Telegram::start(1000).await;
    // An LRU of 100 instances: every bot is loaded once, 900 are evicted on the way.
    let opts = PlatformOpts {
        max_loaded: std::num::NonZeroUsize::new(100).unwrap(),
        ..fast_platform_opts()
    };
    let platform = tg.platform(&opts);
    let p = polling::start(platform.clone(), tg.tokens.clone(), &PollingOpts::default()).await;
    assert_eq!(p.bots(), 1000);
    tg.until_polling(1000).await;
    tg.message_every_bot();
    tg.until("1000 replies", Duration::from_secs(30), |s| {
        s.updates.replied >= 1000
    })
    .await;
    let report = p.stop().await;
    assert_eq!((report.refused, report.final_confirm_failures), (0, 0));
    tg.assert_each_bot_echoed_once();
    tg.assert_nothing_pending().await;
    let snap = platform.snapshot();
    assert_eq!(
        (
            snap.updates_handled,
            snap.replies_sent,
            snap.duplicates_skipped
        ),
        (1000, 1000, 0)
    );
    assert_eq!((snap.loads, snap.evictions, snap.loaded), (1000, 900, 100));
    tg.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_1000_bots_one_message_each_exactly_1000_replies() {
    let tg = Telegram::start(1000).await;
    let server = tg
        .webhook(&fast_platform_opts(), WebhookOpts::default())
        .await;
    assert_eq!(tg.mock().readiness().webhooks_set, 1000);
    tg.message_every_bot();
    tg.until("1000 replies", Duration::from_secs(30), |s| {
        s.updates.replied >= 1000
    })
    .await;
    let h = server.stop().await;
    assert_eq!(
        (h.webhook.accepted, h.platform.replies_sent, h.webhooks_set),
        (1000, 1000, 1000)
    );
    tg.assert_each_bot_echoed_once();
    let s = tg.mock().stats();
    assert_eq!(
        (s.webhook.ok, s.webhook.failed, s.updates.redelivered),
        (1000, 0, 0)
    );
    tg.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_1000_bots_half_webhook_half_polling_exactly_1000_replies() {
    let tg = Telegram::start(1000).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = hybrid::start(
        tg.platform(&fast_platform_opts()),
        listener,
        None,
        &HybridOpts { webhook_share: 0.5 },
        &WebhookOpts::default(),
        &PollingOpts::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            server.webhook_bots(),
            server.polling_bots(),
            server.fallback_bots()
        ),
        (500, 500, 0)
    );
    tg.until_polling(500).await;
    assert_eq!(tg.mock().readiness().webhooks_set, 500);
    tg.message_every_bot();
    tg.until("1000 replies", Duration::from_secs(30), |s| {
        s.updates.replied >= 1000
    })
    .await;
    let report = server.stop().await;
    assert_eq!(report.polling.final_confirm_failures, 0);
    tg.assert_each_bot_echoed_once();
    let s = tg.mock().stats();
    assert_eq!(s.webhook.ok, 500, "half by webhook");
    assert_eq!(s.updates.pending, 0);
    tg.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_reply_in_response_and_callbacks() {
    let tg = Telegram::start(50).await;
    let opts = WebhookOpts {
        reply_in_response: true,
        ..WebhookOpts::default()
    };
    let server = tg.webhook(&fast_platform_opts(), opts).await;
    tg.message_every_bot();
    tg.until("50 replies", Duration::from_secs(20), |s| {
        s.updates.replied >= 50 && s.webhook.method_in_response >= 50
    })
    .await;
    let s = tg.mock().stats();
    assert_eq!(s.webhook.method_in_response, 50);
    tg.assert_each_bot_echoed_once();
    // A callback query is answered (in the response body too).
    let bot = tg.tokens[0].id();
    tg.mock()
        .inject(NewUpdate::callback(bot, 77, "yes"))
        .unwrap();
    tg.until("the callback answered", Duration::from_secs(10), |s| {
        s.updates.replied >= 51
    })
    .await;
    assert_eq!(
        tg.mock().sent(bot).last().unwrap().method,
        "answerCallbackQuery"
    );
    let h = server.stop().await;
    assert_eq!(h.webhook.replies_in_response, 51);
    assert_eq!(
        h.platform.api_requests, 50,
        "only the setWebhook calls: no separate replies"
    );
    tg.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_over_tls_with_the_uploaded_self_signed_certificate() {
    let tg = Telegram::start(20).await;
    let opts = WebhookOpts {
        tls: true,
        ..WebhookOpts::default()
    };
    let server = tg.webhook(&fast_platform_opts(), opts).await;
    assert!(server.public_url().starts_with("https://"));
    tg.message_every_bot();
    tg.until("20 replies", Duration::from_secs(20), |s| {
        s.updates.replied >= 20
    })
    .await;
    tg.assert_each_bot_echoed_once();
    server.stop().await;
    tg.server.shutdown().await;
}

/// Stop while every update is mid-handler (io 400 ms): all finish, all replies go out,
/// offsets are confirmed, and a second run handles nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_stop_finishes_in_flight_updates_and_confirms_offsets() {
    let tg = Telegram::start(200).await;
    let opts = PlatformOpts {
        io_ms: 400,
        ..fast_platform_opts()
    };
    for handle in [Handle::Sequential, Handle::Concurrent] {
        tg.mock().reset();
        let popts = PollingOpts {
            handle,
            ..PollingOpts::default()
        };
        let platform = tg.platform(&opts);
        let p = polling::start(platform.clone(), tg.tokens.clone(), &popts).await;
        tg.until_polling(200).await;
        tg.message_every_bot();
        // Wait until every update is inside a handler (an answer still in transit at stop
        // would be dropped unconfirmed and delivered again next start: not lost, but not
        // what this test is about).
        tg.until("all received", Duration::from_secs(20), |_| {
            platform.snapshot().updates_received >= 200
        })
        .await;
        let s = tg.mock().stats();
        assert!(
            s.updates.replied < 200,
            "stopping mid-handler ({handle:?}): {:?}",
            s.updates
        );
        let report = p.stop().await;
        assert_eq!(
            (report.final_confirms, report.final_confirm_failures),
            (200, 0),
            "{handle:?}"
        );
        tg.assert_each_bot_echoed_once();
        tg.assert_nothing_pending().await;

        // Start again: nothing is handled twice.
        let again = tg.platform(&fast_platform_opts());
        let p = polling::start(again.clone(), tg.tokens.clone(), &PollingOpts::default()).await;
        tg.until_polling(200).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        p.stop().await;
        assert_eq!(again.snapshot().updates_handled, 0, "{handle:?}");
        assert_eq!(tg.mock().stats().updates.duplicated, 0);
    }
    tg.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_stop_finishes_in_flight_updates() {
    let tg = Telegram::start(100).await;
    for ack in [webhook::Ack::After, webhook::Ack::Before] {
        tg.mock().reset();
        let opts = PlatformOpts {
            io_ms: 400,
            ..fast_platform_opts()
        };
        let server = tg
            .webhook(
                &opts,
                WebhookOpts {
                    ack,
                    ..WebhookOpts::default()
                },
            )
            .await;
        tg.message_every_bot();
        tg.until("all received", Duration::from_secs(20), |_| {
            server.state().health().webhook.accepted >= 100
        })
        .await;
        assert!(
            tg.mock().stats().updates.replied < 100,
            "stopping mid-handler"
        );
        let h = server.stop().await;
        assert_eq!(h.platform.replies_sent, 100, "{ack:?}");
        tg.assert_each_bot_echoed_once();
    }
    tg.server.shutdown().await;
}

/// Where a subprocess is the point: the real binary prints its ready line, and SIGTERM
/// stops it cleanly (exit 0, replies sent, offsets confirmed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_bot_binary_prints_ready_and_stops_cleanly_on_sigterm() {
    let tg = Telegram::start(20).await;
    let dir = tempfile::tempdir().unwrap();
    let tokens_file = tg.tokens_file(dir.path());
    // Each handler takes 2 s, so the signal below comes while they run.
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_polling-bot"));
    command
        .args(["--io-ms", "2000"])
        .env("TGBENCH_API_URL", tg.server.base_url())
        .env("TGBENCH_TOKENS_FILE", &tokens_file);
    let (child, line) = spawn_until_ready(command).await;
    assert_eq!(line, "polling-bot: 20 bots polling");
    tg.until_polling(20).await;
    tg.message_every_bot();
    // Let the binary get its updates into handlers (2 s each), then stop it mid-handler.
    tg.until("all delivered", Duration::from_secs(20), |s| {
        s.updates.delivered >= 20
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = tg.mock().stats();
    assert!(
        s.updates.replied < 20,
        "stopping mid-handler: {:?}",
        s.updates
    );
    let out = sigterm_and_wait(child).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(
        stderr.contains("polling-bot: stopped; 20 updates handled, 20 replies sent"),
        "{stderr}"
    );
    tg.assert_each_bot_echoed_once();
    tg.assert_nothing_pending().await;
    tg.server.shutdown().await;
}
