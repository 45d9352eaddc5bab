//! Chat, ground rules and reactions.

use super::*;

#[test]
fn chat_requires_accepting_the_current_rules() {
    let mut fx = Fx::new();
    let id = fx.add("c3", "Newbie");
    fx.refuse("c3", chat("hi"), ErrorCode::RulesNotAccepted);
    fx.refuse(
        "c3",
        ClientMsg::AcceptRules { version: 2 },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "c3",
        ClientMsg::AcceptRules { version: 0 },
        ErrorCode::Invalid,
    );
    let out = fx.ok("c3", ClientMsg::AcceptRules { version: 1 });
    let m = member_of(&out);
    assert_eq!((m.id.as_str(), m.accepted_rules), (id.as_str(), 1));

    fx.now += 7;
    let out = fx.ok("c3", chat("  hi all \n"));
    let (aud, seq, Event::Chat { message }) = one(&out, "chat") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!(message.text, "hi all");
    assert_eq!(message.from, id);
    assert_eq!(message.name, "Newbie");
    assert_eq!(message.seq, seq);
    assert_eq!(message.ts, fx.now);
    assert!(message.reactions.is_empty());
    assert_eq!(fx.snapshot("c1").messages.last().unwrap(), message);
}

#[test]
fn new_ground_rules_must_be_accepted_again() {
    let mut fx = Fx::new();
    fx.post("c1", "before");
    let out = fx.ok(
        "f",
        ClientMsg::SetGroundRules {
            rules: vec![" Be kind. ".into(), "Keep it here.".into()],
        },
    );
    let (aud, _, Event::RulesUpdated { rules }) = one(&out, "rules_updated") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!(rules.version, 2);
    assert_eq!(rules.rules, vec!["Be kind.", "Keep it here."]);
    assert_eq!(fx.snapshot("c1").rules, *rules);
    fx.refuse("c1", chat("after"), ErrorCode::RulesNotAccepted);
    fx.refuse(
        "c1",
        ClientMsg::AcceptRules { version: 1 },
        ErrorCode::Invalid,
    );
    // The facilitator accepted its own rules.
    fx.post("f", "facilitator still posts");
    assert_eq!(fx.member("f").accepted_rules, 2);
    fx.ok("c1", ClientMsg::AcceptRules { version: 2 });
    fx.post("c1", "after");
    fx.refuse("c2", chat("not yet"), ErrorCode::RulesNotAccepted);

    // Showing the rules again does not bump the version.
    let out = fx.ok("f", ClientMsg::ShowGroundRules);
    let (_, _, Event::RulesShown { rules }) = one(&out, "rules_shown") else {
        unreachable!()
    };
    assert_eq!(rules.version, 2);
    fx.post("c1", "still fine");

    // Invalid rule sets.
    fx.refuse(
        "f",
        ClientMsg::SetGroundRules { rules: vec![] },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::SetGroundRules {
            rules: vec!["r".into(); 21],
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::SetGroundRules {
            rules: vec!["ok".into(), "  ".into()],
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::SetGroundRules {
            rules: vec!["x".repeat(301)],
        },
        ErrorCode::TooLarge,
    );
}

#[test]
fn muted_members_cannot_post() {
    let mut fx = Fx::new();
    let msg = fx.post("c2", "something");
    let c1 = fx.id("c1");
    let out = fx.ok(
        "f",
        ClientMsg::Mute {
            member_id: c1.clone(),
        },
    );
    let m = member_of(&out);
    assert!(m.muted && m.id == c1);
    // Muting twice changes nothing.
    let out = fx.ok(
        "f",
        ClientMsg::Mute {
            member_id: c1.clone(),
        },
    );
    assert!(out.is_empty());
    fx.refuse("c1", chat("hello"), ErrorCode::Muted);
    fx.refuse(
        "c1",
        ClientMsg::React {
            message_id: msg,
            emoji: "👍".into(),
        },
        ErrorCode::Muted,
    );
    fx.post("c2", "others still can");
    let out = fx.ok(
        "f",
        ClientMsg::Unmute {
            member_id: c1.clone(),
        },
    );
    assert!(!member_of(&out).muted);
    fx.post("c1", "back");
    fx.refuse(
        "f",
        ClientMsg::Mute {
            member_id: "nobody".into(),
        },
        ErrorCode::NotFound,
    );
}

#[test]
fn slow_mode_spaces_out_participant_messages() {
    let mut fx = Fx::new();
    let out = fx.ok("f", ClientMsg::SlowMode { secs: 10 });
    assert_eq!(info_of(&out).slow_mode_secs, 10);
    fx.post("c1", "one");
    fx.now += 5 * SEC;
    fx.refuse("c1", chat("two"), ErrorCode::SlowMode);
    // Other members and the facilitator are not held back by c1's post.
    fx.post("c2", "mine");
    fx.post("f", "lead");
    fx.post("f", "lead again");
    fx.now += 5 * SEC - 1;
    fx.refuse("c1", chat("two"), ErrorCode::SlowMode);
    fx.now += 1;
    fx.post("c1", "two");
    fx.refuse("c1", chat("three"), ErrorCode::SlowMode);
    // Turning it off lifts the limit.
    fx.ok("f", ClientMsg::SlowMode { secs: 0 });
    fx.post("c1", "three");
    fx.refuse("f", ClientMsg::SlowMode { secs: 3601 }, ErrorCode::Invalid);
}

#[test]
fn chat_text_is_checked() {
    let mut fx = Fx::new();
    fx.refuse("c1", chat(""), ErrorCode::Invalid);
    fx.refuse("c1", chat(" \n\t "), ErrorCode::Invalid);
    fx.refuse("c1", chat(&"x".repeat(2001)), ErrorCode::TooLarge);
    fx.refuse("f", chat(&"é".repeat(2001)), ErrorCode::TooLarge);
    fx.post("c1", &"é".repeat(2000));
    // Text is kept verbatim (rendering as text is the client's job).
    let id = fx.post("c2", "<b>hi</b>");
    let snap = fx.snapshot("c1");
    assert_eq!(
        snap.messages.iter().find(|m| m.id == id).unwrap().text,
        "<b>hi</b>"
    );
}

#[test]
fn recent_messages_are_bounded() {
    let limits = Limits {
        recent_messages: 3,
        ..Limits::default()
    };
    let mut fx = Fx::with(group(), limits, &["c1"]);
    for i in 0..5 {
        fx.post("c1", &format!("m{i}"));
    }
    let texts: Vec<String> = fx
        .snapshot("c1")
        .messages
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, vec!["m2", "m3", "m4"]);
}

#[test]
fn reactions_toggle() {
    let mut fx = Fx::new();
    let msg = fx.post("c1", "rough night");
    let c2 = fx.id("c2");
    let out = fx.ok(
        "c2",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: " 🙏 ".into(),
        },
    );
    let (
        aud,
        _,
        Event::Reaction {
            message_id,
            emoji,
            member_id,
            on,
        },
    ) = one(&out, "reaction")
    else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!(
        (message_id, emoji.as_str(), member_id, *on),
        (&msg, "🙏", &c2, true)
    );
    let snap = fx.snapshot("c1");
    assert_eq!(
        snap.messages[0].reactions.get("🙏"),
        Some(&vec![c2.clone()])
    );
    fx.ok(
        "f",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "🙏".into(),
        },
    );
    assert_eq!(fx.snapshot("c1").messages[0].reactions["🙏"].len(), 2);

    let out = fx.ok(
        "c2",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "🙏".into(),
        },
    );
    let (_, _, Event::Reaction { on, .. }) = one(&out, "reaction") else {
        unreachable!()
    };
    assert!(!on);
    assert_eq!(
        fx.snapshot("c1").messages[0].reactions["🙏"],
        vec![fx.id("f")]
    );
    fx.ok(
        "f",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "🙏".into(),
        },
    );
    assert!(fx.snapshot("c1").messages[0].reactions.is_empty());

    fx.refuse(
        "c2",
        ClientMsg::React {
            message_id: "nope".into(),
            emoji: "👍".into(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "c2",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "  ".into(),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "c2",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "123456789".into(),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "c2",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "a\u{0}".into(),
        },
        ErrorCode::Invalid,
    );
    let c3 = fx.add("c3", "New");
    assert!(!c3.is_empty());
    fx.refuse(
        "c3",
        ClientMsg::React {
            message_id: msg,
            emoji: "👍".into(),
        },
        ErrorCode::RulesNotAccepted,
    );
}

