//! The running processes, sockets and kernel modules of a live collection, as the collector
//! wrote them (`volatile/processes.jsonl`, `volatile/sockets.jsonl` by
//! [`crate::collect::volatile`], and the raw `volatile/modules.txt` copy of `/proc/modules`).
//!
//! Each reader keeps the line a record came from (findings cite it) and reads tolerantly:
//! fields the collector adds later are optional with defaults, a line that is not a record is
//! counted in `bad` and skipped. Rules (`host.malware_process`) consume the typed records; a
//! new field is one more `#[serde(default)]` member here.

use std::net::IpAddr;

use serde::Deserialize;

/// One process of `volatile/processes.jsonl`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Process {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    #[serde(default)]
    pub ppid: Option<u32>,
    /// Real user id.
    #[serde(default)]
    pub uid: Option<u32>,
    /// The kernel's short name (`/proc/<pid>/comm`, what `prctl(PR_SET_NAME)` sets).
    #[serde(default)]
    pub comm: Option<String>,
    /// Arguments joined by spaces (empty for kernel threads).
    #[serde(default)]
    pub cmdline: String,
    /// The `/proc/<pid>/exe` link's target (` (deleted)` appended by the kernel when the file
    /// is gone; `/memfd:NAME (deleted)` for a memory-only file).
    #[serde(default)]
    pub exe: Option<String>,
    /// Whether the executable was deleted.
    #[serde(default)]
    pub exe_deleted: bool,
    /// Whether the executable is a `memfd_create(2)` file.
    #[serde(default)]
    pub exe_memfd: bool,
    /// Start time (RFC 3339, UTC).
    #[serde(default)]
    pub start_utc: Option<String>,
    /// Working directory.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Whether the kernel flags it a kernel thread (`PF_KTHREAD`); `None` when not recorded.
    #[serde(default)]
    pub kernel_thread: Option<bool>,
    /// Chosen environment variables (`LD_PRELOAD=…`, `HISTFILE=…`) as `NAME=value`.
    #[serde(default)]
    pub env_markers: Vec<String>,
    /// Bundle entry of the copied executable (`volatile/exe/<pid>.bin`) of a deleted or
    /// memory-only program.
    #[serde(default)]
    pub sample: Option<String>,
    /// SHA-256 of the copy.
    #[serde(default)]
    pub sample_sha256: Option<String>,
    /// Size of the copy.
    #[serde(default)]
    pub sample_size: Option<u64>,
    /// Why no copy was taken.
    #[serde(default)]
    pub sample_error: Option<String>,
    /// Line of the file (from 1).
    #[serde(skip)]
    pub line: u64,
}

impl Process {
    /// The executable's path without the kernel's ` (deleted)` mark.
    pub fn exe_path(&self) -> Option<&str> {
        self.exe
            .as_deref()
            .map(|e| e.strip_suffix(" (deleted)").unwrap_or(e))
    }

    /// Whether the executable lives only in memory (`memfd_create`).
    pub fn is_memfd(&self) -> bool {
        self.exe_memfd
            || self
                .exe
                .as_deref()
                .is_some_and(|e| e.starts_with("/memfd:"))
    }

    /// Whether the executable was deleted (flag or the kernel's mark).
    pub fn is_deleted(&self) -> bool {
        self.exe_deleted
            || self
                .exe
                .as_deref()
                .is_some_and(|e| e.ends_with(" (deleted)"))
    }

    /// Whether it is a kernel thread: the kernel's flag when recorded, else kthreadd (pid 2)
    /// or one of its children without an executable.
    pub fn is_kernel_thread(&self) -> bool {
        match self.kernel_thread {
            Some(k) => k,
            None => self.exe.is_none() && (self.pid == 2 || self.ppid == Some(2)),
        }
    }

    /// The program's name: `comm`, else the executable's file name.
    pub fn name(&self) -> &str {
        match self.comm.as_deref() {
            Some(c) if !c.is_empty() => c,
            _ => self
                .exe_path()
                .map(|e| e.rsplit('/').next().unwrap_or(e))
                .unwrap_or(""),
        }
    }

    /// The value of environment marker `name` (`LD_PRELOAD`).
    pub fn env(&self, name: &str) -> Option<&str> {
        self.env_markers
            .iter()
            .find_map(|m| m.strip_prefix(name)?.strip_prefix('='))
    }
}

