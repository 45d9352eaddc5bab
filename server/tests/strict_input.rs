//! Strict input (issue 15, item 9) against a real server: a field a message
//! does not have is refused with `unknown_field` naming it, on every
//! WebSocket command (field-less ones and nested objects too) and on
//! `POST /api/rooms`; the refused command does nothing, the connection
//! stays usable.

mod common;

use common::*;
use huddle_protocol::*;
use std::time::Duration;

fn refusal(m: &ServerMsg) -> (ErrorCode, String, Option<String>) {
    match m {
        ServerMsg::Error {
            code,
            message,
            refused,
        } => (*code, message.clone(), refused.clone()),
        other => panic!("expected an error frame, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_fields_in_commands_are_refused_and_nothing_happens() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 1).await;
    let p = &mut ps[0];
    let pid = p.member_id();

    // Field-less messages: serde alone would have let these through.
    for (frame, want) in [
        (r#"{"type":"leave","x":1}"#, "unknown field `x` in `leave`"),
        (
            r#"{"type":"distress","note":"x"}"#,
            "unknown field `note` in `distress`",
        ),
        (
            r#"{"type":"raise_hand","queue":"front"}"#,
            "unknown field `queue` in `raise_hand`",
        ),
        (
            r#"{"type":"chat","text":"hi","html":true}"#,
            "unknown field `html` in `chat`",
        ),
    ] {
        p.send_raw(frame).await;
        let m = p.expect_error(ErrorCode::UnknownField).await;
        assert_eq!(refusal(&m).1, want, "{frame}");
    }
    // None of them was applied: still in the room, no hand, no alert, no chat.
    let seen = p.barrier().await;
    assert!(events(&seen).is_empty(), "{seen:?}");
    let seen = fac.barrier().await;
    assert!(
        !events(&seen).iter().any(|e| matches!(
            e,
            Event::MemberLeft { .. }
                | Event::Hands { .. }
                | Event::SupportRequested { .. }
                | Event::Chat { .. }
        )),
        "a refused command must do nothing: {seen:?}"
    );
    // The facilitator's field-less commands too.
    fac.send_raw(r#"{"type":"rotate_key","key":"mine"}"#).await;
    let m = fac.expect_error(ErrorCode::UnknownField).await;
    assert_eq!(refusal(&m).1, "unknown field `key` in `rotate_key`");
    fac.send_raw(r#"{"type":"airtime","all":true}"#).await;
    fac.expect_error(ErrorCode::UnknownField).await;
    // The bare forms work, and the connection is fine.
    p.send_raw(r#"{"type":"raise_hand"}"#).await;
    fac.recv_event(|e| matches!(e, Event::Hands { queue } if queue == &vec![pid.clone()]))
        .await;
    p.chat("still here").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_fields_before_joining_and_in_nested_objects_are_refused() {
    let server = Server::start().await;
    let room = server.group("Strict").await;
    let mut c = server.client().await;
    // Decoded before anything else: the field is named even before a join.
    c.send_raw(r#"{"type":"leave","why":"bye"}"#).await;
    let m = c.expect_error(ErrorCode::UnknownField).await;
    assert_eq!(refusal(&m).1, "unknown field `why` in `leave`");
    // A nested object (resume) is checked too.
    let frame = format!(
        r#"{{"type":"join","v":1,"room_id":"{}","name":"Sam","resume":{{"member_id":"m","token":"t","last_seq":0,"epoch":"e","role":"facilitator"}}}}"#,
        room.room_id
    );
    c.send_raw(&frame).await;
    let m = c.expect_error(ErrorCode::UnknownField).await;
    assert_eq!(refusal(&m).1, "unknown field `role` in `join.resume`");
    // And at the top of a join.
    let frame = format!(
        r#"{{"type":"join","v":1,"room_id":"{}","name":"Sam","role":"facilitator"}}"#,
        room.room_id
    );
    c.send_raw(&frame).await;
    let m = c.expect_error(ErrorCode::UnknownField).await;
    assert_eq!(refusal(&m).1, "unknown field `role` in `join`");
    // A device id that is not one: refused, naming the rule.
    let frame = format!(
        r#"{{"type":"join","v":1,"room_id":"{}","name":"Sam","device_id":"not a device id"}}"#,
        room.room_id
    );
    c.send_raw(&frame).await;
    let (code, message, refused) = refusal(&c.recv().await);
    assert_eq!(
        (code, refused.as_deref()),
        (ErrorCode::Invalid, Some("join"))
    );
    assert!(message.contains("device_id"), "{message}");
    // The same connection may then join properly.
    let w = welcome_of(c.join_raw(&room.room_id, "Sam", None, None).await);
    assert_eq!(w.you.role, Role::Participant);
    c.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_creation_refuses_unknown_fields_with_our_error_body() {
    let server = Server::start().await;
    let r = server
        .post_json("/api/rooms", r#"{"title":"Debrief","colour":"red"}"#)
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let body: serde_json::Value = r.json();
    assert_eq!(
        body,
        serde_json::json!({
            "code": "unknown_field",
            "message": "unknown field `colour` in the request body"
        })
    );
    // A misspelt setting is not silently dropped (the room would be open to all).
    let r = server
        .post_json("/api/rooms", r#"{"title":"Debrief","waitingroom":true}"#)
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json::<serde_json::Value>()["code"], "unknown_field");
    // A client-chosen name is shown short, without control characters.
    let long = format!(r#"{{"title":"T","{}\u0007":1}}"#, "z".repeat(200));
    let r = server.post_json("/api/rooms", &long).await;
    assert_eq!(r.status, 400);
    let msg = r.json::<serde_json::Value>()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        msg,
        format!("unknown field `{}…` in the request body", "z".repeat(40))
    );
    // Other bad bodies keep their code; a good one still creates.
    let r = server.post_json("/api/rooms", r#"{"title":5}"#).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json::<serde_json::Value>()["code"], "bad_message");
    let r = server
        .post_json("/api/rooms", r#"{"title":"Debrief","waiting_room":true}"#)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}
