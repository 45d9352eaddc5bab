//! Process-level facts from Linux: file-descriptor limit, and a server's RSS and
//! CPU time from `/proc/PID/status` and `/proc/PID/stat`.

use serde::Serialize;

/// Raise RLIMIT_NOFILE's soft limit to its hard limit. Returns (old soft, new soft).
// `rlim_t` is u64 on 64-bit Linux but not everywhere.
#[allow(clippy::unnecessary_cast)]
pub fn raise_nofile_limit() -> std::io::Result<(u64, u64)> {
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let old = lim.rlim_cur as u64;
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok((old, lim.rlim_cur as u64))
    }
}

/// Clock ticks per second for `/proc/PID/stat` times.
pub fn clock_ticks_per_sec() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// One reading of a process.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct ProcSample {
    pub pid: u32,
    /// Resident set size, KiB (`VmRSS`).
    pub rss_kb: u64,
    /// Peak resident set size, KiB (`VmHWM`).
    pub hwm_kb: u64,
    /// User + system CPU time, clock ticks.
    pub cpu_ticks: u64,
    pub threads: u64,
}

/// Read `/proc/PID/status` and `/proc/PID/stat`.
pub fn sample(pid: u32) -> std::io::Result<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let (rss_kb, hwm_kb, threads) = parse_status(&status);
    Ok(ProcSample {
        pid,
        rss_kb,
        hwm_kb,
        cpu_ticks: parse_stat_cpu(&stat).unwrap_or(0),
        threads,
    })
}

/// Our own process.
pub fn sample_self() -> std::io::Result<ProcSample> {
    sample(std::process::id())
}

/// (VmRSS KiB, VmHWM KiB, Threads) from `/proc/PID/status` text.
pub fn parse_status(status: &str) -> (u64, u64, u64) {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"), field("Threads:"))
}

/// utime + stime (fields 14 and 15) from `/proc/PID/stat` text. The command
/// name (field 2) may contain spaces and parentheses, so split after the last ')'.
pub fn parse_stat_cpu(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state): field N is at index N - 3.
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(utime + stime)
}

/// Machine-wide CPU time from the first line of `/proc/stat`: (busy, total) ticks,
/// summed over all cores (busy = total − idle − iowait).
pub fn machine_cpu_ticks() -> Option<(u64, u64)> {
    parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?)
}

pub fn parse_proc_stat(s: &str) -> Option<(u64, u64)> {
    let line = s.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 5 {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v[3] + v[4];
    Some((total - idle, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_stat() {
        let status = "Name:\thuddle\nVmHWM:\t  20480 kB\nVmRSS:\t   10240 kB\nThreads:\t3\n";
        assert_eq!(parse_status(status), (10240, 20480, 3));
        let stat =
            "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 0 0";
        assert_eq!(parse_stat_cpu(stat), Some(300));
        assert_eq!(parse_stat_cpu("garbage"), None);
    }

    #[test]
    fn parses_proc_stat() {
        let s = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4 5\n";
        assert_eq!(parse_proc_stat(s), Some((150, 1000)));
        assert_eq!(parse_proc_stat("intr 1 2"), None);
        assert!(machine_cpu_ticks().is_some());
    }

    #[test]
    fn reads_own_process() {
        let s = sample_self().unwrap();
        assert!(s.rss_kb > 0);
        assert!(s.threads >= 1);
        assert!(clock_ticks_per_sec() > 0);
    }
}