/// One socket of `volatile/sockets.jsonl`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Socket {
    /// `tcp`, `tcp6`, `udp`, `udp6`.
    #[serde(default)]
    pub proto: String,
    /// Local address (`127.0.0.1:25`, `[::1]:587`).
    #[serde(default)]
    pub local: Option<String>,
    /// Remote address.
    #[serde(default)]
    pub remote: Option<String>,
    /// TCP state (`ESTABLISHED`, `LISTEN`…); none for UDP.
    #[serde(default)]
    pub state: Option<String>,
    /// Owner's user id.
    #[serde(default)]
    pub uid: Option<u32>,
    /// Socket inode.
    #[serde(default)]
    pub inode: u64,
    /// Processes holding it.
    #[serde(default)]
    pub pids: Vec<u32>,
    /// Line of the file (from 1).
    #[serde(skip)]
    pub line: u64,
}

impl Socket {
    /// Whether it is a TCP connection made or being made (`ESTABLISHED`, `SYN_SENT`).
    pub fn is_connection(&self) -> bool {
        self.proto.starts_with("tcp")
            && matches!(self.state.as_deref(), Some("ESTABLISHED" | "SYN_SENT"))
    }

    /// The remote address's IP.
    pub fn remote_ip(&self) -> Option<IpAddr> {
        let r = self.remote.as_deref()?;
        let host = match r.strip_prefix('[') {
            Some(v6) => v6.split_once(']')?.0,
            None => r.rsplit_once(':').map(|(h, _)| h).unwrap_or(r),
        };
        host.parse().ok()
    }
}

/// Whether `ip` is public (not loopback, private, link-local, unspecified or unique-local).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            !(v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || v.octets()[0] == 100 && (v.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v) => match v.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                !(v.is_loopback()
                    || v.is_unspecified()
                    || (v.segments()[0] & 0xfe00) == 0xfc00
                    || (v.segments()[0] & 0xffc0) == 0xfe80)
            }
        },
    }
}

/// Records of one JSON Lines file, with how many lines were not records.
#[derive(Debug, Default)]
pub struct Read<T> {
    /// The records, in file order.
    pub rows: Vec<T>,
    /// Lines that were not a record.
    pub bad: usize,
}

fn jsonl<T: for<'de> Deserialize<'de>>(text: &str, set_line: fn(&mut T, u64)) -> Read<T> {
    let mut out = Read {
        rows: Vec::new(),
        bad: 0,
    };
    for (n, l) in super::numbered(text) {
        if l.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<T>(l) {
            Ok(mut r) => {
                set_line(&mut r, n);
                out.rows.push(r);
            }
            Err(_) => out.bad += 1,
        }
    }
    out
}

/// Reads `volatile/processes.jsonl`.
pub fn processes(text: &str) -> Read<Process> {
    jsonl(text, |p: &mut Process, n| p.line = n)
}

/// Reads `volatile/sockets.jsonl`.
pub fn sockets(text: &str) -> Read<Socket> {
    jsonl(text, |s: &mut Socket, n| s.line = n)
}

/// One kernel module of `/proc/modules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// `Live`, `Loading`, `Unloading`.
    pub state: String,
    /// Taint flags (`O` out-of-tree, `E` unsigned, `P` proprietary…; empty when untainted).
    pub taint: String,
    /// Line of the file (from 1).
    pub line: u64,
}

