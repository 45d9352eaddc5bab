//! Energizers: the library, pushing, timing, answers.

use super::*;

#[test]
fn energizer_library_is_listed_to_anyone() {
    let mut fx = Fx::new();
    let out = fx.ok("c1", ClientMsg::ListEnergizers);
    assert!(events(&out).is_empty());
    assert_eq!(
        replies(&out, "c1"),
        vec![&ServerMsg::Energizers {
            energizers: library::energizers()
        }]
    );
}

#[test]
fn push_library_and_custom_energizers() {
    let mut fx = Fx::new();
    let out = fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("stretch".into()),
            prompt: None,
            duration_secs: None,
        },
    );
    let run = started_run(&out);
    assert_eq!(run.energizer_id.as_deref(), Some("stretch"));
    assert_eq!(run.title, "Stretch break");
    assert_eq!(run.prompt, library::energizer("stretch").unwrap().prompt);
    assert!(run.open && run.answers.is_empty() && run.timer_id.is_none());
    assert_eq!(fx.snapshot("c1").energizer, Some(run.clone()));

    // A new push closes the open one first.
    let out = fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: None,
            prompt: Some(" What helped this week? ".into()),
            duration_secs: None,
        },
    );
    assert_eq!(kinds(&out), vec!["energizer_closed", "energizer_started"]);
    let (_, _, Event::EnergizerClosed { run_id }) = one(&out, "energizer_closed") else {
        unreachable!()
    };
    assert_eq!(run_id, &run.id);
    let custom = started_run(&out);
    assert_eq!(
        (custom.energizer_id.clone(), custom.title.as_str()),
        (None, "Energizer")
    );
    assert_eq!(custom.prompt, "What helped this week?");

    fx.refuse(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("nope".into()),
            prompt: None,
            duration_secs: None,
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: None,
            prompt: None,
            duration_secs: None,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: None,
            prompt: Some("  ".into()),
            duration_secs: None,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: None,
            prompt: Some("x".repeat(501)),
            duration_secs: None,
        },
        ErrorCode::TooLarge,
    );
    fx.refuse(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("stretch".into()),
            prompt: None,
            duration_secs: Some(0),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("stretch".into()),
            prompt: None,
            duration_secs: Some(3601),
        },
        ErrorCode::Invalid,
    );
}

#[test]
fn timed_energizer_starts_a_timer() {
    let mut fx = Fx::new();
    let out = fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("one-word".into()),
            prompt: None,
            duration_secs: Some(60),
        },
    );
    let t = timer_of(&out);
    let run = started_run(&out);
    assert_eq!(run.timer_id.as_deref(), Some(t.id.as_str()));
    assert_eq!(
        (t.name.as_str(), t.deadline),
        ("One-word check-in", Some(T0 + 60 * SEC))
    );
    assert_eq!(fx.room.next_deadline(), Some(T0 + 60 * SEC));
    let out = fx.tick(T0 + 60 * SEC);
    one(&out, "timer_expired");
}

/// Push a timed energizer (60 s) and answer it once.
fn timed(fx: &mut Fx, id: &str) -> EnergizerRun {
    started_run(&fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some(id.into()),
            prompt: None,
            duration_secs: Some(60),
        },
    ))
}

#[test]
fn a_timed_energizer_closes_at_its_expiry_exactly_once() {
    let mut fx = Fx::new();
    let run = timed(&mut fx, "one-word");
    fx.ok(
        "c1",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: "Tired".into(),
        },
    );
    assert!(fx.tick(T0 + 60 * SEC - 1).is_empty());
    let out = fx.tick(T0 + 60 * SEC);
    assert_eq!(kinds(&out), vec!["timer_expired", "energizer_closed"]);
    let (aud, _, Event::EnergizerClosed { run_id }) = one(&out, "energizer_closed") else {
        unreachable!()
    };
    assert_eq!((aud, run_id), (&Audience::All, &run.id));
    let shown = fx.snapshot("c2").energizer.unwrap();
    assert!(!shown.open);
    assert_eq!(shown.answers.len(), 1, "answers stay readable");
    fx.refuse(
        "c2",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: "Late".into(),
        },
        ErrorCode::NotFound,
    );
    // Ticking again, or on another instance after a takeover: nothing more.
    assert_eq!(fx.room.next_deadline(), None);
    assert!(fx.tick(T0 + 61 * SEC).is_empty());
    let json = serde_json::to_string(&fx.room).unwrap();
    fx.room = serde_json::from_str(&json).unwrap();
    fx.room.restore(vec![]);
    fx.last_seq = fx.room.seq();
    assert!(fx.tick(T0 + 62 * SEC).is_empty());
}

