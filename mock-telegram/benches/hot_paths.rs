//! Hot paths of the mock, measured with criterion: the update queue (push, confirm, batch),
//! building and encoding an update on injection, and decoding a form-encoded call.
//!
//! `cargo bench -p mock-telegram --bench hot_paths`

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, black_box, criterion_group, criterion_main};
use mock_telegram::params::Params;
use mock_telegram::queue::{Pending, UpdateKind, UpdateQueue, envelope_batch};
use mock_telegram::{Mock, MockConfig, NewUpdate};

fn pending(id: i64) -> Pending {
    Pending {
        update_id: id,
        chat_id: id % 50,
        kind: UpdateKind::Message,
        json: Bytes::from(format!(
            r#"{{"update_id":{id},"message":{{"message_id":1,"from":{{"id":5,"is_bot":false,"first_name":"U"}},"chat":{{"id":5,"type":"private"}},"date":1700000000,"text":"hello"}}}}"#
        )),
        handed: 0,
        in_flight: false,
        failures: 0,
        expires_at: std::time::Instant::now() + std::time::Duration::from_secs(86_400),
    }
}

fn queue_ops(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue");
    g.throughput(Throughput::Elements(100));
    g.bench_function("push 100", |b| {
        b.iter_batched(
            || {
                (
                    UpdateQueue::default(),
                    (1..=100).map(pending).collect::<Vec<_>>(),
                )
            },
            |(mut q, items)| {
                for p in items {
                    q.push(p, 100_000);
                }
                q
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("take_batch 100 + envelope", |b| {
        let mut q = UpdateQueue::default();
        for i in 1..=100 {
            q.push(pending(i), 100_000);
        }
        let mut items = Vec::with_capacity(32 << 10);
        b.iter(|| {
            items.clear();
            q.take_batch(100, &mut items);
            black_box(envelope_batch(&items))
        })
    });
    g.bench_function("confirm 100", |b| {
        b.iter_batched(
            || {
                let mut q = UpdateQueue::default();
                for i in 1..=200 {
                    q.push(pending(i), 100_000);
                }
                q
            },
            |mut q| {
                black_box(q.confirm(101));
                q
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn inject(c: &mut Criterion) {
    let mut g = c.benchmark_group("inject");
    g.throughput(Throughput::Elements(1));
    let mock = Mock::new(MockConfig {
        bots: 100,
        max_pending_per_bot: 1_000,
        ..MockConfig::default()
    });
    let bots: Vec<i64> = mock.bots().iter().map(|b| b.id).collect();
    let mut i = 0usize;
    g.bench_function("build + encode + queue one message update", |b| {
        b.iter(|| {
            i += 1;
            let bot = bots[i % bots.len()];
            black_box(
                mock.inject(NewUpdate::message(
                    bot,
                    1 + (i % 1000) as i64,
                    "hello there",
                ))
                .unwrap(),
            )
        })
    });
    g.finish();
}

fn params(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let form = Bytes::from_static(
        b"chat_id=12345&text=hello%20world&reply_parameters=%7B%22message_id%22%3A7%7D&allowed_updates=%5B%22message%22%5D",
    );
    let json = Bytes::from_static(
        br#"{"offset":123,"limit":100,"timeout":30,"allowed_updates":["message"]}"#,
    );
    let mut g = c.benchmark_group("params");
    g.bench_function("form with JSON fields", |b| {
        b.iter(|| {
            let p = rt
                .block_on(Params::parse(
                    None,
                    Some("application/x-www-form-urlencoded"),
                    form.clone(),
                ))
                .unwrap();
            black_box((
                p.chat_id().unwrap(),
                p.json("reply_parameters", "reply parameters").unwrap(),
            ))
        })
    });
    g.bench_function("getUpdates JSON body", |b| {
        b.iter(|| {
            let p = rt
                .block_on(Params::parse(None, Some("application/json"), json.clone()))
                .unwrap();
            black_box((p.i64("offset").unwrap(), p.allowed_updates().unwrap()))
        })
    });
    g.finish();
}

criterion_group!(benches, queue_ops, inject, params);
criterion_main!(benches);
