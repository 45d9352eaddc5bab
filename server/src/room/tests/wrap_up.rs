//! The soft end: at `ends_at` the room wraps up (banner, check-out prompt and
//! summary preview for facilitators), then closes after the wrap-up, or when a
//! facilitator ends it; extending during wrap-up opens it again.

use super::*;

const END: Millis = T0 + 70 * MIN;
const WRAP: u64 = 5 * MIN;

/// A scheduled room, started, with a participant, a highlight, and the end reached.
fn wrapping_up() -> (Fx, Vec<Out>) {
    let mut fx = Fx::with(scheduled(), Limits::default(), &[]);
    fx.tick(T0 + 10 * MIN);
    fx.add("c1", "One");
    fx.ok("c1", ClientMsg::AcceptRules { version: 1 });
    fx.ok(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Takeaway,
            message_id: None,
            text: Some("Ask for help early".into()),
        },
    );
    fx.tick(END - 5 * MIN);
    fx.tick(END - MIN);
    let out = fx.tick(END);
    (fx, out)
}

#[test]
fn the_scheduled_end_starts_a_wrap_up_for_everyone() {
    let (mut fx, out) = wrapping_up();
    assert_eq!(
        kinds(&out),
        vec!["room_updated", "wrap_up", "wrap_up_preview"]
    );
    let info = info_of(&out);
    assert_eq!(
        (info.status, info.wrap_up_until),
        (RoomStatus::Open, Some(END + WRAP))
    );
    let (aud, _, Event::WrapUp { ends_at, until }) = one(&out, "wrap_up") else {
        unreachable!()
    };
    assert_eq!((aud, *ends_at, *until), (&Audience::All, END, END + WRAP));
    // The check-out prompt and the summary preview go to facilitators only.
    let (
        aud,
        _,
        Event::WrapUpPreview {
            suggestion,
            summary,
        },
    ) = one(&out, "wrap_up_preview")
    else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::Members(vec![fx.id("f")]));
    assert_eq!(suggestion, &library::checkout());
    assert!(library::energizer(&suggestion.id).is_some(), "pushable");
    assert_eq!(summary.highlights.len(), 1);
    assert_eq!(summary.highlights[0].text, "Ask for help early");
    assert!(visible_to(&out, &fx.id("c1"))
        .iter()
        .all(|m| !serde_json::to_string(m)
            .unwrap()
            .contains("wrap_up_preview")));
    // Nothing closed: people still talk, the facilitator can push the prompt.
    fx.post("c1", "thank you all");
    fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some(suggestion.id.clone()),
            prompt: None,
            duration_secs: None,
        },
    );
    assert_eq!(fx.snapshot("c1").info.wrap_up_until, Some(END + WRAP));
    assert_eq!(fx.room.next_deadline(), Some(END + WRAP));
    // Ticking within the wrap-up does nothing more.
    assert!(fx.tick(END + MIN).is_empty());
}

#[test]
fn the_room_closes_when_the_wrap_up_runs_out() {
    let (mut fx, _) = wrapping_up();
    assert!(fx.tick(END + WRAP - 1).is_empty());
    let out = fx.tick(END + WRAP);
    assert_eq!(kinds(&out), vec!["room_updated", "session_ended"]);
    let info = info_of(&out);
    assert_eq!(
        (info.status, info.wrap_up_until),
        (RoomStatus::Closed, None)
    );
    assert_eq!(fx.room.summary().unwrap().ended_at, END + WRAP);
    assert_eq!(fx.room.next_deadline(), None);
    assert!(fx.tick(END + WRAP + MIN).is_empty());
    fx.refuse("c1", chat("still here?"), ErrorCode::RoomClosed);
}

#[test]
fn the_facilitator_may_end_the_wrap_up_early() {
    let (mut fx, _) = wrapping_up();
    fx.now = END + MIN;
    fx.refuse("c1", ClientMsg::EndSession, ErrorCode::Forbidden);
    let out = fx.ok("f", ClientMsg::EndSession);
    assert_eq!(kinds(&out), vec!["room_updated", "session_ended"]);
    assert_eq!(info_of(&out).wrap_up_until, None);
    assert_eq!(fx.room.summary().unwrap().ended_at, END + MIN);
    // The wrap-up's own deadline is gone: no second end.
    assert_eq!(fx.room.next_deadline(), None);
    assert!(fx.tick(END + WRAP).is_empty());
}

