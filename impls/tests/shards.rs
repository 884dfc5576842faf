//! Sharded fleets (`--shard i/N`) against mock-telegram over real HTTP: polling shards poll
//! only their share and together answer every bot once; webhook shards answer updates of
//! bots they do not own (no sticky routing); two `webhook-bot` processes share one port.

use std::time::Duration;

use tgbench_impls::{
    platform::PlatformOpts,
    polling::{self, PollingOpts},
    shard::Shard,
    webhook::{self, WebhookOpts},
};
use tokio::net::TcpListener;

use crate::support::{fast_platform_opts, sigterm_and_wait, spawn_until_ready};
use crate::with_mock::Telegram;

fn sharded(index: u32, count: u32) -> PlatformOpts {
    PlatformOpts {
        shard: Some(Shard { index, count }),
        ..fast_platform_opts()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_shards_poll_only_their_share_and_together_answer_every_bot_once() {
    let tg = Telegram::start(300).await;
    let mut fleet = Vec::new();
    for i in 0..3 {
        let platform = tg.platform(&sharded(i, 3));
        let owned = platform.owned_tokens();
        assert!(owned.iter().all(|t| t.id().rem_euclid(3) == i64::from(i)));
        let p = polling::start(platform.clone(), owned.clone(), &PollingOpts::default()).await;
        assert_eq!(p.bots(), owned.len());
        fleet.push((platform, owned, p));
    }
    let shares: Vec<usize> = fleet.iter().map(|f| f.1.len()).collect();
    assert_eq!(shares.iter().sum::<usize>(), 300, "{shares:?}");
    assert!(shares.iter().all(|&n| n > 0), "{shares:?}");
    tg.until_polling(300).await;
    tg.message_every_bot();
    tg.until("300 replies", Duration::from_secs(30), |s| {
        s.updates.replied >= 300
    })
    .await;
    for (platform, owned, p) in fleet {
        let report = p.stop().await;
        assert_eq!(report.refused, 0, "no 409: no two shards polled one bot");
        let snap = platform.snapshot();
        assert_eq!(
            (snap.updates_handled, snap.replies_sent),
            (owned.len() as u64, owned.len() as u64)
        );
    }
    tg.assert_each_bot_echoed_once();
    tg.server.shutdown().await;
}

/// Each shard registers its own bots with the OTHER shard's address, so every update
/// reaches the replica that does not own its bot: it must still be answered, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_shards_answer_updates_of_bots_they_do_not_own() {
    let tg = Telegram::start(200).await;
    let a = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (url_a, url_b) = (
        format!("http://{}", a.local_addr().unwrap()),
        format!("http://{}", b.local_addr().unwrap()),
    );
    let opts = WebhookOpts::default();
    let p0 = tg.platform(&sharded(0, 2));
    let p1 = tg.platform(&sharded(1, 2));
    let (owned0, owned1) = (p0.owned_tokens().len(), p1.owned_tokens().len());
    assert_eq!(owned0 + owned1, 200);
    let s0 = webhook::start(p0, a, Some(url_b), tg.tokens.clone(), &opts)
        .await
        .unwrap();
    let s1 = webhook::start(p1, b, Some(url_a), tg.tokens.clone(), &opts)
        .await
        .unwrap();
    assert!(s0.failed().is_empty() && s1.failed().is_empty());
    assert_eq!(tg.mock().readiness().webhooks_set, 200);
    tg.message_every_bot();
    tg.until("200 replies", Duration::from_secs(30), |s| {
        s.updates.replied >= 200
    })
    .await;
    let (h0, h1) = (s0.stop().await, s1.stop().await);
    assert_eq!(h0.webhooks_set, owned0);
    assert_eq!(h1.webhooks_set, owned1);
    // Shard 0 received (and answered) exactly the updates of shard 1's bots, and back.
    assert_eq!(
        (h0.webhook.accepted, h0.platform.replies_sent),
        (owned1 as u64, owned1 as u64)
    );
    assert_eq!(
        (h1.webhook.accepted, h1.platform.replies_sent),
        (owned0 as u64, owned0 as u64)
    );
    assert_eq!(h0.webhook.bad_secret + h1.webhook.bad_secret, 0);
    tg.assert_each_bot_echoed_once();
    tg.server.shutdown().await;
}

/// Two `webhook-bot` processes, shards 0/2 and 1/2 from `TGBENCH_SHARD`, bind the same
/// `TGBENCH_LISTEN` (SO_REUSEPORT): both start, together set every webhook, and every
/// message is answered once whichever process the kernel hands its connection to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_webhook_bot_processes_share_one_port() {
    let tg = Telegram::start(40).await;
    let dir = tempfile::tempdir().unwrap();
    let tokens_file = tg.tokens_file(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut children = Vec::new();
    for i in 0..2 {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_webhook-bot"));
        command
            .env("TGBENCH_API_URL", tg.server.base_url())
            .env("TGBENCH_TOKENS_FILE", &tokens_file)
            .env("TGBENCH_LISTEN", port.to_string())
            .env("TGBENCH_SHARD", format!("{i}/2"));
        let (child, line) = spawn_until_ready(command).await;
        assert!(
            line.starts_with("webhook-bot: ")
                && line.ends_with(&format!("(listening on {port}) (shard {i}/2 of 40 bots)")),
            "{line}"
        );
        children.push(child);
    }
    assert_eq!(tg.mock().readiness().webhooks_set, 40);
    tg.message_every_bot();
    tg.until("40 replies", Duration::from_secs(30), |s| {
        s.updates.replied >= 40
    })
    .await;
    let mut requests = 0;
    for child in children {
        let out = sigterm_and_wait(child).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
        let n: u64 = stderr
            .split("stopped; ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no request count in {stderr}"));
        requests += n;
    }
    assert_eq!(
        requests, 40,
        "every delivery reached one of the two processes"
    );
    tg.assert_each_bot_echoed_once();
    tg.server.shutdown().await;
}
