//! SSH keys and the server settings that decide which keys count: `authorized_keys` lines
//! (options, key type, key, comment, OpenSSH's `SHA256:` fingerprint) and the `sshd_config`
//! keywords with where they are set (`Include`d files expanded in place).
//!
//! The line format is sshd(8)'s "AUTHORIZED_KEYS FILE FORMAT": optional comma-separated
//! options (values in double quotes may hold spaces and commas), the key type, the base64 key
//! and a comment. The fingerprint is what `ssh-keygen -l` prints: `SHA256:` and the unpadded
//! base64 of the SHA-256 of the decoded key blob. To read another key store
//! (`authorized_principals`, a `AuthorizedKeysCommand`'s output), parse it into
//! [`AuthorizedKey`] here.

use sha2::{Digest, Sha256};

use super::{numbered, HostConf};

/// One key line of an `authorized_keys` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedKey {
    /// 1-based line.
    pub line: u64,
    /// Options as `(name lower-cased, value without quotes)`.
    pub options: Options,
    /// Key type (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, `…-cert-v01@openssh.com`).
    pub key_type: String,
    /// The base64 key blob as written.
    pub blob: String,
    /// Comment (often `user@host`), empty when absent.
    pub comment: String,
    /// `SHA256:…` fingerprint (none when the blob is not valid base64).
    pub fingerprint: Option<String>,
}

impl AuthorizedKey {
    /// The value of option `name` (`command`, `from`), if given.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    /// Type, comment and a short fingerprint: how a finding names the key.
    pub fn label(&self) -> String {
        let fp = self
            .fingerprint
            .as_deref()
            .map(|f| f.get(..19).unwrap_or(f))
            .unwrap_or("unreadable key");
        if self.comment.is_empty() {
            format!("{} ({fp}…)", self.key_type)
        } else {
            format!("{} {} ({fp}…)", self.key_type, self.comment)
        }
    }
}

/// Whether `w` names a key type OpenSSH accepts in `authorized_keys`.
pub fn is_key_type(w: &str) -> bool {
    w.starts_with("ssh-")
        || w.starts_with("ecdsa-sha2-")
        || w.starts_with("sk-ecdsa-sha2-")
        || w.starts_with("sk-ssh-")
        || w.starts_with("x509v3-")
}

/// The keys of an `authorized_keys` file (comments, blank and unreadable lines skipped).
pub fn authorized_keys(text: &str) -> Vec<AuthorizedKey> {
    numbered(text)
        .filter_map(|(line, l)| {
            let t = l.trim();
            if t.is_empty() || t.starts_with('#') {
                return None;
            }
            let (options, rest) = match t.split_whitespace().next() {
                Some(w) if is_key_type(w) => (Vec::new(), t),
                _ => split_options(t)?,
            };
            let mut words = rest.split_whitespace();
            let key_type = words.next()?.to_string();
            if !is_key_type(&key_type) {
                return None;
            }
            let blob = words.next()?.to_string();
            let comment = words.collect::<Vec<_>>().join(" ");
            Some(AuthorizedKey {
                line,
                options,
                fingerprint: fingerprint(&blob),
                key_type,
                blob,
                comment,
            })
        })
        .collect()
}

/// Key options as `(name, value)`.
pub type Options = Vec<(String, Option<String>)>;

/// Splits the leading options field (up to the first space outside double quotes).
fn split_options(t: &str) -> Option<(Options, &str)> {
    let mut in_quote = false;
    let mut escaped = false;
    let mut end = None;
    for (i, c) in t.char_indices() {
        match c {
            '\\' if in_quote && !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => in_quote = !in_quote,
            ' ' | '\t' if !in_quote => {
                end = Some(i);
                break;
            }
            _ => {}
        }
        escaped = false;
    }
    let end = end?;
    let field = &t[..end];
    let mut out = Vec::new();
    let (mut cur, mut in_quote, mut escaped) = (String::new(), false, false);
    let mut push = |cur: &mut String| {
        let item = std::mem::take(cur);
        if item.is_empty() {
            return;
        }
        match item.split_once('=') {
            Some((k, v)) => out.push((
                k.to_ascii_lowercase(),
                Some(v.trim_matches('"').replace("\\\"", "\"")),
            )),
            None => out.push((item.to_ascii_lowercase(), None)),
        }
    };
    for c in field.chars() {
        match c {
            '\\' if in_quote && !escaped => {
                escaped = true;
                cur.push(c);
                continue;
            }
            '"' if !escaped => in_quote = !in_quote,
            ',' if !in_quote => {
                push(&mut cur);
                continue;
            }
            _ => {}
        }
        escaped = false;
        cur.push(c);
    }
    push(&mut cur);
    Some((out, t[end..].trim_start()))
}

