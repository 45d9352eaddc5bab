//! Issue 15, items 3 and 8, against the real binary: a bad crisis resources
//! file or an unknown time zone stops the server with one clear line; only
//! the built-in crisis lines gets a warning; a good file adds to them; the
//! time zone is served to the client and decides the directory's "today".

mod common;

use common::*;
use huddle_protocol::*;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ORGANIZER_KEY: &str = "deployment-config-organizer-key";
const WARNING: &str = "only the built-in crisis resources";

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "huddle-deploy-cfg-{}-{}",
        std::process::id(),
        rand_u64()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path
}

/// Run the binary with `args` and expect it to exit on its own (bounded);
/// returns its exit status and stderr.
fn run_to_exit(args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_huddle"))
        .args(["--bind", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("HUDDLE_CRISIS_RESOURCES")
        .env_remove("HUDDLE_TIME_ZONE")
        .env_remove("HUDDLE_REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the huddle binary");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        match child.try_wait().expect("try_wait") {
            Some(s) => break s,
            None if Instant::now() > deadline => {
                child.kill().expect("kill the server");
                child.wait().expect("reap the server");
                panic!("huddle kept running with {args:?}; it should have refused to start");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut err).expect("read stderr");
    }
    (status, err)
}

#[test]
fn a_bad_crisis_file_stops_the_server_naming_the_file_and_the_entry() {
    let cases = [
        (
            r#"[{"label": "Good line", "call": "1-800-555-0100", "hours": "24/7"},
                {"label": "Provincial line", "call": "1-800-555-0101", "region": "ONT"}]"#,
            r#"entry [1] "Provincial line": unknown region "ONT""#,
        ),
        (
            r#"[{"call": "1-800-555-0100"}]"#,
            "entry [0] (no label): missing label",
        ),
        (
            r#"[{"label": "Chat", "chat_url": "www.example.org/chat"}]"#,
            r#"entry [0] "Chat": chat_url "www.example.org/chat" is not a valid"#,
        ),
        (
            r#"[{"label": "Nowhere", "hours": "24/7"}]"#,
            r#"entry [0] "Nowhere": no way to reach it"#,
        ),
        (
            r#"[{"label": "Lang", "call": "988", "languages": ["english"]}]"#,
            r#"entry [0] "Lang": unknown language "english""#,
        ),
    ];
    for (text, expected) in cases {
        let path = temp_file("crisis.json", text);
        let p = path.to_str().expect("utf-8 path");
        let (status, err) = run_to_exit(&["--crisis-resources", p]);
        assert!(!status.success(), "exit status {status} for {text}");
        assert!(err.contains(p), "stderr must name the file {p}:\n{err}");
        assert!(
            err.contains(expected),
            "stderr must say {expected:?}:\n{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one line:\n{err}");
        std::fs::remove_dir_all(path.parent().expect("dir")).expect("clean up");
    }
    // A missing file is named too.
    let (status, err) = run_to_exit(&["--crisis-resources", "/nonexistent/huddle-crisis.json"]);
    assert!(!status.success());
    assert!(err.contains("/nonexistent/huddle-crisis.json"), "{err}");
}

#[test]
fn an_unknown_time_zone_stops_the_server() {
    let (status, err) = run_to_exit(&["--time-zone", "America/Atlantis"]);
    assert!(!status.success(), "exit status {status}");
    assert!(err.contains("America/Atlantis"), "{err}");
    assert!(err.contains("unknown time zone"), "{err}");
}

async fn wait_for_log(server: &Server, needle: &str) -> bool {
    for _ in 0..100 {
        if server.log_output().contains(needle) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn only_the_built_in_lines_get_a_startup_warning() {
    let server = Server::start().await;
    assert!(
        wait_for_log(&server, WARNING).await,
        "no warning in:\n{}",
        server.log_output()
    );
    let logs = server.log_output();
    let line = logs
        .lines()
        .find(|l| l.contains(WARNING))
        .expect("the line");
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("--crisis-resources"), "{line}");
    // The defaults: 911 first (emergency), then 988, nothing to configure.
    let list: Vec<CrisisResource> = server.get("/api/crisis-resources").await.json();
    assert_eq!(list.len(), 2);
    assert!(list[0].emergency);
    assert_eq!(list[0].call.as_deref(), Some("911"));
    assert_eq!(list[1].call.as_deref(), Some("988"));
    assert_eq!(list[1].text.as_deref(), Some("988"));
    let body = server.get("/api/crisis-resources").await.body;
    assert!(!body.to_lowercase().contains("configure"), "{body}");
}

#[tokio::test]
async fn a_good_file_adds_its_lines_to_the_built_in_ones_without_a_warning() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/crisis-resources.example.json"
    );
    let server = Server::start_with(&["--crisis-resources", example]).await;
    let list: Vec<CrisisResource> = server.get("/api/crisis-resources").await.json();
    assert_eq!(list.len(), 7, "2 built in + 5 in the example");
    assert_eq!(list[0].call.as_deref(), Some("911"));
    assert!(list[2..].iter().all(|r| r.label.contains("EXAMPLE")));
    let on = list
        .iter()
        .find(|r| r.region.as_deref() == Some("ON"))
        .expect("an ON line");
    assert!(on.call.is_some() && on.hours.is_some());
    // The same list reaches a member in the room (the welcome's snapshot).
    let room = server.group("crisis lines").await;
    let mut c = Client::connect(&server).await;
    let w = c.join(&room.room_id, "Ana", None).await;
    assert_eq!(w.room.crisis_resources, list);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !server.log_output().contains(WARNING),
        "{}",
        server.log_output()
    );
}

/// Next local midnight for a fixed offset east of UTC, in Unix ms (plain arithmetic).
fn end_of_day_at_offset(now: u64, offset_ms: u64) -> u64 {
    const DAY: u64 = 86_400_000;
    ((now + offset_ms) / DAY + 1) * DAY - offset_ms
}

#[tokio::test]
async fn the_directory_s_today_ends_at_local_midnight_and_the_zone_is_served() {
    // Etc/GMT-14 is UTC+14 all year (POSIX sign): its midnight is 10:00 UTC,
    // so "today" there never ends when the UTC day does.
    let server = Server::start_with(&[
        "--time-zone",
        "Etc/GMT-14",
        "--organizer-key",
        ORGANIZER_KEY,
    ])
    .await;
    let cfg: DeploymentConfig = server.get("/api/config").await.json();
    assert_eq!(cfg.time_zone, "Etc/GMT-14");

    let end = end_of_day_at_offset(now_ms(), 14 * 3_600_000);
    let mut ids = Vec::new();
    for (title, starts_at) in [
        ("before midnight", end - 60_000),
        ("after midnight", end + 60_000),
    ] {
        let r = server
            .create_room_with(
                &CreateRoom {
                    title: title.into(),
                    kind: RoomKind::DropIn,
                    starts_at: Some(starts_at),
                    ..Default::default()
                },
                &[("X-Huddle-Organizer-Key", ORGANIZER_KEY)],
            )
            .await;
        ids.push(r.room_id);
    }
    let listed: Vec<serde_json::Value> = server.get("/api/rooms?kind=drop_in").await.json();
    let titles: Vec<&str> = listed.iter().filter_map(|r| r["title"].as_str()).collect();
    assert!(titles.contains(&"before midnight"), "{titles:?}");
    assert!(!titles.contains(&"after midnight"), "{titles:?}");
}
