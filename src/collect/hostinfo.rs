//! Host identity and clock facts for `custody.json`.
//!
//! On a live host the running kernel is asked (`/proc/sys/kernel/*`, `/proc/net/*`,
//! `/proc/uptime`); with `--root` only the files of the image are read, so host facts that
//! exist only at run time (kernel, addresses, uptime) are `null`.

use std::collections::BTreeMap;
use std::fs;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};

use crate::evidence::custody::{Clock, Host, Loader};
use crate::evidence::manifest::unix_time;
use crate::evidence::pathname::{escape, HostPath};
use crate::evidence::root::HostRoot;
use crate::evidence::writer::hash_file;

fn small_text(root: &HostRoot, path: &str) -> Option<String> {
    let bytes = root.read_small(&HostPath::new(path), 64 * 1024)?;
    let t = escape(String::from_utf8_lossy(&bytes).trim().as_bytes());
    (!t.is_empty()).then_some(t)
}

fn proc_text(path: &str) -> Option<String> {
    fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Parses `os-release` (`KEY="value"` lines).
pub fn parse_os_release(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| !k.trim().is_empty() && !k.trim_start().starts_with('#'))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.trim().trim_matches('"').trim_matches('\'').to_string(),
            )
        })
        .collect()
}

/// Local addresses of the running host from `/proc/net/fib_trie` and `/proc/net/if_inet6`.
fn local_ips() -> Vec<String> {
    let mut ips = Vec::new();
    if let Ok(trie) = fs::read_to_string("/proc/net/fib_trie") {
        let mut last = None;
        for line in trie.lines() {
            let l = line.trim_start_matches([' ', '|', '+', '-']).trim();
            if l.parse::<std::net::Ipv4Addr>().is_ok() {
                last = Some(l.to_string());
            } else if l.contains("/32 host LOCAL") {
                if let Some(ip) = last.take() {
                    if !ips.contains(&ip) {
                        ips.push(ip);
                    }
                }
            }
        }
    }
    if let Ok(v6) = fs::read_to_string("/proc/net/if_inet6") {
        for line in v6.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let Some(hex) = f.first().filter(|h| h.len() == 32) else {
                continue;
            };
            let Ok(n) = u128::from_str_radix(hex, 16) else {
                continue;
            };
            let ip = format!("{}%{}", Ipv6Addr::from(n), f.get(5).unwrap_or(&""));
            if !ips.contains(&ip) {
                ips.push(ip);
            }
        }
    }
    ips
}

/// Host identity.
pub fn host(root: &HostRoot) -> Host {
    let live = root.is_live();
    let hostname_file = small_text(root, "/etc/hostname");
    Host {
        hostname: if live {
            proc_text("/proc/sys/kernel/hostname")
        } else {
            hostname_file.clone()
        },
        hostname_file,
        machine_id: small_text(root, "/etc/machine-id"),
        os_release: root
            .read_small(&HostPath::new("/etc/os-release"), 64 * 1024)
            .map(|b| parse_os_release(&String::from_utf8_lossy(&b)))
            .unwrap_or_default(),
        kernel: live
            .then(|| proc_text("/proc/sys/kernel/osrelease"))
            .flatten(),
        kernel_version: live
            .then(|| proc_text("/proc/sys/kernel/version"))
            .flatten(),
        ips: if live { local_ips() } else { Vec::new() },
    }
}

/// Clock facts (start/end times are filled in by the caller).
pub fn clock(root: &HostRoot) -> Clock {
    let target = root
        .read_link(&HostPath::new("/etc/localtime"))
        .ok()
        .map(|t| escape(&t));
    let timezone_file = small_text(root, "/etc/timezone");
    let from_link = target
        .as_deref()
        .and_then(|t| t.split_once("zoneinfo/").map(|(_, z)| z.to_string()));
    let live = root.is_live();
    let uptime = live
        .then(|| proc_text("/proc/uptime"))
        .flatten()
        .and_then(|u| u.split_whitespace().next()?.parse().ok());
    Clock {
        local_zone: timezone_file.clone().or(from_link),
        localtime_target: target,
        timezone_file,
        uptime_seconds: uptime,
        boot_time_utc: live
            .then(super::volatile::boot_time)
            .flatten()
            .and_then(|b| unix_time(b, 0)),
        ..Clock::default()
    }
}

