//! The facilitator toolkit over real WebSockets against a real `huddle`
//! process: one test per feature, each showing the effect reaching ANOTHER
//! member over the wire.

mod common;

use common::*;
use huddle_protocol::*;
use std::time::Duration;

const QUIET: Duration = Duration::from_millis(500);

fn timer_of(e: &Event) -> Option<&Timer> {
    match e {
        Event::Timer { timer } => Some(timer),
        _ => None,
    }
}

#[tokio::test]
async fn ground_rules_must_be_accepted_before_posting_and_can_be_shown() {
    let server = Server::start().await;
    let (room, mut fac, mut ps) = room_with(&server, 1).await;
    let mut p = ps.remove(0);

    // A fresh participant cannot post before accepting.
    let mut fresh = server.client().await;
    let w = fresh.join(&room.room_id, "Fresh", None).await;
    assert_eq!(w.room.rules.version, 1);
    assert!(!w.room.rules.rules.is_empty(), "default rules are shipped");
    fresh
        .send(&ClientMsg::Chat {
            text: "hello".into(),
        })
        .await;
    fresh.expect_error(ErrorCode::RulesNotAccepted).await;

    let rules = vec![
        "Confidentiality".to_string(),
        "One voice at a time".to_string(),
    ];
    fac.send(&ClientMsg::SetGroundRules {
        rules: rules.clone(),
    })
    .await;
    let (_, e) = p
        .recv_event(|e| matches!(e, Event::RulesUpdated { .. }))
        .await;
    let Event::RulesUpdated { rules: got } = e else {
        unreachable!()
    };
    assert_eq!(got.version, 2);
    assert_eq!(got.rules, rules);

    // The participant who had accepted v1 must accept v2 before posting again.
    p.send(&ClientMsg::Chat {
        text: "am I allowed?".into(),
    })
    .await;
    p.expect_error(ErrorCode::RulesNotAccepted).await;
    p.send(&ClientMsg::AcceptRules { version: 1 }).await;
    p.expect_error(ErrorCode::Invalid).await;
    // The facilitator accepted their own rules implicitly.
    fac.chat("facilitators can still post").await;
    p.accept_rules(2).await;
    // Everyone sees the participant's acceptance in the roster.
    let p_id = p.member_id();
    fac.recv_member_update(&p_id, |m| m.accepted_rules == 2)
        .await;
    let m = p.chat("accepted, posting").await;
    fac.recv_event(|e| matches!(e, Event::Chat { message } if message.id == m.id))
        .await;
    let mut late = server.client().await;
    let w = late.join(&room.room_id, "Late", None).await;
    assert_eq!(w.room.rules.version, 2);
    let pr = w.room.roster.iter().find(|m| m.id == p_id).unwrap();
    assert_eq!(pr.accepted_rules, 2);

    // Show the rules again: every member gets them.
    fac.send(&ClientMsg::ShowGroundRules).await;
    for c in [&mut p, &mut late, &mut fresh] {
        let (_, e) = c
            .recv_event(|e| matches!(e, Event::RulesShown { .. }))
            .await;
        let Event::RulesShown { rules: shown } = e else {
            unreachable!()
        };
        assert_eq!(shown.version, 2);
        assert_eq!(shown.rules, rules);
    }

    // Invalid rule sets are refused.
    fac.send(&ClientMsg::SetGroundRules { rules: vec![] }).await;
    fac.expect_error(ErrorCode::Invalid).await;
}

#[tokio::test]
async fn a_one_second_timer_expires_exactly_once_for_everyone() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 1).await;
    let mut p = ps.remove(0);

    fac.send(&ClientMsg::TimerStart {
        name: "Pair share".into(),
        duration_secs: 1,
    })
    .await;
    let (_, e) = p.recv_event(|e| timer_of(e).is_some()).await;
    let t = timer_of(&e).unwrap().clone();
    assert_eq!(t.name, "Pair share");
    assert_eq!(t.state, TimerState::Running);
    assert_eq!(t.duration_ms, 1000);
    assert!(t.deadline.is_some());

    for c in [&mut fac, &mut p] {
        let frames = c.collect_for(Duration::from_millis(2500)).await;
        let expired: Vec<_> = events(&frames)
            .into_iter()
            .filter(|e| matches!(e, Event::TimerExpired { timer_id, .. } if *timer_id == t.id))
            .collect();
        assert_eq!(expired.len(), 1, "[{}] {frames:?}", c.name);
        if let Event::TimerExpired { name, .. } = expired[0] {
            assert_eq!(name, "Pair share");
        }
    }
    // The expired timer is gone: it cannot be paused.
    fac.send(&ClientMsg::TimerPause {
        timer_id: t.id.clone(),
    })
    .await;
    fac.expect_error(ErrorCode::NotFound).await;
}

#[tokio::test]
async fn timers_pause_resume_extend_and_cancel() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 1).await;
    let mut p = ps.remove(0);

    fac.send(&ClientMsg::TimerStart {
        name: "Reflection".into(),
        duration_secs: 60,
    })
    .await;
    let (_, e) = p.recv_event(|e| timer_of(e).is_some()).await;
    let id = timer_of(&e).unwrap().id.clone();

    fac.send(&ClientMsg::TimerPause {
        timer_id: id.clone(),
    })
    .await;
    let (_, e) = p.recv_event(|e| timer_of(e).is_some()).await;
    let t = timer_of(&e).unwrap();
    assert_eq!(t.state, TimerState::Paused);
    assert_eq!(t.deadline, None);
    let left = t.remaining_ms.expect("remaining while paused");
    assert!(left > 55_000 && left <= 60_000, "{left}");
    fac.send(&ClientMsg::TimerPause {
        timer_id: id.clone(),
    })
    .await;
    fac.expect_error(ErrorCode::Invalid).await;

    fac.send(&ClientMsg::TimerExtend {
        timer_id: id.clone(),
        secs: 30,
    })
    .await;
    let (_, e) = p.recv_event(|e| timer_of(e).is_some()).await;
    let t = timer_of(&e).unwrap();
    assert_eq!(t.duration_ms, 90_000);
    assert_eq!(t.remaining_ms, Some(left + 30_000));

    fac.send(&ClientMsg::TimerResume {
        timer_id: id.clone(),
    })
    .await;
    let (_, e) = p.recv_event(|e| timer_of(e).is_some()).await;
    let t = timer_of(&e).unwrap();
    assert_eq!(t.state, TimerState::Running);
    let deadline = t.deadline.expect("deadline while running");
    let now = now_ms();
    assert!(
        deadline > now + 80_000 && deadline <= now + 91_000,
        "{deadline} vs {now}"
    );

    fac.send(&ClientMsg::TimerCancel {
        timer_id: id.clone(),
    })
    .await;
    let (_, e) = p.recv_event(|e| timer_of(e).is_some()).await;
    assert_eq!(timer_of(&e).unwrap().state, TimerState::Cancelled);
    fac.send(&ClientMsg::TimerCancel { timer_id: id }).await;
    fac.expect_error(ErrorCode::NotFound).await;

    // A paused short timer never expires; a cancelled one neither.
    fac.send(&ClientMsg::TimerStart {
        name: "Short".into(),
        duration_secs: 1,
    })
    .await;
    let (_, e) = p.recv_event(|e| timer_of(e).is_some()).await;
    let short = timer_of(&e).unwrap().id.clone();
    fac.send(&ClientMsg::TimerPause {
        timer_id: short.clone(),
    })
    .await;
    let frames = p.collect_for(Duration::from_millis(1500)).await;
    assert!(
        !events(&frames)
            .iter()
            .any(|e| matches!(e, Event::TimerExpired { .. })),
        "{frames:?}"
    );
    assert_eq!(
        events(&frames)
            .iter()
            .filter_map(|e| timer_of(e))
            .map(|t| t.state)
            .collect::<Vec<_>>(),
        vec![TimerState::Paused]
    );
    // Bad durations are refused.
    fac.send(&ClientMsg::TimerStart {
        name: "Zero".into(),
        duration_secs: 0,
    })
    .await;
    fac.expect_error(ErrorCode::Invalid).await;
}

