//! Calls: the setting, joining and leaving, media state, the signal relay,
//! the facilitators' media controls, and what removal and resume do to them.

use super::*;
use serde_json::json;

fn set_call(fx: &mut Fx, mode: CallMode) -> Vec<Out> {
    fx.ok("f", ClientMsg::SetCall { mode })
}

fn join_call(fx: &mut Fx, conn: &str, mic: bool, camera: bool) -> Vec<Out> {
    fx.ok(conn, ClientMsg::JoinCall { mic, camera })
}

fn offer() -> serde_json::Value {
    json!({"description": {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}})
}

fn signal(to: &str, data: serde_json::Value) -> ClientMsg {
    ClientMsg::Signal {
        to: to.into(),
        data,
    }
}

fn media(mic: bool, camera: bool) -> MediaState {
    MediaState {
        mic,
        camera,
        speaking: false,
    }
}

fn call_ids(fx: &Fx) -> Vec<String> {
    fx.snapshot("f")
        .call
        .into_iter()
        .map(|p| p.member_id)
        .collect()
}

fn left_of(out: &[Out]) -> (String, CallLeftReason) {
    let (aud, _, Event::CallLeft { member_id, reason }) = one(out, "call_left") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    (member_id.clone(), *reason)
}

fn media_of(out: &[Out]) -> Vec<(String, MediaState, Option<String>)> {
    all_of(out, "media_state")
        .into_iter()
        .map(|(aud, _, e)| {
            assert_eq!(aud, &Audience::All);
            let Event::MediaState {
                member_id,
                media,
                by,
            } = e
            else {
                unreachable!()
            };
            (member_id.clone(), *media, by.clone())
        })
        .collect()
}

/// A video call with the facilitator, c1 and c2 in it.
fn in_call() -> Fx {
    let mut fx = Fx::new();
    set_call(&mut fx, CallMode::Video);
    join_call(&mut fx, "f", true, true);
    join_call(&mut fx, "c1", true, true);
    join_call(&mut fx, "c2", true, false);
    fx
}

#[test]
fn the_call_setting_is_live_and_in_the_room_info() {
    let mut fx = Fx::new();
    assert_eq!(fx.room.info().call, CallMode::Off);
    // Off is the default and left out of the JSON (v1 clients see no change).
    let json = serde_json::to_value(fx.room.info()).unwrap();
    assert!(json.get("call").is_none());
    assert_eq!(
        info_of(&set_call(&mut fx, CallMode::Audio)).call,
        CallMode::Audio
    );
    assert_eq!(fx.snapshot("c1").info.call, CallMode::Audio);
    // Setting the same mode again says nothing.
    assert!(set_call(&mut fx, CallMode::Audio).is_empty());
    fx.refuse(
        "c1",
        ClientMsg::SetCall {
            mode: CallMode::Video,
        },
        ErrorCode::Forbidden,
    );
}

#[test]
fn joining_the_call() {
    let mut fx = Fx::new();
    fx.refuse(
        "c1",
        ClientMsg::JoinCall {
            mic: false,
            camera: false,
        },
        ErrorCode::CallOff,
    );
    set_call(&mut fx, CallMode::Video);
    let out = join_call(&mut fx, "c1", false, false);
    let (
        aud,
        _,
        Event::CallJoined {
            member_id,
            media: m,
        },
    ) = one(&out, "call_joined")
    else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!(member_id, &fx.id("c1"));
    // Both off unless chosen.
    assert_eq!(*m, media(false, false));
    assert_eq!(call_ids(&fx), vec![fx.id("c1")]);
    // Joining again starts afresh: the others are told again (they renegotiate).
    let out = join_call(&mut fx, "c1", true, true);
    one(&out, "call_joined");
    assert_eq!(call_ids(&fx), vec![fx.id("c1")]);
    assert_eq!(fx.snapshot("c2").call[0].media, media(true, true));
    // A newcomer who has not accepted the rules may not join the call yet.
    fx.add("c3", "Three");
    fx.refuse(
        "c3",
        ClientMsg::JoinCall {
            mic: true,
            camera: false,
        },
        ErrorCode::RulesNotAccepted,
    );
}

