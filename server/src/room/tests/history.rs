//! Earlier messages: none from before one's arrival by default, sharing them
//! after the ground rules when the room allows it, paging back, and frames
//! that stay bounded whatever the transcript holds.

use super::*;

/// The one `history` reply to `conn` in `out`: (messages, next_before_seq).
fn history_in(out: &[Out], conn: &str) -> Option<(Vec<ChatMessage>, Option<u64>)> {
    let h: Vec<_> = replies(out, conn)
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::History {
                messages,
                next_before_seq,
            } => Some((messages.clone(), *next_before_seq)),
            _ => None,
        })
        .collect();
    assert!(h.len() <= 1, "more than one history frame: {h:?}");
    h.into_iter().next()
}

fn texts(ms: &[ChatMessage]) -> Vec<&str> {
    ms.iter().map(|m| m.text.as_str()).collect()
}

fn before(before_seq: u64, limit: u32) -> ClientMsg {
    ClientMsg::HistoryBefore { before_seq, limit }
}

/// Page back from `start` with `history_before` until there is nothing older;
/// every page's frame is checked against the documented maximum.
fn page_all(fx: &mut Fx, conn: &str, start: Option<u64>, limit: u32) -> Vec<ChatMessage> {
    let mut got: Vec<ChatMessage> = Vec::new();
    let mut next = start;
    let mut pages = 0;
    while let Some(b) = next {
        let out = fx.ok(conn, before(b, limit));
        assert!(events(&out).is_empty(), "a page is no event");
        for o in &out {
            assert_frames_bounded(o);
        }
        let (page, n) = history_in(&out, conn).expect("a history reply");
        assert!(page.iter().all(|m| m.seq < b), "only older than before_seq");
        assert!(page.windows(2).all(|w| w[0].seq < w[1].seq), "oldest first");
        let mut all = page;
        all.append(&mut got);
        got = all;
        next = n;
        pages += 1;
        assert!(pages < 1000, "paging never ends");
    }
    got
}

fn frame_len(msg: &ServerMsg) -> usize {
    serde_json::to_string(msg).unwrap().len()
}

fn assert_frames_bounded(o: &Out) {
    if let Out::Frame { msg, .. } = o {
        let n = frame_len(msg);
        assert!(
            n <= MAX_ROOM_FRAME_BYTES,
            "a {} byte frame: {}",
            n,
            serde_json::to_value(msg).unwrap()["type"]
        );
    }
}

#[test]
fn a_newcomer_gets_no_messages_from_before_they_arrived() {
    let mut fx = Fx::new();
    fx.post("c1", "before you came");
    fx.post("f", "also before");
    fx.join_raw("c3", "Late", None, None).unwrap();
    let out = fx.out();
    let (_, snap, _) = fx.record("c3", &out);
    assert!(snap.messages.is_empty(), "{:?}", texts(&snap.messages));
    assert_eq!(snap.next_before_seq, None);
    assert!(!snap.info.share_history, "off by default");
    // Accepting the rules brings nothing either; nor does asking.
    let out = fx.ok("c3", ClientMsg::AcceptRules { version: 1 });
    assert_eq!(history_in(&out, "c3"), None);
    let out = fx.ok("c3", before(u64::MAX, 200));
    assert_eq!(history_in(&out, "c3"), Some((vec![], None)));
    // What comes after the arrival is theirs, also in a fresh welcome.
    fx.post("c2", "after you came");
    fx.disconnect("c3");
    let r = Resume {
        epoch: "stale".into(),
        ..fx.resume_of("c3", 0)
    };
    fx.join_raw("c3b", "", None, Some(&r)).unwrap();
    let out = fx.out();
    let (_, snap, reset) = welcome_in(&out, "c3b").unwrap();
    assert!(reset);
    assert_eq!(texts(&snap.messages), vec!["after you came"]);
    // Members who were there see everything.
    assert_eq!(
        texts(&fx.snapshot("c1").messages),
        vec!["before you came", "also before", "after you came"]
    );
}

