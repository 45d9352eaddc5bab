//! Redis failures are never silent: with Redis killed mid-session while
//! members chat, each instance counts its failed operations in
//! `huddle_redis_errors_total{op="..."}` and logs them with the room and the
//! operation — and never a message body, a key or a token.

mod common;

use common::*;
use huddle_protocol::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const FAST: &[&str] = &["--rate-per-sec", "2000", "--rate-burst", "2000"];

async fn instance(redis: &Redis) -> Server {
    let url = redis.url();
    let mut args = vec!["--redis-url", url.as_str()];
    args.extend_from_slice(FAST);
    Server::start_with(&args).await
}

/// `huddle_redis_errors_total` by its `op` label.
async fn redis_errors(s: &Server) -> BTreeMap<String, i64> {
    s.metrics()
        .await
        .into_iter()
        .filter_map(|(k, v)| {
            let op = k
                .strip_prefix("huddle_redis_errors_total{op=\"")?
                .strip_suffix("\"}")?;
            Some((op.to_string(), v))
        })
        .collect()
}

/// A warning line about a failed Redis operation `op` in `room` (logs name a
/// room by its tag, never its id: issue 22 G).
fn failure_logged(logs: &str, room: &str, op: &str) -> bool {
    let room = format!("room={} ", huddle_server::room::log_tag(room));
    let op = format!("op={op} ");
    logs.lines().any(|l| {
        l.contains("WARN")
            && l.contains("redis operation failed")
            && l.contains(&room)
            && l.contains(&op)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_failures_are_counted_and_logged_with_room_and_op() {
    let mut redis = Redis::start();
    let a = instance(&redis).await;
    let b = instance(&redis).await;
    let room = a.group("On the record").await;
    let id = room.room_id.clone();
    let mut fac = a.client().await;
    fac.join(&id, "Fac", Some(&room.facilitator_key)).await;
    let mut pb = b.client().await;
    pb.join_ready(&id, "OnB").await;
    fac.chat("before the outage").await;
    pb.recv_event(|e| matches!(e, Event::Chat { message } if message.text == "before the outage"))
        .await;

    // Healthy: every op is rendered, none failed, nothing logged.
    for s in [&a, &b] {
        let errors = redis_errors(s).await;
        for op in [
            "publish",
            "forward",
            "heartbeat",
            "subscribe",
            "renew_lease",
        ] {
            assert_eq!(errors.get(op), Some(&0), "{errors:?}");
        }
        assert!(errors.values().all(|n| *n == 0), "{errors:?}");
        assert!(!s.log_output().contains("redis operation failed"));
    }

    redis.kill();
    // Members keep talking: the facilitator on A, which hosts the room (its
    // batches cannot be published), and the member on B (its chat cannot be
    // forwarded to A).
    let body = "a message body that must never reach the logs";
    fac.chat(body).await;
    pb.send(&ClientMsg::Chat { text: body.into() }).await;

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (ea, eb) = (redis_errors(&a).await, redis_errors(&b).await);
        let (la, lb) = (a.log_output(), b.log_output());
        let counted = ea["publish"] > 0 && eb["forward"] > 0;
        let logged = failure_logged(&la, &id, "publish") && failure_logged(&lb, &id, "forward");
        if counted && logged {
            eprintln!("A counted: {ea:?}\nB counted: {eb:?}");
            for l in la
                .lines()
                .chain(lb.lines())
                .filter(|l| l.contains("redis operation failed"))
            {
                eprintln!("logged: {l}");
            }
            for logs in [&la, &lb] {
                assert!(!logs.contains(body), "a message body was logged:\n{logs}");
                assert!(
                    !logs.contains(&room.facilitator_key),
                    "the facilitator key was logged:\n{logs}"
                );
                assert!(
                    !logs.contains("huddle:room:"),
                    "a Redis key was logged:\n{logs}"
                );
                assert!(
                    !logs.contains(&id),
                    "a room id was logged (logs show its tag):\n{logs}"
                );
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Redis failures not counted and logged within 20 s\n\
             A counted: {ea:?}\nB counted: {eb:?}\nA logs:\n{la}\nB logs:\n{lb}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