#[test]
fn audio_only_calls_refuse_cameras() {
    let mut fx = Fx::new();
    set_call(&mut fx, CallMode::Audio);
    fx.refuse(
        "c1",
        ClientMsg::JoinCall {
            mic: true,
            camera: true,
        },
        ErrorCode::CallOff,
    );
    join_call(&mut fx, "c1", true, false);
    fx.refuse(
        "c1",
        ClientMsg::MediaState {
            mic: true,
            camera: true,
            speaking: false,
        },
        ErrorCode::CallOff,
    );
}

#[test]
fn video_and_call_size_limits_say_so_clearly() {
    let limits = Limits {
        max_call_peers: 3,
        max_video_peers: 2,
        ..Limits::default()
    };
    let mut fx = Fx::with(group(), limits, &["c1", "c2", "c3"]);
    set_call(&mut fx, CallMode::Video);
    join_call(&mut fx, "f", true, true);
    join_call(&mut fx, "c1", true, true);
    // A third camera: refused, with words the client can show.
    let r = fx.cmd(
        "c2",
        ClientMsg::JoinCall {
            mic: true,
            camera: true,
        },
    );
    let e = r.unwrap_err();
    assert_eq!(e.code(), ErrorCode::CallFull);
    assert!(e.to_string().contains("video is limited to 2"), "{e}");
    assert!(fx.out().is_empty());
    // Audio only is fine, and so is a camera once another goes off.
    join_call(&mut fx, "c2", true, false);
    fx.refuse(
        "c2",
        ClientMsg::MediaState {
            mic: true,
            camera: true,
            speaking: false,
        },
        ErrorCode::CallFull,
    );
    fx.ok(
        "c1",
        ClientMsg::MediaState {
            mic: true,
            camera: false,
            speaking: false,
        },
    );
    fx.ok(
        "c2",
        ClientMsg::MediaState {
            mic: true,
            camera: true,
            speaking: false,
        },
    );
    // The call itself is full at three.
    let e = fx
        .cmd(
            "c3",
            ClientMsg::JoinCall {
                mic: false,
                camera: false,
            },
        )
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::CallFull);
    assert!(e.to_string().contains("3 people"), "{e}");
}

#[test]
fn media_state_is_told_to_everyone() {
    let mut fx = in_call();
    let out = fx.ok(
        "c2",
        ClientMsg::MediaState {
            mic: true,
            camera: false,
            speaking: true,
        },
    );
    let got = media_of(&out);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, fx.id("c2"));
    assert!(got[0].1.speaking);
    assert_eq!(got[0].2, None);
    // The same state again: nothing to tell.
    assert!(fx
        .ok(
            "c2",
            ClientMsg::MediaState {
                mic: true,
                camera: false,
                speaking: true,
            },
        )
        .is_empty());
    fx.add("c3", "Three");
    fx.ok("c3", ClientMsg::AcceptRules { version: 1 });
    fx.refuse(
        "c3",
        ClientMsg::MediaState {
            mic: true,
            camera: false,
            speaking: false,
        },
        ErrorCode::NotInCall,
    );
}

#[test]
fn a_signal_reaches_only_the_named_member_and_is_no_event() {
    let mut fx = in_call();
    let (c1, c2) = (fx.id("c1"), fx.id("c2"));
    let seq = fx.room.seq();
    let history = fx.history_json();
    let out = fx.ok("c1", signal(&c2, offer()));
    assert_eq!(out.len(), 1);
    let Out::Frame {
        audience,
        msg: ServerMsg::Signal { from, data },
    } = &out[0]
    else {
        panic!("expected a signal frame: {out:?}")
    };
    assert_eq!(audience, &Audience::Members(vec![c2.clone()]));
    assert_eq!(from, &c1);
    assert_eq!(data, &offer());
    assert!(visible_to(&out, &fx.id("f")).is_empty());
    assert!(visible_to(&out, &c1).is_empty());
    // No seq taken, nothing kept for resume.
    assert_eq!(fx.room.seq(), seq);
    assert_eq!(fx.history_json(), history);
}