#[test]
fn facilitators_see_the_whole_transcript() {
    let mut fx = Fx::new();
    fx.post("c1", "one");
    fx.post("c2", "two");
    // A facilitator arriving late.
    fx.join_raw("f2", "Dr Late", Some(KEY), None).unwrap();
    let out = fx.out();
    let (_, snap, _) = fx.record("f2", &out);
    assert_eq!(texts(&snap.messages), vec!["one", "two"]);
    // A late participant promoted to co-facilitator may read back.
    let c3 = fx.add("c3", "Late");
    let out = fx.ok("c3", before(u64::MAX, 50));
    assert_eq!(history_in(&out, "c3"), Some((vec![], None)));
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: c3.clone(),
        },
    );
    let out = fx.ok("c3", before(u64::MAX, 50));
    let (page, next) = history_in(&out, "c3").unwrap();
    assert_eq!((texts(&page), next), (vec!["one", "two"], None));
    // ... and demoted, is back to what a participant may read.
    fx.ok("f", ClientMsg::Demote { member_id: c3 });
    let out = fx.ok("c3", before(u64::MAX, 50));
    assert_eq!(history_in(&out, "c3"), Some((vec![], None)));
}

#[test]
fn sharing_earlier_messages_waits_for_the_ground_rules() {
    let mut fx = Fx::new();
    fx.post("c1", "one");
    fx.post("c2", "two");
    fx.refuse(
        "c1",
        ClientMsg::SetShareHistory { enabled: true },
        ErrorCode::Forbidden,
    );
    let out = fx.ok("f", ClientMsg::SetShareHistory { enabled: true });
    assert!(info_of(&out).share_history);
    assert!(fx.room.info().share_history);
    fx.join_raw("c3", "Late", None, None).unwrap();
    let out = fx.out();
    let (_, snap, _) = fx.record("c3", &out);
    assert!(snap.messages.is_empty());
    assert_eq!(snap.next_before_seq, None, "not before the rules");
    assert!(snap.info.share_history);
    let out = fx.ok("c3", before(u64::MAX, 50));
    assert_eq!(history_in(&out, "c3"), Some((vec![], None)));
    fx.post("c1", "three");
    // Accepting the rules: the earlier messages come, privately, after the update.
    let out = fx.ok("c3", ClientMsg::AcceptRules { version: 1 });
    assert_eq!(member_of(&out).accepted_rules, 1);
    let (page, next) = history_in(&out, "c3").expect("the earlier messages");
    assert_eq!((texts(&page), next), (vec!["one", "two"], None));
    assert!(matches!(
        out.last(),
        Some(Out::Frame { audience: Audience::Conn(c), msg: ServerMsg::History { .. } }) if c == "c3"
    ));
    // From now on they may read back, and a fresh welcome carries everything.
    let out = fx.ok("c3", before(u64::MAX, 50));
    let (page, _) = history_in(&out, "c3").unwrap();
    assert_eq!(texts(&page), vec!["one", "two", "three"]);
    // Only once: accepting new rules later sends nothing again.
    fx.ok(
        "f",
        ClientMsg::SetGroundRules {
            rules: vec!["Be kind.".into()],
        },
    );
    let out = fx.ok("c3", ClientMsg::AcceptRules { version: 2 });
    assert_eq!(history_in(&out, "c3"), None);
    // Switched off: the next newcomer gets nothing from before, even after the rules.
    let out = fx.ok("f", ClientMsg::SetShareHistory { enabled: false });
    assert!(!info_of(&out).share_history);
    fx.add("c4", "Later");
    let out = fx.ok("c4", ClientMsg::AcceptRules { version: 2 });
    assert_eq!(history_in(&out, "c4"), None);
    let out = fx.ok("c4", before(u64::MAX, 50));
    assert_eq!(history_in(&out, "c4"), Some((vec![], None)));
}

