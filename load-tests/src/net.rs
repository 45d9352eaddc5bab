//! Target addresses (loopback only) and a tiny HTTP/1.1 client for the few
//! REST calls a load run needs (`POST /api/rooms`, `GET /healthz`).

use anyhow::{anyhow, bail, Context, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A server to load: always a loopback address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub addr: SocketAddr,
}

impl Endpoint {
    /// Parse `http://host:port`, `ws://host:port/...`, or `host:port`. Only
    /// 127.0.0.1, ::1 and localhost are accepted: this tool never loads a remote host.
    pub fn parse(s: &str) -> Result<Endpoint> {
        let s = s.trim();
        let rest = s
            .strip_prefix("http://")
            .or_else(|| s.strip_prefix("ws://"))
            .unwrap_or(s);
        if rest.starts_with("https://") || s.starts_with("https://") || s.starts_with("wss://") {
            bail!("{s}: TLS targets are not supported (loopback only)");
        }
        if rest.contains("://") {
            bail!("{s}: unsupported scheme (use http:// or ws://)");
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let (host, port) = if let Some(h) = authority.strip_prefix('[') {
            let (h, p) = h
                .split_once("]:")
                .ok_or_else(|| anyhow!("{s}: expected [::1]:PORT"))?;
            (h, p)
        } else {
            authority
                .rsplit_once(':')
                .ok_or_else(|| anyhow!("{s}: a port is required (e.g. http://127.0.0.1:8080)"))?
        };
        let port: u16 = port
            .parse()
            .with_context(|| format!("{s}: bad port {port:?}"))?;
        let ip: IpAddr = match host {
            "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
            "127.0.0.1" => IpAddr::V4(Ipv4Addr::LOCALHOST),
            "::1" => IpAddr::V6(Ipv6Addr::LOCALHOST),
            other => bail!(
                "refusing to load {other:?}: huddle-load only targets 127.0.0.1, ::1 or localhost"
            ),
        };
        if port == 0 {
            bail!("{s}: port 0");
        }
        Ok(Endpoint {
            addr: SocketAddr::new(ip, port),
        })
    }

    /// Comma-separated list.
    pub fn parse_list(s: &str) -> Result<Vec<Endpoint>> {
        let v: Vec<Endpoint> = s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(Endpoint::parse)
            .collect::<Result<_>>()?;
        if v.is_empty() {
            bail!("no URL given");
        }
        Ok(v)
    }

    /// `host:port` as it goes in a URL and a Host header.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.authority(), path)
    }

    pub fn http_url(&self) -> String {
        format!("http://{}", self.authority())
    }
}

/// An HTTP response: status and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// One HTTP/1.1 request with `Connection: close`, bounded by `timeout`.
pub async fn request(
    ep: &Endpoint,
    method: &str,
    path: &str,
    json_body: Option<&str>,
    timeout: Duration,
) -> Result<Response> {
    tokio::time::timeout(timeout, request_inner(ep, method, path, json_body))
        .await
        .map_err(|_| anyhow!("{method} {path} on {}: timed out", ep.authority()))?
}

async fn request_inner(
    ep: &Endpoint,
    method: &str,
    path: &str,
    json_body: Option<&str>,
) -> Result<Response> {
    let mut s = TcpStream::connect(ep.addr)
        .await
        .with_context(|| format!("connect {}", ep.authority()))?;
    let body = json_body.unwrap_or("");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: huddle-load\r\nAccept: application/json\r\nConnection: close\r\n",
        ep.authority()
    );
    if json_body.is_some() {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await?;
    let mut buf = Vec::with_capacity(1024);
    // Bounded: a reply to these calls is small.
    (&mut s).take(4 << 20).read_to_end(&mut buf).await?;
    parse_response(&buf)
}

/// Parse a complete HTTP/1.1 response (Content-Length, chunked, or until close).
pub fn parse_response(raw: &[u8]) -> Result<Response> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow!("malformed HTTP response (no header end)"))?;
    let head = std::str::from_utf8(&raw[..head_end]).context("non-UTF-8 HTTP header")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow!("malformed status line {status_line:?}"))?;
    let mut chunked = false;
    let mut length: Option<usize> = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            } else if k == "content-length" {
                length = v.parse().ok();
            }
        }
    }
    let rest = &raw[head_end + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = length {
        rest.get(..n)
            .ok_or_else(|| anyhow!("HTTP body shorter than Content-Length"))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| anyhow!("bad chunked body"))?;
        let size_s = std::str::from_utf8(&b[..eol])?;
        let size = usize::from_str_radix(size_s.split(';').next().unwrap_or("").trim(), 16)
            .context("bad chunk size")?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(b.get(..size).ok_or_else(|| anyhow!("truncated chunk"))?);
        b = b.get(size + 2..).unwrap_or(&[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:8080")
                .unwrap()
                .authority(),
            "127.0.0.1:8080"
        );
        assert_eq!(
            Endpoint::parse("ws://localhost:9/ws").unwrap().authority(),
            "127.0.0.1:9"
        );
        assert_eq!(
            Endpoint::parse("[::1]:3000").unwrap().ws_url("/ws"),
            "ws://[::1]:3000/ws"
        );
        assert!(Endpoint::parse("http://10.0.0.1:80").is_err());
        assert!(Endpoint::parse("http://example.com:80").is_err());
        assert!(Endpoint::parse("https://127.0.0.1:443").is_err());
        assert!(Endpoint::parse("http://127.0.0.1").is_err());
        let l = Endpoint::parse_list("http://127.0.0.1:1, http://127.0.0.1:2,").unwrap();
        assert_eq!(l.len(), 2);
        assert!(Endpoint::parse_list("http://127.0.0.1:1,http://8.8.8.8:53").is_err());
    }

    #[test]
    fn http_responses() {
        let r = parse_response(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!((r.status, r.body.as_str()), (201, "{}"));
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.body, "abcde");
        assert!(parse_response(b"garbage").is_err());
    }
}