#[test]
fn a_timed_energizer_taken_over_before_expiry_closes_on_the_new_owner() {
    let mut fx = Fx::new();
    let run = timed(&mut fx, "weather");
    let json = serde_json::to_string(&fx.room).unwrap();
    fx.room = serde_json::from_str(&json).unwrap();
    fx.room.restore(vec![]);
    fx.last_seq = fx.room.seq();
    assert_eq!(fx.room.next_deadline(), Some(T0 + 60 * SEC));
    let out = fx.tick(T0 + 90 * SEC);
    assert_eq!(all_of(&out, "energizer_closed").len(), 1);
    assert!(matches!(
        one(&out, "energizer_closed").2,
        Event::EnergizerClosed { run_id } if *run_id == run.id
    ));
}

#[test]
fn an_energizer_closed_or_replaced_early_is_not_closed_again() {
    let mut fx = Fx::new();
    let run = timed(&mut fx, "one-word");
    fx.now = T0 + 10 * SEC;
    fx.ok(
        "f",
        ClientMsg::CloseEnergizer {
            run_id: run.id.clone(),
        },
    );
    assert_eq!(kinds(&fx.tick(T0 + 60 * SEC)), vec!["timer_expired"]);

    // Replaced by an untimed one: the old timer's expiry leaves the new one open.
    let old = timed(&mut fx, "weather");
    fx.now = T0 + 70 * SEC;
    let out = fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("stretch".into()),
            prompt: None,
            duration_secs: None,
        },
    );
    assert!(matches!(
        one(&out, "energizer_closed").2,
        Event::EnergizerClosed { run_id } if *run_id == old.id
    ));
    assert_eq!(kinds(&fx.tick(T0 + 120 * SEC)), vec!["timer_expired"]);
    assert!(fx.snapshot("c1").energizer.unwrap().open);
}

#[test]
fn a_refused_energizer_push_keeps_the_open_one() {
    let mut fx = Fx::new();
    fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("stretch".into()),
            prompt: None,
            duration_secs: None,
        },
    );
    for i in 0..20 {
        fx.ok(
            "f",
            ClientMsg::TimerStart {
                name: format!("t{i}"),
                duration_secs: 600,
            },
        );
    }
    // No timer can be started: the push is refused and the running energizer stays open.
    fx.refuse(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("weather".into()),
            prompt: None,
            duration_secs: Some(60),
        },
        ErrorCode::Invalid,
    );
    assert!(fx.snapshot("c1").energizer.unwrap().open);
}

#[test]
fn energizer_answers_are_shown_to_all_one_per_member() {
    let mut fx = Fx::new();
    let run = started_run(&fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("weather".into()),
            prompt: None,
            duration_secs: None,
        },
    ));
    let c1 = fx.id("c1");
    let out = fx.ok(
        "c1",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: " Foggy ".into(),
        },
    );
    let (aud, _, Event::EnergizerAnswer { run_id, answer }) = one(&out, "energizer_answer") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!(run_id, &run.id);
    assert_eq!(
        (
            answer.member_id.as_str(),
            answer.name.as_str(),
            answer.text.as_str()
        ),
        (c1.as_str(), "Member c1", "Foggy")
    );
    fx.ok(
        "c2",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: "Sunny".into(),
        },
    );
    fx.ok(
        "c1",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: "Clearing up".into(),
        },
    );
    let answers: Vec<(String, String)> = fx
        .snapshot("f")
        .energizer
        .unwrap()
        .answers
        .into_iter()
        .map(|a| (a.name, a.text))
        .collect();
    assert_eq!(
        answers,
        vec![
            ("Member c2".to_string(), "Sunny".to_string()),
            ("Member c1".to_string(), "Clearing up".to_string())
        ]
    );

    fx.refuse(
        "c1",
        ClientMsg::AnswerEnergizer {
            run_id: "nope".into(),
            text: "x".into(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "c1",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: " ".into(),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "c1",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: "x".repeat(281),
        },
        ErrorCode::TooLarge,
    );
    fx.add("c3", "New");
    fx.refuse(
        "c3",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: "x".into(),
        },
        ErrorCode::RulesNotAccepted,
    );

    let out = fx.ok(
        "f",
        ClientMsg::CloseEnergizer {
            run_id: run.id.clone(),
        },
    );
    let (_, _, Event::EnergizerClosed { run_id }) = one(&out, "energizer_closed") else {
        unreachable!()
    };
    assert_eq!(run_id, &run.id);
    assert!(!fx.snapshot("c1").energizer.unwrap().open);
    fx.refuse(
        "c1",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: "late".into(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::CloseEnergizer { run_id: run.id },
        ErrorCode::NotFound,
    );
}
