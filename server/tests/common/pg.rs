//! A real Postgres for tests: Debian's binaries (/usr/lib/postgresql/N/bin,
//! the highest N), a fresh cluster in a temp dir on a free port (never the
//! machine's own Postgres), started with `pg_ctl -w` and stopped at drop.
//! As root, every Postgres command runs as the `postgres` OS user (Postgres
//! refuses to run as root).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh temp directory, removed at drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "huddle-{tag}-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&p).expect("creating a temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn str(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("could not remove {}: {e}", self.0.display());
        }
    }
}

fn bin_dir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .unwrap_or_else(|e| {
            panic!(
                "no Postgres in {} ({e}): install postgresql",
                root.display()
            )
        })
        .filter_map(|d| d.ok())
        .filter_map(|d| {
            let v = d.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = d.path().join("bin");
            bin.join("pg_ctl").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, b)| b)
        .expect("no /usr/lib/postgresql/N/bin/pg_ctl: install postgresql")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub struct Postgres {
    dir: TempDir,
    bin: PathBuf,
    root: bool,
    pub port: u16,
}

impl Postgres {
    /// A new cluster (user `huddle`, trust auth on 127.0.0.1), running.
    pub fn start() -> Postgres {
        let dir = TempDir::new("pg");
        let bin = bin_dir();
        let root = is_root();
        std::fs::create_dir_all(dir.path().join("sock")).expect("socket dir");
        if root {
            let st = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(st.success(), "chown of the Postgres dir failed");
        }
        let pg = Postgres {
            port: free_port(),
            dir,
            bin,
            root,
        };
        let data = pg.data();
        let out = pg
            .cmd("initdb")
            .args([
                "-D",
                &data,
                "--auth=trust",
                "-U",
                "huddle",
                "-E",
                "UTF8",
                "--no-sync",
            ])
            .output()
            .expect("running initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg.resume();
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn cmd(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    pub fn url(&self) -> String {
        format!("postgres://huddle@127.0.0.1:{}/postgres", self.port)
    }

    /// A new empty database in this cluster; its URL.
    pub fn new_database(&self, name: &str) -> String {
        let out = self
            .cmd("createdb")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "huddle",
                name,
            ])
            .output()
            .expect("running createdb");
        assert!(
            out.status.success(),
            "createdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("postgres://huddle@127.0.0.1:{}/{name}", self.port)
    }

    /// Start (again) on the same port and data, waiting until it accepts connections.
    pub fn resume(&self) {
        // fsync off is safe for a test's kill (the OS keeps what was written);
        // synchronous_commit must stay on: off, a commit acknowledged just
        // before an immediate stop is lost, and the outage test sees it.
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().join("sock").display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        let out = self
            .cmd("pg_ctl")
            .args([
                "start",
                "-w",
                "-t",
                "30",
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &opts,
            ])
            .output()
            .expect("running pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stop at once (immediate mode: like a crash; committed data survives).
    pub fn stop(&self) {
        let out = self
            .cmd("pg_ctl")
            .args(["stop", "-w", "-m", "immediate", "-D", &self.data()])
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!("pg_ctl stop: {}", String::from_utf8_lossy(&o.stderr)),
            Err(e) => eprintln!("pg_ctl stop: {e}"),
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.dir.path().join("data/postmaster.pid").exists() {
            self.stop();
        }
    }
}
