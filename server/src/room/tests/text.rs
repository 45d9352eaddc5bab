//! Clean text: every free-text field refuses control and bidi-override characters.

use super::*;

/// Control characters and bidi formatting characters every field refuses.
const BAD: &[&str] = &[
    "\u{0}",
    "\u{7}",
    "\u{1b}[31m",
    "\r",
    "\u{7f}",
    "\u{85}",
    "\u{9b}",
    "\u{202a}",
    "\u{202b}",
    "\u{202c}",
    "\u{202d}",
    "\u{202e}",
    "\u{2066}",
    "\u{2067}",
    "\u{2068}",
    "\u{2069}",
    "\u{200e}",
    "\u{200f}",
    "\u{061c}",
];

/// The field name the refusal names, when the refusal is `invalid_text`.
fn field_of(r: R) -> &'static str {
    match r {
        Err(RoomError::InvalidText { field }) => field,
        other => panic!("expected invalid_text, got {other:?}"),
    }
}

/// Fx with an open custom energizer and one highlight; returns (run id, highlight id).
fn with_energizer_and_highlight(fx: &mut Fx) -> (String, String) {
    let out = fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: None,
            prompt: Some("How are you arriving?".into()),
            duration_secs: None,
        },
    );
    let run = started_run(&out).id;
    let out = fx.ok(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Takeaway,
            message_id: None,
            text: Some("Sleep matters".into()),
        },
    );
    (run, highlight_of(&out).id)
}

/// Every command with free text, carrying `t` in it, and the field its refusal names.
fn every_text_command(
    t: &str,
    run: &str,
    hl: &str,
) -> Vec<(&'static str, ClientMsg, &'static str)> {
    let s = |x: &str| format!("ok {x} ok");
    vec![
        ("c1", ClientMsg::Chat { text: s(t) }, "message"),
        (
            "c1",
            ClientMsg::AnswerEnergizer {
                run_id: run.into(),
                text: s(t),
            },
            "answer",
        ),
        ("c1", ClientMsg::SupportRequest { note: Some(s(t)) }, "note"),
        (
            "f",
            ClientMsg::Park {
                message_id: None,
                text: Some(s(t)),
            },
            "parking-lot item",
        ),
        (
            "f",
            ClientMsg::SetGroundRules {
                rules: vec!["Be kind.".into(), s(t)],
            },
            "ground rule",
        ),
        ("f", ClientMsg::SetWelcome { text: Some(s(t)) }, "welcome"),
        ("f", ClientMsg::Pin { text: Some(s(t)) }, "pinned text"),
        (
            "f",
            ClientMsg::TimerStart {
                name: s(t),
                duration_secs: 60,
            },
            "timer name",
        ),
        (
            "f",
            ClientMsg::PushEnergizer {
                energizer_id: None,
                prompt: Some(s(t)),
                duration_secs: None,
            },
            "prompt",
        ),
        (
            "f",
            ClientMsg::Highlight {
                tag: HighlightTag::Action,
                message_id: None,
                text: Some(s(t)),
            },
            "highlight",
        ),
        (
            "f",
            ClientMsg::EditHighlight {
                highlight_id: hl.into(),
                tag: None,
                text: Some(s(t)),
            },
            "highlight",
        ),
    ]
}

#[test]
fn every_free_text_field_refuses_control_and_bidi_characters() {
    let mut fx = Fx::new();
    let (run, hl) = with_energizer_and_highlight(&mut fx);
    for bad in BAD {
        for (conn, msg, field) in every_text_command(bad, &run, &hl) {
            let shown = format!("{msg:?}");
            fx.refuse(conn, msg.clone(), ErrorCode::InvalidText);
            assert_eq!(field_of(fx.cmd(conn, msg)), field, "{shown}");
        }
    }
    // Facilitators are held to the same rule as everyone.
    for bad in ["\u{7}", "\u{202e}"] {
        fx.refuse("f", chat(&format!("x{bad}y")), ErrorCode::InvalidText);
    }
}