/// Reads `/proc/modules`: `name size refcount deps state address [(taint)]` (the kernel's
/// `m_show` in `kernel/module/procfs.c`; taint letters as in
/// `Documentation/admin-guide/tainted-kernels.rst`).
pub fn modules(text: &str) -> Vec<Module> {
    let mut out = Vec::new();
    for (n, l) in super::numbered(text) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 5 {
            continue;
        }
        let Ok(size) = f[1].parse() else {
            continue;
        };
        let taint = f
            .get(6)
            .and_then(|t| t.strip_prefix('(')?.strip_suffix(')'))
            .unwrap_or("")
            .to_string();
        out.push(Module {
            name: f[0].to_string(),
            size,
            state: f[4].to_string(),
            taint,
            line: n,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_read_old_and_new_fields() {
        let text = concat!(
            r#"{"pid":2,"ppid":0,"uid":0,"comm":"kthreadd","cmdline":"","exe":null,"exe_deleted":false,"start_utc":"2026-12-07T01:00:00Z"}"#,
            "\n",
            "not json\n",
            r#"{"pid":4242,"ppid":1,"uid":0,"comm":"kworkerd","cmdline":"/tmp/.x/kworkerd","exe":"/tmp/.x/kworkerd (deleted)","exe_deleted":true,"cwd":"/tmp","exe_memfd":false,"kernel_thread":false,"env_markers":["LD_PRELOAD=/tmp/.x/l.so"],"sample":"volatile/exe/4242.bin","sample_sha256":"ab","sample_size":3}"#,
            "\n",
            r#"{"pid":77,"ppid":1,"uid":0,"comm":"python3","cmdline":"x","exe":"/memfd:a (deleted)","exe_deleted":true}"#,
            "\n",
        );
        let r = processes(text);
        assert_eq!(r.bad, 1);
        assert_eq!(r.rows.len(), 3);
        let k = &r.rows[0];
        assert!(k.is_kernel_thread() && !k.is_deleted() && k.line == 1);
        let p = &r.rows[1];
        assert_eq!(p.line, 3);
        assert!(p.is_deleted() && !p.is_memfd() && !p.is_kernel_thread());
        assert_eq!(p.exe_path(), Some("/tmp/.x/kworkerd"));
        assert_eq!(p.env("LD_PRELOAD"), Some("/tmp/.x/l.so"));
        assert_eq!(p.sample.as_deref(), Some("volatile/exe/4242.bin"));
        assert!(r.rows[2].is_memfd());
        assert_eq!(r.rows[2].name(), "python3");
    }

    #[test]
    fn sockets_read_with_addresses() {
        let text = concat!(
            r#"{"proto":"tcp","local":"10.0.0.5:41234","remote":"203.0.113.9:4444","state":"ESTABLISHED","uid":0,"inode":99,"pids":[4242]}"#,
            "\n",
            r#"{"proto":"tcp6","local":"[::]:25","remote":"[::]:0","state":"LISTEN","uid":0,"inode":7,"pids":[900]}"#,
            "\n",
            r#"{"proto":"udp","local":"0.0.0.0:68","remote":"0.0.0.0:0","state":null,"uid":0,"inode":8,"pids":[]}"#,
            "\n",
        );
        let r = sockets(text);
        assert_eq!(r.rows.len(), 3);
        assert!(r.rows[0].is_connection());
        assert_eq!(r.rows[0].remote_ip(), Some("203.0.113.9".parse().unwrap()));
        assert!(is_public(r.rows[0].remote_ip().unwrap()));
        assert!(!r.rows[1].is_connection());
        assert_eq!(r.rows[1].remote_ip(), Some("::".parse().unwrap()));
        assert!(!r.rows[2].is_connection());
        assert!(!is_public("127.0.0.1".parse().unwrap()));
        assert!(!is_public("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!is_public("100.64.0.1".parse().unwrap()));
    }

    /// A bundle's process list is read as the host state (`volatile:processes.jsonl`), cited
    /// by its stored name.
    #[test]
    fn a_bundle_s_process_list_is_loaded() {
        let t = tempfile::tempdir().unwrap();
        let line = r#"{"pid":7,"ppid":1,"uid":0,"comm":"x","cmdline":"x","exe":"/tmp/x","exe_deleted":false}"#;
        std::fs::create_dir(t.path().join("volatile")).unwrap();
        std::fs::write(
            t.path().join("volatile/processes.jsonl"),
            format!("{line}\n"),
        )
        .unwrap();
        let row = r#"{"source":"proc:processes.jsonl","source_hex":null,"stored":"volatile/processes.jsonl","category":"volatile","outcome":"collected","file_type":"file","size":1,"sha256":"ab","mtime":null,"ctime":null,"atime":null,"btime":null,"mode":null,"uid":null,"gid":null,"inode":null,"dev":null,"link_target":null,"secret":false,"noatime":null,"error":null}"#;
        std::fs::write(t.path().join("manifest.jsonl"), format!("{row}\n")).unwrap();
        let conf = super::super::HostConf::load(&[t.path().to_path_buf()]);
        assert!(conf.errors.is_empty(), "{:?}", conf.errors);
        let f = conf.get("volatile:processes.jsonl").expect("loaded");
        assert_eq!(f.shown, "volatile/processes.jsonl");
        assert_eq!(processes(&f.text()).rows[0].pid, 7);
    }

    #[test]
    fn modules_read_taint() {
        // The format of the kernel's m_show (kernel/module/procfs.c): name, size, references,
        // dependents, state, address, then the taint letters in parentheses when tainted.
        let text = "ext4 1056768 1 - Live 0x0000000000000000\nnvidia 56823808 0 - Live 0x0000000000000000 (POE)\nshort line\n";
        let m = modules(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].taint, "");
        assert_eq!(
            (m[1].name.as_str(), m[1].taint.as_str(), m[1].line),
            ("nvidia", "POE", 2)
        );
    }
}
