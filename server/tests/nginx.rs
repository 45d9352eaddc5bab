//! Huddle behind Debian's nginx, configured by `deploy/nginx.conf` itself: two
//! instances share a redis-server, clients connect through nginx, one instance
//! is killed, and its clients resume through nginx on the other with nothing
//! lost and nothing twice.

mod common;

use common::*;
use huddle_protocol::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FAST: &[&str] = &["--rate-per-sec", "2000", "--rate-burst", "2000"];

/// Where nginx is, installing Debian's package when it is missing and we may
/// (as root, like scripts/test does). None: not found and not installable.
fn find_nginx() -> Option<PathBuf> {
    let look = || {
        ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
    };
    if let Some(p) = look() {
        return Some(p);
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root {
        let installed = Command::new("apt-get")
            .args(["install", "-y", "-qq", "nginx-light"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            eprintln!("apt-get install nginx-light failed");
        }
    }
    look()
}

/// nginx running `deploy/nginx.conf` in the foreground, on a free port, with
/// its pid, logs and temp files in a directory of its own; stopped on drop.
struct Nginx {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Nginx {
    fn start(bin: &Path, upstreams: &[&Server]) -> Nginx {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let dir = std::env::temp_dir().join(format!("huddle-nginx-{}", rand_u64()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let d = dir.display();
        let conf =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/nginx.conf"))
                .expect("deploy/nginx.conf");
        let servers: String = upstreams
            .iter()
            .map(|s| format!("        server {} max_fails=1 fail_timeout=5s;\n", s.addr))
            .collect();
        let mut out = String::new();
        let mut upstream_done = false;
        for line in conf.lines() {
            let t = line.trim_start();
            if t.ends_with("# instance") {
                if !upstream_done {
                    out.push_str(&servers);
                    upstream_done = true;
                }
                continue;
            }
            let line = if t.starts_with("pid ") {
                format!("pid {d}/nginx.pid;")
            } else if t.starts_with("error_log ") {
                format!("error_log {d}/error.log warn;")
            } else if t.starts_with("access_log ") {
                format!(
                    "access_log {d}/access.log;\n    client_body_temp_path {d}/body;\n    \
                     proxy_temp_path {d}/proxy;\n    fastcgi_temp_path {d}/fastcgi;\n    \
                     uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;"
                )
            } else if t.starts_with("listen 80;") {
                format!("        listen 127.0.0.1:{port};")
            } else if t.starts_with("worker_processes ") {
                // One worker: its round robin alternates, so both instances get clients.
                "worker_processes 1;".to_string()
            } else {
                line.to_string()
            };
            out.push_str(&line);
            out.push('\n');
        }
        assert!(upstream_done, "deploy/nginx.conf lists its instances");
        assert!(out.contains(&format!("listen 127.0.0.1:{port};")));
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, out).expect("write nginx.conf");
        let child = Command::new(bin)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf_path)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting nginx");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx { child, port, dir }
    }

    fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn client(&self) -> Client {
        Client::connect_url(&self.ws_url(), Some(&self.origin()))
            .await
            .unwrap_or_else(|e| panic!("connect through nginx: {e}"))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "nginx error.log:\n{}",
                std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
            );
        }
        if let Err(e) = self.child.kill() {
            eprintln!("stopping nginx: {e}");
        }
        if let Err(e) = self.child.wait() {
            eprintln!("waiting for nginx: {e}");
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("removing {}: {e}", self.dir.display());
        }
    }
}

/// Chat texts this person saw, across their connections, in order.
fn chats(frames: &[&[ServerMsg]]) -> Vec<String> {
    frames.iter().flat_map(|f| chat_texts(f)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_nginx_a_killed_instances_clients_resume_on_the_other() {
    let Some(bin) = find_nginx() else {
        eprintln!(
            "SKIPPED: nginx is not installed and could not be installed \
             (apt-get install nginx-light, or run scripts/test)"
        );
        return;
    };
    let redis = Redis::start();
    let url = redis.url();
    let mut args = vec!["--redis-url", url.as_str(), "--trusted-proxy", "127.0.0.1"];
    args.extend_from_slice(FAST);
    let mut a = Server::start_with(&args).await;
    let b = Server::start_with(&args).await;
    let nginx = Nginx::start(&bin, &[&a, &b]);
    // The HTTP API through nginx too; the room is hosted on A, the one to die.
    let room = a.group("Behind nginx").await;

    // Six people through nginx: its round robin puts them on A and B in turn.
    let mut people = Vec::new();
    let mut fac = nginx.client().await;
    fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    people.push(fac);
    for i in 1..6 {
        let mut p = nginx.client().await;
        p.join_ready(&room.room_id, &format!("P{i}")).await;
        people.push(p);
    }
    for p in people.iter_mut() {
        let r = p.next_within(Duration::from_millis(1500)).await;
        eprintln!("DEBUG {}: {r:?}", p.name);
    }
    let mut sent = Vec::new();
    for p in people.iter_mut() {
        let text = format!("before the kill, from {}", p.name);
        p.chat(&text).await;
        sent.push(text);
    }

    a.kill_hard();
    // Who was on A: nginx closes their connections.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (mut cut, mut alive) = (Vec::new(), Vec::new());
    for mut p in people {
        let gone = loop {
            match p.next_within(Duration::from_millis(300)).await {
                Ok(_) => continue,
                Err(Ended::Timeout) => break false,
                Err(Ended::Closed(..)) => break true,
            }
        };
        if gone {
            cut.push(p);
        } else {
            alive.push(p);
        }
    }
    assert!(
        !cut.is_empty() && !alive.is_empty(),
        "nginx spread the clients over both instances ({} cut, {} alive)",
        cut.len(),
        alive.len()
    );

    // B takes the room over; A's members leave the roster (no ghosts)...
    let cut_ids: Vec<String> = cut.iter().map(|p| p.member_id()).collect();
    for id in &cut_ids {
        alive[0]
            .wait_for(20, |m| {
                matches!(m, ServerMsg::Event { event: Event::MemberLeft { member_id, .. }, .. } if member_id == id)
            })
            .await;
    }
    // ... and the room goes on.
    for p in alive.iter_mut() {
        let text = format!("while A was down, from {}", p.name);
        p.chat(&text).await;
        sent.push(text);
    }

    // Everyone cut comes back through nginx (which now finds only B).
    let mut back = Vec::new();
    for old in &cut {
        let you = old.me.clone().expect("joined");
        let mut c = nginx.client().await;
        let (_, end) = c
            .resume(&room.room_id, &old.name, &you, old.last_seq, &old.epoch)
            .await;
        assert!(
            matches!(end, ServerMsg::Resumed { .. }),
            "{} resumed through nginx, got {end:?}",
            old.name
        );
        back.push(c);
    }
    let text = "after the resume".to_string();
    back[0].chat(&text).await;
    sent.push(text.clone());
    for p in alive.iter_mut().chain(back.iter_mut().skip(1)) {
        p.recv_event(|e| matches!(e, Event::Chat { message } if message.text == text))
            .await;
    }

    // Nothing lost, nothing twice, one order for all.
    let mut want = sent.clone();
    want.sort();
    let mut lists = Vec::new();
    for p in &alive {
        lists.push((p.name.clone(), chats(&[&p.seen])));
    }
    for (old, new) in cut.iter().zip(&back) {
        lists.push((old.name.clone(), chats(&[&old.seen, &new.seen])));
    }
    for (name, got) in &lists {
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(sorted, want, "{name}: every message exactly once");
        assert_eq!(got, &lists[0].1, "{name}: the same order as everyone");
    }
    eprintln!(
        "{} clients cut, {} resumed through nginx, {} messages each",
        cut.len(),
        back.len(),
        want.len()
    );
}