#[test]
fn a_refused_chat_is_answered_with_an_error_naming_the_field() {
    let mut fx = Fx::new();
    let err = fx
        .cmd("c1", chat("evil \u{202e}txt.exe"))
        .expect_err("refused");
    assert_eq!(err.code(), ErrorCode::InvalidText);
    fx.room.refuse("c1", &err, "chat");
    let out = fx.out();
    match replies(&out, "c1")[..] {
        [ServerMsg::Error {
            code,
            message,
            refused,
        }] => {
            assert_eq!(*code, ErrorCode::InvalidText);
            assert!(message.starts_with("message "), "{message}");
            assert_eq!(refused.as_deref(), Some("chat"));
        }
        ref other => panic!("expected one error frame, got {other:?}"),
    }
    assert!(fx.snapshot("c1").messages.is_empty());
}

#[test]
fn line_breaks_and_tabs_only_in_multi_line_fields() {
    let mut fx = Fx::new();
    let (run, hl) = with_energizer_and_highlight(&mut fx);
    let multi = ["message", "note", "welcome", "prompt", "highlight"];
    for ws in ["\n", "\t"] {
        for (conn, msg, field) in every_text_command(ws, &run, &hl) {
            let shown = format!("{msg:?}");
            if multi.contains(&field) {
                let r = fx.cmd(conn, msg);
                assert!(r.is_ok(), "{shown}: {r:?}");
                fx.out();
            } else {
                fx.refuse(conn, msg, ErrorCode::InvalidText);
            }
        }
    }
    let out = fx.ok("c2", chat("two\nlines\twith a tab"));
    let (_, _, Event::Chat { message }) = one(&out, "chat") else {
        unreachable!()
    };
    assert_eq!(message.text, "two\nlines\twith a tab");
}

#[test]
fn ordinary_unicode_is_untouched() {
    let mut fx = Fx::new();
    // Right-to-left scripts, emoji sequences (zero-width joiner, variation
    // selector), accents: only formatting controls are refused.
    for t in [
        "שלום לכולם",
        "مرحبا",
        "👩‍⚕️ on shift",
        "❤️",
        "Ærøskøbing naïve café",
    ] {
        let out = fx.ok("c1", chat(t));
        let (_, _, Event::Chat { message }) = one(&out, "chat") else {
            unreachable!()
        };
        assert_eq!(message.text, t);
        fx.now += SEC;
    }
}

#[test]
fn display_names_refuse_bidi_overrides_as_invalid_name() {
    let mut fx = Fx::new();
    for bad in [
        "Sam\u{202e}",
        "\u{2066}Sam",
        "Sa\u{200f}m",
        "Sam\u{061c}",
        "Sa\u{85}m",
    ] {
        fx.join_refused("c9", bad, None, None, ErrorCode::InvalidName);
        let r = fx.join_raw("c9", bad, None, None);
        assert!(r.unwrap_err().to_string().contains("bidi"));
    }
    fx.join_refused(
        "f2",
        "Dr\u{202e}Two",
        Some(KEY),
        None,
        ErrorCode::InvalidName,
    );
}

#[test]
fn the_shared_check_function() {
    for bad in BAD {
        assert_eq!(
            crate::room::text::check("title", &format!("a{bad}b")),
            Err(RoomError::InvalidText { field: "title" })
        );
        assert!(crate::room::text::check_lines("message", &format!("a{bad}b")).is_err());
    }
    assert!(crate::room::text::check("title", "a\nb").is_err());
    assert!(crate::room::text::check("title", "a\tb").is_err());
    assert_eq!(crate::room::text::check_lines("message", "a\nb\tc"), Ok(()));
    assert_eq!(
        crate::room::text::check("title", "Night-shift peer circle 🌙"),
        Ok(())
    );
    assert_eq!(
        RoomError::InvalidText { field: "title" }.to_string(),
        "title has control or bidi-override characters"
    );
    assert_eq!(
        crate::room::text::strip_refused("a\u{1}b\u{202e}c\nd"),
        "abc\nd"
    );
}
