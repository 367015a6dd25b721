//! Evidence locations that come from the host itself, not from the fixed catalog.
//!
//! - Accounts: every line of the root's `/etc/passwd` (nologin and service accounts included)
//!   gives a home directory to search for per-user delivery files.
//! - Log paths from service configs: Postfix `maillog_file` (main.cf of every instance and
//!   `postconf -n` output), Dovecot `log_path` / `info_log_path` / `debug_log_path`, Exim
//!   `log_file_path` (`%s` and `%D` expanded to globs). Each becomes a pattern that also takes
//!   the file's rotations.
//!
//! - SSH key files: `AuthorizedKeysFile` of `/etc/ssh/sshd_config` and
//!   `/etc/ssh/sshd_config.d/*` (anywhere, `Match` blocks included), expanded for every
//!   account (`%h`, `%u`, `%U`, `%%`; relative to the home). The default names are in the
//!   catalog already; another location (`/etc/ssh/keys/%u`, `/var/tmp/.k`) is where an
//!   attacker who edited sshd's configuration keeps a key.
//!
//! These reads are small (`read_small`, capped) and happen while planning, before any content
//! is copied; they use the same no-atime, no-follow opening as the copy.

use std::collections::BTreeSet;

use super::plan::host_of;
use crate::evidence::pathname::HostPath;
use crate::evidence::root::HostRoot;

/// Largest config file read for discovery.
const CONFIG_CAP: u64 = 4 << 20;

/// One `/etc/passwd` account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login name (raw bytes).
    pub name: Vec<u8>,
    /// Home directory (raw bytes).
    pub home: Vec<u8>,
    /// Login shell.
    pub shell: Vec<u8>,
    /// Numeric uid, when the field is a number.
    pub uid: Option<u32>,
}

/// Parses `/etc/passwd` content; malformed lines are skipped (the file itself is collected).
pub fn parse_passwd(text: &[u8]) -> Vec<Account> {
    text.split(|&b| b == b'\n')
        .filter(|l| {
            !l.is_empty() && !l.starts_with(b"#") && !l.starts_with(b"+") && !l.starts_with(b"-")
        })
        .filter_map(|l| {
            let f: Vec<&[u8]> = l.split(|&b| b == b':').collect();
            (f.len() >= 7 && !f[5].is_empty()).then(|| Account {
                name: f[0].to_vec(),
                home: f[5].to_vec(),
                shell: f[6].to_vec(),
                uid: std::str::from_utf8(f[2]).ok().and_then(|u| u.parse().ok()),
            })
        })
        .collect()
}

/// The accounts of the collected root.
pub fn accounts(root: &HostRoot) -> Vec<Account> {
    root.read_small(&HostPath::new("/etc/passwd"), CONFIG_CAP)
        .map(|t| parse_passwd(&t))
        .unwrap_or_default()
}

/// The `AuthorizedKeysFile` tokens of the root's sshd configuration that are not the defaults
/// the catalog takes in every home, each with the file that set it. At most 64.
pub fn authorized_keys_files(root: &HostRoot) -> Vec<(String, String)> {
    let mut files = vec![HostPath::new("/etc/ssh/sshd_config")];
    if let Ok(dir) = root.resolve(&HostPath::new("/etc/ssh/sshd_config.d")) {
        if let Ok(entries) = std::fs::read_dir(root.real(&dir)) {
            let mut names: Vec<Vec<u8>> = entries
                .flatten()
                .take(256)
                .map(|e| crate::evidence::platform::os_bytes(&e.file_name()).into_owned())
                .collect();
            names.sort();
            files.extend(names.iter().map(|n| dir.join(n)));
        }
    }
    let mut found: Vec<(String, String)> = Vec::new();
    for f in files {
        let Some(text) = root.read_small(&f, CONFIG_CAP) else {
            continue;
        };
        for line in String::from_utf8_lossy(&text).lines() {
            for token in keys_file_tokens(line) {
                if found.len() < 64 && !found.iter().any(|(t, _)| *t == token) {
                    found.push((token, f.display()));
                }
            }
        }
    }
    found
}