#[test]
fn personal_mutes_hold_in_earlier_messages() {
    let mut fx = Fx::new();
    fx.post("c1", "from c1");
    fx.post("c2", "from c2");
    fx.ok("f", ClientMsg::SetShareHistory { enabled: true });
    fx.add("c3", "Late");
    fx.ok(
        "c3",
        ClientMsg::PersonalMute {
            member_id: fx.id("c1"),
        },
    );
    let out = fx.ok("c3", ClientMsg::AcceptRules { version: 1 });
    let (page, _) = history_in(&out, "c3").unwrap();
    assert_eq!(texts(&page), vec!["from c2"]);
}

#[test]
fn arrival_from_the_waiting_room_counts_from_admission() {
    let mut fx = Fx::new();
    fx.ok("f", ClientMsg::SetWaitingRoom { enabled: true });
    fx.join_raw("w", "Waiting", None, None).unwrap();
    let (_, queue) = waiting_of(&fx.out());
    fx.post("c1", "said while you waited");
    let out = fx.ok(
        "f",
        ClientMsg::Admit {
            member_id: queue[0].member_id.clone(),
        },
    );
    let (_, snap, _) = fx.record("w", &out);
    assert!(snap.messages.is_empty());
    fx.post("c1", "said after");
    assert_eq!(texts(&fx.snapshot("w").messages), vec!["said after"]);
}

#[test]
fn a_resume_replays_what_was_missed_never_what_came_before_arrival() {
    let mut fx = Fx::new();
    fx.post("c1", "before");
    let c3 = fx.add("c3", "Late");
    fx.ok("c3", ClientMsg::AcceptRules { version: 1 });
    let seen = fx.room.seq();
    fx.disconnect("c3");
    fx.post("c1", "while away");
    // The honest resume gets what it missed.
    fx.resume("c3", "c3b");
    fx.disconnect("c3b");
    // A resume that claims to have seen nothing gets nothing from before arrival.
    let r = fx.resume_of("c3b", 0);
    fx.join_raw("c3c", "", None, Some(&r)).unwrap();
    let out = fx.out();
    let replayed: Vec<&str> = replies(&out, "c3c")
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::Event {
                event: Event::Chat { message },
                ..
            } => Some(message.text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(replayed, vec!["while away"]);
    assert!(seen > 0 && !c3.is_empty());
}

#[test]
fn a_message_one_may_not_read_cannot_be_parked() {
    let mut fx = Fx::new();
    let m = fx.post("c1", "before you came");
    fx.ok("f", ClientMsg::AllowParking { enabled: true });
    fx.add("c3", "Late");
    fx.ok("c3", ClientMsg::AcceptRules { version: 1 });
    fx.refuse(
        "c3",
        ClientMsg::Park {
            message_id: Some(m.clone()),
            text: None,
        },
        ErrorCode::NotFound,
    );
    fx.ok(
        "c1",
        ClientMsg::Park {
            message_id: Some(m),
            text: None,
        },
    );
}

/// A room whose transcript (restored from an older stored state) holds `n`
/// messages of `text`, all sent before anyone now present arrived.
fn old_transcript(n: u64, text: &str) -> Fx {
    let mut fx = Fx::with(group(), Limits::default(), &[]);
    let base = fx.room.seq;
    for k in 1..=n {
        fx.room.messages.push_back(ChatMessage {
            id: format!("old{k:09}"),
            seq: base + k,
            from: "gone".into(),
            name: "\u{1}".repeat(40),
            text: text.to_string(),
            ts: T0,
            reactions: Default::default(),
        });
    }
    fx.room.seq = base + n;
    fx.last_seq = fx.room.seq;
    fx
}

#[test]
fn welcome_and_pages_stay_within_the_frame_budget() {
    // 200 maximum-length messages, every character one that JSON escapes 6×
    // (refused from now on, but an older stored state may hold them).
    let worst = "\u{1}".repeat(Limits::default().max_text);
    let mut fx = old_transcript(200, &worst);
    assert_eq!(fx.room.messages.len(), 200);
    // A facilitator's welcome.
    fx.join_raw("f2", "Dr Two", Some(KEY), None).unwrap();
    let out = fx.out();
    out.iter().for_each(assert_frames_bounded);
    let (_, snap, _) = fx.record("f2", &out);
    assert!(!snap.messages.is_empty() && snap.messages.len() < 200);
    let bytes: usize = snap
        .messages
        .iter()
        .map(|m| serde_json::to_string(m).unwrap().len())
        .sum();
    assert!(bytes <= HISTORY_BUDGET_BYTES, "{bytes} bytes of messages");
    let last = fx.room.messages.back().unwrap().seq;
    assert_eq!(snap.messages.last().unwrap().seq, last, "the newest ones");
    let oldest = snap.messages[0].seq;
    assert_eq!(snap.next_before_seq, Some(oldest));
    // Paging back brings every older message exactly once, in order.
    let mut all = page_all(&mut fx, "f2", snap.next_before_seq, 200);
    all.extend(snap.messages.clone());
    let want: Vec<u64> = fx.room.messages.iter().map(|m| m.seq).collect();
    assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), want);
    // Small pages too.
    let small = page_all(&mut fx, "f2", Some(last + 1), 3);
    assert_eq!(small.len(), 200);
    // Sharing with a newcomer after the rules: bounded the same way.
    fx.ok("f", ClientMsg::SetShareHistory { enabled: true });
    fx.add("c1", "Late");
    let out = fx.ok("c1", ClientMsg::AcceptRules { version: 1 });
    out.iter().for_each(assert_frames_bounded);
    let (page, next) = history_in(&out, "c1").unwrap();
    assert!(!page.is_empty() && page.len() < 200);
    assert_eq!(next, Some(page[0].seq));
    // A fresh welcome of an entitled participant too.
    fx.disconnect("c1");
    let r = Resume {
        epoch: "stale".into(),
        ..fx.resume_of("c1", 0)
    };
    fx.join_raw("c1b", "", None, Some(&r)).unwrap();
    let out = fx.out();
    out.iter().for_each(assert_frames_bounded);
    let (_, snap, _) = welcome_in(&out, "c1b").unwrap();
    assert!(!snap.messages.is_empty() && snap.next_before_seq.is_some());
}

