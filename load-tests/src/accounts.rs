//! `huddle-load accounts`: sign-in latency (Argon2id dominates) and the rate
//! of room creation by a signed-in facilitator, against one Huddle on
//! loopback. Optionally first uses a setup link (`huddle admin create`) to
//! set the account's password. HTTP/1.1 with `Connection: close`, a new
//! connection per request, bounded concurrency.

use crate::net::{parse_response, Endpoint, Response};
use crate::stats::quantile_sorted;
use anyhow::{anyhow, bail, Context, Result};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

pub struct Config {
    pub endpoint: Endpoint,
    pub email: String,
    pub password: String,
    /// A setup (or reset) token to redeem first with the password.
    pub setup_token: Option<String>,
    pub sign_ins: u32,
    pub rooms: u32,
    pub concurrency: usize,
}

#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub sign_ins: u32,
    pub sign_in_concurrency: usize,
    pub sign_in_p50_ms: f64,
    pub sign_in_p99_ms: f64,
    pub sign_in_max_ms: f64,
    pub sign_ins_per_sec: f64,
    pub rooms: u32,
    pub room_p50_ms: f64,
    pub room_p99_ms: f64,
    pub rooms_per_sec: f64,
}

/// One request with extra headers; the response and its Set-Cookie.
async fn call(
    ep: &Endpoint,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(Response, Option<String>)> {
    let fut = async {
        let mut s = TcpStream::connect(ep.addr).await?;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: huddle-load\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n",
            ep.authority(),
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes()).await?;
        let mut buf = Vec::with_capacity(1024);
        (&mut s).take(1 << 20).read_to_end(&mut buf).await?;
        let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0);
        let cookie = String::from_utf8_lossy(&buf[..head_end])
            .split("\r\n")
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("set-cookie")
                    .then(|| v.trim().split(';').next().unwrap_or("").to_string())
            });
        Ok::<_, anyhow::Error>((parse_response(&buf)?, cookie))
    };
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .map_err(|_| anyhow!("{method} {path}: timed out"))?
}

fn ms(d: u64) -> f64 {
    d as f64 / 1000.0
}

pub async fn run(cfg: Config) -> Result<Report> {
    let ep = Arc::new(cfg.endpoint);
    let origin = ep.http_url();
    let origin = origin.trim_end_matches('/').to_string();
    if let Some(token) = &cfg.setup_token {
        let body = serde_json::json!({"token": token, "password": cfg.password}).to_string();
        let (r, _) = call(
            &ep,
            "POST",
            "/api/auth/accept",
            &[("Origin", &origin)],
            &body,
        )
        .await?;
        if r.status != 200 {
            bail!("setup link refused: {} {}", r.status, r.body);
        }
    }
    let sign_in_body =
        serde_json::json!({"email": cfg.email, "password": cfg.password}).to_string();
    // Sign-ins: bounded concurrency, latency of each (µs).
    let gate = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..cfg.sign_ins {
        let permit = gate.clone().acquire_owned().await?;
        let (ep, origin, body) = (ep.clone(), origin.clone(), sign_in_body.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = call(
                &ep,
                "POST",
                "/api/auth/sign-in",
                &[("Origin", &origin)],
                &body,
            )
            .await;
            drop(permit);
            let (resp, cookie) = r?;
            if resp.status != 200 {
                bail!("sign-in answered {}: {}", resp.status, resp.body);
            }
            Ok((t.elapsed().as_micros() as u64, cookie))
        }));
    }
    let mut lat = Vec::new();
    let mut cookie = None;
    for t in tasks {
        let (us, c) = t.await.context("sign-in task")??;
        lat.push(us);
        cookie = cookie.or(c);
    }
    let sign_in_secs = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    let cookie = cookie.ok_or_else(|| anyhow!("sign-in set no cookie"))?;

    // Rooms, created by the signed-in account, same concurrency.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..cfg.rooms {
        let permit = gate.clone().acquire_owned().await?;
        let (ep, origin, cookie) = (ep.clone(), origin.clone(), cookie.clone());
        tasks.push(tokio::spawn(async move {
            let body =
                serde_json::json!({"title": format!("Bench {i}"), "kind": "group"}).to_string();
            let t = Instant::now();
            let r = call(
                &ep,
                "POST",
                "/api/rooms",
                &[("Origin", &origin), ("Cookie", &cookie)],
                &body,
            )
            .await;
            drop(permit);
            let (resp, _) = r?;
            if resp.status != 201 {
                bail!("room creation answered {}: {}", resp.status, resp.body);
            }
            Ok(t.elapsed().as_micros() as u64)
        }));
    }
    let mut room_lat = Vec::new();
    for t in tasks {
        room_lat.push(t.await.context("room task")??);
    }
    let room_secs = started.elapsed().as_secs_f64();
    room_lat.sort_unstable();
    Ok(Report {
        sign_ins: cfg.sign_ins,
        sign_in_concurrency: cfg.concurrency,
        sign_in_p50_ms: ms(quantile_sorted(&lat, 0.5)),
        sign_in_p99_ms: ms(quantile_sorted(&lat, 0.99)),
        sign_in_max_ms: ms(lat.last().copied().unwrap_or(0)),
        sign_ins_per_sec: cfg.sign_ins as f64 / sign_in_secs.max(1e-9),
        rooms: cfg.rooms,
        room_p50_ms: ms(quantile_sorted(&room_lat, 0.5)),
        room_p99_ms: ms(quantile_sorted(&room_lat, 0.99)),
        rooms_per_sec: cfg.rooms as f64 / room_secs.max(1e-9),
    })
}