#[tokio::test]
async fn energizers_are_listed_pushed_and_answered() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 1).await;
    let mut p = ps.remove(0);

    p.send(&ClientMsg::ListEnergizers).await;
    let list = match p
        .recv_until(|m| matches!(m, ServerMsg::Energizers { .. }))
        .await
    {
        ServerMsg::Energizers { energizers } => energizers,
        _ => unreachable!(),
    };
    assert!(list.len() >= 10, "{} energizers", list.len());
    let mut ids: Vec<_> = list.iter().map(|e| e.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), list.len(), "unique ids");
    assert!(list
        .iter()
        .all(|e| !e.title.is_empty() && !e.prompt.is_empty()));
    let pick = list[1].clone();

    fac.send(&ClientMsg::PushEnergizer {
        energizer_id: Some(pick.id.clone()),
        prompt: None,
        duration_secs: Some(60),
    })
    .await;
    let (_, e) = p
        .recv_event(|e| matches!(e, Event::EnergizerStarted { .. }))
        .await;
    let Event::EnergizerStarted { run } = e else {
        unreachable!()
    };
    assert_eq!(run.energizer_id.as_deref(), Some(pick.id.as_str()));
    assert_eq!(run.prompt, pick.prompt);
    assert!(run.open);
    assert!(run.timer_id.is_some(), "timed energizer starts a timer");

    p.send(&ClientMsg::AnswerEnergizer {
        run_id: run.id.clone(),
        text: "Foggy".into(),
    })
    .await;
    let p_id = p.member_id();
    let (_, e) = fac
        .recv_event(|e| matches!(e, Event::EnergizerAnswer { .. }))
        .await;
    let Event::EnergizerAnswer { run_id, answer } = e else {
        unreachable!()
    };
    assert_eq!(run_id, run.id);
    assert_eq!(answer.member_id, p_id);
    assert_eq!(answer.name, "P1");
    assert_eq!(answer.text, "Foggy");

    fac.send(&ClientMsg::CloseEnergizer {
        run_id: run.id.clone(),
    })
    .await;
    p.recv_event(|e| matches!(e, Event::EnergizerClosed { run_id } if *run_id == run.id))
        .await;
    p.send(&ClientMsg::AnswerEnergizer {
        run_id: run.id.clone(),
        text: "Too late".into(),
    })
    .await;
    p.expect_error(ErrorCode::NotFound).await;

    // A custom prompt, untimed.
    fac.send(&ClientMsg::PushEnergizer {
        energizer_id: None,
        prompt: Some("Name a song for today".into()),
        duration_secs: None,
    })
    .await;
    let (_, e) = p
        .recv_event(|e| matches!(e, Event::EnergizerStarted { .. }))
        .await;
    let Event::EnergizerStarted { run } = e else {
        unreachable!()
    };
    assert_eq!(run.energizer_id, None);
    assert_eq!(run.prompt, "Name a song for today");
    assert_eq!(run.timer_id, None);
    fac.send(&ClientMsg::PushEnergizer {
        energizer_id: Some("no-such-energizer".into()),
        prompt: None,
        duration_secs: None,
    })
    .await;
    fac.expect_error(ErrorCode::NotFound).await;
}

#[tokio::test]
async fn highlights_and_agreement_reach_other_participants() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();

    let msg = p1.chat("We should debrief after every code").await;
    fac.recv_event(|e| matches!(e, Event::Chat { .. })).await;
    fac.send(&ClientMsg::Highlight {
        tag: HighlightTag::Consensus,
        message_id: Some(msg.id.clone()),
        text: None,
    })
    .await;
    let (_, e) = p2
        .recv_event(|e| matches!(e, Event::Highlight { .. }))
        .await;
    let Event::Highlight { highlight: h } = e else {
        unreachable!()
    };
    assert_eq!(h.text, msg.text);
    assert_eq!(h.tag, HighlightTag::Consensus);
    assert_eq!(h.message_id.as_deref(), Some(msg.id.as_str()));
    assert!(h.agreed.is_empty());

    p1.send(&ClientMsg::Agree {
        highlight_id: h.id.clone(),
    })
    .await;
    let p1_id = p1.member_id();
    let (_, e) = p2
        .recv_event(|e| matches!(e, Event::Highlight { .. }))
        .await;
    let Event::Highlight { highlight } = e else {
        unreachable!()
    };
    assert_eq!(highlight.agreed, vec![p1_id.clone()]);

    // Agreeing twice counts once (and emits nothing).
    p1.send(&ClientMsg::Agree {
        highlight_id: h.id.clone(),
    })
    .await;
    p1.barrier().await;
    let f = p2.barrier().await;
    assert!(events(&f).is_empty(), "{f:?}");

    p2.send(&ClientMsg::Agree {
        highlight_id: h.id.clone(),
    })
    .await;
    let (_, e) = p1
        .recv_event(|e| matches!(e, Event::Highlight { .. }))
        .await;
    let Event::Highlight { highlight } = e else {
        unreachable!()
    };
    assert_eq!(highlight.agreed.len(), 2);

    p2.recv_event(|e| matches!(e, Event::Highlight { highlight } if highlight.agreed.len() == 2))
        .await;
    p1.send(&ClientMsg::Unagree {
        highlight_id: h.id.clone(),
    })
    .await;
    let (_, e) = p2
        .recv_event(|e| matches!(e, Event::Highlight { highlight } if highlight.agreed.len() == 1))
        .await;
    let Event::Highlight { highlight } = e else {
        unreachable!()
    };
    assert_eq!(highlight.agreed, vec![p2.member_id()]);

    fac.send(&ClientMsg::EditHighlight {
        highlight_id: h.id.clone(),
        tag: Some(HighlightTag::Action),
        text: Some("Schedule debriefs after codes".into()),
    })
    .await;
    let (_, e) = p1
        .recv_event(|e| matches!(e, Event::Highlight { highlight } if highlight.tag == HighlightTag::Action))
        .await;
    let Event::Highlight { highlight } = e else {
        unreachable!()
    };
    assert_eq!(highlight.agreed.len(), 1, "editing keeps the agreement");
    assert_eq!(highlight.text, "Schedule debriefs after codes");

    fac.send(&ClientMsg::RemoveHighlight {
        highlight_id: h.id.clone(),
    })
    .await;
    p2.recv_event(
        |e| matches!(e, Event::HighlightRemoved { highlight_id } if *highlight_id == h.id),
    )
    .await;
    p1.send(&ClientMsg::Agree {
        highlight_id: h.id.clone(),
    })
    .await;
    p1.expect_error(ErrorCode::NotFound).await;
}

