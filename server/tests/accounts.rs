//! Accounts over HTTP against real `huddle` processes: the first admin's
//! setup link, invites, sign-in and its limits, cookies, CSRF, deactivation,
//! rooms owned by accounts; with SQLite, and with Redis + Postgres (two
//! instances, a Postgres outage).

mod common;

use common::pg::{Postgres, TempDir};
use common::*;
use huddle_protocol::*;
use serde_json::{json, Value};

const PASSWORD: &str = "a long enough passphrase";

/// `huddle admin create` against a database: the setup token it printed.
fn admin_create(db_args: &[&str], email: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_huddle"))
        .args(["admin", "create", "--email", email, "--name", "Ada Admin"])
        .args(db_args)
        .env("RUST_LOG", "warn")
        .env_remove("HUDDLE_DATA_DIR")
        .env_remove("HUDDLE_DATABASE_URL")
        .output()
        .expect("running huddle admin create");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "admin create failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !stdout.contains("Huddle listening"),
        "a command must not serve"
    );
    stdout
        .split("/setup?token=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no setup link in {stdout:?}"))
        .to_string()
}

/// A POST from this site's own pages (Origin set), maybe signed in.
async fn post(s: &Server, path: &str, cookie: Option<&str>, body: &Value) -> HttpResponse {
    let origin = s.origin();
    let mut h = vec![
        ("Content-Type", "application/json"),
        ("Origin", origin.as_str()),
    ];
    if let Some(c) = cookie {
        h.push(("Cookie", c));
    }
    s.http("POST", path, &h, Some(&body.to_string())).await
}

async fn get_as(s: &Server, path: &str, cookie: &str) -> HttpResponse {
    s.http("GET", path, &[("Cookie", cookie)], None).await
}

/// `huddle_session=…` from a response's Set-Cookie.
fn cookie_of(r: &HttpResponse) -> String {
    let set = r
        .header("set-cookie")
        .unwrap_or_else(|| panic!("no Set-Cookie: {} {}", r.status, r.body));
    set.split(';').next().unwrap().trim().to_string()
}

async fn sign_in(s: &Server, email: &str, password: &str) -> HttpResponse {
    post(
        s,
        "/api/auth/sign-in",
        None,
        &json!({"email": email, "password": password}),
    )
    .await
}

