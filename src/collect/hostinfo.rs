//! Host identity and clock facts for `custody.json`.
//!
//! On a live host the running kernel is asked (`/proc/sys/kernel/*`, `/proc/net/*`,
//! `/proc/uptime`); with `--root` only the files of the image are read, so host facts that
//! exist only at run time (kernel, addresses, uptime) are `null`.

use std::collections::BTreeMap;
use std::fs;
use std::net::Ipv6Addr;

use crate::evidence::custody::{Clock, Host};
use crate::evidence::manifest::unix_time;
use crate::evidence::pathname::{escape, HostPath};
use crate::evidence::platform::{self, OwnBinary};
use crate::evidence::root::HostRoot;

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
            proc_text("/proc/sys/kernel/hostname").or_else(platform::hostname)
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

/// The collector's own executable, hashed (see [`platform::own_binary`]).
pub fn own_binary() -> OwnBinary {
    platform::own_binary()
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
        assert_eq!(own.sha256, crate::evidence::writer::hash_file(&exe).ok());
        assert!(own.loader.is_none());
    }
}