/// The collector's own executable: what custody records as the binary that collected.
#[derive(Debug, Clone, Default)]
pub struct OwnBinary {
    /// SHA-256 of the file the collector's code was loaded from.
    pub sha256: Option<String>,
    /// Its path.
    pub path: Option<String>,
    /// The dynamic loader, when the kernel executed it rather than the collector.
    pub loader: Option<Loader>,
}

/// Identifies and hashes the running collector. Normally `/proc/self/exe` is the collector;
/// started as `ld-linux-x86-64.so.2 ./mailir` (a file without execute permission) it is the loader, so the
/// file is found instead in `/proc/self/maps` as the mapping that holds this very function,
/// hashed, and the loader recorded beside it. A deleted file is read through
/// `/proc/self/map_files` (or `/proc/self/exe`), which still reach its content.
pub fn own_binary() -> OwnBinary {
    let exe = Path::new("/proc/self/exe");
    let exe_path = fs::read_link(exe).ok();
    let mapped = mapped_file_of(own_binary as fn() -> OwnBinary as usize);
    let exe_sha = || hash_file(exe).ok();
    match (&exe_path, mapped) {
        (Some(exe_path), Some((path, range))) if path != *exe_path => {
            let sha = hash_file(&path)
                .or_else(|_| hash_file(&Path::new("/proc/self/map_files").join(range)))
                .ok();
            OwnBinary {
                sha256: sha,
                path: Some(escape(path.as_os_str().as_encoded_bytes())),
                loader: Some(Loader {
                    path: escape(exe_path.as_os_str().as_encoded_bytes()),
                    sha256: exe_sha(),
                }),
            }
        }
        _ => OwnBinary {
            sha256: exe_sha(),
            path: exe_path.map(|p| escape(p.as_os_str().as_encoded_bytes())),
            loader: None,
        },
    }
}

/// The file mapped at `addr` in this process, with its mapping's `start-end` range, from
/// `/proc/self/maps` (`start-end perms offset dev inode path`).
fn mapped_file_of(addr: usize) -> Option<(PathBuf, String)> {
    let maps = fs::read_to_string("/proc/self/maps").ok()?;
    for line in maps.lines() {
        let (range, rest) = line.split_once(' ')?;
        let (start, end) = range.split_once('-')?;
        let (start, end) = (
            usize::from_str_radix(start, 16).ok()?,
            usize::from_str_radix(end, 16).ok()?,
        );
        if !(start..end).contains(&addr) {
            continue;
        }
        // Skip perms, offset, dev and inode; the rest (after padding) is the path.
        let mut tail = rest;
        for _ in 0..4 {
            tail = tail.trim_start().split_once(' ').map_or("", |(_, t)| t);
        }
        let path = tail.trim_start();
        let path = path.strip_suffix(" (deleted)").unwrap_or(path);
        return path
            .starts_with('/')
            .then(|| (PathBuf::from(path), range.to_string()));
    }
    None
}

/// The effective uid of the collecting process.
pub fn euid() -> Option<u32> {
    // SAFETY: geteuid cannot fail and touches no memory.
    Some(unsafe { libc::geteuid() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_parses() {
        let m =
            parse_os_release("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n# c=1\n");
        assert_eq!(m["ID"], "debian");
        assert_eq!(m["PRETTY_NAME"], "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn own_binary_is_the_test_executable() {
        let own = own_binary();
        let exe = std::env::current_exe().unwrap();
        assert_eq!(own.path.as_deref(), exe.to_str());
        assert_eq!(own.sha256, hash_file(&exe).ok());
        assert!(own.loader.is_none());
    }
}