/// Use a setup link: the admin's session cookie.
async fn set_up_admin(s: &Server, token: &str) -> String {
    let r = post(
        s,
        "/api/auth/accept",
        None,
        &json!({"token": token, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    cookie_of(&r)
}

/// The token of an invite the admin issues for a role.
async fn invite(s: &Server, admin: &str, role: &str) -> String {
    let r = post(s, "/api/admin/invites", Some(admin), &json!({"role": role})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v: Value = r.json();
    let link = v["link"].as_str().unwrap();
    link.split("token=").nth(1).unwrap().to_string()
}

/// Accept an invite: the new account's session cookie and id.
async fn accept_invite(s: &Server, token: &str, email: &str) -> (String, String) {
    let r = post(
        s,
        "/api/auth/accept",
        None,
        &json!({"token": token, "email": email, "name": "Fay Facilitator", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = r.json();
    (cookie_of(&r), v["id"].as_str().unwrap().to_string())
}

fn message(r: &HttpResponse) -> String {
    let v: Value = r.json();
    v["message"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_invites_a_facilitator_who_runs_her_own_room() {
    let data = TempDir::new("acc");
    let dir = data.str();
    let setup = admin_create(&["--data-dir", &dir], "Ada@Example.org");
    let s = Server::start_with(&["--data-dir", &dir]).await;

    // Signed out: 401.
    assert_eq!(s.get("/api/me").await.status, 401);
    // The setup link says what it is for.
    let info = post(&s, "/api/auth/link", None, &json!({"token": setup})).await;
    assert_eq!(info.status, 200, "{}", info.body);
    let v: Value = info.json();
    assert_eq!(v["kind"], "setup");
    assert_eq!(v["email"], "ada@example.org");
    // Too short a password is refused and the link stays usable.
    let short = post(
        &s,
        "/api/auth/accept",
        None,
        &json!({"token": setup, "password": "short"}),
    )
    .await;
    assert_eq!(short.status, 400, "{}", short.body);
    let admin = set_up_admin(&s, &setup).await;
    let me: Value = get_as(&s, "/api/me", &admin).await.json();
    assert_eq!(me["role"], "admin");
    assert_eq!(me["may_take_oncall_desk"], true);
    // The setup link works once.
    let again = post(
        &s,
        "/api/auth/accept",
        None,
        &json!({"token": setup, "password": PASSWORD}),
    )
    .await;
    assert_eq!(again.status, 410, "{}", again.body);
    assert!(message(&again).contains("already used"), "{}", again.body);

    // Invite a facilitator; she accepts, then signs in with her password.
    let token = invite(&s, &admin, "facilitator").await;
    let (_, fay_id) = accept_invite(&s, &token, "fay@example.org").await;
    let reused = post(
        &s,
        "/api/auth/accept",
        None,
        &json!({"token": token, "email": "other@example.org", "name": "O", "password": PASSWORD}),
    )
    .await;
    assert_eq!(reused.status, 410, "{}", reused.body);
    assert!(message(&reused).contains("already used"));
    let signed = sign_in(&s, "FAY@example.org ", PASSWORD).await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    let fay = cookie_of(&signed);
    let me: Value = get_as(&s, "/api/me", &fay).await.json();
    assert_eq!(me["id"], fay_id.as_str());
    assert_eq!(me["role"], "facilitator");
    assert_eq!(me["may_own_rooms"], true);
    assert_eq!(me["may_take_oncall_desk"], false);
    // Only admins administer.
    let not_admin = get_as(&s, "/api/admin/accounts", &fay).await;
    assert_eq!(not_admin.status, 403, "{}", not_admin.body);

    // She creates a room (no organizer key needed, even a drop-in), owns it...
    let spec = json!({"title": "Tuesday circle", "kind": "drop_in"});
    let r = post(&s, "/api/rooms", Some(&fay), &spec).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let created: RoomCreated = r.json();
    s.wait_room_visible(&created.room_id).await;
    let mine: Value = get_as(&s, "/api/my/rooms", &fay).await.json();
    assert_eq!(mine[0]["room_id"], created.room_id.as_str());
    assert_eq!(mine[0]["title"], "Tuesday circle");
    // ...runs it with the one-time key, leaves, and gets back in with a fresh one.
    let mut lead = s.client().await;
    let w = lead
        .join(&created.room_id, "Fay", Some(&created.facilitator_key))
        .await;
    assert_eq!(w.you.role, Role::Facilitator);
    lead.send(&ClientMsg::Leave).await;
    lead.close().await;
    let r = post(
        &s,
        &format!("/api/rooms/{}/facilitator-link", created.room_id),
        Some(&fay),
        &json!({}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = r.json();
    let key = v["facilitator_key"].as_str().unwrap().to_string();
    assert_ne!(key, created.facilitator_key);
    let mut back = s.client().await;
    let w = back.join(&created.room_id, "Fay", Some(&key)).await;
    assert_eq!(w.you.role, Role::Facilitator);
    // The old key no longer makes a facilitator.
    let mut old = s.client().await;
    let m = old
        .join_raw(
            &created.room_id,
            "Old",
            Some(&created.facilitator_key),
            None,
        )
        .await;
    assert!(
        !matches!(&m, ServerMsg::Welcome { you, .. } if you.role == Role::Facilitator),
        "{m:?}"
    );
    // Nobody else gets a key for her room.
    let other = invite(&s, &admin, "facilitator").await;
    let (gil, _) = accept_invite(&s, &other, "gil@example.org").await;
    let refused = post(
        &s,
        &format!("/api/rooms/{}/facilitator-link", created.room_id),
        Some(&gil),
        &json!({}),
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    // Anonymous rooms work as before (no owner).
    assert_eq!(
        s.post_json("/api/rooms", r#"{"title":"Ad hoc","kind":"group"}"#)
            .await
            .status,
        201
    );

    // The admin lists accounts, changes a role, issues a reset link.
    let list: Value = get_as(&s, "/api/admin/accounts", &admin).await.json();
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert!(!list.to_string().contains("argon2"), "no hashes leave");
    let r = post(
        &s,
        &format!("/api/admin/accounts/{fay_id}/role"),
        Some(&admin),
        &json!({"role": "peer_supporter"}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let me: Value = get_as(&s, "/api/me", &fay).await.json();
    assert_eq!(me["may_take_oncall_desk"], true);
    let r = post(
        &s,
        &format!("/api/admin/accounts/{fay_id}/reset-link"),
        Some(&admin),
        &json!({}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v: Value = r.json();
    let reset = v["link"].as_str().unwrap().split("token=").nth(1).unwrap();
    let r = post(
        &s,
        "/api/auth/accept",
        None,
        &json!({"token": reset, "password": "another long passphrase"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The reset ended her other sessions; the old password is gone.
    assert_eq!(get_as(&s, "/api/me", &fay).await.status, 401);
    assert_eq!(sign_in(&s, "fay@example.org", PASSWORD).await.status, 401);
    assert_eq!(
        sign_in(&s, "fay@example.org", "another long passphrase")
            .await
            .status,
        200
    );

    // Sign-out ends the session server-side.
    let r = post(&s, "/api/auth/sign-out", Some(&gil), &json!({})).await;
    assert_eq!(r.status, 204);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(get_as(&s, "/api/me", &gil).await.status, 401);

    // Nothing secret in the logs.
    let logs = format!("{}{}", s.logs(), s.log_output());
    for secret in [PASSWORD, "fay@example.org", setup.as_str(), key.as_str()] {
        assert!(!logs.contains(secret), "{secret:?} logged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_refuses_without_hints_limits_and_sets_safe_cookies() {
    let data = TempDir::new("acc");
    let dir = data.str();
    let setup = admin_create(&["--data-dir", &dir], "ada@example.org");
    let s = Server::start_with(&["--data-dir", &dir]).await;
    set_up_admin(&s, &setup).await;

    // Cookie flags.
    let ok = sign_in(&s, "ada@example.org", PASSWORD).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let set = ok.header("set-cookie").unwrap().to_string();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(flag), "{set}");
    }
    assert!(!set.contains("Secure"), "plain http: {set}");
    assert_eq!(ok.header("cache-control"), Some("no-store"));

    // Wrong password and unknown email: the same 401, the same words.
    let wrong = sign_in(&s, "ada@example.org", "not the passphrase").await;
    let unknown = sign_in(&s, "nobody@example.org", PASSWORD).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(message(&wrong), "wrong email or password");

    // Brute force on one account: after 5 failures, 429 even for the right password.
    for _ in 0..4 {
        assert_eq!(
            sign_in(&s, "ada@example.org", "guess guess guess")
                .await
                .status,
            401
        );
    }
    let limited = sign_in(&s, "ada@example.org", PASSWORD).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(message(&limited).contains("too many sign-in attempts"));
    assert!(limited.header("retry-after").is_some());
    let m = s.metrics().await;
    assert_eq!(
        m.get("huddle_sign_ins_failed_total"),
        Some(&6),
        "5 for ada, 1 unknown"
    );
    assert!(m.get("huddle_sign_ins_limited_total").copied().unwrap_or(0) >= 1);

    // CSRF: another site's Origin, or none, is refused before anything else.
    let body = json!({"email": "ada@example.org", "password": PASSWORD}).to_string();
    for origin in [Some("http://evil.example"), None] {
        let mut h = vec![("Content-Type", "application/json")];
        if let Some(o) = origin {
            h.push(("Origin", o));
        }
        let r = s.http("POST", "/api/auth/sign-in", &h, Some(&body)).await;
        assert_eq!(r.status, 403, "{origin:?}: {}", r.body);
        assert!(message(&r).contains("cross-site"));
    }
    let cookie = cookie_of(&ok);
    let r = s
        .http(
            "POST",
            "/api/admin/invites",
            &[
                ("Content-Type", "application/json"),
                ("Origin", "http://evil.example"),
                ("Cookie", &cookie),
            ],
            Some(r#"{"role":"admin"}"#),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // A signed-in room creation from another site too.
    let r = s
        .http(
            "POST",
            "/api/rooms",
            &[
                ("Content-Type", "application/json"),
                ("Origin", "http://evil.example"),
                ("Cookie", &cookie),
            ],
            Some(r#"{"title":"x","kind":"group"}"#),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        s.metrics()
            .await
            .get("huddle_csrf_refused_total")
            .copied()
            .unwrap_or(0)
            >= 4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_behind_https_and_expired_links_say_so() {
    let data = TempDir::new("acc");
    let dir = data.str();
    let origin = "https://huddle.example";
    let setup = admin_create(
        &["--data-dir", &dir, "--public-origin", origin],
        "ada@example.org",
    );
    let s = Server::start_with(&["--data-dir", &dir, "--public-origin", origin]).await;
    let h = [("Content-Type", "application/json"), ("Origin", origin)];
    let r = s
        .http(
            "POST",
            "/api/auth/accept",
            &h,
            Some(&json!({"token": setup, "password": PASSWORD}).to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let set = r.header("set-cookie").unwrap().to_string();
    assert!(set.contains("; Secure"), "{set}");
    let admin = cookie_of(&r);
    let mut hc = h.to_vec();
    hc.push(("Cookie", &admin));
    let r = s
        .http(
            "POST",
            "/api/admin/invites",
            &hc,
            Some(r#"{"role":"facilitator"}"#),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v: Value = r.json();
    let link = v["link"].as_str().unwrap();
    assert!(
        link.starts_with("https://huddle.example/setup?token="),
        "{link}"
    );
    let token = link.split("token=").nth(1).unwrap();

    // Time passes for the link (the database says so).
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(data.path().join("huddle.db"));
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    sqlx::query("UPDATE links SET expires_at = 1 WHERE kind = 'invite'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let body = json!({"token": token, "email": "f@example.org", "name": "F", "password": PASSWORD});
    let r = s
        .http("POST", "/api/auth/accept", &h, Some(&body.to_string()))
        .await;
    assert_eq!(r.status, 410, "{}", r.body);
    assert_eq!(
        message(&r),
        "this link has expired; ask an admin for a new one"
    );
    let r = s
        .http(
            "POST",
            "/api/auth/accept",
            &h,
            Some(&json!({"token": "f00d", "password": PASSWORD}).to_string()),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
}

/// `huddle migrate` migrates and exits; Redis without a shared database is
/// refused with one line; a failed migration stops startup, named.
#[tokio::test]
async fn commands_and_startup_checks() {
    let data = TempDir::new("cmd");
    let dir = data.str();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_huddle"))
            .args(args)
            .env("RUST_LOG", "warn")
            .env_remove("HUDDLE_DATA_DIR")
            .env_remove("HUDDLE_DATABASE_URL")
            .env_remove("HUDDLE_REDIS_URL")
            .output()
            .expect("running huddle")
    };
    let out = run(&["migrate", "--data-dir", &dir]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(data.path().join("huddle.db").exists());
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));

    let out = run(&[
        "--bind",
        "127.0.0.1:0",
        "--redis-url",
        "redis://127.0.0.1:1",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--redis-url needs --database-url"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let bad = TempDir::new("badmig");
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(bad.path().join("huddle.db"))
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    sqlx::query("CREATE TABLE sessions (x INTEGER)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = run(&["--bind", "127.0.0.1:0", "--data-dir", &bad.str()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("migration 0001_accounts failed"), "{err}");
}

/// Two instances on one Redis and one Postgres are one service: an account
/// made through A signs in through B, and deactivating it through A ends
/// its session on B at once. Postgres stopped mid-flight: 503 with a clear
/// message, no panic; back: service resumes and nothing acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_accounts_through_postgres_and_ride_out_its_outage() {
    let pg = tokio::task::spawn_blocking(Postgres::start).await.unwrap();
    let redis = Redis::start();
    let db = pg.url();
    let url = redis.url();
    let setup = admin_create(&["--database-url", &db], "ada@example.org");
    let args = ["--redis-url", url.as_str(), "--database-url", db.as_str()];
    let a = Server::start_with(&args).await;
    let b = Server::start_with(&args).await;

    let admin = set_up_admin(&a, &setup).await;
    let token = invite(&a, &admin, "facilitator").await;
    let (_, fay_id) = accept_invite(&a, &token, "fay@example.org").await;
    let on_b = sign_in(&b, "fay@example.org", PASSWORD).await;
    assert_eq!(on_b.status, 200, "{}", on_b.body);
    let fay_b = cookie_of(&on_b);
    assert_eq!(get_as(&b, "/api/me", &fay_b).await.status, 200);
    // Her room, created on B, is listed on A.
    let r = post(
        &b,
        "/api/rooms",
        Some(&fay_b),
        &json!({"title": "Shared", "kind": "group"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let room: RoomCreated = r.json();
    let fay_a = cookie_of(&sign_in(&a, "fay@example.org", PASSWORD).await);
    let mine: Value = get_as(&a, "/api/my/rooms", &fay_a).await.json();
    assert_eq!(mine[0]["room_id"], room.room_id.as_str());

    // Postgres goes away.
    let pg = tokio::task::spawn_blocking(move || {
        pg.stop();
        pg
    })
    .await
    .unwrap();
    let down = get_as(&b, "/api/me", &fay_b).await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert!(
        message(&down).contains("the database is unavailable"),
        "{}",
        down.body
    );
    let down = sign_in(&a, "fay@example.org", PASSWORD).await;
    assert_eq!(down.status, 503, "{}", down.body);
    // Not ready while the database does not answer.
    let ready = a.get("/readyz").await;
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(
        message(&ready).contains("the database is unavailable"),
        "{}",
        ready.body
    );
    // Rooms without accounts keep working meanwhile.
    assert_eq!(
        a.post_json("/api/rooms", r#"{"title":"Ad hoc","kind":"group"}"#)
            .await
            .status,
        201
    );
    let m = b.metrics().await;
    assert!(
        m.iter()
            .any(|(k, v)| k.starts_with("huddle_store_errors_total") && *v > 0),
        "{m:?}"
    );
    // It comes back: the same sessions and accounts, nothing lost.
    let pg = tokio::task::spawn_blocking(move || {
        pg.resume();
        pg
    })
    .await
    .unwrap();
    // Bounded generously: a restarted Postgres on a loaded 2-core machine
    // (CI runs browsers beside it) can take seconds to accept connections,
    // and each pool then swaps its dead connections for new ones.
    let mut back = None;
    let mut last = (0, String::new());
    for _ in 0..300 {
        let r = get_as(&b, "/api/me", &fay_b).await;
        if r.status == 200 {
            back = Some(r);
            break;
        }
        last = (r.status, r.body);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let back = back.unwrap_or_else(|| {
        panic!(
            "service resumed after Postgres came back; last answer: {last:?}; B's log: {}",
            b.logs()
        )
    });
    let mut ready = 0;
    for _ in 0..300 {
        ready = a.get("/readyz").await.status;
        if ready == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(ready, 200, "A ready again once Postgres is back");
    let v: Value = back.json();
    assert_eq!(v["id"], fay_id.as_str());

    // Deactivated through A: her session on B ends at once.
    let r = post(
        &a,
        &format!("/api/admin/accounts/{fay_id}/active"),
        Some(&admin),
        &json!({"active": false}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(get_as(&b, "/api/me", &fay_b).await.status, 401);
    assert_eq!(get_as(&a, "/api/me", &fay_a).await.status, 401);
    assert_eq!(sign_in(&b, "fay@example.org", PASSWORD).await.status, 401);
    assert!(!a.logs().contains("panicked") && !b.logs().contains("panicked"));
    drop(pg);
}

/// The on-call key becomes the peer-supporter role: a signed-in peer
/// supporter takes the on-call desk without any key; a facilitator's account
/// does not open it, nor does no account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_supporter_account_takes_the_on_call_desk_without_a_key() {
    let data = TempDir::new("desk");
    let dir = data.str();
    let setup = admin_create(&["--data-dir", &dir], "ada@example.org");
    // No --oncall-key at all: only the role opens the desk.
    let s = Server::start_with(&["--data-dir", &dir]).await;
    let admin = set_up_admin(&s, &setup).await;
    let t = invite(&s, &admin, "peer_supporter").await;
    let (peer, _) = accept_invite(&s, &t, "pat@example.org").await;
    let t = invite(&s, &admin, "facilitator").await;
    let (fac, _) = accept_invite(&s, &t, "fay@example.org").await;

    let origin = s.origin();
    let as_account = |cookie: String| {
        let url = s.ws_url();
        let origin = origin.clone();
        async move {
            Client::connect_headers(
                &url,
                &[("Origin", origin.as_str()), ("Cookie", cookie.as_str())],
            )
            .await
            .expect("connect")
        }
    };
    let mut p = as_account(peer).await;
    let w = p.join(ONCALL_DESK_ID, "Pat", None).await;
    assert_eq!(w.room.info.kind, RoomKind::OnCall);

    let mut f = as_account(fac).await;
    let r = f.join_raw(ONCALL_DESK_ID, "Fay", None, None).await;
    assert!(
        matches!(
            r,
            ServerMsg::Error {
                code: ErrorCode::OnCallOnly,
                ..
            }
        ),
        "{r:?}"
    );
    let mut anon = s.client().await;
    let r = anon.join_raw(ONCALL_DESK_ID, "Anon", None, None).await;
    assert!(matches!(
        r,
        ServerMsg::Error {
            code: ErrorCode::OnCallOnly,
            ..
        }
    ));

    // And the desk works for the account: a request from a room with no
    // facilitator reaches it.
    let room = s.group("Evening circle").await;
    let mut person = s.client().await;
    person.join_ready(&room.room_id, "Riley").await;
    person.send(&ClientMsg::Distress).await;
    p.wait_for(15, |m| {
        matches!(m, ServerMsg::Event { event: Event::Alert { alert }, .. } if alert.name == "Riley")
    })
    .await;
}

/// A join carrying `device`: the first reply.
async fn join_device(c: &mut Client, room: &str, name: &str, device: &str) -> ServerMsg {
    c.name = name.into();
    c.send(&ClientMsg::Join {
        v: PROTOCOL_VERSION,
        room_id: room.into(),
        name: name.into(),
        facilitator_key: None,
        resume: None,
        device_id: Some(device.into()),
    })
    .await;
    c.recv().await
}

fn is_removed(m: &ServerMsg) -> bool {
    matches!(
        m,
        ServerMsg::Error { code: ErrorCode::Removed, refused, message }
            if refused.as_deref() == Some("join") && message == "you were removed from this session"
    )
}

/// Issue 17 item 3: a removal is a bar in the store, by device and by
/// account; the join path asks the store (a bar the room itself never made
/// keeps its device out); admins list bars and lift them (CSRF-checked), and
/// the lifted person gets back in at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_is_a_bar_that_admins_see_and_lift() {
    let data = TempDir::new("bars");
    let dir = data.str();
    let setup = admin_create(&["--data-dir", &dir], "ada@example.org");
    let s = Server::start_with(&["--data-dir", &dir]).await;
    let admin = set_up_admin(&s, &setup).await;
    let token = invite(&s, &admin, "peer_supporter").await;
    let (sam_cookie, sam_id) = accept_invite(&s, &token, "sam@example.org").await;
    let as_sam = || {
        let url = s.ws_url();
        let origin = s.origin();
        let cookie = sam_cookie.clone();
        async move {
            Client::connect_headers(
                &url,
                &[("Origin", origin.as_str()), ("Cookie", cookie.as_str())],
            )
            .await
            .expect("connect")
        }
    };

    let room = s.group("Tuesday circle").await;
    let mut fac = s.client().await;
    fac.join(&room.room_id, "Fran", Some(&room.facilitator_key))
        .await;
    // Sam, signed in, joins from a browser; the facilitator removes him.
    let mut sam = as_sam().await;
    let w = welcome_of(join_device(&mut sam, &room.room_id, "Sam", "device-sam-000001").await);
    let sam_member = w.you.member_id.clone();
    fac.send(&ClientMsg::Remove {
        member_id: sam_member.clone(),
    })
    .await;
    sam.expect_error(ErrorCode::Removed).await;

    // The bar is listed for admins (room, name, when), written off the actor.
    let mut listed = Value::Null;
    for _ in 0..50 {
        let v: Value = get_as(&s, "/api/admin/bars", &admin).await.json();
        if v.as_array().is_some_and(|a| !a.is_empty()) {
            listed = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let bars = listed.as_array().expect("a bar is listed");
    assert_eq!(bars.len(), 1, "{listed}");
    let bar = &bars[0];
    assert_eq!(bar["room_id"], room.room_id.as_str());
    assert_eq!(bar["room_title"], "Tuesday circle");
    assert_eq!(bar["name"], "Sam");
    assert_eq!(bar["account_id"], sam_id.as_str());
    assert!(bar["created_at"].as_i64().unwrap() > 0);
    assert!(bar.get("device_hash").is_none(), "never shown: {bar}");
    let bar_id = bar["id"].as_str().unwrap().to_string();
    // Only admins see bars.
    assert_eq!(get_as(&s, "/api/admin/bars", &sam_cookie).await.status, 403);

    // Kept out: from the same browser signed out, and signed in from a new one.
    let mut again = s.client().await;
    assert!(is_removed(
        &join_device(&mut again, &room.room_id, "Sam", "device-sam-000001").await
    ));
    let mut other = as_sam().await;
    assert!(is_removed(
        &join_device(&mut other, &room.room_id, "Sammy", "device-sam-000002").await
    ));

    // The join path asks the store: a bar the room never made (as after the
    // room's memory was lost) keeps that device out too.
    {
        let m = std::sync::Arc::new(huddle_server::metrics::Metrics::default());
        let db = huddle_server::store::sqlite::SqliteStore::open(data.path(), m)
            .await
            .unwrap();
        use huddle_server::store::Store;
        db.add_bar(&huddle_server::store::Bar {
            id: "planted".into(),
            room_id: room.room_id.clone(),
            room_title: "Tuesday circle".into(),
            series_id: None,
            member_id: "never-a-member".into(),
            device_hash: Some(huddle_server::room::hash_secret("device-kim-0000001")),
            account_id: None,
            name: "Kim".into(),
            removed_by: None,
            removed_by_name: None,
            created_at: 1,
            lifted_at: None,
        })
        .await
        .unwrap();
    }
    let mut kim = s.client().await;
    assert!(is_removed(
        &join_device(&mut kim, &room.room_id, "Kim", "device-kim-0000001").await
    ));
    // Another device is welcome.
    let mut lee = s.client().await;
    welcome_of(join_device(&mut lee, &room.room_id, "Lee", "device-lee-0000001").await);

    // Lifting: CSRF-checked, admins only, once.
    let lift = format!("/api/admin/bars/{bar_id}/lift");
    let no_origin = s
        .http("POST", &lift, &[("Cookie", admin.as_str())], Some("{}"))
        .await;
    assert_eq!(no_origin.status, 403, "{}", no_origin.body);
    assert_eq!(
        post(&s, &lift, Some(&sam_cookie), &json!({})).await.status,
        403
    );
    let r = post(&s, &lift, Some(&admin), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = r.json();
    assert_eq!(v["room_told"], true);
    assert_eq!(post(&s, &lift, Some(&admin), &json!({})).await.status, 404);
    let v: Value = get_as(&s, "/api/admin/bars", &admin).await.json();
    assert_eq!(
        v.as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].clone())
            .collect::<Vec<_>>(),
        vec![json!("planted")]
    );

    // Lifted: Sam is back at once, from his old browser, signed in.
    let mut back = None;
    for _ in 0..20 {
        let mut c = as_sam().await;
        let m = join_device(&mut c, &room.room_id, "Sam", "device-sam-000001").await;
        if let ServerMsg::Welcome { .. } = m {
            back = Some(c);
            break;
        }
        assert!(is_removed(&m), "{m:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(back.is_some(), "the lifted bar lets Sam back in");
    // The planted bar still holds.
    let mut kim = s.client().await;
    assert!(is_removed(
        &join_device(&mut kim, &room.room_id, "Kim", "device-kim-0000001").await
    ));
    assert!(!s.logs().contains("panicked"));
}
