//! A rolling restart under a steady chat: two instances share a redis-server;
//! each in turn gets SIGTERM (its members are told, closed with 1012, and
//! resume on the other instance) and is started again. Nobody loses or gets
//! twice a single message (every client checks its seqs as it reads), and the
//! peak reconnect rate is reported.

mod common;

use common::*;
use huddle_protocol::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FAST: &[&str] = &["--rate-per-sec", "2000", "--rate-burst", "2000"];

fn is_shutdown_notice(m: &ServerMsg) -> bool {
    matches!(m, ServerMsg::Notice { code, .. } if code == "shutting_down")
}

/// The chats `from` sent, in the order a member received them.
fn texts_from(frames: &[ServerMsg], from: &str) -> Vec<String> {
    events(frames)
        .into_iter()
        .filter_map(|e| match e {
            Event::Chat { message } if message.from == from => Some(message.text.clone()),
            _ => None,
        })
        .collect()
}

/// One person across their connections (a new one after each move).
struct Person {
    conns: Vec<Client>,
}

impl Person {
    fn now(&mut self) -> &mut Client {
        self.conns.last_mut().expect("a connection")
    }

    fn seen(&self) -> Vec<ServerMsg> {
        self.conns.iter().flat_map(|c| c.seen.clone()).collect()
    }

    /// Their instance is going down: read to the notice and the 1012 close,
    /// then resume through `url` as themselves from the last seq they saw.
    async fn move_to(&mut self, url: &str, room: &str, moves: &Mutex<Vec<Instant>>) {
        let old = self.now();
        old.wait_for(20, is_shutdown_notice).await;
        let code = old.expect_close().await;
        assert_eq!(code, Some(1012), "[{}] closed with {code:?}", old.name);
        let (you, last, epoch, name) = (
            old.me.clone().expect("joined"),
            old.last_seq,
            old.epoch.clone(),
            old.name.clone(),
        );
        let mut new = Client::connect_url(url, None)
            .await
            .unwrap_or_else(|e| panic!("[{name}] reconnect: {e}"));
        // While the room moves between instances a resume is answered
        // `unavailable` at once, unheard (the token stays good): retry, as the
        // web client does, with a bounded backoff.
        let mut end = new.resume(room, &name, &you, last, &epoch).await.1;
        for _ in 0..40 {
            if !matches!(
                end,
                ServerMsg::Error {
                    code: ErrorCode::Unavailable,
                    ..
                }
            ) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            end = new.resume(room, &name, &you, last, &epoch).await.1;
        }
        assert!(
            matches!(end, ServerMsg::Resumed { .. }),
            "[{name}] expected to resume, got {end:?}"
        );
        if let Ok(mut m) = moves.lock() {
            m.push(Instant::now());
        }
        self.conns.push(new);
    }
}