#[tokio::test]
async fn energy_check_shares_only_the_anonymous_aggregate() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();
    let (p1_id, p2_id) = (p1.member_id(), p2.member_id());
    let start = [fac.seen.len(), p1.seen.len(), p2.seen.len()];

    fac.send(&ClientMsg::OpenEnergyCheck).await;
    let (_, e) = p1
        .recv_event(|e| matches!(e, Event::EnergyCheck { .. }))
        .await;
    let Event::EnergyCheck { check } = e else {
        unreachable!()
    };
    assert!(check.open);
    assert_eq!(check.count, 0);

    p1.send(&ClientMsg::EnergyAnswer {
        check_id: check.id.clone(),
        level: 2,
    })
    .await;
    p1.recv_event(|e| matches!(e, Event::EnergyAnswered { level: 2, .. }))
        .await;
    p2.send(&ClientMsg::EnergyAnswer {
        check_id: check.id.clone(),
        level: 5,
    })
    .await;
    p2.recv_event(|e| matches!(e, Event::EnergyAnswered { level: 5, .. }))
        .await;

    for c in [&mut fac, &mut p1, &mut p2] {
        let (_, e) = c
            .recv_event(|e| matches!(e, Event::EnergyCheck { check } if check.count == 2))
            .await;
        let Event::EnergyCheck { check: agg } = e else {
            unreachable!()
        };
        assert_eq!(agg.distribution, [0, 1, 0, 0, 1]);
        assert!(agg.open);
    }
    // Invalid answers.
    p1.send(&ClientMsg::EnergyAnswer {
        check_id: check.id.clone(),
        level: 4,
    })
    .await;
    p1.expect_error(ErrorCode::Invalid).await;
    p2.send(&ClientMsg::EnergyAnswer {
        check_id: check.id.clone(),
        level: 9,
    })
    .await;
    p2.expect_error(ErrorCode::Invalid).await;
    fac.send(&ClientMsg::CloseEnergyCheck {
        check_id: check.id.clone(),
    })
    .await;
    for c in [&mut fac, &mut p1, &mut p2] {
        let (_, e) = c
            .recv_event(|e| matches!(e, Event::EnergyCheck { check } if !check.open))
            .await;
        let Event::EnergyCheck { check: done } = e else {
            unreachable!()
        };
        assert_eq!((done.count, done.distribution), (2, [0, 1, 0, 0, 1]));
        c.barrier().await;
    }

    // No frame told anyone who answered what.
    let frames = |c: &Client, from: usize| -> Vec<String> {
        c.seen[from..]
            .iter()
            .map(|m| serde_json::to_string(m).unwrap())
            .collect()
    };
    for f in frames(&fac, start[0]) {
        assert!(
            !f.contains(&p1_id) && !f.contains(&p2_id),
            "facilitator saw {f}"
        );
        assert!(!f.contains("energy_answered"), "facilitator saw {f}");
    }
    for f in frames(&p1, start[1]) {
        assert!(!f.contains(&p2_id), "P1 saw {f}");
        assert!(!f.contains(r#""level":5"#), "P1 saw {f}");
    }
    for f in frames(&p2, start[2]) {
        assert!(!f.contains(&p1_id), "P2 saw {f}");
        assert!(!f.contains(r#""level":2"#), "P2 saw {f}");
    }
}

fn hands(e: &Event) -> Option<&Vec<String>> {
    match e {
        Event::Hands { queue } => Some(queue),
        _ => None,
    }
}

#[tokio::test]
async fn raised_hands_queue_in_order_and_can_be_called_on() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();
    let (p1_id, p2_id) = (p1.member_id(), p2.member_id());

    p1.send(&ClientMsg::RaiseHand).await;
    p1.recv_event(|e| hands(e).is_some()).await;
    p2.send(&ClientMsg::RaiseHand).await;
    let (_, e) = fac
        .recv_event(|e| hands(e).is_some_and(|q| q.len() == 2))
        .await;
    assert_eq!(hands(&e).unwrap(), &vec![p1_id.clone(), p2_id.clone()]);
    // Raising again changes nothing.
    p1.send(&ClientMsg::RaiseHand).await;
    p1.barrier().await;
    let f = fac.barrier().await;
    assert!(events(&f).iter().all(|e| hands(e).is_none()), "{f:?}");

    fac.send(&ClientMsg::CallOn {
        member_id: p1_id.clone(),
    })
    .await;
    p2.recv_event(|e| matches!(e, Event::CalledOn { member_id } if *member_id == p1_id))
        .await;
    let (_, e) = p2.recv_event(|e| hands(e).is_some()).await;
    assert_eq!(hands(&e).unwrap(), &vec![p2_id.clone()]);

    p1.recv_event(|e| hands(e).is_some_and(|q| q.len() == 1))
        .await;
    p2.send(&ClientMsg::LowerHand { member_id: None }).await;
    let (_, e) = p1.recv_event(|e| hands(e).is_some()).await;
    assert!(hands(&e).unwrap().is_empty());

    // A facilitator may lower anyone's hand.
    p1.send(&ClientMsg::RaiseHand).await;
    fac.recv_event(|e| hands(e).is_some_and(|q| q.len() == 1))
        .await;
    fac.send(&ClientMsg::LowerHand {
        member_id: Some(p1_id.clone()),
    })
    .await;
    let (_, e) = p2
        .recv_event(|e| hands(e).is_some_and(|q| q.is_empty()))
        .await;
    assert!(hands(&e).unwrap().is_empty());
}

#[tokio::test]
async fn a_muted_member_cannot_post_and_everyone_sees_it() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();
    let p1_id = p1.member_id();

    fac.send(&ClientMsg::Mute {
        member_id: p1_id.clone(),
    })
    .await;
    p2.recv_member_update(&p1_id, |m| m.muted).await;
    p1.recv_member_update(&p1_id, |m| m.muted).await;
    p1.send(&ClientMsg::Chat {
        text: "can you hear me".into(),
    })
    .await;
    p1.expect_error(ErrorCode::Muted).await;
    let f = p2.barrier().await;
    assert!(chat_texts(&f).is_empty(), "{f:?}");
    // A participant cannot mute the facilitator (nor anyone).
    p2.send(&ClientMsg::Mute {
        member_id: fac.member_id(),
    })
    .await;
    p2.expect_error(ErrorCode::Forbidden).await;

    fac.send(&ClientMsg::Unmute {
        member_id: p1_id.clone(),
    })
    .await;
    p2.recv_member_update(&p1_id, |m| !m.muted).await;
    let m = p1.chat("thanks").await;
    p2.recv_event(|e| matches!(e, Event::Chat { message } if message.id == m.id))
        .await;
}

#[tokio::test]
async fn a_removed_member_is_told_closed_and_cannot_resume() {
    let server = Server::start().await;
    let (room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();
    let p1_id = p1.member_id();
    let you = p1.me.clone().unwrap();
    let (last, epoch) = (p1.last_seq, p1.epoch.clone());

    fac.send(&ClientMsg::Remove {
        member_id: p1_id.clone(),
    })
    .await;
    p1.expect_error(ErrorCode::Removed).await;
    assert_eq!(p1.expect_close().await, Some(4001));
    let (_, e) = p2
        .recv_event(|e| matches!(e, Event::MemberLeft { member_id, .. } if *member_id == p1_id))
        .await;
    assert!(matches!(
        e,
        Event::MemberLeft {
            reason: LeaveReason::Removed,
            ..
        }
    ));

    let mut again = server.client().await;
    let (_, m) = again.resume(&room.room_id, "P1", &you, last, &epoch).await;
    assert!(
        matches!(
            m,
            ServerMsg::Error {
                code: ErrorCode::Removed,
                ..
            }
        ),
        "{m:?}"
    );
    // The facilitator cannot be removed by a participant; the room goes on.
    p2.send(&ClientMsg::Remove {
        member_id: fac.member_id(),
    })
    .await;
    p2.expect_error(ErrorCode::Forbidden).await;
    let f = fac.barrier().await;
    assert!(
        !events(&f)
            .iter()
            .any(|e| matches!(e, Event::MemberJoined { .. })),
        "{f:?}"
    );
}

#[tokio::test]
async fn slow_mode_spaces_participant_messages() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();

    fac.send(&ClientMsg::SlowMode { secs: 30 }).await;
    let (_, e) = p2
        .recv_event(|e| matches!(e, Event::RoomUpdated { .. }))
        .await;
    let Event::RoomUpdated { info } = e else {
        unreachable!()
    };
    assert_eq!(info.slow_mode_secs, 30);
    p1.barrier().await;

    p1.chat("first").await;
    p1.send(&ClientMsg::Chat {
        text: "second".into(),
    })
    .await;
    p1.expect_error(ErrorCode::SlowMode).await;
    // Facilitators are not slowed.
    fac.chat("one").await;
    fac.chat("two").await;
    let f = p2.barrier().await;
    assert_eq!(chat_texts(&f), vec!["first", "one", "two"]);

    fac.send(&ClientMsg::SlowMode { secs: 0 }).await;
    p1.recv_event(|e| matches!(e, Event::RoomUpdated { info } if info.slow_mode_secs == 0))
        .await;
    p1.chat("free again").await;
}

#[tokio::test]
async fn a_locked_room_refuses_new_participants() {
    let server = Server::start().await;
    let (room, mut fac, mut ps) = room_with(&server, 1).await;
    let mut p = ps.remove(0);

    fac.send(&ClientMsg::Lock { locked: true }).await;
    p.recv_event(|e| matches!(e, Event::RoomUpdated { info } if info.locked))
        .await;
    let mut newcomer = server.client().await;
    let m = newcomer
        .join_raw(&room.room_id, "Newcomer", None, None)
        .await;
    assert!(
        matches!(
            m,
            ServerMsg::Error {
                code: ErrorCode::RoomLocked,
                ..
            }
        ),
        "{m:?}"
    );
    // Members inside carry on; a facilitator (with the key) can still get in.
    p.chat("we are still here").await;
    let mut second_device = server.client().await;
    second_device
        .join(&room.room_id, "Fac laptop", Some(&room.facilitator_key))
        .await;

    fac.send(&ClientMsg::Lock { locked: false }).await;
    p.recv_event(|e| matches!(e, Event::RoomUpdated { info } if !info.locked))
        .await;
    let mut later = server.client().await;
    later.join(&room.room_id, "Later", None).await;
}

#[tokio::test]
async fn a_deleted_message_disappears_for_everyone() {
    let server = Server::start().await;
    let (room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();

    let m = p1.chat("something I regret").await;
    p2.recv_event(|e| matches!(e, Event::Chat { message } if message.id == m.id))
        .await;
    fac.send(&ClientMsg::DeleteMessage {
        message_id: m.id.clone(),
    })
    .await;
    p2.recv_event(|e| matches!(e, Event::MessageDeleted { message_id } if *message_id == m.id))
        .await;
    p1.recv_event(|e| matches!(e, Event::MessageDeleted { message_id } if *message_id == m.id))
        .await;
    let mut late = server.client().await;
    let w = late.join(&room.room_id, "Late", None).await;
    assert!(w.room.messages.iter().all(|x| x.id != m.id));
    fac.send(&ClientMsg::DeleteMessage { message_id: m.id })
        .await;
    fac.expect_error(ErrorCode::NotFound).await;

    // A member who was away does not get a deleted message back on resume.
    let you = p2.me.clone().unwrap();
    let (last, epoch) = (p2.last_seq, p2.epoch.clone());
    let p2_id = you.member_id.clone();
    p2.drop_socket();
    fac.recv_member_update(&p2_id, |m| !m.online).await;
    let gone = p1.chat("posted while P2 was away, then deleted").await;
    let kept = p1.chat("posted while P2 was away, kept").await;
    fac.recv_event(|e| matches!(e, Event::Chat { message } if message.id == kept.id))
        .await;
    fac.send(&ClientMsg::DeleteMessage {
        message_id: gone.id.clone(),
    })
    .await;
    fac.recv_event(|e| matches!(e, Event::MessageDeleted { message_id } if *message_id == gone.id))
        .await;
    let mut back = server.client().await;
    let (replayed, resumed) = back.resume(&room.room_id, "P2", &you, last, &epoch).await;
    assert!(matches!(resumed, ServerMsg::Resumed { .. }), "{resumed:?}");
    assert_eq!(
        chat_texts(&replayed),
        vec![kept.text.clone()],
        "{replayed:?}"
    );
}

#[tokio::test]
async fn a_pinned_announcement_reaches_everyone() {
    let server = Server::start().await;
    let (room, mut fac, mut ps) = room_with(&server, 1).await;
    let mut p = ps.remove(0);

    fac.send(&ClientMsg::Pin {
        text: Some("Break at 10:30".into()),
    })
    .await;
    p.recv_event(
        |e| matches!(e, Event::RoomUpdated { info } if info.pinned.as_deref() == Some("Break at 10:30")),
    )
    .await;
    let mut late = server.client().await;
    let w = late.join(&room.room_id, "Late", None).await;
    assert_eq!(w.room.info.pinned.as_deref(), Some("Break at 10:30"));

    fac.send(&ClientMsg::SetWelcome {
        text: Some("Welcome, take a breath".into()),
    })
    .await;
    late.recv_event(|e| {
        matches!(e, Event::RoomUpdated { info } if info.welcome_message.as_deref() == Some("Welcome, take a breath"))
    })
    .await;

    fac.send(&ClientMsg::Pin { text: None }).await;
    p.recv_event(|e| matches!(e, Event::RoomUpdated { info } if info.pinned.is_none()))
        .await;
}

#[tokio::test]
async fn a_promoted_co_facilitator_can_run_a_timer_until_demoted() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();
    let p1_id = p1.member_id();

    fac.send(&ClientMsg::Promote {
        member_id: p1_id.clone(),
    })
    .await;
    p2.recv_member_update(&p1_id, |m| m.role == Role::CoFacilitator)
        .await;
    p1.recv_member_update(&p1_id, |m| m.role == Role::CoFacilitator)
        .await;

    p1.send(&ClientMsg::TimerStart {
        name: "Co-led round".into(),
        duration_secs: 120,
    })
    .await;
    let (_, e) = p2.recv_event(|e| timer_of(e).is_some()).await;
    assert_eq!(timer_of(&e).unwrap().name, "Co-led round");
    // A co-facilitator cannot demote the facilitator.
    p1.send(&ClientMsg::Demote {
        member_id: fac.member_id(),
    })
    .await;
    p1.expect_error(ErrorCode::Forbidden).await;

    fac.send(&ClientMsg::Demote {
        member_id: p1_id.clone(),
    })
    .await;
    p2.recv_member_update(&p1_id, |m| m.role == Role::Participant)
        .await;
    p1.recv_member_update(&p1_id, |m| m.role == Role::Participant)
        .await;
    p1.send(&ClientMsg::TimerStart {
        name: "Not any more".into(),
        duration_secs: 60,
    })
    .await;
    p1.expect_error(ErrorCode::Forbidden).await;
    let f = p2.barrier().await;
    assert!(events(&f).iter().all(|e| timer_of(e).is_none()), "{f:?}");
}

#[tokio::test]
async fn the_waiting_room_admits_and_declines() {
    let server = Server::start().await;
    let room = server
        .create_room("Waiting room group", RoomKind::Group, true)
        .await;
    let mut fac = server.client().await;
    let w = fac
        .join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    assert!(w.room.info.waiting_room);

    let mut p1 = server.client().await;
    let m = p1.join_raw(&room.room_id, "Pat", None, None).await;
    assert!(
        matches!(m, ServerMsg::Waiting { ref room_id } if *room_id == room.room_id),
        "{m:?}"
    );
    let (_, e) = fac
        .recv_event(|e| matches!(e, Event::WaitingRoom { queue } if !queue.is_empty()))
        .await;
    let Event::WaitingRoom { queue } = e else {
        unreachable!()
    };
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].name, "Pat");
    let pat = queue[0].member_id.clone();
    // Waiting is not being in: posting is refused.
    p1.send(&ClientMsg::Chat { text: "hi".into() }).await;
    p1.expect_error(ErrorCode::NotJoined).await;

    fac.send(&ClientMsg::Admit {
        member_id: pat.clone(),
    })
    .await;
    let w = welcome_of(p1.recv().await);
    assert_eq!(w.you.member_id, pat);
    fac.recv_event(|e| matches!(e, Event::MemberJoined { member } if member.id == pat))
        .await;

    let mut p2 = server.client().await;
    let m = p2.join_raw(&room.room_id, "Quinn", None, None).await;
    assert!(matches!(m, ServerMsg::Waiting { .. }), "{m:?}");
    let (_, e) = fac
        .recv_event(|e| matches!(e, Event::WaitingRoom { queue } if !queue.is_empty()))
        .await;
    let Event::WaitingRoom { queue } = e else {
        unreachable!()
    };
    let quinn = queue[0].member_id.clone();
    fac.send(&ClientMsg::Decline { member_id: quinn }).await;
    p2.expect_error(ErrorCode::Forbidden).await;
    assert_eq!(p2.expect_close().await, Some(4003));
    fac.recv_event(|e| matches!(e, Event::WaitingRoom { queue } if queue.is_empty()))
        .await;

    // The waiting-room queue is for facilitators only.
    let f = p1.barrier().await;
    assert!(
        p1.seen.iter().chain(f.iter()).all(|m| !matches!(
            m,
            ServerMsg::Event {
                event: Event::WaitingRoom { .. },
                ..
            }
        )),
        "a participant saw the waiting-room queue"
    );
    assert!(p1.seen.iter().all(|m| !format!("{m:?}").contains("Quinn")));
}