/// The non-default `AuthorizedKeysFile` tokens of one sshd_config line.
fn keys_file_tokens(line: &str) -> Vec<String> {
    let line = line.split('#').next().unwrap_or("").trim();
    let (key, rest) = match line.find(|c: char| c.is_whitespace() || c == '=') {
        Some(i) => (&line[..i], &line[i..]),
        None => return Vec::new(),
    };
    if !key.eq_ignore_ascii_case("AuthorizedKeysFile") {
        return Vec::new();
    }
    let rest = rest.trim_start().trim_start_matches('=');
    rest.split_whitespace()
        .map(|t| t.trim_matches('"').to_string())
        .filter(|t| {
            !t.is_empty()
                && t != "none"
                && ![".ssh/authorized_keys", ".ssh/authorized_keys2"]
                    .iter()
                    .any(|d| t == d || *t == format!("%h/{d}"))
        })
        .collect()
}

/// One `AuthorizedKeysFile` token for `acct` (`%h`, `%u`, `%U`, `%%`; relative to the home),
/// or `None` when it uses another escape or needs a uid the account does not have.
pub fn expand_keys_file(token: &str, acct: &Account) -> Option<HostPath> {
    let mut out: Vec<u8> = Vec::new();
    let mut chars = token.bytes();
    while let Some(b) = chars.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        match chars.next()? {
            b'%' => out.push(b'%'),
            b'h' => out.extend_from_slice(&acct.home),
            b'u' => out.extend_from_slice(&acct.name),
            b'U' => out.extend_from_slice(acct.uid?.to_string().as_bytes()),
            _ => return None,
        }
    }
    if !out.starts_with(b"/") {
        let mut p = acct.home.clone();
        p.push(b'/');
        p.extend_from_slice(&out);
        out = p;
    }
    Some(HostPath::from_bytes(&out))
}

/// A log path found in a config, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FoundLog {
    /// Directory holding the log.
    pub dir: HostPath,
    /// File-name glob (already covering rotations).
    pub name_glob: String,
    /// `file: setting` that named it.
    pub origin: String,
}

/// Strips a comment and splits `key = value` (`key value` for Exim's `log_file_path`).
fn setting<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let line = line.split('#').next()?.trim();
    let rest = line.strip_prefix(key)?;
    let rest = rest.trim_start();
    let value = rest.strip_prefix('=')?.trim();
    (!value.is_empty()).then_some(value)
}

/// Turns one configured log file path into a directory + glob that also matches rotations.
fn log_glob(path: &str, origin: String) -> Option<FoundLog> {
    let path = path.trim().trim_matches('"');
    if !path.starts_with('/') || path.starts_with("/dev/") || path.starts_with("/proc/") {
        return None;
    }
    let (dir, name) = path.rsplit_once('/')?;
    if name.is_empty() || dir.contains('%') || dir.contains('$') {
        return None;
    }
    // Exim: %s = main/reject/panic, %D / %M = date stamps: each a `*`.
    let mut glob = super::web::component_glob(name);
    if !glob.ends_with('*') {
        glob.push('*');
    }
    Some(FoundLog {
        dir: HostPath::new(if dir.is_empty() { "/" } else { dir }),
        name_glob: glob,
        origin,
    })
}

/// Log paths named by a Postfix `main.cf` or `postconf -n` text.
pub fn postfix_logs(text: &str, origin: &str) -> Vec<FoundLog> {
    text.lines()
        .filter_map(|l| setting(l, "maillog_file"))
        .filter_map(|v| log_glob(v, format!("{origin}: maillog_file")))
        .collect()
}

/// Log paths named by Dovecot config text.
pub fn dovecot_logs(text: &str, origin: &str) -> Vec<FoundLog> {
    let mut out = Vec::new();
    for line in text.lines() {
        for key in ["log_path", "info_log_path", "debug_log_path"] {
            if let Some(v) = setting(line, key) {
                out.extend(log_glob(v, format!("{origin}: {key}")));
            }
        }
    }
    out
}