#[test]
fn a_message_larger_than_the_budget_comes_alone_and_paging_goes_on() {
    let mut fx = old_transcript(3, "small");
    // One message whose reactions alone are over the 64 KiB budget.
    let big = fx.room.messages.get_mut(1).unwrap();
    for e in REACTION_EMOJI {
        big.reactions.insert(
            e.to_string(),
            (0..1200).map(|n| format!("{n:012}")).collect(),
        );
    }
    let big_seq = big.seq;
    let big_len = serde_json::to_string(&*big).unwrap().len();
    assert!(big_len > HISTORY_BUDGET_BYTES && big_len < MAX_ROOM_FRAME_BYTES);
    fx.join_raw("f2", "Dr Two", Some(KEY), None).unwrap();
    let out = fx.out();
    out.iter().for_each(assert_frames_bounded);
    let (_, snap, _) = fx.record("f2", &out);
    let seqs: Vec<u64> = snap.messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![big_seq + 1]);
    let older = page_all(&mut fx, "f2", snap.next_before_seq, 200);
    assert_eq!(
        older.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![big_seq - 1, big_seq]
    );
}

#[test]
fn text_copied_from_old_messages_drops_control_characters() {
    let mut fx = old_transcript(1, &"x\u{1}\u{202e}".repeat(600));
    let id = fx.room.messages[0].id.clone();
    let out = fx.ok(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Takeaway,
            message_id: Some(id.clone()),
            text: None,
        },
    );
    assert_eq!(highlight_of(&out).text, "x".repeat(500));
    let out = fx.ok(
        "f",
        ClientMsg::Park {
            message_id: Some(id),
            text: None,
        },
    );
    assert_eq!(parking_of(&out)[0].text, "x".repeat(500));
}
