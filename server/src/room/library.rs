//! Built-in content: energizers for virtual groups, default ground rules, crisis resources.

use huddle_protocol::{CrisisResource, Energizer};

/// The shipped ground rules (a facilitator edits them per room).
pub fn default_ground_rules() -> Vec<String> {
    [
        "What is shared here stays here: confidentiality.",
        "Listen without judgement.",
        "Speak from your own experience (\"I\" statements).",
        "Step up, step back: make room for every voice.",
        "It is fine to pass.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The built-in crisis resources, always listed: 911 and the 988 Suicide
/// Crisis Helpline. A deployment adds its own with `--crisis-resources`
/// (see `crate::crisis`).
pub fn default_crisis_resources() -> Vec<CrisisResource> {
    vec![
        CrisisResource {
            label: "Emergency services: if you are in immediate danger".into(),
            contact: "Call 911".into(),
            call: Some("911".into()),
            hours: Some("24/7".into()),
            region: Some("CA".into()),
            emergency: true,
            ..CrisisResource::default()
        },
        CrisisResource {
            label: "988 Suicide Crisis Helpline".into(),
            contact: "Call or text 9-8-8".into(),
            call: Some("988".into()),
            text: Some("988".into()),
            hours: Some("24/7".into()),
            region: Some("CA".into()),
            languages: vec!["en".into(), "fr".into()],
            ..CrisisResource::default()
        },
    ]
}

/// The built-in energizer library.
pub fn energizers() -> Vec<Energizer> {
    let e = |id: &str, title: &str, prompt: &str, secs: u32| Energizer {
        id: id.into(),
        title: title.into(),
        prompt: prompt.into(),
        suggested_secs: secs,
    };
    vec![
        e("stretch", "Stretch break", "Stand up, roll your shoulders, reach for the ceiling and take a slow breath.", 60),
        e("one-word", "One-word check-in", "In one word: how are you arriving today?", 60),
        e("rose-thorn", "Rose & thorn", "Share one rose (something good) and one thorn (something hard) from your week.", 180),
        e("gratitude", "Gratitude round", "Name one person or thing you are grateful for this week.", 120),
        e("deep-breath", "Deep-breath minute", "Breathe in for 4, hold for 4, out for 6. Repeat for one minute.", 60),
        e("weather", "Weather report", "If your mood were weather, what would the forecast be?", 60),
        e("small-win", "Small win", "Share one small win from a recent shift, however tiny.", 120),
        e("object", "Show an object", "Grab something within reach that means something to you and tell us why.", 120),
        e("song", "Soundtrack", "What song would be the soundtrack of your week?", 90),
        e("grounding", "5-4-3-2-1 grounding", "Notice 5 things you see, 4 you hear, 3 you can touch, 2 you smell, 1 you taste.", 120),
        e("self-care", "One act of care", "What is one kind thing you will do for yourself after this session?", 90),
        e("walk", "Walk and return", "Take a two-minute walk away from your screen, then come back and share one thing you noticed.", 120),
    ]
}

pub fn energizer(id: &str) -> Option<Energizer> {
    energizers().into_iter().find(|e| e.id == id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn library_has_at_least_ten_unique_energizers() {
        let all = super::energizers();
        assert!(all.len() >= 10);
        let mut ids: Vec<_> = all.iter().map(|e| e.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
        assert!(super::energizer("stretch").is_some());
        assert!(super::energizer("nope").is_none());
    }
}
