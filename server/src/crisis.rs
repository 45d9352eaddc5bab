//! Crisis resources: the built-in ones (911 and 988, in `room::library`)
//! plus the deployment's own from `--crisis-resources FILE`, checked once at
//! startup. A bad file stops the server with one line naming the file and
//! the entry ([`CrisisFileError`]).
//!
//! The file is a JSON list; each entry (unknown fields are refused):
//!
//! ```json
//! [{"label": "Ontario Physician Health Program", "call": "1-800-851-6606",
//!   "hours": "24/7", "region": "ON", "languages": ["en", "fr"]}]
//! ```
//!
//! `label` is required, and at least one of `call`, `text`, `chat_url`;
//! `hours`, `region` (CA or a province/territory code), `languages` (ISO
//! 639-1) and `contact` (human text; made from call/text/chat when absent)
//! are optional.

use crate::room::library::default_crisis_resources;
use huddle_protocol::CrisisResource;
use serde::Deserialize;
use std::path::Path;

/// "CA" for all of Canada, then the provinces and territories.
pub const REGIONS: &[&str] = &[
    "CA", "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
];

/// ISO 639-1 language codes.
const LANGUAGES: &str = "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce \
    ch co cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv \
    ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr \
    ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn \
    no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so \
    sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh \
    yi yo za zh zu";

/// Entries a file may hold at most (a list people read in a crisis).
pub const MAX_ENTRIES: usize = 100;
/// Longest label, hours or contact text, in characters.
const MAX_TEXT: usize = 200;

/// Why the crisis resources file was refused (the server does not start).
#[derive(Debug, thiserror::Error)]
pub enum CrisisFileError {
    #[error("--crisis-resources {file}: cannot read it: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("--crisis-resources {file}: not a JSON list of crisis resources: {source}")]
    Parse {
        file: String,
        source: serde_json::Error,
    },
    #[error("--crisis-resources {file}: the list is empty")]
    Empty { file: String },
    #[error("--crisis-resources {file}: {count} entries, at most {MAX_ENTRIES} are allowed")]
    TooMany { file: String, count: usize },
    #[error("--crisis-resources {file}: entry [{index}] {label}: {problem}")]
    Entry {
        file: String,
        index: usize,
        /// The entry's label in quotes, or "(no label)".
        label: String,
        problem: EntryProblem,
    },
}

/// What is wrong with one entry of the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryProblem {
    #[error("missing label")]
    MissingLabel,
    #[error("no way to reach it: give at least one of call, text, chat_url")]
    Unreachable,
    #[error("{field} {value:?} is not a phone number (digits, spaces, -, (), a leading +)")]
    BadNumber { field: &'static str, value: String },
    #[error("chat_url {0:?} is not a valid https:// or http:// address")]
    BadUrl(String),
    #[error("unknown region {0:?}: use CA or a province/territory code (AB BC MB NB NL NS NT NU ON PE QC SK YT)")]
    UnknownRegion(String),
    #[error("unknown language {0:?}: use ISO 639-1 codes such as \"en\", \"fr\"")]
    UnknownLanguage(String),
    #[error("{0} is empty or longer than {MAX_TEXT} characters")]
    BadText(&'static str),
}

/// One entry as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    contact: Option<String>,
    #[serde(default)]
    call: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    chat_url: Option<String>,
    #[serde(default)]
    hours: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    languages: Vec<String>,
}

/// The crisis resources to serve: the built-in ones, then the file's.
pub fn load(file: Option<&Path>) -> Result<Vec<CrisisResource>, CrisisFileError> {
    let mut list = default_crisis_resources();
    if let Some(path) = file {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CrisisFileError::Read {
            file: name.clone(),
            source,
        })?;
        list.extend(parse(&name, &text)?);
    }
    Ok(list)
}

/// Parse and check a file's text (`file` names it in errors).
pub fn parse(file: &str, text: &str) -> Result<Vec<CrisisResource>, CrisisFileError> {
    let entries: Vec<Entry> =
        serde_json::from_str(text).map_err(|source| CrisisFileError::Parse {
            file: file.into(),
            source,
        })?;
    if entries.is_empty() {
        return Err(CrisisFileError::Empty { file: file.into() });
    }
    if entries.len() > MAX_ENTRIES {
        return Err(CrisisFileError::TooMany {
            file: file.into(),
            count: entries.len(),
        });
    }
    entries
        .into_iter()
        .enumerate()
        .map(|(index, e)| {
            let label = match e.label.as_deref().map(str::trim) {
                Some(l) if !l.is_empty() => format!("{l:?}"),
                _ => "(no label)".into(),
            };
            check(e).map_err(|problem| CrisisFileError::Entry {
                file: file.into(),
                index,
                label,
                problem,
            })
        })
        .collect()
}