#[test]
fn signals_are_refused_outside_the_call_and_when_malformed() {
    let mut fx = in_call();
    let (c1, c2) = (fx.id("c1"), fx.id("c2"));
    fx.add("c3", "Three");
    fx.ok("c3", ClientMsg::AcceptRules { version: 1 });
    let c3 = fx.id("c3");
    // From someone not in the call, to someone not in the call.
    fx.refuse("c3", signal(&c1, offer()), ErrorCode::NotInCall);
    fx.refuse("c1", signal(&c3, offer()), ErrorCode::NotInCall);
    fx.refuse("c1", signal("nobody", offer()), ErrorCode::NotInCall);
    fx.refuse("c1", signal(&c1, offer()), ErrorCode::Invalid);
    // Too large: refused, never relayed.
    let big = json!({"description": {"type": "offer", "sdp": "a".repeat(MAX_SIGNAL_BYTES + 1)}});
    fx.refuse("c1", signal(&c2, big), ErrorCode::TooLarge);
    // Malformed payloads never reach another member.
    for bad in [
        json!("offer"),
        json!({"description": {"type": "hello"}}),
        json!({"candidates": []}),
        json!({"script": "<x>"}),
    ] {
        fx.refuse("c1", signal(&c2, bad), ErrorCode::Invalid);
    }
    // After leaving the call, signals to or from them stop.
    fx.ok("c2", ClientMsg::LeaveCall);
    fx.refuse("c1", signal(&c2, offer()), ErrorCode::NotInCall);
    fx.refuse("c2", signal(&c1, offer()), ErrorCode::NotInCall);
}

#[test]
fn leaving_the_call() {
    let mut fx = in_call();
    let c1 = fx.id("c1");
    assert_eq!(
        left_of(&fx.ok("c1", ClientMsg::LeaveCall)),
        (c1.clone(), CallLeftReason::Left)
    );
    assert!(!call_ids(&fx).contains(&c1));
    fx.refuse("c1", ClientMsg::LeaveCall, ErrorCode::NotInCall);
}

#[test]
fn removing_or_leaving_the_room_ends_their_media_for_everyone() {
    let mut fx = in_call();
    let (c1, c2) = (fx.id("c1"), fx.id("c2"));
    let out = fx.ok(
        "f",
        ClientMsg::Remove {
            member_id: c2.clone(),
        },
    );
    assert_eq!(left_of(&out), (c2.clone(), CallLeftReason::LeftRoom));
    // Told before the member leaves the roster, to everyone at once.
    let k = kinds(&out);
    let at = |n: &str| k.iter().position(|x| x == n).unwrap();
    assert!(at("call_left") < at("member_left"), "{k:?}");
    let out = fx.ok("c1", ClientMsg::Leave);
    assert_eq!(left_of(&out), (c1.clone(), CallLeftReason::LeftRoom));
    assert_eq!(call_ids(&fx), vec![fx.id("f")]);
}

#[test]
fn a_disconnect_keeps_the_place_in_the_call_until_the_grace_ends() {
    let mut fx = in_call();
    let c1 = fx.id("c1");
    let out = fx.disconnect("c1");
    assert!(all_of(&out, "call_left").is_empty());
    assert!(call_ids(&fx).contains(&c1));
    let out = fx.tick(T0 + Limits::default().grace_ms + SEC);
    assert_eq!(left_of(&out), (c1.clone(), CallLeftReason::LeftRoom));
    assert!(!call_ids(&fx).contains(&c1));
}

