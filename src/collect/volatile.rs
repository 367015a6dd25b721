//! Volatile state of a live host, taken before any file: the mail queue first (it can flush
//! within minutes), then processes, sockets, sessions, mounts, the effective mail config, and
//! the mail units of the journal.
//!
//! `/proc` and `utmp` are read directly and written as JSON Lines; host commands run through
//! [`super::command`] from the fixed [`COMMANDS`] table. To add a probe, add a row there (a
//! command) or a function here returning bytes (a `/proc` reader) and list it in [`probes`].

use std::collections::HashMap;
use std::fs;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use crate::evidence::manifest::unix_time;
use crate::evidence::pathname::escape;
use crate::evidence::platform;

/// One host command to run: output name, argv, timeout in seconds.
pub struct CommandSpec {
    /// Name under `volatile/` (`.stdout`, `.stderr`, `.status.json` are appended).
    pub name: &'static str,
    /// Program and arguments (no shell).
    pub argv: &'static [&'static str],
    /// Timeout.
    pub timeout_secs: u64,
}

const fn c(name: &'static str, argv: &'static [&'static str], timeout_secs: u64) -> CommandSpec {
    CommandSpec {
        name,
        argv,
        timeout_secs,
    }
}

/// Queue listings come first: they are the most volatile.
pub const QUEUE_COMMANDS: &[CommandSpec] = &[
    c("postqueue-j", &["postqueue", "-j"], 60),
    c("mailq", &["mailq"], 60),
    c("exim4-bp", &["exim4", "-bp"], 60),
    c("exim-bp", &["exim", "-bp"], 60),
];

/// Everything else, after the /proc probes.
pub const COMMANDS: &[CommandSpec] = &[
    c("postconf-n", &["postconf", "-n"], 30),
    c("postconf-M", &["postconf", "-M"], 30),
    c("postconf-P", &["postconf", "-P"], 30),
    c("exim4-bP", &["exim4", "-bP"], 30),
    c("exim-bP", &["exim", "-bP"], 30),
    c("doveconf-n", &["doveconf", "-n"], 30),
    c("who-a", &["who", "-a"], 10),
    c("ss-tanpe", &["ss", "-tanpe"], 20),
    c("ip-addr", &["ip", "-o", "addr"], 10),
    c("timedatectl", &["timedatectl", "status"], 10),
    c(
        "journal-mail-facility",
        &[
            "journalctl",
            "--no-pager",
            "-o",
            "short-iso-precise",
            "SYSLOG_FACILITY=2",
        ],
        300,
    ),
    c(
        "journal-mail-units",
        &[
            "journalctl",
            "--no-pager",
            "-o",
            "short-iso-precise",
            "-u",
            "postfix*",
            "-u",
            "dovecot*",
            "-u",
            "exim4*",
            "-u",
            "exim*",
            "-u",
            "sendmail*",
            "-u",
            "courier*",
            "-u",
            "saslauthd*",
            "-u",
            "opendkim*",
        ],
        300,
    ),
];

/// Clock ticks per second for `/proc/<pid>/stat` start times.
fn clk_tck() -> u64 {
    platform::clock_ticks()
}

/// Boot time (seconds since the epoch) from `/proc/stat`.
pub fn boot_time() -> Option<i64> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

fn jsonl<T: Serialize>(rows: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in rows {
        if let Ok(line) = serde_json::to_vec(r) {
            out.extend_from_slice(&line);
            out.push(b'\n');
        }
    }
    out
}

/// One process from `/proc`.
#[derive(Serialize)]
struct Process {
    pid: u32,
    ppid: Option<u32>,
    uid: Option<u32>,
    comm: Option<String>,
    cmdline: String,
    exe: Option<String>,
    exe_deleted: bool,
    start_utc: Option<String>,
}

fn pids() -> Vec<u32> {
    let mut pids: Vec<u32> = fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.sort_unstable();
    pids
}

/// Processes: pid, ppid, uid, cmdline, exe target, start time.
pub fn processes() -> Vec<u8> {
    let boot = boot_time();
    let tck = clk_tck();
    let mut rows = Vec::new();
    for pid in pids() {
        let base = format!("/proc/{pid}");
        let Ok(stat) = fs::read(format!("{base}/stat")) else {
            continue;
        };
        // Fields after the last ')' (comm may contain anything): state ppid ... starttime(22).
        let close = stat.iter().rposition(|&b| b == b')').unwrap_or(0);
        let open = stat.iter().position(|&b| b == b'(').unwrap_or(0);
        let comm = (open < close).then(|| escape(&stat[open + 1..close]));
        let rest = String::from_utf8_lossy(stat.get(close + 2..).unwrap_or_default()).into_owned();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ppid = fields.get(1).and_then(|v| v.parse().ok());
        let start_ticks: Option<u64> = fields.get(19).and_then(|v| v.parse().ok());
        let start_utc = match (boot, start_ticks) {
            (Some(b), Some(t)) => unix_time(
                b + (t / tck) as i64,
                ((t % tck) * (1_000_000_000 / tck)) as i64,
            ),
            _ => None,
        };
        let uid = fs::read_to_string(format!("{base}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|v| v.split_whitespace().next()?.parse().ok())
            });
        let cmdline = fs::read(format!("{base}/cmdline"))
            .map(|c| {
                let parts: Vec<String> = c
                    .split(|&b| b == 0)
                    .filter(|p| !p.is_empty())
                    .map(escape)
                    .collect();
                parts.join(" ")
            })
            .unwrap_or_default();
        let exe = fs::read_link(format!("{base}/exe"))
            .ok()
            .map(|p| escape(&platform::os_bytes(p.as_os_str())));
        rows.push(Process {
            pid,
            ppid,
            uid,
            comm,
            exe_deleted: exe.as_deref().is_some_and(|e| e.ends_with(" (deleted)")),
            cmdline,
            exe,
            start_utc,
        });
    }
    jsonl(&rows)
}

/// Parses `0100007F:0019` (little-endian IPv4) or the 32-hex-digit IPv6 form.
fn addr(hex: &str) -> Option<String> {
    let (ip, port) = hex.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let bytes: Vec<u8> = (0..ip.len() / 2)
        .filter_map(|i| u8::from_str_radix(ip.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    let ip = match bytes.len() {
        4 => std::net::IpAddr::from([bytes[3], bytes[2], bytes[1], bytes[0]]),
        16 => {
            let mut b = [0u8; 16];
            for w in 0..4 {
                for i in 0..4 {
                    b[w * 4 + i] = bytes[w * 4 + 3 - i];
                }
            }
            std::net::IpAddr::from(b)
        }
        _ => return None,
    };
    Some(match ip {
        std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        v4 => format!("{v4}:{port}"),
    })
}

const TCP_STATES: [&str; 12] = [
    "",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
];

/// Map of socket inode to owning pids, from `/proc/<pid>/fd`.
fn socket_owners() -> HashMap<u64, Vec<u32>> {
    let mut owners: HashMap<u64, Vec<u32>> = HashMap::new();
    for pid in pids() {
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            let t = target.to_string_lossy();
            if let Some(inode) = t
                .strip_prefix("socket:[")
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse().ok())
            {
                let e = owners.entry(inode).or_default();
                if !e.contains(&pid) {
                    e.push(pid);
                }
            }
        }
    }
    owners
}

/// TCP and UDP sockets (v4 and v6) with their owning pids.
pub fn sockets() -> Vec<u8> {
    let owners = socket_owners();
    let mut rows = Vec::new();
    for proto in ["tcp", "tcp6", "udp", "udp6"] {
        let Ok(text) = fs::read_to_string(format!("/proc/net/{proto}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                continue;
            }
            let state = usize::from_str_radix(f[3], 16).ok();
            let inode: u64 = f[9].parse().unwrap_or(0);
            rows.push(json!({
                "proto": proto,
                "local": addr(f[1]),
                "remote": addr(f[2]),
                "state": if proto.starts_with("tcp") { state.and_then(|s| TCP_STATES.get(s)).copied() } else { None },
                "uid": f[7].parse::<u32>().ok(),
                "inode": inode,
                "pids": owners.get(&inode).cloned().unwrap_or_default(),
            }));
        }
    }
    jsonl(&rows)
}

/// Logged-in sessions from a `utmp` file (glibc x86-64/aarch64 layout, 384-byte records).
pub fn sessions(utmp: &[u8]) -> Vec<u8> {
    const REC: usize = 384;
    let text = |b: &[u8]| {
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        escape(&b[..end])
    };
    let i32_at = |b: &[u8], o: usize| {
        b.get(o..o + 4)
            .map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    };
    let kinds = [
        "EMPTY",
        "RUN_LVL",
        "BOOT_TIME",
        "NEW_TIME",
        "OLD_TIME",
        "INIT_PROCESS",
        "LOGIN_PROCESS",
        "USER_PROCESS",
        "DEAD_PROCESS",
        "ACCOUNTING",
    ];
    let mut rows = Vec::new();
    for rec in utmp.chunks_exact(REC) {
        let kind = i16::from_le_bytes([rec[0], rec[1]]);
        if kind == 0 {
            continue;
        }
        let secs = i32_at(rec, 340).unwrap_or(0);
        let usecs = i32_at(rec, 344).unwrap_or(0);
        rows.push(json!({
            "type": kinds.get(kind as usize).copied().unwrap_or("UNKNOWN"),
            "pid": i32_at(rec, 4),
            "line": text(&rec[8..40]),
            "user": text(&rec[44..76]),
            "host": text(&rec[76..332]),
            "time_utc": unix_time(i64::from(secs), i64::from(usecs) * 1000),
        }));
    }
    jsonl(&rows)
}

/// A `/proc` reader producing one volatile output.
pub type Probe = fn() -> Vec<u8>;

/// The names and functions of the `/proc` probes, in order.
pub fn probes() -> Vec<(&'static str, Probe)> {
    vec![
        ("processes.jsonl", processes as Probe),
        ("sockets.jsonl", sockets),
        ("sessions.jsonl", || {
            sessions(
                &fs::read("/run/utmp")
                    .or_else(|_| fs::read("/var/run/utmp"))
                    .unwrap_or_default(),
            )
        }),
        ("mountinfo.txt", || {
            fs::read("/proc/self/mountinfo").unwrap_or_default()
        }),
    ]
}

/// Runs one command spec with the volatile output cap.
pub fn run_command(spec: &CommandSpec, cap: usize) -> super::command::CommandOutput {
    super::command::run(spec.argv, Duration::from_secs(spec.timeout_secs), cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_addresses_decode() {
        assert_eq!(addr("0100007F:0019").as_deref(), Some("127.0.0.1:25"));
        assert_eq!(
            addr("00000000000000000000000001000000:024B").as_deref(),
            Some("[::1]:587")
        );
    }

    #[test]
    fn live_proc_probes_see_this_process() {
        let me = std::process::id();
        let procs = String::from_utf8(processes()).unwrap();
        assert!(procs.lines().any(|l| l.contains(&format!("\"pid\":{me},"))));
        let _ = sockets();
    }

    #[test]
    fn utmp_records_decode() {
        let mut rec = vec![0u8; 384];
        rec[0] = 7; // USER_PROCESS
        rec[4..8].copy_from_slice(&4242i32.to_le_bytes());
        rec[8..13].copy_from_slice(b"pts/0");
        rec[44..48].copy_from_slice(b"root");
        rec[76..85].copy_from_slice(b"203.0.113");
        rec[340..344].copy_from_slice(&1_772_331_247i32.to_le_bytes());
        let out = String::from_utf8(sessions(&rec)).unwrap();
        assert!(out.contains("\"user\":\"root\""), "{out}");
        assert!(
            out.contains("\"time_utc\":\"2026-03-01T02:14:07Z\""),
            "{out}"
        );
        assert!(out.contains("USER_PROCESS"));
    }
}
