//! Highlights and agreeing with them.

use super::*;

#[test]
fn highlights_from_messages_and_text() {
    let mut fx = Fx::new();
    let msg = fx.post("c1", "We all feel the staffing strain");
    let h = highlight_of(&fx.ok(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Consensus,
            message_id: Some(msg.clone()),
            text: None,
        },
    ));
    assert_eq!(
        (h.tag, h.text.as_str(), h.message_id.as_deref()),
        (
            HighlightTag::Consensus,
            "We all feel the staffing strain",
            Some(msg.as_str())
        )
    );
    assert!(h.agreed.is_empty());
    let h2 = highlight_of(&fx.ok(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Takeaway,
            message_id: None,
            text: Some(" Ask for help early ".into()),
        },
    ));
    assert_eq!(
        (h2.text.as_str(), h2.message_id.clone()),
        ("Ask for help early", None)
    );
    let ids: Vec<String> = fx
        .snapshot("c2")
        .highlights
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(ids, vec![h.id.clone(), h2.id.clone()]);

    fx.refuse(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Action,
            message_id: Some("nope".into()),
            text: None,
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Action,
            message_id: None,
            text: None,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Action,
            message_id: None,
            text: Some(" ".into()),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Action,
            message_id: None,
            text: Some("x".repeat(501)),
        },
        ErrorCode::TooLarge,
    );

    let e = highlight_of(&fx.ok(
        "f",
        ClientMsg::EditHighlight {
            highlight_id: h2.id.clone(),
            tag: Some(HighlightTag::Action),
            text: Some("Ask for help early, always".into()),
        },
    ));
    assert_eq!(
        (e.id.as_str(), e.tag, e.text.as_str()),
        (
            h2.id.as_str(),
            HighlightTag::Action,
            "Ask for help early, always"
        )
    );
    let e = highlight_of(&fx.ok(
        "f",
        ClientMsg::EditHighlight {
            highlight_id: h2.id.clone(),
            tag: Some(HighlightTag::Consensus),
            text: None,
        },
    ));
    assert_eq!(
        (e.tag, e.text.as_str()),
        (HighlightTag::Consensus, "Ask for help early, always")
    );
    fx.refuse(
        "f",
        ClientMsg::EditHighlight {
            highlight_id: "nope".into(),
            tag: None,
            text: Some("x".into()),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::EditHighlight {
            highlight_id: h2.id.clone(),
            tag: None,
            text: Some(" ".into()),
        },
        ErrorCode::Invalid,
    );

    let out = fx.ok(
        "f",
        ClientMsg::RemoveHighlight {
            highlight_id: h.id.clone(),
        },
    );
    let (_, _, Event::HighlightRemoved { highlight_id }) = one(&out, "highlight_removed") else {
        unreachable!()
    };
    assert_eq!(highlight_id, &h.id);
    assert_eq!(fx.snapshot("c1").highlights.len(), 1);
    fx.refuse(
        "f",
        ClientMsg::RemoveHighlight {
            highlight_id: h.id.clone(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "c1",
        ClientMsg::Agree { highlight_id: h.id },
        ErrorCode::NotFound,
    );
}

#[test]
fn agree_once_each_and_unagree() {
    let mut fx = Fx::new();
    let h = highlight_of(&fx.ok(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Takeaway,
            message_id: None,
            text: Some("Sleep matters".into()),
        },
    ));
    let (c1, c2) = (fx.id("c1"), fx.id("c2"));
    let a = highlight_of(&fx.ok(
        "c1",
        ClientMsg::Agree {
            highlight_id: h.id.clone(),
        },
    ));
    assert_eq!(a.agreed, vec![c1.clone()]);
    // Agreeing again is accepted and changes nothing.
    assert!(fx
        .ok(
            "c1",
            ClientMsg::Agree {
                highlight_id: h.id.clone()
            }
        )
        .is_empty());
    let a = highlight_of(&fx.ok(
        "c2",
        ClientMsg::Agree {
            highlight_id: h.id.clone(),
        },
    ));
    assert_eq!(a.agreed, vec![c1.clone(), c2.clone()]);
    let a = highlight_of(&fx.ok(
        "c1",
        ClientMsg::Unagree {
            highlight_id: h.id.clone(),
        },
    ));
    assert_eq!(a.agreed, vec![c2.clone()]);
    assert!(fx
        .ok(
            "c1",
            ClientMsg::Unagree {
                highlight_id: h.id.clone()
            }
        )
        .is_empty());
    assert_eq!(fx.snapshot("c1").highlights[0].agreed, vec![c2]);
    fx.refuse(
        "c1",
        ClientMsg::Agree {
            highlight_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "c1",
        ClientMsg::Unagree {
            highlight_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );
}