#[test]
fn extending_during_wrap_up_opens_the_room_again() {
    let (mut fx, _) = wrapping_up();
    fx.now = END + MIN;
    let out = fx.ok("f", ClientMsg::ExtendSession { minutes: 10 });
    let new_end = END + 11 * MIN;
    let info = info_of(&out);
    assert_eq!(
        (info.status, info.ends_at, info.wrap_up_until),
        (RoomStatus::Open, Some(new_end), None)
    );
    // The old wrap-up no longer closes it; the new end's warnings re-arm.
    assert_eq!(fx.room.next_deadline(), Some(new_end - 5 * MIN));
    assert!(fx.tick(END + WRAP).is_empty());
    assert_eq!(kinds(&fx.tick(new_end - 5 * MIN)), vec!["session_warning"]);
    assert_eq!(kinds(&fx.tick(new_end - MIN)), vec!["session_warning"]);
    // At the new end: a new wrap-up, from then.
    let out = fx.tick(new_end);
    let (_, _, Event::WrapUp { ends_at, until }) = one(&out, "wrap_up") else {
        unreachable!()
    };
    assert_eq!((*ends_at, *until), (new_end, new_end + WRAP));
    let out = fx.tick(new_end + WRAP);
    one(&out, "session_ended");
}

#[test]
fn the_wrap_up_length_comes_from_the_limits() {
    let limits = Limits {
        wrap_up_ms: 30 * SEC,
        ..Limits::default()
    };
    let mut fx = Fx::with(scheduled(), limits, &[]);
    fx.tick(T0 + 10 * MIN);
    fx.add("c1", "One");
    let out = fx.tick(END + 2 * SEC);
    // A late tick: the wrap-up runs its full length from when it began.
    assert_eq!(info_of(&out).wrap_up_until, Some(END + 32 * SEC));
    assert!(fx.tick(END + 31 * SEC).is_empty());
    one(&fx.tick(END + 32 * SEC), "session_ended");
}

#[test]
fn the_preview_shows_an_open_energy_check_only_as_it_may_be_shown() {
    let mut fx = Fx::with(scheduled(), Limits::default(), &[]);
    fx.tick(T0 + 10 * MIN);
    fx.add("c1", "One");
    let c = check_of(&fx.ok("f", ClientMsg::OpenEnergyCheck));
    for conn in ["c1", "f"] {
        fx.ok(
            conn,
            ClientMsg::EnergyAnswer {
                check_id: c.id.clone(),
                level: 1,
            },
        );
    }
    let out = fx.tick(END);
    let (_, _, Event::WrapUpPreview { summary, .. }) = one(&out, "wrap_up_preview") else {
        unreachable!()
    };
    let e = &summary.energy_checks[0];
    assert_eq!((e.count, e.distribution), (2, None));
    // The check is still open: the preview changed nothing.
    assert!(fx.snapshot("c1").energy_check.unwrap().open);
}

#[test]
fn a_wrap_up_survives_a_takeover_and_closes_once() {
    let (mut fx, _) = wrapping_up();
    let json = serde_json::to_string(&fx.room).unwrap();
    fx.room = serde_json::from_str(&json).unwrap();
    fx.room.restore(vec![]);
    fx.last_seq = fx.room.seq();
    assert_eq!(fx.room.info().wrap_up_until, Some(END + WRAP));
    assert_eq!(fx.room.next_deadline(), Some(END + WRAP));
    one(&fx.tick(END + WRAP), "session_ended");
    let json = serde_json::to_string(&fx.room).unwrap();
    fx.room = serde_json::from_str(&json).unwrap();
    fx.room.restore(vec![]);
    fx.last_seq = fx.room.seq();
    assert!(fx.tick(END + WRAP + SEC).is_empty());
}
