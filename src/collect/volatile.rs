//! Volatile state of a live host, taken before any file: the mail queue first (it can flush
//! within minutes), then processes, sockets, sessions, mounts, kernel modules, the effective
//! mail config, and the mail units of the journal; after every file, the package managers'
//! verification ([`LATE_COMMANDS`]).
//!
//! `/proc` and `utmp` are read directly and written as JSON Lines; host commands run through
//! [`super::command`] from the fixed [`COMMANDS`] table. To add a probe, add a row there (a
//! command) or a function here returning bytes (a `/proc` reader) and list it in [`probes`].
//! Processes ([`process_rows`]) are the exception: the collector stores a copy of every
//! deleted or in-memory executable first ([`open_exe`], `collect::Run::processes`) and names it
//! in the rows. Everything is bounded (processes, bytes read per `/proc` file, sample sizes),
//! and nothing is followed out of `/proc`: links are read, never opened, except `exe` opened
//! through `/proc` itself for a sample.

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

/// Commands run after every file was taken (still live and volatile, stored under
/// `volatile/`): the package managers' verification of every installed file against its
/// recorded digest (`??5??????` lines: a replaced `sshd`, `ls`, a PAM module). They read every
/// packaged file, which can update access times, so they come after the collection recorded
/// those times. A host without the program gets a `missing` row.
pub const LATE_COMMANDS: &[CommandSpec] = &[
    c("dpkg-verify", &["dpkg", "--verify"], 600),
    c("rpm-Va", &["rpm", "-Va"], 600),
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

/// Process flag of a kernel thread (`PF_KTHREAD`, include/linux/sched.h) in the flags field
/// (the 9th) of `/proc/<pid>/stat`.
const PF_KTHREAD: u64 = 0x0020_0000;
/// Variables of a process's environment whose `NAME=value` is recorded: the loader's
/// injection points and the shell's history controls. Nothing else of an environment is kept.
pub const ENV_MARKERS: &[&str] = &[
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "HISTFILE",
    "HISTSIZE",
    "HISTFILESIZE",
    "PROMPT_COMMAND",
];
/// Most bytes of a marker's value kept (escaped); the rest is counted.
const MARKER_VALUE: usize = 512;
/// Most bytes of `/proc/<pid>/environ` (or `cmdline`) read: the kernel's own limit for one
/// argument or variable is 128 KiB, the whole block is bounded by `ARG_MAX`.
const PROC_TEXT: u64 = 2 << 20;
/// Most processes listed (far above any real host; pids are bounded by `pid_max`).
const MAX_PROCESSES: usize = 1 << 20;
/// Largest executable copied as a sample.
pub const SAMPLE_CAP: u64 = 64 << 20;
/// Most bytes of samples copied in one collection.
pub const SAMPLES_TOTAL: u64 = 512 << 20;

/// One process from `/proc`.
#[derive(Debug, Clone, Serialize)]
pub struct Process {
    /// Process id.
    pub pid: u32,
    /// Parent.
    pub ppid: Option<u32>,
    /// Real uid.
    pub uid: Option<u32>,
    /// `comm` (escaped).
    pub comm: Option<String>,
    /// Arguments joined with spaces (each escaped).
    pub cmdline: String,
    /// The `exe` link's target (escaped).
    pub exe: Option<String>,
    /// The executable's file was deleted (`(deleted)` suffix).
    pub exe_deleted: bool,
    /// Start time (UTC).
    pub start_utc: Option<String>,
    /// The `cwd` link's target (escaped).
    pub cwd: Option<String>,
    /// The executable lives in memory only (`/memfd:` target).
    pub exe_memfd: bool,
    /// A kernel thread (`PF_KTHREAD`): no executable, no environment.
    pub kernel_thread: bool,
    /// `NAME=value` of the [`ENV_MARKERS`] set in its environment (values escaped, capped).
    pub env_markers: Vec<String>,
    /// The stored copy of a deleted or in-memory executable (`volatile/exe/<pid>.bin`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<String>,
    /// SHA-256 of that copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_sha256: Option<String>,
    /// Its size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_size: Option<u64>,
    /// Why no copy was stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_error: Option<String>,
}

impl Process {
    /// Whether its executable should be copied: deleted or in memory only.
    pub fn wants_sample(&self) -> bool {
        !self.kernel_thread && (self.exe_deleted || self.exe_memfd)
    }
}

fn pids() -> Vec<u32> {
    let mut pids: Vec<u32> = fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .take(MAX_PROCESSES)
                .collect()
        })
        .unwrap_or_default();
    pids.sort_unstable();
    pids
}

/// Reads at most [`PROC_TEXT`] bytes of a `/proc` file.
fn read_capped(path: &str) -> Option<Vec<u8>> {
    let f = fs::File::open(path).ok()?;
    let mut v = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(f, PROC_TEXT), &mut v).ok()?;
    Some(v)
}