#[test]
fn reactions_only_from_the_allowed_set() {
    let mut fx = Fx::new();
    let msg = fx.post("c1", "popular");
    let react = |emoji: &str| ClientMsg::React {
        message_id: msg.clone(),
        emoji: emoji.into(),
    };
    // What the web client offers, and nothing else.
    assert_eq!(REACTION_EMOJI, ["👍", "❤️", "🙏", "💡", "🤝"]);
    for e in REACTION_EMOJI {
        let out = fx.ok("c2", react(&format!(" {e} ")));
        let (_, _, Event::Reaction { emoji, on, .. }) = one(&out, "reaction") else {
            unreachable!()
        };
        assert_eq!((emoji.as_str(), *on), (*e, true));
    }
    // The heart without its emoji presentation selector is the same heart.
    let out = fx.ok("c1", react("\u{2764}"));
    let (_, _, Event::Reaction { emoji, .. }) = one(&out, "reaction") else {
        unreachable!()
    };
    assert_eq!(emoji, "❤️");
    for bad in [
        "💙",
        "🙂",
        "+1",
        "e1",
        "👍👍",
        "👍🏽",
        "",
        "  ",
        "a\u{0}",
        "\u{202e}👍",
        "123456789",
    ] {
        fx.refuse("c2", react(bad), ErrorCode::Invalid);
        let err = fx.cmd("c2", react(bad)).unwrap_err();
        assert!(err.to_string().contains("👍"), "{err}");
    }
    assert_eq!(fx.snapshot("c1").messages[0].reactions.len(), 5);
}