#[tokio::test]
async fn a_support_request_reaches_only_facilitators_and_opens_a_one_on_one() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();
    let p1_id = p1.member_id();

    p1.send(&ClientMsg::SupportRequest {
        note: Some("rough night".into()),
    })
    .await;
    let m = p1.recv().await;
    assert!(
        matches!(m, ServerMsg::Crisis { ref resources } if !resources.is_empty()),
        "{m:?}"
    );
    p1.recv_event(
        |e| matches!(e, Event::SupportRequested { request } if request.member_id == p1_id),
    )
    .await;
    let (_, e) = fac
        .recv_event(|e| matches!(e, Event::SupportRequested { .. }))
        .await;
    let Event::SupportRequested { request } = e else {
        unreachable!()
    };
    assert_eq!(request.member_id, p1_id);
    assert_eq!(request.name, "P1");
    assert_eq!(request.note.as_deref(), Some("rough night"));
    assert!(!request.urgent);
    p2.expect_silence(QUIET).await;

    fac.send(&ClientMsg::OpenOneOnOne {
        request_id: request.id.clone(),
    })
    .await;
    let (_, e) = fac
        .recv_event(|e| matches!(e, Event::OneOnOne { .. }))
        .await;
    let Event::OneOnOne {
        request_id,
        room_id,
        link,
        facilitator_key,
    } = e
    else {
        unreachable!()
    };
    assert_eq!(request_id, request.id);
    assert!(link.contains(&room_id));
    let key = facilitator_key.expect("the facilitator gets the key");
    let (_, e) = p1.recv_event(|e| matches!(e, Event::OneOnOne { .. })).await;
    let Event::OneOnOne {
        room_id: p_room,
        facilitator_key: p_key,
        ..
    } = e
    else {
        unreachable!()
    };
    assert_eq!(p_room, room_id);
    assert_eq!(p_key, None, "the participant never gets the key");
    let f = p2.barrier().await;
    assert!(
        events(&f)
            .iter()
            .all(|e| !matches!(e, Event::OneOnOne { .. } | Event::SupportRequested { .. })),
        "{f:?}"
    );
    // Once only.
    fac.send(&ClientMsg::OpenOneOnOne {
        request_id: request.id.clone(),
    })
    .await;
    fac.expect_error(ErrorCode::Invalid).await;

    // Both can join the private room.
    server.wait_room_visible(&room_id).await;
    let mut p1b = server.client().await;
    let w = p1b.join(&room_id, "P1", None).await;
    assert_eq!(w.room.info.kind, RoomKind::OneOnOne);
    assert_eq!(w.room.info.capacity, Some(2));
    let mut facb = server.client().await;
    let w = facb.join(&room_id, "Fac", Some(&key)).await;
    assert_eq!(w.you.role, Role::Facilitator);
    p1b.accept_rules(w.room.rules.version).await;
    let m = p1b.chat("thank you for making time").await;
    facb.recv_event(|e| matches!(e, Event::Chat { message } if message.id == m.id))
        .await;
    // Nobody else fits in.
    let mut third = server.client().await;
    let m = third.join_raw(&room_id, "P2", None, None).await;
    assert!(
        matches!(
            m,
            ServerMsg::Error {
                code: ErrorCode::RoomFull,
                ..
            }
        ),
        "{m:?}"
    );
}

