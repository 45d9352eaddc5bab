//! The end-of-session summary as Markdown: highlights and aggregates, never the transcript.

use huddle_protocol::{HighlightTag, Summary};

fn fmt_time(ms: u64) -> String {
    // UTC, minute precision, without a date crate: days since epoch → civil date.
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m) = (rem / 3600, (rem % 3600) / 60);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02} UTC")
}

/// Escape characters that Markdown would interpret, so user text stays text.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

pub fn markdown(s: &Summary) -> String {
    let mut o = String::new();
    o.push_str(&format!("# {}\n\n", md(&s.title)));
    o.push_str(&format!(
        "Session summary: {} to {}. Highlights only; the conversation itself is not kept.\n\n",
        fmt_time(s.started_at),
        fmt_time(s.ended_at)
    ));
    for (tag, heading) in [
        (HighlightTag::Consensus, "Points of consensus"),
        (HighlightTag::Takeaway, "Key takeaways"),
        (HighlightTag::Action, "Actions"),
    ] {
        let items: Vec<_> = s.highlights.iter().filter(|h| h.tag == tag).collect();
        if items.is_empty() {
            continue;
        }
        o.push_str(&format!("## {heading}\n\n"));
        for h in items {
            o.push_str(&format!("- {} (+{})\n", md(&h.text), h.agreed.len()));
        }
        o.push('\n');
    }
    if !s.energy_checks.is_empty() {
        o.push_str("## Energy checks\n\n| # | answers | 1 | 2 | 3 | 4 | 5 |\n|---|---|---|---|---|---|---|\n");
        for (i, c) in s.energy_checks.iter().enumerate() {
            // Levels only when the room was shown them (k answers or more):
            // a check with fewer answers shows its count alone.
            let Some(d) = c.distribution else {
                o.push_str(&format!(
                    "| {} | {} | – | – | – | – | – |\n",
                    i + 1,
                    c.count
                ));
                continue;
            };
            let covered: u32 = d.iter().sum();
            let answers = if covered == c.count {
                c.count.to_string()
            } else {
                format!("{} (levels of {covered})", c.count)
            };
            o.push_str(&format!(
                "| {} | {answers} | {} | {} | {} | {} | {} |\n",
                i + 1,
                d[0],
                d[1],
                d[2],
                d[3],
                d[4]
            ));
        }
        if s.energy_checks.iter().any(|c| c.distribution.is_none()) {
            o.push_str("\n– : too few answers to show levels anonymously.\n");
        }
        o.push('\n');
    }
    if !s.energizers.is_empty() {
        o.push_str("## Energizers used\n\n");
        for e in &s.energizers {
            o.push_str(&format!("- {}\n", md(e)));
        }
        o.push('\n');
    }
    if !s.parking_lot.is_empty() {
        o.push_str("## Parking lot\n\n");
        for p in &s.parking_lot {
            o.push_str(&format!("- {}\n", md(&p.text)));
        }
        o.push('\n');
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use huddle_protocol::{EnergyCheck, Highlight};

    #[test]
    fn markdown_has_sections_and_escapes_user_text() {
        let s = Summary {
            room_id: "r".into(),
            title: "Night shift <b>".into(),
            started_at: 0,
            ended_at: 3_600_000,
            highlights: vec![Highlight {
                id: "h".into(),
                tag: HighlightTag::Takeaway,
                text: "Ask for help *early*".into(),
                message_id: None,
                agreed: vec!["a".into(), "b".into()],
            }],
            energy_checks: vec![
                EnergyCheck {
                    id: "e".into(),
                    open: false,
                    count: 4,
                    distribution: Some([0, 1, 0, 3, 0]),
                },
                EnergyCheck {
                    id: "e2".into(),
                    open: false,
                    count: 2,
                    distribution: None,
                },
                EnergyCheck {
                    id: "e3".into(),
                    open: false,
                    count: 7,
                    distribution: Some([1, 1, 1, 0, 0]),
                },
            ],
            energizers: vec!["Stretch break".into()],
            parking_lot: vec![],
        };
        let m = markdown(&s);
        assert!(m.starts_with("# Night shift \\<b\\>\n"));
        assert!(m.contains("1970-01-01 00:00 UTC to 1970-01-01 01:00 UTC"));
        assert!(m.contains("## Key takeaways\n\n- Ask for help \\*early\\* (+2)"));
        assert!(m.contains("| 1 | 4 | 0 | 1 | 0 | 3 | 0 |"));
        // Fewer than k answers: the count alone, never levels.
        assert!(m.contains("| 2 | 2 | – | – | – | – | – |"));
        assert!(m.contains("| 3 | 7 (levels of 3) | 1 | 1 | 1 | 0 | 0 |"));
        assert!(m.contains("too few answers"));
        assert!(m.contains("- Stretch break"));
        assert!(!m.contains("Points of consensus"));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(fmt_time(1_795_000_000_000), "2026-11-18 11:06 UTC");
    }
}