/// The most reconnects within any one second.
fn peak_per_sec(at: &[Instant]) -> usize {
    let mut at = at.to_vec();
    at.sort();
    (0..at.len())
        .map(|i| {
            at[i..]
                .iter()
                .take_while(|t| t.duration_since(at[i]) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_restart_each_instance_in_turn_loses_nothing() {
    let redis = Redis::start();
    let url = redis.url();
    let mut args = vec!["--redis-url", url.as_str(), "--shutdown-secs", "3"];
    args.extend_from_slice(FAST);
    let mut a = Server::start_with(&args).await;
    let mut b = Server::start_with(&args).await;
    let room = a.group("Rolling restart").await;
    let rid = room.room_id.clone();
    let moves = Arc::new(Mutex::new(Vec::new()));

    // The talker (the facilitator) starts on B; three listeners on each instance.
    let mut fac = b.client().await;
    fac.join(&rid, "Fac", Some(&room.facilitator_key)).await;
    let fac_id = fac.member_id();
    let (mut on_a, mut on_b) = (Vec::new(), Vec::new());
    for i in 0..6 {
        let (srv, list) = if i % 2 == 0 {
            (&a, &mut on_a)
        } else {
            (&b, &mut on_b)
        };
        let mut c = srv.client().await;
        c.join_ready(&rid, &format!("L{i}")).await;
        list.push(Person { conns: vec![c] });
    }

    // A steady chat: one message every 30 ms. When its own instance goes
    // down, the talker resumes on `next` and sends again whatever the room
    // did not confirm (an echo in the replay counts).
    let n = 200;
    let next = Arc::new(Mutex::new(a.ws_url()));
    let talker = {
        let (next, moves, rid) = (next.clone(), moves.clone(), rid.clone());
        tokio::spawn(async move {
            let mut me = Person { conns: vec![fac] };
            for i in 0..n {
                let text = format!("f{i}");
                loop {
                    let c = me.now();
                    let frame = serde_json::to_string(&ClientMsg::Chat { text: text.clone() })
                        .expect("json");
                    let sent = c.try_send_raw(&frame).await;
                    let mut confirmed = false;
                    let mut refused = false;
                    if sent {
                        loop {
                            match c.next_within(Duration::from_secs(5)).await {
                                Ok(ServerMsg::Event {
                                    event: Event::Chat { message },
                                    ..
                                }) if message.text == text => {
                                    confirmed = true;
                                    break;
                                }
                                // Refused while the room moves: send it again.
                                Ok(ServerMsg::Error {
                                    refused: Some(t), ..
                                }) if t == "chat" => {
                                    refused = true;
                                    break;
                                }
                                Ok(_) => continue,
                                Err(_) => break,
                            }
                        }
                    }
                    if confirmed {
                        break;
                    }
                    if refused {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    // Gone (closed after the shutdown notice): resume elsewhere.
                    let url = next.lock().map(|u| u.clone()).expect("url");
                    let old = me.now();
                    let (you, last, epoch) = (
                        old.me.clone().expect("joined"),
                        old.last_seq,
                        old.epoch.clone(),
                    );
                    let mut new = Client::connect_url(&url, None)
                        .await
                        .unwrap_or_else(|e| panic!("[Fac] reconnect: {e}"));
                    let (replayed, end) = new.resume(&rid, "Fac", &you, last, &epoch).await;
                    assert!(matches!(end, ServerMsg::Resumed { .. }), "[Fac] {end:?}");
                    if let Ok(mut m) = moves.lock() {
                        m.push(Instant::now());
                    }
                    me.conns.push(new);
                    let me_id = you.member_id.clone();
                    if texts_from(&replayed, &me_id).contains(&text) {
                        break; // applied before the switch: never twice
                    }
                }
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            me
        })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;

    // 1. A goes down; its listeners resume on B; A starts again (A').
    let t0 = Instant::now();
    a.terminate();
    for p in on_a.iter_mut() {
        p.move_to(&b.ws_url(), &rid, &moves).await;
    }
    let st = a.wait_exit(Duration::from_secs(8)).await;
    assert!(
        st.is_some_and(|s| s.success()),
        "A's exit: {st:?}\n{}",
        a.logs()
    );
    let a2 = Server::start_with(&args).await;
    if let Ok(mut u) = next.lock() {
        *u = a2.ws_url();
    }
    tokio::time::sleep(Duration::from_millis(800)).await;

    // 2. B goes down; everyone on it (the talker too) resumes on A'; B again.
    b.terminate();
    for p in on_b.iter_mut().chain(on_a.iter_mut()) {
        p.move_to(&a2.ws_url(), &rid, &moves).await;
    }
    let st = b.wait_exit(Duration::from_secs(8)).await;
    assert!(
        st.is_some_and(|s| s.success()),
        "B's exit: {st:?}\n{}",
        b.logs()
    );
    let _b2 = Server::start_with(&args).await;
    let restarted = t0.elapsed();

    let fac = talker.await.expect("the talker");
    let expected: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
    let last = format!("f{}", n - 1);
    let mut everyone: Vec<Person> = on_a.into_iter().chain(on_b).collect();
    for p in everyone.iter_mut() {
        if !texts_from(&p.seen(), &fac_id).contains(&last) {
            p.now()
                .wait_for(20, |m| matches!(m, ServerMsg::Event { event: Event::Chat { message }, .. } if message.text == last))
                .await;
        }
    }
    everyone.push(fac);
    for p in &everyone {
        let got = texts_from(&p.seen(), &fac_id);
        let name = &p.conns[0].name;
        let doubled = got.len() - {
            let mut d = got.clone();
            d.sort();
            d.dedup();
            d.len()
        };
        assert_eq!(doubled, 0, "[{name}] got {doubled} messages twice");
        assert_eq!(got, expected, "[{name}] lost or reordered messages");
    }
    let moves = moves.lock().map(|m| m.clone()).unwrap_or_default();
    eprintln!(
        "rolling restart of 2 instances in {restarted:?}: {} reconnects, peak {} per second; \
         {n} messages, each seen once by all {} people",
        moves.len(),
        peak_per_sec(&moves),
        everyone.len()
    );
    assert_eq!(moves.len(), 3 + 3 + 3 + 1, "every move was a resume");
}
