//! Nobody is alone: a room with no facilitator holds posting, and a request
//! for support there reaches the on-call desk — on one instance, and across
//! instances through a real `redis-server`, even when the room's instance is
//! killed mid-alert.

mod common;

use common::*;
use huddle_protocol::*;
use std::time::Duration;

const KEY: &str = "on-call-test-key";
const FAST: &[&str] = &["--rate-per-sec", "2000", "--rate-burst", "2000"];

/// The events of one kind among what a client read.
fn alerts_seen(c: &Client) -> Vec<OnCallAlert> {
    let mut v: Vec<OnCallAlert> = Vec::new();
    for m in &c.seen {
        match m {
            ServerMsg::Welcome { room, .. } => v.extend(room.alerts.iter().cloned()),
            ServerMsg::Event {
                event: Event::Alert { alert },
                ..
            } => v.push(alert.clone()),
            _ => {}
        }
    }
    v
}

async fn support_update(c: &mut Client, want: SupportState) -> (String, Option<String>) {
    match c
        .wait_for(20, |m| {
            matches!(m, ServerMsg::Event { event: Event::SupportUpdate { state, .. }, .. } if *state == want)
        })
        .await
    {
        ServerMsg::Event {
            event: Event::SupportUpdate { message, by, .. },
            ..
        } => (message, by),
        _ => unreachable!(),
    }
}