#[test]
fn signals_are_never_replayed_on_resume() {
    let mut fx = in_call();
    let (c1, c2) = (fx.id("c1"), fx.id("c2"));
    let last = fx.room.seq();
    fx.disconnect("c2");
    // Sent while c2 is away: relayed to nobody who can read it, and gone.
    let out = fx.ok("c1", signal(&c2, offer()));
    assert_eq!(out.len(), 1);
    // An event they missed meanwhile comes back; the signal does not.
    fx.ok(
        "c1",
        ClientMsg::MediaState {
            mic: false,
            camera: true,
            speaking: false,
        },
    );
    let r = fx.resume_of("c2", last);
    fx.join_raw("c2b", "", None, Some(&r)).unwrap();
    let out = fx.out();
    let frames = replies(&out, "c2b");
    assert!(frames
        .iter()
        .any(|m| matches!(m, ServerMsg::Resumed { .. })));
    assert!(frames.iter().any(|m| matches!(
        m,
        ServerMsg::Event {
            event: Event::MediaState { member_id, .. },
            ..
        } if member_id == &c1
    )));
    assert!(
        !frames.iter().any(|m| matches!(m, ServerMsg::Signal { .. })),
        "{frames:?}"
    );
    // Still in the call after the resume: the client renegotiates (ICE restart).
    assert!(call_ids(&fx).contains(&c2));
}