fn check(e: Entry) -> Result<CrisisResource, EntryProblem> {
    let label = e
        .label
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .ok_or(EntryProblem::MissingLabel)?;
    text_ok("label", label)?;
    let call = number("call", e.call)?;
    let sms = number("text", e.text)?;
    let chat_url = match e.chat_url.map(|u| u.trim().to_string()) {
        Some(u) if is_web_url(&u) => Some(u),
        Some(u) => return Err(EntryProblem::BadUrl(u)),
        None => None,
    };
    if call.is_none() && sms.is_none() && chat_url.is_none() {
        return Err(EntryProblem::Unreachable);
    }
    let hours = match e.hours.as_deref().map(str::trim) {
        Some(h) => {
            text_ok("hours", h)?;
            Some(h.to_string())
        }
        None => None,
    };
    let region = match e.region {
        Some(r) if REGIONS.contains(&r.as_str()) => Some(r),
        Some(r) => return Err(EntryProblem::UnknownRegion(r)),
        None => None,
    };
    for l in &e.languages {
        if l.len() != 2 || !LANGUAGES.split_whitespace().any(|k| k == l) {
            return Err(EntryProblem::UnknownLanguage(l.clone()));
        }
    }
    let contact = match e.contact.as_deref().map(str::trim) {
        Some(c) => {
            text_ok("contact", c)?;
            c.to_string()
        }
        None => describe(call.as_deref(), sms.as_deref(), chat_url.is_some()),
    };
    Ok(CrisisResource {
        label: label.to_string(),
        contact,
        call,
        text: sms,
        chat_url,
        hours,
        region,
        languages: e.languages,
        emergency: false,
    })
}

fn text_ok(field: &'static str, s: &str) -> Result<(), EntryProblem> {
    let n = s.chars().count();
    if n == 0 || n > MAX_TEXT || s.chars().any(char::is_control) {
        return Err(EntryProblem::BadText(field));
    }
    Ok(())
}

fn number(field: &'static str, v: Option<String>) -> Result<Option<String>, EntryProblem> {
    let Some(v) = v else { return Ok(None) };
    let t = v.trim();
    let digits = t.chars().filter(char::is_ascii_digit).count();
    let body = t.strip_prefix('+').unwrap_or(t);
    let ok = (3..=15).contains(&digits)
        && t.len() <= 30
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.'));
    if ok {
        Ok(Some(t.to_string()))
    } else {
        Err(EntryProblem::BadNumber { field, value: v })
    }
}

/// The human text for `contact` when the file gives none.
fn describe(call: Option<&str>, text: Option<&str>, chat: bool) -> String {
    let reach = match (call, text) {
        (Some(c), Some(t)) if c == t => format!("Call or text {c}"),
        (Some(c), Some(t)) => format!("Call {c} or text {t}"),
        (Some(c), None) => format!("Call {c}"),
        (None, Some(t)) => format!("Text {t}"),
        (None, None) => String::new(),
    };
    match (reach.is_empty(), chat) {
        (true, _) => "Chat online".into(),
        (false, true) => format!("{reach}, or chat online"),
        (false, false) => reach,
    }
}