async fn on_call(server: &Server, name: &str) -> (Client, Welcome) {
    let mut s = server.client().await;
    let w = s.join(ONCALL_DESK_ID, name, Some(KEY)).await;
    (s, w)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_without_its_facilitator_holds_posts_and_the_desk_answers() {
    let server = Server::start_with(&["--oncall-key", KEY, "--facilitator-grace-secs", "1"]).await;
    let room = server.group("Evening circle").await;
    let mut p = server.client().await;
    let w = p.join_ready(&room.room_id, "Riley").await;
    assert_eq!(w.room.info.status, RoomStatus::AwaitingFacilitator);
    p.send(&ClientMsg::Chat {
        text: "hello?".into(),
    })
    .await;
    p.expect_error(ErrorCode::AwaitingFacilitator).await;
    // Past the grace: everyone is shown where help is.
    p.wait_for(10, |m| {
        matches!(m, ServerMsg::Event { event: Event::RoomUpdated { info }, .. } if info.unattended)
    })
    .await;

    // Nobody on call yet: said plainly, after the crisis resources.
    p.send(&ClientMsg::Distress).await;
    p.wait_for(10, |m| matches!(m, ServerMsg::Crisis { .. }))
        .await;
    let (msg, _) = support_update(&mut p, SupportState::NobodyOnCall).await;
    assert!(msg.contains("crisis lines"), "{msg}");

    // The desk needs the key.
    let mut nosy = server.client().await;
    let r = nosy
        .join_raw(ONCALL_DESK_ID, "Nosy", Some("wrong"), None)
        .await;
    assert!(
        matches!(
            r,
            ServerMsg::Error {
                code: ErrorCode::OnCallOnly,
                ..
            }
        ),
        "{r:?}"
    );
    let mut nosy = server.client().await;
    let r = nosy.join_raw(ONCALL_DESK_ID, "Nosy", None, None).await;
    assert!(matches!(
        r,
        ServerMsg::Error {
            code: ErrorCode::OnCallOnly,
            ..
        }
    ));
    // Nor is the desk a room anyone can look at.
    assert_eq!(server.get("/api/rooms/oncall").await.status, 404);

    // A supporter comes on call: the open alert is there, once.
    let (mut sam, w) = on_call(&server, "Sam").await;
    assert_eq!(w.room.alerts.len(), 1, "{:?}", w.room.alerts);
    let alert = w.room.alerts[0].clone();
    assert!(alert.urgent);
    assert_eq!(
        (alert.name.as_str(), alert.room_title.as_str()),
        ("Riley", "Evening circle")
    );
    let (mut alex, _) = on_call(&server, "Alex").await;

    sam.send(&ClientMsg::AckAlert {
        alert_id: alert.id.clone(),
    })
    .await;
    // The others see who took it; a second answer is refused.
    alex.wait_for(10, |m| {
        matches!(m, ServerMsg::Event { event: Event::Alert { alert }, .. } if alert.acked_by.as_deref() == Some("Sam"))
    })
    .await;
    alex.send(&ClientMsg::AckAlert {
        alert_id: alert.id.clone(),
    })
    .await;
    alex.expect_error(ErrorCode::AlertTaken).await;
    let (msg, by) = support_update(&mut p, SupportState::Seen).await;
    assert_eq!(by.as_deref(), Some("Sam"));
    assert_eq!(msg, "A peer supporter (Sam) has seen your request.");

    // A private room: the supporter gets the key, the person the link.
    sam.send(&ClientMsg::OpenAlertRoom {
        alert_id: alert.id.clone(),
    })
    .await;
    let (key, private) = match sam
        .wait_for(10, |m| {
            matches!(
                m,
                ServerMsg::Event {
                    event: Event::OneOnOne { .. },
                    ..
                }
            )
        })
        .await
    {
        ServerMsg::Event {
            event:
                Event::OneOnOne {
                    facilitator_key: Some(k),
                    room_id,
                    ..
                },
            ..
        } => (k, room_id),
        other => panic!("no key for the supporter: {other:?}"),
    };
    match p
        .wait_for(10, |m| {
            matches!(
                m,
                ServerMsg::Event {
                    event: Event::OneOnOne { .. },
                    ..
                }
            )
        })
        .await
    {
        ServerMsg::Event {
            event:
                Event::OneOnOne {
                    room_id,
                    facilitator_key: None,
                    ..
                },
            ..
        } => assert_eq!(room_id, private),
        other => panic!("the person got {other:?}"),
    }
    // The person waits in it until the supporter arrives; then they talk.
    let mut p2 = server.client().await;
    let w = p2.join_ready(&private, "Riley").await;
    assert_eq!(w.room.info.kind, RoomKind::OneOnOne);
    assert_eq!(w.room.info.status, RoomStatus::AwaitingFacilitator);
    let mut s2 = server.client().await;
    s2.join(&private, "Sam", Some(&key)).await;
    p2.wait_for(10, |m| {
        matches!(m, ServerMsg::Event { event: Event::RoomUpdated { info }, .. } if info.status == RoomStatus::Open)
    })
    .await;
    p2.chat("thank you for coming").await;

    // The person leaves their room: the alert closes at the desk.
    p.send(&ClientMsg::Leave).await;
    alex.wait_for(10, |m| {
        matches!(m, ServerMsg::Event { event: Event::AlertClosed { alert_id, .. }, .. } if *alert_id == alert.id)
    })
    .await;
    let m = server.metrics().await;
    assert!(m["huddle_oncall_alerts_total"] >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_facilitator_present_the_desk_is_not_disturbed() {
    let server = Server::start_with(&["--oncall-key", KEY]).await;
    let (mut sam, _) = on_call(&server, "Sam").await;
    let (_room, mut fac, mut ps) = room_with(&server, 1).await;
    ps[0].send(&ClientMsg::Distress).await;
    fac.wait_for(10, |m| {
        matches!(m, ServerMsg::Event { event: Event::SupportRequested { request }, .. } if request.urgent)
    })
    .await;
    sam.expect_silence(Duration::from_millis(700)).await;
    assert!(alerts_seen(&sam).is_empty());
}

async fn instance(redis: &Redis) -> Server {
    let url = redis.url();
    let mut args = vec!["--redis-url", url.as_str(), "--oncall-key", KEY];
    args.extend_from_slice(FAST);
    Server::start_with(&args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_crosses_instances_and_survives_its_rooms_instance_dying() {
    let redis = Redis::start();
    let mut a = instance(&redis).await;
    let b = instance(&redis).await;
    // The desk runs on B (first joined there); the room on A (created there).
    let (mut sam, _) = on_call(&b, "Sam").await;
    let room = a.group("Night shift debrief").await;

    // A person on A: the alert raised on A reaches the desk on B, and the
    // acknowledgement on B reaches the person on A.
    let mut on_a = a.client().await;
    on_a.join_ready(&room.room_id, "Riley").await;
    on_a.send(&ClientMsg::SupportRequest {
        note: Some("rough shift".into()),
    })
    .await;
    let first = match sam
        .wait_for(20, |m| {
            matches!(
                m,
                ServerMsg::Event {
                    event: Event::Alert { .. },
                    ..
                }
            )
        })
        .await
    {
        ServerMsg::Event {
            event: Event::Alert { alert },
            ..
        } => alert,
        _ => unreachable!(),
    };
    assert_eq!(first.note.as_deref(), Some("rough shift"));
    let (_, supporters) = match on_a
        .wait_for(20, |m| {
            matches!(
                m,
                ServerMsg::Event {
                    event: Event::SupportUpdate {
                        state: SupportState::OnCallNotified,
                        ..
                    },
                    ..
                }
            )
        })
        .await
    {
        ServerMsg::Event {
            event: Event::SupportUpdate { supporters, .. },
            ..
        } => ((), supporters),
        _ => unreachable!(),
    };
    assert_eq!(supporters, Some(1));
    sam.send(&ClientMsg::AckAlert {
        alert_id: first.id.clone(),
    })
    .await;
    support_update(&mut on_a, SupportState::Seen).await;

    // A second person, connected through B, in the same room (hosted on A).
    // Their distress is applied on A; A is killed at once, mid-alert.
    let mut on_b = b.client().await;
    on_b.join_ready(&room.room_id, "Jordan").await;
    on_b.send(&ClientMsg::Distress).await;
    on_b.wait_for(20, |m| {
        matches!(m, ServerMsg::Event { event: Event::SupportRequested { request }, .. } if request.urgent)
    })
    .await;
    a.kill_hard();
    // The room moves to B, and the alert reaches the desk: once.
    let second = match sam
        .wait_for(30, |m| {
            matches!(m, ServerMsg::Event { event: Event::Alert { alert }, .. } if alert.name == "Jordan")
        })
        .await
    {
        ServerMsg::Event {
            event: Event::Alert { alert },
            ..
        } => alert,
        _ => unreachable!(),
    };
    assert!(second.urgent);
    // Let any resend arrive: still one alert for Jordan, and the person heard.
    support_update(&mut on_b, SupportState::OnCallNotified).await;
    sam.collect_for(Duration::from_secs(7)).await;
    let jordans: Vec<OnCallAlert> = alerts_seen(&sam)
        .into_iter()
        .filter(|a| a.name == "Jordan")
        .collect();
    assert_eq!(jordans.len(), 1, "delivered once: {jordans:?}");
    // The desk can answer it, and the person (on B) hears.
    sam.send(&ClientMsg::AckAlert {
        alert_id: second.id.clone(),
    })
    .await;
    support_update(&mut on_b, SupportState::Seen).await;
}
