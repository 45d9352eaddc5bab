//! Free text typed by people: the one check every text field goes through, and
//! the keys that tell whether two display names look the same.
//!
//! # What is refused
//!
//! Every free-text field (chat, names, titles, topics, prompts, notes, rules,
//! highlights, timer names, answers...) refuses, anywhere in it:
//!
//! * C0 control characters (U+0000–U+001F), DEL (U+007F) and C1 control
//!   characters (U+0080–U+009F), except line feed and tab in multi-line fields
//!   ([`check_lines`]: chat, notes, the welcome text, energizer prompts,
//!   highlights);
//! * the bidirectional formatting characters that reorder what a reader sees:
//!   the embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069,
//!   the marks U+200E, U+200F and the Arabic letter mark U+061C.
//!
//! A refusal is [`RoomError::InvalidText`], whose message names the field (the
//! protocol code is `invalid_text`); display names keep their own
//! `invalid_name` refusal ([`super::clean_name`]).

use crate::error::RoomError;
use unicode_normalization::UnicodeNormalization;

/// Whether `c` is refused in a free-text field (`multiline`: line feeds and
/// tabs are allowed).
pub fn is_refused(c: char, multiline: bool) -> bool {
    match c {
        '\n' | '\t' => !multiline,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        '\u{200e}' | '\u{200f}' | '\u{061c}' => true,
        _ => false,
    }
}

/// Check a one-line field (names, titles, timer names, rules, pinned text,
/// answers, parking-lot items): no control or bidi-override character at all.
///
/// `field` is how the error message names the field (e.g. `"title"`). The HTTP
/// room creation checks its title with `room::text::check("title", title)`.
pub fn check(field: &'static str, text: &str) -> Result<(), RoomError> {
    check_with(field, text, false)
}

/// Check a multi-line field (chat, notes, the welcome text, prompts,
/// highlights): like [`check`], but line feeds and tabs are allowed.
pub fn check_lines(field: &'static str, text: &str) -> Result<(), RoomError> {
    check_with(field, text, true)
}

fn check_with(field: &'static str, text: &str, multiline: bool) -> Result<(), RoomError> {
    if text.chars().any(|c| is_refused(c, multiline)) {
        return Err(RoomError::InvalidText { field });
    }
    Ok(())
}

/// `text` without the characters a multi-line field refuses: for text copied
/// from a message kept since before these checks (e.g. restored from an older
/// stored state) into another field.
pub fn strip_refused(text: &str) -> String {
    text.chars().filter(|c| !is_refused(*c, true)).collect()
}

/// What a display name is compared by. Two names collide when either key is
/// equal ([`NameKey::collides`]): they differ only by case, spacing (any white
/// space, anywhere), compatibility forms (NFKC: full-width letters, ligatures,
/// super/subscripts...) or Unicode confusables (the UTS #39 skeleton, which
/// also ignores invisible default-ignorable characters).
///
/// Two keys because case and confusables interact: lower-casing first makes
/// "Ian" and "ian" equal, confusable-mapping first makes "Il" (capital i) and
/// "ll" equal.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct NameKey(String, String);

impl NameKey {
    pub fn of(name: &str) -> NameKey {
        let base: String = name.nfkc().filter(|c| !c.is_whitespace()).collect();
        let lower_first = skeleton(&base.to_lowercase()).to_lowercase();
        let skeleton_first = skeleton(&skeleton(&base).to_lowercase());
        NameKey(lower_first, skeleton_first)
    }

    pub fn collides(&self, other: &NameKey) -> bool {
        self.0 == other.0 || self.1 == other.1
    }

    /// Unset (state stored before keys were kept): compute it from the name.
    pub fn is_unset(&self) -> bool {
        self.0.is_empty() && self.1.is_empty()
    }
}

fn skeleton(s: &str) -> String {
    unicode_security::confusable_detection::skeleton(s).collect()
}
