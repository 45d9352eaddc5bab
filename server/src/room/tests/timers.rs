//! Timers: start, pause, resume, extend, cancel, expiry.

use super::*;

#[test]
fn timer_start_pause_resume_extend() {
    let mut fx = Fx::new();
    assert_eq!(fx.room.next_deadline(), None);
    let out = fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: " Round 1 ".into(),
            duration_secs: 60,
        },
    );
    let t = timer_of(&out);
    assert_eq!(t.name, "Round 1");
    assert_eq!(t.state, TimerState::Running);
    assert_eq!(t.deadline, Some(T0 + 60 * SEC));
    assert_eq!((t.duration_ms, t.remaining_ms), (60_000, None));
    assert_eq!(fx.room.next_deadline(), Some(T0 + 60 * SEC));
    assert_eq!(fx.snapshot("c1").timers, vec![t.clone()]);

    fx.now = T0 + 20 * SEC;
    let out = fx.ok(
        "f",
        ClientMsg::TimerPause {
            timer_id: t.id.clone(),
        },
    );
    let p = timer_of(&out);
    assert_eq!(
        (p.state, p.deadline, p.remaining_ms),
        (TimerState::Paused, None, Some(40_000))
    );
    assert_eq!(fx.room.next_deadline(), None);
    fx.refuse(
        "f",
        ClientMsg::TimerPause {
            timer_id: t.id.clone(),
        },
        ErrorCode::Invalid,
    );
    // A paused timer never expires.
    assert!(kinds(&fx.tick(T0 + 120 * SEC)).is_empty());

    fx.now = T0 + 130 * SEC;
    let out = fx.ok(
        "f",
        ClientMsg::TimerResume {
            timer_id: t.id.clone(),
        },
    );
    let r = timer_of(&out);
    assert_eq!(
        (r.state, r.deadline, r.remaining_ms),
        (TimerState::Running, Some(T0 + 170 * SEC), None)
    );
    fx.refuse(
        "f",
        ClientMsg::TimerResume {
            timer_id: t.id.clone(),
        },
        ErrorCode::Invalid,
    );

    let out = fx.ok(
        "f",
        ClientMsg::TimerExtend {
            timer_id: t.id.clone(),
            secs: 15,
        },
    );
    let e = timer_of(&out);
    assert_eq!((e.deadline, e.duration_ms), (Some(T0 + 185 * SEC), 75_000));
    assert_eq!(fx.room.next_deadline(), Some(T0 + 185 * SEC));
    fx.refuse(
        "f",
        ClientMsg::TimerExtend {
            timer_id: t.id.clone(),
            secs: 0,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::TimerExtend {
            timer_id: t.id.clone(),
            secs: 3601,
        },
        ErrorCode::Invalid,
    );

    // Extending a paused timer adds to what remains.
    fx.ok(
        "f",
        ClientMsg::TimerPause {
            timer_id: t.id.clone(),
        },
    );
    let out = fx.ok(
        "f",
        ClientMsg::TimerExtend {
            timer_id: t.id.clone(),
            secs: 5,
        },
    );
    assert_eq!(timer_of(&out).remaining_ms, Some(60_000));

    for bad in [
        ClientMsg::TimerPause {
            timer_id: "x".into(),
        },
        ClientMsg::TimerResume {
            timer_id: "x".into(),
        },
        ClientMsg::TimerExtend {
            timer_id: "x".into(),
            secs: 5,
        },
        ClientMsg::TimerCancel {
            timer_id: "x".into(),
        },
    ] {
        fx.refuse("f", bad, ErrorCode::NotFound);
    }
    fx.refuse(
        "f",
        ClientMsg::TimerStart {
            name: "x".into(),
            duration_secs: 0,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::TimerStart {
            name: "x".into(),
            duration_secs: 24 * 3600 + 1,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::TimerStart {
            name: " ".into(),
            duration_secs: 5,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::TimerStart {
            name: "x".repeat(61),
            duration_secs: 5,
        },
        ErrorCode::TooLarge,
    );
}

#[test]
fn timer_expires_exactly_once() {
    let mut fx = Fx::new();
    let out = fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "Break".into(),
            duration_secs: 30,
        },
    );
    let t = timer_of(&out);
    assert!(fx.tick(T0).is_empty());
    assert!(fx.tick(T0 + 30 * SEC - 1).is_empty());
    let out = fx.tick(T0 + 30 * SEC);
    let (aud, _, Event::TimerExpired { timer_id, name }) = one(&out, "timer_expired") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!((timer_id, name.as_str()), (&t.id, "Break"));
    assert_eq!(kinds(&out).len(), 1);
    for k in 1..20 {
        assert!(fx.tick(T0 + 30 * SEC + k * 1000).is_empty());
    }
    assert_eq!(fx.room.next_deadline(), None);
    assert!(fx.snapshot("c1").timers.is_empty());
    fx.refuse(
        "f",
        ClientMsg::TimerPause { timer_id: t.id },
        ErrorCode::NotFound,
    );
}

#[test]
fn several_timers_expire_independently() {
    let mut fx = Fx::new();
    let a = timer_of(&fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "A".into(),
            duration_secs: 10,
        },
    ));
    let b = timer_of(&fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "B".into(),
            duration_secs: 20,
        },
    ));
    assert_eq!(fx.room.next_deadline(), Some(T0 + 10 * SEC));
    let out = fx.tick(T0 + 15 * SEC);
    let (_, _, Event::TimerExpired { timer_id, .. }) = one(&out, "timer_expired") else {
        unreachable!()
    };
    assert_eq!(timer_id, &a.id);
    assert_eq!(fx.room.next_deadline(), Some(T0 + 20 * SEC));
    // A late tick past both deadlines still yields one expiry for B only.
    let out = fx.tick(T0 + 60 * SEC);
    let (_, _, Event::TimerExpired { timer_id, .. }) = one(&out, "timer_expired") else {
        unreachable!()
    };
    assert_eq!(timer_id, &b.id);
}

#[test]
fn cancelled_timer_never_expires() {
    let mut fx = Fx::new();
    let t = timer_of(&fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "Speaker".into(),
            duration_secs: 10,
        },
    ));
    let out = fx.ok(
        "f",
        ClientMsg::TimerCancel {
            timer_id: t.id.clone(),
        },
    );
    let c = timer_of(&out);
    assert_eq!(
        (c.id.as_str(), c.state, c.deadline),
        (t.id.as_str(), TimerState::Cancelled, None)
    );
    assert_eq!(fx.room.next_deadline(), None);
    assert!(fx.tick(T0 + 60 * SEC).is_empty());
    fx.refuse(
        "f",
        ClientMsg::TimerCancel { timer_id: t.id },
        ErrorCode::NotFound,
    );
}

#[test]
fn at_most_twenty_timers() {
    let mut fx = Fx::new();
    for i in 0..20 {
        fx.ok(
            "f",
            ClientMsg::TimerStart {
                name: format!("t{i}"),
                duration_secs: 60,
            },
        );
    }
    fx.refuse(
        "f",
        ClientMsg::TimerStart {
            name: "one more".into(),
            duration_secs: 60,
        },
        ErrorCode::Invalid,
    );
}
