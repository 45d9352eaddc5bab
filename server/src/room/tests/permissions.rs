//! Permission matrix: every facilitator command, for every role.

use super::*;

/// Fails to compile when a variant is added, so the samples below stay complete.
fn variant_is_sampled(m: &ClientMsg) {
    match m {
        ClientMsg::Join { .. }
        | ClientMsg::Leave
        | ClientMsg::Ping { .. }
        | ClientMsg::Chat { .. }
        | ClientMsg::React { .. }
        | ClientMsg::AcceptRules { .. }
        | ClientMsg::RaiseHand
        | ClientMsg::LowerHand { .. }
        | ClientMsg::AnswerEnergizer { .. }
        | ClientMsg::Agree { .. }
        | ClientMsg::Unagree { .. }
        | ClientMsg::EnergyAnswer { .. }
        | ClientMsg::SupportRequest { .. }
        | ClientMsg::Distress
        | ClientMsg::DeclineShare { .. }
        | ClientMsg::PersonalMute { .. }
        | ClientMsg::PersonalUnmute { .. }
        | ClientMsg::Park { .. }
        | ClientMsg::ListEnergizers
        | ClientMsg::HistoryBefore { .. }
        | ClientMsg::JoinCall { .. }
        | ClientMsg::LeaveCall
        | ClientMsg::Signal { .. }
        | ClientMsg::MediaState { .. }
        | ClientMsg::SetCall { .. }
        | ClientMsg::MuteMedia { .. }
        | ClientMsg::StopVideo { .. }
        | ClientMsg::MuteAll
        | ClientMsg::GiveFloor { .. }
        | ClientMsg::RosterPage { .. }
        | ClientMsg::SetGroundRules { .. }
        | ClientMsg::ShowGroundRules
        | ClientMsg::SetWelcome { .. }
        | ClientMsg::CallOn { .. }
        | ClientMsg::TimerStart { .. }
        | ClientMsg::TimerPause { .. }
        | ClientMsg::TimerResume { .. }
        | ClientMsg::TimerExtend { .. }
        | ClientMsg::TimerCancel { .. }
        | ClientMsg::PushEnergizer { .. }
        | ClientMsg::CloseEnergizer { .. }
        | ClientMsg::Highlight { .. }
        | ClientMsg::EditHighlight { .. }
        | ClientMsg::RemoveHighlight { .. }
        | ClientMsg::OpenEnergyCheck
        | ClientMsg::CloseEnergyCheck { .. }
        | ClientMsg::Mute { .. }
        | ClientMsg::Unmute { .. }
        | ClientMsg::Remove { .. }
        | ClientMsg::SlowMode { .. }
        | ClientMsg::Lock { .. }
        | ClientMsg::DeleteMessage { .. }
        | ClientMsg::Pin { .. }
        | ClientMsg::Promote { .. }
        | ClientMsg::Demote { .. }
        | ClientMsg::HandOver { .. }
        | ClientMsg::SetWaitingRoom { .. }
        | ClientMsg::Admit { .. }
        | ClientMsg::Decline { .. }
        | ClientMsg::OpenOneOnOne { .. }
        | ClientMsg::InviteToShare { .. }
        | ClientMsg::AllowParking { .. }
        | ClientMsg::Unpark { .. }
        | ClientMsg::Airtime
        | ClientMsg::ExtendSession { .. }
        | ClientMsg::EndSession
        | ClientMsg::RotateKey
        | ClientMsg::SetShareHistory { .. }
        | ClientMsg::AckAlert { .. }
        | ClientMsg::OpenAlertRoom { .. } => {}
    }
}