/// OpenSSH's fingerprint of a base64 key blob: `SHA256:` and the unpadded base64 of the
/// SHA-256 of the decoded bytes.
pub fn fingerprint(blob: &str) -> Option<String> {
    let raw = base64_decode(blob)?;
    let digest = Sha256::digest(&raw);
    Some(format!("SHA256:{}", base64_encode_nopad(&digest)))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (!out.is_empty()).then_some(out)
}

fn base64_encode_nopad(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// One keyword line of the SSH server's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshdSetting {
    /// Host path of the file.
    pub path: String,
    /// 1-based line.
    pub line: u64,
    /// Keyword, lower-cased (`authorizedkeysfile`).
    pub keyword: String,
    /// The arguments as written.
    pub value: String,
    /// Inside a `Match` block (applies only to the connections it matches).
    pub in_match: bool,
}

/// Every keyword line of `/etc/ssh/sshd_config` in the order sshd reads them, `Include`d
/// files (`sshd_config.d/*.conf`) expanded where they are included; sshd takes the first
/// value of most keywords, so the first line of a keyword outside `Match` is the one in force.
pub fn sshd_settings(conf: &HostConf) -> Vec<SshdSetting> {
    let mut out = Vec::new();
    read_sshd(conf, "/etc/ssh/sshd_config", 0, &mut out);
    out
}