/// The [`ENV_MARKERS`] of an `environ` block (NUL-separated `NAME=value`), in block order.
pub fn env_markers(environ: &[u8]) -> Vec<String> {
    environ
        .split(|&b| b == 0)
        .filter_map(|var| {
            let eq = var.iter().position(|&b| b == b'=')?;
            let name = &var[..eq];
            if !ENV_MARKERS.iter().any(|m| m.as_bytes() == name) {
                return None;
            }
            let value = &var[eq + 1..];
            let kept = escape(&value[..value.len().min(MARKER_VALUE)]);
            let more = value.len().saturating_sub(MARKER_VALUE);
            Some(if more > 0 {
                format!(
                    "{}={kept}…[{more} more bytes]",
                    String::from_utf8_lossy(name)
                )
            } else {
                format!("{}={kept}", String::from_utf8_lossy(name))
            })
        })
        .collect()
}

/// The fields of one `/proc/<pid>/stat` line that are read: comm, ppid, flags, start ticks.
fn stat_fields(stat: &[u8]) -> (Option<String>, Option<u32>, Option<u64>, Option<u64>) {
    // Fields after the last ')' (comm may contain anything): state ppid pgrp session tty_nr
    // tpgid flags(9) ... starttime(22).
    let close = stat.iter().rposition(|&b| b == b')').unwrap_or(0);
    let open = stat.iter().position(|&b| b == b'(').unwrap_or(0);
    let comm = (open < close).then(|| escape(&stat[open + 1..close]));
    let rest = String::from_utf8_lossy(stat.get(close + 2..).unwrap_or_default()).into_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    (
        comm,
        fields.get(1).and_then(|v| v.parse().ok()),
        fields.get(6).and_then(|v| v.parse().ok()),
        fields.get(19).and_then(|v| v.parse().ok()),
    )
}

/// One row per process of `/proc`: pid, ppid, uid, cmdline, exe and cwd targets, start time,
/// the deleted / memfd / kernel-thread flags, the environment markers. Nothing is followed out
/// of `/proc`: links are read with `readlink`, never opened.
pub fn process_rows() -> Vec<Process> {
    let boot = boot_time();
    let tck = clk_tck().max(1);
    let mut rows = Vec::new();
    for pid in pids() {
        let base = format!("/proc/{pid}");
        let Some(stat) = read_capped(&format!("{base}/stat")) else {
            continue;
        };
        let (comm, ppid, flags, start_ticks) = stat_fields(&stat);
        let start_utc = match (boot, start_ticks) {
            (Some(b), Some(t)) => unix_time(
                b + (t / tck) as i64,
                ((t % tck) * (1_000_000_000 / tck)) as i64,
            ),
            _ => None,
        };
        let uid = read_capped(&format!("{base}/status")).and_then(|s| {
            String::from_utf8_lossy(&s)
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        });
        let cmdline = read_capped(&format!("{base}/cmdline"))
            .map(|c| {
                let parts: Vec<String> = c
                    .split(|&b| b == 0)
                    .filter(|p| !p.is_empty())
                    .map(escape)
                    .collect();
                parts.join(" ")
            })
            .unwrap_or_default();
        let link = |name: &str| {
            fs::read_link(format!("{base}/{name}"))
                .ok()
                .map(|p| platform::os_bytes(p.as_os_str()).into_owned())
        };
        let exe_raw = link("exe");
        let kernel_thread = flags.is_some_and(|f| f & PF_KTHREAD != 0);
        let env_markers = if kernel_thread {
            Vec::new()
        } else {
            read_capped(&format!("{base}/environ"))
                .map(|e| env_markers(&e))
                .unwrap_or_default()
        };
        rows.push(Process {
            pid,
            ppid,
            uid,
            comm,
            exe_deleted: exe_raw
                .as_deref()
                .is_some_and(|e| e.ends_with(b" (deleted)")),
            exe_memfd: exe_raw
                .as_deref()
                .is_some_and(|e| e.starts_with(b"/memfd:")),
            cmdline,
            exe: exe_raw.as_deref().map(escape),
            start_utc,
            cwd: link("cwd").as_deref().map(escape),
            kernel_thread,
            env_markers,
            sample: None,
            sample_sha256: None,
            sample_size: None,
            sample_error: None,
        });
    }
    rows
}

/// Processes as JSON Lines (without samples; the collector stores those first, see
/// `collect::Run::processes`).
pub fn processes() -> Vec<u8> {
    jsonl(&process_rows())
}

/// An executable opened through `/proc/<pid>/exe` for copying: the file the process runs,
/// deleted or in memory, whatever path its link shows.
pub struct ExeFile {
    /// The open file.
    pub file: fs::File,
    /// Its metadata (of the file itself, through the open descriptor).
    pub meta: fs::Metadata,
    /// Whether `O_NOATIME` was honoured.
    pub noatime: bool,
}

/// Opens `/proc/<pid>/exe` read-only (no atime where allowed, never blocking). The kernel
/// opens the mapped file itself: the link's text is never used as a path.
#[cfg(unix)]
pub fn open_exe(pid: u32) -> std::io::Result<ExeFile> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = format!("/proc/{pid}/exe");
    let open = |noatime: bool| {
        let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
        if noatime {
            flags |= libc::O_NOATIME;
        }
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(&path)
    };
    let (file, noatime) = match open(true) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => (open(false)?, false),
        other => (other?, true),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(ExeFile {
        file,
        meta,
        noatime,
    })
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
        ("sockets.jsonl", sockets as Probe),
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
        ("modules.txt", || {
            fs::read("/proc/modules").unwrap_or_default()
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