/// A busy room (participants c1, c2; co-facilitator "k"; someone waiting on "w")
/// and one valid sample of every client message, aimed at real ids.
fn matrix() -> (Fx, Vec<ClientMsg>) {
    let mut fx = Fx::new();
    fx.add("k", "Co");
    let (c1, c2, k) = (fx.id("c1"), fx.id("c2"), fx.id("k"));
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: k.clone(),
        },
    );
    let msg = fx.post("c1", "a message");
    let timer = timer_of(&fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "Round".into(),
            duration_secs: 60,
        },
    ))
    .id;
    let paused = timer_of(&fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "Held".into(),
            duration_secs: 60,
        },
    ))
    .id;
    fx.ok(
        "f",
        ClientMsg::TimerPause {
            timer_id: paused.clone(),
        },
    );
    let run = started_run(&fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("stretch".into()),
            prompt: None,
            duration_secs: None,
        },
    ))
    .id;
    let hl = highlight_of(&fx.ok(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Takeaway,
            message_id: None,
            text: Some("point".into()),
        },
    ))
    .id;
    let check = check_of(&fx.ok("f", ClientMsg::OpenEnergyCheck)).id;
    let (_, req) = support_of(&fx.ok("c2", ClientMsg::SupportRequest { note: None }));
    let item = parking_of(&fx.ok(
        "f",
        ClientMsg::Park {
            message_id: None,
            text: Some("later".into()),
        },
    ))[0]
        .id
        .clone();
    let out = fx.ok(
        "f",
        ClientMsg::InviteToShare {
            member_id: c1.clone(),
        },
    );
    let (_, _, Event::ShareInvite { invite_id, .. }) = one(&out, "share_invite") else {
        unreachable!()
    };
    let invite = invite_id.clone();
    fx.ok("c2", ClientMsg::RaiseHand);
    fx.ok("f", ClientMsg::SetWaitingRoom { enabled: true });
    fx.join_raw("w", "Waiting", None, None).unwrap();
    let (_, queue) = waiting_of(&fx.out());
    let waiting = queue[0].member_id.clone();
    // A video call with c1 and c2 in it, mics and cameras on.
    fx.ok(
        "f",
        ClientMsg::SetCall {
            mode: CallMode::Video,
        },
    );
    for c in ["c1", "c2"] {
        fx.ok(
            c,
            ClientMsg::JoinCall {
                mic: true,
                camera: true,
            },
        );
    }

    let samples = vec![
        ClientMsg::Join {
            v: 1,
            room_id: "r1".into(),
            name: "x".into(),
            facilitator_key: None,
            resume: None,
            device_id: None,
        },
        ClientMsg::Leave,
        ClientMsg::Ping { t: 1 },
        chat("hi"),
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "👍".into(),
        },
        ClientMsg::AcceptRules { version: 1 },
        ClientMsg::RaiseHand,
        ClientMsg::LowerHand { member_id: None },
        ClientMsg::AnswerEnergizer {
            run_id: run.clone(),
            text: "ok".into(),
        },
        ClientMsg::Agree {
            highlight_id: hl.clone(),
        },
        ClientMsg::Unagree {
            highlight_id: hl.clone(),
        },
        ClientMsg::EnergyAnswer {
            check_id: check.clone(),
            level: 3,
        },
        ClientMsg::SupportRequest { note: None },
        ClientMsg::Distress,
        ClientMsg::DeclineShare { invite_id: invite },
        ClientMsg::PersonalMute {
            member_id: c2.clone(),
        },
        ClientMsg::PersonalUnmute {
            member_id: c2.clone(),
        },
        ClientMsg::Park {
            message_id: Some(msg.clone()),
            text: None,
        },
        ClientMsg::ListEnergizers,
        ClientMsg::HistoryBefore {
            before_seq: u64::MAX,
            limit: 50,
        },
        ClientMsg::RosterPage {
            after: None,
            limit: 50,
        },
        ClientMsg::JoinCall {
            mic: true,
            camera: false,
        },
        ClientMsg::LeaveCall,
        ClientMsg::Signal {
            to: c2.clone(),
            data: serde_json::json!({"description": {"type": "offer", "sdp": "v=0"}}),
        },
        ClientMsg::MediaState {
            mic: false,
            camera: true,
            speaking: false,
        },
        // -- facilitators only --
        ClientMsg::AckAlert {
            alert_id: "a1".into(),
        },
        ClientMsg::OpenAlertRoom {
            alert_id: "a1".into(),
        },
        ClientMsg::SetGroundRules {
            rules: vec!["Be kind".into()],
        },
        ClientMsg::ShowGroundRules,
        ClientMsg::SetWelcome {
            text: Some("Welcome".into()),
        },
        ClientMsg::CallOn {
            member_id: c2.clone(),
        },
        ClientMsg::TimerStart {
            name: "Break".into(),
            duration_secs: 30,
        },
        ClientMsg::TimerPause {
            timer_id: timer.clone(),
        },
        ClientMsg::TimerResume { timer_id: paused },
        ClientMsg::TimerExtend {
            timer_id: timer.clone(),
            secs: 30,
        },
        ClientMsg::TimerCancel {
            timer_id: timer.clone(),
        },
        ClientMsg::PushEnergizer {
            energizer_id: Some("weather".into()),
            prompt: None,
            duration_secs: Some(30),
        },
        ClientMsg::CloseEnergizer { run_id: run },
        ClientMsg::Highlight {
            tag: HighlightTag::Consensus,
            message_id: Some(msg.clone()),
            text: None,
        },
        ClientMsg::EditHighlight {
            highlight_id: hl.clone(),
            tag: Some(HighlightTag::Action),
            text: None,
        },
        ClientMsg::RemoveHighlight { highlight_id: hl },
        ClientMsg::OpenEnergyCheck,
        ClientMsg::CloseEnergyCheck { check_id: check },
        ClientMsg::Mute {
            member_id: c2.clone(),
        },
        ClientMsg::Unmute {
            member_id: c2.clone(),
        },
        ClientMsg::Remove {
            member_id: c2.clone(),
        },
        ClientMsg::SlowMode { secs: 5 },
        ClientMsg::Lock { locked: true },
        ClientMsg::DeleteMessage { message_id: msg },
        ClientMsg::Pin {
            text: Some("pinned".into()),
        },
        ClientMsg::Promote {
            member_id: c2.clone(),
        },
        ClientMsg::Demote { member_id: k },
        ClientMsg::HandOver {
            member_id: c2.clone(),
        },
        ClientMsg::SetWaitingRoom { enabled: false },
        ClientMsg::Admit {
            member_id: waiting.clone(),
        },
        ClientMsg::Decline { member_id: waiting },
        ClientMsg::OpenOneOnOne { request_id: req.id },
        ClientMsg::InviteToShare {
            member_id: c2.clone(),
        },
        ClientMsg::AllowParking { enabled: true },
        ClientMsg::Unpark { item_id: item },
        ClientMsg::Airtime,
        ClientMsg::ExtendSession { minutes: 10 },
        ClientMsg::EndSession,
        ClientMsg::RotateKey,
        ClientMsg::SetShareHistory { enabled: true },
        ClientMsg::SetCall {
            mode: CallMode::Audio,
        },
        ClientMsg::MuteMedia {
            member_id: c2.clone(),
        },
        ClientMsg::StopVideo {
            member_id: c2.clone(),
        },
        ClientMsg::MuteAll,
        ClientMsg::GiveFloor {
            member_id: Some(c2.clone()),
        },
    ];
    samples.iter().for_each(variant_is_sampled);
    (fx, samples)
}