fn read_sshd(conf: &HostConf, path: &str, depth: u32, out: &mut Vec<SshdSetting>) {
    let Some(f) = conf.get(path) else {
        return;
    };
    let mut in_match = false;
    for (n, l) in numbered(&f.text()) {
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let (k, v) = t
            .split_once(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or((t, ""));
        let keyword = k.to_ascii_lowercase();
        let value = v
            .trim_start_matches(|c: char| c.is_whitespace() || c == '=')
            .trim();
        if keyword == "match" {
            in_match = true;
        }
        if keyword == "include" && depth < 8 {
            for pat in value.split_whitespace() {
                let pat = if pat.starts_with('/') {
                    pat.to_string()
                } else {
                    format!("/etc/ssh/{pat}")
                };
                for p in expand(conf, &pat) {
                    read_sshd(conf, &p, depth + 1, out);
                }
            }
            continue;
        }
        out.push(SshdSetting {
            path: path.to_string(),
            line: n,
            keyword,
            value: value.to_string(),
            in_match,
        });
    }
}

/// Files of `conf` matching a pattern with `*` in its last component, in name order.
fn expand(conf: &HostConf, pat: &str) -> Vec<String> {
    let Some((dir, name)) = pat.rsplit_once('/') else {
        return Vec::new();
    };
    let Some((pre, post)) = name.split_once('*') else {
        return vec![pat.to_string()];
    };
    let prefix = format!("{dir}/");
    conf.under(&prefix)
        .map(|(p, _)| p)
        .filter(|p| {
            let n = &p[prefix.len()..];
            !n.contains('/')
                && n.starts_with(pre)
                && n.ends_with(post)
                && n.len() >= pre.len() + post.len()
        })
        .map(str::to_string)
        .collect()
}

/// The `AuthorizedKeysFile` in force (first outside `Match`), with where it is set; `None`:
/// the default `.ssh/authorized_keys .ssh/authorized_keys2`.
pub fn authorized_keys_file(settings: &[SshdSetting]) -> Option<&SshdSetting> {
    settings
        .iter()
        .find(|s| s.keyword == "authorizedkeysfile" && !s.in_match)
}

/// The `AuthorizedKeysFile` paths for an account with home `home` and name `user` (`%h`,
/// `%u`, `%%` expanded; relative paths are under the home; `none` is no file).
pub fn key_paths(value: &str, home: &str, user: &str) -> Vec<String> {
    value
        .split_whitespace()
        .filter(|p| !p.eq_ignore_ascii_case("none"))
        .map(|p| {
            let e = p
                .replace("%%", "\u{0}")
                .replace("%h", home)
                .replace("%u", user)
                .replace('\u{0}', "%");
            if e.starts_with('/') {
                e
            } else {
                format!("{}/{e}", home.trim_end_matches('/'))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostconf::ConfFile;

    fn conf(files: &[(&str, &str)]) -> HostConf {
        let mut c = HostConf::default();
        for (p, t) in files {
            c.files.insert(
                p.to_string(),
                ConfFile {
                    shown: p.trim_start_matches('/').to_string(),
                    data: t.as_bytes().to_vec(),
                    mtime: None,
                    mtime_recorded: false,
                    sha256: None,
                },
            );
        }
        c
    }

    #[test]
    fn fingerprints_match_ssh_keygen() {
        // Keys made with `ssh-keygen -t ed25519 -C admin@workstation` and `-t rsa -b 2048`;
        // the fingerprints are what `ssh-keygen -lf` printed for them.
        let k = authorized_keys(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMcYVBY7zg7ObIqYy+QUvRWHkHx/eLk1Pk1/f1qOZiHT admin@workstation\n",
        );
        assert_eq!(
            k[0].fingerprint.as_deref(),
            Some("SHA256:NWxD8IbPSnHMah6GWIlKp9uJHfJPv8XqbjDmGWxwlM8")
        );
        assert_eq!(k[0].comment, "admin@workstation");
        assert!(k[0].options.is_empty());
        let rsa = "AAAAB3NzaC1yc2EAAAADAQABAAABAQDWLPcTTcrUFO3i0wARU8HQc1zqTL/WQhqgKighjLQQfdkv6Gf5BB6RQsBYYDKsEna0az7LLg7ogWsH++DAHPeSw6ElfCiNNAtxbwkCGdOJpWxDdc0RMKwwWliidob8eWmnRJmj0A6c3NjvpRSkUfIGDQ3NH6/eY7kfx64PpMk4G2T3yoaG2mraO97ph4Ck/zKfHaQ1ucD6YYotdQLovcaTP6Ui+JlOxWKDPBgzTqkljKc23whckie8QWqqBASxPtQnnxTJ4aASyubVSgOxA495vYo+cCxkdw7RmoRI71ExHjKLkXseEyHZL6FgvNgfp6ceQFBHaCro6KrDrmRm2J8v";
        assert_eq!(
            fingerprint(rsa).as_deref(),
            Some("SHA256:G8BSUZiz7FHzGBJY0lXhWeJXbK+6kVXDhz4KnvRFODY")
        );
        assert_eq!(fingerprint("not base64!"), None);
    }

    #[test]
    fn options_with_quotes() {
        let k = authorized_keys(
            "# keys\n\ncommand=\"/bin/sh -c 'curl -s http://x/a, b'\",no-pty,from=\"10.0.0.0/8,192.0.2.7\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMcYVBY7zg7ObIqYy+QUvRWHkHx/eLk1Pk1/f1qOZiHT ops key\nrestrict,environment=\"LD_PRELOAD=/tmp/x.so\" ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDW\nnot a key\n",
        );
        assert_eq!(k.len(), 2);
        assert_eq!(k[0].line, 3);
        assert_eq!(
            k[0].option("command"),
            Some("/bin/sh -c 'curl -s http://x/a, b'")
        );
        assert_eq!(k[0].option("no-pty"), Some(""));
        assert_eq!(k[0].option("from"), Some("10.0.0.0/8,192.0.2.7"));
        assert_eq!(k[0].comment, "ops key");
        assert_eq!(k[1].option("environment"), Some("LD_PRELOAD=/tmp/x.so"));
        assert_eq!(k[1].key_type, "ssh-rsa");
    }

    #[test]
    fn sshd_includes_and_key_files() {
        let c = conf(&[
            (
                "/etc/ssh/sshd_config",
                "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nMatch User backup\n  AuthorizedKeysFile /srv/keys/%u\n",
            ),
            (
                "/etc/ssh/sshd_config.d/50-keys.conf",
                "AuthorizedKeysFile .ssh/authorized_keys /var/tmp/.k/%u\n",
            ),
            ("/etc/ssh/sshd_config.d/README", "AuthorizedKeysFile /x\n"),
        ]);
        let s = sshd_settings(&c);
        assert_eq!(s.len(), 4, "{s:?}");
        let a = authorized_keys_file(&s).unwrap();
        assert_eq!(
            (a.path.as_str(), a.line),
            ("/etc/ssh/sshd_config.d/50-keys.conf", 1)
        );
        assert_eq!(
            key_paths(&a.value, "/root", "root"),
            ["/root/.ssh/authorized_keys", "/var/tmp/.k/root"]
        );
        assert!(s[3].in_match);
    }
}