/// A strict web address: `https://` or `http://`, a host of dot-separated
/// labels (letters, digits, inner hyphens), an optional port, no user info,
/// and a path, query or fragment without spaces, quotes or angle brackets.
pub fn is_web_url(u: &str) -> bool {
    let Some(rest) = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
    else {
        return false;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
        match p.parse::<u32>() {
            Ok(n) if (1..=65_535).contains(&n) => {}
            _ => return false,
        }
    }
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    let tail_ok = tail.len() <= 2000
        && tail.chars().all(|c| {
            c.is_ascii_graphic()
                && !matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}')
        });
    host_ok && tail_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(entry: &str) -> Result<CrisisResource, CrisisFileError> {
        parse("crisis.json", &format!("[{entry}]")).map(|mut v| v.remove(0))
    }

    fn problem(entry: &str) -> EntryProblem {
        match one(entry) {
            Err(CrisisFileError::Entry { problem, .. }) => problem,
            other => panic!("expected an entry error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_911_and_988_without_placeholders() {
        let d = default_crisis_resources();
        assert_eq!(d.len(), 2);
        assert!(d[0].emergency);
        assert_eq!(d[0].call.as_deref(), Some("911"));
        assert_eq!(d[1].call.as_deref(), Some("988"));
        assert_eq!(d[1].text.as_deref(), Some("988"));
        assert_eq!(d[1].hours.as_deref(), Some("24/7"));
        assert_eq!(d[1].languages, vec!["en", "fr"]);
        assert!(d[1].label.contains("988 Suicide Crisis Helpline"));
        let json = serde_json::to_string(&d).unwrap();
        assert!(!json.to_lowercase().contains("configure"), "{json}");
        assert!(!json.contains("--crisis-resources"), "{json}");
    }

    #[test]
    fn a_file_adds_to_the_defaults() {
        let dir = std::env::temp_dir().join(format!("huddle-crisis-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.json");
        std::fs::write(
            &path,
            r#"[{"label": "Line", "call": "1-800-555-0100", "hours": "24/7", "region": "ON"}]"#,
        )
        .unwrap();
        let list = load(Some(&path)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(&list[..2], &default_crisis_resources()[..]);
        assert_eq!(list[2].label, "Line");
        assert_eq!(list[2].contact, "Call 1-800-555-0100");
        assert_eq!(list[2].region.as_deref(), Some("ON"));
        assert_eq!(load(None).unwrap(), default_crisis_resources());
    }

    #[test]
    fn a_good_entry_keeps_every_field() {
        let r = one(
            r#"{"label": " Chat line ", "text": "686868", "chat_url": "https://example.org/chat?x=1",
                "hours": "Mon-Fri 9-17", "region": "QC", "languages": ["fr", "en"]}"#,
        )
        .unwrap();
        assert_eq!(r.label, "Chat line");
        assert_eq!(r.contact, "Text 686868, or chat online");
        assert_eq!(r.chat_url.as_deref(), Some("https://example.org/chat?x=1"));
        assert_eq!(r.languages, vec!["fr", "en"]);
        assert!(!r.emergency);
        let r = one(r#"{"label": "L", "contact": "Dial 0", "call": "+1 (416) 555-0100"}"#).unwrap();
        assert_eq!(r.contact, "Dial 0");
    }

    #[test]
    fn each_bad_entry_is_named_with_its_problem() {
        assert_eq!(problem(r#"{"call": "988"}"#), EntryProblem::MissingLabel);
        assert_eq!(
            problem(r#"{"label": "  ", "call": "988"}"#),
            EntryProblem::MissingLabel
        );
        assert_eq!(
            problem(r#"{"label": "L", "hours": "24/7"}"#),
            EntryProblem::Unreachable
        );
        assert_eq!(
            problem(r#"{"label": "L", "chat_url": "javascript:alert(1)"}"#),
            EntryProblem::BadUrl("javascript:alert(1)".into())
        );
        assert_eq!(
            problem(r#"{"label": "L", "call": "1", "region": "ONT"}"#),
            EntryProblem::BadNumber {
                field: "call",
                value: "1".into()
            }
        );
        assert_eq!(
            problem(r#"{"label": "L", "call": "911", "region": "ONT"}"#),
            EntryProblem::UnknownRegion("ONT".into())
        );
        assert_eq!(
            problem(r#"{"label": "L", "call": "911", "region": "on"}"#),
            EntryProblem::UnknownRegion("on".into())
        );
        assert_eq!(
            problem(r#"{"label": "L", "call": "911", "languages": ["en", "english"]}"#),
            EntryProblem::UnknownLanguage("english".into())
        );
        assert_eq!(
            problem(r#"{"label": "L", "call": "911", "languages": ["xx"]}"#),
            EntryProblem::UnknownLanguage("xx".into())
        );
    }

    #[test]
    fn the_error_line_names_the_file_the_index_and_the_label() {
        let err = parse(
            "/etc/huddle/crisis.json",
            r#"[{"label": "Good", "call": "988"}, {"label": "Bad line", "chat_url": "ftp://x.org"}]"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("/etc/huddle/crisis.json"), "{err}");
        assert!(err.contains("entry [1] \"Bad line\""), "{err}");
        assert!(err.contains("ftp://x.org"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
        let err = parse("f.json", r#"[{"call": "988"}]"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("entry [0] (no label): missing label"), "{err}");
    }

    #[test]
    fn unknown_fields_empty_and_malformed_files_are_refused() {
        assert!(matches!(
            parse(
                "f",
                r#"[{"label": "L", "call": "988", "chat_ur": "https://x.org"}]"#
            ),
            Err(CrisisFileError::Parse { .. })
        ));
        assert!(matches!(
            parse("f", "[]"),
            Err(CrisisFileError::Empty { .. })
        ));
        assert!(matches!(
            parse("f", "{}"),
            Err(CrisisFileError::Parse { .. })
        ));
        let many = format!(
            "[{}]",
            vec![r#"{"label":"L","call":"988"}"#; MAX_ENTRIES + 1].join(",")
        );
        assert!(matches!(
            parse("f", &many),
            Err(CrisisFileError::TooMany { .. })
        ));
    }

    #[test]
    fn web_urls_are_checked_strictly() {
        for ok in [
            "https://example.org",
            "https://example.org/",
            "http://chat.example.ca:8443/a/b?c=d#e",
            "https://xn--bcher-kva.example/path",
        ] {
            assert!(is_web_url(ok), "{ok}");
        }
        for bad in [
            "example.org",
            "https:/example.org",
            "https://",
            "https://exa mple.org",
            "https://user:pw@example.org",
            "https://example..org",
            "https://-x.org",
            "https://example.org:0",
            "https://example.org:99999",
            "https://example.org/a b",
            "https://example.org/\"><script>",
            "javascript://example.org",
            "HTTPS://example.org",
        ] {
            assert!(!is_web_url(bad), "{bad}");
        }
    }
}