#[test]
fn facilitators_mute_and_stop_video_for_everyone() {
    let mut fx = in_call();
    let (f, c1) = (fx.id("f"), fx.id("c1"));
    let out = fx.ok(
        "f",
        ClientMsg::MuteMedia {
            member_id: c1.clone(),
        },
    );
    assert_eq!(
        media_of(&out),
        vec![(c1.clone(), media(false, true), Some(f.clone()))]
    );
    // Already muted: nothing more to say.
    assert!(fx
        .ok(
            "f",
            ClientMsg::MuteMedia {
                member_id: c1.clone()
            }
        )
        .is_empty());
    let out = fx.ok(
        "f",
        ClientMsg::StopVideo {
            member_id: c1.clone(),
        },
    );
    assert_eq!(
        media_of(&out),
        vec![(c1.clone(), media(false, false), Some(f.clone()))]
    );
    // They may turn their own mic on again (the others then hear them again).
    fx.ok(
        "c1",
        ClientMsg::MediaState {
            mic: true,
            camera: false,
            speaking: false,
        },
    );
    // Participants may not; nobody mutes themselves this way; only call members.
    fx.refuse(
        "c2",
        ClientMsg::MuteMedia {
            member_id: c1.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "c2",
        ClientMsg::StopVideo {
            member_id: c1.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "f",
        ClientMsg::MuteMedia { member_id: f },
        ErrorCode::Invalid,
    );
    fx.add("c3", "Three");
    let c3 = fx.id("c3");
    fx.refuse(
        "f",
        ClientMsg::MuteMedia { member_id: c3 },
        ErrorCode::NotInCall,
    );
    fx.refuse(
        "f",
        ClientMsg::StopVideo {
            member_id: "nobody".into(),
        },
        ErrorCode::NotFound,
    );
}

#[test]
fn mute_all_mutes_everyone_but_the_facilitator() {
    let mut fx = in_call();
    let f = fx.id("f");
    let out = fx.ok("f", ClientMsg::MuteAll);
    let got = media_of(&out);
    let muted: Vec<&String> = got.iter().map(|g| &g.0).collect();
    assert_eq!(muted, vec![&fx.id("c1"), &fx.id("c2")]);
    assert!(got.iter().all(|g| !g.1.mic && g.2.as_deref() == Some(&f)));
    assert!(
        fx.snapshot("f").call[0].media.mic,
        "the facilitator's own mic stays on"
    );
    assert!(fx.ok("f", ClientMsg::MuteAll).is_empty());
    fx.refuse("c1", ClientMsg::MuteAll, ErrorCode::Forbidden);
    set_call(&mut fx, CallMode::Off);
    fx.refuse("f", ClientMsg::MuteAll, ErrorCode::CallOff);
}

#[test]
fn the_floor_goes_to_a_call_member_and_their_hand_goes_down() {
    let mut fx = in_call();
    let c2 = fx.id("c2");
    fx.ok("c2", ClientMsg::RaiseHand);
    let out = fx.ok(
        "f",
        ClientMsg::GiveFloor {
            member_id: Some(c2.clone()),
        },
    );
    let (_, _, Event::Floor { member_id }) = one(&out, "floor") else {
        unreachable!()
    };
    assert_eq!(member_id.as_deref(), Some(c2.as_str()));
    let (_, _, Event::Hands { queue }) = one(&out, "hands") else {
        unreachable!()
    };
    assert!(queue.is_empty());
    assert_eq!(fx.snapshot("c1").floor.as_deref(), Some(c2.as_str()));
    fx.refuse(
        "c1",
        ClientMsg::GiveFloor {
            member_id: Some(c2.clone()),
        },
        ErrorCode::Forbidden,
    );
    fx.add("c3", "Three");
    let c3 = fx.id("c3");
    fx.refuse(
        "f",
        ClientMsg::GiveFloor {
            member_id: Some(c3),
        },
        ErrorCode::NotInCall,
    );
    // The floor holder leaving the call takes the floor back.
    let out = fx.ok("c2", ClientMsg::LeaveCall);
    let (_, _, Event::Floor { member_id }) = one(&out, "floor") else {
        unreachable!()
    };
    assert_eq!(member_id, &None);
    assert_eq!(fx.snapshot("c1").floor, None);
    // Taking it back when nobody has it says nothing.
    assert!(fx
        .ok("f", ClientMsg::GiveFloor { member_id: None })
        .is_empty());
}

#[test]
fn calling_on_a_raised_hand_in_the_call_gives_them_the_floor() {
    let mut fx = in_call();
    let c2 = fx.id("c2");
    fx.ok("c2", ClientMsg::RaiseHand);
    let out = fx.ok(
        "f",
        ClientMsg::CallOn {
            member_id: c2.clone(),
        },
    );
    assert_eq!(kinds(&out), vec!["called_on", "hands", "floor"]);
    assert_eq!(fx.snapshot("c1").floor.as_deref(), Some(c2.as_str()));
    // Someone not in the call is called on as before: the floor stays.
    fx.add("c3", "Three");
    let c3 = fx.id("c3");
    let out = fx.ok("f", ClientMsg::CallOn { member_id: c3 });
    assert_eq!(kinds(&out), vec!["called_on", "hands"]);
    assert_eq!(fx.snapshot("c1").floor.as_deref(), Some(c2.as_str()));
}

#[test]
fn turning_the_call_off_or_to_audio() {
    let mut fx = in_call();
    let out = set_call(&mut fx, CallMode::Audio);
    // Cameras off first, then the setting.
    let got = media_of(&out);
    let stopped: Vec<&String> = got.iter().map(|g| &g.0).collect();
    assert_eq!(stopped, vec![&fx.id("f"), &fx.id("c1")]);
    assert!(got.iter().all(|g| !g.1.camera));
    assert_eq!(info_of(&out).call, CallMode::Audio);
    let out = set_call(&mut fx, CallMode::Off);
    let left: Vec<CallLeftReason> = all_of(&out, "call_left")
        .into_iter()
        .map(|(_, _, e)| match e {
            Event::CallLeft { reason, .. } => *reason,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(left, vec![CallLeftReason::CallOff; 3]);
    assert!(fx.snapshot("f").call.is_empty());
}

#[test]
fn the_call_survives_a_snapshot_round_trip() {
    let fx = in_call();
    let state = serde_json::to_string(&fx.room).unwrap();
    let back: Room = serde_json::from_str(&state).unwrap();
    assert_eq!(back.info().call, CallMode::Video);
    assert_eq!(back.call.peers.len(), 3);
    // State stored before calls existed still loads (no call, off).
    let mut v: serde_json::Value = serde_json::from_str(&state).unwrap();
    v.as_object_mut().unwrap().remove("call");
    v["info"].as_object_mut().unwrap().remove("call");
    let old: Room = serde_json::from_value(v).unwrap();
    assert_eq!(old.info().call, CallMode::Off);
    assert!(old.call.peers.is_empty());
}