#[tokio::test]
async fn distress_gets_crisis_resources_at_once_and_alerts_facilitators() {
    let server = Server::start().await;
    let (room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();
    let p1_id = p1.member_id();

    p1.send(&ClientMsg::Distress).await;
    // The very first frame back is help.
    let m = p1.recv().await;
    let ServerMsg::Crisis { resources } = m else {
        panic!("expected crisis first, got {m:?}");
    };
    let published: Vec<CrisisResource> = server.get("/api/crisis-resources").await.json();
    assert_eq!(resources, published);
    let (_, e) = fac
        .recv_event(|e| matches!(e, Event::SupportRequested { .. }))
        .await;
    let Event::SupportRequested { request } = e else {
        unreachable!()
    };
    assert!(request.urgent);
    assert_eq!(request.member_id, p1_id);
    p2.expect_silence(QUIET).await;
    // A facilitator's second device sees the request in its welcome; a participant does not.
    let mut fac2 = server.client().await;
    let w = fac2
        .join(&room.room_id, "Fac tablet", Some(&room.facilitator_key))
        .await;
    assert!(w
        .room
        .support_requests
        .iter()
        .any(|r| r.id == request.id && r.urgent));
    let mut late = server.client().await;
    let w = late.join(&room.room_id, "Late", None).await;
    assert!(w.room.support_requests.is_empty());
}

async fn list_drop_ins(server: &Server) -> Vec<serde_json::Value> {
    let r = server.get("/api/rooms?kind=drop_in").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[tokio::test]
async fn drop_ins_are_listed_and_fill_up() {
    // Listing a drop-in needs the organizer key (issue 22 A.3).
    let server = Server::start_with(&["--organizer-key", "toolkit-organizer"]).await;
    let drop_in = |title: &str, capacity| CreateRoom {
        title: title.into(),
        kind: RoomKind::DropIn,
        capacity,
        ..Default::default()
    };
    let key = [("X-Huddle-Organizer-Key", "toolkit-organizer")];
    let small: RoomCreated = server
        .post_room(&drop_in("Coffee for one", Some(1)), &key)
        .await
        .json();
    let big: RoomCreated = server
        .post_room(&drop_in("Open drop-in", None), &key)
        .await
        .json();
    server.wait_room_visible(&small.room_id).await;
    server.wait_room_visible(&big.room_id).await;
    let group = server.group("Private group").await;

    let rooms = list_drop_ins(&server).await;
    let ids: Vec<&str> = rooms.iter().filter_map(|r| r["id"].as_str()).collect();
    assert!(ids.contains(&small.room_id.as_str()));
    assert!(ids.contains(&big.room_id.as_str()));
    assert!(
        !ids.contains(&group.room_id.as_str()),
        "groups are not listed"
    );
    assert!(rooms.iter().all(|r| r["kind"] == "drop_in"));
    // Passers-by see whether a seat is left, not how many are in (B.3).
    let s = rooms
        .iter()
        .find(|r| r["id"] == small.room_id.as_str())
        .unwrap();
    assert_eq!(s["full"], false, "{s}");
    assert!(s.get("member_count").is_none(), "{s}");
    // Default listing is drop-ins; other kinds are not listed publicly.
    assert_eq!(server.get("/api/rooms").await.status, 200);
    assert_eq!(server.get("/api/rooms?kind=group").await.status, 400);

    let mut a = server.client().await;
    a.join(&small.room_id, "First", None).await;
    let mut full = false;
    for _ in 0..50 {
        let rooms = list_drop_ins(&server).await;
        full = rooms
            .iter()
            .find(|r| r["id"] == small.room_id.as_str())
            .is_some_and(|r| r["full"] == true);
        if full {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(full, "full follows joins");

    let mut b = server.client().await;
    let m = b.join_raw(&small.room_id, "Second", None, None).await;
    assert!(
        matches!(
            m,
            ServerMsg::Error {
                code: ErrorCode::RoomFull,
                ..
            }
        ),
        "{m:?}"
    );
    // The big one still takes people.
    let mut c = server.client().await;
    c.join(&big.room_id, "Third", None).await;
}

#[tokio::test]
async fn ending_the_session_sends_the_summary_and_closes_the_room() {
    let server = Server::start().await;
    let (room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();

    // Not ended yet: no summary.
    let r = server
        .http(
            "GET",
            &format!("/api/rooms/{}/summary.md", room.room_id),
            &[("X-Facilitator-Key", &room.facilitator_key)],
            None,
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);

    p1.chat("PRIVATE-TRANSCRIPT-WORDS").await;
    fac.send(&ClientMsg::Highlight {
        tag: HighlightTag::Takeaway,
        message_id: None,
        text: Some("Sleep is protective".into()),
    })
    .await;
    let (_, e) = p2
        .recv_event(|e| matches!(e, Event::Highlight { .. }))
        .await;
    let Event::Highlight { highlight } = e else {
        unreachable!()
    };
    p2.send(&ClientMsg::Agree {
        highlight_id: highlight.id.clone(),
    })
    .await;
    fac.recv_event(|e| matches!(e, Event::Highlight { highlight } if highlight.agreed.len() == 1))
        .await;
    fac.send(&ClientMsg::Park {
        message_id: None,
        text: Some("Rota fairness".into()),
    })
    .await;
    fac.recv_event(|e| matches!(e, Event::ParkingLot { .. }))
        .await;

    fac.send(&ClientMsg::EndSession).await;
    for c in [&mut fac, &mut p1, &mut p2] {
        let (_, e) = c
            .recv_event(|e| matches!(e, Event::SessionEnded { .. }))
            .await;
        let Event::SessionEnded { summary } = e else {
            unreachable!()
        };
        assert_eq!(summary.room_id, room.room_id);
        assert_eq!(summary.highlights.len(), 1);
        assert_eq!(summary.highlights[0].text, "Sleep is protective");
        assert_eq!(summary.highlights[0].agreed.len(), 1);
        assert_eq!(summary.parking_lot.len(), 1);
        assert!(summary.ended_at >= summary.started_at);
        let json = serde_json::to_string(&summary).unwrap();
        assert!(!json.contains("PRIVATE-TRANSCRIPT-WORDS"));
    }
    // Nothing more can happen in the room.
    p1.send(&ClientMsg::Chat {
        text: "after the end".into(),
    })
    .await;
    p1.expect_error(ErrorCode::RoomClosed).await;
    fac.send(&ClientMsg::EndSession).await;
    fac.expect_error(ErrorCode::RoomClosed).await;
    let mut late = server.client().await;
    let m = late.join_raw(&room.room_id, "Late", None, None).await;
    assert!(
        matches!(
            m,
            ServerMsg::Error {
                code: ErrorCode::RoomClosed,
                ..
            }
        ),
        "{m:?}"
    );
    let info: serde_json::Value = server
        .get(&format!("/api/rooms/{}", room.room_id))
        .await
        .json();
    assert_eq!(info["status"], "closed");

    // The Markdown summary: facilitators only, highlights without the transcript.
    let path = format!("/api/rooms/{}/summary.md", room.room_id);
    let mut md = None;
    for _ in 0..50 {
        let r = server
            .http(
                "GET",
                &path,
                &[("X-Facilitator-Key", &room.facilitator_key)],
                None,
            )
            .await;
        if r.status == 200 {
            md = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = md.expect("summary.md becomes available");
    assert!(
        r.header("content-type")
            .unwrap_or("")
            .starts_with("text/markdown"),
        "{:?}",
        r.header("content-type")
    );
    assert!(r.body.contains("Sleep is protective"), "{}", r.body);
    assert!(r.body.contains("Rota fairness"), "{}", r.body);
    assert!(!r.body.contains("PRIVATE-TRANSCRIPT-WORDS"), "{}", r.body);
    assert_eq!(server.get(&path).await.status, 403);
    let r = server
        .http("GET", &path, &[("X-Facilitator-Key", "wrong")], None)
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json::<serde_json::Value>()["code"], "forbidden");
    // Never from the URL (issue 22 C.3).
    let r = server
        .get(&format!("{path}?key={}", room.facilitator_key))
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn crisis_resources_are_served_and_in_the_welcome() {
    let server = Server::start().await;
    let r = server.get("/api/crisis-resources").await;
    assert_eq!(r.status, 200);
    let published: Vec<CrisisResource> = r.json();
    assert!(!published.is_empty());
    let room = server.group("Crisis").await;
    let mut c = server.client().await;
    let w = c.join(&room.room_id, "Sam", None).await;
    assert_eq!(w.room.crisis_resources, published);

    // A deployment's own lines are added to the built-in ones, everywhere.
    let path = std::env::temp_dir().join(format!("huddle-crisis-{}.json", rand_u64()));
    let line = CrisisResource {
        label: "Clinician support line".into(),
        contact: "Call +1 555 0100".into(),
        call: Some("+1 555 0100".into()),
        hours: Some("24/7".into()),
        region: Some("ON".into()),
        ..CrisisResource::default()
    };
    std::fs::write(&path, serde_json::to_string(&[&line]).unwrap()).unwrap();
    let server2 = Server::start_with(&["--crisis-resources", path.to_str().unwrap()]).await;
    let _ = std::fs::remove_file(&path);
    let got: Vec<CrisisResource> = server2.get("/api/crisis-resources").await.json();
    let mut custom = published.clone();
    custom.push(line);
    assert_eq!(got, custom);
    let (_room, _fac, mut ps) = room_with(&server2, 1).await;
    ps[0].send(&ClientMsg::Distress).await;
    let m = ps[0].recv().await;
    assert!(
        matches!(m, ServerMsg::Crisis { ref resources } if *resources == custom),
        "{m:?}"
    );
}

#[tokio::test]
async fn personal_mute_hides_a_member_for_me_only_and_survives_a_resume() {
    let server = Server::start().await;
    let (room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();
    let p2_id = p2.member_id();

    p1.send(&ClientMsg::PersonalMute {
        member_id: p2_id.clone(),
    })
    .await;
    let (_, e) = p1
        .recv_event(|e| matches!(e, Event::PersonalMutes { .. }))
        .await;
    assert!(
        matches!(e, Event::PersonalMutes { ref member_ids } if *member_ids == vec![p2_id.clone()])
    );
    // Nobody else learns about it.
    let f = p2.barrier().await;
    assert!(events(&f).is_empty(), "{f:?}");
    let f = fac.barrier().await;
    assert!(events(&f).is_empty(), "{f:?}");

    let m = p2.chat("from P2, hidden for P1").await;
    fac.recv_event(|e| matches!(e, Event::Chat { message } if message.id == m.id))
        .await;
    let f = p1.barrier().await;
    assert!(chat_texts(&f).is_empty(), "P1 got {f:?}");

    // P1 drops and resumes; what P2 said meanwhile stays hidden.
    let you = p1.me.clone().unwrap();
    let (last, epoch) = (p1.last_seq, p1.epoch.clone());
    let p1_id = you.member_id.clone();
    p1.drop_socket();
    fac.recv_member_update(&p1_id, |m| !m.online).await;
    p2.chat("while P1 was away").await;
    fac.chat("facilitator while P1 was away").await;
    let mut back = server.client().await;
    let (replayed, resumed) = back.resume(&room.room_id, "P1", &you, last, &epoch).await;
    assert!(matches!(resumed, ServerMsg::Resumed { .. }), "{resumed:?}");
    assert_eq!(
        chat_texts(&replayed),
        vec!["facilitator while P1 was away"],
        "only the unmuted chat is replayed"
    );
    let m = p2.chat("after the resume").await;
    fac.recv_event(|e| matches!(e, Event::Chat { message } if message.id == m.id))
        .await;
    let f = back.barrier().await;
    assert!(chat_texts(&f).is_empty(), "P1 got {f:?}");

    // A full welcome (stale epoch) also carries the mute and hides the messages.
    let you2 = back.me.clone().unwrap();
    let last2 = back.last_seq;
    back.drop_socket();
    let mut again = server.client().await;
    let (_, m) = again
        .resume(&room.room_id, "P1", &you2, last2, "stale")
        .await;
    let w = welcome_of(m);
    assert_eq!(w.room.personally_muted, vec![p2_id.clone()]);
    assert!(w.room.messages.iter().all(|m| m.from != p2_id));

    // Unmute: P2 is heard again.
    again
        .send(&ClientMsg::PersonalUnmute {
            member_id: p2_id.clone(),
        })
        .await;
    again
        .recv_event(|e| matches!(e, Event::PersonalMutes { member_ids } if member_ids.is_empty()))
        .await;
    let m = p2.chat("heard again").await;
    again
        .recv_event(|e| matches!(e, Event::Chat { message } if message.id == m.id))
        .await;
}

#[tokio::test]
async fn an_invitation_to_share_can_be_declined_privately() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();
    let p1_id = p1.member_id();

    fac.send(&ClientMsg::InviteToShare {
        member_id: p1_id.clone(),
    })
    .await;
    let (_, e) = p1
        .recv_event(|e| matches!(e, Event::ShareInvite { .. }))
        .await;
    let Event::ShareInvite {
        invite_id,
        from_name,
    } = e
    else {
        unreachable!()
    };
    assert_eq!(from_name, "Fac");
    // P2 cannot decline P1's invitation.
    p2.send(&ClientMsg::DeclineShare {
        invite_id: invite_id.clone(),
    })
    .await;
    p2.expect_error(ErrorCode::NotFound).await;

    p1.send(&ClientMsg::DeclineShare {
        invite_id: invite_id.clone(),
    })
    .await;
    let (_, e) = fac
        .recv_event(|e| matches!(e, Event::ShareDeclined { .. }))
        .await;
    let Event::ShareDeclined {
        invite_id: declined,
        member_id,
    } = e
    else {
        unreachable!()
    };
    assert_eq!(
        (declined.as_str(), member_id.as_str()),
        (invite_id.as_str(), p1_id.as_str())
    );
    p1.send(&ClientMsg::DeclineShare { invite_id }).await;
    p1.expect_error(ErrorCode::NotFound).await;
    let f = p2.barrier().await;
    assert!(
        p2.seen.iter().chain(f.iter()).all(|m| !matches!(
            m,
            ServerMsg::Event {
                event: Event::ShareInvite { .. } | Event::ShareDeclined { .. },
                ..
            }
        )),
        "P2 saw the invitation"
    );
}

#[tokio::test]
async fn the_parking_lot_collects_items_for_later() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();

    fac.send(&ClientMsg::Park {
        message_id: None,
        text: Some("Staffing ratios".into()),
    })
    .await;
    let (_, e) = p1
        .recv_event(|e| matches!(e, Event::ParkingLot { .. }))
        .await;
    let Event::ParkingLot { items } = e else {
        unreachable!()
    };
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].text, "Staffing ratios");
    let first = items[0].id.clone();

    p1.send(&ClientMsg::Park {
        message_id: None,
        text: Some("mine".into()),
    })
    .await;
    p1.expect_error(ErrorCode::Forbidden).await;

    fac.send(&ClientMsg::AllowParking { enabled: true }).await;
    p1.recv_event(|e| matches!(e, Event::RoomUpdated { info } if info.members_can_park))
        .await;
    let m = p1.chat("Can we talk about rotas later?").await;
    p1.send(&ClientMsg::Park {
        message_id: Some(m.id.clone()),
        text: None,
    })
    .await;
    let (_, e) = p2
        .recv_event(|e| matches!(e, Event::ParkingLot { items } if items.len() == 2))
        .await;
    let Event::ParkingLot { items } = e else {
        unreachable!()
    };
    assert_eq!(items[1].text, m.text);
    assert_eq!(items[1].message_id.as_deref(), Some(m.id.as_str()));

    fac.send(&ClientMsg::Unpark { item_id: first }).await;
    let (_, e) = p2
        .recv_event(|e| matches!(e, Event::ParkingLot { items } if items.len() == 1))
        .await;
    let Event::ParkingLot { items } = e else {
        unreachable!()
    };
    assert_eq!(items[0].text, m.text);
    p2.send(&ClientMsg::Unpark {
        item_id: items[0].id.clone(),
    })
    .await;
    p2.expect_error(ErrorCode::Forbidden).await;
}

#[tokio::test]
async fn airtime_is_answered_to_the_facilitator_only() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();
    for i in 0..3 {
        p1.chat(&format!("talking {i}")).await;
    }
    fac.barrier().await;
    fac.send(&ClientMsg::Airtime).await;
    let m = fac
        .recv_until(|m| matches!(m, ServerMsg::Airtime { .. }))
        .await;
    let ServerMsg::Airtime { members } = m else {
        unreachable!()
    };
    let of = |id: &str| members.iter().find(|a| a.member_id == id).unwrap().clone();
    assert_eq!(members.len(), 3);
    assert_eq!(of(&p1.member_id()).messages, 3);
    assert_eq!(of(&p2.member_id()).messages, 0);
    assert_eq!(of(&p2.member_id()).name, "P2");
    assert!(of(&p2.member_id()).quiet_ms >= of(&p1.member_id()).quiet_ms);

    p1.send(&ClientMsg::Airtime).await;
    p1.expect_error(ErrorCode::Forbidden).await;
    for c in [&mut p1, &mut p2] {
        let f = c.barrier().await;
        assert!(
            c.seen
                .iter()
                .chain(f.iter())
                .all(|m| !matches!(m, ServerMsg::Airtime { .. })),
            "[{}] saw airtime",
            c.name
        );
    }
}

#[tokio::test]
async fn a_scheduled_room_holds_participants_in_the_lobby_until_it_opens() {
    let server = Server::start().await;
    let starts_at = now_ms() + 2000;
    let room = server
        .create_room_spec(&CreateRoom {
            title: "Scheduled debrief".into(),
            kind: RoomKind::Group,
            starts_at: Some(starts_at),
            ..Default::default()
        })
        .await;
    let info: serde_json::Value = server
        .get(&format!("/api/rooms/{}", room.room_id))
        .await
        .json();
    assert_eq!(info["status"], "scheduled");

    let mut fac = server.client().await;
    let w = fac
        .join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    assert_eq!(w.room.info.status, RoomStatus::Scheduled);

    let mut p = server.client().await;
    let m = p.join_raw(&room.room_id, "Early", None, None).await;
    match m {
        ServerMsg::Lobby {
            room_id,
            starts_at: s,
        } => {
            assert_eq!(room_id, room.room_id);
            assert_eq!(s, starts_at);
        }
        other => panic!("expected lobby, got {other:?}"),
    }
    // Still in the lobby: not a member yet.
    p.send(&ClientMsg::RaiseHand).await;
    p.expect_error(ErrorCode::NotJoined).await;

    let w = welcome_of(p.recv().await);
    let now = now_ms();
    assert!(
        now + 100 >= starts_at,
        "welcomed {} ms early",
        starts_at - now
    );
    assert_eq!(w.room.info.status, RoomStatus::Open);
    fac.recv_event(|e| matches!(e, Event::RoomUpdated { info } if info.status == RoomStatus::Open))
        .await;
    fac.recv_event(|e| matches!(e, Event::MemberJoined { member } if member.name == "Early"))
        .await;
    p.accept_rules(w.room.rules.version).await;
    p.chat("made it").await;
}