#[test]
fn the_samples_cover_every_client_message() {
    let (_, samples) = matrix();
    let names: Vec<&str> = samples.iter().map(ClientMsg::type_name).collect();
    assert_eq!(names, KNOWN_CLIENT_TYPES.to_vec());
    // The facilitator-only commands are exactly the documented tail of the list.
    let first = KNOWN_CLIENT_TYPES
        .iter()
        .position(|t| *t == "set_ground_rules")
        .unwrap();
    let fac: Vec<&str> = samples
        .iter()
        .filter(|m| m.facilitator_only())
        .map(ClientMsg::type_name)
        .collect();
    assert_eq!(fac, KNOWN_CLIENT_TYPES[first..].to_vec());
    assert_eq!(fac.len(), 43);
}

#[test]
fn participants_are_refused_every_facilitator_command_without_side_effects() {
    let (mut fx, samples) = matrix();
    let mut n = 0;
    for m in samples.into_iter().filter(ClientMsg::facilitator_only) {
        fx.refuse("c1", m, ErrorCode::Forbidden);
        n += 1;
    }
    assert_eq!(n, 43);
}

#[test]
fn facilitators_may_send_every_facilitator_command() {
    let n = matrix().1.len();
    let mut checked = 0;
    for idx in 0..n {
        // A fresh room for each command, for the lead and for a co-facilitator.
        let (mut fx, samples) = matrix();
        let m = samples[idx].clone();
        if !m.facilitator_only() {
            continue;
        }
        let shown = format!("{m:?}");
        let r = fx.cmd("f", m);
        assert!(r.is_ok(), "facilitator {shown} → {r:?}");
        let (mut fx, samples) = matrix();
        let m = samples[idx].clone();
        let hand_over = matches!(m, ClientMsg::HandOver { .. });
        let rotate = matches!(m, ClientMsg::RotateKey);
        let r = fx.cmd("k", m);
        if hand_over {
            assert_eq!(
                code(r),
                ErrorCode::Forbidden,
                "only the Facilitator hands over"
            );
        } else if rotate {
            assert_eq!(
                code(r),
                ErrorCode::Forbidden,
                "only the lead rotates the key"
            );
        } else {
            assert!(r.is_ok(), "co-facilitator {shown} → {r:?}");
        }
        checked += 1;
    }
    assert_eq!(checked, 43);
}