/// Log paths named by Exim config text (`log_file_path = /var/log/exim/%slog : syslog`).
pub fn exim_logs(text: &str, origin: &str) -> Vec<FoundLog> {
    text.lines()
        .filter_map(|l| setting(l, "log_file_path"))
        .flat_map(|v| {
            v.split(':')
                .map(str::trim)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter_map(|v| log_glob(&v, format!("{origin}: log_file_path")))
        .collect()
}

/// Reads every small file below `dir` in the root and hands its text to `scan`.
fn scan_tree(root: &HostRoot, dir: &str, scan: &mut dyn FnMut(&str, &str)) {
    let Ok(base) = root.resolve(&HostPath::new(dir)) else {
        return;
    };
    let real = root.real(&base);
    for entry in walkdir::WalkDir::new(&real)
        .follow_links(false)
        .max_depth(6)
        .sort_by_file_name()
    {
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_file() {
            continue;
        }
        let host = host_of(&real, &base, entry.path());
        if let Some(bytes) = root.read_small(&host, CONFIG_CAP) {
            scan(&host.display(), &String::from_utf8_lossy(&bytes));
        }
    }
}

/// Every log location the root's mail configs name, plus those in `postconf -n` output.
pub fn configured_logs(root: &HostRoot, postconf_n: Option<&str>) -> Vec<FoundLog> {
    let mut found = BTreeSet::new();
    for dir in ["/etc/postfix", "/etc/dovecot", "/etc/exim4", "/etc/exim"] {
        scan_tree(root, dir, &mut |origin, text| {
            if origin.ends_with("/main.cf") {
                found.extend(postfix_logs(text, origin));
            }
            found.extend(dovecot_logs(text, origin));
            found.extend(exim_logs(text, origin));
        });
    }
    if let Ok(dirs) = std::fs::read_dir(root.real_root().join("etc")) {
        let mut instances: Vec<_> = dirs
            .flatten()
            .filter(|d| d.file_name().to_string_lossy().starts_with("postfix-"))
            .map(|d| format!("/etc/{}/main.cf", d.file_name().to_string_lossy()))
            .collect();
        instances.sort();
        for main_cf in instances {
            if let Some(t) = root.read_small(&HostPath::new(&main_cf), CONFIG_CAP) {
                found.extend(postfix_logs(&String::from_utf8_lossy(&t), &main_cf));
            }
        }
    }
    if let Some(t) = root.read_small(&HostPath::new("/etc/exim.conf"), CONFIG_CAP) {
        found.extend(exim_logs(&String::from_utf8_lossy(&t), "/etc/exim.conf"));
    }
    if let Some(text) = postconf_n {
        found.extend(postfix_logs(text, "postconf -n"));
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorized_keys_file_locations_expand_per_account() {
        // Debian 12's openssh-server sshd_config line, and what an attacker adds.
        assert!(
            keys_file_tokens("#AuthorizedKeysFile	.ssh/authorized_keys .ssh/authorized_keys2")
                .is_empty()
        );
        assert!(
            keys_file_tokens("AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys2")
                .is_empty()
        );
        let t = keys_file_tokens(
            "  authorizedkeysfile=%h/.ssh/authorized_keys /etc/ssh/keys/%u \"/var/tmp/.k %%\"",
        );
        assert_eq!(t, ["/etc/ssh/keys/%u", "/var/tmp/.k", "%%"]);
        let acct = &parse_passwd(b"backup:x:34:34:backup:/var/backups:/usr/sbin/nologin\n")[0];
        assert_eq!(acct.uid, Some(34));
        let e = |t: &str| expand_keys_file(t, acct).map(|p| p.display());
        assert_eq!(
            e("/etc/ssh/keys/%u").as_deref(),
            Some("/etc/ssh/keys/backup")
        );
        assert_eq!(e("keys/%U").as_deref(), Some("/var/backups/keys/34"));
        assert_eq!(e("%h/.k%%").as_deref(), Some("/var/backups/.k%25"));
        assert_eq!(e("/x/%d"), None);
        assert_eq!(e("/x/%"), None);
    }

    #[test]
    fn passwd_accounts_include_nologin() {
        let a = parse_passwd(b"root:x:0:0:root:/root:/bin/bash\n# c\nvmail:x:5000:5000::/var/vmail:/usr/sbin/nologin\nbad line\n");
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].home, b"/var/vmail");
        assert_eq!(a[1].shell, b"/usr/sbin/nologin");
    }

    #[test]
    fn log_settings_become_globs() {
        let p = postfix_logs(
            "maillog_file = /var/log/postfix.log  # 3.4+\n#maillog_file = /x\n",
            "main.cf",
        );
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].dir, HostPath::new("/var/log"));
        assert_eq!(p[0].name_glob, "postfix.log*");
        let d = dovecot_logs("log_path = /var/log/dovecot.log\ninfo_log_path=/var/log/dovecot-info.log\nlog_path = syslog\ndebug_log_path = /dev/stderr\n", "d");
        assert_eq!(
            d.iter().map(|f| f.name_glob.as_str()).collect::<Vec<_>>(),
            ["dovecot.log*", "dovecot-info.log*"]
        );
        let e = exim_logs(
            "log_file_path = /var/spool/exim/log/%slog-%D : syslog\n",
            "e",
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].dir, HostPath::new("/var/spool/exim/log"));
        assert_eq!(e[0].name_glob, "*log-*");
    }
}
